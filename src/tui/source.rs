//! Where the console's data comes from: the core in this process, or the
//! daemon over its control socket. Both run commands of the one grammar and
//! produce the same `Snapshot`, so the console never knows the difference.

use crate::command::exec::{Io, run_with_core};
use crate::command::line::parse_line;
use crate::core::Core;
use crate::core::access::{Caller, Role};
use crate::core::backups::BackupRow;
use crate::core::home::Home;
use crate::core::registry::JobView;
use crate::core::rows::{DestinationRow, TaskRow};
use crate::model::{AuditEntry, RunRecord};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Audit entries the console shows (the newest); `strata audit` shows all.
pub const AUDIT_SHOWN: usize = 500;

/// Everything the console shows, taken at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Tasks with status and next backup.
    pub tasks: Vec<TaskRow>,
    /// Backups with sizes, oldest first.
    pub backups: Vec<BackupRow>,
    /// Running and queued jobs.
    pub jobs: Vec<JobView>,
    /// Recent runs, newest first.
    pub runs: Vec<RunRecord>,
    /// Audit log, oldest first.
    pub audit: Vec<AuditEntry>,
    /// When it was taken.
    pub taken: Option<DateTime<Utc>>,
    /// Destinations and whether their repositories open.
    pub destinations: Vec<DestinationRow>,
    /// Where the restore dialog proposes new directories: the first
    /// `restore_roots` entry of strata.toml, else the console's working
    /// directory (where a relative `:restore … --to DIR` lands too).
    pub restore_base: Option<std::path::PathBuf>,
}

/// The restore dialog's base directory for `home` (see `Snapshot::restore_base`).
pub fn restore_base(home: &Home) -> Option<std::path::PathBuf> {
    home.settings()
        .ok()
        .and_then(|s| s.restore_roots.into_iter().next())
        .or_else(|| std::env::current_dir().ok())
}

/// Output of one command run from the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Exit code (design.md §3).
    pub code: u8,
    /// What it printed.
    pub stdout: String,
    /// Its notes and errors.
    pub stderr: String,
}

impl Outcome {
    /// A command that did not run, with why.
    pub fn failed(code: u8, why: impl Into<String>) -> Outcome {
        Outcome {
            code,
            stdout: String::new(),
            stderr: why.into(),
        }
    }

    /// Runs `f` with in-memory stdout and stderr and keeps what it printed.
    fn capture(f: impl FnOnce(&mut Io<'_>) -> u8) -> Outcome {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = f(&mut Io {
            out: &mut out,
            err: &mut err,
            local: false,
        });
        Outcome {
            code,
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stderr: String::from_utf8_lossy(&err).into_owned(),
        }
    }
}

/// A data source for the console.
pub trait Source: Send + Sync {
    /// Reads the current state.
    fn snapshot(&self) -> Result<Snapshot, String>;
    /// Runs one command line of the grammar (as the `:` line does).
    fn execute(&self, line: &str) -> Outcome;
    /// Who the console acts as.
    fn caller(&self) -> &Caller;
    /// Where the data lives (for the header).
    fn describe(&self) -> String;
    /// Cancels jobs running in this process and waits for their cleanup.
    fn cancel_all_and_wait(&self) {}
}

/// The core in this process (no daemon running).
pub struct LocalSource {
    core: Arc<Core>,
    caller: Caller,
    /// Inside the daemon (an SSH session): commands take the daemon's path,
    /// so `backup run --detach` leaves the job running in the daemon.
    in_daemon: bool,
    /// Read once: strata.toml is read when the core opens, not per refresh.
    restore_base: Option<std::path::PathBuf>,
}

impl LocalSource {
    /// Wraps an open core.
    pub fn new(core: Arc<Core>, caller: Caller) -> LocalSource {
        LocalSource {
            restore_base: core
                .settings
                .restore_roots
                .first()
                .cloned()
                .or_else(|| std::env::current_dir().ok()),
            core,
            caller,
            in_daemon: false,
        }
    }

    /// A console session inside the daemon, acting as `caller`.
    pub fn in_daemon(core: Arc<Core>, caller: Caller) -> LocalSource {
        // Relative targets resolve against the home in the daemon (see
        // daemon::dispatch), not against its working directory.
        let base = core
            .settings
            .restore_roots
            .first()
            .cloned()
            .unwrap_or_else(|| core.home().root().to_path_buf());
        LocalSource {
            restore_base: Some(base),
            core,
            caller,
            in_daemon: true,
        }
    }
}

