//! SQL over the gold tables of a lake (polars SQL): what `pipegen query` and
//! `pipegen dashboard` run locally, on the same Parquet objects Athena reads
//! in AWS.
//!
//! The named queries are written in the subset both engines accept (see
//! `queries/`): plain SELECTs over one gold table with WHERE, ORDER BY,
//! LIMIT, CASE, CAST and ROUND. Parameters are Athena's positional `?`; here
//! they become quoted literals, in order, outside strings and comments, which
//! is what Athena's execution parameters do too.
//!
//! Tables are read whole (gold is small: aggregates), with the Hive partition
//! columns taken from each object's key, typed as the catalog declares them.
//! Only the tables a query names are read.

use std::io::Cursor;

use polars::prelude::*;
use polars::sql::SQLContext;
use serde::Serialize;
use serde_json::Value as Json;

use pipegen_events::lake::{self, TableDef};

use crate::gold::dtype;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the query takes {expected} parameter(s) (`?`), {given} given")]
    Parameters { expected: usize, given: usize },
    #[error("the query names no gold table (known: {0})")]
    NoTable(String),
    #[error("{0}")]
    Polars(#[from] PolarsError),
}

/// A result: column names and rows of JSON values.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Json>>,
    /// Gold objects read.
    pub objects_read: usize,
}

/// Replaces each `?` outside string literals and comments with `params[i]`
/// as a quoted SQL string; `--` comments are removed.
pub fn bind(sql: &str, params: &[String]) -> Result<String, QueryError> {
    let mut out = String::with_capacity(sql.len());
    let mut used = 0;
    let mut chars = sql.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    out.push(chars.next().expect("peeked"));
                } else {
                    in_string = false;
                }
            }
            continue;
        }
        match c {
            '\'' => {
                in_string = true;
                out.push(c);
            }
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '?' => {
                let Some(p) = params.get(used) else {
                    used += 1;
                    continue;
                };
                out.push('\'');
                out.push_str(&p.replace('\'', "''"));
                out.push('\'');
                used += 1;
            }
            _ => out.push(c),
        }
    }
    if used != params.len() {
        return Err(QueryError::Parameters {
            expected: used,
            given: params.len(),
        });
    }
    Ok(out.trim().trim_end_matches(';').to_string())
}

/// The gold tables `sql` names (as whole words).
pub fn tables_named(sql: &str) -> Vec<&'static TableDef> {
    let words: std::collections::HashSet<&str> = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    lake::gold_tables().filter(|t| words.contains(t.name)).collect()
}

/// One gold table as a frame: every Parquet object under its prefix, with
/// the partition columns from the keys. An empty table has the declared
/// columns and no rows.
pub async fn read_table(store: &Store, gold_prefix: &str, table: &TableDef) -> Result<(DataFrame, usize), QueryError> {
    let prefix = format!("{gold_prefix}{}/", table.name);
    let mut frames = Vec::new();
    let objects: Vec<String> = store
        .list(&prefix)
        .await?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| k.ends_with(".parquet"))
        .collect();
    for key in &objects {
        let Some(bytes) = store.get(key).await? else { continue };
        let mut df = ParquetReader::new(Cursor::new(bytes)).finish()?;
        for pk in table.partition_keys {
            let value = key
                .split('/')
                .find_map(|seg| seg.strip_prefix(pk.name).and_then(|s| s.strip_prefix('=')))
                .unwrap_or_default();
            let column = Series::new(pk.name.into(), vec![value; df.height()]).cast(&dtype(pk.glue_type))?;
            df.with_column(column.into_column())?;
        }
        frames.push(df.lazy());
    }
    let columns: Vec<Expr> = table
        .partition_keys
        .iter()
        .chain(table.columns.iter())
        .map(|c| col(c.name).cast(dtype(c.glue_type)))
        .collect();
    let df = if frames.is_empty() {
        let schema: Schema = table
            .partition_keys
            .iter()
            .chain(table.columns.iter())
            .map(|c| Field::new(c.name.into(), dtype(c.glue_type)))
            .collect();
        DataFrame::empty_with_schema(&schema)
    } else {
        concat(frames, UnionArgs::default())?.select(columns).collect()?
    };
    Ok((df, objects.len()))
}

