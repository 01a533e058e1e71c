//! The hostile-input suite: environment files that are wrong in every way we
//! could think of, each with the exact diagnostics (file:line:column, key path,
//! message) pipegen must give. None may panic, none may pass.
//!
//! The files are in `tests/hostile/`; `base.yaml` there is a frozen copy of the
//! shipped base so these locations do not move when the real one changes.

use std::path::{Path, PathBuf};

use pipegen::environment::{EnvironmentFile, EnvironmentFiles};
use pipegen::validate::validate_set;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/hostile")
}

/// Diagnostics as `file.yaml:line:col: key.path: message`, with the folder removed.
fn diagnose(files: &EnvironmentFiles, name: &str) -> Vec<String> {
    let (valid, diagnostics) = validate_set(files, &[name.to_string()]);
    assert!(valid.is_empty(), "{name} was accepted");
    let dir = dir().display().to_string();
    diagnostics
        .one_line()
        .into_iter()
        .map(|l| l.replace(&dir, "tests/hostile"))
        .map(|l| l.strip_prefix("tests/hostile/").map(String::from).unwrap_or(l))
        .collect()
}

const CASES: &[(&str, &[&str])] = &[
    (
        "alias-bomb",
        &["alias-bomb.yaml:5:45: the document expands to more than 100000 values (an alias bomb?)"],
    ),
    (
        "bad-account",
        &["bad-account.yaml:3:10: account: `12345` is not an AWS account id"],
    ),
    (
        "bad-date",
        &["bad-date.yaml:4:20: analytics.festival_dates[0]: `2025-02-30` is not a date"],
    ),
    (
        "bad-email",
        &[
            "bad-email.yaml:7:19: topics.alerts.subscriptions[0].endpoint: `not-an-address` is not a valid email endpoint",
        ],
    ),
    (
        "bad-enum",
        &[
            "bad-enum.yaml:4:18: analytics.source_format: `rees47` is not one of: flashcommerce, capstone, rees46, uk-retail",
        ],
    ),
    (
        "bad-function-key",
        &["bad-function-key.yaml:4:3: functions.Ingest_Fn: the name `Ingest_Fn` must start with a lower case letter"],
    ),
    (
        "bad-indentation",
        &["bad-indentation.yaml:5:2: invalid YAML: while parsing a block mapping, did not find expected key"],
    ),
    (
        "bad-log-retention",
        &["bad-log-retention.yaml:4:23: lambda.log_retention_days: 10 days is not a CloudWatch Logs retention period"],
    ),
    (
        "bad-region",
        &["bad-region.yaml:3:9: region: `europe-west` is not an AWS region name"],
    ),
    (
        "bad-schedule",
        &[
            "bad-schedule.yaml:6:19: functions.simulator.schedule.expression: `rate(5 minute)`: with 5 the unit is plural (minutes, hours or days)",
        ],
    ),
    (
        "bad-time-zone",
        &["bad-time-zone.yaml:4:14: analytics.time_zone: `Asia/Kolkatta` is not a time zone"],
    ),
    (
        "batch-size-range",
        &["batch-size-range.yaml:6:19: functions.ingest.trigger.batch_size: 10001 is out of range: allowed 1..=10000"],
    ),
    (
        "binary-garbage",
        &["binary-garbage.yaml:1:1: the file contains a control character (binary data?), which YAML does not allow"],
    ),
    (
        "bucket-name-too-long",
        &[
            "bucket-name-too-long.yaml:3:9: artifacts: the S3 bucket name `abcdefghijklmnopqrst-abcdefghijklmnopqrstuvwx-artifacts-50195f4c` is 64 characters; AWS allows 3-63",
        ],
    ),
    (
        "city-table-missing",
        &[
            "city-table-missing.yaml:4:15: analytics.city_table: the city table `tests/hostile/cities/missing.csv` does not exist",
        ],
    ),
    (
        "collision-one",
        &[
            "collision-one.yaml:2:9: tenant: environment `collision-one` produces the same physical names as `collision-two` (44 names, e.g. Bucket `pipegen-twins-artifacts-40c3c15c`)",
        ],
    ),
    (
        "collision-two",
        &[
            "collision-two.yaml:2:9: tenant: environment `collision-two` produces the same physical names as `collision-one` (44 names, e.g. Bucket `pipegen-twins-artifacts-40c3c15c`)",
        ],
    ),
    ("comment-only", &["comment-only.yaml:1:1: the file is empty"]),
    ("complex-key", &["complex-key.yaml:3:3: a list cannot be a mapping key"]),
    (
        "custom-tag",
        &["custom-tag.yaml:2:16: YAML tag `!vault` is not supported here"],
    ),
    (
        "cycle-a",
        &["cycle-b.yaml:1:10: extends: `extends` makes a cycle: cycle-a -> cycle-b -> cycle-a"],
    ),
    (
        "cycle-b",
        &["cycle-a.yaml:1:10: extends: `extends` makes a cycle: cycle-b -> cycle-a -> cycle-b"],
    ),
    (
        "dangling-stream",
        &["dangling-stream.yaml:6:15: functions.ingest.trigger.stream: `clicks` is not a stream of this environment"],
    ),
    (
        "dangling-table",
        &[
            "dangling-table.yaml:5:23: functions.detector.detections_table: `detection` is not a DynamoDB table of this environment",
        ],
    ),
    (
        "dangling-topic",
        &["dangling-topic.yaml:4:10: alarms.topic: `alert` is not a topic of this environment"],
    ),
    (
        "deep-nesting",
        &["deep-nesting.yaml:3:70: nesting deeper than 64 levels"],
    ),
    (
        "detector-parallel",
        &[
            "detector-parallel.yaml:6:31: functions.detector.trigger.parallelization_factor: the detector's windows need parallelization_factor 1",
        ],
    ),
    (
        "duplicate-key",
        &["duplicate-key.yaml:4:1: tenant: duplicate key `tenant` (first written at line 2, column 1)"],
    ),
    (
        "duplicate-nested-key",
        &["duplicate-nested-key.yaml:6:5: memory_mb: duplicate key `memory_mb` (first written at line 5, column 5)"],
    ),
    ("empty", &["empty.yaml:1:1: the file is empty"]),
    (
        "extends-not-string",
        &["extends-not-string.yaml:1:10: extends: `extends` names one environment; found a list"],
    ),
    (
        "fargate-mismatch",
        &["fargate-mismatch.yaml:5:14: etl.memory_mb: 4096 MB does not fit 256 CPU units on Fargate"],
    ),
    (
        "firehose-prefix",
        &["firehose-prefix.yaml:4:11: firehose_backup.prefix: `bronze/backup/` is inside a layer the pipeline owns"],
    ),
    (
        "function-name-too-long",
        &[
            "function-name-too-long.yaml:4:3: functions.a-very-long-function-name-that-goes-on-and-on-and-on: the IAM role name `pipegen-fnlong-a-very-long-function-name-that-goes-on-and-on-and-on-role` is 72 characters; AWS allows 1-64",
            "function-name-too-long.yaml:4:3: functions.a-very-long-function-name-that-goes-on-and-on-and-on: the Lambda function name `pipegen-fnlong-a-very-long-function-name-that-goes-on-and-on-and-on` is 67 characters; AWS allows 1-64",
        ],
    ),
    (
        "huge-number",
        &[
            "huge-number.yaml:5:16: functions.ingest.memory_mb: 99999999999999999999999999999999 is out of range: allowed 128..=10240",
        ],
    ),
    (
        "list-document",
        &["list-document.yaml:1:1: the document is a list; an environment file is a mapping of keys"],
    ),
    (
        "many-errors",
        &[
            "many-errors.yaml:5:5: functions.ingest.memroy_mb: unknown key `memroy_mb`",
            "many-errors.yaml:6:22: functions.ingest.timeout_seconds: 1000 is out of range: allowed 1..=900",
            "many-errors.yaml:8:15: functions.ingest.trigger.stream: `evnets` is not a stream of this environment",
            "many-errors.yaml:9:19: functions.ingest.trigger.batch_size: expected a whole number, found `abc`",
            "many-errors.yaml:11:14: lake.versioned: expected true or false, found `yes`",
            "many-errors.yaml:13:14: analytics.time_zone: `Asia/Kolkatta` is not a time zone",
            "many-errors.yaml:14:20: analytics.festival_dates[0]: `2025-13-01` is not a date",
            "many-errors.yaml:15:9: region: `eu-west` is not an AWS region name",
        ],
    ),
    (
        "memory-range",
        &["memory-range.yaml:5:16: functions.ingest.memory_mb: 64 is out of range: allowed 128..=10240"],
    ),
    (
        "missing-parent",
        &["missing-parent.yaml:1:10: extends: `extends: bsae` names no environment in tests/hostile"],
    ),
    (
        "missing-required",
        &[
            "missing-required.yaml:1:1: project: missing required key `project`",
            "missing-required.yaml:1:1: region: missing required key `region`",
        ],
    ),
    (
        "multi-document",
        &["multi-document.yaml:3:1: a second YAML document starts here; an environment file holds exactly one"],
    ),
    (
        "negative-memory",
        &["negative-memory.yaml:5:16: functions.ingest.memory_mb: -5 is out of range: allowed 128..=10240"],
    ),
    (
        "not-utf8",
        &["not-utf8.yaml:2:12: the file is not UTF-8 text (byte 0xe9)"],
    ),
    (
        "null-value",
        &[
            "null-value.yaml:5:14: functions.ingest.memory_mb: missing value: expected a whole number (Memory in MB (Lambda allows 128-10240))",
        ],
    ),
    (
        "on-demand-with-shards",
        &["on-demand-with-shards.yaml:5:13: streams.events.shards: `shards` applies only to `mode: provisioned`"],
    ),
    (
        "peak-hours-reversed",
        &["peak-hours-reversed.yaml:4:15: analytics.peak_hours: peak hours start at 22 but end at 6"],
    ),
    (
        "protected-no-account",
        &["protected-no-account.yaml:3:1: protected: a protected environment must name its `account`"],
    ),
    (
        "provisioned-no-shards",
        &["provisioned-no-shards.yaml:5:5: streams.events: a provisioned stream needs `shards`"],
    ),
    (
        "quoted-number",
        &["quoted-number.yaml:5:16: functions.ingest.memory_mb: expected a whole number, found the quoted text `512`"],
    ),
    (
        "reserved-tag",
        &["reserved-tag.yaml:4:3: tags.aws:owner: the tag key prefix of `aws:owner` is reserved"],
    ),
    (
        "retention-range",
        &["retention-range.yaml:5:22: streams.events.retention_hours: 12 is out of range: allowed 24..=8760"],
    ),
    (
        "scalar-document",
        &["scalar-document.yaml:1:1: the document is a scalar; an environment file is a mapping of keys"],
    ),
    (
        "self-extends",
        &["self-extends.yaml:1:10: extends: `extends` makes a cycle: self-extends -> self-extends"],
    ),
    (
        "simulator-with-trigger",
        &["simulator-with-trigger.yaml:5:5: functions.simulator.trigger: the simulator is not triggered by a stream"],
    ),
    (
        "tabs",
        &["tabs.yaml:4:1: invalid YAML: tabs disallowed within this context (block indentation)"],
    ),
    (
        "tenant-too-long",
        &[
            "tenant-too-long.yaml:2:9: tenant: `abcdefghijklmnopqrstuvwxyz` is 26 characters long; at most 24 are allowed",
        ],
    ),
    (
        "timeout-range",
        &["timeout-range.yaml:5:22: functions.detector.timeout_seconds: 901 is out of range: allowed 1..=900"],
    ),
    (
        "tumbling-window-range",
        &["tumbling-window-range.yaml:4:19: detector.window_seconds: 901 is out of range: allowed 1..=900"],
    ),
    (
        "unclosed-flow",
        &["unclosed-flow.yaml:5:1: invalid YAML: while parsing a flow sequence, expected ',' or ']'"],
    ),
    (
        "unclosed-quote",
        &["unclosed-quote.yaml:2:9: invalid YAML: invalid indentation in quoted scalar"],
    ),
    (
        "unknown-nested-key",
        &["unknown-nested-key.yaml:5:5: functions.ingest.memroy_mb: unknown key `memroy_mb`"],
    ),
    (
        "unknown-top-key",
        &["unknown-top-key.yaml:2:1: tenat: unknown key `tenat`"],
    ),
    (
        "unknown-workload",
        &[
            "unknown-workload.yaml:5:15: functions.ingest.workload: `ingester` is not one of: ingest, detector, simulator",
        ],
    ),
    (
        "uppercase-tenant",
        &["uppercase-tenant.yaml:2:9: tenant: tenant `Acme` must start with a lower case letter"],
    ),
    (
        "wrong-type-int",
        &["wrong-type-int.yaml:5:16: functions.ingest.memory_mb: expected a whole number, found `lots`"],
    ),
    (
        "wrong-type-map",
        &["wrong-type-map.yaml:3:10: streams: expected a mapping (`key: value` lines), found a list"],
    ),
    (
        "yes-boolean",
        &["yes-boolean.yaml:4:14: lake.versioned: expected true or false, found `yes`"],
    ),
];

