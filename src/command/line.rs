//! The one text entry point: a command line of the grammar from a socket
//! client, an SSH exec request or the console's `:` line is split like a POSIX
//! shell would, parsed with the same clap grammar, resolved into an action and
//! performed for its caller.

use super::Cli;
use super::exec::{Io, fail, run_command};
use crate::core::Core;
use crate::core::access::{Caller, Role};
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a command line could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Unbalanced quotes or a trailing backslash.
    #[error("cannot split the command line (unbalanced quotes?): {0}")]
    Split(String),
    /// The words do not form a valid command; the text is clap's message.
    #[error("{0}")]
    Usage(String),
}

/// Parses `line` (with or without a leading `strata`) into the same `Cli` the
/// program's argv would give.
pub fn parse_line(line: &str) -> Result<Cli, LineError> {
    let words = shlex::split(line).ok_or_else(|| LineError::Split(line.to_string()))?;
    let words = match words.first().map(String::as_str) {
        Some("strata") => words,
        _ => std::iter::once("strata".to_string()).chain(words).collect(),
    };
    Cli::try_parse_from(words).map_err(|e| LineError::Usage(e.render().to_string()))
}

/// The one-line form of a usage error clap rendered: its first sentence
/// (with the arguments a "not provided" list names) and its "did you mean",
/// when the grammar gives one.
pub fn usage_line(rendered: &str) -> String {
    let mut lines = rendered.lines();
    let first = lines
        .by_ref()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .trim_start_matches("error: ")
        .to_string();
    let mut out = first.clone();
    let rest: Vec<&str> = lines.collect();
    if first.ends_with(':') {
        let listed: Vec<&str> = rest
            .iter()
            .take_while(|l| !l.trim().is_empty())
            .map(|l| l.trim())
            .collect();
        out = format!("{} {}", first, listed.join(", "));
    }
    // clap's tips: "a similar subcommand exists: 'backup'".
    let similar = rest.iter().find_map(|l| {
        let (_, tail) = l.split_once("tip: a similar ")?;
        Some(tail.split_once("exists: ")?.1.trim().to_string())
    });
    if let Some(s) = similar {
        out.push_str(&format!(" (did you mean {s}?)"));
    }
    out
}

/// Checks a line against the grammar without running it: `Err` holds the
/// one-line usage error. Help and version requests are not errors.
pub fn check_line(line: &str) -> Result<(), String> {
    let words = shlex::split(line).ok_or_else(|| "unbalanced quotes in the command".to_string())?;
    let words = match words.first().map(String::as_str) {
        Some("strata") => words,
        _ => std::iter::once("strata".to_string()).chain(words).collect(),
    };
    match Cli::try_parse_from(words) {
        Ok(_) => Ok(()),
        Err(e) if !e.use_stderr() => Ok(()),
        Err(e) => Err(usage_line(&e.render().to_string())),
    }
}

/// Where a line comes from: it decides what `serve`, `demo` and `tui` answer
/// and where relative paths point.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A client of the daemon (control socket or SSH exec), whose relative
    /// paths resolve against `cwd`.
    Client {
        /// The client's working directory.
        cwd: PathBuf,
    },
    /// The console's `:` line.
    Console {
        /// Where relative paths resolve.
        cwd: PathBuf,
    },
}

/// Set to `dispatch`, every line run here panics: the tests' way to prove a
/// panic reaches the client as a failure.
const TEST_PANIC: &str = "STRATA_TEST_PANIC_IN";

/// Runs `words` (without the program name) as `caller` and returns the exit
/// code; output goes to `io`. A panic in the command is a bug: it is logged
/// and answered as a failure (exit 1 with a message), never as silent success.
pub fn run_words(
    core: &Arc<Core>,
    words: &[String],
    caller: &Caller,
    origin: &Origin,
    io: &mut Io<'_>,
) -> u8 {
    let run = std::panic::AssertUnwindSafe(|| run_inner(core, words, caller, origin, io));
    match std::panic::catch_unwind(run) {
        Ok(code) => code,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            tracing::error!(who = %caller.name, argv = ?words, "BUG: command panicked: {why}");
            let _ = writeln!(
                io.err,
                "strata: internal error while running this command ({}); it was logged as a bug, please report it",
                crate::core::bounds::escape_controls(&why)
            );
            1
        }
    }
}

/// [`run_words`] on one line of text, split like a POSIX shell.
pub fn run_line(
    core: &Arc<Core>,
    line: &str,
    caller: &Caller,
    origin: &Origin,
    io: &mut Io<'_>,
) -> u8 {
    match shlex::split(line) {
        Some(mut words) => {
            if words.first().is_some_and(|w| w == "strata") {
                words.remove(0);
            }
            run_words(core, &words, caller, origin, io)
        }
        None => {
            let _ = writeln!(io.err, "strata: unbalanced quotes in the command");
            2
        }
    }
}

