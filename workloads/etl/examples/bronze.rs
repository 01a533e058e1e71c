//! Writes simulated bronze into a directory lake, for the benchmark
//! (scripts/bench-etl.sh): `bronze PROFILE EVENTS DIR [LINES_PER_OBJECT]`.
//! Objects are gzip JSON lines in Hive hour partitions, as ingest and the
//! simulator's S3 sink write them.

use std::collections::BTreeMap;
use std::io::Write;

use pipegen_simulator::generate::{Generator, Settings};
use pipegen_simulator::profile::Profile;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: bronze flashcommerce|capstone EVENTS DIR [LINES_PER_OBJECT]");
        std::process::exit(1);
    }
    let profile = match args[1].as_str() {
        "flashcommerce" => Profile::Flashcommerce,
        "capstone" => Profile::Capstone,
        p => {
            eprintln!("unknown profile `{p}`");
            std::process::exit(1);
        }
    };
    let events: u64 = args[2].parse().expect("EVENTS is a number");
    let root = std::path::PathBuf::from(&args[3]);
    let per_object: usize = args.get(4).map(|s| s.parse().expect("a number")).unwrap_or(20_000);
    let mut s = Settings::new(profile, events, 42);
    s.fault_rate = 0.01;
    s.bots = 5;
    // Enough traffic that 10 M events span days, not months.
    s.concurrent_sessions = pipegen_simulator::sessions_for_rate(200.0, profile);
    let mut g = Generator::new(s);
    let mut open: BTreeMap<i64, (usize, Vec<u8>, usize)> = BTreeMap::new();
    let mut written = 0usize;
    let flush = |hour: i64, part: usize, body: &[u8]| {
        let key = pipegen_simulator::sink::bronze_key("bronze/events/", hour, 42, part);
        let path = root.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(body).unwrap();
        std::fs::write(path, gz.finish().unwrap()).unwrap();
    };
    for line in g.by_ref() {
        let hour = line.time_micros.div_euclid(3_600_000_000) * 3_600_000_000;
        let entry = open.entry(hour).or_insert_with(|| (written, Vec::new(), 0));
        entry.1.extend_from_slice(line.text.as_bytes());
        entry.1.push(b'\n');
        entry.2 += 1;
        if entry.2 >= per_object {
            let (part, body, _) = open.remove(&hour).unwrap();
            flush(hour, part, &body);
            written += 1;
        }
        // Hours long past are complete: write them out to bound memory.
        let done: Vec<i64> = open.keys().copied().filter(|h| *h < hour - 2 * 3_600_000_000).collect();
        for h in done {
            let (_, body, _) = open.remove(&h).unwrap();
            flush(h, written, &body);
            written += 1;
        }
    }
    for (h, (_, body, _)) in std::mem::take(&mut open) {
        flush(h, written, &body);
        written += 1;
    }
    println!("{}", serde_json::to_string(g.manifest()).unwrap());
}
