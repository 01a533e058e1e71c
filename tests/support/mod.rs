//! What the generator's integration tests share: the repository root, the
//! CLI run in-process, an async runtime for SDK calls.

use std::path::{Path, PathBuf};

use clap::Parser;
use pipegen::cli::{Cli, run};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

/// Runs a pipegen command in-process on the environments in `envs`:
/// (exit code, stdout, stderr).
pub fn pipegen_in(envs: &Path, args: &[&str]) -> (u8, String, String) {
    let mut argv = vec!["pipegen", "--environments", envs.to_str().unwrap(), "--color", "never"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(&cli, &mut out, &mut err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// A runtime for the tests' own SDK calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
