//! `strata ls` and `strata diff`: what is inside a backup and what changed
//! between two, as tables (like `ls -l` and `restic diff`) or JSON.

use super::exec::{Io, json, write_err};
use super::render::{Table, size, time};
use crate::core::{CoreError, Outcome};
use crate::model::{Change, ListedEntry};
use clap::Args;

/// Arguments of `ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Backup: id, unique prefix or suffix, latest, TASK:latest, TASK:-N or TASK@TIME.
    pub id: String,
    /// A directory or file inside the backup (relative to the source root); default the top.
    pub path: Option<String>,
    /// Every entry below PATH, with full paths, not only its children.
    #[arg(long, short = 'r')]
    pub recursive: bool,
}

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier backup (any backup name).
    pub from: String,
    /// The later backup (any backup name).
    pub to: String,
}

/// `drwxr-xr-x`-style type and permissions.
pub fn mode_text(e: &ListedEntry) -> String {
    let t = match e.kind.as_str() {
        "dir" => 'd',
        "symlink" => 'l',
        "hardlink" => 'h',
        _ => '-',
    };
    let mut s = String::with_capacity(10);
    s.push(t);
    for shift in [6u32, 3, 0] {
        let bits = (e.mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// An entry's name (or path) as listed: `dir/`, `link -> target`.
pub fn shown_name(e: &ListedEntry, full: bool) -> String {
    let name = if full { e.path.as_str() } else { e.name() };
    let name = crate::core::bounds::escape_controls(name);
    match (e.kind.as_str(), &e.target) {
        ("dir", _) => format!("{name}/"),
        ("symlink", Some(t)) => format!("{name} -> {}", crate::core::bounds::escape_controls(t)),
        ("hardlink", Some(t)) => format!("{name} => {}", crate::core::bounds::escape_controls(t)),
        _ => name,
    }
}

/// Prints `Outcome::Entries` or `Outcome::Changes`.
pub fn browse(outcome: &Outcome, j: bool, io: &mut Io<'_>) -> Result<(), CoreError> {
    match outcome {
        Outcome::Entries {
            backup,
            path,
            entries,
        } => {
            if j {
                return json(
                    io,
                    &serde_json::json!({"backup": backup.id, "path": path, "entries": entries}),
                );
            }
            // A recursive listing (or a file's own path) shows whole paths.
            let parent = |p: &str| p.rsplit_once('/').map_or("", |(d, _)| d).to_string();
            let full = entries
                .iter()
                .any(|e| parent(&e.path) != path.trim_matches('/'));
            let mut t = Table::new(&["MODE", ">SIZE", "MODIFIED", "NAME"]);
            for e in entries {
                t.row(vec![
                    mode_text(e),
                    if e.is_dir() { "-".into() } else { size(e.size) },
                    time(&e.mtime),
                    shown_name(e, full),
                ]);
            }
            write!(io.out, "{}", t.render()).map_err(write_err)?;
            let files = entries.iter().filter(|e| !e.is_dir()).count();
            let bytes: u64 = entries.iter().map(|e| e.size).sum();
            say!(
                io,
                "{} entries ({files} files, {}) in backup {} ({}){}",
                entries.len(),
                size(bytes),
                backup.id,
                backup.task,
                if path.is_empty() {
                    String::new()
                } else {
                    format!(" under {path}")
                }
            );
        }
        Outcome::Changes { from, to, changes } => {
            if j {
                return json(
                    io,
                    &serde_json::json!({"from": from.id, "to": to.id, "changes": changes}),
                );
            }
            let opt = |s: Option<u64>| s.map(size).unwrap_or_default();
            for c in changes {
                let sizes = match c.change {
                    Change::Added => format!(" ({})", opt(c.size_after)),
                    Change::Removed => format!(" ({})", opt(c.size_before)),
                    Change::Modified if c.size_before != c.size_after => {
                        format!(" ({} → {})", opt(c.size_before), opt(c.size_after))
                    }
                    _ => String::new(),
                };
                let dir = if c.kind == "dir" { "/" } else { "" };
                say!(
                    io,
                    "{} {}{dir}{sizes}",
                    c.change.mark(),
                    crate::core::bounds::escape_controls(&c.path)
                );
            }
            let count = |k: Change| changes.iter().filter(|c| c.change == k).count();
            let bytes = |k: Change, after: bool| -> u64 {
                changes
                    .iter()
                    .filter(|c| c.change == k)
                    .filter_map(|c| if after { c.size_after } else { c.size_before })
                    .sum()
            };
            say!(
                io,
                "{} → {}: {} added ({}), {} removed ({}), {} modified, {} metadata only",
                from.id,
                to.id,
                count(Change::Added),
                size(bytes(Change::Added, true)),
                count(Change::Removed),
                size(bytes(Change::Removed, false)),
                count(Change::Modified),
                count(Change::Metadata)
            );
        }
        _ => {}
    }
    Ok(())
}
