//! The shipped environments: they validate, their resource graphs are
//! reviewed snapshots, forks inherit what they should, and the CLI commands
//! behave (run in-process with captured output and exit codes).

use std::path::{Path, PathBuf};

use clap::Parser;
use pipegen::cli::{self, Cli};
use pipegen::environment::EnvironmentFiles;
use pipegen::resources::Kind;
use pipegen::validate::{Environment, validate_one, validate_set};

fn environments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments")
}

fn shipped() -> EnvironmentFiles {
    EnvironmentFiles::read_dir(&environments_dir()).expect("environments folder")
}

fn env(name: &str) -> Environment {
    validate_one(&shipped(), name).unwrap_or_else(|d| panic!("{name}: {d}"))
}

/// Runs the CLI in-process: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (u8, String, String) {
    let mut argv = vec!["pipegen", "--color", "never"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).expect("arguments parse");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = cli::run(&cli, &mut out, &mut err);
    (code, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
}

const SHIPPED: &[&str] = &[
    "base",
    "capstone",
    "dev",
    "flashcommerce",
    "rees46",
    "student-rap7777",
    "tenant-acme",
    "tenant-globex",
    "uk-retail",
];

#[test]
fn every_shipped_environment_validates() {
    let files = shipped();
    let names: Vec<&str> = files.names().collect();
    assert_eq!(
        names, SHIPPED,
        "a shipped environment was added or removed: update SHIPPED and the snapshots"
    );
    let (valid, diagnostics) = validate_set(&files, &[]);
    assert!(diagnostics.is_empty(), "{diagnostics}");
    assert_eq!(valid.len(), SHIPPED.len());
}

#[test]
fn resource_graph_snapshots() {
    for name in SHIPPED {
        let e = env(name);
        assert!(e.graph.is_ordered(), "{name}: a resource comes before its dependency");
        assert!(e.graph.dangling().is_empty(), "{name}: {:?}", e.graph.dangling());
        insta::assert_yaml_snapshot!(format!("graph-{name}"), e.graph);
    }
}

#[test]
fn forks_inherit_and_override() {
    let base = env("base");
    let student = env("student-rap7777");
    // Two levels: student -> capstone -> base.
    assert_eq!(student.chain, ["student-rap7777", "capstone", "base"]);
    assert_eq!(student.config.analytics.source_format.as_str(), "capstone");
    assert_eq!(student.config.region, "us-east-1");
    // Inherited unchanged from base.
    assert_eq!(student.config.detector, base.config.detector);
    assert_eq!(student.config.functions["ingest"], base.config.functions["ingest"]);
    // Deep merge: the tag map gained keys and kept base's.
    assert_eq!(student.config.tags["owner"], "rap7777");
    assert_eq!(student.config.tags["cost-center"], "analytics");
    // Lists replace: the student's subscriptions are exactly its own.
    assert_eq!(student.config.topics["alerts"].subscriptions.len(), 1);
    // Names derive from the tenant.
    let stream = student.graph.get("EventsStream").unwrap();
    assert_eq!(stream.name.as_deref(), Some("pipegen-rap7777-events"));
}

#[test]
fn protection_is_not_inherited() {
    let files = shipped();
    assert!(env("tenant-acme").config.protected);
    let mut forked = files.clone();
    let path = environments_dir().join("acme-staging.yaml");
    forked.files.insert(
        "acme-staging".into(),
        pipegen::environment::EnvironmentFile::from_bytes(
            &path,
            b"extends: tenant-acme\ntenant: acme-staging\n".to_vec(),
        ),
    );
    let staging = validate_one(&forked, "acme-staging").unwrap();
    assert!(!staging.config.protected);
    assert_eq!(staging.config.account.as_deref(), Some("111122223333"));
}

#[test]
fn account_or_hash_makes_bucket_names_global() {
    let acme = env("tenant-acme");
    assert_eq!(
        acme.graph.get("LakeBucket").unwrap().name.as_deref(),
        Some("pipegen-acme-lake-111122223333")
    );
    let dev = env("dev");
    let lake = dev.graph.get("LakeBucket").unwrap().name.clone().unwrap();
    assert!(
        lake.starts_with("pipegen-dev-lake-") && lake.len() == "pipegen-dev-lake-".len() + 8,
        "{lake}"
    );
}

#[test]
fn detector_mapping_uses_the_detector_window() {
    let globex = env("tenant-globex");
    let esm = globex.graph.get("DetectorEventSourceMapping").unwrap();
    assert_eq!(esm.properties["tumbling_window_seconds"], 30);
    assert_eq!(esm.properties["parallelization_factor"], 1);
    let ingest = globex.graph.get("IngestEventSourceMapping").unwrap();
    assert!(ingest.properties["tumbling_window_seconds"].is_null());
    assert_eq!(ingest.properties["report_batch_item_failures"], true);
}

