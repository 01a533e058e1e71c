//! The ingest handler against a real S3 API (the moto server that
//! localstack/moto.sh starts), fed with Kinesis events built from records read
//! back from the emulator's Kinesis, as Lambda would deliver them.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_kinesis::primitives::Blob;
use base64::Engine;
use pipegen_ingest::{Config, handle};
use serde_json::json;

async fn aws() -> aws_config::SdkConfig {
    pipegen_testkit::moto().await
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Puts payloads on a new stream and reads them back as one Lambda event.
async fn kinesis_event(aws: &aws_config::SdkConfig, payloads: &[Vec<u8>]) -> KinesisEvent {
    let k = aws_sdk_kinesis::Client::new(aws);
    let stream = unique("events");
    k.create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let mut entries = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        entries.push(
            aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                .data(Blob::new(p.clone()))
                .partition_key(format!("pk{}", i % 3))
                .build()
                .unwrap(),
        );
    }
    let put = k
        .put_records()
        .stream_name(&stream)
        .set_records(Some(entries))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_record_count(), Some(0));
    let shards = k.list_shards().stream_name(&stream).send().await.unwrap();
    let shard = shards.shards()[0].shard_id().to_string();
    let it = k
        .get_shard_iterator()
        .stream_name(&stream)
        .shard_id(&shard)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap();
    let got = k
        .get_records()
        .shard_iterator(it.shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    let records: Vec<_> = got
        .records()
        .iter()
        .map(|r| {
            json!({
                "eventID": format!("{shard}:{}", r.sequence_number()),
                "eventSource": "aws:kinesis",
                "kinesis": {
                    "approximateArrivalTimestamp": r.approximate_arrival_timestamp().unwrap().as_secs_f64(),
                    "data": base64::engine::general_purpose::STANDARD.encode(r.data().as_ref()),
                    "partitionKey": r.partition_key(),
                    "sequenceNumber": r.sequence_number(),
                    "kinesisSchemaVersion": "1.0",
                }
            })
        })
        .collect();
    assert_eq!(records.len(), payloads.len());
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

async fn objects(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<(String, Vec<String>)> {
    pipegen_testkit::gz_objects(s3, bucket, prefix).await
}

fn s3_client(aws: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(aws).force_path_style(true).build())
}

fn payloads(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            if i % 10 == 7 {
                format!("{{broken json {i}").into_bytes()
            } else {
                json!({"event_id": format!("ev-{i}"), "event_time": "2025-10-23T10:00:00Z", "event_type": "view", "user_id": format!("U{:04}", i % 50)})
                    .to_string()
                    .into_bytes()
            }
        })
        .collect()
}

#[tokio::test]
async fn stores_every_event_once_and_quarantines_the_rest() {
    let aws = aws().await;
    let s3 = s3_client(&aws);
    let bucket = unique("lake");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let cfg = Config {
        bucket: bucket.clone(),
        bronze_prefix: "bronze/events/".into(),
        quarantine_prefix: "bronze/_quarantine/".into(),
        environment: "test".into(),
    };
    let sent = payloads(100);
    let event = kinesis_event(&aws, &sent).await;

    let response = handle(event.clone(), &s3, &cfg).await;
    assert!(response.batch_item_failures.is_empty());
    let bronze = objects(&s3, &bucket, "bronze/events/").await;
    let quarantine = objects(&s3, &bucket, "bronze/_quarantine/").await;
    let stored: Vec<&String> = bronze.iter().flat_map(|(_, l)| l).collect();
    assert_eq!(stored.len(), 90, "every valid event stored");
    assert_eq!(
        quarantine.iter().map(|(_, l)| l.len()).sum::<usize>(),
        10,
        "every malformed payload quarantined"
    );
    for i in (0..100).filter(|i| i % 10 != 7) {
        let id = format!("\"event_id\":\"ev-{i}\"");
        assert_eq!(
            stored.iter().filter(|l| l.contains(&id)).count(),
            1,
            "ev-{i} stored exactly once"
        );
    }
    for (key, _) in &bronze {
        assert!(key.contains("/year=") && key.ends_with(".jsonl.gz"), "{key}");
    }

    // Re-delivery of the same batch overwrites the same objects.
    let again = handle(event, &s3, &cfg).await;
    assert!(again.batch_item_failures.is_empty());
    let bronze_again = objects(&s3, &bucket, "bronze/events/").await;
    assert_eq!(
        bronze_again, bronze,
        "a re-delivered batch adds no objects and no lines"
    );
}

#[tokio::test]
async fn an_s3_failure_reports_the_lowest_unstored_sequence_and_a_retry_completes() {
    let aws = aws().await;
    let s3 = s3_client(&aws);
    let bucket = unique("lake-gone");
    let cfg = Config {
        bucket: bucket.clone(),
        bronze_prefix: "bronze/events/".into(),
        quarantine_prefix: "bronze/_quarantine/".into(),
        environment: "test".into(),
    };
    let sent: Vec<Vec<u8>> = payloads(30)
        .into_iter()
        .filter(|p| p[0] == b'{' && p[1] == b'"')
        .collect();
    let event = kinesis_event(&aws, &sent).await;
    let first_seq = event.records[0].kinesis.sequence_number.clone();

    // The bucket does not exist (removed mid-flight): nothing is stored, and
    // Lambda is told to retry from the first record.
    let response = handle(event.clone(), &s3, &cfg).await;
    let failures: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(failures, vec![first_seq.clone()]);

    // Lambda retries from the reported sequence number; now the bucket exists.
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let mut retry = event.clone();
    retry
        .records
        .retain(|r| r.kinesis.sequence_number.len() > first_seq.len() || r.kinesis.sequence_number >= first_seq);
    let response = handle(retry, &s3, &cfg).await;
    assert!(response.batch_item_failures.is_empty());
    let stored: usize = objects(&s3, &bucket, "bronze/events/")
        .await
        .iter()
        .map(|(_, l)| l.len())
        .sum();
    assert_eq!(stored, sent.len(), "nothing lost");
}
