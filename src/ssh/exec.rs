//! An exec request: one command of the command grammar, run as the key's
//! caller, with its output streamed back and its exit code as the status.

use super::output::{Out, StreamOut};
use crate::command::Cli;
use crate::command::exec::Io;
use crate::command::line::{Origin, run_words};
use crate::core::Core;
use crate::core::access::{Caller, Role};
use clap::Parser;
use std::io::Write;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Whether an exec line asks for the console (`ssh -t HOST strata tui`).
pub fn is_console(line: &str) -> bool {
    let words = shlex::split(line).unwrap_or_default();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(words.as_slice(), ["strata", "tui"] | ["tui"])
}

/// Runs `line` (e.g. `strata backup list --json`) and reports its exit code.
/// With a pty (`ssh -t`) the client's terminal is raw, so lines end in CRLF.
pub fn run(core: Arc<Core>, caller: Caller, line: String, pty: bool, out: mpsc::Sender<Out>) {
    let mut stdout =
        std::io::BufWriter::with_capacity(32 * 1024, StreamOut::new(out.clone(), false).crlf(pty));
    let mut stderr = StreamOut::new(out.clone(), true).crlf(pty);
    let code = run_line(&core, caller, &line, &mut stdout, &mut stderr);
    let _ = stdout.flush();
    drop(stdout);
    let _ = out.blocking_send(Out::Exit(u32::from(code)));
}

fn run_line(
    core: &Arc<Core>,
    mut caller: Caller,
    line: &str,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let Some(mut words) = shlex::split(line) else {
        let _ = writeln!(stderr, "strata: unbalanced quotes in the command");
        return 2;
    };
    // `ssh host strata backup list` and `ssh host backup list` both work.
    if words.first().is_some_and(|w| w == "strata") {
        words.remove(0);
    }
    if words.is_empty() {
        let _ = writeln!(
            stderr,
            "strata: give a command, e.g. 'ssh HOST strata backup list', or use 'ssh -t HOST' for the console"
        );
        return 2;
    }
    // Check the global flags here: the home is the server's, and --role may
    // only lower the key's role.
    if let Ok(cli) = Cli::try_parse_from(std::iter::once("strata".to_string()).chain(words.clone()))
    {
        if cli.home.is_some() {
            let _ = writeln!(
                stderr,
                "strata: --home cannot be used over SSH; the server serves its own home"
            );
            return 2;
        }
        if let Some(r) = cli.role.as_deref().and_then(Role::parse) {
            caller.role = caller.role.min(r);
        }
    }
    let mut io = Io {
        out: stdout,
        err: stderr,
        local: false,
        binary: true,
    };
    // Relative paths over SSH are the server's: they resolve against the home.
    let origin = Origin::Client {
        cwd: core.home().root().to_path_buf(),
    };
    run_words(core, &words, &caller, &origin, &mut io)
}
