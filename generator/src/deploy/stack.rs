//! The stack: its status, executing a change set while following its events,
//! and the first deployment (the artifacts bucket alone).

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value as Json;

use super::changeset::{self, StackPlan};
use super::{Aws, DeployError, api};

/// A stack as CloudFormation reports it.
#[derive(Clone, Debug, Serialize)]
pub struct StackStatus {
    pub stack: String,
    pub stack_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Output key, value and description.
    pub outputs: Vec<(String, String, String)>,
    /// Parameters the stack has values for.
    pub parameters: Vec<String>,
}

/// One stack event.
#[derive(Clone, Debug, Serialize)]
pub struct StackEvent {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl StackStatus {
    /// Nothing can be deployed on it until it is deleted.
    pub fn needs_delete(&self) -> bool {
        matches!(
            self.status.as_str(),
            "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "DELETE_FAILED"
        )
    }
}

/// The stack, or `None` when it does not exist (or was deleted).
pub async fn stack_status(aws: &Aws, stack: &str) -> Result<Option<StackStatus>, DeployError> {
    let out = match aws.cloudformation.describe_stacks().stack_name(stack).send().await {
        Ok(o) => o,
        Err(e) => {
            let text = crate::local::err_text(&e);
            if text.contains("does not exist") {
                return Ok(None);
            }
            return Err(DeployError::Api {
                action: format!("describe stack {stack}"),
                message: text,
            });
        }
    };
    let Some(s) = out.stacks().first() else { return Ok(None) };
    let status = s.stack_status().map(|s| s.as_str().to_string()).unwrap_or_default();
    if status == "DELETE_COMPLETE" {
        return Ok(None);
    }
    Ok(Some(StackStatus {
        stack: stack.to_string(),
        stack_id: s.stack_id().unwrap_or_default().to_string(),
        status,
        reason: s.stack_status_reason().map(str::to_string),
        outputs: s
            .outputs()
            .iter()
            .map(|o| {
                (
                    o.output_key().unwrap_or_default().to_string(),
                    o.output_value().unwrap_or_default().to_string(),
                    o.description().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        parameters: s
            .parameters()
            .iter()
            .filter_map(|p| p.parameter_key().map(str::to_string))
            .collect(),
    }))
}

/// The deployed template, as JSON (pipegen deploys JSON; a YAML template
/// deployed by hand is converted).
pub async fn deployed_template(aws: &Aws, stack: &str) -> Result<Option<Json>, DeployError> {
    let out = aws
        .cloudformation
        .get_template()
        .stack_name(stack)
        .send()
        .await
        .map_err(api(format!("get the template of stack {stack}")))?;
    let Some(body) = out.template_body() else {
        return Ok(None);
    };
    Ok(serde_json::from_str(body)
        .ok()
        .or_else(|| crate::render::cfn_json::to_json(body).ok()))
}

fn terminal(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS")
}

fn succeeded(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" | "DELETE_COMPLETE"
    )
}

/// Executes the plan's change set and follows the stack until it settles,
/// calling `on_event` for each new event (oldest first). On failure the error
/// carries the failed resources' reasons and the status the stack rolled back to.
pub async fn apply_changes(
    aws: &Aws,
    plan: &mut StackPlan,
    on_event: &mut (dyn FnMut(&StackEvent) + Send),
) -> Result<StackStatus, DeployError> {
    let Some(id) = plan.change_set_id.take() else {
        return stack_status(aws, &plan.stack)
            .await?
            .ok_or_else(|| DeployError::StackFailed {
                stack: plan.stack.clone(),
                status: "absent".into(),
                reason: "nothing to apply and no stack".into(),
            });
    };
    let seen = seen_events(aws, &plan.stack).await?;
    aws.cloudformation
        .execute_change_set()
        .stack_name(&plan.stack)
        .change_set_name(&id)
        .send()
        .await
        .map_err(api(format!("execute change set {id}")))?;
    plan.created_stack = false;
    follow(aws, &plan.stack, seen, on_event).await
}

/// The ids of the events the stack already has, so following starts after them.
async fn seen_events(aws: &Aws, stack: &str) -> Result<HashSet<String>, DeployError> {
    Ok(events(aws, stack).await?.into_iter().map(|(id, _)| id).collect())
}

/// Every event of the stack, newest first, with its id.
async fn events(aws: &Aws, stack: &str) -> Result<Vec<(String, StackEvent)>, DeployError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = match aws
            .cloudformation
            .describe_stack_events()
            .stack_name(stack)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if crate::local::err_text(&e).contains("does not exist") => return Ok(out),
            Err(e) => {
                return Err(DeployError::Api {
                    action: format!("describe the events of stack {stack}"),
                    message: crate::local::err_text(&e),
                });
            }
        };
        for e in page.stack_events() {
            out.push((
                e.event_id().unwrap_or_default().to_string(),
                StackEvent {
                    logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: e.resource_type().unwrap_or_default().to_string(),
                    status: e.resource_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    reason: e.resource_status_reason().map(str::to_string),
                },
            ));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Polls the stack until its status is terminal; reports new events.
pub(crate) async fn follow(
    aws: &Aws,
    stack: &str,
    mut seen: HashSet<String>,
    on_event: &mut (dyn FnMut(&StackEvent) + Send),
) -> Result<StackStatus, DeployError> {
    let mut failures: Vec<StackEvent> = Vec::new();
    loop {
        let mut fresh: Vec<(String, StackEvent)> = events(aws, stack)
            .await?
            .into_iter()
            .filter(|(id, _)| !seen.contains(id))
            .collect();
        fresh.reverse();
        for (id, e) in fresh {
            if e.status.ends_with("_FAILED") && e.logical_id != stack {
                failures.push(e.clone());
            }
            on_event(&e);
            seen.insert(id);
        }
        let Some(status) = stack_status(aws, stack).await? else {
            return Ok(StackStatus {
                stack: stack.to_string(),
                stack_id: String::new(),
                status: "DELETE_COMPLETE".into(),
                reason: None,
                outputs: Vec::new(),
                parameters: Vec::new(),
            });
        };
        if terminal(&status.status) {
            if succeeded(&status.status) {
                return Ok(status);
            }
            let mut reason: Vec<String> = failures
                .iter()
                .map(|f| {
                    format!(
                        "{} ({}): {}",
                        f.logical_id,
                        f.resource_type,
                        f.reason.as_deref().unwrap_or("no reason given")
                    )
                })
                .collect();
            if reason.is_empty() {
                reason.push(status.reason.clone().unwrap_or_else(|| "no reason given".into()));
            }
            return Err(DeployError::StackFailed {
                stack: stack.to_string(),
                status: status.status,
                reason: reason.join("; "),
            });
        }
        tokio::time::sleep(aws.poll).await;
    }
}

/// The first deployment of an environment: a stack holding only the
/// artifacts bucket, so the code can be uploaded before the functions that
/// use it are created. The full template then updates the same stack (the
/// bucket is unchanged by that update).
pub async fn bootstrap(
    aws: &Aws,
    stack: &str,
    stack_status: Option<&str>,
    template: &Json,
    tags: &[(String, String)],
    on_event: &mut (dyn FnMut(&StackEvent) + Send),
) -> Result<StackStatus, DeployError> {
    let mut plan = changeset::plan(aws, stack, stack_status, template, None, &[], tags).await?;
    apply_changes(aws, &mut plan, on_event).await
}

/// Deletes the stack and waits until it is gone.
pub(crate) async fn delete(
    aws: &Aws,
    stack: &StackStatus,
    on_event: &mut (dyn FnMut(&StackEvent) + Send),
) -> Result<(), DeployError> {
    let seen = seen_events(aws, &stack.stack).await?;
    aws.cloudformation
        .delete_stack()
        .stack_name(&stack.stack)
        .send()
        .await
        .map_err(api(format!("delete stack {}", stack.stack)))?;
    // Follow by id: once deleted, the name no longer resolves.
    let id = if stack.stack_id.is_empty() {
        stack.stack.clone()
    } else {
        stack.stack_id.clone()
    };
    follow(aws, &id, seen, on_event).await.map(|_| ())
}

/// The stack's drift, as a sentence: CloudFormation's detection run to its
/// end, or why it could not tell.
pub async fn drift(aws: &Aws, stack: &str) -> String {
    let started = match aws.cloudformation.detect_stack_drift().stack_name(stack).send().await {
        Ok(s) => s,
        Err(e) => {
            use aws_sdk_cloudformation::error::ProvideErrorMetadata;
            return match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("not available ({code}: {message})"),
                // No error document at all: an endpoint without the API (moto).
                _ if aws.endpoint.is_some() => {
                    "not available (this endpoint does not implement DetectStackDrift)".into()
                }
                _ => format!("not available ({})", crate::local::err_text(&e)),
            };
        }
    };
    let Some(id) = started.stack_drift_detection_id().map(str::to_string) else {
        return "not available (no detection id)".into();
    };
    for _ in 0..200 {
        match aws
            .cloudformation
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
        {
            Ok(d) => match d.detection_status().map(|s| s.as_str()) {
                Some("DETECTION_IN_PROGRESS") => tokio::time::sleep(aws.poll).await,
                Some("DETECTION_COMPLETE") => {
                    return format!(
                        "{} ({} resources drifted)",
                        d.stack_drift_status().map(|s| s.as_str()).unwrap_or("UNKNOWN"),
                        d.drifted_stack_resource_count().unwrap_or(0)
                    );
                }
                other => {
                    return format!(
                        "detection {}: {}",
                        other.unwrap_or("failed"),
                        d.detection_status_reason().unwrap_or("no reason given")
                    );
                }
            },
            Err(e) => return format!("not available ({})", crate::local::err_text(&e)),
        }
    }
    "detection still running; ask again later".into()
}
