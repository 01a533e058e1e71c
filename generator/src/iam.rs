//! IAM policies derived from the resource graph's access edges.
//!
//! Nobody writes a policy by hand: the graph records who reads or writes what
//! (`Access`), and this module turns each edge into statements with the exact
//! ARNs — a bucket prefix, a stream, a table, a topic. A wildcard resource
//! appears only for an action that has no resource-level permission in AWS,
//! and each such action is listed in `NO_RESOURCE_LEVEL` with the reason.

use serde::Serialize;

use crate::naming::Naming;

/// What a principal may do to a target.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "access", rename_all = "snake_case")]
pub enum Access {
    /// Consume a Kinesis stream (event source mapping or Firehose source).
    ReadStream { stream: String },
    /// Put records on a Kinesis stream.
    WriteStream { stream: String },
    /// Read objects under a prefix of a bucket (and list that prefix).
    ReadPrefix { bucket: String, prefix: String },
    /// Write (and overwrite) objects under a prefix.
    WritePrefix { bucket: String, prefix: String },
    /// Delete objects under a prefix (the ETL replaces recomputed partitions).
    DeletePrefix { bucket: String, prefix: String },
    /// Conditional writes to a DynamoDB table.
    WriteItems { table: String },
    /// Publish to an SNS topic.
    Publish { topic: String },
    /// Use the environment's customer-managed KMS key, named by its alias.
    UseKey { alias: String },
    /// Send to an SQS queue (the on-failure destination).
    SendMessage { queue: String },
    /// Write to a CloudWatch Logs log group.
    WriteLogs { log_group: String },
    /// Create a log group and write to it (services that make their own
    /// groups, such as Glue crawlers with a security configuration).
    CreateLogs { log_group: String },
    /// Create and update tables and partitions of a Glue database.
    WriteCatalog { database: String },
    /// Pull an image from an ECR repository.
    PullImage { repository: String },
    /// Start an ECS task of a task definition family in a cluster.
    RunTask { cluster: String, family: String },
    /// Pass a role to a service (ECS, to start the ETL task).
    PassRole { role: String },
}

/// One IAM policy statement.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Statement {
    pub sid: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// (operator, key, values), e.g. ("StringLike", "s3:prefix", ["bronze/*"]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// Actions with no resource-level permission in AWS, so `*` is the only
/// possible resource; with the reason.
pub const NO_RESOURCE_LEVEL: &[(&str, &str)] = &[(
    "ecr:GetAuthorizationToken",
    "ECR's registry login token is account-wide; the action has no resource type",
)];

fn arn(n: &Naming, service: &str, resource: &str) -> String {
    format!(
        "arn:{}:{service}:{}:{}:{resource}",
        n.partition(),
        n.region,
        n.account_in_arn()
    )
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|a| a.to_string()).collect()
}

