//! Roles, Lambda functions and their event source mappings.
//!
//! The emulator only *registers* functions: moto never runs their code. The
//! zip registered holds a `bootstrap` that says so; the local runner
//! (`crate::runner`) runs the real workload binary through its own Lambda
//! Runtime API. Mappings are registered disabled for the same reason: the
//! runner's poller consumes the stream in their place, with their settings.

use std::io::Write;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, DestinationConfig, Environment, EventSourcePosition, FunctionCode, FunctionResponseType, OnFailure,
    Runtime,
};
use serde_json::{Map, Value as Json, json};

use super::{Ctx, LocalError, Props, State};
use crate::resources::{Kind, Resource};

fn name(r: &Resource) -> &str {
    r.name.as_deref().unwrap_or(&r.id)
}

/// The inline policy name every pipegen role carries.
const POLICY: &str = "pipegen";

/// The IAM policy document of a role's statements (see `crate::iam`).
pub fn policy_document(cx: &Ctx<'_>, statements: &[Json]) -> Json {
    let statements: Vec<Json> = statements
        .iter()
        .map(|s| {
            let mut out = Map::new();
            if let Some(sid) = s.str_of("sid") {
                out.insert("Sid".into(), sid.into());
            }
            out.insert("Effect".into(), "Allow".into());
            out.insert("Action".into(), s.get("actions").cloned().unwrap_or(json!([])));
            let resources = cx.resolve_all(s.get("resources"));
            out.insert("Resource".into(), resources.into());
            if let Some(conds) = s.get("conditions").and_then(Json::as_array).filter(|c| !c.is_empty()) {
                let mut c = Map::new();
                for cond in conds {
                    let values = cx.resolve_all(cond.get("values"));
                    let op = c
                        .entry(cond.str_of("operator").unwrap_or("StringEquals"))
                        .or_insert_with(|| json!({}));
                    op[cond.str_of("key").unwrap_or_default()] = values.into();
                }
                out.insert("Condition".into(), c.into());
            }
            Json::Object(out)
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The zip registered as a function's code.
fn placeholder_zip(workload: &str) -> Result<Vec<u8>, String> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bootstrap", opts).map_err(|e| e.to_string())?;
    write!(
        zip,
        "#!/bin/sh\n# Registered by `pipegen apply --local`. The emulator never runs function code:\n\
         # pipegen's local runner runs the `{workload}` binary through its own Lambda Runtime API.\nexit 1\n"
    )
    .map_err(|e| e.to_string())?;
    zip.finish().map_err(|e| e.to_string())?;
    Ok(buf.into_inner())
}

/// The mapping of a function (by name) to a stream (by ARN), if registered.
async fn find_mapping(cx: &Ctx<'_>, r: &Resource) -> Result<Option<String>, LocalError> {
    let p = &r.properties;
    let function = cx.name_of(p.str_of("function_id").unwrap_or_default());
    let source = cx.arn_of(p.str_of("stream_id").unwrap_or_default());
    let out = cx
        .em
        .lambda
        .list_event_source_mappings()
        .function_name(&function)
        .event_source_arn(&source)
        .send()
        .await;
    match out {
        Ok(o) => Ok(o
            .event_source_mappings()
            .first()
            .and_then(|m| m.uuid())
            .map(str::to_string)),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(cx.api(r, "ListEventSourceMappings")(e)),
    }
}

pub async fn state(cx: &Ctx<'_>, r: &Resource) -> Result<State, LocalError> {
    let em = cx.em;
    match r.kind {
        Kind::Role => match em.iam.get_role().role_name(name(r)).send().await {
            Ok(_) => {
                let want = policy_document(
                    cx,
                    r.properties
                        .get("statements")
                        .and_then(Json::as_array)
                        .map(Vec::as_slice)
                        .unwrap_or(&[]),
                );
                let have = em
                    .iam
                    .get_role_policy()
                    .role_name(name(r))
                    .policy_name(POLICY)
                    .send()
                    .await
                    .ok()
                    .and_then(|p| {
                        let doc = p.policy_document().to_string();
                        let doc = percent_decode(&doc);
                        serde_json::from_str::<Json>(&doc).ok()
                    });
                Ok(State::Present(if have.as_ref() == Some(&want) {
                    vec![]
                } else {
                    vec!["policy".into()]
                }))
            }
            Err(e) if e.code() == Some("NoSuchEntity") => Ok(State::Absent),
            Err(e) => Err(cx.api(r, "GetRole")(e)),
        },
        Kind::Function => match em
            .lambda
            .get_function_configuration()
            .function_name(name(r))
            .send()
            .await
        {
            Ok(c) => {
                let mut d = Vec::new();
                let p = &r.properties;
                if c.memory_size() != p.u64_of("memory_mb").map(|m| m as i32) {
                    d.push("memory_mb".into());
                }
                if c.timeout() != p.u64_of("timeout_seconds").map(|m| m as i32) {
                    d.push("timeout_seconds".into());
                }
                let have: Vec<(String, String)> = {
                    let mut v: Vec<_> = c
                        .environment()
                        .and_then(|e| e.variables())
                        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default();
                    v.sort();
                    v
                };
                let mut want = cx.function_environment(r);
                want.sort();
                if have != want {
                    d.push("environment".into());
                }
                Ok(State::Present(d))
            }
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(State::Absent),
            Err(e) => Err(cx.api(r, "GetFunctionConfiguration")(e)),
        },
        Kind::EventSourceMapping => Ok(match find_mapping(cx, r).await? {
            Some(uuid) => {
                let m = em
                    .lambda
                    .get_event_source_mapping()
                    .uuid(&uuid)
                    .send()
                    .await
                    .map_err(cx.api(r, "GetEventSourceMapping"))?;
                let want = r.properties.u64_of("batch_size").map(|b| b as i32);
                State::Present(if m.batch_size() != want {
                    vec!["batch_size".into()]
                } else {
                    vec![]
                })
            }
            None => State::Absent,
        }),
        _ => Ok(State::Absent),
    }
}

/// IAM returns policy documents URL-encoded.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub async fn create(cx: &Ctx<'_>, r: &Resource) -> Result<(), LocalError> {
    let em = cx.em;
    let p = &r.properties;
    match r.kind {
        Kind::Role => {
            let trust = json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": p.str_of("assumed_by").unwrap_or("lambda.amazonaws.com")}, "Action": "sts:AssumeRole"}]
            });
            let mut req = em
                .iam
                .create_role()
                .role_name(name(r))
                .assume_role_policy_document(trust.to_string());
            for (k, v) in cx.tags() {
                req = req.tags(
                    aws_sdk_iam::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .map_err(cx.api(r, "CreateRole"))?,
                );
            }
            req.send().await.map_err(cx.api(r, "CreateRole"))?;
            update(cx, r, &["policy".into()]).await
        }
        Kind::Function => {
            let workload = p.str_of("workload").unwrap_or_default();
            let zip = placeholder_zip(workload).map_err(|message| LocalError::Api {
                id: r.id.clone(),
                name: name(r).into(),
                action: "zip",
                message,
            })?;
            let arch = if p.str_of("architecture") == Some("arm64") {
                Architecture::Arm64
            } else {
                Architecture::X8664
            };
            let mut req = em
                .lambda
                .create_function()
                .function_name(name(r))
                .runtime(Runtime::from(p.str_of("runtime").unwrap_or("provided.al2023")))
                .role(cx.arn_of(p.str_of("role_id").unwrap_or_default()))
                .handler(p.str_of("handler").unwrap_or("bootstrap"))
                .architectures(arch)
                .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
                .set_memory_size(p.u64_of("memory_mb").map(|m| m as i32))
                .set_timeout(p.u64_of("timeout_seconds").map(|m| m as i32))
                .environment(
                    Environment::builder()
                        .set_variables(Some(cx.function_environment(r).into_iter().collect()))
                        .build(),
                );
            for (k, v) in cx.tags() {
                req = req.tags(k, v);
            }
            req.send().await.map_err(cx.api(r, "CreateFunction"))?;
            Ok(())
        }
        Kind::EventSourceMapping => {
            let start = match p.str_of("starting_position") {
                Some("latest") => EventSourcePosition::Latest,
                _ => EventSourcePosition::TrimHorizon,
            };
            let mut req = em
                .lambda
                .create_event_source_mapping()
                .function_name(cx.name_of(p.str_of("function_id").unwrap_or_default()))
                .event_source_arn(cx.arn_of(p.str_of("stream_id").unwrap_or_default()))
                .enabled(false)
                .starting_position(start)
                .set_batch_size(p.u64_of("batch_size").map(|b| b as i32))
                .set_maximum_batching_window_in_seconds(p.u64_of("batching_window_seconds").map(|b| b as i32))
                .set_maximum_retry_attempts(p.u64_of("max_retries").map(|b| b as i32))
                .set_maximum_record_age_in_seconds(p.u64_of("max_record_age_seconds").map(|b| b as i32))
                .set_parallelization_factor(p.u64_of("parallelization_factor").map(|b| b as i32))
                .set_tumbling_window_in_seconds(p.u64_of("tumbling_window_seconds").map(|b| b as i32))
                .bisect_batch_on_function_error(p.bool_of("bisect_on_error"));
            if p.bool_of("report_batch_item_failures") {
                req = req.function_response_types(FunctionResponseType::ReportBatchItemFailures);
            }
            if let Some(q) = p.str_of("on_failure_queue_id") {
                req = req.destination_config(
                    DestinationConfig::builder()
                        .on_failure(OnFailure::builder().destination(cx.arn_of(q)).build())
                        .build(),
                );
            }
            req.send().await.map_err(cx.api(r, "CreateEventSourceMapping"))?;
            Ok(())
        }
        _ => Ok(()),
    }
}

