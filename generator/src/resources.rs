//! The resource graph: the flat list of AWS resources every renderer and engine
//! consumes.
//!
//! Each resource has a logical id (CloudFormation style, also the Terraform
//! resource name in snake case), a kind, its physical name, the key path of the
//! environment that produced it (so a name problem points at the right line),
//! its dependencies, and its properties. References between resources are by
//! logical id in properties ending in `_id`/`_ids`, and always also listed in
//! `depends_on`, so an engine can create resources in order without knowing
//! each kind. IAM roles carry the access edges they were derived from and the
//! statements `iam.rs` made of them.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;
use pipegen_events::lake::{self, Layer, StorageFormat};
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::iam::{self, Access};
use crate::model::{EnvironmentConfig, StreamMode, Workload};
use crate::naming::{NameRule, Naming};

/// The kinds of resource pipegen creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Bucket,
    BucketPolicy,
    KmsKey,
    Stream,
    Queue,
    LogGroup,
    Role,
    Function,
    EventSourceMapping,
    Schedule,
    LambdaPermission,
    EcrRepository,
    EcsCluster,
    TaskDefinition,
    GlueDatabase,
    GlueTable,
    GlueCrawler,
    AthenaWorkgroup,
    NamedQuery,
    DynamoTable,
    Topic,
    Subscription,
    Alarm,
    Dashboard,
    DeliveryStream,
    SecurityGroup,
    GlueSecurityConfiguration,
}

/// One resource.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Resource {
    pub id: String,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The naming rule the physical name must follow.
    #[serde(skip)]
    pub rule: Option<NameRule>,
    /// The environment key path this resource comes from.
    pub origin: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    pub properties: Json,
}

/// All resources of one environment, in creation order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResourceGraph {
    pub environment: String,
    pub region: String,
    /// The account the environment names in its ARNs, when it pins one
    /// (otherwise ARNs use `${AWS::AccountId}`). An engine for another
    /// account (the local emulator's) rewrites it.
    #[serde(skip)]
    pub account: Option<String>,
    /// Tags on every resource.
    pub tags: IndexMap<String, String>,
    /// What the deploying user chooses at deploy time (CloudFormation
    /// parameters, Terraform variables): only the network the ETL task runs in,
    /// which belongs to the account, not to the pipeline.
    pub parameters: Vec<Parameter>,
    pub resources: Vec<Resource>,
}

/// A deploy-time choice.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Parameter {
    /// CloudFormation parameter name; the Terraform variable is its snake case.
    pub name: String,
    /// What kind of value: `vpc_id` or `subnet_ids`.
    pub kind: String,
    pub description: String,
}

/// The named queries every workgroup gets (spec/queries.md).
pub const NAMED_QUERIES: &[(&str, &str)] = &[
    (
        "product_conversion_funnel",
        "which products convert views to purchases best",
    ),
    ("hourly_revenue_trends", "what are the peak revenue hours"),
    ("top_products_by_engagement", "which products draw the most interest"),
    ("category_performance", "how categories perform day over day"),
    ("user_activity_trends", "how engaged users are day to day"),
    ("unique_visitors_per_day", "unique visitors per day"),
    (
        "carted_not_purchased",
        "on a given day, what was added to carts but not bought",
    ),
    ("top_categories_by_hour_weekday", "top categories per hour of the week"),
    (
        "brands_needing_marketing",
        "brands that convert well but are seen too little",
    ),
    ("top_products_per_seller", "the seller's top 5 products by profit"),
    ("latest_orders_per_seller", "the seller's 5 latest orders"),
    ("revenue_by_city", "revenue and orders per city"),
];

/// `events` -> `Events`, `raw-backup` -> `RawBackup`: logical id parts.
pub fn pascal(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            let first = cs.next().map(|c| c.to_ascii_uppercase()).unwrap_or_default();
            std::iter::once(first).chain(cs).collect::<String>()
        })
        .collect()
}

struct Builder {
    naming: Naming,
    resources: Vec<Resource>,
    /// Access edges per role logical id.
    accesses: BTreeMap<String, Vec<Access>>,
}

impl Builder {
    fn add(
        &mut self,
        id: impl Into<String>,
        kind: Kind,
        name: Option<(String, NameRule)>,
        origin: impl Into<String>,
        depends_on: &[&str],
        properties: Json,
    ) -> String {
        let id = id.into();
        let (name, rule) = match name {
            Some((n, r)) => (Some(n), Some(r)),
            None => (None, None),
        };
        let mut deps: Vec<String> = depends_on.iter().map(|d| d.to_string()).collect();
        deps.sort();
        deps.dedup();
        self.resources.push(Resource {
            id: id.clone(),
            kind,
            name,
            rule,
            origin: origin.into(),
            depends_on: deps,
            properties,
        });
        id
    }

    fn grant(&mut self, role: &str, access: Access) {
        self.accesses.entry(role.to_string()).or_default().push(access);
    }

    fn name_of(&self, id: &str) -> String {
        self.resources
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.name.clone())
            .unwrap_or_default()
    }
}

