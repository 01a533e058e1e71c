//! A function's execution environment: the workload binary as a child
//! process, talking to its own Runtime API endpoint.
//!
//! Like Lambda, a process that crashed or timed out is replaced by a fresh
//! one (with a fresh endpoint, so nothing of the old one can answer for it);
//! output goes to a log file per function.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::runtime_api::{Outcome, RuntimeApi};

/// What starts a function process.
#[derive(Clone, Debug)]
pub struct FunctionSpec {
    pub name: String,
    pub arn: String,
    pub binary: PathBuf,
    pub environment: Vec<(String, String)>,
    pub memory_mb: u64,
    pub timeout: Duration,
    pub log_file: PathBuf,
}

/// A running function.
pub struct FunctionHost {
    pub spec: FunctionSpec,
    api: Option<RuntimeApi>,
    child: Option<Child>,
    /// Processes started (1 + restarts after crashes or timeouts).
    pub starts: u32,
}

impl FunctionHost {
    pub fn new(spec: FunctionSpec) -> FunctionHost {
        FunctionHost {
            spec,
            api: None,
            child: None,
            starts: 0,
        }
    }

    fn start(&mut self, aws: &[(String, String)]) -> std::io::Result<()> {
        self.stop();
        let api = RuntimeApi::start(&self.spec.arn)?;
        if let Some(dir) = self.spec.log_file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.spec.log_file)?;
        let child = Command::new(&self.spec.binary)
            .envs(self.spec.environment.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(aws.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.spec.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", self.spec.memory_mb.to_string())
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", self.spec.name))
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("pipegen-local/{}", self.starts + 1),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.spec.binary.display())))?;
        self.api = Some(api);
        self.child = Some(child);
        self.starts += 1;
        Ok(())
    }

    /// Kills the process (if any).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.api = None;
    }

    fn alive(&mut self) -> bool {
        alive(&mut self.child)
    }

    /// Invokes the function with `payload`; `aws` are the AWS settings of the
    /// process (endpoint, region, credentials).
    pub async fn invoke(&mut self, payload: Vec<u8>, aws: &[(String, String)]) -> Outcome {
        if (self.child.is_none() || !self.alive())
            && let Err(e) = self.start(aws)
        {
            return Outcome::Failed(format!("could not start {}: {e}", self.spec.name));
        }
        let api = self.api.as_ref().expect("started above");
        let (id, mut answer) = match api.submit(payload, self.spec.timeout) {
            Ok(x) => x,
            Err(outcome) => return outcome,
        };
        let deadline = tokio::time::Instant::now() + self.spec.timeout;
        // Wait for the answer, noticing a crashed process at once rather than
        // at the timeout.
        let outcome = loop {
            tokio::select! {
                r = &mut answer => break r.unwrap_or_else(|_| Outcome::Failed("the runtime endpoint dropped the invocation".into())),
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if !alive(&mut self.child) {
                        // An answer may have raced the exit.
                        match answer.try_recv() {
                            Ok(o) => break o,
                            Err(_) => break Outcome::Failed("exited".into()),
                        }
                    }
                    if tokio::time::Instant::now() >= deadline {
                        api.forget(&id);
                        break Outcome::Timeout;
                    }
                }
            }
        };
        let api = self.api.as_ref().expect("started above");
        match &outcome {
            Outcome::Timeout | Outcome::Failed(_) => {
                let init = api.init_error();
                let exited = !self.alive();
                self.stop();
                if let Some(e) = init {
                    return Outcome::Failed(format!("init error: {e} (see {})", self.spec.log_file.display()));
                }
                if exited {
                    return Outcome::Failed(format!(
                        "the process exited during the invocation (see {})",
                        self.spec.log_file.display()
                    ));
                }
            }
            Outcome::Error(_) | Outcome::Response(_) => {}
        }
        outcome
    }
}

impl Drop for FunctionHost {
    fn drop(&mut self) {
        self.stop();
    }
}

fn alive(child: &mut Option<Child>) -> bool {
    matches!(child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
}
