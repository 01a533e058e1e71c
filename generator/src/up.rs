//! `pipegen up` and `pipegen down`: the whole pipeline on this machine.
//!
//! `up` starts the emulator if none is running, builds the workloads, applies
//! the environment with the local engine, subscribes an inbox queue to the
//! alert topics (to count what subscribers receive), sends traffic (the
//! simulator function, or a replayed file), lets the ingest and detector
//! functions consume through the runner's pollers, runs the ETL job, and
//! prints a reconciled summary. `down` destroys what `up` created and stops
//! the emulator if `up` started it.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::cli::local::{UpArgs, recorded_endpoint};
use crate::cli::{INTERNAL_ERROR, OK, USER_ERROR};
use crate::local::{self, Change, Emulator, err_text};
use crate::resources::{Kind, ResourceGraph};
use crate::runner::{MappingStats, Poller, Runner, WindowClock, aws_env};
use crate::validate::Environment;

/// What `up` remembers for `down`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct UpState {
    endpoint: String,
    /// `up` started the emulator (so `down` stops it).
    started_emulator: bool,
    inbox_queue: String,
}

/// The reconciled summary `up` prints (and writes with --summary-json).
#[derive(Debug, Default, Serialize)]
pub struct UpSummary {
    pub environment: String,
    pub endpoint: String,
    pub events_sent: u64,
    /// The simulator's ground truth (absent for a replay).
    pub manifest: Option<Json>,
    pub bronze_objects: u64,
    pub bronze_lines: u64,
    pub quarantine_objects: u64,
    pub quarantined_records: u64,
    pub mappings: BTreeMap<String, MappingStats>,
    pub silver_valid: u64,
    pub invalid: u64,
    pub duplicates: u64,
    pub etl_reconciled: bool,
    pub invalid_by_reason: BTreeMap<String, u64>,
    pub gold_rows: BTreeMap<String, u64>,
    pub catalog_tables: Vec<String>,
    /// (user id, window start, actions) of every detection item.
    pub detections: Vec<(String, i64, u64)>,
    pub alerts_received: u64,
    /// sent = bronze lines + quarantined records, and bronze lines = valid +
    /// invalid + duplicates.
    pub nothing_lost: bool,
    pub highlights: Json,
}

fn state_dir(root: &Path, env: &str) -> PathBuf {
    root.join(".pipegen/local").join(env)
}

fn say(err: &mut dyn Write, stage: &str, text: impl std::fmt::Display) {
    let _ = writeln!(err, "[{stage:>8}] {text}");
}

/// An endpoint that answers, or none.
fn healthy(endpoint: &str) -> bool {
    let url = endpoint.trim_end_matches('/').trim_start_matches("http://");
    let Ok(mut s) = std::net::TcpStream::connect(url) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    // Not /moto-api/data.json: it serialises the emulator's whole state and
    // takes seconds once other tests have filled it.
    let _ = write!(s, "GET /moto-api/ HTTP/1.0\r\nHost: {url}\r\n\r\n");
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1.") && &buf[9..12] == b"200")
}

