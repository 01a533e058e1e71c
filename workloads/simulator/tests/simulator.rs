//! The simulator's output against its profile and its own manifest: fixed
//! seeds, distributions within tolerances, reconciliation, bots exactly where
//! the manifest says, and the Kinesis sink against the moto server.

use std::collections::{BTreeMap, HashMap};

use pipegen_events::{Adapter, EventType, Reason, SourceFormat};
use pipegen_simulator::{Generator, Line, Profile, Settings, sink};

fn generate(s: Settings) -> (Vec<Line>, pipegen_simulator::Manifest) {
    let mut g = Generator::new(s);
    let lines: Vec<Line> = g.by_ref().collect();
    (lines, g.manifest().clone())
}

#[test]
fn same_seed_same_events_other_seed_other_events() {
    let a = generate(Settings::new(Profile::Flashcommerce, 2_000, 42)).0;
    let b = generate(Settings::new(Profile::Flashcommerce, 2_000, 42)).0;
    let c = generate(Settings::new(Profile::Flashcommerce, 2_000, 43)).0;
    assert_eq!(a, b);
    assert_ne!(a, c);
}

fn shares(lines: &[Line], format: SourceFormat) -> BTreeMap<EventType, f64> {
    let adapter = Adapter::new(format);
    let mut counts: BTreeMap<EventType, usize> = BTreeMap::new();
    for l in lines {
        *counts
            .entry(adapter.adapt_line(&l.text).unwrap().event_type.unwrap())
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(t, n)| (t, n as f64 / lines.len() as f64))
        .collect()
}

#[test]
fn event_types_follow_the_profile_weights() {
    for (profile, format) in [
        (Profile::Flashcommerce, SourceFormat::Flashcommerce),
        (Profile::Capstone, SourceFormat::Capstone),
    ] {
        let (lines, _) = generate(Settings::new(profile, 40_000, 7));
        let got = shares(&lines, format);
        for (t, w) in profile.event_weights() {
            let share = got.get(t).copied().unwrap_or(0.0);
            assert!((share - w).abs() < 0.015, "{profile:?} {t:?}: {share:.3} vs {w}");
        }
        assert_eq!(got.len(), profile.event_weights().len());
    }
}

#[test]
fn capstone_lines_use_the_capstone_schema() {
    let (lines, _) = generate(Settings::new(Profile::Capstone, 2_000, 3));
    let views = lines
        .iter()
        .filter(|l| l.text.contains("\"event_type\":\"page_view\""))
        .count();
    assert!(views > 800, "{views}");
    assert!(
        lines
            .iter()
            .all(|l| l.text.contains("\"timestamp\":") && l.text.contains("\"user_id\":\"u_"))
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.text.contains("\"search\""))
            .all(|l| l.text.contains("search_query"))
    );
}

#[test]
fn popularity_is_skewed_and_sessions_follow_the_funnel() {
    let (lines, _) = generate(Settings::new(Profile::Flashcommerce, 30_000, 11));
    let adapter = Adapter::new(SourceFormat::Flashcommerce);
    let events: Vec<_> = lines.iter().map(|l| adapter.adapt_line(&l.text).unwrap()).collect();
    let mut per_product: HashMap<String, usize> = HashMap::new();
    for e in &events {
        *per_product.entry(e.product_id.clone().unwrap()).or_default() += 1;
    }
    let mut counts: Vec<usize> = per_product.values().copied().collect();
    counts.sort_unstable();
    assert!(
        counts[counts.len() - 1] > 5 * counts[0],
        "Zipf: top {} vs bottom {}",
        counts[counts.len() - 1],
        counts[0]
    );
    // Within a session, no view comes after a cart or purchase.
    let mut stage: HashMap<String, u8> = HashMap::new();
    for e in &events {
        let s = match e.event_type.unwrap() {
            EventType::View => 0,
            EventType::AddToCart => 1,
            EventType::Purchase => 3,
            _ => continue,
        };
        let key = format!("{}/{}", e.user_id, e.session_id.clone().unwrap());
        let prev = stage.entry(key).or_insert(0);
        assert!(s >= *prev, "funnel order broken in a session");
        *prev = s;
    }
}

#[test]
fn manifest_reconciles_with_the_lines() {
    let mut s = Settings::new(Profile::Flashcommerce, 20_000, 5);
    s.fault_rate = 0.05;
    s.bots = 2;
    let (lines, m) = generate(s);
    assert_eq!(m.lines as usize, lines.len());
    assert_eq!(m.lines, m.events + m.duplicates);
    assert_eq!(m.valid_by_type.values().sum::<u64>() + m.invalid, m.events);
    // What the adapters can see already agrees with the manifest.
    let adapter = Adapter::new(SourceFormat::Flashcommerce);
    let mut adapter_reasons: BTreeMap<Reason, u64> = BTreeMap::new();
    let mut texts: HashMap<&str, u64> = HashMap::new();
    for l in &lines {
        *texts.entry(&l.text).or_default() += 1;
        if let Err(rs) = adapter.adapt_line(&l.text) {
            for r in rs {
                *adapter_reasons.entry(r).or_default() += 1;
            }
        }
    }
    let dup_lines: u64 = texts.values().filter(|n| **n > 1).map(|n| n - 1).sum();
    assert_eq!(dup_lines, m.duplicates, "exact duplicates are exact");
    let dupes_among = |r: Reason| -> u64 {
        // A duplicated faulty line fails twice in the raw lines.
        texts
            .iter()
            .filter(|(t, n)| **n > 1 && adapter.adapt_line(t).err().is_some_and(|rs| rs.contains(&r)))
            .map(|(_, n)| n - 1)
            .sum()
    };
    for r in [Reason::MalformedJson, Reason::MissingUserId] {
        assert_eq!(
            adapter_reasons.get(&r).copied().unwrap_or(0) - dupes_among(r),
            m.invalid_by_reason[r.as_str()],
            "{r}"
        );
    }
    assert!(m.invalid_by_reason.contains_key("unknown_city") && m.invalid_by_reason.contains_key("future_event_time"));
}

