//! The `snapshot` source: a database's own on-disk snapshot (Cassandra/Scylla
//! `nodetool snapshot`, LVM, ZFS, btrfs). `begin` runs the task's `create`
//! command with the backup's tag, expands `path` and backs up every match as
//! a directory tree under the part of the match that varies (`ks/t1-uuid/…`).
//! The core clears snapshots ([`clear`]) once the backup is safely stored,
//! and lists what is left on disk ([`local_snapshots`]).
//!
//! Change detection: a snapshot's files are hard links of the live files,
//! and an inode's ctime changes whenever a link to it is made or removed,
//! so this source records no ctime: an unchanged file (same path, size,
//! mtime and inode) is reused from the parent without being read.

use super::command::{parse_timeout, run_to_end};
use super::dir::{DirFile, mark_links, scan_dir};
pub use super::snapshot_glob::{
    Match, PLACEHOLDER, TAG_PREFIX, backup_id_of, check_template, expand, is_tag, parse_tag,
    substitute, tag_for,
};
use super::{
    EntryReader, Excludes, Listing, Source, SourceEntry, SourceError, SourceKind, SourceReport,
    SourceRun,
};
use crate::model::EntryError;
use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The commands and paths of one snapshot source.
#[derive(Debug, Clone, Default)]
pub struct SnapshotSpec {
    /// Creates the snapshot `{tag}`.
    pub create: String,
    /// Absolute glob of its directories, with `{tag}`.
    pub path: String,
    /// Removes the snapshot `{tag}`.
    pub clear: String,
    /// Limit of each command (`10m`).
    pub timeout: Option<String>,
    /// Private env file of the commands.
    pub env_file: Option<PathBuf>,
}

impl SnapshotSpec {
    fn timeout(&self, what: &str) -> Result<Option<std::time::Duration>, SourceError> {
        self.timeout
            .as_deref()
            .map(parse_timeout)
            .transpose()
            .map_err(|detail| SourceError::Failed {
                what: what.to_string(),
                detail,
            })
    }
}

/// Runs the `clear` command for `tag`; the error carries its stderr tail.
pub fn clear(spec: &SnapshotSpec, tag: &str) -> Result<(), SourceError> {
    let what = format!("snapshot clear command {:?} for {tag}", spec.clear);
    let timeout = spec.timeout(&what)?;
    run_to_end(
        &what,
        &spec.clear,
        PLACEHOLDER,
        tag,
        spec.env_file.as_deref(),
        timeout,
    )
}

/// One backup's snapshot: created by `begin` with its tag.
pub struct SnapshotSource {
    spec: SnapshotSpec,
    tag: String,
    began: Arc<AtomicBool>,
}

impl SnapshotSource {
    /// The snapshot tagged `tag` of `spec`.
    pub fn new(spec: SnapshotSpec, tag: &str) -> SnapshotSource {
        SnapshotSource {
            spec,
            tag: tag.to_string(),
            began: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether `create` was started (then `clear` must run, whatever happened).
    pub fn began(&self) -> bool {
        self.began.load(Ordering::SeqCst)
    }

    /// The tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }
}

impl Source for SnapshotSource {
    fn describe(&self) -> String {
        format!("snapshot {}", substitute(&self.spec.path, &self.tag))
    }

    fn begin(&self) -> Result<Box<dyn SourceRun>, SourceError> {
        let what = format!("snapshot create command {:?}", self.spec.create);
        let timeout = self.spec.timeout(&what)?;
        self.began.store(true, Ordering::SeqCst);
        run_to_end(
            &what,
            &self.spec.create,
            PLACEHOLDER,
            &self.tag,
            self.spec.env_file.as_deref(),
            timeout,
        )?;
        let shown = substitute(&self.spec.path, &self.tag);
        let fail = |detail: String| SourceError::Failed {
            what: format!("snapshot {}", self.tag),
            detail,
        };
        let matches = expand(&self.spec.path, Some(&self.tag)).map_err(fail)?;
        if matches.is_empty() {
            return Err(fail(format!(
                "create ran but produced nothing at {shown}; check that the create command writes its snapshot where path points"
            )));
        }
        let mut seen = BTreeSet::new();
        for m in &matches {
            if !seen.insert(m.varying.clone()) {
                return Err(fail(format!(
                    "two matches of {shown} would be stored under the same name {:?}; put a * where they differ",
                    m.varying
                )));
            }
        }
        Ok(Box::new(SnapshotRun { roots: matches }))
    }
}

/// One backup's pass over the matched directories.
struct SnapshotRun {
    roots: Vec<Match>,
}

fn prefixed(prefix: &str, rel: &[u8]) -> Vec<u8> {
    match (prefix.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_vec(),
        (false, true) => prefix.as_bytes().to_vec(),
        (false, false) => [prefix.as_bytes(), b"/", rel].concat(),
    }
}

impl SnapshotRun {
    fn root_of<'a>(&self, path: &'a [u8]) -> Option<(&Match, &'a [u8])> {
        self.roots.iter().find_map(|m| {
            if m.varying.is_empty() {
                return Some((m, path));
            }
            let p = m.varying.as_bytes();
            path.strip_prefix(p)
                .and_then(|rest| rest.strip_prefix(b"/"))
                .map(|rest| (m, rest))
        })
    }
}

impl SourceRun for SnapshotRun {
    fn entries(&mut self) -> Result<Listing, SourceError> {
        let none = Excludes::new(&[]).map_err(|e| SourceError::Failed {
            what: "snapshot".into(),
            detail: e.to_string(),
        })?;
        let mut entries: Vec<SourceEntry> = Vec::new();
        let mut errors: Vec<EntryError> = Vec::new();
        let mut dirs: BTreeSet<String> = BTreeSet::new();
        for m in &self.roots {
            let md = std::fs::metadata(&m.path).map_err(|source| SourceError::Unreadable {
                what: m.path.display().to_string(),
                source,
            })?;
            // The varying part's directories (`ks`, `ks/t1`), once each.
            let mut acc = String::new();
            for part in m.varying.split('/').filter(|p| !p.is_empty()) {
                if !acc.is_empty() {
                    acc.push('/');
                }
                acc.push_str(part);
                if dirs.insert(acc.clone()) {
                    entries.push(dir_entry(acc.as_bytes().to_vec(), &md));
                }
            }
            let (found, errs) = scan_dir(&m.path, b"", &none);
            if let Some(e) = errs.iter().find(|e| e.path.is_empty()) {
                return Err(SourceError::Unreadable {
                    what: m.path.display().to_string(),
                    source: std::io::Error::other(e.error.clone()),
                });
            }
            entries.extend(found.into_iter().map(|mut e| {
                e.path = prefixed(&m.varying, &e.path);
                e.ctime_ns = 0;
                e
            }));
            errors.extend(errs.into_iter().map(|mut e| {
                e.path =
                    String::from_utf8_lossy(&prefixed(&m.varying, e.path.as_bytes())).into_owned();
                e
            }));
        }
        entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        errors.sort_by(|a, b| a.path.cmp(&b.path));
        mark_links(&mut entries);
        Ok(Listing { entries, errors })
    }

