//! Destroying an environment: empty its buckets, delete its stack, and check
//! by its tags (not by the stack, which is gone) that nothing of it is left.

use aws_sdk_resourcegroupstagging::types::TagFilter;
use serde::Serialize;

use super::stack::{self, StackEvent};
use super::{Aws, DeployError, api};
use crate::local::Change;
use crate::resources::{Kind, ResourceGraph};

/// Something of the environment that still exists after the destroy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Leftover {
    /// An ARN, or a bucket name.
    pub resource: String,
    pub why: String,
}

/// What a destroy did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Destroyed {
    pub stack_deleted: bool,
    pub left: Vec<Leftover>,
}

/// A step of a destroy, reported as it happens.
pub enum Step<'a> {
    /// A bucket emptied of this many object versions and delete markers.
    Emptied { bucket: &'a str, versions: u64 },
    /// An event of the stack being deleted.
    Event(&'a StackEvent),
}

/// Empties the graph's buckets, deletes `stack` (when it exists), deletes
/// buckets that outlived it, and lists what of the environment remains.
pub async fn destroy(
    aws: &Aws,
    graph: &ResourceGraph,
    stack_name: &str,
    on_step: &mut (dyn FnMut(Step<'_>) + Send),
) -> Result<Destroyed, DeployError> {
    let mut done = Destroyed::default();
    let buckets: Vec<&str> = graph
        .resources
        .iter()
        .filter(|r| r.kind == Kind::Bucket)
        .filter_map(|r| r.name.as_deref())
        .collect();
    let status = stack::stack_status(aws, stack_name).await?;
    for b in &buckets {
        if !bucket_exists(aws, b).await? {
            continue;
        }
        if aws.plain_http() {
            // The TLS-only policy (deployed when the stack came from
            // elsewhere) would deny these plain-HTTP deletes.
            let _ = aws.s3.delete_bucket_policy().bucket(*b).send().await;
        }
        let versions = empty(aws, b).await?;
        on_step(Step::Emptied { bucket: b, versions });
    }
    if let Some(s) = status {
        let first = stack::delete(aws, &s, &mut |e| on_step(Step::Event(e))).await;
        // A bucket can outlive its stack: objects written between emptying
        // and deletion (a function still draining the stream) make
        // CloudFormation's delete fail on it. Sweep: empty and delete what
        // is left of the graph's buckets, then delete the stack again if the
        // first attempt failed.
        let swept = sweep(aws, &buckets, on_step).await?;
        match first {
            Ok(()) => {}
            Err(_) if swept > 0 => {
                if let Some(s) = stack::stack_status(aws, stack_name).await? {
                    stack::delete(aws, &s, &mut |e| on_step(Step::Event(e))).await?;
                }
            }
            Err(e) => return Err(e),
        }
        done.stack_deleted = true;
    } else {
        // No stack, but its buckets (the environment's names) outlived it.
        sweep(aws, &buckets, on_step).await?;
    }
    done.left = leftovers(aws, graph).await?;
    Ok(done)
}

/// Deletes every object version and delete marker (the local engine's
/// paged, batched emptying); how many.
async fn empty(aws: &Aws, bucket: &str) -> Result<u64, DeployError> {
    crate::local::empty_bucket(&aws.s3, bucket)
        .await
        .map_err(|message| DeployError::Api {
            action: format!("empty bucket {bucket}"),
            message,
        })
}

/// Empties and deletes the buckets that still exist; how many there were.
async fn sweep(aws: &Aws, buckets: &[&str], on_step: &mut (dyn FnMut(Step<'_>) + Send)) -> Result<usize, DeployError> {
    let mut swept = 0;
    for b in buckets {
        if !bucket_exists(aws, b).await? {
            continue;
        }
        let versions = empty(aws, b).await?;
        if versions > 0 {
            on_step(Step::Emptied { bucket: b, versions });
        }
        aws.s3
            .delete_bucket()
            .bucket(*b)
            .send()
            .await
            .map_err(api(format!("delete bucket {b} (left by its stack)")))?;
        swept += 1;
    }
    Ok(swept)
}

async fn bucket_exists(aws: &Aws, bucket: &str) -> Result<bool, DeployError> {
    match aws.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(false),
        Err(e) => Err(api(format!("look up bucket {bucket}"))(e)),
    }
}

/// Everything still tagged with the environment, and every resource of the
/// graph that its own API still knows (tags can be missing: a resource made
/// by hand, or a kind the tagging API does not cover).
async fn leftovers(aws: &Aws, graph: &ResourceGraph) -> Result<Vec<Leftover>, DeployError> {
    let mut left = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut request = aws.tagging.get_resources().set_pagination_token(token.clone());
        for key in ["pipegen:environment", "pipegen:tenant"] {
            if let Some(v) = graph.tags.get(key) {
                request = request.tag_filters(TagFilter::builder().key(key).values(v).build());
            }
        }
        let page = request
            .send()
            .await
            .map_err(api("list the resources tagged with the environment"))?;
        for m in page.resource_tag_mapping_list() {
            if let Some(arn) = m.resource_arn() {
                left.push(Leftover {
                    resource: arn.to_string(),
                    why: "still tagged with the environment".into(),
                });
            }
        }
        token = page.pagination_token().filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    // The tagging API does not see every kind (nor every emulator's), so
    // each resource is also asked for through its own API, the way the local
    // engine checks its state (S3, Kinesis, DynamoDB, SNS, SQS, IAM, Lambda,
    // EventBridge, Glue, Athena).
    let account = aws.account().await?;
    let clients = crate::local::Emulator::with_config(
        aws.config.clone(),
        aws.endpoint.as_deref().unwrap_or("aws"),
        &aws.region,
        &account,
    );
    let present = crate::local::plan(graph, &clients)
        .await
        .map_err(|e| DeployError::Api {
            action: "check each resource of the environment".into(),
            message: e.to_string(),
        })?;
    for p in present {
        if matches!(p.change, Change::Unchanged | Change::Update { .. }) {
            let name = p.name.clone().unwrap_or_else(|| p.id.clone());
            if !left.iter().any(|l| l.resource.ends_with(&name)) {
                left.push(Leftover {
                    resource: format!("{} {name}", p.id),
                    why: "its API says it still exists".into(),
                });
            }
        }
    }
    Ok(left)
}
