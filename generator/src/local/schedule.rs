//! Schedules (EventBridge rules) and the permissions that let them invoke
//! their functions.
//!
//! The emulator registers rules but never fires them: the local runner
//! invokes scheduled work on demand (`pipegen up`). A rule whose target is
//! the ETL's ECS task is registered without that target, since ECS is not
//! emulated; a function target is registered as on AWS.

use aws_sdk_eventbridge::error::ProvideErrorMetadata;
use aws_sdk_eventbridge::types::{RuleState, Target};
use serde_json::Value as Json;

use super::{Ctx, LocalError, Props, State};
use crate::resources::{Kind, Resource};

fn name(r: &Resource) -> &str {
    r.name.as_deref().unwrap_or(&r.id)
}

fn function_target(r: &Resource) -> Option<&str> {
    r.properties.get("target").and_then(|t| t.str_of("function_id"))
}

fn state_of(r: &Resource) -> RuleState {
    if r.properties.bool_of("enabled") {
        RuleState::Enabled
    } else {
        RuleState::Disabled
    }
}

/// The statement id of a permission: its logical id (unique in the graph).
fn statement_id(r: &Resource) -> &str {
    &r.id
}

pub async fn state(cx: &Ctx<'_>, r: &Resource) -> Result<State, LocalError> {
    let em = cx.em;
    match r.kind {
        Kind::Schedule => match em.eventbridge.describe_rule().name(name(r)).send().await {
            Ok(rule) => {
                let mut d = Vec::new();
                if rule.schedule_expression() != r.properties.str_of("expression") {
                    d.push("expression".to_string());
                }
                if rule.state() != Some(&state_of(r)) {
                    d.push("enabled".to_string());
                }
                Ok(State::Present(d))
            }
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(State::Absent),
            Err(e) => Err(cx.api(r, "DescribeRule")(e)),
        },
        Kind::LambdaPermission => {
            let function = cx.name_of(r.properties.str_of("function_id").unwrap_or_default());
            match em.lambda.get_policy().function_name(&function).send().await {
                Ok(p) => {
                    let doc: Json = serde_json::from_str(p.policy().unwrap_or("{}")).unwrap_or_default();
                    let present = doc
                        .get("Statement")
                        .and_then(Json::as_array)
                        .is_some_and(|s| s.iter().any(|st| st.str_of("Sid") == Some(statement_id(r))));
                    Ok(if present { State::Present(vec![]) } else { State::Absent })
                }
                Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(State::Absent),
                Err(e) => Err(cx.api(r, "GetPolicy")(e)),
            }
        }
        _ => Ok(State::Absent),
    }
}

pub async fn create(cx: &Ctx<'_>, r: &Resource) -> Result<(), LocalError> {
    let em = cx.em;
    match r.kind {
        Kind::Schedule => {
            let mut req = em
                .eventbridge
                .put_rule()
                .name(name(r))
                .schedule_expression(r.properties.str_of("expression").unwrap_or("rate(1 hour)"))
                .state(state_of(r));
            for (k, v) in cx.tags() {
                req = req.tags(
                    aws_sdk_eventbridge::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .map_err(cx.api(r, "PutRule"))?,
                );
            }
            req.send().await.map_err(cx.api(r, "PutRule"))?;
            if let Some(function) = function_target(r) {
                let target = Target::builder()
                    .id("function")
                    .arn(cx.arn_of(function))
                    .build()
                    .map_err(cx.api(r, "PutTargets"))?;
                em.eventbridge
                    .put_targets()
                    .rule(name(r))
                    .targets(target)
                    .send()
                    .await
                    .map_err(cx.api(r, "PutTargets"))?;
            }
        }
        Kind::LambdaPermission => {
            let p = &r.properties;
            em.lambda
                .add_permission()
                .function_name(cx.name_of(p.str_of("function_id").unwrap_or_default()))
                .statement_id(statement_id(r))
                .action("lambda:InvokeFunction")
                .principal(p.str_of("principal").unwrap_or("events.amazonaws.com"))
                .set_source_arn(p.str_of("source_rule_id").map(|rule| cx.arn_of(rule)))
                .source_account(&em.account)
                .send()
                .await
                .map_err(cx.api(r, "AddPermission"))?;
        }
        _ => {}
    }
    Ok(())
}

pub async fn update(cx: &Ctx<'_>, r: &Resource, settings: &[String]) -> Result<(), LocalError> {
    // PutRule is an upsert: it sets the expression and state in place.
    if r.kind == Kind::Schedule && !settings.is_empty() {
        return create(cx, r).await;
    }
    Ok(())
}

pub async fn delete(cx: &Ctx<'_>, r: &Resource) -> Result<(), LocalError> {
    let em = cx.em;
    match r.kind {
        Kind::Schedule => {
            let targets = em
                .eventbridge
                .list_targets_by_rule()
                .rule(name(r))
                .send()
                .await
                .map_err(cx.api(r, "ListTargetsByRule"))?;
            let ids: Vec<String> = targets.targets().iter().map(|t| t.id().to_string()).collect();
            if !ids.is_empty() {
                em.eventbridge
                    .remove_targets()
                    .rule(name(r))
                    .set_ids(Some(ids))
                    .send()
                    .await
                    .map_err(cx.api(r, "RemoveTargets"))?;
            }
            em.eventbridge
                .delete_rule()
                .name(name(r))
                .send()
                .await
                .map_err(cx.api(r, "DeleteRule"))?;
        }
        Kind::LambdaPermission => {
            em.lambda
                .remove_permission()
                .function_name(cx.name_of(r.properties.str_of("function_id").unwrap_or_default()))
                .statement_id(statement_id(r))
                .send()
                .await
                .map_err(cx.api(r, "RemovePermission"))?;
        }
        _ => {}
    }
    Ok(())
}
