//! The typed pipeline: what an environment file says, after `extends` has been
//! merged and the structure checked against the schema.
//!
//! Every field's doc comment is also its description in the JSON Schema that
//! `pipegen schema` writes, so editors show it while a user types. Ranges live
//! in `schemars(range(...))` attributes: the schema check enforces them with a
//! location and editors flag them before pipegen runs. Cross-field rules
//! (references, physical names, combinations) are in `validate.rs`.
//!
//! Defaults follow `../shared/spec/infrastructure.md`, so a minimal file is a
//! complete pipeline; `environments/base.yaml` still spells everything out.

use chrono::NaiveDate;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One environment: a whole pipeline for one tenant or student.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "pipegen environment")]
pub struct EnvironmentConfig {
    /// The environment this one forks (a file name in the same folder, without
    /// `.yaml`). Mappings merge deeply; scalars and lists replace the parent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Project prefix of every physical name: lower case letters, digits, hyphens.
    #[schemars(length(min = 1, max = 20))]
    pub project: String,
    /// Tenant or student id; with `project` it makes every name unique in an account.
    #[schemars(length(min = 1, max = 24))]
    pub tenant: String,
    /// AWS region, such as `eu-west-1`.
    pub region: String,
    /// AWS account id (12 digits). Optional: without it, global names (S3
    /// buckets) end in a hash of project, tenant and region instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Refuse `destroy` without an explicit override. Not inherited by forks: a
    /// fork of a production environment is a new environment.
    #[serde(default)]
    pub protected: bool,
    /// Tags on every resource (pipegen adds `pipegen:environment` and `pipegen:tenant`).
    #[serde(default)]
    pub tags: IndexMap<String, String>,
    /// What the workloads need to know about the data.
    #[serde(default)]
    pub analytics: Analytics,
    /// The bot/DDoS detector's rule.
    #[serde(default)]
    pub detector: DetectorSettings,
    /// What the simulator generates when it runs on its schedule.
    #[serde(default)]
    pub simulator: SimulatorSettings,
    /// Settings shared by every Lambda function.
    #[serde(default)]
    pub lambda: LambdaDefaults,
    /// The data lake bucket (bronze, silver, gold, invalid, _state, athena-results).
    #[serde(default)]
    pub lake: Lake,
    /// The bucket holding Lambda zips and the ETL binary, under content-addressed keys.
    #[serde(default)]
    pub artifacts: ArtifactsBucket,
    /// Kinesis data streams, by name.
    #[serde(default)]
    pub streams: IndexMap<String, Stream>,
    /// Lambda functions, by name.
    #[serde(default)]
    pub functions: IndexMap<String, Function>,
    /// The container ETL job (bronze -> silver -> gold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etl: Option<EtlJob>,
    /// The Glue catalog: database, tables for every layer, crawlers.
    #[serde(default)]
    pub catalog: Catalog,
    /// The analysts' Athena workgroup and named queries.
    #[serde(default)]
    pub athena: Athena,
    /// DynamoDB tables, by name.
    #[serde(default)]
    pub tables: IndexMap<String, DynamoTable>,
    /// SNS topics, by name.
    #[serde(default)]
    pub topics: IndexMap<String, Topic>,
    /// CloudWatch alarms on pipeline health.
    #[serde(default)]
    pub alarms: Alarms,
    /// The CloudWatch pipeline-health dashboard.
    #[serde(default)]
    pub dashboard: Dashboard,
    /// Firehose copy of the raw stream into the lake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firehose_backup: Option<FirehoseBackup>,
}

/// Data settings shared by ingest, the ETL and the simulator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Analytics {
    /// The shape of incoming events (spec/events.md, "Source formats").
    #[serde(default)]
    pub source_format: SourceFormat,
    /// IANA time zone for local dates and hours in silver and gold.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Local hours (inclusive) flagged `is_peak_hour`.
    #[serde(default)]
    pub peak_hours: PeakHours,
    /// Local dates flagged `is_festival_day`.
    #[serde(default = "default_festival_dates")]
    pub festival_dates: Vec<NaiveDate>,
    /// A CSV replacing the built-in city table (city,region,tier,latitude,longitude),
    /// relative to the environment file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city_table: Option<String>,
}

