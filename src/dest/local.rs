//! A repository in a local directory.

use super::{DestError, Destination, check_key};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

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
        DestError::Io {
            dest: self.describe(),
            op,
            path: path.to_path_buf(),
            source,
        }
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

    fn put(&self, key: &str, data: &[u8]) -> Result<(), DestError> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        let created_dir = !dir.exists();
        fs::create_dir_all(&dir).map_err(|e| self.io("create directory", &dir, e))?;
        if path.exists() {
            return Err(self.io(
                "create",
                &path,
                std::io::Error::new(ErrorKind::AlreadyExists, "object exists"),
            ));
        }
        // Write under a temporary name, sync, then rename: a crash leaves either
        // nothing or the complete object, never a torn one under the real name.
        let tmp = dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            path.file_name().and_then(|n| n.to_str()).unwrap_or("obj")
        ));
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| self.io("create", &tmp, e))?;
        f.write_all(data).map_err(|e| self.io("write", &tmp, e))?;
        f.sync_all().map_err(|e| self.io("sync", &tmp, e))?;
        drop(f);
        fs::rename(&tmp, &path).map_err(|e| self.io("rename", &path, e))?;
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
    fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let d = LocalDest::new(dir.path());
        d.put("backups/a/x", b"hello").unwrap();
        assert!(
            d.put("backups/a/x", b"again").is_err(),
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
}
