//! Detector windowing throughput: events per second on one core through the
//! per-user counting (the work of every invocation), and the state size per
//! 10,000 distinct users against Lambda's 1 MB per-shard limit. The peer in
//! the same run is a plain `HashMap<String, u32>` count of the same user ids:
//! the floor of any per-user counter. Prints a table.
//! Run: `cargo bench -p pipegen-detector --bench windowing`.

use std::collections::HashMap;
use std::time::Instant;

use pipegen_detector::WindowState;

fn main() {
    let n = 5_000_000usize;
    let users: Vec<String> = (0..10_000).map(|i| format!("U{i:05}")).collect();
    let ids: Vec<&str> = (0..n).map(|i| users[(i * 7919) % users.len()].as_str()).collect();

    let t = Instant::now();
    let mut floor: HashMap<String, u32> = HashMap::new();
    for u in &ids {
        *floor.entry((*u).to_string()).or_default() += 1;
    }
    let peer = n as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut s = WindowState::default();
    for (i, u) in ids.iter().enumerate() {
        s.add(u, i as i64);
    }
    let ours = n as f64 / t.elapsed().as_secs_f64();
    assert_eq!(s.users.len(), floor.len());

    let state = s.to_lambda();
    let json = serde_json::to_string(&state).unwrap().len();
    let t = Instant::now();
    let back = WindowState::from_lambda(&state).unwrap();
    let round_trip = t.elapsed();
    assert_eq!(back.users.len(), 10_000);

    println!("| measure | pipegen detector | peer: HashMap<String, u32> count | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| events/s, 1 core, 10,000 users | {ours:.0} | {peer:.0} | {:.2}x |",
        ours / peer
    );
    println!(
        "| state for 10,000 users (JSON bytes) | {json} ({:.0}% of 1 MB) | | |",
        json as f64 / 10_485.76
    );
    println!(
        "| state decode, 10,000 users | {:.1} ms | | |",
        round_trip.as_secs_f64() * 1e3
    );
}
