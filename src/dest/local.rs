//! A repository in a local directory.

use super::{DestError, Destination, check_key};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Repository rooted at a local directory.
pub struct LocalDest {
    root: PathBuf,
}

impl LocalDest {
    /// Uses `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalDest { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, DestError> {
        check_key(&self.describe(), key)?;
        Ok(self.root.join(key))
    }

    fn exists(&self, key: &str) -> DestError {
        DestError::Exists {
            dest: self.describe(),
            key: key.to_string(),
        }
    }

    fn io(&self, op: &'static str, path: &Path, source: std::io::Error) -> DestError {
        if source.kind() == ErrorKind::NotFound && (op == "read" || op == "open") {
            return DestError::NotFound {
                dest: self.describe(),
                key: path
                    .strip_prefix(&self.root)
                    .unwrap_or(path)
                    .display()
                    .to_string(),
            };
        }
        DestError::io(self.describe(), op, path.display().to_string(), source)
    }
}

/// Sequence number of temporary files written by this process.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Moves `tmp` to `path` only if `path` does not exist, atomically: the
/// exists-check and the move are one operation, never a check then a rename.
/// File systems without `RENAME_NOREPLACE` get a hard link (which also refuses
/// an existing name) and an unlink of the temporary name.
fn publish(tmp: &Path, path: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, tmp, CWD, path, RenameFlags::NOREPLACE) {
        Ok(()) => return Ok(()),
        Err(Errno::EXIST) => {
            return Err(std::io::Error::new(
                ErrorKind::AlreadyExists,
                "object exists",
            ));
        }
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
        Err(e) => return Err(e.into()),
    }
    match fs::hard_link(tmp, path) {
        Ok(()) => {
            let _ = fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(e),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!(
                "the file system supports neither exclusive renames nor hard links ({e}), one of which Strata needs to never replace an object; put the destination on a file system such as ext4, xfs or btrfs"
            ),
        )),
    }
}

