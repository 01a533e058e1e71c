//! Reading source files: CSV exports (REES46, UK retail) as records keyed by
//! their header, the shape adapters take and the simulator replays as JSON.

use std::io::Read;

use serde_json::{Map, Value};

/// The rows of a CSV file with a header, each as a JSON object of strings.
pub fn csv_records<R: Read>(reader: R) -> impl Iterator<Item = Result<Map<String, Value>, csv::Error>> {
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(reader);
    let headers = rdr.headers().cloned();
    let mut records = rdr.into_records();
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let headers = match &headers {
            Ok(h) => h,
            Err(e) => {
                failed = true;
                return Some(Err(csv::Error::from(std::io::Error::other(e.to_string()))));
            }
        };
        let row = records.next()?;
        Some(row.map(|row| {
            headers
                .iter()
                .zip(row.iter())
                .map(|(h, v)| (h.to_string(), Value::String(v.to_string())))
                .collect()
        }))
    })
}
