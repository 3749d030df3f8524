//! The `command` source: the standard output of a dump command (`pg_dump`,
//! `mariadb-dump`, `mongodump --archive`, …), streamed as one entry `dump`
//! through the chunker, and the restore command that reads it back on stdin.
//!
//! How a command runs: without a shell when it has none of the shell's
//! metacharacters ([`SHELL_CHARS`], and newline), split on whitespace into
//! argv; otherwise as `sh -c COMMAND`. Either way it runs in a process group
//! of its own (a timeout kills the whole group), with the environment of
//! Strata plus the lines of the task's env file, which must be private
//! (0600) and is never logged or put on a command line.

pub use super::command_env::{env_of, parse_timeout, read_env_file};
pub use super::command_sink::CommandSink;
use super::{
    EntryReader, Listing, Source, SourceEntry, SourceError, SourceKind, SourceReport, SourceRun,
};
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Characters that make a command run through `sh -c` (with newline).
pub const SHELL_CHARS: &str = "|&;<>()$`\"'*?[]#~=%\\";

/// Bytes of a command's stderr kept for error messages (the tail).
pub const STDERR_TAIL: usize = 4096;

/// The name of the one entry of a command source.
pub const ENTRY: &str = "dump";

/// How a command line is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Directly, with this argv (program first).
    Direct(Vec<String>),
    /// Through `sh -c` with this script.
    Shell(String),
}

/// Whether `cmd` needs a shell: any of [`SHELL_CHARS`] or a newline.
pub fn needs_shell(cmd: &str) -> bool {
    cmd.chars().any(|c| c == '\n' || SHELL_CHARS.contains(c))
}

/// How `cmd` runs, with `{target}` replaced by `target` when given: in each
/// argv word (direct), or shell-quoted (through `sh`), so a target name can
/// never become a second command or argument.
pub fn invocation(cmd: &str, target: Option<&str>) -> Result<Invocation, String> {
    invocation_with(cmd, "{target}", target)
}

/// [`invocation`] with any placeholder (`{target}`, a snapshot's `{tag}`).
pub fn invocation_with(
    cmd: &str,
    placeholder: &str,
    value: Option<&str>,
) -> Result<Invocation, String> {
    if needs_shell(cmd) {
        let script = match value {
            Some(t) => {
                let q = shlex::try_quote(t)
                    .map_err(|_| format!("value {t:?} contains a NUL character"))?;
                cmd.replace(placeholder, &q)
            }
            None => cmd.to_string(),
        };
        return Ok(Invocation::Shell(script));
    }
    let words: Vec<String> = cmd
        .split_whitespace()
        .map(|w| match value {
            Some(t) => w.replace(placeholder, t),
            None => w.to_string(),
        })
        .collect();
    if words.is_empty() {
        return Err("is empty; give a command".into());
    }
    Ok(Invocation::Direct(words))
}

/// Runs `cmd` to its end the way a dump runs (no shell unless needed, its own
/// process group, the env file, `timeout`), with `placeholder` replaced by
/// `value`, stdin and stdout discarded. A non-zero exit, a kill or a timeout
/// is an error carrying the tail of its stderr; `what` names it there.
pub fn run_to_end(
    what: &str,
    cmd: &str,
    placeholder: &str,
    value: &str,
    env_file: Option<&Path>,
    timeout: Option<Duration>,
) -> Result<(), SourceError> {
    let fail = |detail: String| SourceError::Failed {
        what: what.to_string(),
        detail,
    };
    let env = env_of(env_file).map_err(fail)?;
    let inv = invocation_with(cmd, placeholder, Some(value)).map_err(fail)?;
    let mut running = Running::spawn(what, &inv, &env, Stdio::null(), Stdio::null(), timeout)?;
    running.wait()
}

impl Invocation {
    /// The process to spawn (arguments set, nothing else).
    pub(crate) fn command(&self) -> Command {
        match self {
            Invocation::Direct(argv) => {
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]);
                c
            }
            Invocation::Shell(script) => {
                let mut c = Command::new("sh");
                c.arg("-c").arg(script);
                c
            }
        }
    }
}

