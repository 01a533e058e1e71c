//! Property tests of the loader: arbitrary bytes, arbitrary YAML-ish text and
//! random mutations of the shipped environments never panic, and every
//! diagnostic they produce has a location inside the input.
//!
//! `PROPTEST_CASES` raises the number of cases for a longer fuzzing run
//! (`PROPTEST_CASES=100000 cargo test -p pipegen --test loader_fuzz`).

use std::path::{Path, PathBuf};

use pipegen::environment::{EnvironmentFile, EnvironmentFiles};
use pipegen::validate::validate_set;
use proptest::prelude::*;

fn base() -> EnvironmentFile {
    EnvironmentFile::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments/base.yaml"))
}

fn check(bytes: Vec<u8>) {
    let path = PathBuf::from("fuzz/case.yaml");
    let text_lines = String::from_utf8_lossy(&bytes).lines().count().max(1);
    let case = EnvironmentFile::from_bytes(&path, bytes);
    let files = EnvironmentFiles::from_files(Path::new("fuzz"), [base(), case]);
    let (_, diagnostics) = validate_set(&files, &["case".to_string()]);
    for d in diagnostics.iter() {
        if let Some(loc) = &d.location
            && loc.path() == path
        {
            assert!(
                loc.line >= 1 && loc.line <= text_lines + 1,
                "{d} (file has {text_lines} lines)"
            );
            assert!(loc.col >= 1);
        }
    }
}

fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("extends: base\n".to_string()),
        Just("tenant: fz\n".to_string()),
        Just("functions:\n".to_string()),
        Just("  ingest:\n".to_string()),
        Just("    memory_mb: ".to_string()),
        Just("    trigger: {stream: events}\n".to_string()),
        Just("- ".to_string()),
        Just(": ".to_string()),
        Just("&a ".to_string()),
        Just("*a ".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("\t".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("!!str ".to_string()),
        Just("? ".to_string()),
        Just("---\n".to_string()),
        "[a-z_]{1,8}".prop_map(|s| s),
        "-?[0-9]{1,25}".prop_map(|s| s),
    ];
    prop::collection::vec(token, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check(bytes);
    }

    #[test]
    fn yamlish_text_never_panics(text in yamlish()) {
        check(text.into_bytes());
    }

    #[test]
    fn mutated_shipped_environments_never_panic(
        file in prop::sample::select(vec!["dev", "student-rap7777", "tenant-acme", "uk-retail"]),
        at in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        insert in "[ -~\t\n]{0,12}",
    ) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../environments/{file}.yaml"));
        let text = std::fs::read_to_string(path).unwrap();
        let chars: Vec<char> = text.chars().collect();
        let i = at.index(chars.len() + 1);
        let j = (i + cut.index(8)).min(chars.len());
        let mutated: String = chars[..i].iter().chain(insert.chars().collect::<Vec<_>>().iter()).chain(chars[j..].iter()).collect();
        check(mutated.replace("extends: capstone", "extends: base").replace("extends: flashcommerce", "extends: base").into_bytes());
    }
}