fn start_emulator(root: &Path) -> Result<String, String> {
    let out = std::process::Command::new("bash")
        .arg(root.join("localstack/moto.sh"))
        .arg("start")
        .output()
        .map_err(|e| format!("localstack/moto.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "localstack/moto.sh start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(|l| l.trim().to_string())
        .ok_or_else(|| "localstack/moto.sh printed no endpoint".into())
}

fn build_workloads(root: &Path, err: &mut dyn Write) -> Result<PathBuf, String> {
    say(
        err,
        "build",
        "cargo build -p pipegen-ingest -p pipegen-detector -p pipegen-simulator -p pipegen-etl",
    );
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args([
            "build",
            "--quiet",
            "-p",
            "pipegen-ingest",
            "-p",
            "pipegen-detector",
            "-p",
            "pipegen-simulator",
            "-p",
            "pipegen-etl",
        ])
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        return Err("building the workloads failed (see cargo's output above)".into());
    }
    Ok(root.join("target/debug"))
}

pub fn up(
    env: &Environment,
    args: &UpArgs,
    root: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let graph = &env.graph;
    let dir = state_dir(root, &env.name);
    std::fs::create_dir_all(&dir)?;
    // 1. The emulator.
    let (endpoint, started) = match args.endpoint.clone().or_else(recorded_endpoint).filter(|e| healthy(e)) {
        Some(e) => (e, false),
        None => match start_emulator(root) {
            Ok(e) => (e, true),
            Err(e) => {
                writeln!(err, "error: {e}")?;
                return Ok(INTERNAL_ERROR);
            }
        },
    };
    say(
        err,
        "emulator",
        format!("{endpoint}{}", if started { " (started)" } else { "" }),
    );
    let previous: Option<UpState> = std::fs::read(dir.join("up.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let state = UpState {
        endpoint: endpoint.clone(),
        started_emulator: started || previous.is_some_and(|p| p.started_emulator && p.endpoint == endpoint),
        inbox_queue: format!(
            "{}-local-alerts-inbox",
            graph
                .resources
                .iter()
                .find_map(|r| r.name.as_deref().filter(|_| r.kind == Kind::Topic))
                .unwrap_or("pipegen")
        ),
    };
    std::fs::write(dir.join("up.json"), serde_json::to_vec_pretty(&state)?)?;
    // 2. The workloads.
    let binaries = match &args.workloads_dir {
        Some(d) => d.clone(),
        None => match build_workloads(root, err) {
            Ok(d) => d,
            Err(e) => {
                writeln!(err, "error: {e}")?;
                return Ok(INTERNAL_ERROR);
            }
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(run(env, args, &endpoint, &binaries, &dir, &state.inbox_queue, err));
    match result {
        Ok(summary) => {
            print_summary(&summary, out)?;
            if let Some(p) = &args.summary_json {
                std::fs::write(p, serde_json::to_vec_pretty(&summary)?)?;
            }
            Ok(if summary.nothing_lost && summary.etl_reconciled {
                OK
            } else {
                INTERNAL_ERROR
            })
        }
        Err(e) => {
            writeln!(err, "error: {e}")?;
            Ok(INTERNAL_ERROR)
        }
    }
}

async fn run(
    env: &Environment,
    args: &UpArgs,
    endpoint: &str,
    binaries: &Path,
    dir: &Path,
    inbox: &str,
    err: &mut dyn Write,
) -> Result<UpSummary, String> {
    let graph = &env.graph;
    let em = Emulator::connect(endpoint, &graph.region)
        .await
        .map_err(|e| e.to_string())?;
    // 3. A fresh run: what a previous `up` left (data in the lake, records
    // on the stream) would make this run's numbers cumulative.
    let before = local::plan(graph, &em).await.map_err(|e| e.to_string())?;
    let existing = before
        .iter()
        .filter(|p| matches!(p.change, Change::Unchanged | Change::Update { .. }))
        .count();
    if existing > 0 {
        say(
            err,
            "reset",
            format!("removing the previous run of {} ({existing} resources)", env.name),
        );
        let (_, left) = local::destroy(graph, &em, |_| {}).await.map_err(|e| e.to_string())?;
        if !left.is_empty() {
            return Err(format!(
                "could not remove the previous run: {} still there",
                left.join(", ")
            ));
        }
    }
    // 4. Apply.
    let planned = local::apply(graph, &em, |_| {}).await.map_err(|e| e.to_string())?;
    let created = planned
        .iter()
        .filter(|p| matches!(p.change, Change::Create | Change::Update { .. }))
        .count();
    say(
        err,
        "apply",
        format!(
            "{created} created or updated, {} unchanged",
            planned.iter().filter(|p| p.change == Change::Unchanged).count()
        ),
    );
    let inbox_url = subscribe_inbox(graph, &em, inbox).await?;
    // 5. Functions and pollers (iterators taken before any traffic is sent).
    let mut runner = Runner::new(graph, &em, binaries, &dir.join("logs"))?;
    let format = pipegen_events::SourceFormat::parse(env.config.analytics.source_format.as_str())
        .unwrap_or(pipegen_events::SourceFormat::Flashcommerce);
    let done = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for (spec, function) in runner.mappings.clone() {
        let mut host = runner
            .functions
            .remove(&function)
            .ok_or_else(|| format!("{}: no function {function}", spec.id))?;
        let mut poller = Poller::open(spec, &em, WindowClock::EventTime(format), aws_env(&em), None)
            .await
            .map_err(|e| e.to_string())?;
        let (em, done) = (em.clone(), done.clone());
        tasks.spawn(async move {
            let r = poller.drain(&em, &mut host, || done.load(Ordering::SeqCst)).await;
            (poller.spec.id.clone(), poller.stats, r)
        });
    }
    // 6. Traffic.
    let (sent, manifest) = match &args.replay {
        Some(file) => {
            say(err, "replay", file.display());
            let stream = graph
                .resources
                .iter()
                .find(|r| r.kind == Kind::Stream)
                .and_then(|r| r.name.clone())
                .unwrap_or_default();
            (replay(&em, &stream, file, format).await?, None)
        }
        None => {
            let (id, mut host) = runner
                .functions
                .iter()
                .find(|(_, h)| h.spec.binary.ends_with("simulator"))
                .map(|(id, _)| id.clone())
                .and_then(|id| runner.functions.remove(&id).map(|h| (id, h)))
                .ok_or("the environment has no simulator function")?;
            say(
                err,
                "simulate",
                format!(
                    "{} events, {} bots, {:.0}% faults (invoking {id})",
                    args.events,
                    args.bots,
                    args.faults * 100.0
                ),
            );
            let payload = json!({"events": args.events, "seed": args.seed, "faults": args.faults, "bots": args.bots});
            let outcome = host.invoke(payload.to_string().into_bytes(), &aws_env(&em)).await;
            let manifest = match outcome {
                crate::runner::runtime_api::Outcome::Response(b) => {
                    serde_json::from_slice::<Json>(&b).map_err(|e| e.to_string())?
                }
                other => {
                    done.store(true, Ordering::SeqCst);
                    return Err(format!(
                        "the simulator failed: {other:?} (see {})",
                        host.spec.log_file.display()
                    ));
                }
            };
            (manifest.get("sent").and_then(Json::as_u64).unwrap_or(0), Some(manifest))
        }
    };
    done.store(true, Ordering::SeqCst);
    say(
        err,
        "stream",
        format!("{sent} events on the stream; ingest and detector consuming"),
    );
    let mut summary = UpSummary {
        environment: env.name.clone(),
        endpoint: endpoint.into(),
        events_sent: sent,
        manifest,
        ..Default::default()
    };
    while let Some(joined) = tasks.join_next().await {
        let (id, stats, result) = joined.map_err(|e| e.to_string())?;
        result.map_err(|e| e.to_string())?;
        say(
            err,
            "consume",
            format!(
                "{id}: {} records in {} invocations ({} errors, {} to the on-failure queue)",
                stats.records, stats.invocations, stats.function_errors, stats.records_to_on_failure
            ),
        );
        summary.mappings.insert(id, stats);
    }
    // 7. The ETL.
    say(err, "etl", "bronze -> silver -> gold");
    let stdout = runner.run_job(&em, &["--json".to_string()]).await?;
    let report: Json = serde_json::from_str(&stdout).map_err(|e| format!("the ETL's report is not JSON: {e}"))?;
    // 8. What landed.
    collect(graph, &em, &report, &inbox_url, &mut summary).await?;
    Ok(summary)
}

async fn subscribe_inbox(graph: &ResourceGraph, em: &Emulator, inbox: &str) -> Result<String, String> {
    let url = em
        .sqs
        .create_queue()
        .queue_name(inbox)
        .send()
        .await
        .map_err(|e| err_text(&e))?;
    let url = url.queue_url().unwrap_or_default().to_string();
    let arn = format!("arn:aws:sqs:{}:{}:{inbox}", em.region, em.account);
    let cx = local::Ctx { graph, em };
    for t in graph.resources.iter().filter(|r| r.kind == Kind::Topic) {
        em.sns
            .subscribe()
            .topic_arn(cx.arn_of(&t.id))
            .protocol("sqs")
            .endpoint(&arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .map_err(|e| err_text(&e))?;
    }
    Ok(url)
}

/// Puts every record of a CSV (or JSON lines) file on the stream, keyed by
/// user as producers do (a user's window lives on one shard), through the
/// simulator's Kinesis sink (size-aware batches, retries with jitter).
async fn replay(em: &Emulator, stream: &str, file: &Path, format: pipegen_events::SourceFormat) -> Result<u64, String> {
    let text = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    // Each record's text as it goes on the stream (JSON lines verbatim, bad
    // ones too: ingest quarantines them) and its fields when it parses.
    let records: Vec<(String, Option<serde_json::Map<String, Json>>)> = if file.extension().is_some_and(|e| e == "csv")
    {
        pipegen_events::source::csv_records(&text[..])
            .map(|r| r.map(|m| (Json::Object(m.clone()).to_string(), Some(m))))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", file.display()))?
    } else {
        String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| (l.to_string(), serde_json::from_str(l).ok()))
            .collect()
    };
    let lines = records.into_iter().enumerate().map(|(i, (text, fields))| {
        let user = fields.as_ref().and_then(|m| {
            format.user_fields().iter().find_map(|k| match m.get(*k) {
                Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Json::Number(n)) => Some(n.to_string()),
                _ => None,
            })
        });
        pipegen_simulator::Line {
            time_micros: fields.as_ref().and_then(|m| format.event_time_micros(m)).unwrap_or(0),
            partition_key: user.clone().unwrap_or_else(|| i.to_string()),
            user_id: user,
            text,
        }
    });
    pipegen_simulator::sink::to_kinesis(&em.kinesis, stream, lines, pipegen_simulator::sink::Retry::default())
        .await
        .map_err(|e| e.to_string())
}

async fn gz_lines(em: &Emulator, bucket: &str, key: &str) -> Result<u64, String> {
    let obj = em
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| err_text(&e))?;
    let bytes = obj.body.collect().await.map_err(|e| e.to_string())?.into_bytes();
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .map_err(|e| format!("{key}: {e}"))?;
    Ok(text.lines().filter(|l| !l.trim().is_empty()).count() as u64)
}

async fn keys(em: &Emulator, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = em
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| err_text(&e))?;
        out.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

async fn collect(
    graph: &ResourceGraph,
    em: &Emulator,
    report: &Json,
    inbox_url: &str,
    s: &mut UpSummary,
) -> Result<(), String> {
    let find = |kind: Kind| graph.resources.iter().find(|r| r.kind == kind);
    let lake = graph
        .resources
        .iter()
        .find(|r| r.kind == Kind::Bucket && r.properties.get("purpose").and_then(Json::as_str) == Some("lake"))
        .and_then(|r| r.name.clone())
        .ok_or("the environment has no lake bucket")?;
    let bronze_prefix = "bronze/events/";
    let quarantine_prefix = "bronze/_quarantine/";
    let bronze = keys(em, &lake, bronze_prefix).await?;
    s.bronze_objects = bronze.len() as u64;
    for k in &bronze {
        s.bronze_lines += gz_lines(em, &lake, k).await?;
    }
    let quarantine = keys(em, &lake, quarantine_prefix).await?;
    s.quarantine_objects = quarantine.len() as u64;
    for k in &quarantine {
        s.quarantined_records += gz_lines(em, &lake, k).await?;
    }
    let totals = &report["totals"];
    let n = |v: &Json| v.as_u64().unwrap_or(0);
    s.silver_valid = n(&totals["valid"]);
    s.invalid = n(&totals["invalid"]);
    s.duplicates = n(&totals["duplicates"]);
    s.etl_reconciled = report["reconciled"].as_bool().unwrap_or(false);
    s.invalid_by_reason = serde_json::from_value(report["invalid_by_reason"].clone()).unwrap_or_default();
    s.gold_rows = serde_json::from_value(report["gold_rows"].clone()).unwrap_or_default();
    s.highlights = report.get("highlights").cloned().unwrap_or(Json::Null);
    if let Some(db) = find(Kind::GlueDatabase).and_then(|r| r.name.clone()) {
        let tables = em
            .glue
            .get_tables()
            .database_name(db)
            .send()
            .await
            .map_err(|e| err_text(&e))?;
        s.catalog_tables = tables.table_list().iter().map(|t| t.name().to_string()).collect();
    }
    if let Some(table) = find(Kind::DynamoTable).and_then(|r| r.name.clone()) {
        let items = em
            .dynamodb
            .scan()
            .table_name(table)
            .send()
            .await
            .map_err(|e| err_text(&e))?;
        for i in items.items() {
            let text = |k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let num = |k: &str| {
                i.get(k)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(0)
            };
            s.detections
                .push((text("user_id"), num("window_start"), num("actions") as u64));
        }
        s.detections.sort();
    }
    loop {
        let msgs = em
            .sqs
            .receive_message()
            .queue_url(inbox_url)
            .max_number_of_messages(10)
            .send()
            .await
            .map_err(|e| err_text(&e))?;
        if msgs.messages().is_empty() {
            break;
        }
        for m in msgs.messages() {
            s.alerts_received += 1;
            if let Some(h) = m.receipt_handle() {
                let _ = em
                    .sqs
                    .delete_message()
                    .queue_url(inbox_url)
                    .receipt_handle(h)
                    .send()
                    .await;
            }
        }
    }
    s.nothing_lost = s.events_sent == s.bronze_lines + s.quarantined_records
        && s.bronze_lines == s.silver_valid + s.invalid + s.duplicates;
    Ok(())
}

fn print_summary(s: &UpSummary, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "\n{} on {}", s.environment, s.endpoint)?;
    writeln!(
        out,
        "  events sent        {:>8}   -> bronze {} lines in {} objects, quarantined {} in {} objects",
        s.events_sent, s.bronze_lines, s.bronze_objects, s.quarantined_records, s.quarantine_objects
    )?;
    writeln!(
        out,
        "  bronze lines       {:>8}   = silver {} + invalid {} + duplicates {}  ({})",
        s.bronze_lines,
        s.silver_valid,
        s.invalid,
        s.duplicates,
        if s.nothing_lost {
            "nothing lost"
        } else {
            "NOT RECONCILED"
        }
    )?;
    if !s.invalid_by_reason.is_empty() {
        let reasons: Vec<String> = s.invalid_by_reason.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(out, "  invalid by reason  {}", reasons.join(", "))?;
    }
    for (id, m) in &s.mappings {
        writeln!(
            out,
            "  {id:18} {} records, {} invocations, {} errors, {} retries, {} to the on-failure queue",
            m.records, m.invocations, m.function_errors, m.retries, m.records_to_on_failure
        )?;
    }
    writeln!(
        out,
        "  bots detected      {:>8}   alerts received {}",
        s.detections.len(),
        s.alerts_received
    )?;
    for (user, start, actions) in &s.detections {
        let at = chrono::DateTime::from_timestamp(*start, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        writeln!(out, "    {user:<16} {actions:>4} actions in the window starting {at}")?;
    }
    let gold: Vec<String> = s.gold_rows.iter().map(|(k, v)| format!("{k} {v}")).collect();
    writeln!(out, "  gold rows          {}", gold.join(", "))?;
    writeln!(out, "  catalog tables     {}", s.catalog_tables.len())?;
    if let Some(top) = s.highlights.get("top_products").and_then(Json::as_array) {
        writeln!(out, "  top products by revenue")?;
        for row in top {
            writeln!(
                out,
                "    {}",
                row.as_str().map(str::to_string).unwrap_or_else(|| row.to_string())
            )?;
        }
    }
    if let Some(cities) = s.highlights.get("revenue_by_city").and_then(Json::as_array) {
        writeln!(out, "  revenue by city")?;
        for row in cities {
            writeln!(
                out,
                "    {}",
                row.as_str().map(str::to_string).unwrap_or_else(|| row.to_string())
            )?;
        }
    }
    Ok(())
}

pub fn down(
    env: &Environment,
    endpoint: Option<&str>,
    root: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let dir = state_dir(root, &env.name);
    let state: Option<UpState> = std::fs::read(dir.join("up.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let Some(endpoint) = endpoint
        .map(str::to_string)
        .or_else(|| state.as_ref().map(|s| s.endpoint.clone()))
        .or_else(recorded_endpoint)
    else {
        writeln!(
            err,
            "error: nothing to take down: no `pipegen up {}` is recorded and no emulator is known",
            env.name
        )?;
        return Ok(USER_ERROR);
    };
    if !healthy(&endpoint) {
        writeln!(
            out,
            "{}: the emulator at {endpoint} is not running; nothing to destroy",
            env.name
        )?;
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(OK);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let em = Emulator::connect(&endpoint, &env.graph.region)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(s) = &state
            && let Ok(url) = em.sqs.get_queue_url().queue_name(&s.inbox_queue).send().await
        {
            em.sqs
                .delete_queue()
                .queue_url(url.queue_url().unwrap_or_default())
                .send()
                .await
                .map_err(|e| err_text(&e))?;
        }
        local::destroy(&env.graph, &em, |_| {}).await.map_err(|e| e.to_string())
    });
    match result {
        Ok((deleted, left)) if left.is_empty() => {
            writeln!(
                out,
                "{}: deleted {} resources; nothing of it is left",
                env.name,
                deleted.len()
            )?;
        }
        Ok((_, left)) => {
            writeln!(err, "error: still there after destroy: {}", left.join(", "))?;
            return Ok(INTERNAL_ERROR);
        }
        Err(e) => {
            writeln!(err, "error: {e}")?;
            return Ok(INTERNAL_ERROR);
        }
    }
    if state.as_ref().is_some_and(|s| s.started_emulator) {
        let stop = std::process::Command::new("bash")
            .arg(root.join("localstack/moto.sh"))
            .arg("stop")
            .status();
        match stop {
            Ok(s) if s.success() => writeln!(out, "stopped the emulator `pipegen up` started")?,
            _ => writeln!(err, "warning: could not stop the emulator (localstack/moto.sh stop)")?,
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(OK)
}