impl Resource {
    /// A bucket policy that denies every request not made over TLS: against
    /// an emulator, which speaks plain HTTP (and moto enforces
    /// `aws:SecureTransport`), it would deny pipegen's own requests. Both
    /// engines leave it out there.
    pub fn denies_plain_http(&self) -> bool {
        self.kind == Kind::BucketPolicy && self.properties["tls_only"] == true
    }
}

impl ResourceGraph {
    /// Builds the graph of a validated environment. References have been checked
    /// by validation; a reference that still does not resolve is skipped here
    /// rather than panicking.
    pub fn build(environment: &str, config: &EnvironmentConfig) -> ResourceGraph {
        let naming = Naming {
            project: config.project.clone(),
            tenant: config.tenant.clone(),
            region: config.region.clone(),
            account: config.account.clone(),
        };
        let mut b = Builder {
            naming,
            resources: Vec::new(),
            accesses: BTreeMap::new(),
        };
        let n = b.naming.clone();
        let c = config;

        // Storage.
        let lake_name = n.bucket("lake");
        let lc = &c.lake.lifecycle;
        b.add(
            "LakeBucket",
            Kind::Bucket,
            Some((lake_name.clone(), NameRule::S3Bucket)),
            "lake",
            &[],
            json!({
                "purpose": "lake",
                "versioned": c.lake.versioned,
                "encryption": c.lake.encryption,
                "block_public_access": true,
                "lifecycle_rules": [
                    {"id": "bronze", "prefix": "bronze/", "expiration_days": lc.bronze_days, "noncurrent_days": lc.bronze_noncurrent_days},
                    {"id": "silver", "prefix": "silver/", "expiration_days": lc.silver_days, "noncurrent_days": lc.bronze_noncurrent_days},
                    {"id": "gold", "prefix": "gold/", "expiration_days": lc.gold_days, "noncurrent_days": lc.bronze_noncurrent_days},
                    {"id": "athena-results", "prefix": "athena-results/", "expiration_days": lc.athena_results_days, "noncurrent_days": 1},
                    {"id": "incomplete-uploads", "prefix": "", "abort_incomplete_days": 7},
                ],
            }),
        );
        b.add(
            "LakeBucketPolicy",
            Kind::BucketPolicy,
            None,
            "lake",
            &["LakeBucket"],
            json!({"bucket_id": "LakeBucket", "tls_only": true}),
        );
        let artifacts_name = n.bucket("artifacts");
        b.add(
            "ArtifactsBucket",
            Kind::Bucket,
            Some((artifacts_name.clone(), NameRule::S3Bucket)),
            "artifacts",
            &[],
            json!({
                "purpose": "artifacts",
                "versioned": true,
                "encryption": c.artifacts.encryption,
                "block_public_access": true,
                "lifecycle_rules": [{"id": "old-artifacts", "prefix": "", "noncurrent_days": 30, "abort_incomplete_days": 7}],
            }),
        );
        b.add(
            "ArtifactsBucketPolicy",
            Kind::BucketPolicy,
            None,
            "artifacts",
            &["ArtifactsBucket"],
            json!({"bucket_id": "ArtifactsBucket", "tls_only": true}),
        );

        // Streams.
        for (key, s) in &c.streams {
            b.add(
                format!("{}Stream", pascal(key)),
                Kind::Stream,
                Some((n.regional(key), NameRule::KinesisStream)),
                format!("streams.{key}"),
                &[],
                json!({
                    "mode": s.mode,
                    "shards": if s.mode == StreamMode::Provisioned { s.shards } else { None },
                    "retention_hours": s.retention_hours,
                    "encryption": "kms",
                    "kms_key": "alias/aws/kinesis",
                }),
            );
        }

        // One customer-managed key per environment encrypts the topics, tables,
        // queues and log groups: CloudWatch alarms and EventBridge cannot publish
        // to a topic under the AWS-managed aws/sns key, and one key costs less
        // than one per service.
        let data_key_alias = format!("alias/{}-data", n.prefix());
        b.add(
            "DataKey",
            Kind::KmsKey,
            None,
            "topics",
            &[],
            json!({
                "description": format!("Encrypts the topics, tables, queues and logs of {}", n.prefix()),
                "rotation": true,
                "alias": data_key_alias,
                "service_principals": ["cloudwatch.amazonaws.com", "events.amazonaws.com", "sns.amazonaws.com", format!("logs.{}.amazonaws.com", n.region)],
            }),
        );
        for (key, t) in &c.tables {
            b.add(
                format!("{}Table", pascal(key)),
                Kind::DynamoTable,
                Some((n.regional(key), NameRule::DynamoTable)),
                format!("tables.{key}"),
                &["DataKey"],
                json!({
                    "kms_key_id": "DataKey",
                    "billing_mode": "PAY_PER_REQUEST",
                    "partition_key": {"name": "pk", "type": "S"},
                    "sort_key": {"name": "window_start", "type": "N"},
                    "point_in_time_recovery": t.point_in_time_recovery,
                    "sse": true,
                }),
            );
        }
        for (key, t) in &c.topics {
            let topic_id = b.add(
                format!("{}Topic", pascal(key)),
                Kind::Topic,
                Some((n.regional(key), NameRule::SnsTopic)),
                format!("topics.{key}"),
                &["DataKey"],
                json!({"kms_key_id": "DataKey"}),
            );
            for (i, sub) in t.subscriptions.iter().enumerate() {
                b.add(
                    format!("{}Subscription{}", pascal(key), i + 1),
                    Kind::Subscription,
                    None,
                    format!("topics.{key}.subscriptions[{i}]"),
                    &[&topic_id],
                    json!({"topic_id": topic_id, "protocol": sub.protocol, "endpoint": sub.endpoint}),
                );
            }
        }

        // Lambda functions.
        for (key, f) in &c.functions {
            let origin = format!("functions.{key}");
            let fn_name = n.regional(key);
            let log_group = format!("/aws/lambda/{fn_name}");
            let role_id = b.add(
                format!("{}Role", pascal(key)),
                Kind::Role,
                Some((n.regional(&format!("{key}-role")), NameRule::IamRole)),
                origin.clone(),
                &[],
                json!({"assumed_by": "lambda.amazonaws.com"}),
            );
            let log_id = b.add(
                format!("{}LogGroup", pascal(key)),
                Kind::LogGroup,
                Some((log_group.clone(), NameRule::LogGroup)),
                origin.clone(),
                &["DataKey"],
                json!({"retention_days": c.lambda.log_retention_days, "kms_key_id": "DataKey"}),
            );
            b.grant(
                &role_id,
                Access::WriteLogs {
                    log_group: log_group.clone(),
                },
            );

            // Environment variables are encrypted with the environment's key.
            b.grant(
                &role_id,
                Access::UseKey {
                    alias: data_key_alias.clone(),
                },
            );
            let mut env: IndexMap<&str, String> = IndexMap::new();
            env.insert("PIPEGEN_ENVIRONMENT", environment.to_string());
            env.insert("RUST_LOG", "info".into());
            let mut deps = vec![role_id.clone(), log_id.clone(), "DataKey".to_string()];
            match f.workload {
                Workload::Ingest => {
                    env.insert("LAKE_BUCKET", lake_name.clone());
                    env.insert("BRONZE_PREFIX", "bronze/events/".into());
                    env.insert("QUARANTINE_PREFIX", "bronze/_quarantine/".into());
                    env.insert("SOURCE_FORMAT", c.analytics.source_format.as_str().into());
                    deps.push("LakeBucket".into());
                    b.grant(
                        &role_id,
                        Access::WritePrefix {
                            bucket: lake_name.clone(),
                            prefix: "bronze/".into(),
                        },
                    );
                }
                Workload::Detector => {
                    let table_key = f.detections_table.as_deref().unwrap_or("detections");
                    let topic_key = f.alerts_topic.as_deref().unwrap_or("alerts");
                    let table_id = format!("{}Table", pascal(table_key));
                    let topic_id = format!("{}Topic", pascal(topic_key));
                    let table = b.name_of(&table_id);
                    let topic = b.name_of(&topic_id);
                    env.insert("DETECTIONS_TABLE", table.clone());
                    env.insert(
                        "ALERTS_TOPIC_ARN",
                        format!("arn:{}:sns:{}:{}:{topic}", n.partition(), n.region, n.account_in_arn()),
                    );
                    env.insert("THRESHOLD", c.detector.threshold.to_string());
                    env.insert("WINDOW_SECONDS", c.detector.window_seconds.to_string());
                    env.insert("APP_SERVER", c.detector.app_server.clone());
                    env.insert("METRIC_NAMESPACE", c.detector.metric_namespace.clone());
                    env.insert("SOURCE_FORMAT", c.analytics.source_format.as_str().into());
                    deps.push(table_id);
                    deps.push(topic_id);
                    b.grant(&role_id, Access::WriteItems { table });
                    b.grant(&role_id, Access::Publish { topic });
                    b.grant(
                        &role_id,
                        Access::UseKey {
                            alias: data_key_alias.clone(),
                        },
                    );
                }
                Workload::Simulator => {
                    if let Some(stream_key) = &f.target_stream {
                        let stream_id = format!("{}Stream", pascal(stream_key));
                        let stream = b.name_of(&stream_id);
                        env.insert("TARGET_STREAM", stream.clone());
                        deps.push(stream_id);
                        b.grant(&role_id, Access::WriteStream { stream });
                    }
                    env.insert("LAKE_BUCKET", lake_name.clone());
                    env.insert("PROFILE", format!("{:?}", c.simulator.profile).to_lowercase());
                    env.insert("EVENTS_PER_INVOCATION", c.simulator.events_per_invocation.to_string());
                    env.insert("BOTS", c.simulator.bots.to_string());
                    env.insert("FAULT_RATE", c.simulator.fault_rate.to_string());
                    b.grant(
                        &role_id,
                        Access::WritePrefix {
                            bucket: lake_name.clone(),
                            prefix: "bronze/".into(),
                        },
                    );
                }
            }
            let dlq_id = f.trigger.as_ref().filter(|t| t.on_failure_queue).map(|_| {
                let q = n.regional(&format!("{key}-dlq"));
                let id = b.add(
                    format!("{}DeadLetterQueue", pascal(key)),
                    Kind::Queue,
                    Some((q.clone(), NameRule::SqsQueue)),
                    format!("{origin}.trigger.on_failure_queue"),
                    &["DataKey"],
                    json!({"retention_seconds": 1_209_600, "kms_key_id": "DataKey"}),
                );
                b.grant(&role_id, Access::SendMessage { queue: q });
                b.grant(
                    &role_id,
                    Access::UseKey {
                        alias: data_key_alias.clone(),
                    },
                );
                id
            });
            let dep_refs: Vec<&str> = deps.iter().map(String::as_str).collect();
            let fn_id = b.add(
                format!("{}Function", pascal(key)),
                Kind::Function,
                Some((fn_name.clone(), NameRule::LambdaFunction)),
                origin.clone(),
                &dep_refs,
                json!({
                    "workload": f.workload,
                    "runtime": "provided.al2023",
                    "handler": "bootstrap",
                    "architecture": c.lambda.architecture.as_str(),
                    "memory_mb": f.memory_mb,
                    "timeout_seconds": f.timeout_seconds,
                    "reserved_concurrency": f.reserved_concurrency,
                    "role_id": role_id,
                    "log_group_id": log_id,
                    "kms_key_id": "DataKey",
                    "code": {"bucket_id": "ArtifactsBucket", "key": format!("lambda/{}/{{artifact_hash}}.zip", f.workload.as_str())},
                    "environment": env,
                }),
            );
            if let Some(t) = &f.trigger {
                let stream_id = format!("{}Stream", pascal(&t.stream));
                let stream = b.name_of(&stream_id);
                b.grant(&role_id, Access::ReadStream { stream });
                let tumbling = (f.workload == Workload::Detector).then_some(c.detector.window_seconds);
                let mut deps = vec![fn_id.as_str(), stream_id.as_str(), role_id.as_str()];
                if let Some(q) = &dlq_id {
                    deps.push(q);
                }
                b.add(
                    format!("{}EventSourceMapping", pascal(key)),
                    Kind::EventSourceMapping,
                    None,
                    format!("{origin}.trigger"),
                    &deps,
                    json!({
                        "function_id": fn_id,
                        "stream_id": stream_id,
                        "batch_size": t.batch_size,
                        "batching_window_seconds": t.batching_window_seconds,
                        "starting_position": t.starting_position,
                        "max_retries": t.max_retries,
                        "max_record_age_seconds": t.max_record_age_seconds,
                        "bisect_on_error": t.bisect_on_error,
                        "parallelization_factor": t.parallelization_factor,
                        "report_batch_item_failures": true,
                        "tumbling_window_seconds": tumbling,
                        "on_failure_queue_id": dlq_id,
                    }),
                );
            }
            if let Some(s) = &f.schedule {
                let rule_id = b.add(
                    format!("{}Schedule", pascal(key)),
                    Kind::Schedule,
                    Some((n.regional(&format!("{key}-schedule")), NameRule::EventBridgeRule)),
                    format!("{origin}.schedule"),
                    &[&fn_id],
                    json!({"expression": s.expression, "enabled": s.enabled, "target": {"function_id": fn_id}}),
                );
                b.add(
                    format!("{}SchedulePermission", pascal(key)),
                    Kind::LambdaPermission,
                    None,
                    format!("{origin}.schedule"),
                    &[&fn_id, &rule_id],
                    json!({"function_id": fn_id, "principal": "events.amazonaws.com", "source_rule_id": rule_id}),
                );
            }
        }

        // The ETL container job.
        let mut parameters = Vec::new();
        let database = n.glue_database();
        if let Some(etl) = &c.etl {
            let repo = n.regional("etl");
            let cluster = n.prefix();
            let family = n.regional("etl");
            let log_group = format!("/pipegen/{}/etl", n.prefix());
            b.add(
                "EtlRepository",
                Kind::EcrRepository,
                Some((repo.clone(), NameRule::EcsTaskFamily)),
                "etl",
                &[],
                json!({"scan_on_push": true, "immutable_tags": true, "encryption": "KMS", "keep_images": 20}),
            );
            b.add(
                "EtlCluster",
                Kind::EcsCluster,
                Some((cluster.clone(), NameRule::EcsCluster)),
                "etl",
                &[],
                json!({"container_insights": true}),
            );
            b.add(
                "EtlLogGroup",
                Kind::LogGroup,
                Some((log_group.clone(), NameRule::LogGroup)),
                "etl",
                &["DataKey"],
                json!({"retention_days": etl.log_retention_days, "kms_key_id": "DataKey"}),
            );
            let exec_role_name = n.regional("etl-exec-role");
            let task_role_name = n.regional("etl-role");
            let exec_role = b.add(
                "EtlExecutionRole",
                Kind::Role,
                Some((exec_role_name.clone(), NameRule::IamRole)),
                "etl",
                &[],
                json!({"assumed_by": "ecs-tasks.amazonaws.com"}),
            );
            b.grant(
                &exec_role,
                Access::PullImage {
                    repository: repo.clone(),
                },
            );
            b.grant(
                &exec_role,
                Access::WriteLogs {
                    log_group: log_group.clone(),
                },
            );
            let task_role = b.add(
                "EtlTaskRole",
                Kind::Role,
                Some((task_role_name.clone(), NameRule::IamRole)),
                "etl",
                &[],
                json!({"assumed_by": "ecs-tasks.amazonaws.com"}),
            );
            for prefix in ["bronze/", "silver/", "gold/", "_state/"] {
                b.grant(
                    &task_role,
                    Access::ReadPrefix {
                        bucket: lake_name.clone(),
                        prefix: prefix.into(),
                    },
                );
            }
            for prefix in ["silver/", "gold/", "invalid/", "_state/"] {
                b.grant(
                    &task_role,
                    Access::WritePrefix {
                        bucket: lake_name.clone(),
                        prefix: prefix.into(),
                    },
                );
                b.grant(
                    &task_role,
                    Access::DeletePrefix {
                        bucket: lake_name.clone(),
                        prefix: prefix.into(),
                    },
                );
            }
            b.grant(
                &task_role,
                Access::WriteCatalog {
                    database: database.clone(),
                },
            );
            let a = &c.analytics;
            b.add(
                "EtlTaskDefinition",
                Kind::TaskDefinition,
                Some((family.clone(), NameRule::EcsTaskFamily)),
                "etl",
                &["EtlRepository", "EtlLogGroup", "EtlExecutionRole", "EtlTaskRole", "LakeBucket"],
                json!({
                    "cpu": etl.cpu,
                    "memory_mb": etl.memory_mb,
                    "architecture": c.lambda.architecture.as_str(),
                    "repository_id": "EtlRepository",
                    "image_tag": "{artifact_hash}",
                    "user": "1000",
                    "execution_role_id": "EtlExecutionRole",
                    "task_role_id": "EtlTaskRole",
                    "log_group_id": "EtlLogGroup",
                    "command": [
                        "etl",
                        "--lake-bucket", lake_name,
                        "--source-format", a.source_format.as_str(),
                        "--time-zone", a.time_zone,
                        "--peak-hours", format!("{}-{}", a.peak_hours.start, a.peak_hours.end),
                        "--festival-dates", a.festival_dates.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(","),
                        "--glue-database", database,
                    ],
                }),
            );
            b.add(
                "EtlSecurityGroup",
                Kind::SecurityGroup,
                None,
                "etl",
                &[],
                json!({
                    "description": format!("ETL task of {}: HTTPS out to AWS APIs only, nothing in", n.prefix()),
                    "vpc_parameter": "VpcId",
                    "egress": [{"protocol": "tcp", "port": 443, "cidr": "0.0.0.0/0", "description": "HTTPS to AWS service endpoints"}],
                }),
            );
            parameters.push(Parameter {
                name: "VpcId".into(),
                kind: "vpc_id".into(),
                description: "VPC the ETL task runs in".into(),
            });
            parameters.push(Parameter {
                name: "EtlSubnetIds".into(),
                kind: "subnet_ids".into(),
                description: "Subnets for the ETL task (private with a NAT or VPC endpoints, or public)".into(),
            });
            let events_role = b.add(
                "EtlScheduleRole",
                Kind::Role,
                Some((n.regional("etl-schedule-role"), NameRule::IamRole)),
                "etl.schedule",
                &[],
                json!({"assumed_by": "events.amazonaws.com"}),
            );
            b.grant(
                &events_role,
                Access::RunTask {
                    cluster: cluster.clone(),
                    family: family.clone(),
                },
            );
            b.grant(&events_role, Access::PassRole { role: exec_role_name });
            b.grant(&events_role, Access::PassRole { role: task_role_name });
            b.add(
                "EtlSchedule",
                Kind::Schedule,
                Some((n.regional("etl-schedule"), NameRule::EventBridgeRule)),
                "etl.schedule",
                &["EtlCluster", "EtlTaskDefinition", "EtlScheduleRole", "EtlSecurityGroup"],
                json!({
                    "expression": etl.schedule.expression,
                    "enabled": etl.schedule.enabled,
                    "target": {
                        "cluster_id": "EtlCluster",
                        "task_definition_id": "EtlTaskDefinition",
                        "role_id": "EtlScheduleRole",
                        "launch_type": "FARGATE",
                        "subnets_parameter": "EtlSubnetIds",
                        "security_group_id": "EtlSecurityGroup",
                    },
                }),
            );
        }

        // The catalog.
        b.add(
            "GlueDatabase",
            Kind::GlueDatabase,
            Some((database.clone(), NameRule::GlueDatabase)),
            "catalog",
            &[],
            json!({"location": format!("s3://{lake_name}/")}),
        );
        for t in lake::TABLES {
            b.add(
                format!("{}Table", pascal(t.name)),
                Kind::GlueTable,
                Some((t.name.to_string(), NameRule::GlueTable)),
                "catalog",
                &["GlueDatabase"],
                json!({
                    "database_id": "GlueDatabase",
                    "layer": t.layer,
                    "format": t.format,
                    "location": format!("s3://{lake_name}/{}", t.prefix),
                    "columns": t.columns,
                    "partition_keys": t.partition_keys,
                    "compressed": t.format == StorageFormat::JsonLines,
                    "storage": storage(t.format),
                }),
            );
        }
        if c.catalog.crawlers {
            let role = b.add(
                "CrawlerRole",
                Kind::Role,
                Some((n.regional("crawler-role"), NameRule::IamRole)),
                "catalog.crawlers",
                &[],
                json!({"assumed_by": "glue.amazonaws.com"}),
            );
            // Crawler logs and bookmarks are encrypted with the environment's
            // key through a Glue security configuration.
            b.add(
                "GlueSecurityConfiguration",
                Kind::GlueSecurityConfiguration,
                Some((n.regional("glue"), NameRule::GlueCrawler)),
                "catalog.crawlers",
                &["DataKey"],
                json!({"kms_key_id": "DataKey", "s3_encryption": "SSE-S3"}),
            );
            b.grant(
                &role,
                Access::UseKey {
                    alias: data_key_alias.clone(),
                },
            );
            let crawler_role_name = n.regional("crawler-role");
            let crawler_logs = format!("/aws-glue/crawlers-role/{crawler_role_name}-{}", n.regional("glue"));
            b.grant(
                &role,
                Access::CreateLogs {
                    log_group: crawler_logs,
                },
            );
            b.grant(
                &role,
                Access::WriteCatalog {
                    database: database.clone(),
                },
            );
            for (layer, prefix) in [
                (Layer::Bronze, "bronze/events/"),
                (Layer::Silver, "silver/events/"),
                (Layer::Gold, "gold/"),
            ] {
                let layer_name = match layer {
                    Layer::Bronze => "bronze",
                    Layer::Silver => "silver",
                    _ => "gold",
                };
                b.grant(
                    &role,
                    Access::ReadPrefix {
                        bucket: lake_name.clone(),
                        prefix: prefix.into(),
                    },
                );
                b.add(
                    format!("{}Crawler", pascal(layer_name)),
                    Kind::GlueCrawler,
                    Some((n.regional(&format!("{layer_name}-crawler")), NameRule::GlueCrawler)),
                    "catalog.crawlers",
                    &["GlueDatabase", "CrawlerRole", "GlueSecurityConfiguration"],
                    json!({
                        "database_id": "GlueDatabase",
                        "role_id": "CrawlerRole",
                        "security_configuration_id": "GlueSecurityConfiguration",
                        "path": format!("s3://{lake_name}/{prefix}"),
                        "update_behavior": "UPDATE_IN_DATABASE",
                        "delete_behavior": "DEPRECATE_IN_DATABASE",
                        "schedule": null,
                    }),
                );
            }
        }

        // Athena.
        let workgroup = n.prefix();
        b.add(
            "AthenaWorkgroup",
            Kind::AthenaWorkgroup,
            Some((workgroup, NameRule::AthenaWorkgroup)),
            "athena",
            &["LakeBucket", "DataKey"],
            json!({
                "result_location": format!("s3://{lake_name}/athena-results/"),
                "enforce_configuration": true,
                "encryption": "SSE_KMS",
                "kms_key_id": "DataKey",
                "publish_metrics": true,
                "bytes_scanned_cutoff": c.athena.bytes_scanned_cutoff_mb.map(|mb| mb * 1024 * 1024),
            }),
        );
        if c.athena.named_queries {
            for (name, question) in NAMED_QUERIES {
                b.add(
                    format!("{}Query", pascal(name)),
                    Kind::NamedQuery,
                    Some((name.to_string(), NameRule::GlueTable)),
                    "athena.named_queries",
                    &["AthenaWorkgroup", "GlueDatabase"],
                    json!({"workgroup_id": "AthenaWorkgroup", "database_id": "GlueDatabase", "description": question, "sql_file": format!("queries/{name}.sql")}),
                );
            }
        }

        // Firehose backup.
        if let Some(fh) = c.firehose_backup.as_ref().filter(|f| f.enabled) {
            let stream_id = format!("{}Stream", pascal(&fh.stream));
            let stream = b.name_of(&stream_id);
            let role = b.add(
                "RawBackupRole",
                Kind::Role,
                Some((n.regional("raw-backup-role"), NameRule::IamRole)),
                "firehose_backup",
                &[],
                json!({"assumed_by": "firehose.amazonaws.com"}),
            );
            b.grant(&role, Access::ReadStream { stream });
            b.grant(
                &role,
                Access::WritePrefix {
                    bucket: lake_name.clone(),
                    prefix: fh.prefix.clone(),
                },
            );
            b.add(
                "RawBackupDeliveryStream",
                Kind::DeliveryStream,
                Some((n.regional("raw-backup"), NameRule::FirehoseStream)),
                "firehose_backup",
                &[&stream_id, "LakeBucket", "RawBackupRole"],
                json!({
                    "source_stream_id": stream_id,
                    "bucket_id": "LakeBucket",
                    "prefix": fh.prefix,
                    "error_prefix": format!("{}_errors/", fh.prefix),
                    "buffer_seconds": fh.buffer_seconds,
                    "buffer_mb": fh.buffer_mb,
                    "compression": "GZIP",
                    "role_id": "RawBackupRole",
                }),
            );
        }

        // Alarms and dashboard.
        if c.alarms.enabled {
            let topic_id = format!("{}Topic", pascal(&c.alarms.topic));
            let mut alarms: Vec<(String, Json, Vec<String>)> = Vec::new();
            for (key, f) in &c.functions {
                let fn_id = format!("{}Function", pascal(key));
                let fn_name = b.name_of(&fn_id);
                alarms.push((
                    format!("{key}-errors"),
                    json!({"namespace": "AWS/Lambda", "metric": "Errors", "dimensions": {"FunctionName": fn_name}, "statistic": "Sum", "period": 300, "threshold": 1, "comparison": "GreaterThanOrEqualToThreshold"}),
                    vec![fn_id.clone()],
                ));
                if f.trigger.is_some() {
                    alarms.push((
                        format!("{key}-iterator-age"),
                        json!({"namespace": "AWS/Lambda", "metric": "IteratorAge", "dimensions": {"FunctionName": fn_name}, "statistic": "Maximum", "period": 300, "threshold": c.alarms.iterator_age_ms, "comparison": "GreaterThanThreshold"}),
                        vec![fn_id.clone()],
                    ));
                    if f.trigger.as_ref().is_some_and(|t| t.on_failure_queue) {
                        let q_id = format!("{}DeadLetterQueue", pascal(key));
                        let q = b.name_of(&q_id);
                        alarms.push((
                            format!("{key}-dlq-not-empty"),
                            json!({"namespace": "AWS/SQS", "metric": "ApproximateNumberOfMessagesVisible", "dimensions": {"QueueName": q}, "statistic": "Maximum", "period": 300, "threshold": 0, "comparison": "GreaterThanThreshold"}),
                            vec![q_id],
                        ));
                    }
                }
                if f.workload == Workload::Detector {
                    alarms.push((
                        "detections".to_string(),
                        json!({"namespace": c.detector.metric_namespace, "metric": pipegen_events::metrics::HIGH_VOLUME_EVENTS, "dimensions": {}, "statistic": "SampleCount", "period": 60, "threshold": 0, "comparison": "GreaterThanThreshold"}),
                        vec![],
                    ));
                }
            }
            if c.etl.is_some() {
                alarms.push((
                    "etl-failures".to_string(),
                    json!({"namespace": pipegen_events::metrics::ETL_NAMESPACE, "metric": pipegen_events::metrics::ETL_RUN_FAILED, "dimensions": {"Environment": environment}, "statistic": "Sum", "period": 3600, "threshold": 1, "comparison": "GreaterThanOrEqualToThreshold"}),
                    vec![],
                ));
            }
            for (name, mut props, mut deps) in alarms {
                props["topic_id"] = json!(topic_id);
                props["treat_missing_data"] = json!("notBreaching");
                deps.push(topic_id.clone());
                let dep_refs: Vec<&str> = deps.iter().map(String::as_str).collect();
                b.add(
                    format!("{}Alarm", pascal(&name)),
                    Kind::Alarm,
                    Some((n.regional(&name), NameRule::Alarm)),
                    "alarms",
                    &dep_refs,
                    props,
                );
            }
        }
        if c.dashboard.enabled {
            let functions: Vec<String> = c.functions.keys().map(|k| n.regional(k)).collect();
            b.add(
                "PipelineDashboard",
                Kind::Dashboard,
                Some((n.regional("pipeline"), NameRule::Dashboard)),
                "dashboard",
                &[],
                json!({"body": dashboard_body(environment, &n, c, &functions)}),
            );
        }

        // Policies: each role gets the statements of its edges.
        let accesses = std::mem::take(&mut b.accesses);
        for r in b.resources.iter_mut().filter(|r| r.kind == Kind::Role) {
            let edges = accesses.get(&r.id).cloned().unwrap_or_default();
            let statements = iam::policy(&b.naming, &edges);
            r.properties["accesses"] = json!(edges);
            r.properties["statements"] = json!(statements);
        }

        let mut tags = IndexMap::new();
        tags.insert("pipegen:environment".to_string(), environment.to_string());
        tags.insert("pipegen:tenant".to_string(), c.tenant.clone());
        tags.insert("pipegen:project".to_string(), c.project.clone());
        for (k, v) in &c.tags {
            tags.insert(k.clone(), v.clone());
        }
        let mut graph = ResourceGraph {
            environment: environment.to_string(),
            region: c.region.clone(),
            account: c.account.clone(),
            tags,
            parameters,
            resources: b.resources,
        };
        graph.sort_topologically();
        graph
    }

