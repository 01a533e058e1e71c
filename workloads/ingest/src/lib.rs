//! The ingest Lambda: Kinesis records -> S3 bronze (spec/realtime.md).
//!
//! The work is split so that the interesting part is a pure function:
//! [`plan`] turns a batch into the objects to write (bronze events grouped per
//! Hive partition of arrival time, and quarantined payloads), and [`handle`]
//! writes them in sequence order and reports partial batch failure with the
//! lowest sequence number that was not stored. `main` only wires
//! `lambda_runtime`.
//!
//! Keys are functions of the batch's sequence numbers, so a re-delivered batch
//! overwrites the same objects instead of duplicating them (the original wrote
//! one object per record, keyed by the Lambda's clock).

use std::io::Write;

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use base64::Engine;
use chrono::{DateTime, Datelike, Timelike, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use pipegen_events::metrics as m;
use pipegen_events::payload::{Payload, split};

/// Where bronze goes; from the environment variables the renderer sets.
#[derive(Clone, Debug)]
pub struct Config {
    pub bucket: String,
    /// `bronze/events/`
    pub bronze_prefix: String,
    /// `bronze/_quarantine/`
    pub quarantine_prefix: String,
    /// The pipegen environment, the metrics' dimension.
    pub environment: String,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let var = |k: &str| std::env::var(k).map_err(|_| format!("environment variable {k} is not set"));
        Ok(Config {
            bucket: var("LAKE_BUCKET")?,
            bronze_prefix: std::env::var("BRONZE_PREFIX").unwrap_or_else(|_| "bronze/events/".into()),
            quarantine_prefix: std::env::var("QUARANTINE_PREFIX").unwrap_or_else(|_| "bronze/_quarantine/".into()),
            environment: std::env::var("PIPEGEN_ENVIRONMENT").unwrap_or_else(|_| "unknown".into()),
        })
    }
}

/// One object to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedObject {
    pub key: String,
    /// JSON lines, uncompressed.
    pub lines: Vec<String>,
    /// Sequence number of the first Kinesis record in this object (the one
    /// to report when the write fails).
    pub first_sequence: String,
    pub quarantine: bool,
}

/// What a batch becomes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Ordered by the first sequence number they contain.
    pub objects: Vec<PlannedObject>,
    pub records: usize,
    pub bytes: usize,
    pub events: usize,
    pub quarantined: usize,
}

/// Groups a batch into bronze and quarantine objects. Records of one shard
/// arrive in sequence order; arrival times only grow with it, so each Hive
/// partition of a batch is a contiguous run of records.
pub fn plan(event: &KinesisEvent, cfg: &Config) -> Plan {
    let mut plan = Plan::default();
    // (partition path, quarantine?) -> index in plan.objects
    let mut open: Vec<((String, bool), usize)> = Vec::new();
    let mut last_seq: Vec<String> = Vec::new();
    for rec in &event.records {
        plan.records += 1;
        let data = &rec.kinesis.data.0;
        plan.bytes += data.len();
        let seq = rec.kinesis.sequence_number.clone();
        let arrival: DateTime<Utc> = rec.kinesis.approximate_arrival_timestamp.0;
        let shard = shard_of(rec);
        let meta = format!(
            "\"_arrival_time\":\"{}\",\"_shard_id\":\"{}\",\"_sequence_number\":\"{}\"",
            arrival.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            shard,
            seq
        );
        let mut push = |line: String, quarantine: bool, plan: &mut Plan| {
            let partition = partition_path(&arrival);
            let idx = match open.iter().find(|(k, _)| k.0 == partition && k.1 == quarantine) {
                Some((_, i)) => *i,
                None => {
                    plan.objects.push(PlannedObject {
                        key: partition.clone(),
                        lines: Vec::new(),
                        first_sequence: seq.clone(),
                        quarantine,
                    });
                    last_seq.push(seq.clone());
                    open.push(((partition, quarantine), plan.objects.len() - 1));
                    plan.objects.len() - 1
                }
            };
            plan.objects[idx].lines.push(line);
            last_seq[idx] = seq.clone();
        };
        for payload in split(data) {
            match payload {
                Payload::Json(text) => {
                    plan.events += 1;
                    push(with_metadata(&text, &meta), false, &mut plan);
                }
                Payload::Bad {
                    bytes,
                    sub_index,
                    reason,
                } => {
                    plan.quarantined += 1;
                    let line = serde_json::json!({
                        "sequence_number": seq,
                        "sub_index": sub_index,
                        "shard_id": shard,
                        "arrival_time": arrival.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                        "reason": reason,
                        "data_base64": base64::engine::general_purpose::STANDARD.encode(bytes),
                    })
                    .to_string();
                    push(line, true, &mut plan);
                }
            }
        }
    }
    for (i, obj) in plan.objects.iter_mut().enumerate() {
        let prefix = if obj.quarantine {
            &cfg.quarantine_prefix
        } else {
            &cfg.bronze_prefix
        };
        let shard = event.records.first().map(shard_of).unwrap_or_default();
        obj.key = format!(
            "{prefix}{}{}-{}-{}.jsonl.gz",
            obj.key, shard, obj.first_sequence, last_seq[i]
        );
    }
    plan.objects
        .sort_by(|a, b| seq_cmp(&a.first_sequence, &b.first_sequence).then(a.quarantine.cmp(&b.quarantine)));
    plan
}

