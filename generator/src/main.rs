//! The `pipegen` binary: parses arguments and hands over to `cli::run`, which
//! writes to the given streams and returns the exit code (0 ok, 1 user error,
//! 2 internal error).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = pipegen::cli::Cli::parse();
    pipegen::cli::init_tracing(&cli);
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let code = pipegen::cli::run(&cli, &mut stdout.lock(), &mut stderr.lock());
    let _ = std::io::stdout().flush();
    ExitCode::from(code)
}
