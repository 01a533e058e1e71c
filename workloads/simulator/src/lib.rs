//! The event simulator (spec/events.md): deterministic, realistic events in
//! either original profile, with faults and bots on demand, written to a file,
//! S3 bronze or Kinesis, with a ground-truth manifest. Runs as a Lambda
//! (scheduled by EventBridge) and on the command line.

pub mod generate;
pub mod profile;
pub mod sink;

pub use generate::{Generator, Line, Manifest, Settings};
pub use profile::Profile;

/// Events per second of event time for a number of concurrent sessions
/// (a session's events are 3-30 s apart: 16.5 s on average).
pub fn sessions_for_rate(rate: f64, profile: Profile) -> u32 {
    ((rate * 16.5).round() as u32).clamp(1, profile.users() / 2)
}
