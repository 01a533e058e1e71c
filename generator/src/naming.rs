//! Physical names and each AWS service's rules for them.
//!
//! Every physical name derives from the project and the tenant, so two tenants
//! never collide in one account. S3 bucket names are global across all of AWS:
//! they end in the account id when the environment gives one, else in a short
//! hash of project, tenant and region (stable, so renders do not churn).
//! Renderers and engines take names from here and never make their own.

use sha2::{Digest, Sha256};

/// Builds the physical names of one environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Naming {
    pub project: String,
    pub tenant: String,
    pub region: String,
    pub account: Option<String>,
}

impl Naming {
    /// `<project>-<tenant>`, the start of every name.
    pub fn prefix(&self) -> String {
        format!("{}-{}", self.project, self.tenant)
    }

    /// What makes a global name unique: the account id, or an 8-hex-digit hash.
    pub fn global_suffix(&self) -> String {
        match &self.account {
            Some(a) => a.clone(),
            None => {
                let digest = Sha256::digest(format!("{}/{}/{}", self.project, self.tenant, self.region));
                digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
            }
        }
    }

    /// `<project>-<tenant>-<purpose>-<account or hash>`.
    pub fn bucket(&self, purpose: &str) -> String {
        format!("{}-{purpose}-{}", self.prefix(), self.global_suffix())
    }

    /// `<project>-<tenant>-<name>` for regional resources.
    pub fn regional(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix())
    }

    /// Glue names allow lower case letters, digits and underscores only.
    pub fn glue_database(&self) -> String {
        format!("{}_{}_db", self.project, self.tenant)
            .replace('-', "_")
            .to_lowercase()
    }

    /// The AWS partition of the region (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &'static str {
        if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }

    /// The account as it appears in ARNs: the id, or CloudFormation's pseudo
    /// parameter (the Terraform renderer maps it to `aws_caller_identity`).
    pub fn account_in_arn(&self) -> String {
        self.account.clone().unwrap_or_else(|| ACCOUNT_PLACEHOLDER.to_string())
    }
}

/// Stands for the deploying account in ARNs when the environment names none.
pub const ACCOUNT_PLACEHOLDER: &str = "${AWS::AccountId}";

/// The naming rules of one kind of AWS name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameRule {
    S3Bucket,
    KinesisStream,
    LambdaFunction,
    SqsQueue,
    DynamoTable,
    SnsTopic,
    IamRole,
    GlueDatabase,
    GlueTable,
    GlueCrawler,
    AthenaWorkgroup,
    FirehoseStream,
    EventBridgeRule,
    EcsCluster,
    EcsTaskFamily,
    LogGroup,
    Alarm,
    Dashboard,
}

