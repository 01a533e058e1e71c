//! `plan`, `apply`, `destroy` and `status` on AWS (CloudFormation change
//! sets), one environment or `--all` of them.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;

use super::local::{Output, Target};
use super::{Cli, INTERNAL_ERROR, OK, USER_ERROR, load, report};
use crate::deploy::{
    self, ArtifactSet, Aws, ChangeAction, DeployError, ParameterValue, StackEvent, StackPlan, StackStatus,
};
use crate::diagnostic::Diagnostic;
use crate::package;
use crate::render::{ArtifactHashes, Renderer};
use crate::resources::Kind;
use crate::validate::{self, Environment};

/// What plan, apply and destroy take.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// The environments (file names without .yaml); several are deployed
    /// at once (see --concurrency).
    pub envs: Vec<String>,
    /// Every environment of the folder.
    #[arg(long, conflicts_with = "envs")]
    pub all: bool,
    #[command(flatten)]
    pub target: Target,
    /// A stack parameter (the ETL's network): `--parameter VpcId=vpc-0abc
    /// --parameter EtlSubnetIds=subnet-1,subnet-2`. On an update, a missing
    /// one keeps the stack's value.
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<ParameterValue>,
    /// A `pipegen build` output folder to deploy (default: build now, see --profile).
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Cargo profile when apply builds the workloads.
    #[arg(long, default_value = "release")]
    pub profile: String,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// destroy: also destroy a `protected` environment.
    #[arg(long)]
    pub force: bool,
    /// With several environments: how many at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
    /// plan: text for people, JSON for machines.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Plan,
    Apply,
    Destroy,
}

impl Verb {
    fn word(self) -> &'static str {
        match self {
            Verb::Plan => "plan",
            Verb::Apply => "apply",
            Verb::Destroy => "destroy",
        }
    }
}

/// `pipegen plan|apply|destroy`: locally with --local, else on AWS.
pub fn cmd(
    cli: &Cli,
    verb: Verb,
    args: &DeployArgs,
    root: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    if args.target.local {
        let Some(env) = args.envs.first().filter(|_| !args.all && args.envs.len() == 1) else {
            report(
                cli,
                &vec![
                    Diagnostic::new(
                        None,
                        "",
                        format!("`pipegen {} --local` takes one environment", verb.word()),
                    )
                    .with_help("name it: `pipegen apply dev --local`"),
                ]
                .into(),
                err,
            )?;
            return Ok(USER_ERROR);
        };
        return match verb {
            Verb::Plan => super::local::cmd_plan(cli, env, &args.target, args.output, out, err),
            Verb::Apply => super::local::cmd_apply(cli, env, &args.target, out, err),
            Verb::Destroy => super::local::cmd_destroy(cli, env, &args.target, out, err),
        };
    }
    let Some(envs) = selected(cli, &args.envs, args.all, err)? else {
        return Ok(USER_ERROR);
    };
    if verb == Verb::Destroy {
        let protected: Vec<&str> = envs
            .iter()
            .filter(|e| e.config.protected)
            .map(|e| e.name.as_str())
            .collect();
        if !protected.is_empty() && !args.force {
            report(
                cli,
                &vec![
                    Diagnostic::new(None, "", format!("refusing to destroy protected environment{}: {}", if protected.len() > 1 { "s" } else { "" }, protected.join(", ")))
                        .with_help("`protected: true` in the environment file guards it; pass --force if you really mean to delete it and its data"),
                ]
                .into(),
                err,
            )?;
            return Ok(USER_ERROR);
        }
    }
    if verb != Verb::Plan && !args.yes {
        let question = match verb {
            Verb::Destroy => format!(
                "Destroy {} and delete every object (all versions) in {}?",
                list(&envs),
                if envs.len() == 1 {
                    "its buckets"
                } else {
                    "their buckets"
                }
            ),
            _ if envs.len() > 1 => format!("Apply {}?", list(&envs)),
            // One environment: apply shows its change set and asks then.
            _ => String::new(),
        };
        if !question.is_empty() && !confirm(&question, err)? {
            writeln!(err, "nothing done")?;
            return Ok(USER_ERROR);
        }
    }
    let artifacts = if verb == Verb::Apply {
        match artifact_sets(&envs, args, root, err)? {
            Some(a) => a,
            None => return Ok(USER_ERROR),
        }
    } else {
        Vec::new()
    };
    let renderer = Renderer::new()?;
    let interactive = verb == Verb::Apply && !args.yes && envs.len() == 1;
    let results = run_each(&envs, args.concurrency as usize, out, err, |env, buf| {
        let set = artifacts
            .iter()
            .find(|(arch, _)| *arch == env.config.lambda.architecture.as_str())
            .map(|(_, s)| s);
        one(verb, env, args, &renderer, set, interactive, buf)
    })?;
    let mut code = OK;
    let many = envs.len() > 1;
    for (env, (result, text)) in envs.iter().zip(results) {
        if many {
            writeln!(out, "== {}", env.name)?;
        }
        out.write_all(&text)?;
        let c = match result {
            Ok(c) => c,
            Err(DeployError::Input(m)) => {
                writeln!(err, "error: {}: {m}", env.name)?;
                USER_ERROR
            }
            Err(e) => {
                writeln!(err, "error: {}: {e}", env.name)?;
                INTERNAL_ERROR
            }
        };
        code = code.max(c);
    }
    Ok(code)
}