#[test]
fn every_hostile_file_is_rejected_with_located_messages() {
    let files = EnvironmentFiles::read_dir(&dir()).expect("hostile folder");
    let mut failures = Vec::new();
    for (name, expected) in CASES {
        let got = diagnose(&files, name);
        if got != *expected {
            failures.push(format!("{name}:\n  expected: {expected:#?}\n  got:      {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_file_in_the_folder_has_a_case() {
    let files = EnvironmentFiles::read_dir(&dir()).expect("hostile folder");
    for name in files.names().filter(|n| *n != "base") {
        assert!(
            CASES.iter().any(|(c, _)| c == &name),
            "{name}.yaml has no expectation in CASES"
        );
    }
    assert!(CASES.len() >= 40);
}

#[test]
fn the_frozen_base_is_valid() {
    let files = EnvironmentFiles::read_dir(&dir()).expect("hostile folder");
    let (valid, diagnostics) = validate_set(&files, &["base".to_string()]);
    assert!(diagnostics.is_empty(), "{diagnostics}");
    assert_eq!(valid.len(), 1);
}

#[test]
fn every_diagnostic_has_a_location_and_a_message() {
    let files = EnvironmentFiles::read_dir(&dir()).expect("hostile folder");
    for (name, _) in CASES {
        let (_, diagnostics) = validate_set(&files, &[name.to_string()]);
        for d in diagnostics.iter() {
            let loc = d
                .location
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: no location for {d}"));
            assert!(loc.line >= 1 && loc.col >= 1, "{name}: {d}");
            assert!(!d.message.is_empty());
        }
    }
}

/// Truncations of every hostile file never panic (they may pass or fail).
#[test]
fn truncated_hostile_files_never_panic() {
    let dir = dir();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        // Every byte position of short files, 15 spread positions of long ones.
        let step = (bytes.len() / 15).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            let f = EnvironmentFile::from_bytes(&path, bytes[..cut].to_vec());
            let name = f.name.clone();
            let base = EnvironmentFile::read(&dir.join("base.yaml"));
            let files = EnvironmentFiles::from_files(&dir, [base, f]);
            let _ = validate_set(&files, &[name]);
        }
    }
}
