//! The whole pipeline on the local emulator (moto), end to end: `pipegen up`
//! per source format with its numbers checked against ground truth (the
//! simulator's manifest, or the replayed sample recomputed here), `down`
//! leaving nothing; the local engine's idempotence and clean-up of a
//! half-applied environment; and the runner under faults (a missing table,
//! S3 refusing writes for a while).
//!
//! Each test uses its own environment, so they run in parallel on one
//! emulator.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pipegen::local::{self, Change, Emulator};
use pipegen::resources::{Kind, ResourceGraph};
use pipegen::runner::{Poller, Runner, WindowClock, aws_env};
use serde_json::Value as Json;

#[path = "support/mod.rs"]
mod support;
use support::{root, runtime};

/// Runs a pipegen command in-process on the shipped environments.
fn pipegen(args: &[&str]) -> (u8, String, String) {
    support::pipegen_in(&root().join("environments"), args)
}

fn graph(env: &str) -> ResourceGraph {
    let files = pipegen::environment::EnvironmentFiles::read_dir(&root().join("environments")).unwrap();
    pipegen::validate::validate_one(&files, env)
        .expect("valid environment")
        .graph
}

/// Every emulated resource of the environment is absent.
async fn nothing_left(g: &ResourceGraph, em: &Emulator) {
    let plan = local::plan(g, em).await.unwrap();
    let left: Vec<_> = plan
        .iter()
        .filter(|p| matches!(p.change, Change::Unchanged | Change::Update { .. }))
        .collect();
    assert!(left.is_empty(), "left in the emulator: {left:?}");
}

fn up(env: &str, extra: &[&str]) -> Json {
    let endpoint = pipegen_testkit::moto_endpoint();
    let summary = std::env::temp_dir().join(format!("pipegen-up-{env}-{}.json", std::process::id()));
    let bins = binaries();
    let mut args = vec![
        "up",
        env,
        "--endpoint",
        &endpoint,
        "--summary-json",
        summary.to_str().unwrap(),
        "--workloads-dir",
        bins.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = pipegen(&args);
    assert_eq!(code, 0, "pipegen up {env} failed:\n{out}\n{err}");
    for stage in ["apply", "consume", "etl"] {
        assert!(err.contains(stage), "progress shows the `{stage}` stage:\n{err}");
    }
    assert!(out.contains("nothing lost"), "{out}");
    serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap()
}

fn down(env: &str) {
    let endpoint = pipegen_testkit::moto_endpoint();
    let (code, out, err) = pipegen(&["down", env, "--endpoint", &endpoint]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("nothing of it is left"), "{out}");
    let g = graph(env);
    runtime().block_on(async {
        let em = Emulator::connect(&endpoint, &g.region).await.unwrap();
        nothing_left(&g, &em).await;
    });
}

fn n(v: &Json) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("a count, got {v}"))
}

