//! The analysts' named queries (`queries/*.sql`), run where the environment
//! lives: locally on the gold Parquet in the emulator's S3 through the ETL
//! binary's SQL engine (`etl query`, polars; the CLI does not link polars),
//! or on AWS through Athena in the environment's workgroup. One SQL text for
//! both, in the subset both accept.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::resources::{Kind, ResourceGraph};

/// A named query: its SQL and what the file's comments say of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedQuery {
    pub name: &'static str,
    /// The business question (the file's first comment line).
    pub question: String,
    /// Parameter names, in the order of the SQL's `?` (`-- params: a, b`).
    pub params: Vec<String>,
    pub sql: &'static str,
}

/// Every named query, in the order of `spec/queries.md`.
pub fn named_queries() -> Vec<NamedQuery> {
    crate::render::QUERIES
        .iter()
        .map(|(name, sql)| {
            let comments: Vec<&str> = sql
                .lines()
                .take_while(|l| l.starts_with("--"))
                .map(|l| l.trim_start_matches("--").trim())
                .collect();
            let params = comments
                .iter()
                .find_map(|c| c.strip_prefix("params:"))
                .map(|p| {
                    p.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            NamedQuery {
                name,
                question: comments.first().map(|s| s.to_string()).unwrap_or_default(),
                params,
                sql,
            }
        })
        .collect()
}

/// A query's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Json>>,
    #[serde(default)]
    pub elapsed_ms: f64,
}

/// A failure to run a query, with what to do.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("unknown query `{name}`; the named queries are: {known}")]
    Unknown { name: String, known: String },
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Engine(String),
}

/// The values of a query's parameters, in SQL order, from `key=value` pairs.
pub fn bind_params(q: &NamedQuery, given: &[(String, String)]) -> Result<Vec<String>, QueryError> {
    if let Some((k, _)) = given.iter().find(|(k, _)| !q.params.contains(k)) {
        return Err(QueryError::Input(format!(
            "`{}` takes {}; `{k}` is not one of them",
            q.name,
            if q.params.is_empty() {
                "no parameters".to_string()
            } else {
                format!(
                    "--param {}",
                    q.params
                        .iter()
                        .map(|p| format!("{p}=..."))
                        .collect::<Vec<_>>()
                        .join(" --param ")
                )
            }
        )));
    }
    q.params
        .iter()
        .map(|p| {
            given
                .iter()
                .rev()
                .find(|(k, _)| k == p)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| QueryError::Input(format!("`{}` needs --param {p}=VALUE", q.name)))
        })
        .collect()
}

pub fn find(name: &str) -> Result<NamedQuery, QueryError> {
    let all = named_queries();
    all.iter()
        .find(|q| q.name == name)
        .cloned()
        .ok_or_else(|| QueryError::Unknown {
            name: name.to_string(),
            known: all.iter().map(|q| q.name).collect::<Vec<_>>().join(", "),
        })
}

fn resource_name(graph: &ResourceGraph, kind: Kind) -> Result<String, QueryError> {
    graph
        .resources
        .iter()
        .find(|r| r.kind == kind)
        .and_then(|r| r.name.clone())
        .ok_or_else(|| QueryError::Input(format!("the environment has no {kind:?}")))
}

/// The ETL binary that answers SQL: `dir/etl` when given, else the debug
/// build of this workspace (built if missing).
pub fn etl_binary(root: &Path, dir: Option<&Path>) -> Result<PathBuf, QueryError> {
    if let Some(d) = dir {
        let p = d.join("etl");
        return if p.is_file() {
            Ok(p)
        } else {
            Err(QueryError::Input(format!("{}: no etl binary there", p.display())))
        };
    }
    let p = root.join("target/debug/etl");
    if !p.is_file() {
        let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args(["build", "--quiet", "-p", "pipegen-etl"])
            .status()
            .map_err(|e| QueryError::Engine(format!("cargo: {e}")))?;
        if !status.success() {
            return Err(QueryError::Engine("building the ETL (its SQL engine) failed".into()));
        }
    }
    Ok(p)
}