/// Kinesis sequence numbers are decimal strings of up to 128 bits: compare
/// by length, then lexically.
fn seq_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn shard_of(rec: &KinesisEventRecord) -> String {
    rec.event_id
        .as_deref()
        .and_then(|id| id.split(':').next())
        .filter(|s| !s.is_empty())
        .unwrap_or("shardId-unknown")
        .to_string()
}

fn partition_path(t: &DateTime<Utc>) -> String {
    format!(
        "year={:04}/month={:02}/day={:02}/hour={:02}/",
        t.year(),
        t.month(),
        t.day(),
        t.hour()
    )
}

/// A JSON object with the ingest metadata appended as its last members; the
/// event's own bytes are kept exactly as they arrived.
fn with_metadata(object: &str, meta: &str) -> String {
    let trimmed = object.trim_end();
    let body = &trimmed[..trimmed.len() - 1]; // drop the closing brace
    let empty = body.trim_end().ends_with('{');
    format!("{}{}{meta}}}", body.trim_end(), if empty { "" } else { "," })
}

/// gzip of the lines, each ending in a newline.
pub fn gzip_lines(lines: &[String]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    for l in lines {
        gz.write_all(l.as_bytes()).expect("writing to memory");
        gz.write_all(b"\n").expect("writing to memory");
    }
    gz.finish().expect("writing to memory")
}

/// Writes a batch. Objects are written in sequence order; at the first failed
/// write, the rest are not attempted and the response names the lowest
/// sequence number not stored, so Lambda retries from there (everything
/// before it is stored and acknowledged; nothing is lost).
pub async fn handle(event: KinesisEvent, s3: &aws_sdk_s3::Client, cfg: &Config) -> KinesisEventResponse {
    let plan = plan(&event, cfg);
    let mut response = KinesisEventResponse::default();
    let mut written = 0usize;
    for obj in &plan.objects {
        let body = gzip_lines(&obj.lines);
        let put = s3
            .put_object()
            .bucket(&cfg.bucket)
            .key(&obj.key)
            .content_type("application/x-ndjson")
            .content_encoding("gzip")
            .body(body.into())
            .send()
            .await;
        if let Err(e) = put {
            tracing::error!(key = %obj.key, error = %aws_sdk_s3::error::DisplayErrorContext(&e), "bronze write failed; reporting partial batch failure");
            let mut failure = KinesisBatchItemFailure::default();
            failure.item_identifier = Some(obj.first_sequence.clone());
            response.batch_item_failures.push(failure);
            break;
        }
        written += 1;
    }
    println!("{}", emf(cfg, &plan, written));
    response
}

