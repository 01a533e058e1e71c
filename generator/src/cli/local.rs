//! `plan`, `apply`, `destroy` (local engine for now), `up` and `down`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::{Cli, INTERNAL_ERROR, OK, USER_ERROR, load, report};
use crate::diagnostic::Diagnostic;
use crate::local::{self, Change, Emulator};
use crate::validate::{self, Environment};

/// Where plan/apply/destroy act.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Act on the local emulator (moto) instead of AWS.
    #[arg(long)]
    pub local: bool,
    /// Talk to this endpoint instead of AWS (an emulator, e.g. moto). With
    /// --local the default is the one `localstack/moto.sh start` recorded.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// `pipegen up`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// The environment to run (e.g. `dev`).
    pub env: String,
    /// Events the simulator sends (ignored when --replay is given).
    #[arg(long, default_value_t = 5_000)]
    pub events: u64,
    /// Bot users the simulator hides in the traffic.
    #[arg(long, default_value_t = 3)]
    pub bots: u32,
    /// Fraction of faulty events (malformed, unknown city, ...).
    #[arg(long, default_value_t = 0.02)]
    pub faults: f64,
    /// Simulator seed (same seed, same events).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Replay this file (CSV or JSON lines of the environment's source format)
    /// instead of simulating.
    #[arg(long)]
    pub replay: Option<PathBuf>,
    /// The emulator's endpoint; by default `up` uses (or starts) localstack/moto.sh's.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint: Option<String>,
    /// Where the workload binaries are (default: build them with cargo into target/debug).
    #[arg(long, env = "PIPEGEN_WORKLOADS_DIR")]
    pub workloads_dir: Option<PathBuf>,
    /// Write the summary as JSON to this file too.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
}

/// The named environment, validated; `None` when a problem was reported.
pub(crate) fn environment(cli: &Cli, name: &str, err: &mut dyn Write) -> anyhow::Result<Option<Environment>> {
    let Some(files) = load(cli, err)? else {
        return Ok(None);
    };
    match validate::validate_one(&files, name) {
        Ok(env) => Ok(Some(env)),
        Err(d) => {
            report(cli, &d, err)?;
            Ok(None)
        }
    }
}

/// The repository root: where `localstack/` is (the current directory, or
/// the workspace this binary was built from).
pub fn workspace_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if cwd.join("localstack/moto.sh").exists() {
        return cwd;
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if built.join("localstack/moto.sh").exists() {
        return built.canonicalize().unwrap_or(built);
    }
    cwd
}

/// The endpoint recorded by `localstack/moto.sh start`, if any.
pub fn recorded_endpoint() -> Option<String> {
    let text = std::fs::read_to_string(workspace_root().join("localstack/.run/endpoint")).ok()?;
    Some(text.trim().to_string()).filter(|s| !s.is_empty())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn need_local(cli: &Cli, target: &Target, _verb: &str, err: &mut dyn Write) -> anyhow::Result<Option<String>> {
    match target.endpoint.clone().or_else(recorded_endpoint) {
        Some(e) => Ok(Some(e)),
        None => {
            report(
                cli,
                &vec![
                    Diagnostic::new(None, "", "no local emulator is known")
                        .with_help("start one with `localstack/moto.sh start`, or pass --endpoint URL"),
                ]
                .into(),
                err,
            )?;
            Ok(None)
        }
    }
}

/// What plan/apply/destroy --local need: the emulator's endpoint, the
/// validated environment and a runtime; `None` when a problem was reported.
fn local_target(
    cli: &Cli,
    env: &str,
    target: &Target,
    verb: &str,
    err: &mut dyn Write,
) -> anyhow::Result<Option<(String, Environment, tokio::runtime::Runtime)>> {
    let Some(endpoint) = need_local(cli, target, verb, err)? else {
        return Ok(None);
    };
    let Some(env) = environment(cli, env, err)? else {
        return Ok(None);
    };
    Ok(Some((endpoint, env, runtime()?)))
}

pub fn cmd_plan(
    cli: &Cli,
    env: &str,
    target: &Target,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let Some((endpoint, env, rt)) = local_target(cli, env, target, "plan", err)? else {
        return Ok(USER_ERROR);
    };
    let planned = rt.block_on(async {
        let em = Emulator::connect(&endpoint, &env.graph.region).await?;
        local::plan(&env.graph, &em).await
    });
    let planned = match planned {
        Ok(p) => p,
        Err(e) => {
            writeln!(err, "error: {e}")?;
            return Ok(INTERNAL_ERROR);
        }
    };
    match output {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&planned)?)?,
        Output::Text => {
            for p in &planned {
                let mark = match p.change {
                    Change::Create => "+",
                    Change::Update { .. } => "~",
                    Change::Unchanged => "=",
                    Change::NotEmulated { .. } => "-",
                };
                writeln!(
                    out,
                    "{mark} {:32} {:28} {}",
                    p.id,
                    p.name.as_deref().unwrap_or("-"),
                    p.change
                )?;
            }
            writeln!(out, "{}", summary_line(&planned))?;
        }
    }
    Ok(OK)
}

