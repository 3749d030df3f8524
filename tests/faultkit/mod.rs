//! Small helpers shared by `tests/faults.rs` and `tests/cli_errors.rs`: a home
//! with one local destination and one task, running the real `strata` binary,
//! deterministic data, and following a paused child process.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long any wait for a child process may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Environment variable of the test stop points.
pub const STOP_AT: &str = "STRATA_TEST_STOP_AT";

/// Result of one finished command.
#[derive(Debug, Clone)]
pub struct Out {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Out {
    /// Stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Asserts the exit code, showing both streams on failure.
    pub fn code_is(&self, code: i32, what: &str) -> &Self {
        assert_eq!(
            self.code, code,
            "{what}: exit code {} (expected {code})\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// A temporary world: home, destination directory `repo` (as destination `d`)
/// and source directory `src` (as task `t`).
pub struct World {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub repo: PathBuf,
    pub src: PathBuf,
    /// Program and arguments put before the strata binary (e.g. setpriv).
    prefix: Vec<OsString>,
}

impl World {
    /// A world with an (empty) source directory; nothing is configured yet.
    pub fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let repo = dir.path().join("repo");
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).expect("create src");
        World {
            dir,
            home,
            repo,
            src,
            prefix: Vec::new(),
        }
    }

    /// Runs every strata command through `prefix` (e.g. `setpriv --reuid=…`).
    pub fn with_prefix(mut self, prefix: &[&str]) -> World {
        self.prefix = prefix.iter().map(OsString::from).collect();
        self
    }

    /// Adds destination `d` at `repo` and task `t` backing up `src` to it.
    pub fn setup(&self) {
        self.ok(&["dest", "add", "d", "--local", path_str(&self.repo)]);
        self.ok(&[
            "task",
            "add",
            "t",
            "--dir",
            path_str(&self.src),
            "--dest",
            "d",
        ]);
    }

    /// A command running the strata binary with `--home` and `args`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let bin = env!("CARGO_BIN_EXE_strata");
        let mut c = match self.prefix.split_first() {
            Some((p, rest)) => {
                let mut c = Command::new(p);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        c.arg("--home").arg(&self.home).args(args);
        c.env_remove(STOP_AT).env_remove("STRATA_LOG");
        c.env_remove("STRATA_HOME");
        c.stdin(Stdio::null());
        c
    }

    /// Runs `args` to completion.
    pub fn run(&self, args: &[&str]) -> Out {
        let o = self
            .cmd(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run strata {args:?}: {e}"));
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Runs `args` and asserts exit code 0.
    pub fn ok(&self, args: &[&str]) -> Out {
        let o = self.run(args);
        o.code_is(0, &format!("strata {}", args.join(" ")));
        o
    }

    /// Starts `args` with `STRATA_TEST_STOP_AT=stop`, stdout and stderr piped.
    pub fn spawn(&self, args: &[&str], stop: &str) -> Running {
        let mut c = self.cmd(args);
        c.env(STOP_AT, stop)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Running::start(c)
    }

    /// Starts `args` with no stop point (to kill it at an arbitrary moment).
    pub fn spawn_free(&self, args: &[&str]) -> Running {
        self.spawn(args, "")
    }

    /// `verify --all --read-data`, then restores every backup `backup list`
    /// shows and checks it equals, byte for byte, the source state `claims`
    /// records for its id (every listed backup must have a claim).
    pub fn check_listed_restore(&self, claims: &BTreeMap<String, BTreeMap<String, Vec<u8>>>) {
        self.ok(&["verify", "--all", "--read-data"]);
        for b in self.list() {
            let id = b["id"].as_str().expect("id");
            assert_eq!(b["status"], "complete", "{b}");
            assert!(
                self.backup_dir(id).join("COMMIT").exists(),
                "listed backup {id} has no COMMIT"
            );
            let want = claims
                .get(id)
                .unwrap_or_else(|| panic!("backup {id} is listed but no run made it: {b}"));
            let target = self.path(&format!("restored-{id}"));
            self.ok(&["restore", id, "--to", path_str(&target)]);
            let got = snapshot(&target);
            assert!(
                got == *want,
                "backup {id} does not restore the source state it claims ({} files restored, {} expected)",
                got.len(),
                want.len()
            );
        }
    }

    /// `backup list --reverse --json`: oldest first.
    pub fn list(&self) -> Vec<Value> {
        match self.ok(&["backup", "list", "--reverse", "--json"]).json() {
            Value::Array(v) => v,
            other => panic!("backup list --json is not an array: {other}"),
        }
    }

    /// Ids from `backup list --json`, oldest first.
    pub fn ids(&self) -> Vec<String> {
        self.list()
            .iter()
            .map(|b| b["id"].as_str().expect("id").to_string())
            .collect()
    }

    /// `backup show ID --json`.
    pub fn show(&self, id: &str) -> Value {
        self.ok(&["backup", "show", id, "--json"]).json()
    }

    /// Runs a backup with `--json`, asserting the exit code; returns the JSON.
    pub fn backup(&self, flags: &[&str], code: i32) -> Value {
        let mut args = vec!["backup", "run", "t", "--json"];
        args.extend_from_slice(flags);
        let o = self.run(&args);
        o.code_is(code, &format!("strata {}", args.join(" ")));
        o.json()
    }

    /// Directory of backup `id` in the repository.
    pub fn backup_dir(&self, id: &str) -> PathBuf {
        self.repo.join("backups").join(id)
    }

    /// Names of the directories under `repo/backups`.
    pub fn backup_dirs(&self) -> BTreeSet<String> {
        let Ok(rd) = std::fs::read_dir(self.repo.join("backups")) else {
            return BTreeSet::new();
        };
        rd.map(|e| e.expect("read backups dir"))
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// A fresh path under the world's directory (not created).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// `p` as `&str` (test paths are UTF-8).
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Makes `p` readable, writable and searchable by everyone.
pub fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", p.display()));
}

/// A child process whose stderr is followed line by line.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stdout: Option<JoinHandle<String>>,
    reaped: bool,
}

impl Running {
    fn start(mut c: Command) -> Running {
        let mut child = c.spawn().expect("spawn strata");
        let err = child.stderr.take().expect("piped stderr");
        let mut out = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        Running {
            child,
            lines: rx,
            seen: Vec::new(),
            stdout: Some(stdout),
            reaped: false,
        }
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (at most `DEADLINE`) for a stderr line containing `needle`.
    pub fn wait_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "no stderr line containing {needle:?} within {DEADLINE:?}; stderr so far:\n{}",
                        self.seen.join("\n")
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    self.reaped = true;
                    panic!(
                        "strata ended ({status:?}) before printing {needle:?}; stderr:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Waits `d` (or less, if it ends sooner), then kill -9 and reap.
    pub fn kill9_after(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                self.reaped = true;
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.kill9();
    }

    /// kill -9 and reap.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL strata");
        self.child.wait().expect("reap strata");
        self.reaped = true;
    }

    /// Waits (at most `DEADLINE`) for the process to end and collects its output.
    pub fn finish(&mut self) -> Out {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.reaped = true;
                panic!(
                    "strata did not finish within {DEADLINE:?}; stderr:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.reaped = true;
        // The process is gone, so the reader threads reach EOF promptly.
        while let Ok(line) = self.lines.recv_timeout(DEADLINE) {
            self.seen.push(line);
        }
        let stdout = self
            .stdout
            .take()
            .map(|h| h.join().expect("stdout reader"))
            .unwrap_or_default();
        Out {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr: self.seen.join("\n"),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that failed halfway must not leave a paused strata behind.
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// xorshift64*: deterministic pseudo-random bytes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(len);
        v
    }
}

/// Writes `len` pseudo-random bytes (from `seed`) to `root/rel`, creating parents.
pub fn random_file(root: &Path, rel: &str, len: usize, seed: u64) {
    let p = root.join(rel);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).expect("create parent");
    }
    std::fs::write(&p, Rng::new(seed).bytes(len)).expect("write random file");
}

/// Writes `text` to `root/rel`, creating parents.
pub fn text_file(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).expect("create parent");
    }
    std::fs::write(&p, text).expect("write text file");
}

/// Every regular file under `root`: relative path (with '/') → contents.
pub fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let mut ents: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
            .map(|e| e.expect("dir entry"))
            .collect();
        ents.sort_by_key(|e| e.file_name());
        for e in ents {
            let p = e.path();
            let t = e.file_type().expect("file type");
            if t.is_dir() {
                walk(root, &p, out);
            } else if t.is_file() {
                let rel = p
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                let data = std::fs::read(&p).unwrap_or_default();
                out.insert(rel, data);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Flips every bit of the byte at `offset` of `path`.
pub fn flip_byte(path: &Path, offset: usize) {
    let mut data = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(offset < data.len(), "{} is too short", path.display());
    data[offset] ^= 0xFF;
    std::fs::write(path, data).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Whether this process runs as root (where permission bits do not stop reads).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Whether `prog` can be run (found on PATH).
pub fn have(prog: &str) -> bool {
    Command::new(prog)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}