/// The last [`STDERR_TAIL`] bytes of a pipe, read to its end on a thread.
struct Tail(Option<JoinHandle<Vec<u8>>>);

impl Tail {
    fn start(pipe: Option<impl Read + Send + 'static>) -> Tail {
        Tail(pipe.map(|mut p| {
            std::thread::spawn(move || {
                let mut keep: Vec<u8> = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    match p.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            keep.extend_from_slice(&buf[..n]);
                            if keep.len() > 2 * STDERR_TAIL {
                                keep.drain(..keep.len() - STDERR_TAIL);
                            }
                        }
                    }
                }
                let cut = keep.len().saturating_sub(STDERR_TAIL);
                keep.split_off(cut)
            })
        }))
    }

    /// The tail as one line of text (control characters as spaces).
    fn text(&mut self) -> String {
        let bytes = self
            .0
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let s = String::from_utf8_lossy(&bytes);
        let s: String = s
            .trim()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Kills a child's process group when its time is up.
pub(super) struct Watchdog {
    done: Option<Sender<()>>,
    fired: Arc<Mutex<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    fn start(pid: u32, timeout: Option<Duration>) -> Watchdog {
        let fired = Arc::new(Mutex::new(false));
        let Some(timeout) = timeout else {
            return Watchdog {
                done: None,
                fired,
                thread: None,
            };
        };
        let (tx, rx) = channel::<()>();
        let flag = fired.clone();
        let thread = std::thread::spawn(move || {
            if rx.recv_timeout(timeout) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                if let Ok(mut f) = flag.lock() {
                    *f = true;
                }
                kill_group(pid);
            }
        });
        Watchdog {
            done: Some(tx),
            fired,
            thread: Some(thread),
        }
    }

    /// Stops the watchdog; whether it had fired.
    pub(super) fn stop(&mut self) -> bool {
        drop(self.done.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.fired.lock().map(|f| *f).unwrap_or(true)
    }
}

/// Bytes a pipe to or from a command holds: Linux's default of 64 KiB
/// makes a dump wait whenever Strata is busy with a frame; 1 MiB (the
/// unprivileged maximum) lets it run ahead.
const PIPE_SIZE: usize = 1 << 20;

/// Grows a pipe to [`PIPE_SIZE`]; where the system refuses, it stays as it is.
pub(super) fn widen_pipe(p: &impl std::os::fd::AsFd) {
    let _ = rustix::pipe::fcntl_setpipe_size(p, PIPE_SIZE);
}

pub(super) fn kill_group(pid: u32) {
    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
    }
}

/// A running command: its process, stderr tail and watchdog.
pub(super) struct Running {
    what: String,
    pub(super) child: Child,
    tail: Tail,
    pub(super) watchdog: Watchdog,
    timeout: Option<Duration>,
    pub(super) finished: bool,
    /// The env file's values, masked in the stderr tail should the command print one.
    secrets: Vec<String>,
}

