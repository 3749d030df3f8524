//! The same grammar from one line of text (an SSH exec request, the console's
//! `:` line): split like a POSIX shell would, then parse with the clap grammar.

use super::Cli;
use clap::Parser;

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
}