fn list(envs: &[Environment]) -> String {
    let names: Vec<String> = envs
        .iter()
        .map(|e| format!("{} (stack {})", e.name, deploy::stack_name(e)))
        .collect();
    names.join(", ")
}

/// The environments named (or all), validated; `None` when a problem was reported.
fn selected(cli: &Cli, envs: &[String], all: bool, err: &mut dyn Write) -> anyhow::Result<Option<Vec<Environment>>> {
    let Some(files) = load(cli, err)? else {
        return Ok(None);
    };
    let names: Vec<String> = match (envs.is_empty(), all) {
        (false, _) => envs.to_vec(),
        (true, true) => files.names().map(str::to_string).collect(),
        (true, false) => {
            report(
                cli,
                &vec![
                    Diagnostic::new(None, "", "name an environment, or pass --all")
                        .with_help("e.g. `pipegen plan dev`"),
                ]
                .into(),
                err,
            )?;
            return Ok(None);
        }
    };
    let (valid, diagnostics) = validate::validate_set(&files, &names);
    if !diagnostics.is_empty() {
        report(cli, &diagnostics, err)?;
        return Ok(None);
    }
    Ok(Some(valid))
}

/// Asks on the terminal; without one, the answer is no (pass --yes).
fn confirm(question: &str, err: &mut dyn Write) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        writeln!(
            err,
            "{question}\nerror: no terminal to confirm on; pass --yes to go ahead without asking"
        )?;
        return Ok(false);
    }
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// One artifact set per architecture the environments need: the folder
/// given, or a fresh build.
fn artifact_sets(
    envs: &[Environment],
    args: &DeployArgs,
    root: &Path,
    err: &mut dyn Write,
) -> anyhow::Result<Option<Vec<(String, ArtifactSet)>>> {
    let mut archs: Vec<String> = envs
        .iter()
        .map(|e| e.config.lambda.architecture.as_str().to_string())
        .collect();
    archs.sort();
    archs.dedup();
    if args.artifacts.is_some() && archs.len() > 1 {
        writeln!(
            err,
            "error: --artifacts holds one architecture's build, but these environments need {}\n  help: deploy each architecture's environments with its own `pipegen build` folder, or leave --artifacts out to build each",
            archs.join(" and ")
        )?;
        return Ok(None);
    }
    let mut sets = Vec::new();
    for arch in archs {
        let dir = match &args.artifacts {
            Some(d) => d.clone(),
            None => {
                writeln!(err, "building the workloads for {arch} ({} profile)", args.profile)?;
                let binaries = match package::cargo_build(root, &arch, &args.profile) {
                    Ok(d) => d,
                    Err(e) => {
                        writeln!(err, "error: {e}")?;
                        return Ok(None);
                    }
                };
                let dir = root.join("target/pipegen-artifacts").join(&arch);
                if let Err(e) = package::package(&binaries, &dir) {
                    writeln!(err, "error: {e}")?;
                    return Ok(None);
                }
                dir
            }
        };
        match ArtifactSet::load(&dir) {
            Ok(s) => sets.push((arch, s)),
            Err(e) => {
                writeln!(err, "error: {e}")?;
                return Ok(None);
            }
        }
    }
    Ok(Some(sets))
}

