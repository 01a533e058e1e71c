//! The `pipegen` binary: parses arguments and hands over to `cli::run`, which
//! writes to the given streams and returns the exit code (0 ok, 1 user error,
//! 2 internal error).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = pipegen::cli::Cli::parse();
    pipegen::cli::init_tracing(&cli);
    // Unlocked handles: commands run worker threads that log to standard
    // error, and a lock held here for the whole command would block them.
    let code = pipegen::cli::run(&cli, &mut std::io::stdout(), &mut std::io::stderr());
    let _ = std::io::stdout().flush();
    ExitCode::from(code)
}
