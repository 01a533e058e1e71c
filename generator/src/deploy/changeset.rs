//! Change sets: what CloudFormation would do, as data.
//!
//! A plan creates a change set, waits for CloudFormation to compute it,
//! describes it and deletes it (and the empty `REVIEW_IN_PROGRESS` stack a
//! first change set leaves behind), so planning never changes anything.
//! CloudFormation's own details (property names, replacement) are kept where it
//! gives them; they are completed by a diff of each resource's properties
//! against the deployed template, which every implementation of the API can
//! give (moto's change sets carry no details), and replacement of a stateful
//! resource is judged from the properties that force it when CloudFormation
//! does not say.

use std::collections::BTreeSet;

use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter, Tag};
use serde::Serialize;
use serde_json::Value as Json;

use super::{Aws, DeployError, api};

/// What happens to one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    Add,
    Modify,
    Remove,
    Import,
    Dynamic,
}

/// One resource's change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    pub logical_id: String,
    pub resource_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    pub action: ChangeAction,
    /// `true`, `false` or `conditional` (CloudFormation's word, or pipegen's
    /// when CloudFormation gives none); only for `modify`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    /// Holds data that a replacement or removal destroys.
    pub stateful: bool,
    /// The top-level properties that change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<String>,
}

impl PlannedChange {
    /// A change that loses data: a stateful resource removed or replaced.
    pub fn destroys_data(&self) -> bool {
        self.stateful
            && (self.action == ChangeAction::Remove
                || (self.action == ChangeAction::Modify
                    && matches!(self.replacement.as_deref(), Some("true") | Some("conditional"))))
    }
}

/// A computed change set.
#[derive(Clone, Debug, Serialize)]
pub struct StackPlan {
    pub stack: String,
    /// The stack's status before the change (`None`: it does not exist).
    pub stack_status: Option<String>,
    pub changes: Vec<PlannedChange>,
    /// The change set's id while it exists (apply executes it).
    #[serde(skip)]
    pub change_set_id: Option<String>,
    /// This change set created the (empty) stack it belongs to.
    #[serde(skip)]
    pub created_stack: bool,
}

/// Resource types whose replacement or removal loses data.
const STATEFUL: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::Kinesis::Stream",
    "AWS::SQS::Queue",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
];

/// Properties whose change replaces the resource (CloudFormation's resource
/// reference, "Update requires: Replacement"), for the stateful types.
const REPLACING: &[(&str, &[&str])] = &[
    ("AWS::S3::Bucket", &["BucketName"]),
    ("AWS::DynamoDB::Table", &["TableName", "KeySchema"]),
    ("AWS::Kinesis::Stream", &["Name"]),
    ("AWS::SQS::Queue", &["QueueName", "FifoQueue"]),
    ("AWS::KMS::Key", &["KeySpec"]),
    ("AWS::Logs::LogGroup", &["LogGroupName"]),
];

/// The top-level properties of each resource that differ between two
/// templates, by logical id (resources in only one of them are not listed).
pub fn property_diff(old: &Json, new: &Json, id: &str) -> Vec<String> {
    let empty = Json::Object(Default::default());
    let props = |t: &Json| t["Resources"][id]["Properties"].clone();
    let (a, b) = (props(old), props(new));
    let (a, b) = (
        a.as_object().unwrap_or(empty.as_object().expect("object")),
        b.as_object().unwrap_or(empty.as_object().expect("object")),
    );
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| k.to_string())
        .collect()
}

fn judged_replacement(resource_type: &str, properties: &[String]) -> Option<String> {
    let replacing = REPLACING.iter().find(|(t, _)| *t == resource_type)?.1;
    Some(if properties.iter().any(|p| replacing.contains(&p.as_str())) {
        "true".into()
    } else {
        "false".into()
    })
}

