//! Rendering: both targets for every shipped environment are reviewed
//! snapshots; output is deterministic; CloudFormation and Terraform describe
//! the same resources, names and IAM statements. The external checkers
//! (cfn-lint, checkov, cfn-guard, terraform, the provider schema) run in
//! scripts/check-rendered.sh.

use std::collections::BTreeSet;
use std::path::Path;

use pipegen::environment::EnvironmentFiles;
use pipegen::render::{ArtifactHashes, RenderedFile, Renderer, Target};
use pipegen::resources::Kind;
use pipegen::validate::{Environment, validate_set};

fn environments() -> Vec<Environment> {
    let files = EnvironmentFiles::read_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments")).unwrap();
    let (envs, d) = validate_set(&files, &[]);
    assert!(d.is_empty(), "{d}");
    envs
}

fn hashes() -> ArtifactHashes {
    let mut h = ArtifactHashes::default();
    for (w, c) in [("ingest", 'a'), ("detector", 'b'), ("simulator", 'c'), ("etl", 'd')] {
        h.0.insert(w.to_string(), c.to_string().repeat(64));
    }
    h
}

fn file<'a>(files: &'a [RenderedFile], name: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .text
}

/// Content hashes churn with every code change; snapshots show where they go.
fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() == 64 { "[hash]" } else { &run });
        run.clear();
        out.push(c);
    }
    out.push_str(if run.len() == 64 { "[hash]" } else { &run });
    out
}

#[test]
fn snapshots_of_both_targets() {
    let renderer = Renderer::new().unwrap();
    for env in environments() {
        let files = renderer.render(&env, Target::All, &hashes()).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["template.yaml", "main.tf", "variables.tf", "outputs.tf"]);
        for f in &files {
            insta::assert_snapshot!(format!("{}-{}", env.name, f.name), redact(&f.text));
        }
    }
}

#[test]
fn rendering_is_deterministic_and_hashes_land_in_keys() {
    let renderer = Renderer::new().unwrap();
    let envs = environments();
    let dev = envs.iter().find(|e| e.name == "dev").unwrap();
    let a = renderer.render(dev, Target::All, &hashes()).unwrap();
    let b = Renderer::new().unwrap().render(dev, Target::All, &hashes()).unwrap();
    assert_eq!(a, b);
    let cfn = file(&a, "template.yaml");
    assert!(
        cfn.contains(&format!("S3Key: \"lambda/ingest/{}.zip\"", "a".repeat(64))),
        "ingest code key"
    );
    assert!(cfn.contains(&format!("S3Key: \"lambda/detector/{}.zip\"", "b".repeat(64))));
    let tf = file(&a, "main.tf");
    assert!(tf.contains(&format!(":{}\"", "d".repeat(64))), "etl image tag");
    // A changed artifact changes exactly its key.
    let mut changed = hashes();
    changed.0.insert("ingest".into(), "e".repeat(64));
    let c = renderer.render(dev, Target::Cloudformation, &changed).unwrap();
    let diff: Vec<(&str, &str)> = cfn.lines().zip(c[0].text.lines()).filter(|(x, y)| x != y).collect();
    assert_eq!(diff.len(), 1, "{diff:?}");
}

/// Text between a CloudFormation resource's header and the next resource.
fn cfn_block<'a>(cfn: &'a str, id: &str) -> &'a str {
    let header = format!("\n  {id}:\n");
    let start = cfn.find(&header).unwrap_or_else(|| panic!("{id} not in template")) + header.len();
    let rest = &cfn[start..];
    // The next resource (or section) starts on a line indented by at most two spaces.
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i)
        .find(|i| !rest[i + 1..].starts_with("   "))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Text of every Terraform block named `name`.
fn tf_blocks(tf: &str, name: &str) -> String {
    let mut out = String::new();
    let header = format!("\" \"{name}\" {{\n");
    let mut from = 0;
    while let Some(i) = tf[from..].find(&header) {
        let start = from + i;
        let end = tf[start..].find("\n}\n").map(|e| start + e).unwrap_or(tf.len());
        out.push_str(&tf[start..end]);
        from = end;
    }
    out
}

/// Quoted strings that look like IAM actions or ARNs, with the account
/// written one way.
fn iam_words(text: &str) -> BTreeSet<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .map(|s| s.replace("${data.aws_caller_identity.current.account_id}", "${AWS::AccountId}"))
        .filter(|s| s.starts_with("arn:") || (s.contains(':') && !s.contains(' ') && !s.contains('/') && s.len() < 60))
        .collect()
}

