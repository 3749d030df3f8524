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
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let code = execute(
        cli,
        &mut Io {
            out: &mut out,
            err: &mut err,
        },
    );
    Ok(ExitCode::from(code))
}
