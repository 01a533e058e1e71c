//! The event-source poller: reads a Kinesis stream the way Lambda's event
//! source mapping does and invokes the function with the mapping's settings.
//!
//! Followed from the resource graph: batch size and batching window, starting
//! position, ReportBatchItemFailures (resume from the lowest failed sequence
//! number), bisect on error, maximum retries then the on-failure queue (a
//! message describing the batch, as Lambda sends), and tumbling windows (the
//! state returned by one invocation is passed to the next; a final invocation
//! closes each window). Shards are read in turn by one task: locally, one
//! execution environment per function is enough.
//!
//! Windows: Lambda assigns records to windows by their arrival time. A local
//! run replays minutes of traffic in seconds, which would put everything in
//! one window, so `WindowClock::EventTime` (what `pipegen up` uses) assigns
//! by the event's own time; the two agree when events arrive in real time.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine;
use pipegen_events::SourceFormat;
use pipegen_events::payload::{Payload, split};
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::function::FunctionHost;
use super::runtime_api::Outcome;
use crate::local::{Emulator, err_text};

/// Where a new mapping starts reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
}

/// How records are assigned to tumbling windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowClock {
    /// As Lambda: by the record's approximate arrival time.
    Arrival,
    /// By the event time inside the record (arrival time when it has none).
    EventTime(SourceFormat),
}

/// The settings of one event source mapping.
#[derive(Clone, Debug)]
pub struct MappingSpec {
    pub id: String,
    pub stream_name: String,
    pub stream_arn: String,
    pub batch_size: usize,
    pub batching_window: Duration,
    pub starting_position: StartingPosition,
    pub max_retries: u32,
    pub bisect_on_error: bool,
    pub report_batch_item_failures: bool,
    pub tumbling_window_seconds: Option<i64>,
    pub on_failure_queue: Option<String>,
    pub function_arn: String,
    pub role_arn: String,
    pub region: String,
}

/// What a mapping did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MappingStats {
    /// Records the function processed successfully.
    pub records: u64,
    pub invocations: u64,
    pub function_errors: u64,
    pub partial_failures: u64,
    pub retries: u64,
    pub bisections: u64,
    /// Records given up on after the retries, described on the on-failure queue.
    pub records_to_on_failure: u64,
    pub windows_closed: u64,
}

#[derive(Clone, Debug)]
struct Rec {
    seq: String,
    partition_key: String,
    data: Vec<u8>,
    arrival: f64,
}

struct Window {
    start: i64,
    state: Json,
    pending: Vec<Rec>,
    /// The last record counted in the window (pending or already passed in
    /// the state): the checkpoint once the window closes.
    last_seq: Option<String>,
}

struct Shard {
    id: String,
    iterator: Option<String>,
    buffer: VecDeque<Rec>,
    first_buffered: Option<Instant>,
    window: Option<Window>,
}

/// A mapping being consumed.
pub struct Poller {
    pub spec: MappingSpec,
    pub stats: MappingStats,
    clock: WindowClock,
    shards: Vec<Shard>,
    aws_env: Vec<(String, String)>,
    /// Where the last processed sequence number of each shard is kept, so a
    /// restarted runner resumes after it (Lambda keeps this checkpoint for
    /// a mapping); `None`: start at the starting position every time.
    checkpoint_file: Option<PathBuf>,
    checkpoints: BTreeMap<String, String>,
}

/// A failure of the poller itself (the stream or the queue), not of the function.
#[derive(Debug, thiserror::Error)]
#[error("event source mapping {mapping}: {message}")]
pub struct PollError {
    pub mapping: String,
    pub message: String,
}