#[test]
fn roles_are_least_privilege() {
    for name in SHIPPED {
        let e = env(name);
        for role in e.graph.resources.iter().filter(|r| r.kind == Kind::Role) {
            let statements = role.properties["statements"].as_array().unwrap();
            assert!(!statements.is_empty(), "{name}: {} has no statements", role.id);
            for st in statements {
                for resource in st["resources"].as_array().unwrap() {
                    if resource == "*" {
                        let actions: Vec<&str> = st["actions"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter_map(|a| a.as_str())
                            .collect();
                        assert_eq!(
                            actions,
                            ["ecr:GetAuthorizationToken"],
                            "{name}: {} has * for {actions:?}",
                            role.id
                        );
                    }
                }
            }
        }
        // The ingest role writes only bronze/.
        let ingest = e.graph.get("IngestRole").unwrap();
        let text = ingest.properties["statements"].to_string();
        assert!(
            text.contains("bronze/*") && !text.contains("silver/") && !text.contains("gold/"),
            "{text}"
        );
        assert!(!text.contains("dynamodb") && !text.contains("sns:"), "{text}");
    }
}

#[test]
fn cli_validate_all_and_one() {
    let dir = environments_dir();
    let dir = dir.to_str().unwrap();
    let (code, out, err) = run(&["--environments", dir, "validate"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), SHIPPED.len());
    let (code, out, _) = run(&["--environments", dir, "validate", "dev"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("ok  dev "), "{out}");
    let (code, _, err) = run(&["--environments", dir, "validate", "dve"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no environment named `dve`") && err.contains("did you mean `dev`?"),
        "{err}"
    );
}

#[test]
fn cli_envs_shows_the_tree() {
    let (code, out, _) = run(&["--environments", environments_dir().to_str().unwrap(), "envs"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("base\n"), "{out}");
    assert!(out.contains("├── capstone\n│   └── student-rap7777\n"), "{out}");
}

#[test]
fn cli_graph_text_and_dot() {
    let dir = environments_dir();
    let (code, out, _) = run(&[
        "--environments",
        dir.to_str().unwrap(),
        "graph",
        "dev",
        "--format",
        "dot",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("digraph \"dev\" {"));
    assert!(
        out.contains("\"EventsStream\" -> \"IngestEventSourceMapping\";"),
        "{out}"
    );
    let (code, out, _) = run(&["--environments", dir.to_str().unwrap(), "graph", "dev"]);
    assert_eq!(code, 0);
    assert!(out.contains("pipegen-dev-events"));
}

#[test]
fn cli_fork_writes_a_valid_minimal_file() {
    let tmp = std::env::temp_dir().join(format!("pipegen-fork-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    for f in std::fs::read_dir(environments_dir()).unwrap() {
        let p = f.unwrap().path();
        std::fs::copy(&p, tmp.join(p.file_name().unwrap())).unwrap();
    }
    let dir = tmp.to_str().unwrap();
    let (code, out, err) = run(&["--environments", dir, "fork", "dev", "student-abc123"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("student-abc123.yaml"));
    let text = std::fs::read_to_string(tmp.join("student-abc123.yaml")).unwrap();
    assert!(text.contains("extends: dev\ntenant: student-abc123\n"), "{text}");
    let files = EnvironmentFiles::read_dir(&tmp).unwrap();
    let e = validate_one(&files, "student-abc123").unwrap();
    assert_eq!(e.chain, ["student-abc123", "dev", "base"]);
    // Forking again refuses to overwrite; a fork reusing a tenant collides.
    let (code, _, err) = run(&["--environments", dir, "fork", "dev", "student-abc123"]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = run(&["--environments", dir, "fork", "dev", "copy", "--tenant", "dev"]);
    assert_eq!(code, 1);
    assert!(err.contains("produces the same physical names as `dev`"), "{err}");
    assert!(!tmp.join("copy.yaml").exists(), "an invalid fork must not be written");
    let (code, _, err) = run(&["--environments", dir, "fork", "nope", "x1"]);
    assert_eq!(code, 1);
    assert!(err.contains("no environment named `nope`"), "{err}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn committed_schema_is_current() {
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/environment.schema.json"))
            .unwrap();
    assert_eq!(
        committed,
        cli::schema_text(),
        "run `cargo run -p pipegen -- schema --out schema/environment.schema.json`"
    );
    let (code, out, _) = run(&["schema"]);
    assert_eq!(code, 0);
    assert_eq!(out, committed);
}

#[test]
fn every_environment_file_references_the_schema() {
    for f in std::fs::read_dir(environments_dir()).unwrap() {
        let p = f.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema/environment.schema.json\n"),
            "{}",
            p.display()
        );
    }
}
