//! Where the console's data comes from: the core in this process, or the
//! daemon over its control socket. Both perform the core's typed actions and
//! produce the same `Snapshot`, so the console never knows the difference.

use crate::command::exec::Io;
use crate::command::line::{Origin, run_line};
use crate::core::access::{Caller, Role};
use crate::core::home::Home;
use crate::core::{Action, Core, CoreError, Outcome};
use std::path::PathBuf;
use std::sync::Arc;

pub use crate::core::outcome::Overview as Snapshot;
pub use crate::core::perform::AUDIT_SHOWN;

/// The restore dialog's base directory for `home`: the first `restore_roots`
/// entry of strata.toml, else the console's working directory.
pub fn restore_base(home: &Home) -> Option<PathBuf> {
    home.settings()
        .ok()
        .and_then(|s| s.restore_roots.into_iter().next())
        .or_else(|| std::env::current_dir().ok())
}

/// What a `:` line printed, and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printed {
    /// Exit code (design.md §3).
    pub code: u8,
    /// What it printed.
    pub stdout: String,
    /// Its notes and errors.
    pub stderr: String,
}

impl Printed {
    /// A line that did not run, with why.
    pub fn failed(code: u8, why: impl Into<String>) -> Printed {
        Printed {
            code,
            stdout: String::new(),
            stderr: why.into(),
        }
    }

    /// Runs `f` with in-memory stdout and stderr and keeps what it printed.
    fn capture(f: impl FnOnce(&mut Io<'_>) -> u8) -> Printed {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = f(&mut Io {
            out: &mut out,
            err: &mut err,
            local: false,
            binary: false,
        });
        Printed {
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
    /// Performs one typed action (what the console's keys ask for).
    fn perform(&self, action: Action) -> Result<Outcome, CoreError>;
    /// Runs one command line of the grammar (the `:` line) and keeps its text.
    fn run_line(&self, line: &str) -> Printed;
    /// Who the console acts as.
    fn caller(&self) -> &Caller;
    /// Where the data lives (for the header).
    fn describe(&self) -> String;
    /// Cancels jobs running in this process and waits for their cleanup.
    fn cancel_all_and_wait(&self) {}
    /// The home's directory, where the console keeps its `:` history.
    fn home_root(&self) -> Option<PathBuf> {
        None
    }
}

/// The snapshot in an overview's outcome, with the console's restore base.
fn snapshot_of(
    got: Result<Outcome, CoreError>,
    restore_base: &Option<PathBuf>,
) -> Result<Snapshot, String> {
    match got {
        Ok(Outcome::Overview(mut o)) => {
            o.restore_base = restore_base.clone();
            Ok(*o)
        }
        Ok(_) => Err("the overview came back as something else".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A restore target the user typed relative to `base` made absolute.
fn anchored(action: Action, base: &std::path::Path) -> Action {
    match action {
        Action::Restore { id, to, path } if to.is_relative() && !to.as_os_str().is_empty() => {
            Action::Restore {
                id,
                to: base.join(to),
                path,
            }
        }
        other => other,
    }
}

/// The core in this process (no daemon running).
pub struct LocalSource {
    core: Arc<Core>,
    caller: Caller,
    /// Inside the daemon (an SSH session): commands take the daemon's path,
    /// so `backup run --detach` leaves the job running in the daemon.
    in_daemon: bool,
    /// Read once: strata.toml is read when the core opens, not per refresh.
    restore_base: Option<PathBuf>,
    /// Where relative paths of `:` lines and the restore dialog resolve.
    cwd: PathBuf,
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
            cwd: std::env::current_dir().unwrap_or_else(|_| core.home().root().to_path_buf()),
            core,
            caller,
            in_daemon: false,
        }
    }

    /// A console session inside the daemon, acting as `caller`.
    pub fn in_daemon(core: Arc<Core>, caller: Caller) -> LocalSource {
        // Relative targets resolve against the home in the daemon (as for
        // every client over SSH), not against its working directory.
        let base = core
            .settings
            .restore_roots
            .first()
            .cloned()
            .unwrap_or_else(|| core.home().root().to_path_buf());
        LocalSource {
            restore_base: Some(base),
            cwd: core.home().root().to_path_buf(),
            core,
            caller,
            in_daemon: true,
        }
    }
}

impl Source for LocalSource {
    fn snapshot(&self) -> Result<Snapshot, String> {
        let overview = Action::Overview {
            check_destinations: true,
        };
        snapshot_of(
            self.core.perform(&self.caller, overview),
            &self.restore_base,
        )
    }

    fn perform(&self, action: Action) -> Result<Outcome, CoreError> {
        self.core.perform(&self.caller, anchored(action, &self.cwd))
    }

    fn run_line(&self, line: &str) -> Printed {
        let origin = Origin::Console {
            cwd: self.cwd.clone(),
        };
        Printed::capture(|io| run_line(&self.core, line, &self.caller, &origin, io))
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

    fn home_root(&self) -> Option<PathBuf> {
        Some(self.core.home().root().to_path_buf())
    }

    fn cancel_all_and_wait(&self) {
        // The daemon's jobs belong to the daemon, not to one session.
        if self.in_daemon {
            return;
        }
        self.core.stop_jobs(std::time::Duration::from_secs(60));
    }
}

/// The daemon of a home, through its control socket.
pub struct RemoteSource {
    home: Home,
    caller: Caller,
    restore_base: Option<PathBuf>,
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
}

impl Source for RemoteSource {
    fn snapshot(&self) -> Result<Snapshot, String> {
        // The daemon answers from its cache of background checks, so asking
        // for the destinations' state never waits on a slow one.
        let overview = Action::Overview {
            check_destinations: true,
        };
        snapshot_of(self.perform(overview), &self.restore_base)
    }

    fn perform(&self, action: Action) -> Result<Outcome, CoreError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| self.home.root().to_path_buf());
        crate::daemon::client::perform(&self.home, anchored(action, &cwd), self.caller.clone())
            .unwrap_or_else(|| {
                Err(CoreError::Failed(
                    "the daemon is no longer running; restart the console".into(),
                ))
            })
    }

    fn run_line(&self, line: &str) -> Printed {
        let Some(mut words) = shlex::split(line) else {
            return Printed::failed(2, "unbalanced quotes");
        };
        if words.first().is_some_and(|w| w == "strata") {
            words.remove(0);
        }
        let mut gone = false;
        let o = Printed::capture(|io| {
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
            return Printed::failed(1, "the daemon is no longer running; restart the console");
        }
        o
    }

    fn caller(&self) -> &Caller {
        &self.caller
    }

    fn describe(&self) -> String {
        format!("{} (via daemon)", self.home.root().display())
    }

    fn home_root(&self) -> Option<PathBuf> {
        Some(self.home.root().to_path_buf())
    }
}

/// The role a console session has, for showing disabled actions.
pub fn role_of(source: &dyn Source) -> Role {
    source.caller().role
}