#[test]
fn cloudformation_and_terraform_agree() {
    let renderer = Renderer::new().unwrap();
    for env in environments() {
        let files = renderer.render(&env, Target::All, &hashes()).unwrap();
        let (cfn, tf) = (file(&files, "template.yaml"), file(&files, "main.tf"));
        for r in &env.graph.resources {
            let snake = pipegen::render::tf_name(&r.id);
            assert!(
                cfn.contains(&format!("\n  {}:\n", r.id)),
                "{}: {} missing from CloudFormation",
                env.name,
                r.id
            );
            assert!(
                tf.contains(&format!("\" \"{snake}\" {{")),
                "{}: {snake} missing from Terraform",
                env.name
            );
            if let Some(name) = &r.name {
                let quoted = format!("\"{name}\"");
                assert!(
                    cfn.contains(&quoted),
                    "{}: {name} missing from CloudFormation",
                    env.name
                );
                assert!(tf.contains(&quoted), "{}: {name} missing from Terraform", env.name);
            }
            if r.kind == Kind::Role {
                let block = cfn_block(cfn, &r.id);
                let policy = &block[block.find("Policies:").unwrap()..block.find("Tags:").unwrap()];
                let a = iam_words(policy);
                let b = iam_words(&tf_blocks(tf, &snake));
                assert!(!a.is_empty());
                assert_eq!(a, b, "{}: {} has different IAM statements", env.name, r.id);
            }
        }
    }
}

#[test]
fn no_wildcard_resources_except_where_aws_has_no_resource_type() {
    let renderer = Renderer::new().unwrap();
    for env in environments() {
        let files = renderer.render(&env, Target::Cloudformation, &hashes()).unwrap();
        for r in env.graph.resources.iter().filter(|r| r.kind == Kind::Role) {
            let block = cfn_block(&files[0].text, &r.id);
            let policy = &block[block.find("PolicyName").unwrap()..];
            for (i, _) in policy.match_indices("- \"*\"") {
                let before = &policy[..i];
                let actions = &before[before.rfind("Action:").unwrap()..];
                assert!(
                    actions.contains("ecr:GetAuthorizationToken"),
                    "{}: {} has * for {actions}",
                    env.name,
                    r.id
                );
            }
        }
    }
}

/// Every string of a JSON value, with its path.
fn strings<'a>(v: &'a serde_json::Value, path: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        serde_json::Value::String(s) => out.push((path, s)),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, format!("{path}[{i}]"), out);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, item) in m {
                strings(item, format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_deployed_json_template_is_the_rendered_yaml() {
    // The deploy engine sends JSON converted from the YAML (which is what the
    // checkers lint): same resources, same outputs, every short-form
    // intrinsic turned into its long form, nothing left as a tag.
    let renderer = Renderer::new().unwrap();
    for env in environments() {
        let yaml = renderer.render(&env, Target::Cloudformation, &hashes()).unwrap();
        let text = file(&yaml, "template.yaml");
        let json = renderer.cloudformation_json(&env, &env.graph, &hashes()).unwrap();
        let resources = json["Resources"].as_object().unwrap();
        // Top-level keys of a section of the YAML (`  Name:` lines).
        let section = |name: &str| -> Vec<String> {
            text.lines()
                .skip_while(|l| *l != name)
                .skip(1)
                .take_while(|l| l.is_empty() || l.starts_with(' '))
                .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.ends_with(':'))
                .map(|l| l.trim().trim_end_matches(':').to_string())
                .collect()
        };
        let ids: Vec<String> = resources.keys().cloned().collect();
        assert_eq!(ids, section("Resources:"), "{}", env.name);
        let outputs: Vec<String> = json["Outputs"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(outputs, section("Outputs:"), "{}", env.name);
        let mut all = Vec::new();
        strings(&json, String::new(), &mut all);
        let tagged: Vec<_> = all.iter().filter(|(_, s)| s.starts_with('!')).collect();
        assert!(tagged.is_empty(), "{}: {tagged:?}", env.name);
        let role = &json["Resources"]["IngestFunction"]["Properties"]["Role"];
        assert_eq!(
            role,
            &serde_json::json!({"Fn::GetAtt": ["IngestRole", "Arn"]}),
            "{}",
            env.name
        );
        let memory = &json["Resources"]["IngestFunction"]["Properties"]["MemorySize"];
        assert!(memory.is_u64(), "numbers stay numbers: {memory}");
        let refs = all.iter().filter(|(p, _)| p.ends_with(".Ref")).count();
        assert_eq!(
            refs,
            text.matches("!Ref ").count(),
            "{}: every !Ref became a Ref",
            env.name
        );
    }
}