#[test]
fn flashcommerce_up_matches_the_simulators_ground_truth_and_down_leaves_nothing() {
    let s = up(
        "flashcommerce",
        &["--events", "2000", "--bots", "3", "--faults", "0.03", "--seed", "11"],
    );
    let m = &s["manifest"];
    // Nothing lost: sent = bronze + quarantined; bronze = valid + invalid + duplicates.
    assert_eq!(n(&s["events_sent"]), n(&m["lines"]));
    assert_eq!(
        n(&s["events_sent"]),
        n(&s["bronze_lines"]) + n(&s["quarantined_records"])
    );
    assert_eq!(
        n(&s["bronze_lines"]),
        n(&s["silver_valid"]) + n(&s["invalid"]) + n(&s["duplicates"])
    );
    // Ingest quarantines what is not JSON; the ETL judges the rest.
    let manifest_invalid: BTreeMap<String, u64> = serde_json::from_value(m["invalid_by_reason"].clone()).unwrap();
    assert_eq!(
        n(&s["quarantined_records"]),
        manifest_invalid.get("malformed_json").copied().unwrap_or(0)
    );
    let etl_invalid: BTreeMap<String, u64> = serde_json::from_value(s["invalid_by_reason"].clone()).unwrap();
    let expected: BTreeMap<String, u64> = manifest_invalid
        .iter()
        .filter(|(k, _)| *k != "malformed_json")
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_eq!(etl_invalid, expected);
    assert_eq!(n(&s["duplicates"]), n(&m["duplicates"]));
    let valid: u64 = m["valid_by_type"].as_object().unwrap().values().map(n).sum();
    assert_eq!(n(&s["silver_valid"]), valid);
    // The manifest's bots, each flagged once, with one alert each.
    let bots: BTreeSet<(String, i64, u64)> = m["bots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["user_id"].as_str().unwrap().to_string(),
                b["window_start"].as_i64().unwrap(),
                n(&b["actions"]),
            )
        })
        .collect();
    assert_eq!(bots.len(), 3);
    let detected: BTreeSet<(String, i64, u64)> = serde_json::from_value(s["detections"].clone()).unwrap();
    assert_eq!(detected, bots);
    assert_eq!(n(&s["alerts_received"]), 3);
    // Every mapping processed every record, nothing to the on-failure queue.
    for (id, stats) in s["mappings"].as_object().unwrap() {
        assert_eq!(n(&stats["records"]), n(&s["events_sent"]), "{id}");
        assert_eq!(n(&stats["records_to_on_failure"]), 0, "{id}");
    }
    // Gold tables in S3 (rows reported by the ETL) and in the catalog.
    let gold = s["gold_rows"].as_object().unwrap();
    assert_eq!(gold.len(), 15);
    assert!(n(&gold["event_counts"]) > 0 && n(&gold["product_metrics"]) > 0 && n(&gold["city_sales"]) > 0);
    let tables: BTreeSet<String> = serde_json::from_value(s["catalog_tables"].clone()).unwrap();
    for t in gold.keys() {
        assert!(tables.contains(t), "{t} in the Glue catalog: {tables:?}");
    }
    assert!(tables.contains("silver_events") && tables.contains("invalid_events"));

    // The analysts' side on the same lake: a named query through the ETL's
    // SQL engine, reading the Parquet back from S3, agrees to the cent and in
    // order with the city totals the ETL reported when it wrote geo_heatmap.
    let endpoint = pipegen_testkit::moto_endpoint();
    let bins = binaries();
    let (code, out, err) = pipegen(&[
        "query",
        "flashcommerce",
        "revenue_by_city",
        "--local",
        "--endpoint",
        &endpoint,
        "--workloads-dir",
        bins.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let r: Json = serde_json::from_str(&out).unwrap();
    let rows = r["rows"].as_array().unwrap();
    let highlights = s["highlights"]["revenue_by_city"].as_array().unwrap();
    assert_eq!(highlights.len(), 5);
    for (h, row) in highlights.iter().zip(rows) {
        let h = h.as_str().unwrap();
        let words: Vec<&str> = h[32..].split_whitespace().collect();
        assert_eq!(row[0].as_str().unwrap(), h[..32].trim(), "{h} vs {row:?}");
        // The same rounded total, read back through another engine: equal to the cent.
        let shown: f64 = words[0].parse().unwrap();
        assert!((row[5].as_f64().unwrap() - shown).abs() < 0.005, "{h} vs {row:?}");
        assert_eq!(row[6].as_i64().unwrap().to_string(), words[2], "{h} vs {row:?}");
    }
    let (code, out, err) = pipegen(&[
        "query",
        "flashcommerce",
        "top_products_per_seller",
        "--local",
        "--endpoint",
        &endpoint,
        "--workloads-dir",
        bins.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "a missing parameter is the user's to fix: {out}{err}");
    assert!(err.contains("needs --param seller_id=VALUE"), "{err}");

    // The dashboard: one offline HTML file whose six views a real browser
    // lays out with something drawn in each (the page marks each view
    // `data-rendered` from the layout it gets); a screenshot is kept.
    let artifacts = root().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let page = artifacts.join("dashboard.html");
    let (code, out, err) = pipegen(&[
        "dashboard",
        "flashcommerce",
        "--endpoint",
        &endpoint,
        "--workloads-dir",
        bins.to_str().unwrap(),
        "--out",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("6 views (6 with data)"), "{out}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing loads from the network"
    );
    let total: f64 = rows.iter().map(|r| r[5].as_f64().unwrap()).sum();
    // The whole currency units, thousands grouped (either side of a rounding
    // boundary: the page's sum is polars', this one is added here).
    let grouped = |x: f64| -> String {
        let digits = format!("{}", x.round() as i64);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    let candidates = [grouped(total - 0.01), grouped(total + 0.01)];
    assert!(
        candidates.iter().any(|c| html.contains(&format!(">{c}<"))),
        "total revenue {candidates:?} (the query's cities summed) on the page"
    );
    let dom = chromium(&page, &artifacts.join("dashboard.png"));
    for view in [
        "total_revenue",
        "revenue_by_city",
        "funnel",
        "profit_by_category",
        "latest_orders",
        "margin",
    ] {
        let tag = dom
            .split('<')
            .find(|t| t.contains(&format!("data-view=\"{view}\"")))
            .unwrap_or_else(|| panic!("{view} in the rendered page"));
        assert!(tag.contains("data-rendered=\"true\""), "{view} was not drawn: {tag}");
    }
    let png = std::fs::read(artifacts.join("dashboard.png")).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a screenshot with content"
    );
    down("flashcommerce");
}

/// Headless Chromium (Debian's package; scripts/test.sh installs it): the DOM
/// after scripts ran, and a screenshot.
fn chromium(page: &Path, screenshot: &Path) -> String {
    let browser = std::env::var("PIPEGEN_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let profile = std::env::temp_dir().join(format!("pipegen-chromium-{}", std::process::id()));
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,1400",
    ];
    let url = format!("file://{}", page.display());
    let run = |extra: &str| {
        std::process::Command::new(&browser)
            .args(flags)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(extra)
            .arg(&url)
            .output()
            .unwrap_or_else(|e| {
                panic!("{browser}: {e} (scripts/test.sh installs Debian's chromium; or set PIPEGEN_CHROMIUM)")
            })
    };
    let shot = run(&format!("--screenshot={}", screenshot.display()));
    assert!(shot.status.success(), "{}", String::from_utf8_lossy(&shot.stderr));
    let dom = run("--dump-dom");
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let _ = std::fs::remove_dir_all(&profile);
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

/// Users with more than `threshold` actions in one 10-second window of the
/// sample, computed straight from the CSV.
fn sample_bots(csv: &Path, threshold: usize) -> BTreeSet<(String, i64, u64)> {
    let mut counts: BTreeMap<(String, i64), u64> = BTreeMap::new();
    let mut rdr = csv::Reader::from_path(csv).unwrap();
    for row in rdr.records() {
        let row = row.unwrap();
        let t = chrono::NaiveDateTime::parse_from_str(row[0].trim_end_matches(" UTC"), "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp();
        *counts.entry((row[7].to_string(), t - t.rem_euclid(10))).or_default() += 1;
    }
    counts
        .into_iter()
        .filter(|(_, c)| *c as usize > threshold)
        .map(|((u, w), c)| (u, w, c))
        .collect()
}

#[test]
fn rees46_replay_up_matches_the_sample() {
    let csv = root().join("../shared/data/rees46-2019-oct-sample.csv");
    let s = up("rees46", &["--replay", csv.to_str().unwrap()]);
    // The data README's counts: 1,000 rows, all valid.
    assert_eq!(n(&s["events_sent"]), 1000);
    assert_eq!(n(&s["bronze_lines"]), 1000);
    assert_eq!(n(&s["quarantined_records"]), 0);
    assert_eq!(n(&s["silver_valid"]), 1000);
    assert_eq!(n(&s["invalid"]) + n(&s["duplicates"]), 0);
    let detected: BTreeSet<(String, i64, u64)> = serde_json::from_value(s["detections"].clone()).unwrap();
    let expected = sample_bots(&csv, 10);
    // (The sample has none: its users act a few times a minute at most. The
    // simulator's bots are checked in the flashcommerce test.)
    assert_eq!(detected, expected);
    assert_eq!(n(&s["alerts_received"]), expected.len() as u64);
    assert_eq!(s["gold_rows"].as_object().unwrap().len(), 15);
    down("rees46");
}

#[test]
fn apply_twice_changes_nothing_and_destroy_cleans_a_half_applied_environment() {
    let endpoint = pipegen_testkit::moto_endpoint();
    let env = "tenant-globex";
    let (code, out, err) = pipegen(&["apply", env, "--local", "--endpoint", &endpoint]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("created"), "{out}");
    let (code, out, _) = pipegen(&["apply", env, "--local", "--endpoint", &endpoint]);
    assert_eq!(code, 0);
    assert!(out.contains("no changes"), "{out}");
    let (_, plan, _) = pipegen(&["plan", env, "--local", "--endpoint", &endpoint, "--output", "json"]);
    let plan: Vec<Json> = serde_json::from_str(&plan).unwrap();
    assert!(
        plan.iter()
            .all(|p| p["action"] == "unchanged" || p["action"] == "not_emulated"),
        "{plan:?}"
    );
    // A drifted setting is planned as exactly that update.
    let g = graph(env);
    runtime().block_on(async {
        let em = Emulator::connect(&endpoint, &g.region).await.unwrap();
        let stream = g.resources.iter().find(|r| r.kind == Kind::Stream).unwrap();
        em.kinesis
            .increase_stream_retention_period()
            .stream_name(stream.name.as_deref().unwrap())
            .retention_period_hours(72)
            .send()
            .await
            .unwrap();
        let plan = local::plan(&g, &em).await.unwrap();
        let changed: Vec<_> = plan
            .iter()
            .filter(|p| p.change != Change::Unchanged && !matches!(p.change, Change::NotEmulated { .. }))
            .collect();
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert_eq!(changed[0].id, stream.id);
        assert_eq!(
            changed[0].change,
            Change::Update {
                settings: vec!["retention_hours".into()]
            }
        );
        // Half-applied: destroy, then apply only the first half of the graph.
        local::destroy(&g, &em, |_| {}).await.unwrap();
        let mut half = g.clone();
        half.resources.truncate(g.resources.len() / 2);
        local::apply(&half, &em, |_| {}).await.unwrap();
        let lake = g
            .resources
            .iter()
            .find(|r| r.kind == Kind::Bucket)
            .unwrap()
            .name
            .clone()
            .unwrap();
        for i in 0..30 {
            em.s3
                .put_object()
                .bucket(&lake)
                .key(format!("bronze/x/{}.json", i % 10))
                .body(vec![b'x'; 10].into())
                .send()
                .await
                .unwrap();
        }
    });
    let (code, out, err) = pipegen(&["destroy", env, "--local", "--endpoint", &endpoint]);
    assert_eq!(code, 0, "{out}{err}");
    runtime().block_on(async {
        let em = Emulator::connect(&endpoint, &g.region).await.unwrap();
        nothing_left(&g, &em).await;
    });
}

/// Puts `lines` on the stream through the simulator's sink, keyed by user as
/// producers do (a user's window lives on one shard).
async fn put(em: &Emulator, stream: &str, lines: &[String]) {
    let lines = lines.iter().map(|l| {
        let user = serde_json::from_str::<Json>(l).unwrap()["user_id"]
            .as_str()
            .unwrap()
            .to_string();
        pipegen_simulator::Line {
            text: l.clone(),
            user_id: Some(user.clone()),
            time_micros: 0,
            partition_key: user,
        }
    });
    let n = lines.len() as u64;
    let sent =
        pipegen_simulator::sink::to_kinesis(&em.kinesis, stream, lines, pipegen_simulator::sink::Retry::default())
            .await
            .unwrap();
    assert_eq!(sent, n);
}

fn event(user: &str, t: i64, i: usize) -> String {
    let time = chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    serde_json::json!({
        "event_id": format!("e-{user}-{i}"), "event_time": time, "event_type": "view", "user_id": user,
        "session_id": "s1", "product_id": "P1", "product_name": "laptop", "category": "electronics",
        "price": 100.0, "quantity": 1, "seller_id": "S1", "city": "Delhi", "payment_type": "upi"
    })
    .to_string()
}

/// The workload binaries `cargo test --workspace` built next to this test
/// (building them here with other features would rebuild shared crates).
fn binaries() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    for w in ["ingest", "detector", "simulator", "etl"] {
        assert!(
            dir.join(w).exists(),
            "{} is missing: run `cargo test --workspace`",
            dir.join(w).display()
        );
    }
    dir
}

/// Where `consume` has the function's output written.
fn logs_of(mapping: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pipegen-test-logs-{}-{mapping}", std::process::id()))
}

/// Waits until the function's log shows a failed invocation (so a fault is
/// lifted only after it was hit, however loaded the machine is).
async fn until_a_failure_is_logged(mapping: &str, workload: &str) {
    let log = logs_of(mapping).join(format!("{workload}.log"));
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("ERROR") {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "no failure in {}",
            log.display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The runner's pollers for the environment, the function hosts they drive,
/// with `during` run while they consume `lines`.
async fn consume<F: std::future::Future<Output = ()>>(
    g: &ResourceGraph,
    em: &Emulator,
    mapping: &str,
    lines: &[String],
    during: F,
) -> pipegen::runner::MappingStats {
    let logs = logs_of(mapping);
    let _ = std::fs::remove_dir_all(&logs);
    let mut runner = Runner::new(g, em, &binaries(), &logs).unwrap();
    let (spec, function) = runner.mappings.iter().find(|(s, _)| s.id == mapping).cloned().unwrap();
    let mut host = runner.functions.remove(&function).unwrap();
    let mut poller = Poller::open(
        spec.clone(),
        em,
        WindowClock::EventTime(pipegen_events::SourceFormat::Flashcommerce),
        aws_env(em),
        None,
    )
    .await
    .unwrap();
    put(em, &spec.stream_name, lines).await;
    // Everything is on the stream: the poller delivers at once (no batching
    // window) while `during` changes the world under it.
    let done = Arc::new(AtomicBool::new(true));
    let em2 = em.clone();
    let task = tokio::spawn(async move {
        poller
            .drain(&em2, &mut host, || done.load(Ordering::SeqCst))
            .await
            .unwrap();
        poller.stats
    });
    during.await;
    task.await.unwrap()
}

#[test]
fn the_detector_retries_while_its_table_is_missing_and_alerts_exactly_once() {
    let endpoint = pipegen_testkit::moto_endpoint();
    let env = "tenant-acme";
    let g = graph(env);
    runtime().block_on(async {
        let em = Emulator::connect(&endpoint, &g.region).await.unwrap();
        local::destroy(&g, &em, |_| {}).await.unwrap();
        local::apply(&g, &em, |_| {}).await.unwrap();
        let table = g
            .resources
            .iter()
            .find(|r| r.kind == Kind::DynamoTable)
            .unwrap()
            .name
            .clone()
            .unwrap();
        let topic = g.resources.iter().find(|r| r.kind == Kind::Topic).unwrap();
        // An inbox for the alerts.
        let inbox = em
            .sqs
            .create_queue()
            .queue_name("acme-test-inbox")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        let cx = local::Ctx { graph: &g, em: &em };
        em.sns
            .subscribe()
            .topic_arn(cx.arn_of(&topic.id))
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:{}:{}:acme-test-inbox", em.region, em.account))
            .send()
            .await
            .unwrap();
        em.dynamodb.delete_table().table_name(&table).send().await.unwrap();
        // A bot with 14 actions in one window, and a quiet user.
        let t0 = chrono::Utc::now().timestamp() / 10 * 10 - 600;
        let mut lines: Vec<String> = (0..14).map(|i| event("UBOT", t0 + 1, i)).collect();
        lines.extend((0..5).map(|i| event("UQUIET", t0 + 2, i)));
        // The next window closes the first (on each user's shard).
        lines.push(event("UBOT", t0 + 40, 98));
        lines.push(event("UQUIET", t0 + 40, 99));
        let (g2, em2) = (g.clone(), em.clone());
        let stats = consume(&g, &em, "DetectorEventSourceMapping", &lines, async move {
            until_a_failure_is_logged("DetectorEventSourceMapping", "detector").await;
            local::apply(&g2, &em2, |_| {}).await.unwrap(); // the table is back
        })
        .await;
        assert!(
            stats.function_errors >= 1,
            "the missing table failed invocations: {stats:?}"
        );
        assert_eq!(stats.records_to_on_failure, 0, "{stats:?}");
        let items = em.dynamodb.scan().table_name(&table).send().await.unwrap();
        assert_eq!(items.count(), 1, "one detection: {:?}", items.items());
        assert_eq!(items.items()[0]["user_id"].as_s().unwrap(), "UBOT");
        let msgs = em
            .sqs
            .receive_message()
            .queue_url(&inbox)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        assert_eq!(msgs.messages().len(), 1, "exactly one alert");
        em.sqs.delete_queue().queue_url(&inbox).send().await.unwrap();
        local::destroy(&g, &em, |_| {}).await.unwrap();
        nothing_left(&g, &em).await;
    });
}

#[test]
fn ingest_retries_while_s3_refuses_writes_and_loses_nothing() {
    let endpoint = pipegen_testkit::moto_endpoint();
    let env = "student-rap7777";
    let g = graph(env);
    runtime().block_on(async {
        let em = Emulator::connect(&endpoint, &g.region).await.unwrap();
        local::destroy(&g, &em, |_| {}).await.unwrap();
        local::apply(&g, &em, |_| {}).await.unwrap();
        let lake = g
            .resources
            .iter()
            .find(|r| r.kind == Kind::Bucket && r.properties["purpose"] == "lake")
            .unwrap()
            .name
            .clone()
            .unwrap();
        // The emulator enforces bucket policies: deny every write for a while.
        // (Over plain HTTP, a TLS-only statement denies; moto evaluates it.)
        let deny = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
            "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{lake}/*"),
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
        em.s3
            .put_bucket_policy()
            .bucket(&lake)
            .policy(deny.to_string())
            .send()
            .await
            .unwrap();
        let t0 = chrono::Utc::now().timestamp();
        let lines: Vec<String> = (0..250)
            .map(|i| event(&format!("U{}", i % 40), t0 + i as i64, i))
            .collect();
        let (em2, lake2) = (em.clone(), lake.clone());
        let stats = consume(&g, &em, "IngestEventSourceMapping", &lines, async move {
            until_a_failure_is_logged("IngestEventSourceMapping", "ingest").await;
            em2.s3.delete_bucket_policy().bucket(&lake2).send().await.unwrap();
        })
        .await;
        assert!(
            stats.partial_failures + stats.function_errors >= 1,
            "writes were refused: {stats:?}"
        );
        assert_eq!(stats.records_to_on_failure, 0, "{stats:?}");
        assert_eq!(stats.records, 250);
        let objects = pipegen_testkit::gz_objects(&em.s3, &lake, "bronze/events/").await;
        let mut ids: Vec<String> = objects
            .iter()
            .flat_map(|(_, lines)| lines.iter())
            .map(|l| {
                serde_json::from_str::<Json>(l).unwrap()["event_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 250, "every event landed in bronze");
        local::destroy(&g, &em, |_| {}).await.unwrap();
        nothing_left(&g, &em).await;
    });
}

/// Ingests `lines` with the base environment's ingest mapping; when `kill_after_first_batch`,
/// the runner is killed (its task aborted, the function process killed, perhaps
/// mid-invocation) as soon as it has checkpointed once, and a new runner resumes
/// from the checkpoint. Then the ETL runs; its report is returned.
async fn ingest_then_etl(g: &ResourceGraph, em: &Emulator, lines: &[String], kill_after_first_batch: bool) -> Json {
    local::destroy(g, em, |_| {}).await.unwrap();
    local::apply(g, em, |_| {}).await.unwrap();
    let dir = std::env::temp_dir().join(format!(
        "pipegen-restart-{}-{kill_after_first_batch}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let checkpoints = dir.join("checkpoints.json");
    let mut runner = Runner::new(g, em, &binaries(), &dir.join("logs")).unwrap();
    let (spec, function) = runner
        .mappings
        .iter()
        .find(|(s, _)| s.id == "IngestEventSourceMapping")
        .cloned()
        .unwrap();
    put(em, &spec.stream_name, lines).await;
    let clock = WindowClock::Arrival;
    if kill_after_first_batch {
        let mut host = runner.functions.remove(&function).unwrap();
        let mut poller = Poller::open(spec.clone(), em, clock, aws_env(em), Some(checkpoints.clone()))
            .await
            .unwrap();
        let em2 = em.clone();
        let task = tokio::spawn(async move {
            poller.drain(&em2, &mut host, || true).await.unwrap();
        });
        let start = std::time::Instant::now();
        while !checkpoints.exists() && start.elapsed() < std::time::Duration::from_secs(60) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        task.abort();
        assert!(task.await.is_err(), "the first runner was killed before it finished");
        runner = Runner::new(g, em, &binaries(), &dir.join("logs")).unwrap();
    }
    let mut host = runner.functions.remove(&function).unwrap();
    let mut poller = Poller::open(spec, em, clock, aws_env(em), Some(checkpoints.clone()))
        .await
        .unwrap();
    poller.drain(em, &mut host, || true).await.unwrap();
    let out = runner.run_job(em, &["--json".to_string()]).await.unwrap();
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_runner_killed_mid_stream_and_restarted_loses_nothing_and_counts_once() {
    let endpoint = pipegen_testkit::moto_endpoint();
    let g = graph("base");
    let t0 = chrono::Utc::now().timestamp() - 3600;
    let lines: Vec<String> = (0..1500)
        .map(|i| event(&format!("U{}", i % 60), t0 + i as i64 / 5, i))
        .collect();
    runtime().block_on(async {
        let em = Emulator::connect(&endpoint, &g.region).await.unwrap();
        let whole = ingest_then_etl(&g, &em, &lines, false).await;
        let restarted = ingest_then_etl(&g, &em, &lines, true).await;
        for r in [&whole, &restarted] {
            let t = &r["totals"];
            assert_eq!(r["reconciled"], true);
            assert_eq!(n(&t["valid"]), 1500, "every event once in silver: {t}");
            assert_eq!(n(&t["invalid"]), 0);
            assert_eq!(n(&t["lines"]), n(&t["valid"]) + n(&t["duplicates"]));
        }
        // Whatever the restart re-delivered is a duplicate, and gold is the
        // same as after the uninterrupted run.
        assert_eq!(n(&whole["totals"]["duplicates"]), 0);
        assert_eq!(whole["gold_rows"], restarted["gold_rows"]);
        assert_eq!(whole["highlights"], restarted["highlights"]);
        assert_eq!(whole["silver_rows"], restarted["silver_rows"]);
        local::destroy(&g, &em, |_| {}).await.unwrap();
        nothing_left(&g, &em).await;
    });
}
