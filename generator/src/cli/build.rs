//! `pipegen build`: the workloads built and packaged as deployable artifacts.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::{Cli, INTERNAL_ERROR, OK, USER_ERROR, load, report};
use crate::package;
use crate::validate;

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// The environment whose architecture to build for (default: this machine's).
    pub env: Option<String>,
    /// Cargo profile (`release` for deployment; `dev` for a quick look).
    #[arg(long, default_value = "release")]
    pub profile: String,
    /// Package these binaries instead of building (a folder with ingest, detector, simulator, etl).
    #[arg(long)]
    pub workloads_dir: Option<PathBuf>,
    /// Where the artifacts go (default: target/pipegen-artifacts/<architecture>).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn cmd_build(
    cli: &Cli,
    args: &BuildArgs,
    root: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let host = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x86_64"
    };
    let architecture = match &args.env {
        None => host.to_string(),
        Some(name) => {
            let Some(files) = load(cli, err)? else {
                return Ok(USER_ERROR);
            };
            match validate::validate_one(&files, name) {
                Ok(env) => env.config.lambda.architecture.as_str().to_string(),
                Err(d) => {
                    report(cli, &d, err)?;
                    return Ok(USER_ERROR);
                }
            }
        }
    };
    let binaries = match &args.workloads_dir {
        Some(d) => d.clone(),
        None => match package::cargo_build(root, &architecture, &args.profile) {
            Ok(d) => d,
            Err(e) => {
                writeln!(err, "error: {e}")?;
                return Ok(INTERNAL_ERROR);
            }
        },
    };
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("target/pipegen-artifacts").join(&architecture));
    let before: Vec<package::Artifact> = std::fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    match package::package(&binaries, &dir) {
        Ok(artifacts) => {
            for a in &artifacts {
                let same = before
                    .iter()
                    .any(|b| b.kind == a.kind && b.workload == a.workload && b.sha256 == a.sha256);
                writeln!(
                    out,
                    "{:10} {:17} {:>10} bytes  sha256 {}  {}",
                    a.workload,
                    serde_json::to_value(a.kind)?.as_str().unwrap_or_default(),
                    a.bytes,
                    &a.sha256[..16],
                    if same { "unchanged" } else { "new" }
                )?;
            }
            writeln!(
                out,
                "{} ({architecture}): {} artifacts, manifest.json lists them",
                dir.display(),
                artifacts.len()
            )?;
            Ok(OK)
        }
        Err(e @ package::PackageError::Missing { .. }) => {
            writeln!(err, "error: {e}")?;
            Ok(USER_ERROR)
        }
        Err(e) => {
            writeln!(err, "error: {e}")?;
            Ok(INTERNAL_ERROR)
        }
    }
}
