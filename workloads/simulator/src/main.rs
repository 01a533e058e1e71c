//! `simulator` (packaged as `bootstrap`): the simulator as a Lambda function (when started by the Lambda
//! runtime, `AWS_LAMBDA_RUNTIME_API` is set) or as a command-line tool.

use std::path::PathBuf;

use clap::Parser;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use pipegen_simulator::{Generator, Profile, Settings, sessions_for_rate, sink};
use serde::Deserialize;

/// Generate e-commerce events.
#[derive(Debug, Parser)]
#[command(name = "simulator", version)]
struct Cli {
    /// Distribution profile.
    #[arg(long, value_enum, default_value_t = Profile::Flashcommerce)]
    profile: Profile,
    /// Number of events.
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    /// Events per second of event time (the traffic level).
    #[arg(long, default_value_t = 8.0)]
    rate: f64,
    /// Random seed: the same seed gives the same events.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fraction of events with a fault (malformed JSON, unknown city, ...), 0-1.
    #[arg(long, default_value_t = 0.0)]
    faults: f64,
    /// Bot users firing more than --threshold actions inside one window.
    #[arg(long, default_value_t = 0)]
    bots: u32,
    #[arg(long, default_value_t = 10)]
    threshold: u32,
    #[arg(long, default_value_t = 10)]
    window: u32,
    /// Write JSON lines to this file (gzip when it ends in .gz).
    #[arg(long, conflicts_with_all = ["kinesis", "s3_bucket"])]
    out: Option<PathBuf>,
    /// Put the events on this Kinesis stream.
    #[arg(long)]
    kinesis: Option<String>,
    /// Write bronze objects to this bucket.
    #[arg(long = "s3-bucket")]
    s3_bucket: Option<String>,
    #[arg(long, default_value = "bronze/events/")]
    s3_prefix: String,
    /// Write the ground-truth manifest (JSON) here.
    #[arg(long)]
    manifest: Option<PathBuf>,
}

/// The Lambda's input; unset fields come from the environment variables the
/// renderer sets (PROFILE, EVENTS_PER_INVOCATION, BOTS, FAULT_RATE).
#[derive(Debug, Default, Deserialize)]
struct Request {
    profile: Option<Profile>,
    events: Option<u64>,
    seed: Option<u64>,
    faults: Option<f64>,
    bots: Option<u32>,
}

fn env<T: std::str::FromStr>(k: &str) -> Option<T> {
    std::env::var(k).ok().and_then(|v| v.parse().ok())
}

async fn lambda(event: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, Error> {
    let req: Request = serde_json::from_value(event.payload).unwrap_or_default();
    let profile = req.profile.or_else(|| match std::env::var("PROFILE").as_deref() {
        Ok("capstone") => Some(Profile::Capstone),
        Ok("flashcommerce") => Some(Profile::Flashcommerce),
        _ => None,
    });
    let profile = profile.unwrap_or(Profile::Flashcommerce);
    let seed = req.seed.unwrap_or_else(|| chrono::Utc::now().timestamp_micros() as u64);
    let mut s = Settings::new(
        profile,
        req.events.or_else(|| env("EVENTS_PER_INVOCATION")).unwrap_or(500_000),
        seed,
    );
    s.fault_rate = req.faults.or_else(|| env("FAULT_RATE")).unwrap_or(0.0);
    s.bots = req.bots.or_else(|| env("BOTS")).unwrap_or(0);
    s.threshold = env("THRESHOLD").unwrap_or(10);
    s.window_seconds = env("WINDOW_SECONDS").unwrap_or(10);
    s.start_micros = chrono::Utc::now().timestamp_micros();
    let stream = std::env::var("TARGET_STREAM").map_err(|_| "TARGET_STREAM is not set")?;
    let aws = aws_config::load_from_env().await;
    let kinesis = aws_sdk_kinesis::Client::new(&aws);
    let mut generator = Generator::new(s);
    let lines: Vec<_> = generator.by_ref().collect();
    let sent = sink::to_kinesis(&kinesis, &stream, lines.into_iter(), sink::Retry::default()).await?;
    let mut manifest = serde_json::to_value(generator.manifest())?;
    manifest["sent"] = sent.into();
    Ok(manifest)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .init();
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda_runtime::run(service_fn(lambda)).await;
    }
    let cli = Cli::parse();
    let mut s = Settings::new(cli.profile, cli.events, cli.seed);
    s.fault_rate = cli.faults;
    s.bots = cli.bots;
    s.threshold = cli.threshold;
    s.window_seconds = cli.window;
    s.concurrent_sessions = sessions_for_rate(cli.rate, cli.profile);
    let mut generator = Generator::new(s);
    let written = if let Some(stream) = &cli.kinesis {
        let aws = aws_config::load_from_env().await;
        let lines: Vec<_> = generator.by_ref().collect();
        sink::to_kinesis(
            &aws_sdk_kinesis::Client::new(&aws),
            stream,
            lines.into_iter(),
            sink::Retry::default(),
        )
        .await?
    } else if let Some(bucket) = &cli.s3_bucket {
        let aws = aws_config::load_from_env().await;
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build());
        let lines: Vec<_> = generator.by_ref().collect();
        sink::to_s3(&s3, bucket, &cli.s3_prefix, cli.seed, lines.into_iter(), 50_000).await?
    } else {
        let path = cli.out.clone().unwrap_or_else(|| PathBuf::from("events.jsonl.gz"));
        sink::to_file(&path, generator.by_ref())?
    };
    let manifest = serde_json::to_string_pretty(generator.manifest())?;
    match &cli.manifest {
        Some(p) => std::fs::write(p, &manifest)?,
        None => eprintln!("{manifest}"),
    }
    eprintln!("wrote {written} lines");
    Ok(())
}