/// Actions per (user, window start) over tumbling windows of event time.
fn windows(lines: &[Line], window: i64) -> HashMap<(String, i64), u32> {
    let mut out = HashMap::new();
    for l in lines {
        if let Some(u) = &l.user_id {
            *out.entry((u.clone(), (l.time_micros / 1_000_000).div_euclid(window) * window))
                .or_default() += 1;
        }
    }
    out
}

#[test]
fn bots_are_exactly_the_users_over_the_threshold() {
    let mut s = Settings::new(Profile::Flashcommerce, 30_000, 9);
    s.bots = 4;
    s.fault_rate = 0.02;
    let (lines, m) = generate(s);
    assert_eq!(m.bots.len(), 4);
    let counts = windows(&lines, 10);
    let over: BTreeMap<(String, i64), u32> = counts.into_iter().filter(|(_, n)| *n > 10).collect();
    let expected: BTreeMap<(String, i64), u32> = m
        .bots
        .iter()
        .map(|b| ((b.user_id.clone(), b.window_start), b.actions))
        .collect();
    assert_eq!(over, expected);
}

#[test]
fn file_sink_writes_gzip_json_lines() {
    let path = std::env::temp_dir().join(format!("sim-{}.jsonl.gz", std::process::id()));
    let mut g = Generator::new(Settings::new(Profile::Capstone, 1_000, 1));
    let n = sink::to_file(&path, g.by_ref()).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()),
        &mut text,
    )
    .unwrap();
    assert_eq!(text.lines().count() as u64, n);
    assert_eq!(n, g.manifest().lines);
    std::fs::remove_file(path).unwrap();
}

#[tokio::test]
async fn kinesis_sink_puts_every_record_in_batches() {
    let aws = pipegen_testkit::moto().await;
    let k = aws_sdk_kinesis::Client::new(&aws);
    let stream = format!("sim-{}", std::process::id());
    k.create_stream()
        .stream_name(&stream)
        .shard_count(2)
        .send()
        .await
        .unwrap();
    let mut g = Generator::new(Settings::new(Profile::Flashcommerce, 1_234, 2));
    let lines: Vec<Line> = g.by_ref().collect();
    let sent = sink::to_kinesis(&k, &stream, lines.clone().into_iter(), sink::Retry::default())
        .await
        .unwrap();
    assert_eq!(sent as usize, lines.len());
    // Read everything back from both shards.
    let mut got = Vec::new();
    for shard in k.list_shards().stream_name(&stream).send().await.unwrap().shards() {
        let mut it = k
            .get_shard_iterator()
            .stream_name(&stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator()
            .map(String::from);
        while let Some(i) = it {
            let r = k.get_records().shard_iterator(i).limit(1000).send().await.unwrap();
            if r.records().is_empty() {
                break;
            }
            got.extend(
                r.records()
                    .iter()
                    .map(|r| String::from_utf8(r.data().as_ref().to_vec()).unwrap()),
            );
            it = r.next_shard_iterator().map(String::from);
        }
    }
    let mut want: Vec<String> = lines.into_iter().map(|l| l.text).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "every record arrived, none twice");
}

#[tokio::test]
async fn s3_sink_writes_hive_partitioned_gzip_objects() {
    let aws = pipegen_testkit::moto().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build());
    let bucket = format!("sim-lake-{}", std::process::id());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let mut g = Generator::new(Settings::new(Profile::Capstone, 3_000, 4));
    let lines: Vec<Line> = g.by_ref().collect();
    let n = sink::to_s3(&s3, &bucket, "bronze/events/", 4, lines.clone().into_iter(), 1_000)
        .await
        .unwrap();
    assert_eq!(n as usize, lines.len());
    let mut got = Vec::new();
    for (key, object_lines) in pipegen_testkit::gz_objects(&s3, &bucket, "bronze/events/").await {
        assert!(
            key.contains("/year=2025/month=10/day=23/hour=") && key.ends_with(".jsonl.gz"),
            "{key}"
        );
        // Every line of an object belongs to the object's hour.
        let hour: u32 = key.split("hour=").nth(1).unwrap()[..2].parse().unwrap();
        for l in &object_lines {
            let t = lines.iter().find(|x| &x.text == l).unwrap().time_micros;
            assert_eq!(
                chrono::DateTime::from_timestamp_micros(t)
                    .unwrap()
                    .format("%H")
                    .to_string()
                    .parse::<u32>()
                    .unwrap(),
                hour
            );
            got.push(l.clone());
        }
    }
    let mut want: Vec<String> = lines.into_iter().map(|l| l.text).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
}
