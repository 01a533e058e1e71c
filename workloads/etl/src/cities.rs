//! The city reference table of spec/silver.md: region, tier and coordinates
//! of each city, and the spelling aliases that are resolved before the city
//! check (the original applied the Bengaluru fix after its city filter, so it
//! never fired).

use std::collections::HashMap;
use std::path::Path;

/// What the reference table knows about one city.
#[derive(Clone, Debug, PartialEq)]
pub struct City {
    pub name: String,
    pub region: String,
    pub tier: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// Cities by lower-case name, plus aliases.
#[derive(Clone, Debug)]
pub struct CityTable {
    by_name: HashMap<String, City>,
}

/// Spelling variants and old names, resolved before the city check.
/// Gurgaon/Gurugram is deliberately absent: it is not in the table and stays
/// unknown (spec/silver.md).
const ALIASES: &[(&str, &str)] = &[
    ("bengaluru", "Bangalore"),
    ("bombay", "Mumbai"),
    ("calcutta", "Kolkata"),
    ("madras", "Chennai"),
];

const TIER_1: &[&str] = &["Mumbai", "Delhi", "Bangalore", "Hyderabad", "Chennai", "Kolkata"];

/// (city, region, latitude, longitude)
const BUILT_IN: &[(&str, &str, f64, f64)] = &[
    ("Delhi", "North", 28.7041, 77.1025),
    ("Lucknow", "North", 26.8467, 80.9462),
    ("Kanpur", "North", 26.4499, 80.3319),
    ("Ghaziabad", "North", 28.6692, 77.4538),
    ("Agra", "North", 27.1767, 78.0081),
    ("Jaipur", "North", 26.9124, 75.7873),
    ("Ludhiana", "North", 30.9010, 75.8573),
    ("Mumbai", "West", 19.0760, 72.8777),
    ("Pune", "West", 18.5204, 73.8567),
    ("Ahmedabad", "West", 23.0225, 72.5714),
    ("Surat", "West", 21.1702, 72.8311),
    ("Nagpur", "West", 21.1458, 79.0882),
    ("Thane", "West", 19.2183, 72.9781),
    ("Vadodara", "West", 22.3072, 73.1812),
    ("Nashik", "West", 19.9975, 73.7898),
    ("Bangalore", "South", 12.9716, 77.5946),
    ("Hyderabad", "South", 17.3850, 78.4867),
    ("Chennai", "South", 13.0827, 80.2707),
    ("Visakhapatnam", "South", 17.6868, 83.2185),
    ("Kolkata", "East", 22.5726, 88.3639),
    ("Patna", "East", 25.5941, 85.1376),
    ("Bhopal", "Central", 23.2599, 77.4126),
    ("Indore", "Central", 22.7196, 75.8577),
];

/// A problem in a user's city CSV, with its line.
#[derive(Debug, thiserror::Error)]
pub enum CityTableError {
    #[error("{path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}:{line}: {message} (expected columns city,region,tier,latitude,longitude)")]
    Row { path: String, line: u64, message: String },
    #[error("{path}: the table has no cities")]
    Empty { path: String },
}

impl Default for CityTable {
    fn default() -> Self {
        let cities = BUILT_IN.iter().map(|&(name, region, lat, lon)| City {
            name: name.into(),
            region: region.into(),
            tier: if TIER_1.contains(&name) { "Tier 1" } else { "Tier 2" }.into(),
            latitude: lat,
            longitude: lon,
        });
        CityTable::from_cities(cities)
    }
}

impl CityTable {
    fn from_cities(cities: impl IntoIterator<Item = City>) -> CityTable {
        CityTable {
            by_name: cities.into_iter().map(|c| (c.name.to_lowercase(), c)).collect(),
        }
    }

