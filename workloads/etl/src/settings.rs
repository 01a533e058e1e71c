//! The environment's analytics settings as the ETL needs them (the job's
//! arguments in the task definition come from the same model fields).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use chrono_tz::Tz;
use pipegen_events::SourceFormat;

use crate::cities::CityTable;

/// Inclusive local hours; `start > end` wraps midnight (22-2 is 22, 23, 0, 1, 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeakHours {
    pub start: u32,
    pub end: u32,
}

impl PeakHours {
    pub fn contains(self, hour: u32) -> bool {
        if self.start <= self.end {
            (self.start..=self.end).contains(&hour)
        } else {
            hour >= self.start || hour <= self.end
        }
    }

    /// `18-21`
    pub fn parse(s: &str) -> Result<PeakHours, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("peak hours `{s}`: expected START-END, e.g. 18-21"))?;
        let hour = |x: &str| {
            x.trim()
                .parse::<u32>()
                .ok()
                .filter(|h| *h < 24)
                .ok_or_else(|| format!("peak hours `{s}`: `{x}` is not an hour 0-23"))
        };
        Ok(PeakHours {
            start: hour(a)?,
            end: hour(b)?,
        })
    }
}

impl Default for PeakHours {
    fn default() -> Self {
        PeakHours { start: 18, end: 21 }
    }
}

/// Everything silver's rules depend on besides the record itself.
#[derive(Clone, Debug)]
pub struct Settings {
    pub format: SourceFormat,
    /// Reporting time zone for local dates and hours.
    pub zone: Tz,
    pub peak_hours: PeakHours,
    pub festival_dates: BTreeSet<NaiveDate>,
    pub cities: CityTable,
}

impl Settings {
    /// The defaults of spec/silver.md for a source format: Asia/Kolkata for
    /// FlashCommerce, UTC otherwise; peak 18-21; the two festival dates.
    pub fn new(format: SourceFormat) -> Settings {
        Settings {
            format,
            zone: if format == SourceFormat::Flashcommerce {
                chrono_tz::Asia::Kolkata
            } else {
                chrono_tz::UTC
            },
            peak_hours: PeakHours::default(),
            festival_dates: [(2025, 3, 14), (2025, 10, 23)]
                .into_iter()
                .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
                .collect(),
            cities: CityTable::default(),
        }
    }

    /// `2025-03-14,2025-10-23`
    pub fn parse_dates(s: &str) -> Result<BTreeSet<NaiveDate>, String> {
        s.split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| format!("festival date `{d}` is not YYYY-MM-DD"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_hours_are_inclusive_and_may_wrap() {
        let p = PeakHours::default();
        assert!(!p.contains(17) && p.contains(18) && p.contains(21) && !p.contains(22));
        let night = PeakHours::parse("22-2").unwrap();
        assert!(night.contains(23) && night.contains(0) && night.contains(2) && !night.contains(3));
        assert!(PeakHours::parse("18").unwrap_err().contains("START-END"));
        assert!(PeakHours::parse("18-24").unwrap_err().contains("0-23"));
    }

    #[test]
    fn festival_dates_parse_or_say_which_one_is_wrong() {
        assert_eq!(Settings::parse_dates("2025-03-14, 2025-10-23").unwrap().len(), 2);
        assert!(Settings::parse_dates("2025-13-01").unwrap_err().contains("2025-13-01"));
    }
}
