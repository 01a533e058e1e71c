//! The local engine: the environment's resource graph created through the AWS
//! APIs of a local emulator (moto), in dependency order, idempotently.
//!
//! On AWS, CloudFormation keeps the state; locally the emulator *is* the state:
//! `plan` asks it what exists and compares the settings that matter, `apply`
//! creates what is missing and updates what drifted, `destroy` deletes in
//! reverse order and then asks again, resource by resource, that nothing is
//! left. Kinds the emulator cannot run (KMS keys, ECS, alarms, ...) are listed
//! in the plan with the reason and what stands in for them locally, never
//! silently left out (see `../shared/DESIGN.md`, "Why two engines").

mod catalog;
mod compute;
mod messaging;
mod schedule;
mod storage;

pub use storage::empty_bucket;

use std::fmt;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde::Serialize;
use serde_json::Value as Json;

use crate::resources::{Kind, Resource, ResourceGraph};

/// The AWS clients of one emulator and region.
#[derive(Clone)]
pub struct Emulator {
    pub endpoint: String,
    pub region: String,
    pub account: String,
    pub config: SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub kinesis: aws_sdk_kinesis::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub glue: aws_sdk_glue::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub athena: aws_sdk_athena::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
}

/// The account moto answers as unless told otherwise (its documented default).
pub const EMULATOR_ACCOUNT: &str = "123456789012";

impl Emulator {
    /// Clients for `endpoint` in `region`, with the emulator's test credentials.
    pub async fn connect(endpoint: &str, region: &str) -> Result<Emulator, LocalError> {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new(region.to_string()))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "pipegen-local",
            ))
            .load()
            .await;
        let em = Emulator::with_config(config, endpoint, region, EMULATOR_ACCOUNT);
        // One cheap call tells "no emulator there" apart from later API errors.
        em.s3.list_buckets().send().await.map_err(|e| LocalError::Unreachable {
            endpoint: endpoint.to_string(),
            message: err_text(&e),
        })?;
        Ok(em)
    }

    /// The same clients over any configuration (an emulator's, or AWS's
    /// when the AWS engine checks what a deleted stack left behind).
    pub fn with_config(config: SdkConfig, endpoint: &str, region: &str, account: &str) -> Emulator {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        Emulator {
            endpoint: endpoint.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            s3,
            kinesis: aws_sdk_kinesis::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            glue: aws_sdk_glue::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            athena: aws_sdk_athena::Client::new(&config),
            eventbridge: aws_sdk_eventbridge::Client::new(&config),
            config,
        }
    }
}

/// What apply would do to one resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    Create,
    /// It exists with other settings: the names of the settings that differ.
    Update {
        settings: Vec<String>,
    },
    Unchanged,
    /// The emulator cannot run this kind; what stands in for it locally.
    NotEmulated {
        reason: &'static str,
    },
}

/// One line of a plan.
#[derive(Clone, Debug, Serialize)]
pub struct Planned {
    pub id: String,
    pub kind: Kind,
    pub name: Option<String>,
    #[serde(flatten)]
    pub change: Change,
}

/// The state of one resource in the emulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Absent,
    /// Present; the settings that differ from the graph (empty: in sync).
    Present(Vec<String>),
}

/// A failure talking to the emulator.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(
        "no AWS emulator answers at {endpoint}: {message}\n  help: start one with `localstack/moto.sh start` (or let `pipegen up` start it)"
    )]
    Unreachable { endpoint: String, message: String },
    #[error("{id} ({name}): {action} failed: {message}")]
    Api {
        id: String,
        name: String,
        action: &'static str,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

/// The full text of an SDK error (the service's code and message, not only
/// "service error").
pub fn err_text<E: std::error::Error>(e: &E) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s
}

/// What a resource operation sees: the graph (to resolve references) and the
/// emulator.
pub struct Ctx<'a> {
    pub graph: &'a ResourceGraph,
    pub em: &'a Emulator,
}

