//! Parallel walk of a source tree: metadata only, no file data.

use crate::model::EntryError;
use globset::{GlobSet, GlobSetBuilder};
use rayon::prelude::*;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What a scanned entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanKind {
    /// Directory.
    Dir,
    /// Regular file (first name if hard-linked).
    File,
    /// Symbolic link and its raw target.
    Symlink(Vec<u8>),
    /// Another name of the file at this relative path.
    HardLink(Vec<u8>),
}

/// One entry found by the scan.
#[derive(Debug, Clone)]
pub struct ScanEntry {
    /// Relative path, `/`-separated.
    pub path: Vec<u8>,
    /// Type.
    pub kind: ScanKind,
    /// `st_mode & 0o7777`.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// mtime in ns.
    pub mtime_ns: i64,
    /// ctime in ns.
    pub ctime_ns: i64,
    /// Inode.
    pub inode: u64,
    /// Device (hard-link identity only).
    pub dev: u64,
    /// Size of regular files.
    pub size: u64,
    /// Link count.
    pub nlink: u64,
}

/// Exclude patterns compiled once: a pattern without `/` matches a name at any
/// depth (`*.tmp`), one with `/` matches the path from the root (`var/cache/*`),
/// a trailing `/` limits it to directories (`cache/`).
pub struct Excludes {
    by_name: GlobSet,
    by_path: GlobSet,
    dirs_by_name: GlobSet,
    dirs_by_path: GlobSet,
}

/// An exclude pattern that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("exclude pattern {pattern:?} is not a valid glob: {reason}")]
pub struct BadPattern {
    /// The pattern.
    pub pattern: String,
    /// Parser message.
    pub reason: String,
}

impl Excludes {
    /// Compiles the task's patterns.
    pub fn new(patterns: &[String]) -> Result<Excludes, BadPattern> {
        let mut sets = [
            GlobSetBuilder::new(),
            GlobSetBuilder::new(),
            GlobSetBuilder::new(),
            GlobSetBuilder::new(),
        ];
        for p in patterns {
            let dir_only = p.ends_with('/');
            let body = p.trim_end_matches('/').trim_start_matches('/');
            let anchored = body.contains('/') || p.starts_with('/');
            // In a pattern anchored at the root, `*` stays within one path
            // component (`data/*.csv` does not reach `data/sub/x.csv`; `**` does).
            let glob = globset::GlobBuilder::new(body)
                .literal_separator(anchored)
                .build()
                .map_err(|e| BadPattern {
                    pattern: p.clone(),
                    reason: e.kind().to_string(),
                })?;
            let idx = match (dir_only, anchored) {
                (false, false) => 0,
                (false, true) => 1,
                (true, false) => 2,
                (true, true) => 3,
            };
            sets[idx].add(glob);
        }
        let build = |b: &GlobSetBuilder| {
            b.build().map_err(|e| BadPattern {
                pattern: patterns.join(" "),
                reason: e.to_string(),
            })
        };
        Ok(Excludes {
            by_name: build(&sets[0])?,
            by_path: build(&sets[1])?,
            dirs_by_name: build(&sets[2])?,
            dirs_by_path: build(&sets[3])?,
        })
    }

    fn excluded(&self, rel: &[u8], name: &[u8], is_dir: bool) -> bool {
        let rel = Path::new(OsStr::from_bytes(rel));
        let name = Path::new(OsStr::from_bytes(name));
        self.by_name.is_match(name)
            || self.by_path.is_match(rel)
            || (is_dir && (self.dirs_by_name.is_match(name) || self.dirs_by_path.is_match(rel)))
    }
}

/// Result of a scan: entries sorted by path, plus what could not be read.
pub struct ScanOutput {
    /// Entries, parents before children.
    pub entries: Vec<ScanEntry>,
    /// Unreadable directories or entries.
    pub errors: Vec<EntryError>,
}

