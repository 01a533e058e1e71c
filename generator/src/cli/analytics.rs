//! `pipegen query` and `pipegen dashboard`: the analysts' side.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Cli, INTERNAL_ERROR, OK, USER_ERROR, report};
use crate::diagnostic::Diagnostic;
use crate::query::{self, QueryError, QueryResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// `pipegen query`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    pub env: String,
    /// A named query (file name of queries/*.sql without .sql); `--list` shows them.
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// List the named queries with their questions and parameters.
    #[arg(long)]
    pub list: bool,
    /// A parameter of the query: `--param seller_id=S1`.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = key_value)]
    pub params: Vec<(String, String)>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Run on the local emulator's lake (the ETL's SQL engine) instead of Athena.
    #[arg(long)]
    pub local: bool,
    /// The endpoint: the emulator's with --local (default: the one
    /// localstack/moto.sh recorded); without --local, an Athena endpoint.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint: Option<String>,
    /// Where the workload binaries are (the ETL answers local queries).
    #[arg(long, env = "PIPEGEN_WORKLOADS_DIR")]
    pub workloads_dir: Option<PathBuf>,
}

fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE (e.g. seller_id=S1)")),
    }
}

/// The emulator for a local command: the one given, else the recorded one.
pub(crate) fn local_endpoint(cli: &Cli, given: Option<&str>, err: &mut dyn Write) -> anyhow::Result<Option<String>> {
    match given.map(str::to_string).or_else(super::local::recorded_endpoint) {
        Some(e) => Ok(Some(e)),
        None => {
            report(
                cli,
                &vec![
                    Diagnostic::new(None, "", "no local emulator is known")
                        .with_help("run the pipeline with `pipegen up ENV` first, or pass --endpoint URL"),
                ]
                .into(),
                err,
            )?;
            Ok(None)
        }
    }
}

pub fn cmd_query(cli: &Cli, args: &QueryArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    if args.list {
        for q in query::named_queries() {
            let params = if q.params.is_empty() {
                String::new()
            } else {
                format!(
                    "  (--param {})",
                    q.params
                        .iter()
                        .map(|p| format!("{p}=..."))
                        .collect::<Vec<_>>()
                        .join(" --param ")
                )
            };
            writeln!(out, "{:32} {}{params}", q.name, q.question)?;
        }
        return Ok(OK);
    }
    let Some(env) = super::local::environment(cli, &args.env, err)? else {
        return Ok(USER_ERROR);
    };
    let name = args.name.as_deref().unwrap_or_default();
    let result = (|| -> Result<Option<QueryResult>, QueryError> {
        let q = query::find(name)?;
        let params = query::bind_params(&q, &args.params)?;
        if args.local {
            let Some(endpoint) =
                local_endpoint(cli, args.endpoint.as_deref(), err).map_err(|e| QueryError::Engine(e.to_string()))?
            else {
                return Ok(None);
            };
            let etl = query::etl_binary(&super::local::workspace_root(), args.workloads_dir.as_deref())?;
            return query::run_local(&env.graph, &endpoint, &etl, q.sql, &params).map(Some);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| QueryError::Engine(e.to_string()))?;
        rt.block_on(async {
            let aws = crate::deploy::Aws::connect(&env.graph.region, args.endpoint.as_deref()).await;
            query::run_athena(&aws.config, &env.graph, q.sql, &params).await
        })
        .map(Some)
    })();
    match result {
        Ok(None) => Ok(USER_ERROR),
        Ok(Some(r)) => {
            match args.output {
                Format::Table => query::write_table(out, &r)?,
                Format::Csv => query::write_csv(out, &r)?,
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?,
            }
            Ok(OK)
        }
        Err(e @ (QueryError::Unknown { .. } | QueryError::Input(_))) => {
            writeln!(err, "error: {e}")?;
            Ok(USER_ERROR)
        }
        Err(e) => {
            writeln!(err, "error: {e}")?;
            Ok(INTERNAL_ERROR)
        }
    }
}

/// `pipegen dashboard`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct DashboardArgs {
    pub env: String,
    /// The HTML file to write (default: out/<env>/dashboard.html).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The emulator (default: the one localstack/moto.sh recorded).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint: Option<String>,
    /// Where the workload binaries are (the ETL answers the views' queries).
    #[arg(long, env = "PIPEGEN_WORKLOADS_DIR")]
    pub workloads_dir: Option<PathBuf>,
}

/// The newest ETL run report in the lake (`_state/etl/runs/<run id>.json`).
async fn last_run(aws: &crate::deploy::Aws, bucket: &str) -> Option<serde_json::Value> {
    let list = aws
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("_state/etl/runs/")
        .send()
        .await
        .ok()?;
    let key = list.contents().iter().filter_map(|o| o.key()).max()?.to_string();
    let body = aws
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .ok()?
        .body
        .collect()
        .await
        .ok()?;
    serde_json::from_slice(&body.into_bytes()).ok()
}

pub fn cmd_dashboard(cli: &Cli, args: &DashboardArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let Some(env) = super::local::environment(cli, &args.env, err)? else {
        return Ok(USER_ERROR);
    };
    let Some(endpoint) = local_endpoint(cli, args.endpoint.as_deref(), err)? else {
        return Ok(USER_ERROR);
    };
    let etl = match query::etl_binary(&super::local::workspace_root(), args.workloads_dir.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            writeln!(err, "error: {e}")?;
            return Ok(USER_ERROR);
        }
    };
    let mut results = Vec::new();
    for view in crate::dashboard::VIEWS {
        match query::run_local(&env.graph, &endpoint, &etl, view.sql, &[]) {
            Ok(r) => results.push((view, r)),
            Err(e) => {
                writeln!(err, "error: the {} view: {e}", view.id)?;
                return Ok(INTERNAL_ERROR);
            }
        }
    }
    let lake = env
        .graph
        .resources
        .iter()
        .find(|r| r.id == "LakeBucket")
        .and_then(|r| r.name.clone())
        .unwrap_or_default();
    let run = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let aws = crate::deploy::Aws::connect(&env.graph.region, Some(&endpoint)).await;
            last_run(&aws, &lake).await
        });
    let page = crate::dashboard::html(&env.name, &results, run.as_ref());
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&env.name).join("dashboard.html"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, &page)?;
    let drawn = results.iter().filter(|(_, r)| !r.rows.is_empty()).count();
    writeln!(
        out,
        "{}: {} views ({drawn} with data), {} bytes, self-contained",
        path.display(),
        results.len(),
        page.len()
    )?;
    Ok(OK)
}