/// fsync a directory so a rename or create inside it is durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Destination for LocalDest {
    fn describe(&self) -> String {
        format!("local:{}", self.root.display())
    }

    // What an unprivileged writer may still use (`f_bavail`), in the
    // filesystem's fragment size; `None` when the root cannot be statted.
    fn free_bytes(&self) -> Option<u64> {
        let st = rustix::fs::statvfs(&self.root).ok()?;
        st.f_bavail.checked_mul(st.f_frsize)
    }

    fn put(&self, key: &str, data: &[u8]) -> Result<(), DestError> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        let created_dir = !dir.exists();
        fs::create_dir_all(&dir).map_err(|e| self.io("create directory", &dir, e))?;
        if path.exists() {
            return Err(self.exists(key));
        }
        // Write under a temporary name, sync, then move it into place only if the
        // name is still free: a crash leaves nothing or the complete object, and
        // of two writers of one key exactly one wins. The counter keeps two
        // writers in this process off each other's temporary file.
        let tmp = dir.join(format!(
            ".tmp-{}-{}-{}",
            std::process::id(),
            TMP_SEQ.fetch_add(1, Ordering::Relaxed),
            path.file_name().and_then(|n| n.to_str()).unwrap_or("obj")
        ));
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(|e| self.io("create", &tmp, e))?;
            f.write_all(data).map_err(|e| self.io("write", &tmp, e))?;
            f.sync_all().map_err(|e| self.io("sync", &tmp, e))?;
            Ok(())
        })();
        let published = written.and_then(|()| match publish(&tmp, &path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(self.exists(key)),
            Err(e) => Err(self.io("create", &path, e)),
        });
        if let Err(e) = published {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        sync_dir(&dir).map_err(|e| self.io("sync", &dir, e))?;
        if created_dir && let Some(parent) = dir.parent() {
            // New directories must be durable too, or the object may vanish with them.
            let _ = sync_dir(parent);
            if let Some(grand) = parent.parent() {
                let _ = sync_dir(grand);
            }
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, DestError> {
        let path = self.path(key)?;
        fs::read(&path).map_err(|e| self.io("read", &path, e))
    }

    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>, DestError> {
        let path = self.path(key)?;
        let mut f = File::open(&path).map_err(|e| self.io("open", &path, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| self.io("seek", &path, e))?;
        let mut buf = Vec::with_capacity(len.min(64 << 20) as usize);
        f.take(len)
            .read_to_end(&mut buf)
            .map_err(|e| self.io("read", &path, e))?;
        if (buf.len() as u64) < len {
            return Err(self.io(
                "read",
                &path,
                std::io::Error::new(
                    ErrorKind::UnexpectedEof,
                    format!("wanted {len} bytes at offset {offset}, file is shorter"),
                ),
            ));
        }
        Ok(buf)
    }

    fn size(&self, key: &str) -> Result<Option<u64>, DestError> {
        let path = self.path(key)?;
        match fs::metadata(&path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("stat", &path, e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, DestError> {
        let dir = if prefix.is_empty() {
            self.root.clone()
        } else {
            self.path(prefix.trim_end_matches('/'))?
        };
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io("list", &dir, e)),
        };
        let mut names = Vec::new();
        for ent in rd {
            let ent = ent.map_err(|e| self.io("list", &dir, e))?;
            if let Some(name) = ent.file_name().to_str()
                && !name.starts_with(".tmp-")
            {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    fn delete(&self, key: &str) -> Result<(), DestError> {
        let path = self.path(key)?;
        match fs::remove_file(&path) {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    let _ = sync_dir(dir);
                }
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io("delete", &path, e)),
        }
    }

    fn delete_prefix(&self, prefix: &str) -> Result<(), DestError> {
        let path = self.path(prefix.trim_end_matches('/'))?;
        match fs::remove_dir_all(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io("delete", &path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_bytes_where_the_root_exists() {
        let dir = tempfile::tempdir().unwrap();
        assert!(LocalDest::new(dir.path()).free_bytes().is_some());
        assert_eq!(LocalDest::new(dir.path().join("gone")).free_bytes(), None);
    }

    #[test]
    fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let d = LocalDest::new(dir.path());
        d.put("backups/a/x", b"hello").unwrap();
        assert!(
            matches!(
                d.put("backups/a/x", b"again"),
                Err(DestError::Exists { .. })
            ),
            "put never replaces"
        );
        assert_eq!(d.get("backups/a/x").unwrap(), b"hello");
        assert_eq!(d.get_range("backups/a/x", 1, 3).unwrap(), b"ell");
        assert!(d.get_range("backups/a/x", 3, 10).is_err());
        assert_eq!(d.list("backups").unwrap(), vec!["a"]);
        assert_eq!(d.size("backups/a/x").unwrap(), Some(5));
        assert!(matches!(
            d.get("backups/a/y"),
            Err(DestError::NotFound { .. })
        ));
        assert!(d.put("../escape", b"").is_err());
        d.delete_prefix("backups/a").unwrap();
        assert_eq!(d.size("backups/a/x").unwrap(), None);
    }

    /// Many writers racing for one key: exactly one wins, the winner's bytes
    /// are the object, and no temporary file is left behind.
    #[test]
    fn racing_puts_of_one_key_have_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let d = std::sync::Arc::new(LocalDest::new(dir.path()));
        for round in 0..20 {
            let key = format!("backups/r{round}/CLAIM");
            let start = std::sync::Arc::new(std::sync::Barrier::new(8));
            let handles: Vec<_> = (0..8u8)
                .map(|i| {
                    let (d, key, start) = (d.clone(), key.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        d.put(&key, &[i; 64]).map(|()| i)
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let winners: Vec<u8> = results
                .iter()
                .filter_map(|r| r.as_ref().ok().copied())
                .collect();
            assert_eq!(winners.len(), 1, "round {round}: {results:?}");
            for r in &results {
                if let Err(e) = r {
                    assert!(matches!(e, DestError::Exists { .. }), "{e}");
                }
            }
            assert_eq!(d.get(&key).unwrap(), vec![winners[0]; 64]);
            let left: Vec<_> = fs::read_dir(dir.path().join(format!("backups/r{round}")))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(left, vec![std::ffi::OsString::from("CLAIM")]);
        }
    }

    #[test]
    fn a_file_in_place_of_the_root_is_a_permanent_failure_not_a_missing_object() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        fs::write(&root, b"not a directory").unwrap();
        let d = LocalDest::new(&root);
        let e = d.get("backups/a/CLAIM").unwrap_err();
        assert_eq!(e.kind(), crate::dest::ErrorKind::Permanent, "{e}");
        assert!(e.to_string().contains("check the path"), "{e}");
    }

    #[test]
    fn open_refuses_a_relative_path() {
        use crate::model::{DestinationConfig, DestinationKind};
        let cfg = |path: &str| DestinationConfig {
            name: "d".into(),
            kind: DestinationKind::Local { path: path.into() },
            repo_id: None,
            rate_limit: None,
            encryption: None,
            parallel_uploads: None,
        };
        let e = crate::dest::open(&cfg("rel/repo")).err().unwrap();
        assert_eq!(e.kind(), crate::dest::ErrorKind::Permanent);
        let dir = tempfile::tempdir().unwrap();
        let d = crate::dest::open(&cfg(dir.path().to_str().unwrap())).unwrap();
        assert_eq!(d.describe(), format!("local:{}", dir.path().display()));
    }
}