fn join(rel: &[u8], name: &[u8]) -> Vec<u8> {
    if rel.is_empty() {
        return name.to_vec();
    }
    let mut p = Vec::with_capacity(rel.len() + 1 + name.len());
    p.extend_from_slice(rel);
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

fn entry_from(rel: Vec<u8>, md: &fs::Metadata, kind: ScanKind) -> ScanEntry {
    ScanEntry {
        path: rel,
        size: if kind == ScanKind::File { md.size() } else { 0 },
        kind,
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        mtime_ns: md.mtime().saturating_mul(1_000_000_000) + md.mtime_nsec(),
        ctime_ns: md.ctime().saturating_mul(1_000_000_000) + md.ctime_nsec(),
        inode: md.ino(),
        dev: md.dev(),
        nlink: md.nlink(),
    }
}

/// Lossy text of a relative path, for messages.
pub fn display_path(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

fn scan_dir(root: &Path, rel: &[u8], ex: &Excludes) -> (Vec<ScanEntry>, Vec<EntryError>) {
    let dir: PathBuf = root.join(OsStr::from_bytes(rel));
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let rd = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) => {
            errors.push(EntryError {
                path: display_path(rel),
                error: format!("cannot list directory: {e}"),
            });
            return (entries, errors);
        }
    };
    let mut subdirs = Vec::new();
    for de in rd {
        let de = match de {
            Ok(de) => de,
            Err(e) => {
                errors.push(EntryError {
                    path: display_path(rel),
                    error: format!("cannot list directory: {e}"),
                });
                continue;
            }
        };
        let name = de.file_name();
        let child = join(rel, name.as_bytes());
        // Relative to the open directory (fstatat): no path walk from the root per entry.
        let md = match de.metadata() {
            Ok(md) => md,
            // Vanished between readdir and lstat: it is simply not part of this backup.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                errors.push(EntryError {
                    path: display_path(&child),
                    error: format!("cannot stat: {e}"),
                });
                continue;
            }
        };
        let ft = md.file_type();
        if ex.excluded(&child, name.as_bytes(), ft.is_dir()) {
            continue;
        }
        if ft.is_dir() {
            entries.push(entry_from(child.clone(), &md, ScanKind::Dir));
            subdirs.push(child);
        } else if ft.is_file() {
            entries.push(entry_from(child, &md, ScanKind::File));
        } else if ft.is_symlink() {
            match fs::read_link(de.path()) {
                Ok(t) => {
                    let target = t.as_os_str().as_bytes().to_vec();
                    entries.push(entry_from(child, &md, ScanKind::Symlink(target)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => errors.push(EntryError {
                    path: display_path(&child),
                    error: format!("cannot read symlink: {e}"),
                }),
            }
        }
        // Sockets, FIFOs and device nodes are not data; they are left out on purpose.
    }
    let nested: Vec<_> = subdirs
        .par_iter()
        .map(|sub| scan_dir(root, sub, ex))
        .collect();
    for (e, r) in nested {
        entries.extend(e);
        errors.extend(r);
    }
    (entries, errors)
}

/// Walks `root` in parallel, applying excludes; never follows symlinks.
pub fn scan(root: &Path, excludes: &Excludes) -> ScanOutput {
    let (mut entries, mut errors) = scan_dir(root, b"", excludes);
    entries.par_sort_unstable_by(|a, b| a.path.cmp(&b.path));
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    // The first name (in path order) of a multiply-linked file carries the data;
    // later names become links to it, so a restore recreates the hard link.
    let mut first: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    for e in entries.iter_mut() {
        if e.kind == ScanKind::File && e.nlink > 1 {
            match first.get(&(e.dev, e.inode)) {
                Some(p) => {
                    e.kind = ScanKind::HardLink(p.clone());
                    e.size = 0;
                }
                None => {
                    first.insert((e.dev, e.inode), e.path.clone());
                }
            }
        }
    }
    ScanOutput { entries, errors }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_sorted_with_excludes_and_links() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("a/cache")).unwrap();
        fs::create_dir_all(r.join("b")).unwrap();
        fs::write(r.join("a/x.txt"), b"x").unwrap();
        fs::write(r.join("a/y.tmp"), b"y").unwrap();
        fs::write(r.join("a/cache/z"), b"z").unwrap();
        fs::write(r.join("b/keep"), b"k").unwrap();
        fs::hard_link(r.join("b/keep"), r.join("b/link")).unwrap();
        std::os::unix::fs::symlink("../a/x.txt", r.join("b/sym")).unwrap();
        let ex = Excludes::new(&["*.tmp".into(), "cache/".into()]).unwrap();
        let out = scan(r, &ex);
        let paths: Vec<_> = out.entries.iter().map(|e| display_path(&e.path)).collect();
        assert_eq!(paths, ["a", "a/x.txt", "b", "b/keep", "b/link", "b/sym"]);
        assert_eq!(out.entries[4].kind, ScanKind::HardLink(b"b/keep".to_vec()));
        assert_eq!(
            out.entries[5].kind,
            ScanKind::Symlink(b"../a/x.txt".to_vec())
        );
        assert!(out.errors.is_empty());
    }

    #[test]
    fn anchored_patterns_match_from_root() {
        let ex = Excludes::new(&["a/*.log".into()]).unwrap();
        assert!(ex.excluded(b"a/x.log", b"x.log", false));
        assert!(!ex.excluded(b"b/a/x.log", b"x.log", false));
        assert!(
            !ex.excluded(b"a/sub/x.log", b"x.log", false),
            "* stays in one component"
        );
        let deep = Excludes::new(&["a/**/*.log".into()]).unwrap();
        assert!(deep.excluded(b"a/sub/x.log", b"x.log", false));
        assert!(Excludes::new(&["[".into()]).is_err());
    }
}
