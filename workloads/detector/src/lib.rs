//! The detector Lambda: bots and DDoS in Kinesis tumbling windows
//! (spec/realtime.md). One Lambda replaces the originals' Flink application,
//! second stream and Lambda.
//!
//! Each invocation adds its records to the per-user counts in the window
//! state; the final invocation of a window flags every user with more than
//! `threshold` actions: a conditional DynamoDB write (so a re-delivered window
//! neither duplicates the item nor alerts twice), a metric, and an SNS alert.
//! The item remembers whether its alert went out, so a failure between the
//! write and the publish is retried to exactly one alert. Every error fails
//! the invocation (Lambda retries the window); nothing is swallowed.

pub mod window;

use std::collections::HashMap;

use aws_lambda_events::event::kinesis::KinesisTimeWindowEvent;
use chrono::{DateTime, Utc};
use pipegen_events::SourceFormat;
use pipegen_events::metrics as m;
use pipegen_events::payload::{Payload, split};
use serde::Serialize;

pub use window::WindowState;

/// Settings from the environment variables the renderer sets.
#[derive(Clone, Debug)]
pub struct Config {
    pub threshold: u32,
    pub window_seconds: u32,
    pub app_server: String,
    pub namespace: String,
    pub source_format: SourceFormat,
    /// Lambda allows 1 MB of state per shard; stay under it with a margin.
    pub state_cap_bytes: usize,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let num = |k: &str, d: u32| -> Result<u32, String> {
            match std::env::var(k) {
                Err(_) => Ok(d),
                Ok(v) => v.parse().map_err(|_| format!("{k}={v} is not a whole number")),
            }
        };
        let format = std::env::var("SOURCE_FORMAT").unwrap_or_else(|_| "flashcommerce".into());
        Ok(Config {
            threshold: num("THRESHOLD", 10)?,
            window_seconds: num("WINDOW_SECONDS", 10)?,
            app_server: std::env::var("APP_SERVER").unwrap_or_else(|_| "app-server-tomcat-123".into()),
            namespace: std::env::var("METRIC_NAMESPACE").unwrap_or_else(|_| "ecommerce-namespace-1".into()),
            source_format: SourceFormat::parse(&format)
                .ok_or_else(|| format!("SOURCE_FORMAT={format} is not a source format"))?,
            state_cap_bytes: 900_000,
        })
    }
}

/// The DynamoDB item of one flagged user-window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detection {
    /// `userid#{user_id}#appserver#{app_server}`
    pub pk: String,
    /// Window start, epoch seconds (the sort key; the original used the
    /// Lambda's clock, so a re-delivered window made a second item).
    pub window_start: i64,
    pub user_id: String,
    pub actions: u32,
    pub window_end: i64,
    pub first_event_time: String,
    pub last_event_time: String,
    pub detected_at: String,
}

impl Detection {
    /// The alert subject, within SNS's 100-character limit.
    pub fn subject(&self) -> String {
        let s = format!(
            "Possible DDoS detected, by user_id {} with a number of attempts of : {}/window",
            self.user_id, self.actions
        );
        s.chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .take(100)
            .collect()
    }
}

/// Where detections go. The AWS implementation is [`aws::AwsSink`]; tests may
/// use others.
#[allow(async_fn_in_trait)]
pub trait Sink {
    /// Writes the item unless one exists for the key. `Ok(true)`: written now;
    /// `Ok(false)`: it existed (a re-delivered window).
    async fn put_if_new(&self, d: &Detection) -> Result<bool, Error>;
    /// Whether the existing item's alert was already published.
    async fn alerted(&self, d: &Detection) -> Result<bool, Error>;
    async fn mark_alerted(&self, d: &Detection) -> Result<(), Error>;
    async fn publish(&self, subject: &str, message: &str) -> Result<(), Error>;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("window state: {0}")]
    State(String),
    #[error("DynamoDB: {0}")]
    Dynamo(String),
    #[error("SNS: {0}")]
    Sns(String),
}

/// The response Lambda expects for a time-window invocation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WindowResponse {
    pub state: HashMap<String, String>,
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<HashMap<String, String>>,
}

/// What one invocation did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub counted: usize,
    pub skipped_without_user: usize,
    pub new_detections: Vec<Detection>,
    pub redelivered: usize,
    pub alerts: usize,
    pub overflow_dropped: u64,
    pub metric_lines: Vec<String>,
}

