//! Where a restore writes, decided on the resolved path and opened through
//! directory handles that never follow a symlink, so a path swapped for a
//! symlink between the check and the writes cannot redirect them.

use super::error::EngineError;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

/// Opening a directory: never through a symlink, never inherited by children.
const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC)
    .union(OFlags::RDONLY);

/// A restore target after resolution: an existing directory and the
/// components below it down to the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreTarget {
    /// An existing canonical directory: the restore root for operators, the
    /// nearest existing ancestor of the target otherwise.
    pub anchor: PathBuf,
    /// Components from `anchor` to the target (at least one). Existing ones
    /// must be real directories; missing ones are created.
    pub below: Vec<OsString>,
    /// Whether the target may already exist as an empty directory.
    pub may_exist_empty: bool,
}

impl RestoreTarget {
    /// The resolved target path.
    pub fn path(&self) -> PathBuf {
        let mut p = self.anchor.clone();
        p.extend(&self.below);
        p
    }
}

/// A symlink met while resolving a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The symlink itself (its directory resolved).
    pub link: PathBuf,
    /// Where it led.
    pub to: PathBuf,
}

/// A target path with every existing ancestor resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The physical path: the resolved existing part, then the missing names.
    pub path: PathBuf,
    /// How many trailing components of `path` do not exist yet (0: the target exists).
    pub missing: usize,
    /// Symlinks the given path went through, in order.
    pub hops: Vec<Hop>,
}

fn target_err(path: &Path, reason: impl Into<String>) -> EngineError {
    EngineError::Target {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Resolves `given` as the kernel would (`..` after a symlink goes up from
/// where the link led), without requiring the tail to exist. The target
/// itself must not be a symlink: Strata never writes through one.
pub fn resolve(given: &Path) -> Result<Resolved, EngineError> {
    let abs = std::path::absolute(given)
        .map_err(|e| target_err(given, format!("cannot be made absolute ({e})")))?;
    let comps: Vec<Component<'_>> = abs.components().collect();
    let last_normal = comps
        .iter()
        .rposition(|c| matches!(c, Component::Normal(_)));
    let mut cur = PathBuf::from("/");
    let mut missing: Vec<&OsStr> = Vec::new();
    let mut hops = Vec::new();
    for (i, c) in comps.iter().enumerate() {
        let name = match c {
            Component::Normal(n) => *n,
            Component::ParentDir if missing.is_empty() => {
                cur.pop();
                continue;
            }
            Component::ParentDir => {
                return Err(target_err(
                    &abs,
                    "has '..' after a directory that does not exist; give the path without '..'",
                ));
            }
            _ => continue,
        };
        if !missing.is_empty() {
            missing.push(name);
            continue;
        }
        let next = cur.join(name);
        let md = match std::fs::symlink_metadata(&next) {
            Ok(md) => md,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                missing.push(name);
                continue;
            }
            Err(e) => {
                return Err(target_err(
                    &abs,
                    format!("cannot be checked at {} ({e})", next.display()),
                ));
            }
        };
        let is_last = Some(i) == last_normal;
        if md.file_type().is_symlink() {
            if is_last {
                return Err(target_err(
                    &abs,
                    "is a symlink; Strata never writes through one, choose a new directory",
                ));
            }
            let to = std::fs::canonicalize(&next).map_err(|e| {
                target_err(
                    &abs,
                    format!(
                        "goes through the symlink {} which cannot be followed ({e})",
                        next.display()
                    ),
                )
            })?;
            hops.push(Hop {
                link: next,
                to: to.clone(),
            });
            cur = to;
        } else {
            cur = next;
        }
        if !is_last && !cur.is_dir() {
            return Err(target_err(
                &abs,
                format!("{} is not a directory", cur.display()),
            ));
        }
    }
    let n = missing.len();
    cur.extend(missing);
    Ok(Resolved {
        path: cur,
        missing: n,
        hops,
    })
}

impl Resolved {
    /// The target as an admin may use it: anywhere, an existing empty directory allowed.
    pub fn unrestricted(&self) -> Result<RestoreTarget, EngineError> {
        let keep = self.missing.max(1);
        let comps: Vec<OsString> = self
            .path
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                _ => None,
            })
            .collect();
        if comps.is_empty() {
            return Err(target_err(
                &self.path,
                "is the filesystem root; choose a new directory",
            ));
        }
        let split = comps.len() - keep.min(comps.len());
        let mut anchor = PathBuf::from("/");
        anchor.extend(&comps[..split]);
        Ok(RestoreTarget {
            anchor,
            below: comps[split..].to_vec(),
            may_exist_empty: true,
        })
    }
}

