//! How long rendering takes: one environment, and 1,000 generated tenant
//! forks, both targets (validation included, as `pipegen render` does it).
//! Run with `cargo bench -p pipegen --bench render`; prints a table.
//!
//! Peer in the same run: validation alone (load, merge, check, build the
//! graph), so the ratio says what rendering adds. The user's comparison is
//! `cdk synth` at ~2.7 s for one comparable stack (measured by the user; CDK
//! is not installed here).

use std::path::{Path, PathBuf};

use pipegen::environment::{EnvironmentFile, EnvironmentFiles};
use pipegen::render::{ArtifactHashes, Renderer, Target};
use pipegen::validate::validate_set;

mod common;

use common::time;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
    let shipped = EnvironmentFiles::read_dir(&dir).expect("environments");
    let renderer = Renderer::new().expect("templates");
    let hashes = ArtifactHashes::default();

    let one = vec!["dev".to_string()];
    let validate_one = time(20, || {
        let (v, d) = validate_set(&shipped, &one);
        assert!(d.is_empty() && v.len() == 1);
    });
    let render_one = time(20, || {
        let (v, _) = validate_set(&shipped, &one);
        let files = renderer.render(&v[0], Target::All, &hashes).unwrap();
        assert_eq!(files.len(), 4);
    });

    let mut forks = shipped.clone();
    for i in 0..1000 {
        let name = format!("tenant-t{i:04}");
        let path = PathBuf::from(format!("{}/{name}.yaml", dir.display()));
        let text = format!("extends: dev\ntenant: t{i:04}\n");
        forks
            .files
            .insert(name, EnvironmentFile::from_bytes(&path, text.into_bytes()));
    }
    let n = forks.files.len();
    let validate_all = time(3, || {
        let (v, d) = validate_set(&forks, &[]);
        assert!(d.is_empty() && v.len() == n);
    });
    let mut bytes = 0usize;
    let render_all = time(3, || {
        let (v, _) = validate_set(&forks, &[]);
        bytes = 0;
        for e in &v {
            for f in renderer.render(e, Target::All, &hashes).unwrap() {
                bytes += f.text.len();
            }
        }
    });

    let (valid, _) = validate_set(&forks, &[]);
    let render_parallel = time(3, || {
        let n_files: usize = renderer
            .render_many(&valid, Target::All, &hashes)
            .into_iter()
            .map(|r| r.unwrap().len())
            .sum();
        assert_eq!(n_files, 4 * valid.len());
    });

    println!("| case | validate only (peer) | validate + render both targets | ratio | output |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| 1 environment (dev) | {:.2} ms | {:.2} ms | {:.1}x | 4 files |",
        validate_one.as_secs_f64() * 1e3,
        render_one.as_secs_f64() * 1e3,
        render_one.as_secs_f64() / validate_one.as_secs_f64()
    );
    println!(
        "| {n} environments (1,000 forks) | {:.0} ms | {:.0} ms | {:.1}x | {:.0} MB |",
        validate_all.as_secs_f64() * 1e3,
        render_all.as_secs_f64() * 1e3,
        render_all.as_secs_f64() / validate_all.as_secs_f64(),
        bytes as f64 / 1e6
    );
    println!(
        "| {n} environments, render only, all cores (`pipegen render --all`) | | {:.0} ms | | |",
        render_parallel.as_secs_f64() * 1e3
    );
}
