//! Where generated lines go: a local file, S3 bronze (the capstone's gzip JSON
//! lines in Hive partitions) or a Kinesis stream.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use chrono::{DateTime, Datelike, Timelike, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use rand::{Rng, SeedableRng};

use crate::generate::Line;

/// Kinesis PutRecords limits.
pub const MAX_RECORDS_PER_CALL: usize = 500;
pub const MAX_BYTES_PER_CALL: usize = 5 * 1024 * 1024;
/// Kinesis's per-record limit (data plus partition key).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("writing {path}: {source}")]
    File { path: String, source: std::io::Error },
    #[error("S3 put of {key} failed: {message}")]
    S3 { key: String, message: String },
    #[error("{unsent} of {total} records were not accepted by Kinesis before the deadline ({last_error})")]
    KinesisDeadline {
        unsent: usize,
        total: usize,
        last_error: String,
    },
    #[error("a record of {0} bytes is over Kinesis's 1 MiB record limit")]
    RecordTooLarge(usize),
}

/// Writes lines to a file, gzip-compressed when the name ends in `.gz`.
pub fn to_file(path: &Path, lines: impl Iterator<Item = Line>) -> Result<u64, SinkError> {
    let err = |e| SinkError::File {
        path: path.display().to_string(),
        source: e,
    };
    let file = std::io::BufWriter::new(std::fs::File::create(path).map_err(err)?);
    let mut out: Box<dyn Write> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(GzEncoder::new(file, Compression::fast()))
    } else {
        Box::new(file)
    };
    let mut n = 0;
    for l in lines {
        out.write_all(l.text.as_bytes()).map_err(err)?;
        out.write_all(b"\n").map_err(err)?;
        n += 1;
    }
    out.flush().map_err(err)?;
    drop(out);
    Ok(n)
}

/// The bronze key of a chunk: Hive partitions of the events' hour.
pub fn bronze_key(prefix: &str, hour_micros: i64, seed: u64, part: usize) -> String {
    let t = DateTime::<Utc>::from_timestamp_micros(hour_micros).unwrap_or_default();
    format!(
        "{prefix}year={:04}/month={:02}/day={:02}/hour={:02}/sim-{seed}-{part:05}.jsonl.gz",
        t.year(),
        t.month(),
        t.day(),
        t.hour()
    )
}

/// Writes lines straight to S3 bronze: one gzip JSON lines object per event
/// hour and chunk of `lines_per_object`.
pub async fn to_s3(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    seed: u64,
    lines: impl Iterator<Item = Line>,
    lines_per_object: usize,
) -> Result<u64, SinkError> {
    let mut by_hour: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    let mut part = 0usize;
    let mut n = 0u64;
    let hour = |t: i64| t.div_euclid(3_600_000_000) * 3_600_000_000;
    for l in lines {
        n += 1;
        let h = hour(l.time_micros);
        let buf = by_hour.entry(h).or_default();
        buf.push(l.text);
        if buf.len() >= lines_per_object {
            let full = std::mem::take(buf);
            put_chunk(s3, bucket, &bronze_key(prefix, h, seed, part), &full).await?;
            part += 1;
        }
    }
    for (h, buf) in by_hour.into_iter().filter(|(_, b)| !b.is_empty()) {
        put_chunk(s3, bucket, &bronze_key(prefix, h, seed, part), &buf).await?;
        part += 1;
    }
    Ok(n)
}

async fn put_chunk(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, lines: &[String]) -> Result<(), SinkError> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    for l in lines {
        gz.write_all(l.as_bytes())
            .and_then(|_| gz.write_all(b"\n"))
            .expect("writing to memory");
    }
    let body = gz.finish().expect("writing to memory");
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| SinkError::S3 {
            key: key.into(),
            message: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
        })
}

/// Retry policy for records PutRecords reports as failed.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    pub base: Duration,
    pub max: Duration,
    /// Give up (with an error naming the count) after this long.
    pub deadline: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            base: Duration::from_millis(50),
            max: Duration::from_secs(5),
            deadline: Duration::from_secs(120),
        }
    }
}

