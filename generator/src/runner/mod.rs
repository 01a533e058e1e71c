//! The local runner: the real workload binaries run as Lambda functions
//! through a Runtime API endpoint pipegen serves, fed by an event-source
//! poller that follows each mapping's settings from the resource graph; the
//! ETL runs as a process with its task definition's command.
//!
//! Nothing here knows which workload does what: functions, mappings and the
//! job all come from the graph, so what runs locally is what deploys.

pub mod function;
pub mod poller;
pub mod runtime_api;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value as Json;

use crate::local::{Ctx, Emulator};
use crate::resources::{Kind, ResourceGraph};
pub use function::{FunctionHost, FunctionSpec};
pub use poller::{MappingSpec, MappingStats, Poller, StartingPosition, WindowClock};

/// The AWS settings every workload process gets: the emulator's endpoint and
/// region, and its test credentials.
pub fn aws_env(em: &Emulator) -> Vec<(String, String)> {
    vec![
        ("AWS_ENDPOINT_URL".into(), em.endpoint.clone()),
        ("AWS_REGION".into(), em.region.clone()),
        ("AWS_DEFAULT_REGION".into(), em.region.clone()),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ]
}

/// The functions and mappings of an environment, ready to run.
pub struct Runner {
    /// Function hosts by logical id.
    pub functions: BTreeMap<String, FunctionHost>,
    /// Mappings with the logical id of their function.
    pub mappings: Vec<(MappingSpec, String)>,
    /// The ETL job's command (program name first), if the graph has one.
    pub job: Option<Vec<String>>,
    pub binaries: PathBuf,
    pub logs: PathBuf,
}

impl Runner {
    /// Reads functions, mappings and the job from the graph. `binaries` holds
    /// one native binary per workload, named after it.
    pub fn new(graph: &ResourceGraph, em: &Emulator, binaries: &Path, logs: &Path) -> Result<Runner, String> {
        let cx = Ctx { graph, em };
        let mut functions = BTreeMap::new();
        let mut mappings = Vec::new();
        let mut job = None;
        for r in &graph.resources {
            let p = &r.properties;
            let s = |k: &str| p.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
            let n = |k: &str| p.get(k).and_then(Json::as_u64);
            match r.kind {
                Kind::Function => {
                    let workload = s("workload");
                    let binary = binaries.join(&workload);
                    if !binary.exists() {
                        return Err(format!(
                            "{}: the `{workload}` binary is not in {} (build it with `cargo build -p pipegen-{workload}`)",
                            r.id,
                            binaries.display()
                        ));
                    }
                    let name = r.name.clone().unwrap_or_default();
                    let environment = cx.function_environment(r);
                    functions.insert(
                        r.id.clone(),
                        FunctionHost::new(FunctionSpec {
                            arn: cx.arn_of(&r.id),
                            log_file: logs.join(format!("{workload}.log")),
                            name,
                            binary,
                            environment,
                            memory_mb: n("memory_mb").unwrap_or(128),
                            timeout: Duration::from_secs(n("timeout_seconds").unwrap_or(60)),
                        }),
                    );
                }
                Kind::EventSourceMapping => {
                    let function = s("function_id");
                    let stream = s("stream_id");
                    let role = graph
                        .resources
                        .iter()
                        .find(|f| f.id == function)
                        .and_then(|f| f.properties.get("role_id"))
                        .and_then(Json::as_str)
                        .map(|role| cx.arn_of(role))
                        .unwrap_or_default();
                    mappings.push((
                        MappingSpec {
                            id: r.id.clone(),
                            stream_name: cx.name_of(&stream),
                            stream_arn: cx.arn_of(&stream),
                            batch_size: n("batch_size").unwrap_or(100).max(1) as usize,
                            batching_window: Duration::from_secs(n("batching_window_seconds").unwrap_or(0)),
                            starting_position: if s("starting_position") == "latest" {
                                StartingPosition::Latest
                            } else {
                                StartingPosition::TrimHorizon
                            },
                            max_retries: n("max_retries").unwrap_or(3) as u32,
                            bisect_on_error: p.get("bisect_on_error").and_then(Json::as_bool).unwrap_or(false),
                            report_batch_item_failures: p
                                .get("report_batch_item_failures")
                                .and_then(Json::as_bool)
                                .unwrap_or(false),
                            tumbling_window_seconds: n("tumbling_window_seconds").map(|w| w as i64),
                            on_failure_queue: p
                                .get("on_failure_queue_id")
                                .and_then(Json::as_str)
                                .map(|q| cx.name_of(q)),
                            function_arn: cx.arn_of(&function),
                            role_arn: role,
                            region: em.region.clone(),
                        },
                        function,
                    ));
                }
                Kind::TaskDefinition => {
                    job = p
                        .get("command")
                        .and_then(Json::as_array)
                        .map(|c| c.iter().filter_map(Json::as_str).map(|s| cx.resolve(s)).collect());
                }
                _ => {}
            }
        }
        Ok(Runner {
            functions,
            mappings,
            job,
            binaries: binaries.to_path_buf(),
            logs: logs.to_path_buf(),
        })
    }

    /// Runs the ETL job as a process (its task definition's command, with
    /// `extra` arguments), logging to `logs/etl.log`. Returns its standard
    /// output.
    pub async fn run_job(&self, em: &Emulator, extra: &[String]) -> Result<String, String> {
        let Some(command) = &self.job else {
            return Err("the environment has no ETL job".into());
        };
        let program = self.binaries.join(&command[0]);
        std::fs::create_dir_all(&self.logs).map_err(|e| e.to_string())?;
        let log_path = self.logs.join("etl.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let mut cmd = std::process::Command::new(&program);
        cmd.args(&command[1..]).args(extra).envs(aws_env(em)).stderr(log);
        // A blocking wait on its own thread (tokio's process feature would
        // rebuild every AWS crate with another feature set).
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("{}: {e}", program.display()))?;
        if !out.status.success() {
            let tail: String = std::fs::read_to_string(&log_path)
                .unwrap_or_default()
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            return Err(format!(
                "the ETL failed ({}); last lines of {}:\n{tail}",
                out.status,
                log_path.display()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
