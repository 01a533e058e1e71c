//! Validation before anything runs: raw YAML -> located, checked, typed
//! environment with its resource graph.
//!
//! Layers, each collecting every problem it finds:
//! 1. parse and `extends` (environment/);
//! 2. structure against the schema (unknown keys, types, ranges);
//! 3. meaning (references, combinations, AWS rules on values);
//! 4. the physical names the resource graph derives;
//! 5. across environments, two tenants producing the same physical name.
//!
//! Nothing
//! here touches the network or any file but the environments themselves (and
//! a city table they name); checks that need AWS belong to the engines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value as Json;

use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::environment::yaml::Node;
use crate::environment::{EnvironmentFiles, schema_check};
use crate::model::{EnvironmentConfig, LOG_RETENTION_DAYS, StreamMode, Workload};
use crate::naming::check_name_part;
use crate::resources::{Kind, ResourceGraph};

/// A validated environment: typed, merged, with its resource graph.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub path: PathBuf,
    /// The environment and its ancestors, itself first.
    pub chain: Vec<String>,
    pub config: EnvironmentConfig,
    /// The merged document, kept so later stages can point at lines.
    pub document: Node,
    pub graph: ResourceGraph,
}

/// The JSON Schema of the environment file format.
pub fn json_schema() -> &'static Json {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::to_value(schemars::schema_for!(EnvironmentConfig)).expect("schema serializes"))
}

/// Validates one environment of `files`.
pub fn validate_one(files: &EnvironmentFiles, name: &str) -> Result<Environment, Diagnostics> {
    let merged = files.merged(name)?;
    let ctx = Ctx {
        doc: &merged.document,
        broken: Vec::new(),
    };
    let config: EnvironmentConfig = match schema_check::check(&merged.document, json_schema()) {
        Ok(json) => serde_json::from_value(json).map_err(|e| {
            Diagnostics::from(vec![Diagnostic::new(
                Some(merged.document.location.clone()),
                "",
                format!("internal: the checked document does not fit the model: {e}"),
            )])
        })?,
        Err((mut diagnostics, partial)) => {
            // Report the meaning of what was well formed too, when the rest
            // still makes a model (a bad optional value falls back to its default).
            if let Ok(config) = serde_json::from_value::<EnvironmentConfig>(partial) {
                let mut more = Diagnostics::default();
                let broken = diagnostics.iter().map(|d| d.key_path.clone()).collect();
                let ctx = Ctx {
                    doc: &merged.document,
                    broken,
                };
                check_meaning(&ctx, &config, &mut more);
                diagnostics.extend(more);
            }
            return Err(diagnostics.sorted());
        }
    };
    let mut diagnostics = Diagnostics::default();
    check_meaning(&ctx, &config, &mut diagnostics);
    if !diagnostics.is_empty() {
        return Err(diagnostics.sorted());
    }
    let graph = ResourceGraph::build(name, &config);
    for r in &graph.resources {
        if let (Some(name), Some(rule)) = (&r.name, r.rule)
            && let Err(message) = rule.check(name)
        {
            // Point at the key when this environment's own file wrote it; a
            // name inherited from a parent grew too long because of this
            // file's `project` or `tenant`, so point there instead.
            let mut at = ctx.doc.locate_key(&r.origin);
            if at.path() != merged.path {
                at = ctx.doc.locate("tenant");
            }
            diagnostics.push(
                Diagnostic::new(Some(at), r.origin.clone(), message)
                    .with_help("physical names are <project>-<tenant>-<key>: shorten `project`, `tenant` or this key"),
            );
        }
    }
    for (from, missing) in graph.dangling() {
        diagnostics.push(Diagnostic::new(
            Some(ctx.doc.location.clone()),
            "",
            format!("internal: resource {from} depends on {missing}, which is not in the graph"),
        ));
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics.sorted());
    }
    Ok(Environment {
        name: name.to_string(),
        path: merged.path,
        chain: merged.chain,
        config,
        document: merged.document,
        graph,
    })
}