/// A CloudWatch Embedded Metric Format log line: CloudWatch turns it into
/// metrics without an API call (moto does not speak the CBOR protocol of
/// recent aws-sdk-cloudwatch crates, and EMF is the idiomatic way in Lambda).
pub fn emf(cfg: &Config, plan: &Plan, objects_written: usize) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": m::NAMESPACE,
                "Dimensions": [["Environment"]],
                "Metrics": [
                    {"Name": m::INGEST_RECORDS, "Unit": "Count"},
                    {"Name": m::INGEST_BYTES, "Unit": "Bytes"},
                    {"Name": m::QUARANTINED_RECORDS, "Unit": "Count"},
                    {"Name": m::OBJECTS_WRITTEN, "Unit": "Count"},
                ],
            }],
        },
        "Environment": cfg.environment,
        m::INGEST_RECORDS: plan.records,
        m::INGEST_BYTES: plan.bytes,
        m::QUARANTINED_RECORDS: plan.quarantined,
        m::OBJECTS_WRITTEN: objects_written,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipegen_events::kpl;
    use serde_json::json;

    fn cfg() -> Config {
        Config {
            bucket: "b".into(),
            bronze_prefix: "bronze/events/".into(),
            quarantine_prefix: "bronze/_quarantine/".into(),
            environment: "test".into(),
        }
    }

    /// A Kinesis event as Lambda delivers it.
    fn event(records: &[(&str, i64, &[u8])]) -> KinesisEvent {
        let recs: Vec<_> = records
            .iter()
            .map(|(seq, arrival, data)| {
                json!({
                    "eventID": format!("shardId-000000000001:{seq}"),
                    "eventSource": "aws:kinesis",
                    "kinesis": {
                        "approximateArrivalTimestamp": arrival,
                        "data": base64::engine::general_purpose::STANDARD.encode(data),
                        "partitionKey": "pk",
                        "sequenceNumber": seq,
                        "kinesisSchemaVersion": "1.0",
                    }
                })
            })
            .collect();
        serde_json::from_value(json!({"Records": recs})).unwrap()
    }

    const H10: i64 = 1_761_213_600; // 2025-10-23T10:00:00Z

    #[test]
    fn groups_by_arrival_hour_with_keys_from_sequence_numbers() {
        let e = event(&[
            ("100", H10 + 1, br#"{"a":1}"#),
            ("101", H10 + 2, b"{\"a\":2}\n{\"a\":3}\n"),
            ("102", H10 + 3600, br#"{"a":4}"#),
        ]);
        let p = plan(&e, &cfg());
        assert_eq!((p.records, p.events, p.quarantined), (3, 4, 0));
        let keys: Vec<&str> = p.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "bronze/events/year=2025/month=10/day=23/hour=10/shardId-000000000001-100-101.jsonl.gz",
                "bronze/events/year=2025/month=10/day=23/hour=11/shardId-000000000001-102-102.jsonl.gz",
            ]
        );
        assert_eq!(
            p.objects[0].lines[0],
            r#"{"a":1,"_arrival_time":"2025-10-23T10:00:01.000Z","_shard_id":"shardId-000000000001","_sequence_number":"100"}"#
        );
        assert_eq!(p.objects[0].lines.len(), 3);
        assert_eq!(plan(&e, &cfg()), p, "same batch, same plan");
    }

    #[test]
    fn bad_payloads_are_quarantined_with_their_reason() {
        let e = event(&[
            ("7", H10, b"{\"ok\":1}\nnot json\n[1,2]"),
            ("8", H10, &[0xff, 0xfe, b'{']),
        ]);
        let p = plan(&e, &cfg());
        assert_eq!((p.events, p.quarantined), (1, 3));
        let q = p.objects.iter().find(|o| o.quarantine).unwrap();
        assert!(
            q.key
                .starts_with("bronze/_quarantine/year=2025/month=10/day=23/hour=10/shardId-000000000001-7-8")
        );
        let reasons: Vec<String> = q
            .lines
            .iter()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["reason"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert!(reasons[0].starts_with("not JSON"), "{reasons:?}");
        assert_eq!(reasons[1], "not a JSON object");
        assert!(reasons[2].starts_with("not UTF-8"));
        let first: serde_json::Value = serde_json::from_str(&q.lines[0]).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(first["data_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(raw, b"not json", "the payload is kept byte for byte");
    }

    #[test]
    fn kpl_aggregates_are_split_and_corrupt_ones_quarantined() {
        let agg = kpl::aggregate(&[
            kpl::UserRecord {
                partition_key: "a".into(),
                data: br#"{"n":1}"#.to_vec(),
            },
            kpl::UserRecord {
                partition_key: "b".into(),
                data: b"{\"n\":2}\n{\"n\":3}".to_vec(),
            },
        ]);
        let mut corrupt = agg.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        let e = event(&[("1", H10, &agg), ("2", H10, &corrupt)]);
        let p = plan(&e, &cfg());
        assert_eq!((p.events, p.quarantined), (3, 1));
        let q = p.objects.iter().find(|o| o.quarantine).unwrap();
        assert!(q.lines[0].contains("kpl: aggregated record fails its MD5 checksum"));
    }

    #[test]
    fn empty_objects_get_metadata_too() {
        assert_eq!(with_metadata("{}", "\"m\":1"), "{\"m\":1}");
        assert_eq!(with_metadata("{ \"a\": 1 }", "\"m\":1"), "{ \"a\": 1,\"m\":1}");
    }

    #[test]
    fn sequence_numbers_compare_numerically() {
        assert_eq!(seq_cmp("9", "10"), std::cmp::Ordering::Less);
        assert_eq!(
            seq_cmp(
                "49590338271490256608559692538361571095921575989136588898",
                "49590338271490256608559692540925702759324208523137515618"
            ),
            std::cmp::Ordering::Less
        );
    }
}
