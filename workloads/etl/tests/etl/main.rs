//! The ETL's tests, in one binary (see Cargo.toml).
mod common;
mod emulator;
mod gold_tables;
mod incremental;
mod queries;
mod samples;
mod silver_rules;