impl Running {
    pub(super) fn spawn(
        what: &str,
        inv: &Invocation,
        env: &[(String, String)],
        stdin: Stdio,
        stdout: Stdio,
        timeout: Option<Duration>,
    ) -> Result<Running, SourceError> {
        let mut cmd = inv.command();
        cmd.envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| SourceError::Failed {
            what: what.to_string(),
            detail: format!(
                "could not start ({e}); check that the program is installed and on PATH"
            ),
        })?;
        let tail = Tail::start(child.stderr.take());
        let watchdog = Watchdog::start(child.id(), timeout);
        Ok(Running {
            what: what.to_string(),
            child,
            tail,
            watchdog,
            timeout,
            finished: false,
            secrets: env
                .iter()
                .map(|(_, v)| v.clone())
                .filter(|v| v.len() >= 4)
                .collect(),
        })
    }

    /// Waits for the command; an exit other than 0 is an error with the stderr tail.
    pub(super) fn wait(&mut self) -> Result<(), SourceError> {
        let status = self.child.wait();
        self.finished = true;
        let fired = self.watchdog.stop();
        let mut tail = self.tail.text();
        for v in &self.secrets {
            tail = tail.replace(v.as_str(), "***");
        }
        let status: ExitStatus = status.map_err(|e| SourceError::Failed {
            what: self.what.clone(),
            detail: format!("could not be waited for ({e})"),
        })?;
        let why = if fired {
            format!(
                "timed out after {} s and was killed",
                self.timeout.map_or(0, |t| t.as_secs())
            )
        } else if let Some(sig) = status.signal() {
            format!("was killed by signal {sig}")
        } else if status.code() != Some(0) {
            format!("exited with status {}", status.code().unwrap_or(-1))
        } else {
            return Ok(());
        };
        let detail = if tail.is_empty() {
            format!("{why} (no stderr output)")
        } else {
            format!("{why}; stderr: {tail}")
        };
        Err(SourceError::Failed {
            what: self.what.clone(),
            detail,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.finished {
            // A backup that fails midway must not leave its dump running.
            kill_group(self.child.id());
            let _ = self.child.wait();
            self.watchdog.stop();
        }
    }
}

/// A dump command as a source.
pub struct CommandSource {
    dump: String,
    timeout: Option<String>,
    env_file: Option<PathBuf>,
}

impl CommandSource {
    /// The source running `dump`, within `timeout`, with the env file's variables.
    pub fn new(dump: &str, timeout: Option<&str>, env_file: Option<&Path>) -> CommandSource {
        CommandSource {
            dump: dump.to_string(),
            timeout: timeout.map(str::to_string),
            env_file: env_file.map(Path::to_path_buf),
        }
    }

    fn failed(&self, detail: String) -> SourceError {
        SourceError::Failed {
            what: format!("command {:?}", self.dump),
            detail,
        }
    }
}

impl Source for CommandSource {
    fn describe(&self) -> String {
        format!("command {}", self.dump)
    }

    fn begin(&self) -> Result<Box<dyn SourceRun>, SourceError> {
        let env = env_of(self.env_file.as_deref()).map_err(|e| self.failed(e))?;
        let timeout = self
            .timeout
            .as_deref()
            .map(parse_timeout)
            .transpose()
            .map_err(|e| self.failed(e))?;
        let inv = invocation(&self.dump, None).map_err(|e| self.failed(e))?;
        let what = format!("command {:?}", self.dump);
        let mut running =
            Running::spawn(&what, &inv, &env, Stdio::null(), Stdio::piped(), timeout)?;
        let stdout = running.child.stdout.take();
        if let Some(p) = &stdout {
            widen_pipe(p);
        }
        Ok(Box::new(CommandRun {
            running,
            stdout: Mutex::new(stdout),
        }))
    }
}

/// One run of a dump command.
struct CommandRun {
    running: Running,
    stdout: Mutex<Option<ChildStdout>>,
}

impl SourceRun for CommandRun {
    fn entries(&mut self) -> Result<Listing, SourceError> {
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
        Ok(Listing {
            entries: vec![SourceEntry {
                path: ENTRY.as_bytes().to_vec(),
                kind: SourceKind::File,
                mode: 0o600,
                uid: rustix::process::geteuid().as_raw(),
                gid: rustix::process::getegid().as_raw(),
                mtime_ns: now,
                ctime_ns: now,
                inode: 0,
                dev: 0,
                size: None,
                nlink: 1,
            }],
            errors: Vec::new(),
        })
    }

    fn open(&self, _entry: &SourceEntry) -> Result<Box<dyn EntryReader>, SourceError> {
        let pipe = match self.stdout.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        let pipe = pipe.ok_or_else(|| {
            SourceError::Read(std::io::Error::other("the dump's output was already read"))
        })?;
        Ok(Box::new(Pipe(pipe)))
    }

    fn finish(mut self: Box<Self>) -> Result<SourceReport, SourceError> {
        // The output was never read (the backup stopped early): close it so
        // the command cannot block on a full pipe.
        if let Ok(mut g) = self.stdout.lock() {
            g.take();
        }
        self.running.wait()?;
        Ok(SourceReport::default())
    }
}

/// The dump's standard output.
struct Pipe(ChildStdout);

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl EntryReader for Pipe {
    fn changed(&self, _entry: &SourceEntry, _read: u64) -> std::io::Result<bool> {
        // A stream has nothing to compare with: it is one consistent dump or the command fails.
        Ok(false)
    }
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