fn run_inner(
    core: &Arc<Core>,
    words: &[String],
    caller: &Caller,
    origin: &Origin,
    io: &mut Io<'_>,
) -> u8 {
    if std::env::var(TEST_PANIC).as_deref() == Ok("dispatch") {
        // The one deliberate panic: the tests' proof that panics reach the client as failures.
        #[allow(clippy::panic)]
        std::panic::panic_any(format!("{TEST_PANIC}=dispatch"));
    }
    let full = std::iter::once("strata".to_string()).chain(words.iter().cloned());
    let mut cli = match Cli::try_parse_from(full) {
        Err(e) => {
            let _ = write!(io.err, "{}", e.render());
            return if e.use_stderr() { 2 } else { 0 };
        }
        Ok(cli) => cli,
    };
    use super::Command as C;
    let local = match &cli.command {
        C::Serve { .. } => Some("serve"),
        C::Demo => Some("demo"),
        C::Tui { .. } => Some("tui"),
        _ => None,
    };
    let cwd = match (origin, local) {
        (Origin::Console { .. }, Some(_)) => {
            let _ = writeln!(io.err, "strata: that command cannot run inside the console");
            return 2;
        }
        (Origin::Client { .. }, Some("tui")) => {
            let _ = writeln!(
                io.err,
                "strata: the console needs a terminal: over SSH connect without a command ('ssh -t -p PORT HOST'), locally run 'strata tui'"
            );
            return 2;
        }
        (Origin::Client { .. }, Some(what)) => {
            // A refusal is audited like every other one, with the caller's name.
            core.record_access(
                caller,
                what,
                "",
                "refused: a daemon already serves this home",
            );
            let _ = writeln!(
                io.err,
                "strata: a daemon already serves this home; run this command without it"
            );
            return 4;
        }
        (Origin::Client { cwd } | Origin::Console { cwd }, None) => cwd,
    };
    // --role may only lower the caller's own role.
    let mut caller = caller.clone();
    if let Some(r) = cli.role.as_deref().and_then(Role::parse) {
        caller.role = caller.role.min(r);
    }
    cli.absolutize(cwd);
    tracing::info!(who = %caller.name, origin = %caller.origin, argv = ?words, "command");
    match run_command(core, cli, &caller, io) {
        Ok(code) => code,
        Err(e) => fail(&e, io),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("strata").chain(words.iter().copied())).unwrap()
    }

    #[test]
    fn argv_and_line_forms_give_the_same_command() {
        let cases: &[(&str, &[&str])] = &[
            (
                "backup run app-files --full",
                &["backup", "run", "app-files", "--full"],
            ),
            (
                "strata backup list --task web --json",
                &["backup", "list", "--task", "web", "--json"],
            ),
            (
                "restore 2026 --to '/tmp/with space' --path \"a b/c\"",
                &[
                    "restore",
                    "2026",
                    "--to",
                    "/tmp/with space",
                    "--path",
                    "a b/c",
                ],
            ),
            (
                "task add t --dir /srv --dest a,b --exclude '*.tmp' --full '0 3 * * 0'",
                &[
                    "task",
                    "add",
                    "t",
                    "--dir",
                    "/srv",
                    "--dest",
                    "a,b",
                    "--exclude",
                    "*.tmp",
                    "--full",
                    "0 3 * * 0",
                ],
            ),
            (
                "--role viewer prune --dry-run",
                &["--role", "viewer", "prune", "--dry-run"],
            ),
            ("jobs cancel 3", &["jobs", "cancel", "3"]),
            (
                "verify --all --read-data",
                &["verify", "--all", "--read-data"],
            ),
        ];
        for (line, words) in cases {
            let a = format!("{:?}", argv(words));
            let b = format!("{:?}", parse_line(line).unwrap());
            assert_eq!(a, b, "{line}");
        }
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        assert!(matches!(
            parse_line("backup run 'unterminated"),
            Err(LineError::Split(_))
        ));
        assert!(matches!(
            parse_line("backup frobnicate"),
            Err(LineError::Usage(_))
        ));
        assert!(matches!(parse_line(""), Err(LineError::Usage(_))));
    }

    #[test]
    fn a_typo_is_one_line_with_its_did_you_mean() {
        let e = check_line("backpu list").unwrap_err();
        assert!(!e.contains('\n'), "{e}");
        assert!(
            e.contains("'backpu'") && e.contains("did you mean 'backup'?"),
            "{e}"
        );
        let e = check_line("backup run web --fulll").unwrap_err();
        assert!(e.contains("'--fulll'") && e.contains("'--full'"), "{e}");
        let e = check_line("backup run").unwrap_err();
        assert!(e.contains("not provided") && e.contains("<TASK>"), "{e}");
        assert_eq!(check_line("backup list"), Ok(()));
        assert_eq!(check_line("backup --help"), Ok(()));
    }
}
