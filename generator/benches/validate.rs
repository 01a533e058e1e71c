//! How long validation takes: every shipped environment, and 1,000 generated
//! tenant forks. Prints a table; run with `cargo bench -p pipegen --bench validate`.
//!
//! The peer measured in the same run is the floor under validation: reading
//! and parsing the same YAML without merging, checking or building graphs.
//! The ratio says what the checks cost on top of the parse.

use std::path::{Path, PathBuf};

use pipegen::environment::{EnvironmentFile, EnvironmentFiles};
use pipegen::validate::validate_set;

mod common;

use common::time;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
    let shipped = EnvironmentFiles::read_dir(&dir).expect("environments");
    let n_shipped = shipped.files.len();

    let mut forks = shipped.clone();
    for i in 0..1000 {
        let name = format!("tenant-t{i:04}");
        let path = PathBuf::from(format!("{}/{name}.yaml", dir.display()));
        let text = format!("extends: dev\ntenant: t{i:04}\ntags:\n  customer: c{i}\n");
        forks
            .files
            .insert(name, EnvironmentFile::from_bytes(&path, text.into_bytes()));
    }
    let n_forks = forks.files.len();

    let parse_shipped = time(20, || {
        let f = EnvironmentFiles::read_dir(&dir).unwrap();
        assert_eq!(f.files.len(), n_shipped);
    });
    let validate_shipped = time(20, || {
        let f = EnvironmentFiles::read_dir(&dir).unwrap();
        let (valid, d) = validate_set(&f, &[]);
        assert!(d.is_empty() && valid.len() == n_shipped);
    });
    let fork_texts: Vec<(PathBuf, Vec<u8>)> = forks
        .files
        .values()
        .map(|f| (f.path.clone(), f.file.text.clone().into_bytes()))
        .collect();
    let parse_forks = time(5, || {
        let f = EnvironmentFiles::from_files(
            &dir,
            fork_texts
                .iter()
                .map(|(p, b)| EnvironmentFile::from_bytes(p, b.clone())),
        );
        assert_eq!(f.files.len(), n_forks);
    });
    let validate_forks = time(5, || {
        let f = EnvironmentFiles::from_files(
            &dir,
            fork_texts
                .iter()
                .map(|(p, b)| EnvironmentFile::from_bytes(p, b.clone())),
        );
        let (valid, d) = validate_set(&f, &[]);
        assert!(d.is_empty() && valid.len() == n_forks, "{d}");
    });

    println!("| case | environments | parse only (peer) | validate | ratio | per environment |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (case, n, p, v) in [
        ("shipped", n_shipped, parse_shipped, validate_shipped),
        ("shipped + 1,000 forks", n_forks, parse_forks, validate_forks),
    ] {
        println!(
            "| {case} | {n} | {:.2} ms | {:.2} ms | {:.1}x | {:.1} µs |",
            p.as_secs_f64() * 1e3,
            v.as_secs_f64() * 1e3,
            v.as_secs_f64() / p.as_secs_f64(),
            v.as_secs_f64() * 1e6 / n as f64
        );
    }
}
