//! `etl`: one run of bronze -> silver -> gold over a lake in S3 (AWS or the
//! emulator via `AWS_ENDPOINT_URL`) or a local directory. The container job
//! of the task definition runs it with the environment's settings.
//!
//! `etl query` answers SQL over the lake's gold tables and prints the result
//! as JSON: the local engine of `pipegen query` and `pipegen dashboard`. It
//! lives in this binary so that polars is linked once (the CLI never links
//! it), and the job's own command line stays as it is.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pipegen_etl::catalog::Catalog;
use pipegen_etl::cities::CityTable;
use pipegen_etl::run::{Options, run};
use pipegen_etl::settings::{PeakHours, Settings};
use pipegen_etl::store::Store;
use pipegen_events::SourceFormat;

#[derive(Parser, Debug)]
#[command(
    name = "etl",
    version,
    about = "bronze -> silver -> gold (spec/silver.md, spec/gold.md)"
)]
struct Args {
    #[command(flatten)]
    lake: Lake,
    /// flashcommerce, capstone, rees46 or uk-retail.
    #[arg(long, default_value = "flashcommerce")]
    source_format: String,
    /// IANA zone of local dates and hours (default: Asia/Kolkata for flashcommerce, else UTC).
    #[arg(long)]
    time_zone: Option<String>,
    /// Inclusive local peak hours, START-END.
    #[arg(long, default_value = "18-21")]
    peak_hours: String,
    /// Comma-separated local festival dates.
    #[arg(long, default_value = "2025-03-14,2025-10-23")]
    festival_dates: String,
    /// A CSV replacing the built-in city table (city,region,tier,latitude,longitude).
    #[arg(long)]
    city_table: Option<PathBuf>,
    /// Register tables and partitions in this Glue database (S3 lakes only).
    #[arg(long)]
    glue_database: Option<String>,
    #[arg(long, default_value = "bronze/events/")]
    bronze_prefix: String,
    #[arg(long, default_value = "silver/events/")]
    silver_prefix: String,
    #[arg(long, default_value = "invalid/")]
    invalid_prefix: String,
    #[arg(long, default_value = "gold/")]
    gold_prefix: String,
    #[arg(long, default_value = "_state/etl/")]
    state_prefix: String,
    /// Rebuild silver and gold from all of bronze.
    #[arg(long)]
    full_refresh: bool,
    /// Compute and report, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the whole report as JSON instead of the summary.
    #[arg(long)]
    json: bool,
    /// Scratch directory (default: the system temp directory).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

/// Where the lake is.
#[derive(clap::Args, Debug)]
struct Lake {
    /// The lake bucket (S3 API from the standard AWS configuration chain).
    #[arg(
        long,
        env = "LAKE_BUCKET",
        conflicts_with = "lake_dir",
        required_unless_present = "lake_dir"
    )]
    lake_bucket: Option<String>,
    /// A lake in a local directory instead of S3.
    #[arg(long)]
    lake_dir: Option<PathBuf>,
}

/// `etl query`'s arguments.
#[derive(Parser, Debug)]
#[command(name = "etl query", about = "SQL over the gold tables, result as JSON")]
struct QueryArgs {
    #[command(flatten)]
    lake: Lake,
    #[arg(long, default_value = "gold/")]
    gold_prefix: String,
    /// The SQL text (see --sql-file).
    #[arg(long, conflicts_with = "sql_file", required_unless_present = "sql_file")]
    sql: Option<String>,
    /// A file holding the SQL (a named query of queries/).
    #[arg(long)]
    sql_file: Option<PathBuf>,
    /// A value for the next `?` of the query, in order.
    #[arg(long = "param")]
    params: Vec<String>,
}

async fn store_of(lake: &Lake) -> (Store, Option<aws_config::SdkConfig>) {
    match (&lake.lake_bucket, &lake.lake_dir) {
        (Some(bucket), _) => {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            // The emulator serves buckets on paths, not subdomains.
            let s3 = aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build();
            (Store::s3(aws_sdk_s3::Client::from_conf(s3), bucket), Some(config))
        }
        (None, Some(dir)) => (Store::dir(dir), None),
        (None, None) => unreachable!("clap requires one of them"),
    }
}

async fn query_main(args: QueryArgs) -> ExitCode {
    let sql = match (&args.sql, &args.sql_file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => match std::fs::read_to_string(f) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {}: {e}", f.display());
                return ExitCode::from(1);
            }
        },
        (None, None) => unreachable!("clap requires one of them"),
    };
    let (store, _) = store_of(&args.lake).await;
    let started = std::time::Instant::now();
    match pipegen_etl::query::run(&store, &args.gold_prefix, &sql, &args.params).await {
        Ok(result) => {
            let mut out = serde_json::to_value(&result).expect("serializable");
            out["elapsed_ms"] = serde_json::json!(started.elapsed().as_secs_f64() * 1e3);
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e @ (pipegen_etl::query::QueryError::Parameters { .. } | pipegen_etl::query::QueryError::NoTable(_))) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn settings(a: &Args) -> Result<Settings, String> {
    let format = SourceFormat::parse(&a.source_format).ok_or_else(|| {
        format!(
            "--source-format `{}`: expected flashcommerce, capstone, rees46 or uk-retail",
            a.source_format
        )
    })?;
    let mut s = Settings::new(format);
    if let Some(z) = &a.time_zone {
        s.zone = z
            .parse()
            .map_err(|_| format!("--time-zone `{z}` is not an IANA time zone (e.g. Asia/Kolkata, UTC)"))?;
    }
    s.peak_hours = PeakHours::parse(&a.peak_hours).map_err(|e| format!("--peak-hours: {e}"))?;
    s.festival_dates = Settings::parse_dates(&a.festival_dates).map_err(|e| format!("--festival-dates: {e}"))?;
    if let Some(p) = &a.city_table {
        s.cities = CityTable::from_csv(p).map_err(|e| format!("--city-table: {e}"))?;
    }
    Ok(s)
}

/// mimalloc rather than the system allocator: parsing allocates a few small
/// strings per field of every line, from both cores at once, and polars
/// recommends a non-system allocator for the same reason.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        // Stage progress (`info`) by default; RUST_LOG overrides.
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("pipegen_etl=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    if std::env::args().nth(1).as_deref() == Some("query") {
        return query_main(QueryArgs::parse_from(std::env::args().skip(1))).await;
    }
    let args = Args::parse();
    let settings = match settings(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let run_id = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ").to_string();
    let mut opts = Options::new(run_id);
    opts.bronze_prefix = args.bronze_prefix.clone();
    opts.silver_prefix = args.silver_prefix.clone();
    opts.invalid_prefix = args.invalid_prefix.clone();
    opts.gold_prefix = args.gold_prefix.clone();
    opts.state_prefix = args.state_prefix.clone();
    opts.full_refresh = args.full_refresh;
    opts.dry_run = args.dry_run;
    if let Some(w) = &args.work_dir {
        opts.work_dir = w.clone();
    }
    let (store, config) = store_of(&args.lake).await;
    let catalog = match (&config, &args.glue_database, &args.lake.lake_bucket) {
        (Some(config), Some(db), Some(bucket)) => Some(Catalog {
            client: aws_sdk_glue::Client::new(config),
            database: db.clone(),
            bucket: bucket.clone(),
        }),
        _ => None,
    };
    eprintln!(
        "etl: {} ({} source), run {}",
        store.describe(),
        args.source_format,
        opts.run_id
    );
    match run(&store, &settings, &opts, catalog.as_ref()).await {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report).expect("serializable"));
            } else {
                println!("{}", report.summary());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
