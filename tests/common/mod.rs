//! Shared helpers of the integration tests: run the real `strata` binary against
//! a temporary home, build deterministic source trees, and compare trees.
#![allow(dead_code)]

pub mod cryptkit;
pub mod dbkit;
pub mod sftpkit;
pub mod sqlitekit;
pub mod sshkit;
pub mod tcpproxy;
pub mod tmux;

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::fs::{self, File, FileTimes};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tempfile::TempDir;

/// A scratch directory holding a Strata home (`<root>/home`) and whatever else a
/// test needs (sources, repositories, restore targets) next to it.
pub struct Strata {
    root: TempDir,
    /// Extra environment of every command run ([`Strata::set_env`]).
    env: std::sync::Mutex<Vec<(String, String)>>,
}

impl Default for Strata {
    fn default() -> Self {
        Self::new()
    }
}

impl Strata {
    /// A fresh scratch directory; the home is created by the first command.
    pub fn new() -> Strata {
        Strata {
            root: tempfile::Builder::new()
                .prefix("strata-it-")
                .tempdir()
                .expect("create scratch directory"),
            env: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The scratch directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `<root>/<rel>` (not created).
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// The Strata home passed with `--home`.
    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    /// Sets `key=value` in the environment of every later command.
    pub fn set_env(&self, key: &str, value: &str) {
        let mut env = self.env.lock().unwrap();
        env.retain(|(k, _)| k != key);
        env.push((key.to_string(), value.to_string()));
    }

    /// The environment set with [`Strata::set_env`].
    pub fn envs(&self) -> Vec<(String, String)> {
        self.env.lock().unwrap().clone()
    }

    /// Runs `strata --home HOME ARGS…` and returns (exit code, stdout, stderr).
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .envs(self.envs())
            .arg("--home")
            .arg(self.home())
            .args(args)
            .env_remove("STRATA_HOME")
            .env_remove("STRATA_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("run the strata binary");
        let code = out.status.code().unwrap_or(-1);
        (
            code,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs a command that must exit 0; returns its stdout.
    pub fn ok<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(
            code,
            0,
            "strata {} exited {code}\n--- stdout\n{out}\n--- stderr\n{err}",
            show_args(args)
        );
        out
    }

    /// Runs a command with `--json` that must exit 0; returns the parsed stdout.
    pub fn json<S: AsRef<OsStr>>(&self, args: &[S]) -> Value {
        let mut all: Vec<&OsStr> = args.iter().map(|a| a.as_ref()).collect();
        all.push(OsStr::new("--json"));
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| {
            panic!(
                "strata {} printed invalid JSON ({e}):\n{out}",
                show_args(&all)
            )
        })
    }

    /// Destinations `d1` and `d2` at `<root>/d1`, `<root>/d2`, and task `t`
    /// backing up `src` to both under copy policy `require`.
    pub fn task_on_two(&self, src: &Path, require: &str) {
        for d in ["d1", "d2"] {
            self.ok(&["dest", "add", d, "--local", self.path(d).to_str().unwrap()]);
        }
        let src = src.to_str().unwrap();
        self.ok(&[
            "task",
            "add",
            "t",
            "--dir",
            src,
            "--dest",
            "d1,d2",
            "--require",
            require,
        ]);
    }

    /// `strata serve --listen off` on this home, started and ready; stopped
    /// when the returned value is dropped.
    pub fn serve(&self) -> Daemon {
        self.serve_env(&[])
    }

    /// [`Strata::serve`] with extra environment variables (`STRATA_TEST_…`).
    pub fn serve_env(&self, env: &[(&str, &str)]) -> Daemon {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(self.home())
            .args(["serve", "--listen", "off"])
            .env_remove("STRATA_HOME")
            .env_remove("STRATA_LOG")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut line = String::new();
        while !line.contains("serving") {
            assert!(std::time::Instant::now() < deadline, "daemon did not start");
            line.clear();
            if err.read_line(&mut line).unwrap() == 0 {
                panic!("daemon exited early");
            }
        }
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in err.lines() {});
        Daemon(child)
    }

    /// Adds destination `dest` at `<root>/<dest>` and task `task` backing up `src`.
    /// Returns the repository path.
    pub fn setup(&self, dest: &str, task: &str, src: &Path, excludes: &[&str]) -> PathBuf {
        let repo = self.path(dest);
        self.ok(&[
            OsStr::new("dest"),
            OsStr::new("add"),
            OsStr::new(dest),
            OsStr::new("--local"),
            repo.as_os_str(),
        ]);
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("task"),
            OsStr::new("add"),
            OsStr::new(task),
            OsStr::new("--dir"),
            src.as_os_str(),
            OsStr::new("--dest"),
            OsStr::new(dest),
        ];
        for e in excludes {
            args.push(OsStr::new("--exclude"));
            args.push(OsStr::new(e));
        }
        self.ok(&args);
        repo
    }