/// Splits lines into PutRecords calls of at most 500 records and 5 MiB.
pub fn batches(lines: &[Line]) -> Result<Vec<std::ops::Range<usize>>, SinkError> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, l) in lines.iter().enumerate() {
        let size = l.text.len() + l.partition_key.len();
        if size > MAX_RECORD_BYTES {
            return Err(SinkError::RecordTooLarge(size));
        }
        if i - start == MAX_RECORDS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < lines.len() {
        out.push(start..lines.len());
    }
    Ok(out)
}

/// Sends lines to a stream. Records PutRecords reports as failed (throttling,
/// internal errors) are sent again with exponential backoff and full jitter
/// until they are accepted or the deadline passes; then the error says how
/// many were not sent. Never drops a record silently.
pub async fn to_kinesis(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
    lines: impl Iterator<Item = Line>,
    retry: Retry,
) -> Result<u64, SinkError> {
    let lines: Vec<Line> = lines.collect();
    let started = Instant::now();
    let mut jitter = rand::rngs::SmallRng::seed_from_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    let mut sent = 0u64;
    for range in batches(&lines)? {
        let mut pending: Vec<&Line> = lines[range].iter().collect();
        let mut attempt = 0u32;
        let mut last_error = String::new();
        while !pending.is_empty() {
            if attempt > 0 {
                if started.elapsed() > retry.deadline {
                    return Err(SinkError::KinesisDeadline {
                        unsent: lines.len() - sent as usize,
                        total: lines.len(),
                        last_error,
                    });
                }
                let cap = retry.base.saturating_mul(1 << attempt.min(16)).min(retry.max);
                let wait = cap.mul_f64(jitter.random::<f64>()); // full jitter
                tokio::time::sleep(wait).await;
            }
            attempt += 1;
            let entries: Vec<PutRecordsRequestEntry> = pending
                .iter()
                .map(|l| {
                    PutRecordsRequestEntry::builder()
                        .data(Blob::new(l.text.as_bytes()))
                        .partition_key(&l.partition_key)
                        .build()
                        .expect("data and partition key are set")
                })
                .collect();
            match kinesis
                .put_records()
                .stream_name(stream)
                .set_records(Some(entries))
                .send()
                .await
            {
                Err(e) => {
                    // The whole call failed (throttled, network): retry all of it.
                    last_error = aws_sdk_kinesis::error::DisplayErrorContext(&e).to_string();
                }
                Ok(out) => {
                    let mut still = Vec::new();
                    for (l, r) in pending.iter().zip(out.records()) {
                        if r.error_code().is_some() {
                            last_error =
                                format!("{}: {}", r.error_code().unwrap_or(""), r.error_message().unwrap_or(""));
                            still.push(*l);
                        } else {
                            sent += 1;
                        }
                    }
                    pending = still;
                }
            }
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(size: usize) -> Line {
        Line {
            text: "x".repeat(size),
            user_id: None,
            time_micros: 0,
            partition_key: "p".into(),
        }
    }

    #[test]
    fn batches_respect_count_and_size_limits() {
        let lines: Vec<Line> = (0..1234).map(|_| line(100)).collect();
        let b = batches(&lines).unwrap();
        assert_eq!(b, vec![0..500, 500..1000, 1000..1234]);
        let big: Vec<Line> = (0..12).map(|_| line(1_000_000)).collect();
        let b = batches(&big).unwrap();
        assert!(b.iter().all(|r| r.len() <= 5), "{b:?}");
        assert_eq!(b.iter().map(|r| r.len()).sum::<usize>(), 12);
        assert!(matches!(
            batches(&[line(MAX_RECORD_BYTES + 1)]),
            Err(SinkError::RecordTooLarge(_))
        ));
    }

    #[test]
    fn bronze_keys_are_hive_partitions() {
        assert_eq!(
            bronze_key("bronze/events/", 1_761_213_600_000_000, 7, 3),
            "bronze/events/year=2025/month=10/day=23/hour=10/sim-7-00003.jsonl.gz"
        );
    }
}