impl Default for Analytics {
    fn default() -> Self {
        Analytics {
            source_format: SourceFormat::default(),
            time_zone: default_time_zone(),
            peak_hours: PeakHours::default(),
            festival_dates: default_festival_dates(),
            city_table: None,
        }
    }
}

fn default_time_zone() -> String {
    "UTC".into()
}

fn default_festival_dates() -> Vec<NaiveDate> {
    vec![
        NaiveDate::from_ymd_opt(2025, 3, 14).expect("valid date"),
        NaiveDate::from_ymd_opt(2025, 10, 23).expect("valid date"),
    ]
}

/// Source formats the adapters accept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceFormat {
    /// FlashCommerce producer: canonical field names.
    #[default]
    Flashcommerce,
    /// The capstone generator: `timestamp`, `page_view`.
    Capstone,
    /// Kaggle REES46 multi-category store rows.
    Rees46,
    /// UCI Online Retail invoice lines.
    UkRetail,
}

impl SourceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Flashcommerce => "flashcommerce",
            SourceFormat::Capstone => "capstone",
            SourceFormat::Rees46 => "rees46",
            SourceFormat::UkRetail => "uk-retail",
        }
    }
}

/// An inclusive range of local hours.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeakHours {
    /// First peak hour, 0-23.
    #[schemars(range(max = 23))]
    pub start: u8,
    /// Last peak hour (inclusive), 0-23.
    #[schemars(range(max = 23))]
    pub end: u8,
}

impl Default for PeakHours {
    fn default() -> Self {
        PeakHours { start: 18, end: 21 }
    }
}

/// The detector's rule (spec/realtime.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectorSettings {
    /// A user with more than this many actions in one window is flagged.
    #[serde(default = "default_threshold")]
    #[schemars(range(min = 1, max = 1000000))]
    pub threshold: u32,
    /// Tumbling window length (the event source mapping's TumblingWindowInSeconds).
    #[serde(default = "default_window")]
    #[schemars(range(min = 1, max = 900))]
    pub window_seconds: u32,
    /// Written into the detections table's partition key.
    #[serde(default = "default_app_server")]
    #[schemars(length(min = 1, max = 128))]
    pub app_server: String,
    /// CloudWatch namespace of the detector's metric.
    #[serde(default = "default_namespace")]
    #[schemars(length(min = 1, max = 255))]
    pub metric_namespace: String,
}

impl Default for DetectorSettings {
    fn default() -> Self {
        DetectorSettings {
            threshold: default_threshold(),
            window_seconds: default_window(),
            app_server: default_app_server(),
            metric_namespace: default_namespace(),
        }
    }
}

fn default_threshold() -> u32 {
    10
}
fn default_window() -> u32 {
    10
}
fn default_app_server() -> String {
    "app-server-tomcat-123".into()
}
fn default_namespace() -> String {
    "ecommerce-namespace-1".into()
}

/// The simulator's defaults when it runs on its schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSettings {
    /// Distribution profile (spec/events.md, "The simulator").
    #[serde(default)]
    pub profile: SimulatorProfile,
    /// Events per invocation.
    #[serde(default = "default_events_per_invocation")]
    #[schemars(range(min = 1, max = 5000000))]
    pub events_per_invocation: u64,
    /// Bot users injected per invocation.
    #[serde(default)]
    #[schemars(range(max = 10000))]
    pub bots: u32,
    /// Fraction of events given a fault (malformed, unknown city, ...), 0-1.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub fault_rate: f64,
}

impl Default for SimulatorSettings {
    fn default() -> Self {
        SimulatorSettings {
            profile: SimulatorProfile::default(),
            events_per_invocation: default_events_per_invocation(),
            bots: 0,
            fault_rate: 0.0,
        }
    }
}