    /// `backup run TASK --KIND --json`; returns the `backup` record.
    /// `kind` is "full", "incremental" or "differential".
    pub fn backup(&self, task: &str, kind: &str) -> Value {
        let flag = format!("--{kind}");
        let v = self.json(&["backup", "run", task, flag.as_str()]);
        let b = v["backup"].clone();
        assert_eq!(b["kind"], kind, "backup run {task} {flag} took: {v:#}");
        assert_eq!(b["status"], "complete", "backup run {task} {flag}: {v:#}");
        assert!(
            b["errors"].as_array().is_none_or(|e| e.is_empty()),
            "backup run {task} {flag} reported errors: {v:#}"
        );
        b
    }

    /// `restore ID --to TO [--path SUB]`, which must succeed.
    pub fn restore(&self, id: &str, to: &Path, sub: Option<&str>) {
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("restore"),
            OsStr::new(id),
            OsStr::new("--to"),
            to.as_os_str(),
        ];
        if let Some(s) = sub {
            args.push(OsStr::new("--path"));
            args.push(OsStr::new(s));
        }
        self.ok(&args);
    }

    /// `backup list --json` as a map id → row.
    pub fn backups(&self) -> BTreeMap<String, Value> {
        let v = self.json(&["backup", "list"]);
        v.as_array()
            .unwrap_or_else(|| panic!("backup list --json is not an array: {v:#}"))
            .iter()
            .map(|r| (id_of(r).to_string(), r.clone()))
            .collect()
    }
}

fn show_args<S: AsRef<OsStr>>(args: &[S]) -> String {
    args.iter()
        .map(|a| format!("{:?}", a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `id` of a backup record or row.
pub fn id_of(v: &Value) -> &str {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v:#}"))
}

/// A `u64` field of a JSON object.
pub fn u64_of(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no integer {field} in {v:#}"))
}

// ---------------------------------------------------------------- test data

/// xorshift64*: deterministic, fast, incompressible enough for chunking tests.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed (zero is replaced).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(n);
        v
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// `secs` (may be negative) plus `nanos` after the epoch.
pub fn time_at(secs: i64, nanos: u32) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nanos)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + Duration::from_nanos(nanos.into())
    }
}

/// Sets the mtime (and atime) of a file or directory, never following a symlink
/// at `p` (symlinks are refused).
pub fn set_mtime(p: &Path, t: SystemTime) {
    let md = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("stat {p:?}: {e}"));
    assert!(!md.file_type().is_symlink(), "set_mtime on symlink {p:?}");
    let f = File::open(p).unwrap_or_else(|e| panic!("open {p:?}: {e}"));
    f.set_times(FileTimes::new().set_modified(t).set_accessed(t))
        .unwrap_or_else(|e| panic!("set times of {p:?}: {e}"));
}

/// Runs `f` with `p` made owner-writable, then puts its mode back.
fn writable<T>(p: &Path, f: impl FnOnce() -> T) -> T {
    let mode = fs::symlink_metadata(p)
        .map(|m| m.mode() & 0o7777)
        .unwrap_or(0o644);
    if mode & 0o200 == 0 {
        fs::set_permissions(p, fs::Permissions::from_mode(mode | 0o200)).unwrap();
    }
    let r = f();
    if mode & 0o200 == 0 {
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    }
    r
}