pub async fn update(cx: &Ctx<'_>, r: &Resource, settings: &[String]) -> Result<(), LocalError> {
    let em = cx.em;
    let p = &r.properties;
    match r.kind {
        Kind::Role if settings.iter().any(|s| s == "policy") => {
            let statements = p
                .get("statements")
                .and_then(Json::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            if statements.is_empty() {
                return Ok(());
            }
            em.iam
                .put_role_policy()
                .role_name(name(r))
                .policy_name(POLICY)
                .policy_document(policy_document(cx, statements).to_string())
                .send()
                .await
                .map_err(cx.api(r, "PutRolePolicy"))?;
        }
        Kind::Function if !settings.is_empty() => {
            em.lambda
                .update_function_configuration()
                .function_name(name(r))
                .set_memory_size(p.u64_of("memory_mb").map(|m| m as i32))
                .set_timeout(p.u64_of("timeout_seconds").map(|m| m as i32))
                .environment(
                    Environment::builder()
                        .set_variables(Some(cx.function_environment(r).into_iter().collect()))
                        .build(),
                )
                .send()
                .await
                .map_err(cx.api(r, "UpdateFunctionConfiguration"))?;
        }
        Kind::EventSourceMapping if !settings.is_empty() => {
            if let Some(uuid) = find_mapping(cx, r).await? {
                em.lambda
                    .update_event_source_mapping()
                    .uuid(uuid)
                    .set_batch_size(p.u64_of("batch_size").map(|b| b as i32))
                    .send()
                    .await
                    .map_err(cx.api(r, "UpdateEventSourceMapping"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

pub async fn delete(cx: &Ctx<'_>, r: &Resource) -> Result<(), LocalError> {
    let em = cx.em;
    match r.kind {
        Kind::Role => {
            let policies = em
                .iam
                .list_role_policies()
                .role_name(name(r))
                .send()
                .await
                .map_err(cx.api(r, "ListRolePolicies"))?;
            for pn in policies.policy_names() {
                em.iam
                    .delete_role_policy()
                    .role_name(name(r))
                    .policy_name(pn)
                    .send()
                    .await
                    .map_err(cx.api(r, "DeleteRolePolicy"))?;
            }
            em.iam
                .delete_role()
                .role_name(name(r))
                .send()
                .await
                .map_err(cx.api(r, "DeleteRole"))?;
        }
        Kind::Function => {
            em.lambda
                .delete_function()
                .function_name(name(r))
                .send()
                .await
                .map_err(cx.api(r, "DeleteFunction"))?;
        }
        Kind::EventSourceMapping => {
            if let Some(uuid) = find_mapping(cx, r).await? {
                em.lambda
                    .delete_event_source_mapping()
                    .uuid(uuid)
                    .send()
                    .await
                    .map_err(cx.api(r, "DeleteEventSourceMapping"))?;
            }
        }
        _ => {}
    }
    Ok(())
}
