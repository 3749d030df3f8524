//! The `:` line's history, kept per user across sessions in a private file
//! under the home (`<home>/console/history-<user>`, 0600, the newest
//! `KEPT` lines). The front end loads it when a console opens and appends
//! each line it sends; `App` only holds the lines in memory. Lines that
//! carry a secret are never kept, in memory or on disk.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Lines a history file keeps.
pub const KEPT: usize = 500;

/// Words that mark a line as carrying a secret (compared case-insensitively).
const SECRET: [&str; 4] = ["passphrase", "password", "secret", "token"];

/// Why the history could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The directory or file could not be created or written.
    #[error("cannot write the command history {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Whether a line may be kept: never one that names a passphrase, a
/// password, a secret or a token.
pub fn keeps(line: &str) -> bool {
    let lower = line.to_lowercase();
    !line.trim().is_empty() && !SECRET.iter().any(|w| lower.contains(w))
}

/// The history file of `user` in the home at `root`. The name keeps only
/// characters safe in a file name, so a key name cannot reach another path.
pub fn path(root: &Path, user: &str) -> PathBuf {
    let safe: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.is_empty() || safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    };
    root.join("console").join(format!("history-{safe}"))
}

/// The kept lines, oldest first (none when the file does not exist yet).
pub fn load(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let lines: Vec<String> = text
        .lines()
        .filter(|l| keeps(l))
        .map(str::to_string)
        .collect();
    let skip = lines.len().saturating_sub(KEPT);
    lines.into_iter().skip(skip).collect()
}

/// Appends `line` (unless it carries a secret or repeats the newest line)
/// and keeps the newest `KEPT` lines. The file is replaced whole, so a
/// reader never sees half a line.
pub fn append(file: &Path, line: &str) -> Result<(), HistoryError> {
    let line = line.trim();
    if !keeps(line) || line.contains('\n') {
        return Ok(());
    }
    let mut lines = load(file);
    if lines.last().is_some_and(|l| l == line) {
        return Ok(());
    }
    lines.push(line.to_string());
    let skip = lines.len().saturating_sub(KEPT);
    let err = |source| HistoryError::Write {
        path: file.to_path_buf(),
        source,
    };
    if let Some(dir) = file.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
    }
    let mut text = lines[skip..].join("\n");
    text.push('\n');
    crate::core::private::replace(file, text.as_bytes()).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn lines_are_kept_per_user_bounded_private_and_never_secret() {
        let dir = tempfile::tempdir().unwrap();
        let alice = path(dir.path(), "alice");
        let bob = path(dir.path(), "../bob");
        assert!(bob.starts_with(dir.path().join("console")), "{bob:?}");
        append(&alice, "task list").unwrap();
        append(&alice, "task list").unwrap();
        append(&alice, "dest add s3 --s3 s3://b/p --passphrase-file /x").unwrap();
        append(&alice, "keys add --password hunter2").unwrap();
        append(&bob, "backup list").unwrap();
        assert_eq!(load(&alice), ["task list"]);
        assert_eq!(load(&bob), ["backup list"]);
        let mode = std::fs::metadata(&alice).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        for i in 0..KEPT + 10 {
            append(&alice, &format!("backup show {i}")).unwrap();
        }
        let kept = load(&alice);
        assert_eq!(kept.len(), KEPT);
        assert_eq!(kept.last().map(String::as_str), Some("backup show 509"));
    }
}