/// Handles one invocation of a window.
pub async fn handle<S: Sink>(
    event: &KinesisTimeWindowEvent,
    sink: &S,
    cfg: &Config,
) -> Result<(WindowResponse, Outcome), Error> {
    let props = &event.time_window_properties;
    let mut state = WindowState::from_lambda(&props.state).map_err(Error::State)?;
    let mut out = Outcome::default();
    for rec in &event.kinesis_event.records {
        let arrival_ms = rec.kinesis.approximate_arrival_timestamp.0.timestamp_millis();
        for p in split(&rec.kinesis.data.0) {
            let Payload::Json(text) = p else {
                out.skipped_without_user += 1;
                continue;
            };
            let Ok(serde_json::Value::Object(obj)) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let user = cfg.source_format.user_fields().iter().find_map(|k| match obj.get(*k) {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() && s != "NA" => Some(s.trim().to_string()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            });
            let Some(user) = user else {
                out.skipped_without_user += 1;
                continue;
            };
            let time_ms = cfg
                .source_format
                .event_time_micros(&obj)
                .map(|us| us / 1000)
                .unwrap_or(arrival_ms);
            state.add(&user, time_ms);
            out.counted += 1;
        }
    }
    out.overflow_dropped = state.enforce_cap(cfg.state_cap_bytes);
    if out.overflow_dropped > 0 {
        out.metric_lines.push(emf(
            &cfg.namespace,
            m::DETECTOR_STATE_OVERFLOW,
            out.overflow_dropped as f64,
            None,
        ));
    }
    if !props.is_final_invoke_for_window {
        return Ok((
            WindowResponse {
                state: state.to_lambda(),
                ..Default::default()
            },
            out,
        ));
    }
    let window_start = props.window.start.timestamp();
    let window_end = props.window.end.timestamp();
    let now = Utc::now();
    for (user, count) in state.flagged(cfg.threshold) {
        let d = Detection {
            pk: format!("userid#{user}#appserver#{}", cfg.app_server),
            window_start,
            user_id: user.to_string(),
            actions: count.actions,
            window_end,
            first_event_time: iso(count.first_ms),
            last_event_time: iso(count.last_ms),
            detected_at: now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        };
        let new = sink.put_if_new(&d).await?;
        if new {
            out.metric_lines.push(emf(
                &cfg.namespace,
                m::HIGH_VOLUME_EVENTS,
                d.actions as f64,
                Some(&d.user_id),
            ));
            out.new_detections.push(d.clone());
        } else {
            out.redelivered += 1;
        }
        // Publish unless this item's alert already went out (a retry after a
        // failed publish publishes now; a plain re-delivery does not).
        if new || !sink.alerted(&d).await? {
            let message = serde_json::to_string(&d).expect("detections serialize");
            sink.publish(&d.subject(), &message).await?;
            sink.mark_alerted(&d).await?;
            out.alerts += 1;
        }
    }
    for line in &out.metric_lines {
        println!("{line}");
    }
    // A finished window starts the next one empty.
    Ok((WindowResponse::default(), out))
}

fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// An Embedded Metric Format line; with a user, the metric is emitted both
/// per user and without dimensions (the alarm reads the latter).
pub fn emf(namespace: &str, metric: &str, value: f64, user: Option<&str>) -> String {
    let dims: Vec<Vec<&str>> = if user.is_some() {
        vec![vec!["user_id"], vec![]]
    } else {
        vec![vec![]]
    };
    let mut v = serde_json::json!({
        "_aws": {
            "Timestamp": Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": dims, "Metrics": [{"Name": metric, "Unit": "Count"}]}],
        },
        metric: value,
    });
    if let Some(u) = user {
        v["user_id"] = serde_json::json!(u);
    }
    v.to_string()
}

/// DynamoDB and SNS.
pub mod aws {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::{Detection, Error, Sink};

    pub struct AwsSink {
        pub dynamo: aws_sdk_dynamodb::Client,
        pub sns: aws_sdk_sns::Client,
        pub table: String,
        pub topic_arn: String,
    }

    fn key(d: &Detection) -> std::collections::HashMap<String, AttributeValue> {
        [
            ("pk".to_string(), AttributeValue::S(d.pk.clone())),
            (
                "window_start".to_string(),
                AttributeValue::N(d.window_start.to_string()),
            ),
        ]
        .into()
    }

    impl Sink for AwsSink {
        async fn put_if_new(&self, d: &Detection) -> Result<bool, Error> {
            let mut item = key(d);
            item.insert("user_id".into(), AttributeValue::S(d.user_id.clone()));
            item.insert("actions".into(), AttributeValue::N(d.actions.to_string()));
            item.insert("window_end".into(), AttributeValue::N(d.window_end.to_string()));
            item.insert("first_event_time".into(), AttributeValue::S(d.first_event_time.clone()));
            item.insert("last_event_time".into(), AttributeValue::S(d.last_event_time.clone()));
            item.insert("detected_at".into(), AttributeValue::S(d.detected_at.clone()));
            item.insert("alerted".into(), AttributeValue::Bool(false));
            let put = self
                .dynamo
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            match put {
                Ok(_) => Ok(true),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                {
                    Ok(false)
                }
                Err(e) => Err(Error::Dynamo(
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
                )),
            }
        }

        async fn alerted(&self, d: &Detection) -> Result<bool, Error> {
            let got = self
                .dynamo
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key(d)))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| Error::Dynamo(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string()))?;
            Ok(matches!(
                got.item().and_then(|i| i.get("alerted")),
                Some(AttributeValue::Bool(true))
            ))
        }

        async fn mark_alerted(&self, d: &Detection) -> Result<(), Error> {
            self.dynamo
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(d)))
                .update_expression("SET alerted = :t")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::Dynamo(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string()))
        }

        async fn publish(&self, subject: &str, message: &str) -> Result<(), Error> {
            self.sns
                .publish()
                .topic_arn(&self.topic_arn)
                .subject(subject)
                .message(message)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::Sns(aws_sdk_sns::error::DisplayErrorContext(&e).to_string()))
        }
    }
}
