//! Simulator throughput: events per second on one core, generated and
//! written as gzip JSON lines (in memory), for both profiles; and the same
//! for the peer, the capstone's original Python generator
//! (benches/peer_capstone.py), measured in the same run. Prints a table.
//! Run: `cargo bench -p pipegen-simulator --bench generate`.

use std::io::Write;
use std::time::Instant;

use flate2::Compression;
use flate2::write::GzEncoder;
use pipegen_simulator::{Generator, Profile, Settings};

fn rate(profile: Profile, n: u64) -> (f64, usize) {
    let start = Instant::now();
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    let mut g = Generator::new(Settings::new(profile, n, 1));
    let mut lines = 0;
    for l in g.by_ref() {
        gz.write_all(l.text.as_bytes()).unwrap();
        gz.write_all(b"\n").unwrap();
        lines += 1;
    }
    let bytes = gz.finish().unwrap().len();
    assert!(lines as u64 >= n);
    (n as f64 / start.elapsed().as_secs_f64(), bytes)
}

fn main() {
    let n = 1_000_000;
    let peer_n = 200_000;
    let peer = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peer_capstone.py"))
        .arg(peer_n.to_string())
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok());
    println!("| profile | events | events/s (1 core, to gzip JSONL) | vs Python capstone generator |");
    println!("|---|---:|---:|---:|");
    for profile in [Profile::Capstone, Profile::Flashcommerce] {
        let (r, bytes) = rate(profile, n);
        let ratio = peer
            .map(|p| format!("{:.1}x", r / p))
            .unwrap_or_else(|| "python3 not found".into());
        println!(
            "| {profile:?} | {n} ({:.0} MB gz) | {r:.0} | {ratio} |",
            bytes as f64 / 1e6
        );
    }
    if let Some(p) = peer {
        println!("| Python peer (capstone) | {peer_n} | {p:.0} | 1.0x |");
    }
}