impl Ctx<'_> {
    /// The physical name of the resource with logical id `id`.
    pub fn name_of(&self, id: &str) -> String {
        self.graph
            .resources
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// Replaces the CloudFormation pseudo parameters the graph's strings carry.
    /// Also rewrites the account the environment pins (ARNs of another
    /// account would name nothing in the emulator).
    pub fn resolve(&self, s: &str) -> String {
        let mut out = s
            .replace("${AWS::AccountId}", &self.em.account)
            .replace("${AWS::Region}", &self.em.region);
        if let Some(account) = self.graph.account.as_deref().filter(|a| !a.is_empty()) {
            out = out.replace(&format!(":{account}:"), &format!(":{}:", self.em.account));
        }
        out
    }

    /// A function's environment variables, resolved for this emulator.
    pub fn function_environment(&self, r: &Resource) -> Vec<(String, String)> {
        r.properties
            .get("environment")
            .and_then(Json::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v.as_str().unwrap_or_default())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A list of strings of the graph (resources, condition values), resolved.
    pub fn resolve_all(&self, v: Option<&Json>) -> Vec<Json> {
        v.and_then(Json::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(Json::as_str)
                    .map(|s| Json::from(self.resolve(s)))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn arn(&self, service: &str, resource: &str) -> String {
        let region = if service == "iam" { "" } else { &self.em.region };
        format!("arn:aws:{service}:{region}:{}:{resource}", self.em.account)
    }

    /// The ARN of the referenced resource (streams, topics, queues, roles, functions).
    pub fn arn_of(&self, id: &str) -> String {
        let r = self.graph.resources.iter().find(|r| r.id == id);
        let name = self.name_of(id);
        match r.map(|r| r.kind) {
            Some(Kind::Stream) => self.arn("kinesis", &format!("stream/{name}")),
            Some(Kind::Topic) => self.arn("sns", &name),
            Some(Kind::Queue) => self.arn("sqs", &name),
            Some(Kind::Role) => self.arn("iam", &format!("role/{name}")),
            Some(Kind::Function) => self.arn("lambda", &format!("function:{name}")),
            Some(Kind::Schedule) => self.arn("events", &format!("rule/{name}")),
            Some(Kind::DynamoTable) => self.arn("dynamodb", &format!("table/{name}")),
            _ => name,
        }
    }

    pub fn tags(&self) -> impl Iterator<Item = (&String, &String)> {
        self.graph.tags.iter()
    }

    pub fn api<E: std::error::Error>(&self, r: &Resource, action: &'static str) -> impl FnOnce(E) -> LocalError {
        let id = r.id.clone();
        let name = r.name.clone().unwrap_or_default();
        move |e| LocalError::Api {
            id,
            name,
            action,
            message: err_text(&e),
        }
    }
}

/// Property accessors for the graph's JSON properties.
pub(crate) trait Props {
    fn str_of(&self, key: &str) -> Option<&str>;
    fn u64_of(&self, key: &str) -> Option<u64>;
    fn bool_of(&self, key: &str) -> bool;
}

impl Props for Json {
    fn str_of(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Json::as_str)
    }
    fn u64_of(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Json::as_u64)
    }
    fn bool_of(&self, key: &str) -> bool {
        self.get(key).and_then(Json::as_bool).unwrap_or(false)
    }
}

/// Why a resource is not created in the emulator, and what stands in for it.
pub fn not_emulated(r: &Resource) -> Option<&'static str> {
    let protocol = r.properties.get("protocol").and_then(Json::as_str);
    Some(match r.kind {
        Kind::Subscription if matches!(protocol, Some("http" | "https")) => {
            "moto would POST every alert to this URL from this machine (and fail the publish without network); \
             `pipegen up` subscribes a local inbox queue instead"
        }
        Kind::KmsKey => "no KMS locally: buckets use SSE-S3, topics/tables/queues/logs are unencrypted",
        Kind::LogGroup => "function and job output goes to files under .pipegen/local/<env>/logs/",
        Kind::EcrRepository | Kind::EcsCluster | Kind::TaskDefinition | Kind::SecurityGroup => {
            "the ETL runs as a local process with the task definition's command"
        }
        Kind::Alarm => "moto never evaluates alarms (and aws-sdk-cloudwatch speaks CBOR, which moto does not)",
        Kind::Dashboard => "CloudWatch dashboards have no local use; `pipegen up` prints the run summary",
        Kind::DeliveryStream => "moto's Firehose does not read from Kinesis; bronze is the raw record locally",
        Kind::BucketPolicy if r.denies_plain_http() => {
            "the emulator speaks plain HTTP, so the TLS-only policy would deny every request (moto enforces it)"
        }
        _ => return None,
    })
}

async fn state(cx: &Ctx<'_>, r: &Resource) -> Result<State, LocalError> {
    match r.kind {
        Kind::Bucket | Kind::BucketPolicy => storage::state(cx, r).await,
        Kind::Stream | Kind::DynamoTable => storage::state(cx, r).await,
        Kind::Topic | Kind::Subscription | Kind::Queue => messaging::state(cx, r).await,
        Kind::Role | Kind::Function | Kind::EventSourceMapping => compute::state(cx, r).await,
        Kind::Schedule | Kind::LambdaPermission => schedule::state(cx, r).await,
        Kind::GlueDatabase
        | Kind::GlueTable
        | Kind::GlueCrawler
        | Kind::GlueSecurityConfiguration
        | Kind::AthenaWorkgroup
        | Kind::NamedQuery => catalog::state(cx, r).await,
        _ => Ok(State::Absent),
    }
}