fn io_at(path: &Path, what: &str, e: rustix::io::Errno) -> EngineError {
    let reason = if e == rustix::io::Errno::LOOP || e == rustix::io::Errno::NOTDIR {
        format!(
            "{what} {} is no longer a real directory (replaced by a symlink or a file?); nothing was written through it",
            path.display()
        )
    } else {
        format!("{what} {} failed ({e})", path.display())
    };
    target_err(path, reason)
}

/// Opens the directory `name` in `dir`, refusing a symlink.
pub fn open_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(dir, name, DIR_FLAGS, Mode::empty())
}

/// Creates (or, where allowed, opens) the target and returns a handle on it.
/// Every step is relative to the previous directory's handle and refuses
/// symlinks, so a directory swapped since the check cannot redirect it.
pub fn open(t: &RestoreTarget) -> Result<OwnedFd, EngineError> {
    let mut path = t.anchor.clone();
    let mut fd = rustix::fs::openat(rustix::fs::CWD, &t.anchor, DIR_FLAGS, Mode::empty())
        .map_err(|e| io_at(&path, "opening", e))?;
    for (i, name) in t.below.iter().enumerate() {
        path.push(name);
        let last = i + 1 == t.below.len();
        match rustix::fs::mkdirat(fd.as_fd(), name.as_os_str(), Mode::from_raw_mode(0o777)) {
            Ok(()) => {}
            Err(rustix::io::Errno::EXIST) if !last => {}
            Err(rustix::io::Errno::EXIST) if t.may_exist_empty => {
                let sub = open_dir_at(fd.as_fd(), name).map_err(|e| {
                    if e == rustix::io::Errno::LOOP || e == rustix::io::Errno::NOTDIR {
                        target_err(
                            &path,
                            "exists and is not a directory; Strata never overwrites, choose a new or empty directory",
                        )
                    } else {
                        io_at(&path, "opening", e)
                    }
                })?;
                let dir =
                    rustix::fs::Dir::read_from(&sub).map_err(|e| io_at(&path, "reading", e))?;
                for entry in dir {
                    let entry = entry.map_err(|e| io_at(&path, "reading", e))?;
                    let n = entry.file_name().to_bytes();
                    if n != b"." && n != b".." {
                        return Err(target_err(
                            &path,
                            "is not empty; Strata never overwrites, choose a new or empty directory",
                        ));
                    }
                }
                return Ok(sub);
            }
            Err(rustix::io::Errno::EXIST) => {
                return Err(target_err(
                    &path,
                    "already exists; Strata never overwrites, choose a new directory",
                ));
            }
            Err(e) => return Err(io_at(&path, "creating", e)),
        }
        fd = open_dir_at(fd.as_fd(), name).map_err(|e| io_at(&path, "opening", e))?;
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_dotdot_physically_and_reports_hops() {
        let d = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        std::os::unix::fs::symlink(base.join("a/b"), base.join("l")).unwrap();
        let r = resolve(&base.join("l/../x/y")).unwrap();
        assert_eq!(r.path, base.join("a/x/y"));
        assert_eq!(r.missing, 2);
        assert_eq!(r.hops.len(), 1);
        assert!(
            resolve(&base.join("l")).is_err(),
            "a symlink target is refused"
        );
        assert!(resolve(&base.join("nope/../x")).is_err());
        let t = resolve(&base.join("a/b")).unwrap().unrestricted().unwrap();
        assert_eq!((t.anchor, t.below.len()), (base.join("a"), 1));
    }
}
