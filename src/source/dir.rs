//! The `dir` source: a directory tree, walked in parallel (metadata only,
//! never following symlinks), its files opened for reading one by one.

use super::{
    EntryReader, Excludes, Listing, Source, SourceEntry, SourceError, SourceKind, SourceReport,
    SourceRun, display_path,
};
use crate::model::EntryError;
use rayon::prelude::*;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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

fn entry_from(rel: Vec<u8>, md: &fs::Metadata, kind: SourceKind) -> SourceEntry {
    SourceEntry {
        path: rel,
        size: Some(if kind == SourceKind::File {
            md.size()
        } else {
            0
        }),
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

/// The entries below `root/rel` (unsorted, hard links not yet marked) and
/// the ones that could not be listed; an unreadable `root` itself is an
/// error with the empty path.
pub(super) fn scan_dir(
    root: &Path,
    rel: &[u8],
    ex: &Excludes,
) -> (Vec<SourceEntry>, Vec<EntryError>) {
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
            entries.push(entry_from(child.clone(), &md, SourceKind::Dir));
            subdirs.push(child);
        } else if ft.is_file() {
            entries.push(entry_from(child, &md, SourceKind::File));
        } else if ft.is_symlink() {
            match fs::read_link(de.path()) {
                Ok(t) => {
                    let target = t.as_os_str().as_bytes().to_vec();
                    entries.push(entry_from(child, &md, SourceKind::Symlink(target)));
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
fn scan(root: &Path, excludes: &Excludes) -> Listing {
    let (mut entries, mut errors) = scan_dir(root, b"", excludes);
    entries.par_sort_unstable_by(|a, b| a.path.cmp(&b.path));
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    mark_links(&mut entries);
    Listing { entries, errors }
}

/// In entries sorted by path: the first name of a multiply-linked file
/// carries the data; later names become links to it, so a restore recreates
/// the hard link.
pub(super) fn mark_links(entries: &mut [SourceEntry]) {
    let mut first: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    for e in entries.iter_mut() {
        if e.kind == SourceKind::File && e.nlink > 1 {
            match first.get(&(e.dev, e.inode)) {
                Some(p) => {
                    e.kind = SourceKind::HardLink(p.clone());
                    e.size = Some(0);
                }
                None => {
                    first.insert((e.dev, e.inode), e.path.clone());
                }
            }
        }
    }
}

/// A directory tree with its exclude patterns.
pub struct DirSource {
    root: PathBuf,
    exclude: Vec<String>,
}

impl DirSource {
    /// The tree at `root`, leaving out what `exclude` matches.
    pub fn new(root: impl Into<PathBuf>, exclude: &[String]) -> DirSource {
        DirSource {
            root: root.into(),
            exclude: exclude.to_vec(),
        }
    }

    fn unreadable(&self, source: std::io::Error) -> SourceError {
        SourceError::Unreadable {
            what: self.root.display().to_string(),
            source,
        }
    }
}

impl Source for DirSource {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn begin(&self) -> Result<Box<dyn SourceRun>, SourceError> {
        let md = fs::metadata(&self.root).map_err(|e| self.unreadable(e))?;
        if !md.is_dir() {
            return Err(self.unreadable(std::io::Error::other("not a directory")));
        }
        let excludes = Excludes::new(&self.exclude)
            .map_err(|e| self.unreadable(std::io::Error::other(e.to_string())))?;
        Ok(Box::new(DirRun {
            root: self.root.clone(),
            excludes,
        }))
    }
}

/// One backup's walk of a [`DirSource`].
struct DirRun {
    root: PathBuf,
    excludes: Excludes,
}

impl SourceRun for DirRun {
    fn entries(&mut self) -> Result<Listing, SourceError> {
        let listing = scan(&self.root, &self.excludes);
        // An unreadable root is not a partial backup of something: it is nothing.
        if let Some(e) = listing.errors.iter().find(|e| e.path.is_empty()) {
            return Err(SourceError::Unreadable {
                what: self.root.display().to_string(),
                source: std::io::Error::other(e.error.clone()),
            });
        }
        Ok(listing)
    }

    fn open(&self, entry: &SourceEntry) -> Result<Box<dyn EntryReader>, SourceError> {
        let path = self.root.join(OsStr::from_bytes(&entry.path));
        let file = fs::File::open(&path).map_err(SourceError::read)?;
        Ok(Box::new(DirFile(file)))
    }

    fn finish(self: Box<Self>) -> Result<SourceReport, SourceError> {
        Ok(SourceReport::default())
    }
}

/// A file of the tree being read.
pub(super) struct DirFile(pub(super) fs::File);

impl std::io::Read for DirFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl EntryReader for DirFile {
    fn changed(&self, entry: &SourceEntry, read: u64) -> std::io::Result<bool> {
        // The open file's own metadata, not the path's: the file read is the
        // one compared, even if a new file was renamed over its name meanwhile.
        let md = self.0.metadata()?;
        Ok(Some(md.len()) != entry.size
            || md.mtime().saturating_mul(1_000_000_000) + md.mtime_nsec() != entry.mtime_ns
            || Some(read) != entry.size)
    }
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
        assert_eq!(
            out.entries[4].kind,
            SourceKind::HardLink(b"b/keep".to_vec())
        );
        assert_eq!(
            out.entries[5].kind,
            SourceKind::Symlink(b"../a/x.txt".to_vec())
        );
        assert!(out.errors.is_empty());
    }
}