/// Creates (parents too) or replaces a file with `data`.
pub fn write(p: &Path, data: &[u8]) {
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {parent:?}: {e}"));
    }
    if p.exists() {
        writable(p, || fs::write(p, data)).unwrap_or_else(|e| panic!("write {p:?}: {e}"));
    } else {
        fs::write(p, data).unwrap_or_else(|e| panic!("write {p:?}: {e}"));
    }
}

/// Writes `data` at `offset` of an existing file (its size grows only if needed).
pub fn overwrite_at(p: &Path, offset: u64, data: &[u8]) {
    writable(p, || {
        let mut f = fs::OpenOptions::new().write(true).open(p)?;
        f.seek(SeekFrom::Start(offset))?;
        f.write_all(data)
    })
    .unwrap_or_else(|e| panic!("overwrite {p:?}: {e}"));
}

/// Appends `data` to an existing file.
pub fn append(p: &Path, data: &[u8]) {
    writable(p, || {
        fs::OpenOptions::new().append(true).open(p)?.write_all(data)
    })
    .unwrap_or_else(|e| panic!("append to {p:?}: {e}"));
}

/// Truncates (or extends with zeros) an existing file to `len`.
pub fn truncate(p: &Path, len: u64) {
    writable(p, || {
        fs::OpenOptions::new().write(true).open(p)?.set_len(len)
    })
    .unwrap_or_else(|e| panic!("truncate {p:?}: {e}"));
}

/// `chmod MODE p`.
pub fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {p:?}: {e}"));
}

/// Creates a symlink `p` → `target`, replacing an existing symlink.
pub fn symlink(target: &str, p: &Path) {
    if fs::symlink_metadata(p).is_ok() {
        fs::remove_file(p).unwrap_or_else(|e| panic!("remove {p:?}: {e}"));
    }
    std::os::unix::fs::symlink(target, p)
        .unwrap_or_else(|e| panic!("symlink {p:?} -> {target}: {e}"));
}

// ------------------------------------------------------------ tree snapshots

/// Type-specific state of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapKind {
    /// A directory.
    Dir,
    /// A regular file: its size and BLAKE3 (hex).
    File {
        /// Size in bytes.
        size: u64,
        /// BLAKE3 of the content, hex.
        hash: String,
    },
    /// A symbolic link and its raw target.
    Symlink {
        /// Target, lossily shown.
        target: String,
    },
    /// Anything else (FIFO, socket, device).
    Other,
}

/// What a tree comparison looks at for one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySnap {
    /// Type and content.
    pub kind: SnapKind,
    /// `st_mode & 0o7777`.
    pub mode: u32,
    /// mtime: seconds since the epoch and nanoseconds.
    pub mtime: (i64, i64),
    /// Regular files with several names inside the tree: the smallest of those
    /// names (so hard-link structure compares equal across trees); else `None`.
    pub link_group: Option<PathBuf>,
}

/// Every entry under `root` (not `root` itself), keyed by relative path; never
/// follows symlinks.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, EntrySnap> {
    let mut out = BTreeMap::new();
    let mut inodes: HashMap<(u64, u64), Vec<PathBuf>> = HashMap::new();
    walk(root, Path::new(""), &mut out, &mut inodes);
    for names in inodes.values() {
        if names.len() < 2 {
            continue;
        }
        let first = names.iter().min().cloned();
        for n in names {
            if let Some(e) = out.get_mut(n) {
                e.link_group = first.clone();
            }
        }
    }
    out
}

