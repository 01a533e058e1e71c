//! The AWS engine: an environment deployed as one CloudFormation stack,
//! through change sets.
//!
//! On AWS, CloudFormation keeps the state, orders the work, rolls back and
//! detects drift, so pipegen does not re-implement any of it (the local engine
//! in `local/` has to, because no emulator here runs the whole template). What
//! pipegen adds around CloudFormation:
//!
//! - `plan` is a change set that is described and deleted, never executed,
//!   with the property-level diff computed from the deployed template (the
//!   change set's own details where CloudFormation gives them), replacement of
//!   stateful resources flagged;
//! - `apply` bootstraps the environment's artifacts bucket on first use (the
//!   Lambda code must be in it before the functions can be created), uploads
//!   the content-addressed artifacts that are not there yet, and then executes
//!   a change set, following the stack's events;
//! - `destroy` empties the buckets of every object version and delete marker
//!   first (CloudFormation cannot delete a non-empty bucket, and CDK's
//!   `autoDeleteObjects` times out on large ones), deletes the stack and then
//!   asks the tagging API, not the stack, whether anything of the environment
//!   is left.
//!
//! One stack per environment, named `<project>-<tenant>`; the template is sent
//! as JSON (see `render::cfn_json`).

mod artifacts;
pub mod changeset;
mod stack;
mod teardown;

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde::Serialize;

use crate::resources::ResourceGraph;
use crate::validate::Environment;

pub use artifacts::{ArtifactSet, upload_artifacts};
pub use changeset::{ChangeAction, PlannedChange, StackPlan, plan, property_diff};
pub use stack::{StackEvent, StackStatus, apply_changes, bootstrap, deployed_template, drift, stack_status};
pub use teardown::{Destroyed, Leftover, Step, destroy};

/// The AWS clients of one account and region.
#[derive(Clone)]
pub struct Aws {
    pub region: String,
    /// Set when talking to an emulator instead of AWS.
    pub endpoint: Option<String>,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// For the service clients the local engine's resource checks use.
    pub config: SdkConfig,
    /// How long to wait between polls of a stack or change set.
    pub poll: Duration,
}

impl Aws {
    /// Clients from the standard AWS configuration chain (environment,
    /// profile, SSO, instance role), in the environment's region; `endpoint`
    /// points them at an emulator.
    pub async fn connect(region: &str, endpoint: Option<&str>) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region.to_string()));
        if let Some(e) = endpoint {
            loader = loader.endpoint_url(e);
            // An emulator takes any credentials; without explicit ones the
            // chain would end at the instance metadata service and time out.
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() && std::env::var_os("AWS_PROFILE").is_none() {
                loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                    "test",
                    "test",
                    None,
                    None,
                    "pipegen-emulator",
                ));
            }
        }
        let config: SdkConfig = loader.load().await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(endpoint.is_some())
                .build(),
        );
        Aws {
            region: region.to_string(),
            endpoint: endpoint.map(str::to_string),
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
            s3,
            tagging: aws_sdk_resourcegroupstagging::Client::new(&config),
            config: config.clone(),
            // An emulator answers synchronously; AWS takes seconds per resource.
            poll: if endpoint.is_some() {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(3)
            },
        }
    }

    /// The account the credentials belong to (the emulator's fixed one).
    pub async fn account(&self) -> Result<String, DeployError> {
        if self.endpoint.is_some() {
            return Ok(crate::local::EMULATOR_ACCOUNT.to_string());
        }
        let who = aws_sdk_sts::Client::new(&self.config)
            .get_caller_identity()
            .send()
            .await
            .map_err(api("ask STS which account the credentials belong to"))?;
        Ok(who.account().unwrap_or_default().to_string())
    }

    /// True when requests go over plain HTTP (an emulator).
    pub fn plain_http(&self) -> bool {
        self.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"))
    }
}

/// A failure of the AWS engine, saying what was being done.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{action}: {message}")]
    Api { action: String, message: String },
    #[error("the change set {name} failed: {reason}")]
    ChangeSetFailed { name: String, reason: String },
    #[error("stack {stack} is {status}: {reason}")]
    StackFailed {
        stack: String,
        status: String,
        reason: String,
    },
    #[error("{0}")]
    Input(String),
}

pub(crate) fn api<E: std::error::Error>(action: impl Into<String>) -> impl FnOnce(E) -> DeployError {
    let action = action.into();
    move |e| DeployError::Api {
        action,
        message: crate::local::err_text(&e),
    }
}

/// The stack of an environment: `<project>-<tenant>`, the prefix of every
/// physical name it owns.
pub fn stack_name(env: &Environment) -> String {
    format!("{}-{}", env.config.project, env.config.tenant)
}

/// The graph as deployed through `aws`: over plain HTTP (an emulator) the
/// TLS-only bucket policies are left out, since they would deny pipegen's own
/// uploads and deletes (`Resource::denies_plain_http`, the local engine's
/// rule too). On AWS the graph is deployed as it is.
pub fn deployable_graph(graph: &ResourceGraph, aws: &Aws) -> ResourceGraph {
    let mut graph = graph.clone();
    if aws.plain_http() {
        graph.resources.retain(|r| !r.denies_plain_http());
    }
    graph
}

