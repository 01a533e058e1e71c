//! Lakes in temporary directories, bronze written the way the simulator and
//! ingest write it, and what the tests compare.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use pipegen_etl::report::RunReport;
use pipegen_etl::run::{Options, run};
use pipegen_etl::settings::Settings;
use pipegen_etl::store::Store;
use polars::prelude::*;

/// A runtime for the tests' async calls.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A fresh directory under the target's temp space.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pipegen-etl-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn gzip(lines: &[String]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for l in lines {
        gz.write_all(l.as_bytes()).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    gz.finish().unwrap()
}

/// Writes bronze objects (key -> lines) into a directory lake.
pub fn write_bronze(root: &Path, objects: &[(String, Vec<String>)]) {
    for (key, lines) in objects {
        let path = root.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, gzip(lines)).unwrap();
    }
}

/// Simulated bronze: `per_object` lines per object, keys in Hive hour partitions.
pub fn simulated(
    profile: pipegen_simulator::profile::Profile,
    events: u64,
    fault_rate: f64,
    bots: u32,
    per_object: usize,
) -> (Vec<(String, Vec<String>)>, pipegen_simulator::generate::Manifest) {
    let mut s = pipegen_simulator::generate::Settings::new(profile, events, 7);
    s.fault_rate = fault_rate;
    s.bots = bots;
    let mut g = pipegen_simulator::generate::Generator::new(s);
    let mut by_hour: BTreeMap<i64, Vec<Vec<String>>> = BTreeMap::new();
    for line in g.by_ref() {
        let hour = line.time_micros.div_euclid(3_600_000_000) * 3_600_000_000;
        let chunks = by_hour.entry(hour).or_default();
        if chunks.last().is_none_or(|c| c.len() >= per_object) {
            chunks.push(Vec::new());
        }
        chunks.last_mut().unwrap().push(line.text);
    }
    let mut objects = Vec::new();
    for (hour, chunks) in by_hour {
        for (i, lines) in chunks.into_iter().enumerate() {
            objects.push((pipegen_simulator::sink::bronze_key("bronze/events/", hour, 7, i), lines));
        }
    }
    objects.sort();
    (objects, g.manifest().clone())
}

pub async fn run_once(root: &Path, settings: &Settings, id: &str, configure: impl FnOnce(&mut Options)) -> RunReport {
    let store = Store::dir(root);
    let mut opts = Options::new(id);
    opts.work_dir = root.with_extension("work");
    configure(&mut opts);
    let report = run(&store, settings, &opts, None)
        .await
        .unwrap_or_else(|e| panic!("run {id}: {e}"));
    eprintln!("{}\ntimings: {:?}", report.summary(), report.timings_ms);
    report
}

/// Every silver row, sorted by event id, as text (for set comparison).
pub fn silver_rows(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (key, bytes) in files(root, "silver/") {
        let df = ParquetReader::new(std::io::Cursor::new(bytes)).finish().unwrap();
        let date = key
            .split("event_date=")
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_string();
        for r in crate::gold_tables::rows(&df) {
            out.push(format!("{date}|{r}"));
        }
    }
    out.sort_by(|a, b| {
        let id = |s: &str| s.split('|').nth(1).unwrap().to_string();
        id(a).cmp(&id(b)).then(a.cmp(b))
    });
    out
}

/// Every object under a prefix of a directory lake: key -> bytes.
pub fn files(root: &Path, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let key = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(key, std::fs::read(&p).unwrap());
            }
        }
    }
    walk(root, &root.join(prefix), &mut out);
    out
}

/// Gold as bytes per object.
pub fn gold(root: &Path) -> BTreeMap<String, Vec<u8>> {
    files(root, "gold/")
}

/// One gold table's rows (all partitions, partition values first).
pub fn gold_table(root: &Path, table: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (key, bytes) in files(root, &format!("gold/{table}/")) {
        let df = ParquetReader::new(std::io::Cursor::new(bytes)).finish().unwrap();
        let parts: Vec<&str> = key
            .split('/')
            .filter(|s| s.contains('='))
            .map(|s| s.split('=').nth(1).unwrap())
            .collect();
        for r in crate::gold_tables::rows(&df) {
            let mut cells = parts.clone();
            cells.push(&r);
            out.push(cells.join("|"));
        }
    }
    out
}
