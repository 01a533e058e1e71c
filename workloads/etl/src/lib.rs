//! The ETL: bronze -> silver -> gold (spec/silver.md, spec/gold.md), with
//! polars for everything that needs many rows at once.
//!
//! `silver` applies the per-record rules; `frame` turns rows into columns;
//! `dedupe` keeps the first copy of each event id;
//! `gold` is one polars query per table; `run` orders the steps so that a run
//! is incremental, idempotent and reconciled; `store` is the lake (S3 or a
//! directory); `catalog` registers tables in Glue; `query` answers SQL over
//! gold (`etl query`, what `pipegen query` runs locally).
pub mod catalog;
pub mod cities;
pub mod dedupe;
pub mod frame;
pub mod gold;
pub mod query;
pub mod report;
pub mod run;
pub mod settings;
pub mod silver;
pub mod store;