impl NameRule {
    /// What the name is, for messages.
    pub fn what(self) -> &'static str {
        match self {
            NameRule::S3Bucket => "S3 bucket name",
            NameRule::KinesisStream => "Kinesis stream name",
            NameRule::LambdaFunction => "Lambda function name",
            NameRule::SqsQueue => "SQS queue name",
            NameRule::DynamoTable => "DynamoDB table name",
            NameRule::SnsTopic => "SNS topic name",
            NameRule::IamRole => "IAM role name",
            NameRule::GlueDatabase => "Glue database name",
            NameRule::GlueTable => "Glue table name",
            NameRule::GlueCrawler => "Glue crawler name",
            NameRule::AthenaWorkgroup => "Athena workgroup name",
            NameRule::FirehoseStream => "Firehose stream name",
            NameRule::EventBridgeRule => "EventBridge rule name",
            NameRule::EcsCluster => "ECS cluster name",
            NameRule::EcsTaskFamily => "ECS task definition family",
            NameRule::LogGroup => "CloudWatch log group name",
            NameRule::Alarm => "CloudWatch alarm name",
            NameRule::Dashboard => "CloudWatch dashboard name",
        }
    }

    /// (minimum length, maximum length, allowed characters described).
    fn limits(self) -> (usize, usize, &'static str) {
        match self {
            NameRule::S3Bucket => (3, 63, "lower case letters, digits, hyphens and dots"),
            NameRule::KinesisStream | NameRule::FirehoseStream => (
                1,
                if self == NameRule::KinesisStream { 128 } else { 64 },
                "letters, digits, `_`, `-` and `.`",
            ),
            NameRule::LambdaFunction => (1, 64, "letters, digits, `-` and `_`"),
            NameRule::SqsQueue => (1, 80, "letters, digits, `-` and `_`"),
            NameRule::DynamoTable => (3, 255, "letters, digits, `_`, `-` and `.`"),
            NameRule::SnsTopic => (1, 256, "letters, digits, `-` and `_`"),
            NameRule::IamRole => (1, 64, "letters, digits and `+=,.@_-`"),
            NameRule::GlueDatabase | NameRule::GlueTable => (1, 255, "lower case letters, digits and `_`"),
            NameRule::GlueCrawler => (1, 255, "letters, digits, `-` and `_`"),
            NameRule::AthenaWorkgroup => (1, 128, "letters, digits, `.`, `_` and `-`"),
            NameRule::EventBridgeRule => (1, 64, "letters, digits, `.`, `-` and `_`"),
            NameRule::EcsCluster | NameRule::EcsTaskFamily => (1, 255, "letters, digits, `-` and `_`"),
            NameRule::LogGroup => (1, 512, "letters, digits and `_-/.#`"),
            NameRule::Alarm => (1, 255, "printable ASCII"),
            NameRule::Dashboard => (1, 255, "letters, digits, `-` and `_`"),
        }
    }

    fn allowed(self, c: char) -> bool {
        let alnum = c.is_ascii_alphanumeric();
        match self {
            NameRule::S3Bucket => c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.',
            NameRule::KinesisStream
            | NameRule::FirehoseStream
            | NameRule::DynamoTable
            | NameRule::AthenaWorkgroup
            | NameRule::EventBridgeRule => alnum || matches!(c, '_' | '-' | '.'),
            NameRule::LambdaFunction
            | NameRule::SqsQueue
            | NameRule::SnsTopic
            | NameRule::GlueCrawler
            | NameRule::EcsCluster
            | NameRule::EcsTaskFamily
            | NameRule::Dashboard => alnum || matches!(c, '_' | '-'),
            NameRule::IamRole => alnum || "+=,.@_-".contains(c),
            NameRule::GlueDatabase | NameRule::GlueTable => c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_',
            NameRule::LogGroup => alnum || "_-/.#".contains(c),
            NameRule::Alarm => c.is_ascii_graphic() || c == ' ',
        }
    }

    /// Checks a final physical name; the error says what is wrong with it.
    pub fn check(self, name: &str) -> Result<(), String> {
        let (min, max, chars) = self.limits();
        let len = name.chars().count();
        if len < min || len > max {
            return Err(format!(
                "the {} `{name}` is {len} characters; AWS allows {min}-{max}",
                self.what()
            ));
        }
        if let Some(bad) = name.chars().find(|c| !self.allowed(*c)) {
            return Err(format!(
                "the {} `{name}` contains `{bad}`; AWS allows only {chars}",
                self.what()
            ));
        }
        if self == NameRule::S3Bucket {
            let first = name.chars().next().unwrap_or('-');
            let last = name.chars().last().unwrap_or('-');
            if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
                return Err(format!(
                    "the S3 bucket name `{name}` must start and end with a letter or digit"
                ));
            }
            if name.contains("..") || name.contains(".-") || name.contains("-.") {
                return Err(format!(
                    "the S3 bucket name `{name}` has adjacent dots or a dot next to a hyphen"
                ));
            }
            if name.starts_with("xn--")
                || name.starts_with("sthree-")
                || name.ends_with("-s3alias")
                || name.ends_with("--ol-s3")
            {
                return Err(format!(
                    "the S3 bucket name `{name}` uses a prefix or suffix AWS reserves"
                ));
            }
            if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
                return Err(format!("the S3 bucket name `{name}` looks like an IP address"));
            }
        }
        if matches!(self, NameRule::GlueDatabase | NameRule::GlueTable)
            && !name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        {
            return Err(format!(
                "the {} `{name}` must start with a letter or digit",
                self.what()
            ));
        }
        Ok(())
    }
}