fn walk(
    root: &Path,
    rel: &Path,
    out: &mut BTreeMap<PathBuf, EntrySnap>,
    inodes: &mut HashMap<(u64, u64), Vec<PathBuf>>,
) {
    let dir = root.join(rel);
    let rd = fs::read_dir(&dir).unwrap_or_else(|e| panic!("read_dir {dir:?}: {e}"));
    let mut names: Vec<_> = rd
        .map(|d| {
            d.unwrap_or_else(|e| panic!("read_dir {dir:?}: {e}"))
                .file_name()
        })
        .collect();
    names.sort();
    for name in names {
        let r = rel.join(&name);
        let p = root.join(&r);
        let md = fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("lstat {p:?}: {e}"));
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            SnapKind::Dir
        } else if ft.is_file() {
            let data = fs::read(&p).unwrap_or_else(|e| panic!("read {p:?}: {e}"));
            if md.nlink() > 1 {
                inodes
                    .entry((md.dev(), md.ino()))
                    .or_default()
                    .push(r.clone());
            }
            SnapKind::File {
                size: data.len() as u64,
                hash: blake3::hash(&data).to_hex().to_string(),
            }
        } else if ft.is_symlink() {
            let t = fs::read_link(&p).unwrap_or_else(|e| panic!("readlink {p:?}: {e}"));
            SnapKind::Symlink {
                target: String::from_utf8_lossy(t.as_os_str().as_bytes()).into_owned(),
            }
        } else {
            SnapKind::Other
        };
        out.insert(
            r.clone(),
            EntrySnap {
                kind: kind.clone(),
                mode: md.mode() & 0o7777,
                mtime: (md.mtime(), md.mtime_nsec()),
                link_group: None,
            },
        );
        if kind == SnapKind::Dir {
            walk(root, &r, out, inodes);
        }
    }
}

/// The entries of `snap` at or under `prefix` (relative path).
pub fn subtree(snap: &BTreeMap<PathBuf, EntrySnap>, prefix: &Path) -> BTreeMap<PathBuf, EntrySnap> {
    snap.iter()
        .filter(|(p, _)| p.starts_with(prefix))
        .map(|(p, e)| (p.clone(), e.clone()))
        .collect()
}

fn describe_diff(a: &EntrySnap, b: &EntrySnap) -> String {
    let mut parts = Vec::new();
    if a.kind != b.kind {
        parts.push(format!("kind {:?} != {:?}", a.kind, b.kind));
    }
    if a.mode != b.mode {
        parts.push(format!("mode {:o} != {:o}", a.mode, b.mode));
    }
    if a.mtime != b.mtime {
        parts.push(format!(
            "mtime {}.{:09} != {}.{:09}",
            a.mtime.0, a.mtime.1, b.mtime.0, b.mtime.1
        ));
    }
    if a.link_group != b.link_group {
        parts.push(format!(
            "hard-link group {:?} != {:?}",
            a.link_group, b.link_group
        ));
    }
    parts.join("; ")
}

/// Panics with a readable list of the first differences between `expected` and
/// `actual` (missing entries, extra entries, differing fields). `what` names the
/// comparison in the message.
pub fn assert_same_tree(
    what: &str,
    expected: &BTreeMap<PathBuf, EntrySnap>,
    actual: &BTreeMap<PathBuf, EntrySnap>,
) {
    const SHOWN: usize = 25;
    let mut problems = Vec::new();
    for (p, e) in expected {
        match actual.get(p) {
            None => problems.push(format!("missing  {p:?} ({:?})", e.kind)),
            Some(a) if a != e => problems.push(format!("differs  {p:?}: {}", describe_diff(e, a))),
            Some(_) => {}
        }
    }
    for (p, a) in actual {
        if !expected.contains_key(p) {
            problems.push(format!("extra    {p:?} ({:?})", a.kind));
        }
    }
    if problems.is_empty() {
        return;
    }
    let n = problems.len();
    problems.truncate(SHOWN);
    panic!(
        "{what}: {n} difference(s) between expected and actual tree (expected vs actual){}:\n  {}",
        if n > SHOWN {
            format!(", first {SHOWN}")
        } else {
            String::new()
        },
        problems.join("\n  ")
    );
}

/// A running `strata serve`, killed when dropped.
pub struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
