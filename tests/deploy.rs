//! `pipegen plan/apply/destroy/status` on CloudFormation, against moto's
//! CloudFormation (the emulator the other tests use).
//!
//! What moto's CloudFormation does with the template (measured with moto
//! 5.2.5): it creates the S3 buckets, Kinesis stream, SNS topics and
//! subscriptions, SQS queues, DynamoDB table, KMS key, IAM roles, Lambda
//! functions (their code read from the artifacts bucket), event source
//! mappings, EventBridge rules, log groups and ECS/ECR resources; it accepts
//! and skips what it does not model (Glue tables and crawlers, Athena named
//! queries, CloudWatch alarms and dashboard, Firehose). Its change sets carry
//! no property details or replacement flags, so the plan's property names
//! here come from pipegen's own diff of the deployed template. KMS keys with
//! tags need `localstack/moto-patches.py`.
//!
//! The Lambda binaries are small stand-in files: moto never runs function
//! code, and what is tested is packaging, upload and deployment (the real
//! binaries are tested by their crates and by `local_pipeline.rs`).

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

#[path = "support/mod.rs"]
mod support;
use support::{root, runtime};

/// A private copy of the shipped environments plus `extra` files, so a test
/// can fork and edit without touching the repository.
fn environments(name: &str, extra: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pipegen-deploy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(root().join("environments")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    for (file, text) in extra {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

fn pipegen(envs: &Path, args: &[&str]) -> (u8, String, String) {
    support::pipegen_in(envs, args)
}

/// Stand-in workload binaries, packaged by `pipegen build --workloads-dir`.
fn artifacts(name: &str, envs: &Path) -> PathBuf {
    let base = std::env::temp_dir().join(format!("pipegen-deploy-art-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let bins = base.join("bin");
    std::fs::create_dir_all(&bins).unwrap();
    for w in ["ingest", "detector", "simulator", "etl"] {
        std::fs::write(bins.join(w), format!("#!/bin/sh\necho {w} stand-in\n")).unwrap();
    }
    let out = base.join("artifacts");
    let build = |expect: &str| {
        let (code, stdout, stderr) = pipegen(
            envs,
            &[
                "build",
                "--workloads-dir",
                bins.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{stdout}{stderr}");
        let lines: Vec<&str> = stdout.lines().filter(|l| l.contains("sha256")).collect();
        assert_eq!(lines.len(), 5, "{stdout}");
        assert!(
            lines.iter().all(|l| l.ends_with(expect)),
            "every artifact {expect}: {stdout}"
        );
    };
    build("new");
    // Same binaries, same bytes: nothing to upload again.
    build("unchanged");
    out
}

/// Removes a test's environment folder and its artifacts' build folder.
fn clean(envs: &Path, artifacts: &Path) {
    let _ = std::fs::remove_dir_all(envs);
    if let Some(base) = artifacts.parent() {
        let _ = std::fs::remove_dir_all(base);
    }
}

const NETWORK: [&str; 4] = [
    "--parameter",
    "VpcId=vpc-12345678",
    "--parameter",
    "EtlSubnetIds=subnet-12345678",
];

fn plan_json(envs: &Path, env: &str, endpoint: &str, artifacts: &str) -> Json {
    let mut args = vec![
        "plan",
        env,
        "--endpoint",
        endpoint,
        "--output",
        "json",
        "--artifacts",
        artifacts,
    ];
    args.extend(NETWORK);
    let (code, out, err) = pipegen(envs, &args);
    assert_eq!(code, 0, "plan: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("plan --output json: {e}: {out}"))
}

/// The emulator's SDK configuration in an environment's region.
fn conf(rt: &tokio::runtime::Runtime, region: &str) -> aws_config::SdkConfig {
    rt.block_on(pipegen_testkit::moto())
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build()
}

fn fork(tenant: &str, extra: &str) -> String {
    format!("extends: dev\ntenant: {tenant}\n{extra}")
}

fn resource_count(envs: &Path, env: &str) -> usize {
    // What CloudFormation is sent: the rendered template without the
    // TLS-only bucket policies (the emulator speaks plain HTTP).
    let files = pipegen::environment::EnvironmentFiles::read_dir(envs).unwrap();
    let env = pipegen::validate::validate_one(&files, env).unwrap();
    let renderer = pipegen::render::Renderer::new().unwrap();
    let aws_graph = {
        let mut g = env.graph.clone();
        g.resources.retain(|r| !r.denies_plain_http());
        g
    };
    let t = renderer
        .cloudformation_json(&env, &aws_graph, &Default::default())
        .unwrap();
    t["Resources"].as_object().unwrap().len()
}

#[test]
fn plan_apply_change_and_destroy_a_stack() {
    let endpoint = pipegen_testkit::moto_endpoint();
    let envs = environments("flow", &[("deployflow.yaml", &fork("deployflow", ""))]);
    let art = artifacts("flow", &envs);
    let art = art.to_str().unwrap();
    let stack = "pipegen-deployflow";
    let rt = runtime();
    let conf = conf(&rt, "eu-west-1");
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let stack_exists = |cfn: &aws_sdk_cloudformation::Client| {
        rt.block_on(async {
            match cfn.describe_stacks().stack_name(stack).send().await {
                Ok(o) => o
                    .stacks()
                    .iter()
                    .any(|s| s.stack_status().map(|s| s.as_str()) != Some("DELETE_COMPLETE")),
                Err(_) => false,
            }
        })
    };

    // A previous, interrupted run of this test may have left its stack.
    let _ = pipegen(&envs, &["destroy", "deployflow", "--endpoint", &endpoint, "--yes"]);

    // 1. A plan of a new environment: every resource is an add, and nothing
    // is left behind (no stack, not even an empty one).
    let plan = plan_json(&envs, "deployflow", &endpoint, art);
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(plan["stack"], stack);
    assert_eq!(plan["stack_status"], Json::Null);
    assert_eq!(
        changes.len(),
        resource_count(&envs, "deployflow"),
        "one change per resource"
    );
    assert!(changes.iter().all(|c| c["action"] == "add"), "{changes:?}");
    assert!(
        changes.iter().any(|c| c["logical_id"] == "LakeBucket"
            && c["resource_type"] == "AWS::S3::Bucket"
            && c["stateful"] == true)
    );
    assert!(!stack_exists(&cfn), "a plan leaves no stack");

    // 2. Apply: bootstrap, upload, execute.
    let mut args = vec![
        "apply",
        "deployflow",
        "--endpoint",
        &endpoint,
        "--yes",
        "--artifacts",
        art,
    ];
    args.extend(NETWORK);
    let (code, out, err) = pipegen(&envs, &args);
    assert_eq!(code, 0, "apply: {out}{err}");
    assert!(out.contains("bootstrapping stack pipegen-deployflow"), "{out}");
    assert!(out.contains("artifacts in s3://"), "{out}");
    // Three zips, the ETL's context (Dockerfile, binary) and its plain binary.
    assert!(out.contains("6 uploaded, 0 already there"), "{out}");
    assert!(out.contains("stack pipegen-deployflow is UPDATE_COMPLETE"), "{out}");

    // The stack's resources exist, through their own APIs.
    let files = pipegen::environment::EnvironmentFiles::read_dir(&envs).unwrap();
    let g = pipegen::validate::validate_one(&files, "deployflow").unwrap().graph;
    let name = |id: &str| {
        g.resources
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.name.clone())
            .unwrap_or_else(|| panic!("{id} has a name"))
    };
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build());
    rt.block_on(async {
        s3.head_bucket()
            .bucket(name("LakeBucket"))
            .send()
            .await
            .expect("lake bucket");
        let listed = s3
            .list_objects_v2()
            .bucket(name("ArtifactsBucket"))
            .prefix("lambda/")
            .send()
            .await
            .unwrap();
        assert_eq!(listed.contents().len(), 3, "three Lambda zips uploaded");
        let kinesis = aws_sdk_kinesis::Client::new(&conf);
        let s = kinesis
            .describe_stream_summary()
            .stream_name(name("EventsStream"))
            .send()
            .await
            .expect("stream");
        assert_eq!(s.stream_description_summary().unwrap().retention_period_hours(), 24);
        let ddb = aws_sdk_dynamodb::Client::new(&conf);
        let table = g
            .resources
            .iter()
            .find(|r| r.kind == pipegen::resources::Kind::DynamoTable)
            .unwrap();
        ddb.describe_table()
            .table_name(table.name.clone().unwrap())
            .send()
            .await
            .expect("table");
        let lambda = aws_sdk_lambda::Client::new(&conf);
        let f = lambda
            .get_function()
            .function_name(name("IngestFunction"))
            .send()
            .await
            .expect("ingest function");
        let code = f.code().and_then(|c| c.location()).unwrap_or_default().to_string();
        assert!(!code.is_empty(), "the function has code");
        let iam = aws_sdk_iam::Client::new(&conf);
        iam.get_role().role_name(name("IngestRole")).send().await.expect("role");
        let sqs = aws_sdk_sqs::Client::new(&conf);
        sqs.get_queue_url()
            .queue_name(name("IngestDeadLetterQueue"))
            .send()
            .await
            .expect("queue");
    });

    // 3. Nothing changed: the plan says so, apply uploads nothing.
    let plan = plan_json(&envs, "deployflow", &endpoint, art);
    assert_eq!(plan["stack_status"], "UPDATE_COMPLETE");
    assert_eq!(plan["changes"], Json::Array(vec![]), "no changes expected");
    let (code, out, err) = pipegen(&envs, &args);
    assert_eq!(code, 0, "second apply: {out}{err}");
    assert!(out.contains("0 uploaded"), "{out}");
    assert!(out.contains("is up to date"), "{out}");
    let (code, out, err) = pipegen(&envs, &["status", "deployflow", "--endpoint", &endpoint]);
    assert_eq!(code, 0, "status: {out}{err}");
    assert!(
        out.contains("stack pipegen-deployflow (deployflow, eu-west-1): UPDATE_COMPLETE"),
        "{out}"
    );
    assert!(out.contains("LakeBucketName"), "outputs listed: {out}");
    assert!(
        out.contains("drift: not available (this endpoint does not implement DetectStackDrift)"),
        "{out}"
    );

    // 4. Change the environment: exactly that modification is planned.
    std::fs::write(
        envs.join("deployflow.yaml"),
        fork("deployflow", "streams:\n  events:\n    retention_hours: 48\n"),
    )
    .unwrap();
    let plan = plan_json(&envs, "deployflow", &endpoint, art);
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["logical_id"], "EventsStream");
    assert_eq!(changes[0]["action"], "modify");
    assert_eq!(changes[0]["properties"], serde_json::json!(["RetentionPeriodHours"]));
    assert_eq!(changes[0]["replacement"], "false");
    let (code, out, err) = pipegen(&envs, &args);
    assert_eq!(code, 0, "apply the change: {out}{err}");
    rt.block_on(async {
        let kinesis = aws_sdk_kinesis::Client::new(&conf);
        let s = kinesis
            .describe_stream_summary()
            .stream_name(name("EventsStream"))
            .send()
            .await
            .unwrap();
        assert_eq!(s.stream_description_summary().unwrap().retention_period_hours(), 48);
    });

    // 5. Destroy with a versioned lake holding thousands of versions.
    let lake = name("LakeBucket");
    let written = rt.block_on(async {
        let mut n = 0u64;
        for batch in 0..25 {
            let mut puts = Vec::new();
            for i in 0..80 {
                let key = format!("bronze/events/k{batch:02}-{i:03}.jsonl.gz");
                for version in 0..2 {
                    let s3 = s3.clone();
                    let lake = lake.clone();
                    let key = key.clone();
                    puts.push(tokio::spawn(async move {
                        s3.put_object()
                            .bucket(lake)
                            .key(key)
                            .body(format!("v{version}").into_bytes().into())
                            .send()
                            .await
                            .unwrap();
                    }));
                }
            }
            for p in puts {
                p.await.unwrap();
                n += 1;
            }
        }
        // Delete markers too.
        for i in 0..50 {
            s3.delete_object()
                .bucket(&lake)
                .key(format!("bronze/events/k00-{i:03}.jsonl.gz"))
                .send()
                .await
                .unwrap();
            n += 1;
        }
        n
    });
    assert_eq!(written, 4_050);
    let (code, out, err) = pipegen(&envs, &["destroy", "deployflow", "--endpoint", &endpoint, "--yes"]);
    assert_eq!(code, 0, "destroy: {out}{err}");
    assert!(
        out.contains(&format!(
            "emptied s3://{lake}: 4050 object versions and delete markers deleted"
        )),
        "{out}"
    );
    assert!(
        out.contains("nothing tagged pipegen:environment=deployflow is left"),
        "{out}"
    );
    assert!(!stack_exists(&cfn), "the stack is gone");
    rt.block_on(async {
        assert!(
            s3.head_bucket().bucket(&lake).send().await.is_err(),
            "the lake bucket is gone"
        );
        let tagging = aws_sdk_resourcegroupstagging::Client::new(&conf);
        let left = tagging
            .get_resources()
            .tag_filters(
                aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                    .key("pipegen:environment")
                    .values("deployflow")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(
            left.resource_tag_mapping_list().is_empty(),
            "{:?}",
            left.resource_tag_mapping_list()
        );
    });
    // Destroying again is not an error: there is nothing to delete.
    let (code, out, err) = pipegen(&envs, &["destroy", "deployflow", "--endpoint", &endpoint, "--yes"]);
    assert_eq!(code, 0, "second destroy: {out}{err}");
    assert!(out.contains("does not exist"), "{out}");
    clean(&envs, Path::new(art));
}

#[test]
fn protected_environments_are_not_destroyed_without_force() {
    let envs = environments("protected", &[]);
    // No endpoint is contacted: the refusal comes first.
    let (code, out, err) = pipegen(
        &envs,
        &["destroy", "tenant-acme", "--endpoint", "http://127.0.0.1:9", "--yes"],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("refusing to destroy protected environment: tenant-acme"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    // --all includes it, and is refused the same way.
    let (code, _, err) = pipegen(
        &envs,
        &["destroy", "--all", "--endpoint", "http://127.0.0.1:9", "--yes"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("tenant-acme"), "{err}");
    // Without a terminal and without --yes nothing is done.
    let (code, _, err) = pipegen(&envs, &["destroy", "dev", "--endpoint", "http://127.0.0.1:9"]);
    assert_eq!(code, 1);
    assert!(err.contains("pass --yes"), "{err}");
}

#[test]
fn a_failing_deployment_reports_the_resource_and_its_reason() {
    let endpoint = pipegen_testkit::moto_endpoint();
    let envs = environments("fail", &[("deployfail.yaml", &fork("deployfail", ""))]);
    let art = artifacts("fail", &envs);
    let files = pipegen::environment::EnvironmentFiles::read_dir(&envs).unwrap();
    let g = pipegen::validate::validate_one(&files, "deployfail").unwrap().graph;
    let role = g
        .resources
        .iter()
        .find(|r| r.id == "IngestRole")
        .unwrap()
        .name
        .clone()
        .unwrap();
    let rt = runtime();
    let conf = conf(&rt, &g.region);
    // Someone created the role by hand: CloudFormation cannot create it.
    // (AWS reports this as a CREATE_FAILED event and rolls back; moto
    // refuses the execution itself. Both reach the user with the reason.)
    let iam = aws_sdk_iam::Client::new(&conf);
    rt.block_on(async {
        let _ = iam.delete_role().role_name(&role).send().await;
        iam.create_role()
            .role_name(&role)
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .send()
            .await
            .unwrap();
    });
    let mut args = vec![
        "apply",
        "deployfail",
        "--endpoint",
        &endpoint,
        "--yes",
        "--artifacts",
        art.to_str().unwrap(),
    ];
    args.extend(NETWORK);
    let (code, out, err) = pipegen(&envs, &args);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!("Role with name {role} already exists")),
        "the reason reaches the user: {err}"
    );
    // Unknown and missing parameters are input errors, before any change.
    let (code, _, err) = pipegen(
        &envs,
        &[
            "plan",
            "deployfail",
            "--endpoint",
            &endpoint,
            "--parameter",
            "Vpc=vpc-1",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("unknown parameter `Vpc`; this environment takes VpcId, EtlSubnetIds"),
        "{err}"
    );
    // Clean up: the hand-made role goes, destroy removes what the stack made.
    rt.block_on(async {
        iam.delete_role().role_name(&role).send().await.unwrap();
    });
    let (code, out, err) = pipegen(&envs, &["destroy", "deployfail", "--endpoint", &endpoint, "--yes"]);
    assert_eq!(code, 0, "{out}{err}");

    // The check after a destroy is not blind: a resource of the environment
    // that exists outside any stack (here, its dead-letter queue made by
    // hand, untagged) is reported, and the destroy fails.
    let queue = g
        .resources
        .iter()
        .find(|r| r.id == "IngestDeadLetterQueue")
        .unwrap()
        .name
        .clone()
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let url = rt.block_on(async {
        sqs.create_queue()
            .queue_name(&queue)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string()
    });
    let (code, out, err) = pipegen(&envs, &["destroy", "deployfail", "--endpoint", &endpoint, "--yes"]);
    rt.block_on(async { sqs.delete_queue().queue_url(&url).send().await.unwrap() });
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains(&format!(
            "left: IngestDeadLetterQueue {queue} (its API says it still exists)"
        )),
        "{out}"
    );
    assert!(err.contains("1 resources of the environment are still there"), "{err}");
    clean(&envs, &art);
}

#[test]
fn several_environments_deploy_and_destroy_at_once() {
    let endpoint = pipegen_testkit::moto_endpoint();
    let tenants = ["deploymany1", "deploymany2", "deploymany3"];
    let files: Vec<(String, String)> = tenants.iter().map(|t| (format!("{t}.yaml"), fork(t, ""))).collect();
    let extra: Vec<(&str, &str)> = files.iter().map(|(f, t)| (f.as_str(), t.as_str())).collect();
    let envs = environments("many", &extra);
    let art = artifacts("many", &envs);
    let _ = pipegen(
        &envs,
        &[
            "destroy",
            tenants[0],
            tenants[1],
            tenants[2],
            "--endpoint",
            &endpoint,
            "--yes",
        ],
    );
    let mut args = vec![
        "apply",
        "--endpoint",
        &endpoint,
        "--yes",
        "--concurrency",
        "2",
        "--artifacts",
    ];
    args.push(art.to_str().unwrap());
    args.extend(tenants);
    args.extend(NETWORK);
    let (code, out, err) = pipegen(&envs, &args);
    assert_eq!(code, 0, "{out}{err}");
    // Each environment's output is whole and in the order asked, not interleaved.
    let positions: Vec<usize> = tenants
        .iter()
        .map(|t| {
            out.find(&format!("== {t}\n"))
                .unwrap_or_else(|| panic!("a section for {t}: {out}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{out}");
    for (i, t) in tenants.iter().enumerate() {
        let section = &out[positions[i]..positions.get(i + 1).copied().unwrap_or(out.len())];
        assert!(
            section.contains(&format!("{t}: stack pipegen-{t} is UPDATE_COMPLETE")),
            "{section}"
        );
        assert!(
            !tenants
                .iter()
                .any(|o| o != t && section.contains(&format!("pipegen-{o}"))),
            "{section}"
        );
    }
    let rt = runtime();
    let cfn = aws_sdk_cloudformation::Client::new(&conf(&rt, "eu-west-1"));
    let statuses = |cfn: &aws_sdk_cloudformation::Client| -> Vec<String> {
        rt.block_on(async {
            let mut out = Vec::new();
            for t in tenants {
                let s = cfn.describe_stacks().stack_name(format!("pipegen-{t}")).send().await;
                out.push(match s {
                    Ok(o) => o.stacks()[0].stack_status().unwrap().as_str().to_string(),
                    Err(_) => "absent".into(),
                });
            }
            out
        })
    };
    assert_eq!(statuses(&cfn), vec!["UPDATE_COMPLETE"; 3]);
    let mut args = vec!["destroy", "--endpoint", &endpoint, "--yes", "--concurrency", "3"];
    args.extend(tenants);
    let (code, out, err) = pipegen(&envs, &args);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("is left").count(), 3, "{out}");
    assert_eq!(statuses(&cfn), vec!["absent"; 3]);
    clean(&envs, &art);
}