    /// An environment's own table: a CSV with a header
    /// `city,region,tier,latitude,longitude`.
    pub fn from_csv(path: &Path) -> Result<CityTable, CityTableError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CityTableError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut cities = Vec::new();
        for row in reader.records() {
            let row = row.map_err(|e| CityTableError::Row {
                path: shown.clone(),
                line: e.position().map(|p| p.line()).unwrap_or(0),
                message: e.to_string(),
            })?;
            let line = row.position().map(|p| p.line()).unwrap_or(0);
            let bad = |message: String| CityTableError::Row {
                path: shown.clone(),
                line,
                message,
            };
            if row.len() != 5 {
                return Err(bad(format!("{} columns", row.len())));
            }
            let number = |i: usize, what: &str| {
                row[i]
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| bad(format!("{what} `{}` is not a number", &row[i])))
            };
            cities.push(City {
                name: row[0].to_string(),
                region: row[1].to_string(),
                tier: row[2].to_string(),
                latitude: number(3, "latitude")?,
                longitude: number(4, "longitude")?,
            });
        }
        if cities.is_empty() {
            return Err(CityTableError::Empty { path: shown });
        }
        Ok(CityTable::from_cities(cities))
    }

    /// The city a (trimmed) name refers to, aliases resolved, case ignored.
    pub fn lookup(&self, name: &str) -> Option<&City> {
        // Every row asks, so names are compared in place with ASCII case
        // folded rather than lower-cased into a copy and hashed; a name with
        // other letters is lower-cased first, as the table's names are.
        let name = name.trim();
        let lower;
        let name = if name.is_ascii() {
            name
        } else {
            lower = name.to_lowercase();
            &lower
        };
        let name = ALIASES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
            .map_or(name, |(_, canonical)| canonical);
        self.by_name
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, city)| city)
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_table_has_the_spec_cities_tiers_and_coordinates() {
        let t = CityTable::default();
        assert_eq!(t.len(), 23);
        let b = t.lookup("Bangalore").unwrap();
        assert_eq!((b.region.as_str(), b.tier.as_str()), ("South", "Tier 1"));
        assert_eq!((b.latitude, b.longitude), (12.9716, 77.5946));
        assert_eq!(t.lookup("Nashik").unwrap().tier, "Tier 2");
        assert_eq!(t.lookup(" patna ").unwrap().name, "Patna");
    }

    #[test]
    fn aliases_resolve_and_gurgaon_stays_unknown() {
        let t = CityTable::default();
        assert_eq!(t.lookup("Bengaluru").unwrap().name, "Bangalore");
        assert_eq!(t.lookup("BOMBAY").unwrap().name, "Mumbai");
        assert_eq!(t.lookup("Calcutta").unwrap().name, "Kolkata");
        assert_eq!(t.lookup("Madras").unwrap().name, "Chennai");
        assert!(t.lookup("Gurgaon").is_none());
        assert!(t.lookup("Gurugram").is_none());
        assert!(t.lookup("Gotham").is_none());
    }

    #[test]
    fn names_beyond_ascii_match_in_any_case() {
        let city = |name: &str| City {
            name: name.into(),
            region: "R".into(),
            tier: "Tier 2".into(),
            latitude: 0.0,
            longitude: 0.0,
        };
        let t = CityTable::from_cities([city("Zürich"), city("İzmir"), city("Delhi")]);
        assert_eq!(t.lookup("ZÜRICH").unwrap().name, "Zürich");
        assert_eq!(t.lookup(" zürich ").unwrap().name, "Zürich");
        assert_eq!(t.lookup("i̇zmir").unwrap().name, "İzmir");
        assert_eq!(t.lookup("DELHI").unwrap().name, "Delhi");
        assert!(t.lookup("Zurich").is_none(), "no accent folding");
    }

    #[test]
    fn csv_tables_load_and_bad_rows_say_where() {
        let dir = std::env::temp_dir().join(format!("pipegen-cities-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.csv");
        std::fs::write(
            &good,
            "city,region,tier,latitude,longitude\nLeeds,North,Tier 2,53.8,-1.55\n",
        )
        .unwrap();
        let t = CityTable::from_csv(&good).unwrap();
        assert_eq!(t.lookup("leeds").unwrap().longitude, -1.55);
        let bad = dir.join("bad.csv");
        std::fs::write(
            &bad,
            "city,region,tier,latitude,longitude\nLeeds,North,Tier 2,53.8,-1.55\nYork,North,Tier 2,north,1\n",
        )
        .unwrap();
        let e = CityTable::from_csv(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.csv:3:") && e.contains("latitude `north`"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