/// Runs SQL on the gold tables of the environment's lake in the emulator.
pub fn run_local(
    graph: &ResourceGraph,
    endpoint: &str,
    etl: &Path,
    sql: &str,
    params: &[String],
) -> Result<QueryResult, QueryError> {
    let lake = graph
        .resources
        .iter()
        .find(|r| r.id == "LakeBucket")
        .and_then(|r| r.name.clone())
        .ok_or_else(|| QueryError::Input("the environment has no lake bucket".into()))?;
    let mut cmd = std::process::Command::new(etl);
    // `--key=value`: the SQL starts with a `--` comment, a value may too.
    cmd.args(["query", "--lake-bucket", &lake]).arg(format!("--sql={sql}"));
    for p in params {
        cmd.arg(format!("--param={p}"));
    }
    for (k, v) in [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", graph.region.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .map_err(|e| QueryError::Engine(format!("{}: {e}", etl.display())))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let message = text
            .lines()
            .filter(|l| l.starts_with("error"))
            .collect::<Vec<_>>()
            .join("\n");
        let message = if message.is_empty() {
            text.trim().to_string()
        } else {
            message
        };
        return Err(if out.status.code() == Some(1) {
            QueryError::Input(message)
        } else {
            QueryError::Engine(message)
        });
    }
    serde_json::from_slice(&out.stdout).map_err(|e| QueryError::Engine(format!("etl query printed no result: {e}")))
}

/// Runs SQL in the environment's Athena workgroup and waits for the result.
pub async fn run_athena(
    config: &aws_config::SdkConfig,
    graph: &ResourceGraph,
    sql: &str,
    params: &[String],
) -> Result<QueryResult, QueryError> {
    use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState};
    let athena = aws_sdk_athena::Client::new(config);
    let started = std::time::Instant::now();
    let workgroup = resource_name(graph, Kind::AthenaWorkgroup)?;
    let database = resource_name(graph, Kind::GlueDatabase)?;
    let mut request = athena
        .start_query_execution()
        .query_string(sql)
        .work_group(&workgroup)
        .query_execution_context(QueryExecutionContext::builder().database(&database).build());
    for p in params {
        // Execution parameters are SQL literals.
        request = request.execution_parameters(format!("'{}'", p.replace('\'', "''")));
    }
    let id = request
        .send()
        .await
        .map_err(engine("StartQueryExecution"))?
        .query_execution_id()
        .unwrap_or_default()
        .to_string();
    let mut wait = Duration::from_millis(200);
    loop {
        let q = athena
            .get_query_execution()
            .query_execution_id(&id)
            .send()
            .await
            .map_err(engine("GetQueryExecution"))?;
        let status = q.query_execution().and_then(|e| e.status());
        match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => break,
            Some(QueryExecutionState::Failed | QueryExecutionState::Cancelled) => {
                return Err(QueryError::Engine(format!(
                    "Athena query {id} {}: {}",
                    status.and_then(|s| s.state()).map(|s| s.as_str()).unwrap_or_default(),
                    status
                        .and_then(|s| s.state_change_reason())
                        .unwrap_or("no reason given")
                )));
            }
            _ => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        }
    }
    let mut result = QueryResult {
        columns: Vec::new(),
        rows: Vec::new(),
        elapsed_ms: 0.0,
    };
    let mut types = Vec::new();
    let mut token = None;
    let mut first_page = true;
    loop {
        let page = athena
            .get_query_results()
            .query_execution_id(&id)
            .set_next_token(token)
            .send()
            .await
            .map_err(engine("GetQueryResults"))?;
        let Some(set) = page.result_set() else { break };
        if first_page {
            for c in set.result_set_metadata().map(|m| m.column_info()).unwrap_or_default() {
                result.columns.push(c.name().to_string());
                types.push(c.r#type().to_ascii_lowercase());
            }
        }
        for (i, row) in set.rows().iter().enumerate() {
            let cells: Vec<Option<&str>> = row.data().iter().map(|d| d.var_char_value()).collect();
            // The first row of a SELECT's first page repeats the header.
            if first_page && i == 0 && cells.iter().zip(&result.columns).all(|(c, n)| *c == Some(n.as_str())) {
                continue;
            }
            result
                .rows
                .push(cells.iter().zip(types.iter()).map(|(c, t)| typed(*c, t)).collect());
        }
        first_page = false;
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    result.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(result)
}

fn engine<E: std::error::Error>(what: &'static str) -> impl FnOnce(E) -> QueryError {
    move |e| QueryError::Engine(format!("Athena {what}: {}", crate::local::err_text(&e)))
}

/// Athena returns every value as text; numbers and booleans become JSON ones.
fn typed(v: Option<&str>, ty: &str) -> Json {
    let Some(v) = v else { return Json::Null };
    match ty {
        "integer" | "bigint" | "smallint" | "tinyint" => {
            v.parse::<i64>().map(Json::from).unwrap_or(Json::String(v.into()))
        }
        "double" | "float" | "real" | "decimal" => v
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Json::Number)
            .unwrap_or(Json::String(v.into())),
        "boolean" => Json::Bool(v == "true"),
        _ => Json::String(v.into()),
    }
}