/// Creates a change set for `template` and waits until CloudFormation has
/// computed it. `previous_template` is the deployed one (for the property
/// diff); `parameters` are (key, value) pairs, `None` keeping the stack's.
#[allow(clippy::too_many_arguments)]
pub async fn plan(
    aws: &Aws,
    stack: &str,
    stack_status: Option<&str>,
    template: &Json,
    previous_template: Option<&Json>,
    parameters: &[(String, Option<String>)],
    tags: &[(String, String)],
) -> Result<StackPlan, DeployError> {
    let create = matches!(stack_status, None | Some("REVIEW_IN_PROGRESS"));
    let name = format!("pipegen-{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"));
    let mut request = aws
        .cloudformation
        .create_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .change_set_type(if create {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .template_body(template.to_string())
        .capabilities(Capability::CapabilityNamedIam)
        .description("pipegen plan/apply");
    for (k, v) in parameters {
        let p = Parameter::builder().parameter_key(k);
        request = request.parameters(match v {
            Some(v) => p.parameter_value(v).build(),
            None => p.use_previous_value(true).build(),
        });
    }
    for (k, v) in tags {
        request = request.tags(Tag::builder().key(k).value(v).build());
    }
    let created = request
        .send()
        .await
        .map_err(api(format!("create change set {name} for stack {stack}")))?;
    let id = created.id().unwrap_or(&name).to_string();
    let mut plan = StackPlan {
        stack: stack.to_string(),
        stack_status: stack_status.map(str::to_string),
        changes: Vec::new(),
        change_set_id: Some(id.clone()),
        created_stack: stack_status.is_none(),
    };

    // Wait until computed, then read every page of changes.
    let mut token: Option<String> = None;
    loop {
        let d = aws
            .cloudformation
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(&id)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(api(format!("describe change set {name}")))?;
        match d.status() {
            Some(ChangeSetStatus::CreatePending | ChangeSetStatus::CreateInProgress) => {
                tokio::time::sleep(aws.poll).await;
                continue;
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = d.status_reason().unwrap_or("no reason given").to_string();
                if reason.contains("didn't contain changes") || reason.contains("No updates are to be performed") {
                    // Nothing to do: the change set is useless, remove it.
                    discard(aws, &mut plan).await?;
                    return Ok(plan);
                }
                let _ = discard(aws, &mut plan).await;
                return Err(DeployError::ChangeSetFailed { name, reason });
            }
            _ => {}
        }
        for c in d.changes() {
            let Some(rc) = c.resource_change() else { continue };
            let logical_id = rc.logical_resource_id().unwrap_or_default().to_string();
            let resource_type = rc.resource_type().unwrap_or_default().to_string();
            let action = match rc.action().map(|a| a.as_str()) {
                Some("Add") => ChangeAction::Add,
                Some("Remove") => ChangeAction::Remove,
                Some("Import") => ChangeAction::Import,
                Some("Dynamic") => ChangeAction::Dynamic,
                _ => ChangeAction::Modify,
            };
            let mut properties: BTreeSet<String> = rc
                .details()
                .iter()
                .filter_map(|d| d.target())
                .filter(|t| t.attribute().is_some_and(|a| a.as_str() == "Properties"))
                .filter_map(|t| t.name().map(str::to_string))
                .collect();
            if action == ChangeAction::Modify
                && let Some(old) = previous_template
            {
                properties.extend(property_diff(old, template, &logical_id));
            }
            let properties: Vec<String> = properties.into_iter().collect();
            let replacement = match action {
                ChangeAction::Modify => rc
                    .replacement()
                    .map(|r| r.as_str().to_ascii_lowercase())
                    .or_else(|| judged_replacement(&resource_type, &properties)),
                _ => None,
            };
            plan.changes.push(PlannedChange {
                stateful: STATEFUL.contains(&resource_type.as_str()),
                logical_id,
                resource_type,
                physical_id: rc.physical_resource_id().map(str::to_string),
                action,
                replacement,
                properties,
            });
        }
        token = d.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(plan)
}

/// Deletes the plan's change set, and the empty stack it created.
pub async fn discard(aws: &Aws, plan: &mut StackPlan) -> Result<(), DeployError> {
    if let Some(id) = plan.change_set_id.take() {
        aws.cloudformation
            .delete_change_set()
            .stack_name(&plan.stack)
            .change_set_name(&id)
            .send()
            .await
            .map_err(api(format!("delete change set {id}")))?;
    }
    if plan.created_stack {
        aws.cloudformation
            .delete_stack()
            .stack_name(&plan.stack)
            .send()
            .await
            .map_err(api(format!("delete the empty stack {}", plan.stack)))?;
        plan.created_stack = false;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn property_diff_names_what_changed() {
        let old = json!({"Resources": {"S": {"Properties": {"Name": "a", "RetentionPeriodHours": 24, "Tags": []}}}});
        let new = json!({"Resources": {"S": {"Properties": {"Name": "a", "RetentionPeriodHours": 48, "StreamModeDetails": {}, "Tags": []}}}});
        assert_eq!(
            property_diff(&old, &new, "S"),
            vec!["RetentionPeriodHours", "StreamModeDetails"]
        );
        assert!(property_diff(&old, &old, "S").is_empty());
    }

    #[test]
    fn replacement_is_judged_for_stateful_types() {
        assert_eq!(
            judged_replacement("AWS::Kinesis::Stream", &["Name".into()]).as_deref(),
            Some("true")
        );
        assert_eq!(
            judged_replacement("AWS::Kinesis::Stream", &["RetentionPeriodHours".into()]).as_deref(),
            Some("false")
        );
        assert_eq!(
            judged_replacement("AWS::Lambda::Function", &["FunctionName".into()]),
            None
        );
        let c = PlannedChange {
            logical_id: "LakeBucket".into(),
            resource_type: "AWS::S3::Bucket".into(),
            physical_id: None,
            action: ChangeAction::Modify,
            replacement: Some("true".into()),
            stateful: true,
            properties: vec!["BucketName".into()],
        };
        assert!(c.destroys_data());
        assert!(
            !PlannedChange {
                replacement: Some("false".into()),
                ..c.clone()
            }
            .destroys_data()
        );
        assert!(
            PlannedChange {
                action: ChangeAction::Remove,
                replacement: None,
                ..c
            }
            .destroys_data()
        );
    }
}