    fn open(&self, entry: &SourceEntry) -> Result<Box<dyn EntryReader>, SourceError> {
        let (m, rest) = self
            .root_of(&entry.path)
            .ok_or_else(|| SourceError::Read(std::io::Error::other("not in the snapshot")))?;
        let file =
            std::fs::File::open(m.path.join(OsStr::from_bytes(rest))).map_err(SourceError::read)?;
        Ok(Box::new(DirFile(file)))
    }

    fn finish(self: Box<Self>) -> Result<SourceReport, SourceError> {
        Ok(SourceReport::default())
    }
}

fn dir_entry(path: Vec<u8>, md: &std::fs::Metadata) -> SourceEntry {
    SourceEntry {
        path,
        kind: SourceKind::Dir,
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        mtime_ns: md.mtime().saturating_mul(1_000_000_000) + md.mtime_nsec(),
        ctime_ns: 0,
        inode: 0,
        dev: 0,
        size: Some(0),
        nlink: 1,
    }
}

/// A snapshot found on the local disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSnapshot {
    /// Its tag.
    pub tag: String,
    /// The directories of the tag.
    pub paths: Vec<PathBuf>,
    /// Regular files (each inode once).
    pub files: u64,
    /// Bytes of its regular files, each inode once.
    pub apparent_bytes: u64,
    /// Bytes of the files no name outside the snapshot links to: what
    /// clearing it frees.
    pub exclusive_bytes: u64,
    /// The newest modification time of its directories (ns since the epoch).
    pub mtime_ns: i64,
}

/// Sizes of the regular files below `roots`: (files, apparent, exclusive).
/// An inode is exclusive when every one of its links (`st_nlink`) was found
/// inside the roots; one hard-linked into the live data is shared until the
/// live name goes (a compaction rewrites it), then it becomes exclusive.
pub fn sizes(roots: &[PathBuf]) -> (u64, u64, u64) {
    // (dev, ino) → (nlink, size, names found inside)
    let mut inodes: HashMap<(u64, u64), (u64, u64, u64)> = HashMap::new();
    let mut stack: Vec<PathBuf> = roots.to_vec();
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for de in rd.filter_map(|d| d.ok()) {
            let Ok(md) = de.metadata() else { continue };
            if md.is_dir() {
                stack.push(de.path());
            } else if md.is_file() {
                let e = inodes
                    .entry((md.dev(), md.ino()))
                    .or_insert((md.nlink(), md.len(), 0));
                e.2 += 1;
            }
        }
    }
    let mut out = (0, 0, 0);
    for (nlink, size, inside) in inodes.values() {
        out.0 += 1;
        out.1 += size;
        if inside >= nlink {
            out.2 += size;
        }
    }
    out
}

/// The snapshots of `task` (tags `strata-<task>_…`) that `template` finds, by tag.
pub fn local_snapshots(template: &str, task: &str) -> Result<Vec<LocalSnapshot>, String> {
    let mut by_tag: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
    for m in expand(template, None)? {
        if parse_tag(&m.tag).is_some_and(|(t, _)| t == task) {
            by_tag.entry(m.tag).or_default().push(m.path);
        }
    }
    Ok(by_tag
        .into_iter()
        .map(|(tag, paths)| {
            let (files, apparent_bytes, exclusive_bytes) = sizes(&paths);
            let mtime_ns = paths
                .iter()
                .filter_map(|p| std::fs::metadata(p).ok())
                .map(|m| m.mtime().saturating_mul(1_000_000_000) + m.mtime_nsec())
                .max()
                .unwrap_or(0);
            LocalSnapshot {
                tag,
                paths,
                files,
                apparent_bytes,
                exclusive_bytes,
                mtime_ns,
            }
        })
        .collect())
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
