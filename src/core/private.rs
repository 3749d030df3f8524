//! Files and directories in the home are private to the user running Strata:
//! the catalog, logs and scheduler state name every path backed up and every
//! key allowed in, so they are created 0600 (directories 0700) whatever the
//! umask, and existing ones that are wider are tightened when the home opens.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of every file Strata creates in its home.
pub const FILE_MODE: u32 = 0o600;
/// Mode of the home and the directories inside it.
pub const DIR_MODE: u32 = 0o700;

/// Writes `bytes` to `path` (created or truncated) readable by the owner only.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    // `mode` applies only at creation; an older file may be wider.
    f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    f.write_all(bytes)
}

/// Replaces `path` with `bytes` atomically, readable by the owner only: the
/// bytes go to `<path>.tmp` (synced), which is then renamed over `path`, so
/// a reader sees the old file or the new one, never half of either.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(&tmp)?;
    // `mode` is narrowed by the umask; the file must still be writable by us.
    f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    f.write_all(bytes).and_then(|()| f.sync_all())?;
    std::fs::rename(&tmp, path)
}

/// Opens `path` for appending, creating it private; an existing file is made private.
pub fn append(path: &Path) -> std::io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    Ok(f)
}

/// Creates `dir` (and missing parents) and makes `dir` itself owner-only,
/// unless it is a shared sticky directory such as `/tmp`, which stays as it is.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let sticky = std::fs::metadata(dir).is_ok_and(|m| m.mode() & 0o1000 != 0);
    if sticky {
        tracing::warn!(
            "{} is a shared directory (sticky bit); keep Strata's home in a directory of its own",
            dir.display()
        );
        return Ok(());
    }
    tighten(dir)
}

/// Removes group and other permissions from `path` if it has any and this
/// user owns it; a symlink is left alone (its target is not ours to change).
pub fn tighten(path: &Path) -> std::io::Result<()> {
    let md = match std::fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if md.file_type().is_symlink() || md.uid() != rustix::process::geteuid().as_raw() {
        return Ok(());
    }
    let mode = md.mode() & 0o7777;
    // A file keeps its owner bits (a script stays executable for its owner).
    let want = if md.is_dir() { DIR_MODE } else { mode & 0o700 };
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(want))?;
    }
    Ok(())
}

/// The permission bits of `path`, if it exists.
pub fn mode(path: &Path) -> Option<u32> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| m.mode() & 0o7777)
}

/// Whether `mode` gives nothing to group or others.
pub fn is_private(mode: u32) -> bool {
    mode & 0o077 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_and_tightened_files_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&f, b"y").unwrap();
        assert_eq!(mode(&f), Some(0o600));
        let g = dir.path().join("g");
        append(&g).unwrap();
        assert_eq!(mode(&g), Some(0o600));
        let d = dir.path().join("d/e");
        create_dir(&d).unwrap();
        assert_eq!(mode(&d), Some(0o700));
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        tighten(&d).unwrap();
        assert_eq!(mode(&d), Some(0o700));
        // A shared sticky directory is never made private.
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        create_dir(&shared).unwrap();
        assert_eq!(mode(&shared), Some(0o1777));
        let x = dir.path().join("x");
        std::fs::write(&x, "#!").unwrap();
        std::fs::set_permissions(&x, std::fs::Permissions::from_mode(0o755)).unwrap();
        tighten(&x).unwrap();
        assert_eq!(
            mode(&x),
            Some(0o700),
            "owner bits are kept, the rest removed"
        );
    }
}