fn run_line(
    line: &str,
    f: impl FnOnce(crate::command::Cli, &mut Io<'_>) -> Result<u8, crate::core::CoreError>,
) -> Outcome {
    let cli = match parse_line(line) {
        Ok(c) => c,
        Err(e) => return Outcome::failed(2, e.to_string()),
    };
    if matches!(
        cli.command,
        crate::command::Command::Serve { .. }
            | crate::command::Command::Demo
            | crate::command::Command::Tui { .. }
    ) {
        return Outcome::failed(2, "that command cannot run inside the console");
    }
    Outcome::capture(|io| match f(cli, io) {
        Ok(c) => c,
        Err(e) => {
            let _ = std::io::Write::write_all(io.err, format!("strata: {e}\n").as_bytes());
            e.exit_code()
        }
    })
}

fn run_in_daemon(core: &Arc<Core>, caller: &Caller, line: &str) -> Outcome {
    let Some(words) = shlex::split(line) else {
        return Outcome::failed(2, "unbalanced quotes");
    };
    Outcome::capture(|io| {
        crate::daemon::dispatch::dispatch(core, &words, caller, core.home().root(), io)
    })
}

impl Source for LocalSource {
    fn snapshot(&self) -> Result<Snapshot, String> {
        let c = &self.core;
        Ok(Snapshot {
            tasks: c.task_rows().map_err(|e| e.to_string())?,
            backups: c.backups(None).map_err(|e| e.to_string())?,
            jobs: c.jobs.list(),
            runs: c.runs(None, 200).map_err(|e| e.to_string())?,
            audit: c.audit_tail(AUDIT_SHOWN).map_err(|e| e.to_string())?,
            taken: Some(Utc::now()),
            destinations: c.destination_rows().map_err(|e| e.to_string())?,
            restore_base: self.restore_base.clone(),
        })
    }

    fn execute(&self, line: &str) -> Outcome {
        if self.in_daemon {
            return run_in_daemon(&self.core, &self.caller, line);
        }
        run_line(line, |cli, io| {
            run_with_core(&self.core, cli, &self.caller, io)
        })
    }

    fn caller(&self) -> &Caller {
        &self.caller
    }

    fn describe(&self) -> String {
        if self.in_daemon {
            return format!("{} (ssh)", self.core.home().root().display());
        }
        self.core.home().root().display().to_string()
    }

    fn cancel_all_and_wait(&self) {
        // The daemon's jobs belong to the daemon, not to one session.
        if self.in_daemon {
            return;
        }
        self.core.jobs.cancel_all();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.core.jobs.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// The daemon of a home, through its control socket.
pub struct RemoteSource {
    home: Home,
    caller: Caller,
    restore_base: Option<std::path::PathBuf>,
}

impl RemoteSource {
    /// Talks to the daemon serving `home`.
    pub fn new(home: Home, caller: Caller) -> RemoteSource {
        RemoteSource {
            restore_base: restore_base(&home),
            home,
            caller,
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self, line: &str) -> Result<T, String> {
        let o = self.execute(&format!("{line} --json"));
        if o.code != 0 {
            return Err(o.stderr.trim().to_string());
        }
        serde_json::from_str(&o.stdout).map_err(|e| format!("unexpected reply to '{line}': {e}"))
    }
}

impl Source for RemoteSource {
    fn snapshot(&self) -> Result<Snapshot, String> {
        // Destinations come as definitions only: their state is not checked here.
        let dests: Vec<crate::model::DestinationConfig> =
            self.json("dest list").unwrap_or_default();
        Ok(Snapshot {
            tasks: self.json("task list")?,
            backups: self.json("backup list")?,
            jobs: self.json("jobs")?,
            runs: self.json("runs --limit 200").unwrap_or_default(),
            audit: self
                .json(&format!("audit --limit {AUDIT_SHOWN}"))
                .unwrap_or_default(),
            taken: Some(Utc::now()),
            destinations: dests
                .into_iter()
                .map(|config| DestinationRow {
                    config,
                    checked: false,
                    problem: None,
                })
                .collect(),
            restore_base: self.restore_base.clone(),
        })
    }

    fn execute(&self, line: &str) -> Outcome {
        let Some(words) = shlex::split(line) else {
            return Outcome::failed(2, "unbalanced quotes");
        };
        let mut gone = false;
        let o = Outcome::capture(|io| {
            crate::daemon::client::try_forward(
                &self.home,
                words,
                self.caller.clone(),
                io.out,
                io.err,
            )
            .unwrap_or_else(|| {
                gone = true;
                1
            })
        });
        if gone {
            return Outcome::failed(1, "the daemon is no longer running; restart the console");
        }
        o
    }

    fn caller(&self) -> &Caller {
        &self.caller
    }

    fn describe(&self) -> String {
        format!("{} (via daemon)", self.home.root().display())
    }
}

/// The role a console session has, for showing disabled actions.
pub fn role_of(source: &dyn Source) -> Role {
    source.caller().role
}
