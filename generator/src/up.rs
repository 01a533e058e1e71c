//! `pipegen up` / `pipegen down`.
use std::io::Write;
use std::path::Path;

use crate::cli::local::UpArgs;
use crate::validate::Environment;

pub fn up(
    _env: &Environment,
    _args: &UpArgs,
    _root: &Path,
    _out: &mut dyn Write,
    _err: &mut dyn Write,
) -> anyhow::Result<u8> {
    anyhow::bail!("not yet")
}

pub fn down(
    _env: &Environment,
    _endpoint: Option<&str>,
    _root: &Path,
    _out: &mut dyn Write,
    _err: &mut dyn Write,
) -> anyhow::Result<u8> {
    anyhow::bail!("not yet")
}