/// Validates the named environments (all when `names` is empty), including the
/// cross-environment check that no two produce the same physical name. Other
/// environments of the folder take part in that check but their own problems
/// are not reported.
pub fn validate_set(files: &EnvironmentFiles, names: &[String]) -> (Vec<Environment>, Diagnostics) {
    let selected: Vec<String> = if names.is_empty() {
        files.names().map(String::from).collect()
    } else {
        names.to_vec()
    };
    let mut diagnostics = Diagnostics::default();
    let mut valid: BTreeMap<String, Environment> = BTreeMap::new();
    for name in files.names() {
        match validate_one(files, name) {
            Ok(env) => {
                valid.insert(name.to_string(), env);
            }
            Err(d) if selected.iter().any(|s| s == name) => diagnostics.extend(d),
            Err(_) => {}
        }
    }
    for name in &selected {
        if !files.files.contains_key(name)
            && let Err(d) = files.chain(name)
        {
            diagnostics.extend(d);
        }
    }
    // Two tenants producing the same physical name.
    let mut owners: BTreeMap<(Kind, &str), Vec<&str>> = BTreeMap::new();
    for env in valid.values() {
        for r in &env.graph.resources {
            if matches!(r.kind, Kind::GlueTable | Kind::NamedQuery) {
                continue; // scoped to their database / workgroup
            }
            if let Some(n) = &r.name {
                owners.entry((r.kind, n.as_str())).or_default().push(env.name.as_str());
            }
        }
    }
    let mut colliding: BTreeMap<&str, Vec<(String, &str)>> = BTreeMap::new();
    for ((kind, physical), envs) in &owners {
        if envs.len() > 1 {
            for e in envs {
                let others: Vec<&str> = envs.iter().filter(|o| *o != e).copied().collect();
                colliding
                    .entry(e)
                    .or_default()
                    .push((format!("{kind:?} `{physical}`"), others[0]));
            }
        }
    }
    for (env_name, clashes) in &colliding {
        if !selected.iter().any(|s| s == env_name) {
            continue;
        }
        let env = &valid[*env_name];
        let other = clashes[0].1;
        let first = &clashes[0].0;
        diagnostics.push(
            Diagnostic::new(
                Some(env.document.locate("tenant")),
                "tenant",
                format!(
                    "environment `{env_name}` produces the same physical names as `{other}` ({} names, e.g. {first})",
                    clashes.len()
                ),
            )
            .with_help(format!(
                "give `{env_name}` its own `tenant` (or `project`); a fork must not reuse its parent's tenant"
            )),
        );
    }
    let colliding: Vec<String> = colliding.keys().map(|n| n.to_string()).collect();
    let envs: Vec<Environment> = selected
        .iter()
        .filter(|n| !colliding.contains(n))
        .filter_map(|n| valid.remove(n))
        .collect();
    (envs, diagnostics.sorted())
}

struct Ctx<'a> {
    doc: &'a Node,
    /// Key paths that failed the structural check; references into them are
    /// not reported again (the section is already known to be wrong).
    broken: Vec<String>,
}