async fn create(cx: &Ctx<'_>, r: &Resource) -> Result<(), LocalError> {
    match r.kind {
        Kind::Bucket | Kind::BucketPolicy | Kind::Stream | Kind::DynamoTable => storage::create(cx, r).await,
        Kind::Topic | Kind::Subscription | Kind::Queue => messaging::create(cx, r).await,
        Kind::Role | Kind::Function | Kind::EventSourceMapping => compute::create(cx, r).await,
        Kind::Schedule | Kind::LambdaPermission => schedule::create(cx, r).await,
        _ => catalog::create(cx, r).await,
    }
}

async fn update(cx: &Ctx<'_>, r: &Resource, settings: &[String]) -> Result<(), LocalError> {
    match r.kind {
        Kind::Bucket | Kind::BucketPolicy | Kind::Stream | Kind::DynamoTable => storage::update(cx, r, settings).await,
        Kind::Topic | Kind::Subscription | Kind::Queue => messaging::update(cx, r, settings).await,
        Kind::Role | Kind::Function | Kind::EventSourceMapping => compute::update(cx, r, settings).await,
        Kind::Schedule | Kind::LambdaPermission => schedule::update(cx, r, settings).await,
        _ => catalog::update(cx, r, settings).await,
    }
}

async fn delete(cx: &Ctx<'_>, r: &Resource) -> Result<(), LocalError> {
    match r.kind {
        Kind::Bucket | Kind::BucketPolicy | Kind::Stream | Kind::DynamoTable => storage::delete(cx, r).await,
        Kind::Topic | Kind::Subscription | Kind::Queue => messaging::delete(cx, r).await,
        Kind::Role | Kind::Function | Kind::EventSourceMapping => compute::delete(cx, r).await,
        Kind::Schedule | Kind::LambdaPermission => schedule::delete(cx, r).await,
        _ => catalog::delete(cx, r).await,
    }
}

/// What `apply` would do, resource by resource, in creation order.
pub async fn plan(graph: &ResourceGraph, em: &Emulator) -> Result<Vec<Planned>, LocalError> {
    let cx = Ctx { graph, em };
    let mut out = Vec::with_capacity(graph.resources.len());
    for r in &graph.resources {
        let change = if let Some(reason) = not_emulated(r) {
            Change::NotEmulated { reason }
        } else {
            match state(&cx, r).await? {
                State::Absent => Change::Create,
                State::Present(d) if d.is_empty() => Change::Unchanged,
                State::Present(settings) => Change::Update { settings },
            }
        };
        out.push(Planned {
            id: r.id.clone(),
            kind: r.kind,
            name: r.name.clone(),
            change,
        });
    }
    Ok(out)
}

/// Creates what is missing and updates what differs, in dependency order
/// (the graph's order). Returns the plan it carried out.
pub async fn apply(
    graph: &ResourceGraph,
    em: &Emulator,
    mut progress: impl FnMut(&Planned),
) -> Result<Vec<Planned>, LocalError> {
    let cx = Ctx { graph, em };
    let planned = plan(graph, em).await?;
    for (r, p) in graph.resources.iter().zip(&planned) {
        match &p.change {
            Change::Create => create(&cx, r).await?,
            Change::Update { settings } => update(&cx, r, settings).await?,
            Change::Unchanged | Change::NotEmulated { .. } => {}
        }
        progress(p);
    }
    Ok(planned)
}

/// Deletes every resource of the graph that exists, in reverse order, then
/// checks each one again. Returns the resources deleted and those still there.
pub async fn destroy(
    graph: &ResourceGraph,
    em: &Emulator,
    mut progress: impl FnMut(&Resource),
) -> Result<(Vec<String>, Vec<String>), LocalError> {
    let cx = Ctx { graph, em };
    let mut deleted = Vec::new();
    for r in graph.resources.iter().rev() {
        if not_emulated(r).is_some() {
            continue;
        }
        if state(&cx, r).await? != State::Absent {
            delete(&cx, r).await?;
            deleted.push(r.id.clone());
            progress(r);
        }
    }
    let mut left = Vec::new();
    for r in &graph.resources {
        if not_emulated(r).is_none() && state(&cx, r).await? != State::Absent {
            left.push(r.id.clone());
        }
    }
    Ok((deleted, left))
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Create => f.write_str("create"),
            Change::Update { settings } => write!(f, "update ({})", settings.join(", ")),
            Change::Unchanged => f.write_str("unchanged"),
            Change::NotEmulated { reason } => write!(f, "not emulated: {reason}"),
        }
    }
}