/// Checks a name part the user writes (project, tenant, resource keys): lower
/// case letters, digits and single hyphens, starting with a letter. Stricter
/// than any one service so the part fits in every name built from it.
pub fn check_name_part(part: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err("is empty".into());
    }
    if !part.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
        return Err(format!("`{part}` must start with a lower case letter"));
    }
    if let Some(bad) = part
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "`{part}` contains `{bad}`; use lower case letters, digits and hyphens"
        ));
    }
    if part.ends_with('-') || part.contains("--") {
        return Err(format!("`{part}` has a trailing or doubled hyphen"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naming(account: Option<&str>) -> Naming {
        Naming {
            project: "pipegen".into(),
            tenant: "rap7777".into(),
            region: "eu-west-1".into(),
            account: account.map(String::from),
        }
    }

    #[test]
    fn names_derive_from_project_and_tenant() {
        let n = naming(Some("123456789012"));
        assert_eq!(n.bucket("lake"), "pipegen-rap7777-lake-123456789012");
        assert_eq!(n.regional("events"), "pipegen-rap7777-events");
        assert_eq!(n.glue_database(), "pipegen_rap7777_db");
    }

    #[test]
    fn without_account_buckets_end_in_a_stable_hash() {
        let a = naming(None).bucket("lake");
        assert_eq!(a, naming(None).bucket("lake"));
        assert!(
            a.starts_with("pipegen-rap7777-lake-") && a.len() == "pipegen-rap7777-lake-".len() + 8,
            "{a}"
        );
        let mut other = naming(None);
        other.tenant = "t2".into();
        assert_ne!(other.bucket("lake"), a);
    }

    #[test]
    fn s3_rules() {
        assert!(NameRule::S3Bucket.check("ab").is_err());
        assert!(NameRule::S3Bucket.check(&"a".repeat(64)).unwrap_err().contains("3-63"));
        assert!(NameRule::S3Bucket.check("Upper-case").unwrap_err().contains("`U`"));
        assert!(NameRule::S3Bucket.check("-abc").is_err());
        assert!(NameRule::S3Bucket.check("a..b").is_err());
        assert!(NameRule::S3Bucket.check("192.168.1.1").is_err());
        assert!(NameRule::S3Bucket.check("xn--abc").is_err());
        assert!(NameRule::S3Bucket.check("pipegen-dev-lake-1a2b3c4d").is_ok());
    }

    #[test]
    fn service_limits() {
        assert!(NameRule::LambdaFunction.check(&"f".repeat(64)).is_ok());
        assert!(NameRule::LambdaFunction.check(&"f".repeat(65)).is_err());
        assert!(NameRule::LambdaFunction.check("a.b").is_err());
        assert!(NameRule::KinesisStream.check("a.b").is_ok());
        assert!(NameRule::GlueDatabase.check("pipegen_dev_db").is_ok());
        assert!(NameRule::GlueDatabase.check("pipegen-dev").is_err());
        assert!(NameRule::DynamoTable.check("ab").is_err());
        assert!(NameRule::IamRole.check("role+x@y").is_ok());
        assert!(NameRule::SqsQueue.check(&"q".repeat(81)).is_err());
    }

    #[test]
    fn name_parts() {
        assert!(check_name_part("rap7777").is_ok());
        assert!(check_name_part("tenant-a").is_ok());
        assert!(check_name_part("Tenant").is_err());
        assert!(check_name_part("7up").is_err());
        assert!(check_name_part("a_b").is_err());
        assert!(check_name_part("a-").is_err());
    }
}