fn default_events_per_invocation() -> u64 {
    500_000
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SimulatorProfile {
    /// FlashCommerce: Indian cities, sellers S001-S007, 25 products.
    #[default]
    Flashcommerce,
    /// The capstone generator's distribution.
    Capstone,
}

/// Settings shared by every Lambda function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LambdaDefaults {
    /// CPU architecture of the `provided.al2023` functions.
    #[serde(default)]
    pub architecture: Architecture,
    /// Days the functions' log groups keep logs (a CloudWatch Logs retention value).
    #[serde(default = "default_log_retention")]
    pub log_retention_days: u32,
}

impl Default for LambdaDefaults {
    fn default() -> Self {
        LambdaDefaults {
            architecture: Architecture::default(),
            log_retention_days: default_log_retention(),
        }
    }
}

fn default_log_retention() -> u32 {
    14
}

/// Retention values CloudWatch Logs accepts.
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Graviton: cheaper per GB-second.
    #[default]
    Arm64,
    X86_64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::Arm64 => "arm64",
            Architecture::X86_64 => "x86_64",
        }
    }
}

/// The lake bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lake {
    /// Keep object versions (retried writes and reruns never lose data).
    #[serde(default = "yes")]
    pub versioned: bool,
    /// Server-side encryption.
    #[serde(default)]
    pub encryption: BucketEncryption,
    /// Days before objects expire, per layer.
    #[serde(default)]
    pub lifecycle: Lifecycle,
}

impl Default for Lake {
    fn default() -> Self {
        Lake {
            versioned: true,
            encryption: BucketEncryption::default(),
            lifecycle: Lifecycle::default(),
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BucketEncryption {
    /// SSE-KMS with the AWS managed key `aws/s3` and bucket keys.
    #[default]
    Kms,
    /// SSE-S3 (AES256).
    Aes256,
}

/// Expiration per lake layer, in days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    #[serde(default = "d30")]
    #[schemars(range(min = 1, max = 36500))]
    pub bronze_days: u32,
    /// Days a replaced or deleted bronze object version is kept.
    #[serde(default = "d7")]
    #[schemars(range(min = 1, max = 36500))]
    pub bronze_noncurrent_days: u32,
    #[serde(default = "d60")]
    #[schemars(range(min = 1, max = 36500))]
    pub silver_days: u32,
    #[serde(default = "d90")]
    #[schemars(range(min = 1, max = 36500))]
    pub gold_days: u32,
    #[serde(default = "d7")]
    #[schemars(range(min = 1, max = 36500))]
    pub athena_results_days: u32,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            bronze_days: 30,
            bronze_noncurrent_days: 7,
            silver_days: 60,
            gold_days: 90,
            athena_results_days: 7,
        }
    }
}

fn d7() -> u32 {
    7
}
fn d30() -> u32 {
    30
}
fn d60() -> u32 {
    60
}
fn d90() -> u32 {
    90
}

/// The artifacts bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactsBucket {
    /// Server-side encryption.
    #[serde(default)]
    pub encryption: BucketEncryption,
}

/// A Kinesis data stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    /// Capacity mode.
    #[serde(default)]
    pub mode: StreamMode,
    /// Shard count; only for `provisioned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 500))]
    pub shards: Option<u32>,
    /// Hours records stay readable.
    #[serde(default = "default_retention_hours")]
    #[schemars(range(min = 24, max = 8760))]
    pub retention_hours: u32,
}