/// Runs `sql` (with `?` bound to `params`) over the gold tables it names.
pub async fn run(store: &Store, gold_prefix: &str, sql: &str, params: &[String]) -> Result<QueryResult, QueryError> {
    let bound = bind(sql, params)?;
    let tables = tables_named(&bound);
    if tables.is_empty() {
        let known: Vec<&str> = lake::gold_tables().map(|t| t.name).collect();
        return Err(QueryError::NoTable(known.join(", ")));
    }
    let mut ctx = SQLContext::new();
    let mut objects_read = 0;
    for t in tables {
        let (df, n) = read_table(store, gold_prefix, t).await?;
        objects_read += n;
        ctx.register(t.name, df.lazy());
    }
    let df = ctx.execute(&bound)?.collect()?;
    Ok(QueryResult {
        columns: df.get_column_names().iter().map(|c| c.to_string()).collect(),
        rows: rows(&df)?,
        objects_read,
    })
}

/// The frame's rows as JSON values (dates as `YYYY-MM-DD`, timestamps as
/// `YYYY-MM-DD HH:MM:SS.ffffff`, the form Athena prints).
fn rows(df: &DataFrame) -> PolarsResult<Vec<Vec<Json>>> {
    let columns = df.columns();
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let mut row = Vec::with_capacity(columns.len());
        for c in columns {
            row.push(json(c.get(i)?));
        }
        out.push(row);
    }
    Ok(out)
}

fn json(v: AnyValue) -> Json {
    match v {
        AnyValue::Null => Json::Null,
        AnyValue::Boolean(b) => Json::Bool(b),
        AnyValue::Int8(n) => n.into(),
        AnyValue::Int16(n) => n.into(),
        AnyValue::Int32(n) => n.into(),
        AnyValue::Int64(n) => n.into(),
        AnyValue::UInt8(n) => n.into(),
        AnyValue::UInt16(n) => n.into(),
        AnyValue::UInt32(n) => n.into(),
        AnyValue::UInt64(n) => n.into(),
        AnyValue::Float32(f) => serde_json::Number::from_f64(f as f64)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        AnyValue::Float64(f) => serde_json::Number::from_f64(f).map(Json::Number).unwrap_or(Json::Null),
        AnyValue::String(s) => Json::String(s.to_string()),
        AnyValue::StringOwned(s) => Json::String(s.to_string()),
        AnyValue::Date(days) => chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163)
            .map(|d| Json::String(d.to_string()))
            .unwrap_or(Json::Null),
        AnyValue::Datetime(t, unit, _) => {
            let micros = match unit {
                TimeUnit::Nanoseconds => t / 1_000,
                TimeUnit::Microseconds => t,
                TimeUnit::Milliseconds => t * 1_000,
            };
            chrono::DateTime::from_timestamp_micros(micros)
                .map(|d| Json::String(d.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f").to_string()))
                .unwrap_or(Json::Null)
        }
        other => Json::String(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_bind_outside_strings_and_comments() {
        let sql = "-- Who? params: seller_id\nSELECT '?' AS q, 'it''s' AS s FROM t WHERE a = ? AND b = ?";
        let bound = bind(sql, &["S1".into(), "o'brien".into()]).unwrap();
        assert_eq!(
            bound,
            "SELECT '?' AS q, 'it''s' AS s FROM t WHERE a = 'S1' AND b = 'o''brien'"
        );
        assert!(matches!(
            bind("SELECT 1 FROM t WHERE a = ?", &[]),
            Err(QueryError::Parameters { expected: 1, given: 0 })
        ));
        assert!(matches!(
            bind("SELECT 1 FROM t", &["x".into()]),
            Err(QueryError::Parameters { expected: 0, given: 1 })
        ));
    }

    #[test]
    fn tables_are_found_by_whole_word() {
        let names: Vec<&str> = tables_named("SELECT * FROM product_funnel JOIN geo_heatmap")
            .iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names.len(), 2);
        assert!(names.contains(&"product_funnel") && names.contains(&"geo_heatmap"));
        assert!(tables_named("SELECT * FROM product_funnels").is_empty());
    }
}