fn sid(prefix: &str, name: &str) -> String {
    let mut out = String::from(prefix);
    let mut upper = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

/// The statements granting one access edge. Bucket, stream, table, topic,
/// queue, log group, database, repository, cluster and role values are
/// physical names.
pub fn statements(n: &Naming, access: &Access) -> Vec<Statement> {
    let p = n.partition();
    let one = |sid: String, actions: &[&str], resources: Vec<String>| Statement {
        sid,
        actions: s(actions),
        resources,
        conditions: vec![],
    };
    match access {
        Access::ReadStream { stream } => vec![one(
            sid("ReadStream", stream),
            &[
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:ListShards",
                "kinesis:SubscribeToShard",
            ],
            vec![arn(n, "kinesis", &format!("stream/{stream}"))],
        )],
        Access::WriteStream { stream } => vec![one(
            sid("WriteStream", stream),
            &[
                "kinesis:PutRecord",
                "kinesis:PutRecords",
                "kinesis:DescribeStreamSummary",
            ],
            vec![arn(n, "kinesis", &format!("stream/{stream}"))],
        )],
        Access::ReadPrefix { bucket, prefix } => vec![
            one(
                sid("Read", &format!("{bucket} {prefix}")),
                &["s3:GetObject"],
                vec![format!("arn:{p}:s3:::{bucket}/{prefix}*")],
            ),
            Statement {
                sid: sid("List", &format!("{bucket} {prefix}")),
                actions: s(&["s3:ListBucket"]),
                resources: vec![format!("arn:{p}:s3:::{bucket}")],
                conditions: vec![Condition {
                    operator: "StringLike".into(),
                    key: "s3:prefix".into(),
                    values: vec![format!("{prefix}*")],
                }],
            },
        ],
        Access::WritePrefix { bucket, prefix } => vec![one(
            sid("Write", &format!("{bucket} {prefix}")),
            &["s3:PutObject", "s3:AbortMultipartUpload"],
            vec![format!("arn:{p}:s3:::{bucket}/{prefix}*")],
        )],
        Access::DeletePrefix { bucket, prefix } => vec![one(
            sid("Delete", &format!("{bucket} {prefix}")),
            &["s3:DeleteObject"],
            vec![format!("arn:{p}:s3:::{bucket}/{prefix}*")],
        )],
        Access::WriteItems { table } => vec![one(
            sid("WriteItems", table),
            &["dynamodb:PutItem", "dynamodb:GetItem"],
            vec![arn(n, "dynamodb", &format!("table/{table}"))],
        )],
        Access::Publish { topic } => vec![one(sid("Publish", topic), &["sns:Publish"], vec![arn(n, "sns", topic)])],
        // KMS authorizes key use against the key's ARN, which is only known
        // after deployment; an alias ARN in `Resource` would match nothing.
        // AWS's pattern for this is a key wildcard narrowed by the alias.
        Access::UseKey { alias } => vec![Statement {
            sid: "UseDataKey".into(),
            actions: s(&["kms:GenerateDataKey", "kms:Decrypt"]),
            resources: vec![arn(n, "kms", "key/*")],
            conditions: vec![Condition {
                operator: "ForAnyValue:StringEquals".into(),
                key: "kms:ResourceAliases".into(),
                values: vec![alias.clone()],
            }],
        }],
        Access::SendMessage { queue } => {
            vec![one(
                sid("SendTo", queue),
                &["sqs:SendMessage"],
                vec![arn(n, "sqs", queue)],
            )]
        }
        Access::WriteLogs { log_group } => vec![one(
            sid("Logs", log_group),
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            vec![arn(n, "logs", &format!("log-group:{log_group}:*"))],
        )],
        Access::CreateLogs { log_group } => vec![one(
            sid("CreateLogs", log_group),
            &[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:AssociateKmsKey",
            ],
            vec![arn(n, "logs", &format!("log-group:{log_group}:*"))],
        )],
        Access::WriteCatalog { database } => vec![one(
            sid("Catalog", database),
            &[
                "glue:GetDatabase",
                "glue:GetTable",
                "glue:GetTables",
                "glue:CreateTable",
                "glue:UpdateTable",
                "glue:GetPartition",
                "glue:GetPartitions",
                "glue:BatchGetPartition",
                "glue:CreatePartition",
                "glue:BatchCreatePartition",
                "glue:UpdatePartition",
                "glue:BatchUpdatePartition",
            ],
            vec![
                arn(n, "glue", "catalog"),
                arn(n, "glue", &format!("database/{database}")),
                arn(n, "glue", &format!("table/{database}/*")),
            ],
        )],
        Access::PullImage { repository } => vec![
            one(
                sid("Pull", repository),
                &[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                vec![arn(n, "ecr", &format!("repository/{repository}"))],
            ),
            one("RegistryLogin".into(), &["ecr:GetAuthorizationToken"], vec!["*".into()]),
        ],
        Access::RunTask { cluster, family } => vec![Statement {
            sid: sid("Run", family),
            actions: s(&["ecs:RunTask"]),
            resources: vec![arn(n, "ecs", &format!("task-definition/{family}:*"))],
            conditions: vec![Condition {
                operator: "ArnEquals".into(),
                key: "ecs:cluster".into(),
                values: vec![arn(n, "ecs", &format!("cluster/{cluster}"))],
            }],
        }],
        Access::PassRole { role } => vec![Statement {
            sid: sid("Pass", role),
            actions: s(&["iam:PassRole"]),
            resources: vec![format!("arn:{p}:iam::{}:role/{role}", n.account_in_arn())],
            conditions: vec![Condition {
                operator: "StringEquals".into(),
                key: "iam:PassedToService".into(),
                values: vec!["ecs-tasks.amazonaws.com".into()],
            }],
        }],
    }
}

/// All statements of a role, in a stable order, with identical statements
/// merged (two edges can grant the same thing).
pub fn policy(n: &Naming, accesses: &[Access]) -> Vec<Statement> {
    let mut out: Vec<Statement> = Vec::new();
    for a in accesses {
        for st in statements(n, a) {
            if !out.contains(&st) {
                out.push(st);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naming() -> Naming {
        Naming {
            project: "pg".into(),
            tenant: "t1".into(),
            region: "eu-west-1".into(),
            account: Some("123456789012".into()),
        }
    }

    #[test]
    fn prefix_read_is_limited_to_the_prefix() {
        let st = statements(
            &naming(),
            &Access::ReadPrefix {
                bucket: "b".into(),
                prefix: "bronze/".into(),
            },
        );
        assert_eq!(st[0].resources, ["arn:aws:s3:::b/bronze/*"]);
        assert_eq!(st[1].resources, ["arn:aws:s3:::b"]);
        assert_eq!(st[1].conditions[0].values, ["bronze/*"]);
    }

    #[test]
    fn exact_arns_for_streams_tables_topics() {
        let n = naming();
        let st = policy(
            &n,
            &[
                Access::ReadStream {
                    stream: "pg-t1-events".into(),
                },
                Access::WriteItems {
                    table: "pg-t1-detections".into(),
                },
                Access::Publish {
                    topic: "pg-t1-alerts".into(),
                },
            ],
        );
        let resources: Vec<&str> = st.iter().flat_map(|s| s.resources.iter().map(String::as_str)).collect();
        assert_eq!(
            resources,
            [
                "arn:aws:kinesis:eu-west-1:123456789012:stream/pg-t1-events",
                "arn:aws:dynamodb:eu-west-1:123456789012:table/pg-t1-detections",
                "arn:aws:sns:eu-west-1:123456789012:pg-t1-alerts",
            ]
        );
    }

    #[test]
    fn wildcards_only_for_actions_without_resource_level_permissions() {
        let n = naming();
        let every = [
            Access::ReadStream { stream: "s".into() },
            Access::WriteStream { stream: "s".into() },
            Access::ReadPrefix {
                bucket: "b".into(),
                prefix: "p/".into(),
            },
            Access::WritePrefix {
                bucket: "b".into(),
                prefix: "p/".into(),
            },
            Access::DeletePrefix {
                bucket: "b".into(),
                prefix: "p/".into(),
            },
            Access::WriteItems { table: "t".into() },
            Access::Publish { topic: "t".into() },
            Access::UseKey {
                alias: "alias/k".into(),
            },
            Access::SendMessage { queue: "q".into() },
            Access::WriteLogs {
                log_group: "/aws/lambda/f".into(),
            },
            Access::CreateLogs {
                log_group: "/aws-glue/crawlers-role/r-c".into(),
            },
            Access::WriteCatalog { database: "d".into() },
            Access::PullImage { repository: "r".into() },
            Access::RunTask {
                cluster: "c".into(),
                family: "f".into(),
            },
            Access::PassRole { role: "r".into() },
        ];
        for st in policy(&n, &every) {
            if st.resources.iter().any(|r| r == "*") {
                for action in &st.actions {
                    assert!(
                        NO_RESOURCE_LEVEL.iter().any(|(a, _)| a == action),
                        "{action} has a wildcard resource but a resource-level permission exists"
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_account_uses_the_pseudo_parameter() {
        let mut n = naming();
        n.account = None;
        let st = statements(&n, &Access::Publish { topic: "t".into() });
        assert_eq!(st[0].resources, ["arn:aws:sns:eu-west-1:${AWS::AccountId}:t"]);
    }
}