fn default_retention_hours() -> u32 {
    24
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamMode {
    /// Pay per use, scales by itself.
    #[default]
    OnDemand,
    /// A fixed number of shards.
    Provisioned,
}

/// A Lambda function running one of pipegen's workloads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Function {
    /// Which binary the function runs.
    pub workload: Workload,
    /// Memory in MB (Lambda allows 128-10240).
    #[schemars(range(min = 128, max = 10240))]
    pub memory_mb: u32,
    /// Timeout in seconds (Lambda allows 1-900).
    #[schemars(range(min = 1, max = 900))]
    pub timeout_seconds: u32,
    /// Reserved concurrency; unset means the account's pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 1000))]
    pub reserved_concurrency: Option<u32>,
    /// The stream this function consumes (ingest, detector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<StreamTrigger>,
    /// The stream this function writes to (simulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_stream: Option<String>,
    /// The DynamoDB table detections are written to (detector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detections_table: Option<String>,
    /// The topic alerts are published to (detector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts_topic: Option<String>,
    /// An EventBridge schedule invoking the function (simulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// Kinesis -> S3 bronze.
    Ingest,
    /// Bot/DDoS detection with tumbling windows.
    Detector,
    /// Event generator.
    Simulator,
}

impl Workload {
    pub fn as_str(self) -> &'static str {
        match self {
            Workload::Ingest => "ingest",
            Workload::Detector => "detector",
            Workload::Simulator => "simulator",
        }
    }
}

/// A Kinesis event source mapping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamTrigger {
    /// Name of a stream under `streams`.
    pub stream: String,
    /// Records per invocation (Kinesis allows 1-10000).
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 10000))]
    pub batch_size: u32,
    /// Seconds to gather records before invoking (0-300).
    #[serde(default)]
    #[schemars(range(max = 300))]
    pub batching_window_seconds: u32,
    /// Where a new mapping starts reading.
    #[serde(default)]
    pub starting_position: StartingPosition,
    /// Retries of a failing batch (-1 = until the record expires; 0-10000).
    #[serde(default = "default_retries")]
    #[schemars(range(min = -1, max = 10000))]
    pub max_retries: i32,
    /// Oldest record age retried, in seconds (-1 = no limit; 60-604800).
    #[serde(default = "default_record_age")]
    #[schemars(range(min = -1, max = 604800))]
    pub max_record_age_seconds: i32,
    /// Split a failing batch in two to isolate the bad record.
    #[serde(default = "yes")]
    pub bisect_on_error: bool,
    /// Send records that exhausted their retries to an SQS queue.
    #[serde(default = "yes")]
    pub on_failure_queue: bool,
    /// Concurrent batches per shard (1-10). The detector needs 1 so each window
    /// sees all of a shard's records.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 10))]
    pub parallelization_factor: u32,
}

fn default_batch_size() -> u32 {
    100
}
fn default_retries() -> i32 {
    3
}
fn default_record_age() -> i32 {
    3600
}
fn one() -> u32 {
    1
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StartingPosition {
    /// The oldest record still in the stream.
    #[default]
    TrimHorizon,
    /// Only records written after the mapping is created.
    Latest,
}

/// An EventBridge schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// `rate(N minutes|hours|days)` or `cron(...)` with six fields.
    pub expression: String,
    /// Created disabled unless set (running on a schedule costs money).
    #[serde(default)]
    pub enabled: bool,
}

/// The ETL container job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EtlJob {
    /// vCPU units of the Fargate task (256, 512, 1024, 2048, 4096, 8192, 16384).
    #[serde(default = "default_cpu")]
    pub cpu: u32,
    /// Memory of the Fargate task in MB (must fit the CPU size).
    #[serde(default = "default_etl_memory")]
    #[schemars(range(min = 512, max = 122880))]
    pub memory_mb: u32,
    /// Schedule of the job.
    #[serde(default = "default_etl_schedule")]
    pub schedule: Schedule,
    /// Days the job's log group keeps logs.
    #[serde(default = "default_log_retention")]
    pub log_retention_days: u32,
}

fn default_cpu() -> u32 {
    1024
}
fn default_etl_memory() -> u32 {
    4096
}
fn default_etl_schedule() -> Schedule {
    Schedule {
        expression: "rate(1 hour)".into(),
        enabled: false,
    }
}