impl Ctx<'_> {
    fn at(&self, path: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Some(self.doc.locate(path)), path, message)
    }

    fn at_key(&self, path: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Some(self.doc.locate_key(path)), path, message)
    }

    /// The folder of the file that wrote `path` (relative paths in a value are
    /// relative to the file that wrote it, not to the fork).
    fn dir_of(&self, path: &str) -> PathBuf {
        self.doc
            .locate(path)
            .path()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

fn check_reference(
    ctx: &Ctx,
    out: &mut Diagnostics,
    path: &str,
    value: &str,
    what: &str,
    section: &str,
    names: &[&str],
) {
    let section_broken = ctx
        .broken
        .iter()
        .any(|b| b == section || b.starts_with(&format!("{section}.")));
    if !names.contains(&value) && !section_broken {
        let help = match did_you_mean(value, names.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if names.is_empty() => format!("define it under `{section}:`"),
            None => format!("{what}s defined under `{section}`: {}", names.join(", ")),
        };
        out.push(
            ctx.at(path, format!("`{value}` is not a {what} of this environment"))
                .with_help(help),
        );
    }
}

fn check_meaning(ctx: &Ctx, c: &EnvironmentConfig, out: &mut Diagnostics) {
    for (path, value) in [("project", &c.project), ("tenant", &c.tenant)] {
        if let Err(e) = check_name_part(value) {
            out.push(
                ctx.at(path, format!("{path} {e}"))
                    .with_help("it becomes part of every physical name, S3 buckets included"),
            );
        }
    }
    if !valid_region(&c.region) {
        out.push(
            ctx.at("region", format!("`{}` is not an AWS region name", c.region))
                .with_help("e.g. eu-west-1, us-east-1, ap-south-1"),
        );
    }
    if let Some(account) = &c.account
        && (account.len() != 12 || !account.chars().all(|ch| ch.is_ascii_digit()))
    {
        out.push(
            ctx.at("account", format!("`{account}` is not an AWS account id"))
                .with_help("an account id is 12 digits; quote it to keep leading zeros"),
        );
    }
    if c.protected && c.account.is_none() {
        out.push(
            ctx.at_key("protected", "a protected environment must name its `account`")
                .with_help("protection guards one real account; add `account: \"123456789012\"`"),
        );
    }
    for (k, v) in &c.tags {
        let path = format!("tags.{k}");
        if k.is_empty() || k.chars().count() > 128 {
            out.push(ctx.at_key(&path, "tag keys are 1-128 characters"));
        }
        if k.starts_with("aws:") || k.starts_with("pipegen:") {
            out.push(
                ctx.at_key(&path, format!("the tag key prefix of `{k}` is reserved"))
                    .with_help("`aws:` belongs to AWS and `pipegen:` tags are added by pipegen"),
            );
        }
        if v.chars().count() > 256 {
            out.push(ctx.at(&path, "tag values are at most 256 characters"));
        }
    }

    // Analytics.
    let a = &c.analytics;
    if a.time_zone.parse::<chrono_tz::Tz>().is_err() {
        let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
        let help = did_you_mean(&a.time_zone, names)
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| "use an IANA name such as Asia/Kolkata or Europe/London".into());
        out.push(
            ctx.at("analytics.time_zone", format!("`{}` is not a time zone", a.time_zone))
                .with_help(help),
        );
    }
    if a.peak_hours.start > a.peak_hours.end {
        out.push(
            ctx.at(
                "analytics.peak_hours",
                format!(
                    "peak hours start at {} but end at {}",
                    a.peak_hours.start, a.peak_hours.end
                ),
            )
            .with_help("peak hours are an inclusive range within one day: start <= end"),
        );
    }
    if let Some(table) = &a.city_table {
        let path = ctx.dir_of("analytics.city_table").join(table);
        if !path.is_file() {
            out.push(
                ctx.at(
                    "analytics.city_table",
                    format!("the city table `{}` does not exist", path.display()),
                )
                .with_help("the path is relative to the environment file that names it"),
            );
        }
    }

    // Lambda defaults.
    if !LOG_RETENTION_DAYS.contains(&c.lambda.log_retention_days) {
        out.push(retention_error(
            ctx,
            "lambda.log_retention_days",
            c.lambda.log_retention_days,
        ));
    }

    // Streams.
    for (key, s) in &c.streams {
        check_key(ctx, out, &format!("streams.{key}"), key);
        match (s.mode, s.shards) {
            (StreamMode::Provisioned, None) => out.push(
                ctx.at(&format!("streams.{key}"), "a provisioned stream needs `shards`")
                    .with_help("add `shards: 1`, or use `mode: on_demand`"),
            ),
            (StreamMode::OnDemand, Some(_)) => out.push(
                ctx.at(
                    &format!("streams.{key}.shards"),
                    "`shards` applies only to `mode: provisioned`",
                )
                .with_help("remove `shards`; on-demand streams scale by themselves"),
            ),
            _ => {}
        }
    }
    let streams: Vec<&str> = c.streams.keys().map(String::as_str).collect();
    let tables: Vec<&str> = c.tables.keys().map(String::as_str).collect();
    let topics: Vec<&str> = c.topics.keys().map(String::as_str).collect();
    for key in &tables {
        check_key(ctx, out, &format!("tables.{key}"), key);
    }
    for key in &topics {
        check_key(ctx, out, &format!("topics.{key}"), key);
    }

    // Functions.
    for (key, f) in &c.functions {
        let base = format!("functions.{key}");
        check_key(ctx, out, &base, key);
        let needs_trigger = matches!(f.workload, Workload::Ingest | Workload::Detector);
        match (&f.trigger, needs_trigger) {
            (None, true) => out.push(
                ctx.at(
                    &base,
                    format!("the `{}` workload needs a `trigger`", f.workload.as_str()),
                )
                .with_help("add `trigger: {stream: events}`"),
            ),
            (Some(_), false) => out.push(
                ctx.at_key(&format!("{base}.trigger"), "the simulator is not triggered by a stream")
                    .with_help("remove `trigger`; the simulator writes to `target_stream` and runs on `schedule`"),
            ),
            _ => {}
        }
        if let Some(t) = &f.trigger {
            let tp = format!("{base}.trigger");
            check_reference(
                ctx,
                out,
                &format!("{tp}.stream"),
                &t.stream,
                "stream",
                "streams",
                &streams,
            );
            if t.max_record_age_seconds != -1 && t.max_record_age_seconds < 60 {
                out.push(
                    ctx.at(
                        &format!("{tp}.max_record_age_seconds"),
                        format!("{} is not allowed", t.max_record_age_seconds),
                    )
                    .with_help("use -1 (no limit) or 60-604800 seconds"),
                );
            }
            if f.workload == Workload::Detector && t.parallelization_factor != 1 {
                out.push(
                    ctx.at(
                        &format!("{tp}.parallelization_factor"),
                        "the detector's windows need parallelization_factor 1",
                    )
                    .with_help("with more than one batch per shard, a window would see only part of a user's actions"),
                );
            }
        }
        match f.workload {
            Workload::Simulator => match &f.target_stream {
                None => out.push(
                    ctx.at(&base, "the `simulator` workload needs a `target_stream`")
                        .with_help("add `target_stream: events`"),
                ),
                Some(s) => check_reference(
                    ctx,
                    out,
                    &format!("{base}.target_stream"),
                    s,
                    "stream",
                    "streams",
                    &streams,
                ),
            },
            _ if f.target_stream.is_some() => out.push(ctx.at_key(
                &format!("{base}.target_stream"),
                format!("`target_stream` is for the simulator, not {}", f.workload.as_str()),
            )),
            _ => {}
        }
        if f.workload == Workload::Detector {
            let table = f.detections_table.as_deref().unwrap_or("detections");
            let topic = f.alerts_topic.as_deref().unwrap_or("alerts");
            let tp = if f.detections_table.is_some() {
                format!("{base}.detections_table")
            } else {
                base.clone()
            };
            let pp = if f.alerts_topic.is_some() {
                format!("{base}.alerts_topic")
            } else {
                base.clone()
            };
            check_reference(ctx, out, &tp, table, "DynamoDB table", "tables", &tables);
            check_reference(ctx, out, &pp, topic, "topic", "topics", &topics);
        } else {
            for (k, set) in [
                ("detections_table", f.detections_table.is_some()),
                ("alerts_topic", f.alerts_topic.is_some()),
            ] {
                if set {
                    out.push(ctx.at_key(
                        &format!("{base}.{k}"),
                        format!("`{k}` is for the detector, not {}", f.workload.as_str()),
                    ));
                }
            }
        }
        if let Some(s) = &f.schedule
            && let Err(e) = check_schedule(&s.expression)
        {
            out.push(
                ctx.at(&format!("{base}.schedule.expression"), e)
                    .with_help("e.g. `rate(5 minutes)` or `cron(0 2 * * ? *)`"),
            );
        }
    }

    // Topics.
    for (key, t) in &c.topics {
        for (i, sub) in t.subscriptions.iter().enumerate() {
            let path = format!("topics.{key}.subscriptions[{i}].endpoint");
            let ok = match sub.protocol {
                crate::model::SubscriptionProtocol::Email => {
                    let parts: Vec<&str> = sub.endpoint.split('@').collect();
                    parts.len() == 2 && !parts[0].is_empty() && parts[1].contains('.') && !sub.endpoint.contains(' ')
                }
                crate::model::SubscriptionProtocol::Sqs => {
                    sub.endpoint.starts_with("arn:aws") && sub.endpoint.contains(":sqs:")
                }
                crate::model::SubscriptionProtocol::Https => {
                    sub.endpoint.starts_with("https://") && sub.endpoint.len() > "https://".len()
                }
            };
            if !ok {
                out.push(
                    ctx.at(
                        &path,
                        format!("`{}` is not a valid {} endpoint", sub.endpoint, sub.protocol.as_str()),
                    )
                    .with_help("email: an address; sqs: a queue ARN; https: an https:// URL"),
                );
            }
        }
    }

    // Alarms.
    if c.alarms.enabled {
        check_reference(ctx, out, "alarms.topic", &c.alarms.topic, "topic", "topics", &topics);
    }

    // ETL.
    if let Some(etl) = &c.etl {
        match fargate_memory(etl.cpu) {
            None => out.push(
                ctx.at("etl.cpu", format!("{} is not a Fargate CPU size", etl.cpu))
                    .with_help("use 256, 512, 1024, 2048, 4096, 8192 or 16384"),
            ),
            Some(allowed) if !allowed.contains(&etl.memory_mb) => {
                let (lo, hi) = (allowed[0], allowed[allowed.len() - 1]);
                out.push(
                    ctx.at(
                        "etl.memory_mb",
                        format!("{} MB does not fit {} CPU units on Fargate", etl.memory_mb, etl.cpu),
                    )
                    .with_help(format!("with cpu {} use {lo}-{hi} MB in Fargate's steps", etl.cpu)),
                );
            }
            _ => {}
        }
        if let Err(e) = check_schedule(&etl.schedule.expression) {
            out.push(
                ctx.at("etl.schedule.expression", e)
                    .with_help("e.g. `rate(1 hour)` or `cron(0 2 * * ? *)`"),
            );
        }
        if !LOG_RETENTION_DAYS.contains(&etl.log_retention_days) {
            out.push(retention_error(ctx, "etl.log_retention_days", etl.log_retention_days));
        }
    }

    // Firehose backup.
    if let Some(fh) = &c.firehose_backup {
        check_reference(
            ctx,
            out,
            "firehose_backup.stream",
            &fh.stream,
            "stream",
            "streams",
            &streams,
        );
        let reserved = ["bronze/", "silver/", "gold/", "invalid/", "_state/", "athena-results/"];
        if !fh.prefix.ends_with('/') || fh.prefix.starts_with('/') || fh.prefix.len() < 2 {
            out.push(
                ctx.at("firehose_backup.prefix", format!("`{}` is not a key prefix", fh.prefix))
                    .with_help("write a folder such as `raw-backup/` (no leading slash, trailing slash)"),
            );
        } else if reserved.iter().any(|r| fh.prefix.starts_with(r)) {
            out.push(
                ctx.at(
                    "firehose_backup.prefix",
                    format!("`{}` is inside a layer the pipeline owns", fh.prefix),
                )
                .with_help("use a prefix of its own, e.g. `raw-backup/`"),
            );
        }
    }
}