/// The part of the graph that must exist before the rest can be created: the
/// artifacts bucket the Lambda code is uploaded to (and its policy).
pub fn bootstrap_graph(graph: &ResourceGraph) -> ResourceGraph {
    let mut graph = graph.clone();
    graph
        .resources
        .retain(|r| r.id == ARTIFACTS_BUCKET || r.id == "ArtifactsBucketPolicy");
    graph.parameters.clear();
    graph
}

/// The logical id of the artifacts bucket in every graph.
pub const ARTIFACTS_BUCKET: &str = "ArtifactsBucket";

/// A deploy-time parameter value (`--parameter Key=Value`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParameterValue {
    pub key: String,
    pub value: String,
}

impl std::str::FromStr for ParameterValue {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok(ParameterValue {
                key: k.to_string(),
                value: v.to_string(),
            }),
            _ => Err(format!("`{s}` is not KEY=VALUE (e.g. VpcId=vpc-0abc)")),
        }
    }
}

/// Checks the given parameters against the graph's: unknown keys are an
/// error, and so are missing ones unless the stack already has a value
/// (`previous`), which is then kept.
pub fn resolve_parameters(
    graph: &ResourceGraph,
    given: &[ParameterValue],
    previous: &[String],
) -> Result<Vec<(String, Option<String>)>, DeployError> {
    let known: Vec<&str> = graph.parameters.iter().map(|p| p.name.as_str()).collect();
    if let Some(p) = given.iter().find(|p| !known.contains(&p.key.as_str())) {
        return Err(DeployError::Input(format!(
            "unknown parameter `{}`; this environment takes {}",
            p.key,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for p in &graph.parameters {
        match given.iter().rev().find(|g| g.key == p.name) {
            Some(g) => out.push((p.name.clone(), Some(g.value.clone()))),
            None if previous.contains(&p.name) => out.push((p.name.clone(), None)),
            None => missing.push(format!("{} ({})", p.name, p.description)),
        }
    }
    if !missing.is_empty() {
        return Err(DeployError::Input(format!(
            "missing parameter{}: {}\n  help: pass --parameter KEY=VALUE for each (find your VPC and subnets with `aws ec2 describe-vpcs` and `aws ec2 describe-subnets`; several subnets are comma-separated)",
            if missing.len() > 1 { "s" } else { "" },
            missing.join("; ")
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Parameter;

    fn graph() -> ResourceGraph {
        ResourceGraph {
            environment: "t".into(),
            region: "eu-west-1".into(),
            account: None,
            tags: Default::default(),
            parameters: vec![
                Parameter {
                    name: "VpcId".into(),
                    kind: "vpc_id".into(),
                    description: "VPC".into(),
                },
                Parameter {
                    name: "EtlSubnetIds".into(),
                    kind: "subnet_ids".into(),
                    description: "subnets".into(),
                },
            ],
            resources: vec![],
        }
    }

    #[test]
    fn parameters_are_checked_and_kept_from_the_stack() {
        let p: ParameterValue = "VpcId=vpc-1".parse().unwrap();
        assert_eq!((p.key.as_str(), p.value.as_str()), ("VpcId", "vpc-1"));
        assert!("VpcId".parse::<ParameterValue>().is_err());
        assert!("=x".parse::<ParameterValue>().is_err());
        let subnets: ParameterValue = "EtlSubnetIds=subnet-1,subnet-2".parse().unwrap();
        let got = resolve_parameters(&graph(), &[p.clone(), subnets], &[]).unwrap();
        assert_eq!(
            got,
            vec![
                ("VpcId".to_string(), Some("vpc-1".to_string())),
                ("EtlSubnetIds".to_string(), Some("subnet-1,subnet-2".to_string()))
            ]
        );
        // A first deployment needs both; an update keeps the stack's values.
        let e = resolve_parameters(&graph(), std::slice::from_ref(&p), &[]).unwrap_err();
        assert!(e.to_string().contains("missing parameter: EtlSubnetIds"), "{e}");
        let kept = resolve_parameters(&graph(), std::slice::from_ref(&p), &["EtlSubnetIds".into()]).unwrap();
        assert_eq!(kept[1], ("EtlSubnetIds".to_string(), None));
        let unknown: ParameterValue = "Vpc=x".parse().unwrap();
        let e = resolve_parameters(&graph(), &[unknown], &[]).unwrap_err();
        assert!(e.to_string().contains("unknown parameter `Vpc`"), "{e}");
    }

    #[test]
    fn the_bootstrap_holds_the_artifacts_bucket_alone() {
        let files = crate::environment::EnvironmentFiles::read_dir(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments"),
        )
        .unwrap();
        let env = crate::validate::validate_one(&files, "dev").unwrap();
        let boot = bootstrap_graph(&env.graph);
        let ids: Vec<&str> = boot.resources.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["ArtifactsBucket", "ArtifactsBucketPolicy"]);
        assert!(boot.parameters.is_empty());
        assert_eq!(stack_name(&env), "pipegen-dev");
    }
}
