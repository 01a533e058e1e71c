//! The command line. Commands write to the writers they are given and return
//! an exit code, so tests run whole commands in-process (the habit of
//! cloudformation-guard's `commands/`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::environment::{EnvironmentFile, EnvironmentFiles};
use crate::naming::check_name_part;
use crate::validate::{self, json_schema};

pub mod analytics;
mod build;
pub mod deploy;
pub mod local;

/// Exit code: everything went well.
pub const OK: u8 = 0;
/// Exit code: the input (environment files, arguments) has a problem.
pub const USER_ERROR: u8 = 1;
/// Exit code: pipegen itself failed (a bug, or the machine: disk, permissions).
pub const INTERNAL_ERROR: u8 = 2;

/// Typed, forkable e-commerce analytics pipelines on AWS.
#[derive(Debug, Parser)]
#[command(name = "pipegen", version, about, long_about = None)]
pub struct Cli {
    /// Folder holding the environment files.
    #[arg(long, global = true, default_value = "environments", env = "PIPEGEN_ENVIRONMENTS")]
    pub environments: PathBuf,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// More logging (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check environments (all when none is named) and report every problem.
    Validate {
        /// Environment names (file names without .yaml).
        envs: Vec<String>,
    },
    /// Show the environments as their `extends` tree.
    Envs,
    /// Create a new environment that extends FROM, and validate it.
    Fork {
        /// The environment to extend.
        from: String,
        /// The new environment's name (becomes NEW.yaml).
        new: String,
        /// Tenant id of the new environment (default: NEW).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Print an environment's resource graph.
    Graph {
        env: String,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// Render environments to CloudFormation and/or Terraform.
    Render {
        /// Environment names; see --all.
        envs: Vec<String>,
        /// Render every environment.
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = crate::render::Target::All)]
        target: crate::render::Target,
        /// Output folder; each environment goes to DIR/<env>/.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Repository root, for the workloads' content hashes.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
    },
    /// Build the workloads and package them (Lambda zips, the ETL's container
    /// context and binary), content-addressed.
    Build(build::BuildArgs),
    /// Show what `apply` would change: a CloudFormation change set, described
    /// and deleted (add --local for the local emulator).
    Plan(deploy::DeployArgs),
    /// Deploy an environment: bootstrap its artifacts bucket, upload the
    /// workloads, execute a change set (add --local for the local emulator).
    Apply(deploy::DeployArgs),
    /// Delete every resource of an environment, its buckets emptied first,
    /// and check that nothing is left (add --local for the local emulator).
    Destroy(deploy::DeployArgs),
    /// The deployed stack: status, outputs, drift.
    Status {
        env: String,
        /// Talk to this endpoint (an emulator) instead of AWS.
        #[arg(long, env = "AWS_ENDPOINT_URL")]
        endpoint: Option<String>,
    },
    /// The whole pipeline on this machine: emulator, build, apply, simulate,
    /// ingest and detect, ETL, and a reconciled summary.
    Up(local::UpArgs),
    /// Destroy what `up` created and stop the emulator if `up` started it.
    Down {
        env: String,
        #[arg(long, env = "AWS_ENDPOINT_URL")]
        endpoint: Option<String>,
    },
    /// Run a named query (queries/*.sql) on the environment's gold tables:
    /// with --local on the emulator's lake, else in its Athena workgroup.
    Query(analytics::QueryArgs),
    /// Write the business dashboard (one offline HTML file) from the local
    /// environment's gold tables.
    Dashboard(analytics::DashboardArgs),
    /// Print the JSON Schema of environment files (for editors).
    Schema {
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Text,
    Dot,
    Json,
}

/// Logs go to standard error through `tracing`; colour only on a terminal.
pub fn init_tracing(cli: &Cli) {
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("pipegen={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(use_color(cli.color, std::io::stderr().is_terminal()))
        .without_time()
        .try_init();
}

pub(crate) fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Runs a command. Output goes to `out`, diagnostics to `err`.
pub fn run(cli: &Cli, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let result = match &cli.command {
        Command::Validate { envs } => cmd_validate(cli, envs, out, err),
        Command::Envs => cmd_envs(cli, out, err),
        Command::Fork { from, new, tenant } => cmd_fork(cli, from, new, tenant.as_deref(), out, err),
        Command::Graph { env, format } => cmd_graph(cli, env, *format, out, err),
        Command::Schema { out: path } => cmd_schema(path.as_deref(), out),
        Command::Plan(args) => deploy::cmd(cli, deploy::Verb::Plan, args, &local::workspace_root(), out, err),
        Command::Apply(args) => deploy::cmd(cli, deploy::Verb::Apply, args, &local::workspace_root(), out, err),
        Command::Destroy(args) => deploy::cmd(cli, deploy::Verb::Destroy, args, &local::workspace_root(), out, err),
        Command::Query(args) => analytics::cmd_query(cli, args, out, err),
        Command::Dashboard(args) => analytics::cmd_dashboard(cli, args, out, err),
        Command::Status { env, endpoint } => deploy::cmd_status(cli, env, endpoint.as_deref(), out, err),
        Command::Build(args) => build::cmd_build(cli, args, &local::workspace_root(), out, err),
        Command::Up(args) => local::cmd_up(cli, args, out, err),
        Command::Down { env, endpoint } => local::cmd_down(cli, env, endpoint.as_deref(), out, err),
        Command::Render {
            envs,
            all,
            target,
            out: dir,
            workspace,
        } => cmd_render(cli, envs, *all, *target, dir, workspace, out, err),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(err, "error: {e:#}");
            INTERNAL_ERROR
        }
    }
}

pub(crate) fn report(cli: &Cli, diagnostics: &Diagnostics, err: &mut dyn Write) -> std::io::Result<()> {
    let bold = use_color(cli.color, std::io::stderr().is_terminal());
    for d in diagnostics.iter() {
        let text = d.render();
        if bold {
            writeln!(err, "\x1b[1;31m{}\x1b[0m", text.trim_end())?;
        } else {
            writeln!(err, "{}", text.trim_end())?;
        }
        writeln!(err)?;
    }
    if !diagnostics.is_empty() {
        let n = diagnostics.len();
        writeln!(err, "{n} problem{} found", if n == 1 { "" } else { "s" })?;
    }
    Ok(())
}

pub(crate) fn load(cli: &Cli, err: &mut dyn Write) -> anyhow::Result<Option<EnvironmentFiles>> {
    match EnvironmentFiles::read_dir(&cli.environments) {
        Ok(files) => Ok(Some(files)),
        Err(d) => {
            report(cli, &vec![d].into(), err)?;
            Ok(None)
        }
    }
}

fn cmd_validate(cli: &Cli, envs: &[String], out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let Some(files) = load(cli, err)? else {
        return Ok(USER_ERROR);
    };
    if files.files.is_empty() {
        report(
            cli,
            &vec![Diagnostic::new(
                None,
                "",
                format!("no environment files (*.yaml) in {}", cli.environments.display()),
            )]
            .into(),
            err,
        )?;
        return Ok(USER_ERROR);
    }
    let start = std::time::Instant::now();
    let (valid, diagnostics) = validate::validate_set(&files, envs);
    tracing::info!(elapsed = ?start.elapsed(), "validated");
    for env in &valid {
        writeln!(
            out,
            "ok  {:24} {:3} resources  (extends: {})",
            env.name,
            env.graph.resources.len(),
            if env.chain.len() > 1 {
                env.chain[1..].join(" <- ")
            } else {
                "-".into()
            }
        )?;
    }
    report(cli, &diagnostics, err)?;
    Ok(if diagnostics.is_empty() { OK } else { USER_ERROR })
}

fn cmd_envs(cli: &Cli, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let Some(files) = load(cli, err)? else {
        return Ok(USER_ERROR);
    };
    // Parent of each environment; broken ones are shown at the root, marked.
    let mut children: std::collections::BTreeMap<Option<String>, Vec<String>> = Default::default();
    let mut broken = std::collections::BTreeMap::new();
    for name in files.names() {
        let parent = match files.chain(name) {
            Ok(chain) => chain.get(1).map(|f| f.name.clone()),
            Err(d) => {
                broken.insert(name.to_string(), d.0[0].message.clone());
                None
            }
        };
        children.entry(parent).or_default().push(name.to_string());
    }
    fn walk(
        out: &mut dyn Write,
        children: &std::collections::BTreeMap<Option<String>, Vec<String>>,
        broken: &std::collections::BTreeMap<String, String>,
        parent: Option<String>,
        indent: &str,
    ) -> std::io::Result<()> {
        let Some(kids) = children.get(&parent) else {
            return Ok(());
        };
        for (i, kid) in kids.iter().enumerate() {
            let last = i + 1 == kids.len();
            let (branch, next) = if parent.is_none() {
                ("", String::new())
            } else if last {
                ("└── ", format!("{indent}    "))
            } else {
                ("├── ", format!("{indent}│   "))
            };
            match broken.get(kid) {
                Some(why) => writeln!(out, "{indent}{branch}{kid}  (invalid: {why})")?,
                None => writeln!(out, "{indent}{branch}{kid}")?,
            }
            walk(out, children, broken, Some(kid.clone()), &next)?;
        }
        Ok(())
    }
    walk(out, &children, &broken, None, "")?;
    Ok(if broken.is_empty() { OK } else { USER_ERROR })
}

fn cmd_fork(
    cli: &Cli,
    from: &str,
    new: &str,
    tenant: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let Some(mut files) = load(cli, err)? else {
        return Ok(USER_ERROR);
    };
    let tenant = tenant.unwrap_or(new);
    let mut problems = Vec::new();
    if let Err(e) = check_name_part(new) {
        problems.push(Diagnostic::new(None, "", format!("the environment name {e}")));
    }
    if let Err(e) = check_name_part(tenant) {
        problems.push(
            Diagnostic::new(None, "", format!("the tenant {e}"))
                .with_help("pass --tenant with lower case letters, digits and hyphens"),
        );
    }
    let path = cli.environments.join(format!("{new}.yaml"));
    if files.files.contains_key(new) || path.exists() {
        problems.push(
            Diagnostic::new(None, "", format!("{} already exists", path.display()))
                .with_help("choose another name, or edit the existing file"),
        );
    }
    if !files.files.contains_key(from)
        && let Err(d) = files.chain(from)
    {
        problems.extend(d.0);
    }
    if !problems.is_empty() {
        report(cli, &problems.into(), err)?;
        return Ok(USER_ERROR);
    }
    let text = fork_text(from, tenant);
    files.files.insert(
        new.to_string(),
        EnvironmentFile::from_bytes(&path, text.clone().into_bytes()),
    );
    let (_, diagnostics) = validate::validate_set(&files, &[new.to_string()]);
    if !diagnostics.is_empty() {
        report(cli, &diagnostics, err)?;
        writeln!(err, "{} was not written", path.display())?;
        return Ok(USER_ERROR);
    }
    std::fs::write(&path, text)?;
    writeln!(
        out,
        "wrote {} (extends {from}, tenant {tenant}); it validates",
        path.display()
    )?;
    Ok(OK)
}

/// The text of a new fork: the smallest file that is a valid environment.
pub fn fork_text(from: &str, tenant: &str) -> String {
    format!(
        "# yaml-language-server: $schema=../schema/environment.schema.json\n\
         # Forked from {from}: override only what differs (maps merge, lists replace).\n\
         extends: {from}\n\
         tenant: {tenant}\n"
    )
}

fn cmd_graph(
    cli: &Cli,
    env: &str,
    format: GraphFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let Some(files) = load(cli, err)? else {
        return Ok(USER_ERROR);
    };
    match validate::validate_one(&files, env) {
        Err(d) => {
            report(cli, &d, err)?;
            Ok(USER_ERROR)
        }
        Ok(env) => {
            match format {
                GraphFormat::Text => write!(out, "{}", env.graph.to_text())?,
                GraphFormat::Dot => write!(out, "{}", env.graph.to_dot())?,
                GraphFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&env.graph)?)?,
            }
            Ok(OK)
        }
    }
}