/// Where one environment's output goes: through to the command's output as
/// it happens (a single environment: a deployment takes minutes, and its
/// events should show as they come), or into a buffer printed whole once the
/// environment is done (several at once, so their lines never interleave).
enum Sink {
    Live(std::sync::mpsc::Sender<Shown>),
    Buffer(Vec<u8>),
}

/// What a live environment sends the command's thread: output, or a
/// question to ask once everything before it is printed (so the question
/// never overtakes the plan it is about).
enum Shown {
    Text(Vec<u8>),
    Ask(String, std::sync::mpsc::Sender<bool>),
}

impl Sink {
    /// Asks on the terminal, after what was written so far; no (and a line
    /// saying why) without one.
    fn confirm(&mut self, question: &str) -> bool {
        match self {
            Sink::Live(tx) => {
                let (reply, answer) = std::sync::mpsc::channel();
                tx.send(Shown::Ask(question.to_string(), reply)).is_ok() && answer.recv().unwrap_or(false)
            }
            Sink::Buffer(_) => confirm(question, &mut std::io::stderr()).unwrap_or(false),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            // A closed receiver means the command is gone; nothing to show to.
            Sink::Live(tx) => drop(tx.send(Shown::Text(bytes.to_vec()))),
            Sink::Buffer(b) => b.extend_from_slice(bytes),
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` for each environment on up to `bound` threads (each with its own
/// small runtime). One environment streams to `out`; several are buffered
/// and returned, to be printed in order.
fn run_each<F>(
    envs: &[Environment],
    bound: usize,
    out: &mut dyn Write,
    err: &mut dyn Write,
    f: F,
) -> std::io::Result<Vec<(Result<u8, DeployError>, Vec<u8>)>>
where
    F: Fn(&Environment, &mut Sink) -> Result<u8, DeployError> + Sync,
{
    if let [env] = envs {
        let (tx, rx) = std::sync::mpsc::channel();
        let f = &f;
        return std::thread::scope(|scope| {
            let worker = scope.spawn(move || f(env, &mut Sink::Live(tx)));
            for shown in rx {
                match shown {
                    Shown::Text(chunk) => {
                        out.write_all(&chunk)?;
                        out.flush()?;
                    }
                    Shown::Ask(question, reply) => {
                        let yes = confirm(&question, err).unwrap_or(false);
                        // A worker gone meanwhile has nothing left to ask.
                        let _ = reply.send(yes);
                    }
                }
            }
            let result = worker.join().expect("the worker does not panic");
            Ok(vec![(result, Vec::new())])
        });
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<(Result<u8, DeployError>, Vec<u8>)>>> =
        envs.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..bound.clamp(1, envs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(env) = envs.get(i) else { break };
                    let mut sink = Sink::Buffer(Vec::new());
                    let r = f(env, &mut sink);
                    let Sink::Buffer(text) = sink else {
                        unreachable!("buffered")
                    };
                    *results[i].lock().expect("no worker panics holding it") = Some((r, text));
                }
            });
        }
    });
    Ok(results
        .into_iter()
        .map(|m| m.into_inner().expect("not poisoned").expect("every environment ran"))
        .collect())
}

fn runtime() -> Result<tokio::runtime::Runtime, DeployError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DeployError::Input(format!("cannot start the async runtime: {e}")))
}

fn one(
    verb: Verb,
    env: &Environment,
    args: &DeployArgs,
    renderer: &Renderer,
    artifacts: Option<&ArtifactSet>,
    interactive: bool,
    out: &mut Sink,
) -> Result<u8, DeployError> {
    runtime()?.block_on(async {
        let aws = Aws::connect(&env.graph.region, args.target.endpoint.as_deref()).await;
        match verb {
            Verb::Plan => plan_env(&aws, env, args, renderer, out).await,
            Verb::Apply => apply_env(&aws, env, args, renderer, artifacts, interactive, out).await,
            Verb::Destroy => destroy_env(&aws, env, out).await,
        }
    })
}

fn tags(env: &Environment) -> Vec<(String, String)> {
    env.graph.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn w(out: &mut Sink, text: std::fmt::Arguments) {
    let _ = out.write_fmt(text);
    let _ = out.write_all(b"\n");
}

fn template(
    renderer: &Renderer,
    env: &Environment,
    graph: &crate::resources::ResourceGraph,
    hashes: &ArtifactHashes,
) -> Result<serde_json::Value, DeployError> {
    renderer
        .cloudformation_json(env, graph, hashes)
        .map_err(|e| DeployError::Input(format!("rendering: {e}")))
}

/// Computes the change set of `env`'s full template (and keeps it when `keep`).
async fn compute(
    aws: &Aws,
    env: &Environment,
    args: &DeployArgs,
    renderer: &Renderer,
    hashes: &ArtifactHashes,
    status: Option<&StackStatus>,
) -> Result<StackPlan, DeployError> {
    let stack = deploy::stack_name(env);
    let graph = deploy::deployable_graph(&env.graph, aws);
    let previous: Vec<String> = status.map(|s| s.parameters.clone()).unwrap_or_default();
    let parameters = deploy::resolve_parameters(&graph, &args.parameters, &previous)?;
    let body = template(renderer, env, &graph, hashes)?;
    let deployed = match status {
        Some(s) if s.status != "REVIEW_IN_PROGRESS" => deploy::deployed_template(aws, &stack).await?,
        _ => None,
    };
    deploy::plan(
        aws,
        &stack,
        status.map(|s| s.status.as_str()),
        &body,
        deployed.as_ref(),
        &parameters,
        &tags(env),
    )
    .await
}

fn print_plan(env: &Environment, plan: &StackPlan, out: &mut Sink) {
    w(
        out,
        format_args!(
            "stack {} ({}, {}): {}",
            plan.stack,
            env.name,
            env.graph.region,
            plan.stack_status.as_deref().unwrap_or("does not exist yet")
        ),
    );
    for c in &plan.changes {
        let mark = match c.action {
            ChangeAction::Add => "+",
            ChangeAction::Modify => "~",
            ChangeAction::Remove => "-",
            ChangeAction::Import => "<",
            ChangeAction::Dynamic => "?",
        };
        let mut detail = c.properties.join(", ");
        if c.action == ChangeAction::Modify && matches!(c.replacement.as_deref(), Some("true" | "conditional")) {
            detail = format!(
                "REPLACEMENT ({}) {detail}",
                c.replacement.as_deref().unwrap_or_default()
            );
        }
        if c.destroys_data() {
            detail = format!(
                "{detail}  !!! DESTROYS DATA: this {} and what it holds are deleted",
                c.resource_type
            );
        }
        w(
            out,
            format_args!("  {mark} {:34} {:32} {}", c.logical_id, c.resource_type, detail.trim()),
        );
    }
    let count = |a: ChangeAction| plan.changes.iter().filter(|c| c.action == a).count();
    if plan.changes.is_empty() {
        w(out, format_args!("no changes"));
    } else {
        w(
            out,
            format_args!(
                "{} to add, {} to modify, {} to remove{}",
                count(ChangeAction::Add),
                count(ChangeAction::Modify),
                count(ChangeAction::Remove),
                match plan.changes.iter().filter(|c| c.destroys_data()).count() {
                    0 => String::new(),
                    n => format!("; {n} of them destroy data"),
                }
            ),
        );
    }
}

async fn plan_env(
    aws: &Aws,
    env: &Environment,
    args: &DeployArgs,
    renderer: &Renderer,
    out: &mut Sink,
) -> Result<u8, DeployError> {
    let stack = deploy::stack_name(env);
    let status = deploy::stack_status(aws, &stack).await?;
    let (hashes, note) = plan_hashes(env, args)?;
    if let (Some(note), Output::Text) = (note, args.output) {
        w(out, format_args!("note: {note}"));
    }
    let mut plan = compute(aws, env, args, renderer, &hashes, status.as_ref()).await?;
    deploy::changeset::discard(aws, &mut plan).await?;
    match args.output {
        Output::Json => w(
            out,
            format_args!(
                "{}",
                serde_json::to_string_pretty(&plan).map_err(|e| DeployError::Input(e.to_string()))?
            ),
        ),
        Output::Text => print_plan(env, &plan, out),
    }
    Ok(OK)
}

/// The artifact hashes a plan shows: those of `--artifacts`, else of the
/// last `pipegen build` for the environment's architecture (what `apply
/// --artifacts` would deploy); without a build, the sources' hashes, which
/// say that code changed but are not the keys a build would give.
fn plan_hashes(env: &Environment, args: &DeployArgs) -> Result<(ArtifactHashes, Option<String>), DeployError> {
    let root = super::local::workspace_root();
    if let Some(dir) = &args.artifacts {
        return Ok((ArtifactSet::load(dir)?.hashes(), None));
    }
    let dir = root
        .join("target/pipegen-artifacts")
        .join(env.config.lambda.architecture.as_str());
    if dir.join("manifest.json").exists() {
        let note = format!("code keys from the last build, {}", dir.display());
        return Ok((ArtifactSet::load(&dir)?.hashes(), Some(note)));
    }
    Ok((
        crate::artifacts::source_hashes(&root),
        Some(
            "no `pipegen build` yet: code keys are hashes of the sources, so code shows as changed until built".into(),
        ),
    ))
}

fn print_event(out: &mut Sink, e: &StackEvent) {
    w(
        out,
        format_args!(
            "  {:34} {:32} {}{}",
            e.logical_id,
            e.resource_type,
            e.status,
            e.reason.as_deref().map(|r| format!("  {r}")).unwrap_or_default()
        ),
    );
}

async fn apply_env(
    aws: &Aws,
    env: &Environment,
    args: &DeployArgs,
    renderer: &Renderer,
    artifacts: Option<&ArtifactSet>,
    interactive: bool,
    out: &mut Sink,
) -> Result<u8, DeployError> {
    let Some(artifacts) = artifacts else {
        return Err(DeployError::Input("no artifacts for this architecture".into()));
    };
    let stack = deploy::stack_name(env);
    let hashes = artifacts.hashes();
    let mut status = deploy::stack_status(aws, &stack).await?;
    if let Some(s) = status.as_ref().filter(|s| s.needs_delete()) {
        return Err(DeployError::Input(format!(
            "stack {stack} is {} ({}); it cannot be updated\n  help: `pipegen destroy {}` and apply again",
            s.status,
            s.reason.as_deref().unwrap_or("a failed deployment"),
            env.name
        )));
    }
    let graph = deploy::deployable_graph(&env.graph, aws);
    let bucket = graph
        .resources
        .iter()
        .find(|r| r.id == deploy::ARTIFACTS_BUCKET)
        .and_then(|r| r.name.clone())
        .ok_or_else(|| DeployError::Input("the graph has no artifacts bucket".into()))?;
    let first = matches!(
        status.as_ref().map(|s| s.status.as_str()),
        None | Some("REVIEW_IN_PROGRESS")
    );
    // The full template's change set against what is deployed, shown (and
    // confirmed) before anything changes, bootstrap and uploads included.
    let mut plan = compute(aws, env, args, renderer, &hashes, status.as_ref()).await?;
    print_plan(env, &plan, out);
    if interactive && !plan.changes.is_empty() && !out.confirm(&format!("Apply these changes to stack {stack}?")) {
        deploy::changeset::discard(aws, &mut plan).await?;
        w(out, format_args!("nothing done"));
        return Ok(USER_ERROR);
    }
    if first {
        // The functions need their code in the bucket before they can be
        // created: this change set gives way to one made after the bootstrap.
        deploy::changeset::discard(aws, &mut plan).await?;
        w(
            out,
            format_args!("bootstrapping stack {stack}: the artifacts bucket {bucket} first"),
        );
        let body = template(renderer, env, &deploy::bootstrap_graph(&graph), &hashes)?;
        let s = deploy::bootstrap(
            aws,
            &stack,
            status.as_ref().map(|s| s.status.as_str()),
            &body,
            &tags(env),
            &mut |e| print_event(out, e),
        )
        .await?;
        status = Some(s);
    }
    // Also when nothing else changes: an artifact that went missing from the
    // bucket is put back.
    let uploaded = deploy::upload_artifacts(aws, &bucket, artifacts).await?;
    w(
        out,
        format_args!(
            "artifacts in s3://{bucket}: {} uploaded, {} already there",
            uploaded.uploaded.len(),
            uploaded.unchanged.len()
        ),
    );
    if first {
        plan = compute(aws, env, args, renderer, &hashes, status.as_ref()).await?;
    }
    if plan.changes.is_empty() {
        w(out, format_args!("{}: stack {stack} is up to date", env.name));
        return Ok(OK);
    }
    w(out, format_args!("executing the change set"));
    // Progress: resources settled out of those the change set touches.
    let total = plan.changes.len();
    let mut settled = std::collections::BTreeSet::new();
    let done = deploy::apply_changes(aws, &mut plan, &mut |e| {
        if e.logical_id != stack && (e.status.ends_with("_COMPLETE") || e.status.ends_with("_FAILED")) {
            settled.insert(e.logical_id.clone());
        }
        let _ = write!(out, "[{:>3}/{total}]", settled.len().min(total));
        print_event(out, e)
    })
    .await?;
    w(out, format_args!("{}: stack {stack} is {}", env.name, done.status));
    for (k, v, _) in &done.outputs {
        w(out, format_args!("  {k:36} {v}"));
    }
    if let Some(repo) = env.graph.resources.iter().find(|r| r.kind == Kind::EcrRepository) {
        let context = artifacts
            .artifacts
            .iter()
            .find(|a| a.kind == package::ArtifactKind::ContainerContext)
            .map(|a| artifacts.dir.join(&a.path));
        if let (Some(name), Some(context)) = (&repo.name, context) {
            w(
                out,
                format_args!(
                    "the ETL's container image is built and pushed outside pipegen (it needs a Docker engine):\n  docker build -t <account>.dkr.ecr.{}.amazonaws.com/{name}:{} {}\n  docker push <account>.dkr.ecr.{}.amazonaws.com/{name}:{}",
                    env.graph.region,
                    hashes.0.get("etl").map(String::as_str).unwrap_or_default(),
                    context.display(),
                    env.graph.region,
                    hashes.0.get("etl").map(String::as_str).unwrap_or_default(),
                ),
            );
        }
    }
    Ok(OK)
}

async fn destroy_env(aws: &Aws, env: &Environment, out: &mut Sink) -> Result<u8, DeployError> {
    let stack = deploy::stack_name(env);
    let done = deploy::destroy(aws, &env.graph, &stack, &mut |step| match step {
        deploy::Step::Emptied { bucket, versions } => w(
            out,
            format_args!("emptied s3://{bucket}: {versions} object versions and delete markers deleted"),
        ),
        deploy::Step::Event(e) => print_event(out, e),
    })
    .await?;
    if !done.stack_deleted {
        w(out, format_args!("stack {stack} does not exist"));
    }
    if done.left.is_empty() {
        w(
            out,
            format_args!(
                "{}: stack {stack} deleted; nothing tagged pipegen:environment={} is left",
                env.name, env.name
            ),
        );
        Ok(OK)
    } else {
        for l in &done.left {
            w(out, format_args!("  left: {} ({})", l.resource, l.why));
        }
        Err(DeployError::StackFailed {
            stack,
            status: "DELETE_COMPLETE".into(),
            reason: format!(
                "{} resources of the environment are still there (listed above)",
                done.left.len()
            ),
        })
    }
}

/// `pipegen status ENV`: the stack, its outputs, and drift when CloudFormation can tell.
pub fn cmd_status(
    cli: &Cli,
    env: &str,
    endpoint: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let Some(envs) = selected(cli, &[env.to_string()], false, err)? else {
        return Ok(USER_ERROR);
    };
    let env = &envs[0];
    let stack = deploy::stack_name(env);
    let result: Result<Option<(StackStatus, String)>, DeployError> = runtime()?.block_on(async {
        let aws = Aws::connect(&env.graph.region, endpoint).await;
        let Some(s) = deploy::stack_status(&aws, &stack).await? else {
            return Ok(None);
        };
        let drift = deploy::drift(&aws, &stack).await;
        Ok(Some((s, drift)))
    });
    match result {
        Ok(None) => {
            writeln!(out, "stack {stack} ({}, {}): not deployed", env.name, env.graph.region)?;
            Ok(OK)
        }
        Ok(Some((s, drift))) => {
            writeln!(out, "stack {stack} ({}, {}): {}", env.name, env.graph.region, s.status)?;
            if let Some(r) = &s.reason {
                writeln!(out, "  reason: {r}")?;
            }
            writeln!(out, "  drift: {drift}")?;
            for (k, v, _) in &s.outputs {
                writeln!(out, "  {k:36} {v}")?;
            }
            Ok(OK)
        }
        Err(e) => {
            writeln!(err, "error: {e}")?;
            Ok(INTERNAL_ERROR)
        }
    }
}
