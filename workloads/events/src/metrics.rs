//! Metric names the workloads emit (CloudWatch Embedded Metric Format log
//! lines) and the dashboard and alarms read. One place, so the two sides
//! cannot drift apart.

/// Namespace of the pipeline's own metrics; the dimension is `Environment`.
pub const NAMESPACE: &str = "pipegen";
/// The ETL's namespace (the alarm on failed runs reads it).
pub const ETL_NAMESPACE: &str = "pipegen/etl";

/// ingest: records received per batch.
pub const INGEST_RECORDS: &str = "IngestRecords";
/// ingest: payload bytes received per batch.
pub const INGEST_BYTES: &str = "IngestBytes";
/// ingest: payloads that were not JSON and went to quarantine.
pub const QUARANTINED_RECORDS: &str = "QuarantinedRecords";
/// ingest: bronze objects written.
pub const OBJECTS_WRITTEN: &str = "ObjectsWritten";
/// detector: users whose exact counts were dropped because the window state
/// reached its size cap.
pub const DETECTOR_STATE_OVERFLOW: &str = "DetectorStateOverflowUsers";

/// etl: 1 when a run failed (alarmed on).
pub const ETL_RUN_FAILED: &str = "RunFailed";
/// etl: wall time of a run.
pub const ETL_RUN_SECONDS: &str = "RunDurationSeconds";
/// etl: rows written to silver.
pub const ETL_SILVER_ROWS: &str = "SilverRows";
/// etl: rows sent to the invalid layer.
pub const ETL_INVALID_ROWS: &str = "InvalidRows";

/// detector: the original projects' metric name, kept for familiarity; the
/// namespace comes from the environment.
pub const HIGH_VOLUME_EVENTS: &str = "ecomm-user-high-volume-events";
