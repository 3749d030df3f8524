//! What is inside a backup (`ls`) and what changed between two (`diff`),
//! read from their manifests on the first readable copy. The manifest
//! functions are pure, so the console's file browser and the CLI agree.

use super::error::CoreError;
use super::service::Core;
use crate::engine::manifest::{Entry, EntryKind, Manifest};
use crate::model::{BackupRecord, Change, EntryChange, ListedEntry};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

fn text(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

fn kind_name(k: &EntryKind) -> &'static str {
    match k {
        EntryKind::Dir => "dir",
        EntryKind::File { .. } => "file",
        EntryKind::Symlink { .. } => "symlink",
        EntryKind::HardLink { .. } => "hardlink",
    }
}

/// One manifest entry as listed; a hard link gets the size of the file it names.
fn listed(m: &Manifest, e: &Entry) -> ListedEntry {
    let (size, target) = match &e.kind {
        EntryKind::File { .. } => (e.size, None),
        EntryKind::Symlink { target } => (0, Some(text(target))),
        EntryKind::HardLink { target } => (
            m.entries
                .iter()
                .find(|f| &f.path == target)
                .map_or(0, |f| f.size),
            Some(text(target)),
        ),
        EntryKind::Dir => (0, None),
    };
    ListedEntry {
        path: text(&e.path),
        kind: kind_name(&e.kind).into(),
        size,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        mtime: DateTime::<Utc>::from_timestamp_nanos(e.mtime_ns),
        target,
    }
}

fn parent(p: &[u8]) -> &[u8] {
    p.iter()
        .rposition(|&b| b == b'/')
        .map_or(&[][..], |i| &p[..i])
}

/// Directories first, then by name (byte order).
fn dirs_first(v: &mut [ListedEntry]) {
    v.sort_by(|a, b| {
        b.is_dir()
            .cmp(&a.is_dir())
            .then_with(|| a.path.cmp(&b.path))
    });
}

/// The entries directly under `path` (the root when empty), or every entry
/// below it when `recursive`; a file's path lists that file. `None` when the
/// backup has no such path.
pub fn list(m: &Manifest, path: &str, recursive: bool) -> Option<Vec<ListedEntry>> {
    let path = path.trim_matches('/').as_bytes();
    if !path.is_empty() {
        let e = m.entries.iter().find(|e| e.path == path)?;
        if e.kind != EntryKind::Dir {
            return Some(vec![listed(m, e)]);
        }
    }
    let below = |p: &[u8]| {
        if path.is_empty() {
            true
        } else {
            p.len() > path.len() && p.starts_with(path) && p[path.len()] == b'/'
        }
    };
    let mut out: Vec<ListedEntry> = m
        .entries
        .iter()
        .filter(|e| !e.path.is_empty() && below(&e.path))
        .filter(|e| recursive || parent(&e.path) == path)
        .map(|e| listed(m, e))
        .collect();
    if !recursive {
        dirs_first(&mut out);
    }
    Some(out)
}

/// A file's content identity: its chunks' ids in order.
fn content<'m>(m: &'m Manifest, e: &'m Entry) -> Vec<&'m [u8; 32]> {
    match &e.kind {
        EntryKind::File { chunks } => chunks
            .iter()
            .filter_map(|&i| m.chunks.get(i as usize).map(|c| &c.id))
            .collect(),
        _ => Vec::new(),
    }
}

/// Every entry that differs from `a` to `b`, in path order. A directory
/// counts only when added or removed (its times follow its contents).
pub fn diff(a: &Manifest, b: &Manifest) -> Vec<EntryChange> {
    let before: BTreeMap<&[u8], &Entry> = a.entries.iter().map(|e| (&e.path[..], e)).collect();
    let after: BTreeMap<&[u8], &Entry> = b.entries.iter().map(|e| (&e.path[..], e)).collect();
    let size = |m: &Manifest, e: &Entry| (e.kind != EntryKind::Dir).then(|| listed(m, e).size);
    let mut out = Vec::new();
    for (p, old) in &before {
        if p.is_empty() {
            continue;
        }
        match after.get(p) {
            None => out.push(EntryChange {
                change: Change::Removed,
                path: text(p),
                kind: kind_name(&old.kind).into(),
                size_before: size(a, old),
                size_after: None,
            }),
            Some(new) => {
                let same_kind =
                    std::mem::discriminant(&old.kind) == std::mem::discriminant(&new.kind);
                let change = if !same_kind
                    || old.size != new.size
                    || content(a, old) != content(b, new)
                    || matches!((&old.kind, &new.kind), (EntryKind::Symlink { target: x }, EntryKind::Symlink { target: y }) | (EntryKind::HardLink { target: x }, EntryKind::HardLink { target: y }) if x != y)
                {
                    Some(Change::Modified)
                } else if new.kind != EntryKind::Dir
                    && (old.mode != new.mode
                        || old.uid != new.uid
                        || old.gid != new.gid
                        || old.mtime_ns != new.mtime_ns)
                {
                    Some(Change::Metadata)
                } else {
                    None
                };
                if let Some(change) = change {
                    out.push(EntryChange {
                        change,
                        path: text(p),
                        kind: kind_name(&new.kind).into(),
                        size_before: size(a, old),
                        size_after: size(b, new),
                    });
                }
            }
        }
    }
    for (p, new) in &after {
        if !p.is_empty() && !before.contains_key(p) {
            out.push(EntryChange {
                change: Change::Added,
                path: text(p),
                kind: kind_name(&new.kind).into(),
                size_before: None,
                size_after: size(b, new),
            });
        }
    }
    out.sort_by(|x, y| x.path.cmp(&y.path));
    out
}

impl Core {
    /// The entries of backup `id` under `path` (see [`list`]).
    pub fn list_entries(
        &self,
        id: &str,
        path: Option<&str>,
        recursive: bool,
    ) -> Result<(BackupRecord, Vec<ListedEntry>), CoreError> {
        let rec = self.resolve_backup(id)?;
        let (_, manifest) = self.readable_copy(&rec)?;
        let path = path.unwrap_or("");
        let entries = list(&manifest, path, recursive).ok_or_else(|| CoreError::NotFound {
            what: "path",
            name: path.to_string(),
            hint: format!(
                "backup {} has no such entry; paths are relative to the task's source root ('strata ls {}' lists the top)",
                rec.id, rec.id
            ),
        })?;
        Ok((rec, entries))
    }

    /// What changed from backup `from` to backup `to` (see [`diff`]).
    pub fn diff_backups(
        &self,
        from: &str,
        to: &str,
    ) -> Result<(BackupRecord, BackupRecord, Vec<EntryChange>), CoreError> {
        let (a, b) = (self.resolve_backup(from)?, self.resolve_backup(to)?);
        let (_, ma) = self.readable_copy(&a)?;
        let (_, mb) = self.readable_copy(&b)?;
        let changes = diff(&ma, &mb);
        Ok((a, b, changes))
    }
}
