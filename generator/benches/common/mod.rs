//! Timing shared by the generator's benchmarks.

use std::time::{Duration, Instant};

/// The median of `runs` timed calls, after one warm-up call.
pub fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}