    pub fn get(&self, id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.id == id)
    }

    /// Orders resources so that each comes after its dependencies (stable:
    /// among ready resources, the original order is kept). Dependencies on ids
    /// that are not in the graph are reported by `dangling`, not here.
    fn sort_topologically(&mut self) {
        let ids: BTreeSet<String> = self.resources.iter().map(|r| r.id.clone()).collect();
        let mut done: BTreeSet<String> = BTreeSet::new();
        let mut pending = std::mem::take(&mut self.resources);
        while !pending.is_empty() {
            let ready = pending
                .iter()
                .position(|r| r.depends_on.iter().all(|d| done.contains(d) || !ids.contains(d)));
            let i = ready.unwrap_or(0); // a cycle cannot arise from build(); `cycles` checks anyway
            let r = pending.remove(i);
            done.insert(r.id.clone());
            self.resources.push(r);
        }
    }

    /// Dependencies naming resources that do not exist: (resource, missing id).
    pub fn dangling(&self) -> Vec<(String, String)> {
        let ids: BTreeSet<&str> = self.resources.iter().map(|r| r.id.as_str()).collect();
        self.resources
            .iter()
            .flat_map(|r| {
                r.depends_on
                    .iter()
                    .filter(|d| !ids.contains(d.as_str()))
                    .map(|d| (r.id.clone(), d.clone()))
            })
            .collect()
    }

    /// True when every resource comes after all of its dependencies.
    pub fn is_ordered(&self) -> bool {
        let mut seen = BTreeSet::new();
        for r in &self.resources {
            if r.depends_on.iter().any(|d| !seen.contains(d.as_str())) {
                return false;
            }
            seen.insert(r.id.as_str());
        }
        true
    }

    /// Plain text: one resource per line with its physical name and dependencies.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "# {} ({}): {} resources\n",
            self.environment,
            self.region,
            self.resources.len()
        );
        let width = self.resources.iter().map(|r| r.id.len()).max().unwrap_or(0);
        for r in &self.resources {
            let kind = serde_json::to_value(r.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            out.push_str(&format!(
                "{:width$}  {:20} {}",
                r.id,
                kind,
                r.name.as_deref().unwrap_or("-")
            ));
            if !r.depends_on.is_empty() {
                out.push_str(&format!("  <- {}", r.depends_on.join(", ")));
            }
            out.push('\n');
        }
        out
    }

    /// Graphviz dot, edges pointing from a dependency to its dependant.
    pub fn to_dot(&self) -> String {
        let mut out = format!(
            "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
            self.environment
        );
        for r in &self.resources {
            let kind = serde_json::to_value(r.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            out.push_str(&format!("  \"{}\" [label=\"{}\\n{}\"];\n", r.id, r.id, kind));
        }
        for r in &self.resources {
            for d in &r.depends_on {
                out.push_str(&format!("  \"{d}\" -> \"{}\";\n", r.id));
            }
        }
        out.push_str("}\n");
        out
    }
}