fn retention_error(ctx: &Ctx, path: &str, days: u32) -> Diagnostic {
    let nearest = LOG_RETENTION_DAYS
        .iter()
        .min_by_key(|d| (**d as i64 - days as i64).abs())
        .copied()
        .unwrap_or(14);
    ctx.at(path, format!("{days} days is not a CloudWatch Logs retention period"))
        .with_help(format!("the nearest allowed value is {nearest}; allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"))
}

fn check_key(ctx: &Ctx, out: &mut Diagnostics, path: &str, key: &str) {
    if let Err(e) = check_name_part(key) {
        out.push(
            ctx.at_key(path, format!("the name {e}"))
                .with_help("names become part of physical names: lower case letters, digits and hyphens"),
        );
    }
}

fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    (3..=4).contains(&parts.len())
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

/// Memory sizes (MB) Fargate accepts for a CPU size.
fn fargate_memory(cpu: u32) -> Option<Vec<u32>> {
    let gb = |from: u32, to: u32, step: u32| (from..=to).step_by(step as usize).map(|g| g * 1024).collect::<Vec<_>>();
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => gb(1, 4, 1),
        1024 => gb(2, 8, 1),
        2048 => gb(4, 16, 1),
        4096 => gb(8, 30, 1),
        8192 => gb(16, 60, 4),
        16384 => gb(32, 120, 8),
        _ => return None,
    })
}