fn cell(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.2}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// The result as an aligned text table (numbers right-aligned).
pub fn write_table(out: &mut dyn Write, r: &QueryResult) -> std::io::Result<()> {
    let cells: Vec<Vec<String>> = r.rows.iter().map(|row| row.iter().map(cell).collect()).collect();
    let widths: Vec<usize> = r
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = (0..r.columns.len())
        .map(|i| !r.rows.is_empty() && r.rows.iter().all(|row| row[i].is_number() || row[i].is_null()))
        .collect();
    let line = |out: &mut dyn Write, values: Vec<String>| -> std::io::Result<()> {
        let parts: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if numeric[i] {
                    format!("{v:>w$}", w = widths[i])
                } else {
                    format!("{v:<w$}", w = widths[i])
                }
            })
            .collect();
        writeln!(out, "{}", parts.join("  ").trim_end())
    };
    line(out, r.columns.clone())?;
    line(out, widths.iter().map(|w| "-".repeat(*w)).collect())?;
    for row in cells {
        line(out, row)?;
    }
    writeln!(out, "({} rows, {:.0} ms)", r.rows.len(), r.elapsed_ms)
}

/// The result as CSV with a header.
pub fn write_csv(out: &mut dyn Write, r: &QueryResult) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(&r.columns)?;
    for row in &r.rows {
        w.write_record(row.iter().map(|v| match v {
            Json::String(s) => s.clone(),
            Json::Null => String::new(),
            other => other.to_string(),
        }))?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_query_has_a_question_and_its_parameters() {
        let all = named_queries();
        assert_eq!(all.len(), 12);
        for q in &all {
            assert!(
                q.question.ends_with('?') || q.question.contains('?'),
                "{}: {}",
                q.name,
                q.question
            );
            assert_eq!(
                q.params.len(),
                q.sql
                    .lines()
                    .filter(|l| !l.starts_with("--"))
                    .map(|l| l.matches('?').count())
                    .sum::<usize>(),
                "{}: one declared parameter per `?`",
                q.name
            );
        }
        let seller = find("top_products_per_seller").unwrap();
        assert_eq!(seller.params, ["seller_id"]);
        assert_eq!(
            bind_params(&seller, &[("seller_id".into(), "S1".into())]).unwrap(),
            ["S1"]
        );
        assert!(
            bind_params(&seller, &[])
                .unwrap_err()
                .to_string()
                .contains("--param seller_id=VALUE")
        );
        assert!(bind_params(&seller, &[("seller".into(), "S1".into())]).is_err());
        assert!(find("nope").unwrap_err().to_string().contains("revenue_by_city"));
    }

    #[test]
    fn tables_and_csv_show_every_value() {
        let r = QueryResult {
            columns: vec!["city".into(), "revenue".into(), "orders".into()],
            rows: vec![
                vec![Json::from("Agra"), Json::from(242838.126), Json::from(11)],
                vec![Json::from("Pune, MH"), Json::Null, Json::from(2)],
            ],
            elapsed_ms: 3.0,
        };
        let mut t = Vec::new();
        write_table(&mut t, &r).unwrap();
        let t = String::from_utf8(t).unwrap();
        assert!(t.contains("Agra      242838.13      11"), "{t}");
        assert!(t.contains("(2 rows"), "{t}");
        let mut c = Vec::new();
        write_csv(&mut c, &r).unwrap();
        assert_eq!(
            String::from_utf8(c).unwrap(),
            "city,revenue,orders\nAgra,242838.126,11\n\"Pune, MH\",,2\n"
        );
    }
}