fn summary_line(planned: &[local::Planned]) -> String {
    let count = |f: fn(&Change) -> bool| planned.iter().filter(|p| f(&p.change)).count();
    format!(
        "{} to create, {} to update, {} unchanged, {} not emulated",
        count(|c| matches!(c, Change::Create)),
        count(|c| matches!(c, Change::Update { .. })),
        count(|c| matches!(c, Change::Unchanged)),
        count(|c| matches!(c, Change::NotEmulated { .. })),
    )
}

pub fn cmd_apply(
    cli: &Cli,
    env: &str,
    target: &Target,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let Some((endpoint, env, rt)) = local_target(cli, env, target, "apply", err)? else {
        return Ok(USER_ERROR);
    };
    let result = rt.block_on(async {
        let em = Emulator::connect(&endpoint, &env.graph.region).await?;
        local::apply(&env.graph, &em, |p| {
            if matches!(p.change, Change::Create | Change::Update { .. }) {
                tracing::info!(id = %p.id, change = %p.change, "applied");
            }
        })
        .await
    });
    match result {
        Ok(planned) => {
            let changed = planned
                .iter()
                .any(|p| matches!(p.change, Change::Create | Change::Update { .. }));
            for p in planned
                .iter()
                .filter(|p| matches!(p.change, Change::Create | Change::Update { .. }))
            {
                writeln!(
                    out,
                    "{:8} {:32} {}",
                    if p.change == Change::Create {
                        "created"
                    } else {
                        "updated"
                    },
                    p.id,
                    p.name.as_deref().unwrap_or("-")
                )?;
            }
            if changed {
                writeln!(
                    out,
                    "{}: {} (applied on {endpoint})",
                    env.name,
                    summary_line(&planned).replace(" to ", " ")
                )?;
            } else {
                writeln!(
                    out,
                    "{}: no changes; {} resources already as described (on {endpoint})",
                    env.name,
                    planned.iter().filter(|p| p.change == Change::Unchanged).count()
                )?;
            }
            Ok(OK)
        }
        Err(e) => {
            writeln!(err, "error: {e}")?;
            Ok(INTERNAL_ERROR)
        }
    }
}

pub fn cmd_destroy(
    cli: &Cli,
    env: &str,
    target: &Target,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let Some((endpoint, env, rt)) = local_target(cli, env, target, "destroy", err)? else {
        return Ok(USER_ERROR);
    };
    let result = rt.block_on(async {
        let em = Emulator::connect(&endpoint, &env.graph.region).await?;
        local::destroy(&env.graph, &em, |r| tracing::info!(id = %r.id, "deleted")).await
    });
    match result {
        Ok((deleted, left)) if left.is_empty() => {
            writeln!(
                out,
                "{}: deleted {} resources; nothing of it is left on {endpoint}",
                env.name,
                deleted.len()
            )?;
            Ok(OK)
        }
        Ok((deleted, left)) => {
            writeln!(
                err,
                "error: deleted {} resources but these are still there: {}",
                deleted.len(),
                left.join(", ")
            )?;
            Ok(INTERNAL_ERROR)
        }
        Err(e) => {
            writeln!(err, "error: {e}")?;
            Ok(INTERNAL_ERROR)
        }
    }
}

pub fn cmd_up(cli: &Cli, args: &UpArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let Some(env) = environment(cli, &args.env, err)? else {
        return Ok(USER_ERROR);
    };
    crate::up::up(&env, args, &workspace_root(), out, err)
}

pub fn cmd_down(
    cli: &Cli,
    env: &str,
    endpoint: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let Some(env) = environment(cli, env, err)? else {
        return Ok(USER_ERROR);
    };
    crate::up::down(&env, endpoint, &workspace_root(), out, err)
}