/// Hive storage of a lake table, as Glue and Athena name it.
fn storage(format: StorageFormat) -> Json {
    match format {
        StorageFormat::Parquet => json!({
            "classification": "parquet",
            "input_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "output_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "serde": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
            "serde_parameters": {"serialization.format": "1"},
        }),
        StorageFormat::JsonLines => json!({
            "classification": "json",
            "input_format": "org.apache.hadoop.mapred.TextInputFormat",
            "output_format": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "serde": "org.openx.data.jsonserde.JsonSerDe",
            "serde_parameters": {"ignore.malformed.json": "true", "case.insensitive": "true"},
        }),
    }
}

/// The CloudWatch dashboard of pipeline health (spec/queries.md): ingest
/// records and errors, iterator age, quarantined records, ETL duration and
/// rows, bot detections. The body is JSON text, as CloudWatch takes it.
fn dashboard_body(environment: &str, n: &Naming, c: &EnvironmentConfig, functions: &[String]) -> String {
    use pipegen_events::metrics as m;
    let region = &n.region;
    let per_function = |metric: &str, stat: &str| -> Vec<Json> {
        functions
            .iter()
            .map(|f| json!(["AWS/Lambda", metric, "FunctionName", f, {"stat": stat}]))
            .collect()
    };
    let own = |metric: &str| json!([m::NAMESPACE, metric, "Environment", environment]);
    let etl = |metric: &str| json!([m::ETL_NAMESPACE, metric, "Environment", environment]);
    let widget = |x: u32, y: u32, title: &str, metrics: Vec<Json>| {
        json!({
            "type": "metric", "x": x, "y": y, "width": 12, "height": 6,
            "properties": {"title": title, "region": region, "view": "timeSeries", "stacked": false, "period": 300, "metrics": metrics},
        })
    };
    let body = json!({
        "widgets": [
            widget(0, 0, "Ingest: records and bytes", vec![own(m::INGEST_RECORDS), own(m::INGEST_BYTES), own(m::OBJECTS_WRITTEN)]),
            widget(12, 0, "Lambda errors", per_function("Errors", "Sum")),
            widget(0, 6, "Iterator age (ms)", per_function("IteratorAge", "Maximum")),
            widget(12, 6, "Quarantined records", vec![own(m::QUARANTINED_RECORDS)]),
            widget(0, 12, "ETL: run duration and rows", vec![etl(m::ETL_RUN_SECONDS), etl(m::ETL_SILVER_ROWS), etl(m::ETL_INVALID_ROWS)]),
            widget(12, 12, "Bot detections", vec![json!([c.detector.metric_namespace, m::HIGH_VOLUME_EVENTS, {"stat": "SampleCount"}])]),
        ]
    });
    body.to_string()
}
