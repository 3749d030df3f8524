//! The `strata` binary: parse the command line, run it, exit with its code.

use clap::Parser;
use std::process::ExitCode;
use strata::command::Cli;
use strata::command::exec::{Io, execute};

fn main() -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("STRATA_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version are successes; anything else is a usage error (exit 2).
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return Ok(ExitCode::from(code));
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // Never hold the stderr lock for the whole command: the progress bar and
    // engine threads write to stderr too, and would block forever on it.
    let mut err = std::io::stderr();
    let code = execute(
        cli,
        &mut Io {
            out: &mut out,
            err: &mut err,
        },
    );
    Ok(ExitCode::from(code))
}