/// The schema as committed in `schema/environment.schema.json`.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(json_schema()).expect("schema serializes");
    text.push('\n');
    text
}

fn cmd_schema(path: Option<&Path>, out: &mut dyn Write) -> anyhow::Result<u8> {
    let text = schema_text();
    match path {
        Some(p) => std::fs::write(p, text)?,
        None => out.write_all(text.as_bytes())?,
    }
    Ok(OK)
}

#[allow(clippy::too_many_arguments)]
fn cmd_render(
    cli: &Cli,
    envs: &[String],
    all: bool,
    target: crate::render::Target,
    dir: &Path,
    workspace: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let Some(files) = load(cli, err)? else {
        return Ok(USER_ERROR);
    };
    if envs.is_empty() && !all {
        report(
            cli,
            &vec![
                Diagnostic::new(None, "", "name the environments to render")
                    .with_help("e.g. `pipegen render dev`, or `pipegen render --all`"),
            ]
            .into(),
            err,
        )?;
        return Ok(USER_ERROR);
    }
    let names: Vec<String> = if all { Vec::new() } else { envs.to_vec() };
    let (valid, diagnostics) = validate::validate_set(&files, &names);
    if !diagnostics.is_empty() {
        report(cli, &diagnostics, err)?;
        return Ok(USER_ERROR);
    }
    let renderer = crate::render::Renderer::new()?;
    let hashes = crate::artifacts::source_hashes(workspace);
    for (env, rendered) in valid.iter().zip(renderer.render_many(&valid, target, &hashes)) {
        let rendered = rendered?;
        let env_dir = dir.join(&env.name);
        std::fs::create_dir_all(&env_dir)?;
        for f in &rendered {
            std::fs::write(env_dir.join(&f.name), &f.text)?;
        }
        let names: Vec<&str> = rendered.iter().map(|f| f.name.as_str()).collect();
        writeln!(out, "{:24} -> {} ({})", env.name, env_dir.display(), names.join(", "))?;
    }
    Ok(OK)
}