/// The Glue catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Crawlers for bronze, silver and gold (on demand; the ETL registers
    /// partitions itself, crawlers are kept for parity with the originals).
    #[serde(default = "yes")]
    pub crawlers: bool,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog { crawlers: true }
    }
}

/// The Athena workgroup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Athena {
    /// Largest scan one query may make, in MB (a cost guard; unset = no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 10000000))]
    pub bytes_scanned_cutoff_mb: Option<u64>,
    /// Register the named queries of spec/queries.md.
    #[serde(default = "yes")]
    pub named_queries: bool,
}

impl Default for Athena {
    fn default() -> Self {
        Athena {
            bytes_scanned_cutoff_mb: None,
            named_queries: true,
        }
    }
}

/// A DynamoDB table (on-demand, encrypted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DynamoTable {
    /// Point-in-time recovery.
    #[serde(default = "yes")]
    pub point_in_time_recovery: bool,
}

/// An SNS topic (KMS-encrypted with `alias/aws/sns`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// Who receives the topic's messages.
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
}

/// A subscription to a topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub protocol: SubscriptionProtocol,
    /// An email address, an SQS queue ARN, or an https URL.
    pub endpoint: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionProtocol {
    Email,
    Sqs,
    Https,
}

impl SubscriptionProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionProtocol::Email => "email",
            SubscriptionProtocol::Sqs => "sqs",
            SubscriptionProtocol::Https => "https",
        }
    }
}

/// CloudWatch alarms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alarms {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The topic alarms notify (a name under `topics`).
    #[serde(default = "default_alerts_topic")]
    pub topic: String,
    /// Alarm when a consumer falls this far behind the stream, in milliseconds.
    #[serde(default = "default_iterator_age")]
    #[schemars(range(min = 1000, max = 604800000))]
    pub iterator_age_ms: u64,
}

impl Default for Alarms {
    fn default() -> Self {
        Alarms {
            enabled: true,
            topic: default_alerts_topic(),
            iterator_age_ms: default_iterator_age(),
        }
    }
}

fn default_alerts_topic() -> String {
    "alerts".into()
}
fn default_iterator_age() -> u64 {
    60_000
}

/// The CloudWatch dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl Default for Dashboard {
    fn default() -> Self {
        Dashboard { enabled: true }
    }
}

/// Firehose raw backup of a stream into the lake.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirehoseBackup {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Name of the stream under `streams` to copy.
    pub stream: String,
    /// Key prefix in the lake bucket; must end with `/`.
    #[serde(default = "default_backup_prefix")]
    pub prefix: String,
    /// Seconds Firehose buffers before writing (0-900).
    #[serde(default = "default_buffer_seconds")]
    #[schemars(range(max = 900))]
    pub buffer_seconds: u32,
    /// MB Firehose buffers before writing (1-128).
    #[serde(default = "default_buffer_mb")]
    #[schemars(range(min = 1, max = 128))]
    pub buffer_mb: u32,
}

fn default_backup_prefix() -> String {
    "raw-backup/".into()
}
fn default_buffer_seconds() -> u32 {
    60
}
fn default_buffer_mb() -> u32 {
    5
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The renderer hands `as_str` to the workloads (SOURCE_FORMAT, --source-format),
    /// which read it with the events crate's parser: the two enums must agree.
    #[test]
    fn source_formats_agree_with_the_workloads() {
        for f in [
            SourceFormat::Flashcommerce,
            SourceFormat::Capstone,
            SourceFormat::Rees46,
            SourceFormat::UkRetail,
        ] {
            let parsed = pipegen_events::SourceFormat::parse(f.as_str()).unwrap_or_else(|| panic!("{f:?}"));
            assert_eq!(parsed.as_str(), f.as_str());
            assert_eq!(
                serde_json::to_value(f).unwrap(),
                f.as_str(),
                "the YAML spelling is the workloads' spelling"
            );
        }
    }
}