impl Poller {
    /// Lists the stream's shards and takes an iterator on each at the
    /// starting position: records put after this call are seen even with
    /// `Latest`.
    pub async fn open(
        spec: MappingSpec,
        em: &Emulator,
        clock: WindowClock,
        aws_env: Vec<(String, String)>,
        checkpoint_file: Option<PathBuf>,
    ) -> Result<Poller, PollError> {
        let checkpoints: BTreeMap<String, String> = checkpoint_file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let fail = |m: String| PollError {
            mapping: spec.id.clone(),
            message: m,
        };
        let shards = em
            .kinesis
            .list_shards()
            .stream_name(&spec.stream_name)
            .send()
            .await
            .map_err(|e| fail(err_text(&e)))?;
        let mut out = Vec::new();
        for s in shards.shards() {
            let kind = match spec.starting_position {
                StartingPosition::TrimHorizon => aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon,
                StartingPosition::Latest => aws_sdk_kinesis::types::ShardIteratorType::Latest,
            };
            let mut req = em
                .kinesis
                .get_shard_iterator()
                .stream_name(&spec.stream_name)
                .shard_id(s.shard_id());
            req = match checkpoints.get(s.shard_id()) {
                Some(seq) => req
                    .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::AfterSequenceNumber)
                    .starting_sequence_number(seq),
                None => req.shard_iterator_type(kind),
            };
            let it = req.send().await.map_err(|e| fail(err_text(&e)))?;
            out.push(Shard {
                id: s.shard_id().to_string(),
                iterator: it.shard_iterator().map(str::to_string),
                buffer: VecDeque::new(),
                first_buffered: None,
                window: None,
            });
        }
        Ok(Poller {
            spec,
            stats: MappingStats::default(),
            clock,
            shards: out,
            aws_env,
            checkpoint_file,
            checkpoints,
        })
    }

    /// Reads every shard once and delivers what is due. Returns how many
    /// records were read.
    pub async fn poll_once(&mut self, em: &Emulator, host: &mut FunctionHost, flush: bool) -> Result<usize, PollError> {
        let mut read = 0;
        for i in 0..self.shards.len() {
            if let Some(it) = self.shards[i].iterator.clone() {
                let out = em
                    .kinesis
                    .get_records()
                    .shard_iterator(it)
                    .limit(10_000)
                    .send()
                    .await
                    .map_err(|e| PollError {
                        mapping: self.spec.id.clone(),
                        message: err_text(&e),
                    })?;
                let shard = &mut self.shards[i];
                shard.iterator = out.next_shard_iterator().map(str::to_string);
                for r in out.records() {
                    shard.buffer.push_back(Rec {
                        seq: r.sequence_number().to_string(),
                        partition_key: r.partition_key().to_string(),
                        data: r.data().as_ref().to_vec(),
                        arrival: r
                            .approximate_arrival_timestamp()
                            .map(|t| t.as_secs_f64())
                            .unwrap_or(0.0),
                    });
                    read += 1;
                }
                if !shard.buffer.is_empty() && shard.first_buffered.is_none() {
                    shard.first_buffered = Some(Instant::now());
                }
            }
            loop {
                let shard = &mut self.shards[i];
                let due = shard.buffer.len() >= self.spec.batch_size
                    || (!shard.buffer.is_empty()
                        && (flush
                            || shard
                                .first_buffered
                                .is_some_and(|t| t.elapsed() >= self.spec.batching_window)));
                if !due {
                    break;
                }
                let n = shard.buffer.len().min(self.spec.batch_size);
                let batch: Vec<Rec> = shard.buffer.drain(..n).collect();
                shard.first_buffered = if shard.buffer.is_empty() {
                    None
                } else {
                    Some(Instant::now())
                };
                self.deliver(em, host, i, batch).await?;
            }
        }
        Ok(read)
    }

    /// Consumes until `done()` says the producers finished and every shard is
    /// read to its end, then closes the open windows.
    pub async fn drain(
        &mut self,
        em: &Emulator,
        host: &mut FunctionHost,
        done: impl Fn() -> bool,
    ) -> Result<(), PollError> {
        loop {
            let finished = done();
            let read = self.poll_once(em, host, finished).await?;
            if finished && read == 0 && self.shards.iter().all(|s| s.buffer.is_empty()) {
                break;
            }
            if read == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        for i in 0..self.shards.len() {
            if let Some(w) = self.shards[i].window.take() {
                let last = w.last_seq.clone();
                self.invoke_window(em, host, i, w, true).await?;
                self.checkpoint(i, last)?;
            }
        }
        Ok(())
    }

    /// The window a record opens or joins; `None` when it has no usable
    /// event time (it then counts in the open window).
    fn window_start(&self, r: &Rec, seconds: i64) -> Option<i64> {
        let t = match self.clock {
            WindowClock::Arrival => Some(r.arrival as i64),
            WindowClock::EventTime(format) => split(&r.data)
                .into_iter()
                .find_map(|p| match p {
                    Payload::Json(text) => serde_json::from_str::<serde_json::Map<String, Json>>(&text)
                        .ok()
                        .and_then(|m| format.event_time_micros(&m))
                        .map(|us| us.div_euclid(1_000_000)),
                    Payload::Bad { .. } => None,
                })
                // An event more than a day after its arrival is the
                // `future_event_time` of spec/silver.md: it must not move the
                // window (it would drag every later record along).
                .filter(|t| *t <= r.arrival as i64 + 86_400),
        };
        t.map(|t| t.div_euclid(seconds) * seconds)
    }

    async fn deliver(
        &mut self,
        em: &Emulator,
        host: &mut FunctionHost,
        shard: usize,
        batch: Vec<Rec>,
    ) -> Result<(), PollError> {
        let Some(seconds) = self.spec.tumbling_window_seconds else {
            let last = batch.last().map(|r| r.seq.clone());
            self.deliver_plain(em, host, shard, batch).await?;
            return self.checkpoint(shard, last);
        };
        for rec in batch {
            let open = self.shards[shard].window.as_ref().map(|w| w.start);
            let start = self
                .window_start(&rec, seconds)
                .or(open)
                .unwrap_or((rec.arrival as i64).div_euclid(seconds) * seconds);
            match open {
                None => {
                    self.shards[shard].window = Some(Window {
                        start,
                        state: json!({}),
                        pending: Vec::new(),
                        last_seq: None,
                    })
                }
                Some(current) if start > current => {
                    let w = self.shards[shard].window.take().expect("open window");
                    let last = w.last_seq.clone();
                    self.invoke_window(em, host, shard, w, true).await?;
                    self.checkpoint(shard, last)?;
                    self.shards[shard].window = Some(Window {
                        start,
                        state: json!({}),
                        pending: Vec::new(),
                        last_seq: None,
                    });
                }
                // Same window, or a late record: it counts in the open window
                // (arrival order never goes back in Lambda either).
                Some(_) => {}
            }
            let w = self.shards[shard].window.as_mut().expect("open window");
            w.last_seq = Some(rec.seq.clone());
            w.pending.push(rec);
            if w.pending.len() >= self.spec.batch_size {
                self.pass_pending(em, host, shard).await?;
            }
        }
        // Pass what arrived on now, so the window's state is current.
        self.pass_pending(em, host, shard).await
    }

    /// Hands the open window's pending records to the function (not the
    /// final invocation) and keeps the window open with the state it returns.
    async fn pass_pending(&mut self, em: &Emulator, host: &mut FunctionHost, shard: usize) -> Result<(), PollError> {
        let Some(w) = self.shards[shard].window.take() else {
            return Ok(());
        };
        if w.pending.is_empty() {
            self.shards[shard].window = Some(w);
            return Ok(());
        }
        let (start, last_seq) = (w.start, w.last_seq.clone());
        let state = self.invoke_window(em, host, shard, w, false).await?;
        self.shards[shard].window = Some(Window {
            start,
            state,
            pending: Vec::new(),
            last_seq,
        });
        Ok(())
    }

    /// Records that the shard is processed up to `seq` (and saves it).
    fn checkpoint(&mut self, shard: usize, seq: Option<String>) -> Result<(), PollError> {
        let Some(seq) = seq else {
            return Ok(());
        };
        self.checkpoints.insert(self.shards[shard].id.clone(), seq);
        if let Some(file) = &self.checkpoint_file {
            let fail = |e: std::io::Error| PollError {
                mapping: self.spec.id.clone(),
                message: format!("checkpoint {}: {e}", file.display()),
            };
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir).map_err(fail)?;
            }
            let tmp = file.with_extension("tmp");
            std::fs::write(&tmp, serde_json::to_vec_pretty(&self.checkpoints).unwrap_or_default()).map_err(fail)?;
            std::fs::rename(&tmp, file).map_err(fail)?;
        }
        Ok(())
    }

    fn records_json(&self, shard: usize, recs: &[Rec]) -> Vec<Json> {
        let b64 = base64::engine::general_purpose::STANDARD;
        recs.iter()
            .map(|r| {
                json!({
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": r.partition_key,
                        "sequenceNumber": r.seq,
                        "data": b64.encode(&r.data),
                        "approximateArrivalTimestamp": r.arrival,
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": format!("{}:{}", self.shards[shard].id, r.seq),
                    "eventName": "aws:kinesis:record",
                    "invokeIdentityArn": self.spec.role_arn,
                    "awsRegion": self.spec.region,
                    "eventSourceARN": self.spec.stream_arn,
                })
            })
            .collect()
    }

    /// The sequence numbers the response reports as failed.
    fn failures(&self, body: &[u8]) -> Vec<String> {
        if !self.spec.report_batch_item_failures {
            return Vec::new();
        }
        serde_json::from_slice::<Json>(body)
            .ok()
            .and_then(|v| v.get("batchItemFailures").cloned())
            .and_then(|f| f.as_array().cloned())
            .map(|f| {
                f.iter()
                    .filter_map(|i| i.get("itemIdentifier").and_then(Json::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn backoff(attempt: u32) -> Duration {
        Duration::from_millis((100u64 << attempt.min(5)).min(2_000))
    }

    async fn deliver_plain(
        &mut self,
        em: &Emulator,
        host: &mut FunctionHost,
        shard: usize,
        batch: Vec<Rec>,
    ) -> Result<(), PollError> {
        let mut work: VecDeque<(Vec<Rec>, u32)> = VecDeque::from([(batch, 0)]);
        while let Some((batch, attempts)) = work.pop_front() {
            let event = json!({"Records": self.records_json(shard, &batch)});
            self.stats.invocations += 1;
            let outcome = host.invoke(event.to_string().into_bytes(), &self.aws_env).await;
            match outcome {
                Outcome::Response(body) => {
                    let failed = self.failures(&body);
                    if failed.is_empty() {
                        self.stats.records += batch.len() as u64;
                        continue;
                    }
                    self.stats.partial_failures += 1;
                    // Resume from the lowest failed sequence number; an
                    // identifier not in the batch fails the whole batch.
                    let pos = batch.iter().position(|r| failed.contains(&r.seq)).unwrap_or(0);
                    self.stats.records += pos as u64;
                    let rest: Vec<Rec> = batch[pos..].to_vec();
                    if attempts >= self.spec.max_retries {
                        self.on_failure(em, shard, &rest, "RetryAttemptsExhausted", attempts + 1)
                            .await?;
                    } else {
                        self.stats.retries += 1;
                        tokio::time::sleep(Self::backoff(attempts)).await;
                        work.push_front((rest, attempts + 1));
                    }
                }
                Outcome::Error(message) | Outcome::Failed(message) => {
                    self.stats.function_errors += 1;
                    tracing::warn!(mapping = %self.spec.id, records = batch.len(), attempt = attempts + 1, %message, "function error");
                    self.retry_or_give_up(em, shard, batch, attempts, &mut work).await?;
                }
                Outcome::Timeout => {
                    self.stats.function_errors += 1;
                    tracing::warn!(mapping = %self.spec.id, records = batch.len(), "function timed out");
                    self.retry_or_give_up(em, shard, batch, attempts, &mut work).await?;
                }
            }
        }
        Ok(())
    }

    async fn retry_or_give_up(
        &mut self,
        em: &Emulator,
        shard: usize,
        batch: Vec<Rec>,
        attempts: u32,
        work: &mut VecDeque<(Vec<Rec>, u32)>,
    ) -> Result<(), PollError> {
        if attempts >= self.spec.max_retries {
            return self
                .on_failure(em, shard, &batch, "RetryAttemptsExhausted", attempts + 1)
                .await;
        }
        self.stats.retries += 1;
        tokio::time::sleep(Self::backoff(attempts)).await;
        if self.spec.bisect_on_error && batch.len() > 1 {
            self.stats.bisections += 1;
            let mut first = batch;
            let second = first.split_off(first.len() / 2);
            work.push_front((second, attempts + 1));
            work.push_front((first, attempts + 1));
        } else {
            work.push_front((batch, attempts + 1));
        }
        Ok(())
    }

    /// One invocation of a window (retried like a batch); returns the state
    /// for the next invocation.
    async fn invoke_window(
        &mut self,
        em: &Emulator,
        host: &mut FunctionHost,
        shard: usize,
        window: Window,
        last: bool,
    ) -> Result<Json, PollError> {
        let seconds = self.spec.tumbling_window_seconds.unwrap_or(1);
        let iso = |s: i64| {
            chrono::DateTime::from_timestamp(s, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        };
        let mut records = window.pending;
        let mut state = window.state;
        let mut attempts = 0;
        loop {
            let event = json!({
                "Records": self.records_json(shard, &records),
                "window": {"start": iso(window.start), "end": iso(window.start + seconds)},
                "state": state,
                "shardId": self.shards[shard].id,
                "eventSourceARN": self.spec.stream_arn,
                "isFinalInvokeForWindow": last,
                "isWindowTerminatedEarly": false,
            });
            self.stats.invocations += 1;
            let outcome = host.invoke(event.to_string().into_bytes(), &self.aws_env).await;
            let failure = match outcome {
                Outcome::Response(body) => {
                    let failed = self.failures(&body);
                    let next = serde_json::from_slice::<Json>(&body)
                        .ok()
                        .and_then(|v| v.get("state").cloned())
                        .filter(|s| !s.is_null())
                        .unwrap_or_else(|| json!({}));
                    if failed.is_empty() {
                        self.stats.records += records.len() as u64;
                        if last {
                            self.stats.windows_closed += 1;
                        }
                        return Ok(next);
                    }
                    self.stats.partial_failures += 1;
                    let pos = records.iter().position(|r| failed.contains(&r.seq)).unwrap_or(0);
                    self.stats.records += pos as u64;
                    records.drain(..pos);
                    state = next;
                    "partial batch failure".to_string()
                }
                Outcome::Error(m) | Outcome::Failed(m) => {
                    self.stats.function_errors += 1;
                    m
                }
                Outcome::Timeout => {
                    self.stats.function_errors += 1;
                    "timed out".into()
                }
            };
            tracing::warn!(mapping = %self.spec.id, window = window.start, attempt = attempts + 1, %failure, "window invocation failed");
            if attempts >= self.spec.max_retries {
                self.on_failure(em, shard, &records, "RetryAttemptsExhausted", attempts + 1)
                    .await?;
                return Ok(if last { json!({}) } else { state });
            }
            attempts += 1;
            self.stats.retries += 1;
            tokio::time::sleep(Self::backoff(attempts)).await;
        }
    }

    /// Describes the records given up on to the on-failure queue, as Lambda
    /// does (the batch's shard and sequence range; the records stay in the
    /// stream for their retention).
    async fn on_failure(
        &mut self,
        em: &Emulator,
        shard: usize,
        recs: &[Rec],
        condition: &str,
        invokes: u32,
    ) -> Result<(), PollError> {
        self.stats.records_to_on_failure += recs.len() as u64;
        tracing::warn!(mapping = %self.spec.id, records = recs.len(), "retries exhausted; describing the batch on the on-failure queue");
        let Some(queue) = &self.spec.on_failure_queue else {
            return Ok(());
        };
        let (Some(first), Some(last)) = (recs.first(), recs.last()) else {
            return Ok(());
        };
        let iso = |s: f64| {
            chrono::DateTime::from_timestamp_millis((s * 1000.0) as i64)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        };
        let body = json!({
            "requestContext": {
                "requestId": format!("pipegen-local-{}", self.stats.invocations),
                "functionArn": self.spec.function_arn,
                "condition": condition,
                "approximateInvokeCount": invokes,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "KinesisBatchInfo": {
                "shardId": self.shards[shard].id,
                "startSequenceNumber": first.seq,
                "endSequenceNumber": last.seq,
                "approximateArrivalOfFirstRecord": iso(first.arrival),
                "approximateArrivalOfLastRecord": iso(last.arrival),
                "batchSize": recs.len(),
                "streamArn": self.spec.stream_arn,
            }
        });
        let fail = |m: String| PollError {
            mapping: self.spec.id.clone(),
            message: m,
        };
        let url = em
            .sqs
            .get_queue_url()
            .queue_name(queue)
            .send()
            .await
            .map_err(|e| fail(err_text(&e)))?;
        em.sqs
            .send_message()
            .queue_url(url.queue_url().unwrap_or_default())
            .message_body(body.to_string())
            .send()
            .await
            .map_err(|e| fail(err_text(&e)))?;
        Ok(())
    }
}