/// Checks an EventBridge schedule expression.
pub fn check_schedule(expr: &str) -> Result<(), String> {
    if let Some(inner) = expr.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
        let mut parts = inner.split_whitespace();
        let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("`{expr}` is not `rate(N unit)`"));
        };
        let Ok(n) = n.parse::<u32>() else {
            return Err(format!("`{expr}`: `{n}` is not a positive whole number"));
        };
        if n == 0 {
            return Err(format!("`{expr}`: the rate must be at least 1"));
        }
        let ok = if n == 1 {
            matches!(unit, "minute" | "hour" | "day")
        } else {
            matches!(unit, "minutes" | "hours" | "days")
        };
        if !ok {
            return Err(if n == 1 {
                format!("`{expr}`: with 1 the unit is singular (minute, hour or day)")
            } else {
                format!("`{expr}`: with {n} the unit is plural (minutes, hours or days)")
            });
        }
        return Ok(());
    }
    if let Some(inner) = expr.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) {
        let fields = inner.split_whitespace().count();
        if fields != 6 {
            return Err(format!(
                "`{expr}` has {fields} fields; EventBridge cron expressions have 6"
            ));
        }
        return Ok(());
    }
    Err(format!("`{expr}` is neither `rate(...)` nor `cron(...)`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        assert!(check_schedule("rate(5 minutes)").is_ok());
        assert!(check_schedule("rate(1 minute)").is_ok());
        assert!(check_schedule("rate(1 minutes)").is_err());
        assert!(check_schedule("rate(0 hours)").is_err());
        assert!(check_schedule("cron(0 2 * * ? *)").is_ok());
        assert!(check_schedule("cron(0 2 * * *)").unwrap_err().contains("5 fields"));
        assert!(check_schedule("every 5 minutes").is_err());
    }

    #[test]
    fn regions() {
        for r in ["eu-west-1", "us-east-1", "ap-south-1", "us-gov-west-1", "cn-north-1"] {
            assert!(valid_region(r), "{r}");
        }
        for r in ["eu-west", "EU-west-1", "euwest1", "e-west-1", "eu--1"] {
            assert!(!valid_region(r), "{r}");
        }
    }

    #[test]
    fn fargate_sizes() {
        assert!(fargate_memory(1024).unwrap().contains(&4096));
        assert!(!fargate_memory(256).unwrap().contains(&4096));
        assert!(fargate_memory(300).is_none());
    }
}
