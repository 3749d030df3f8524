//! `strata serve`: owns the catalog, runs scheduled backups (and retention after
//! each), and executes commands sent over the control socket.

use super::protocol::{self, Frame, FrameWriter, Request};
use crate::command::exec::Io;
use crate::core::clock::{Clock, SystemClock};
use crate::core::home::Home;
use crate::core::scheduler::{Scheduler, host_tz};
use crate::core::{Core, CoreError};
use crate::model::{RunRecord, RunStatus, TaskConfig};
use crate::progress::Progress;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long shutdown waits for cancelled jobs to clean up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(120);

fn state_path(home: &Home) -> PathBuf {
    home.root().join("scheduler-state.json")
}

fn load_state(path: &Path) -> HashMap<String, DateTime<Utc>> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_state(path: &Path, state: &HashMap<String, DateTime<Utc>>) {
    let tmp = path.with_extension("json.tmp");
    let ok = serde_json::to_vec_pretty(state)
        .ok()
        .and_then(|b| crate::core::private::write(&tmp, &b).ok())
        .and_then(|_| std::fs::rename(&tmp, path).ok());
    if ok.is_none() {
        tracing::warn!("could not save scheduler state to {}", path.display());
    }
}

/// Runs the daemon in the foreground until SIGINT or SIGTERM.
pub fn serve(home: Home, listen: &str, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let core = Arc::new(Core::open(
        home.clone(),
        &format!("strata serve (pid {})", std::process::id()),
    )?);
    crate::command::exec::recovery_notes(&core, io);
    let ssh = if listen == "off" {
        None
    } else {
        let running = crate::ssh::start(core.clone(), listen).map_err(|e| match e {
            crate::ssh::SshError::Listen { .. } => CoreError::Busy(e.to_string()),
            _ => CoreError::Invalid(e.to_string()),
        })?;
        let host = if running.addr.ip().is_unspecified() {
            "HOST".to_string()
        } else {
            running.addr.ip().to_string()
        };
        let _ = writeln!(
            io.err,
            "strata: SSH on {} (host key {}); connect with 'ssh -p {} {host}'",
            running.addr,
            running.fingerprint,
            running.addr.port(),
        );
        Some(running)
    };
    let sock = super::socket_path(&home);
    // We hold the catalog lock, so no live daemon owns a socket file left here.
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock)
        .map_err(|e| CoreError::Failed(format!("cannot listen on {}: {e}", sock.display())))?;
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
        CoreError::Failed(format!(
            "cannot restrict {} to its owner: {e}",
            sock.display()
        ))
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| CoreError::Failed(format!("socket {}: {e}", sock.display())))?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| CoreError::Failed(format!("cannot handle signals: {e}")))?;
    }
    let _ = writeln!(
        io.err,
        "strata: serving {} (control socket {}); stop with Ctrl-C or SIGTERM",
        home.root().display(),
        sock.display()
    );
    tracing::info!(home = %home.root().display(), pid = std::process::id(), "daemon started");

    let sched = {
        let (core, stop, home) = (core.clone(), stop.clone(), home.clone());
        std::thread::spawn(move || scheduler_loop(&core, &stop, &home))
    };
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let core = core.clone();
                std::thread::spawn(move || {
                    if let Err(e) = handle(&core, stream) {
                        tracing::warn!("control connection: {e}");
                    }
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => {
                tracing::warn!("accept on {}: {e}", sock.display());
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    tracing::info!("shutting down: cancelling {} job(s)", core.jobs.len());
    let _ = writeln!(
        io.err,
        "strata: stopping; cancelling {} job(s), partial data is removed",
        core.jobs.len()
    );
    core.jobs.cancel_all();
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while !core.jobs.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(s) = ssh {
        s.stop();
    }
    let _ = sched.join();
    let _ = std::fs::remove_file(&sock);
    tracing::info!("daemon stopped");
    Ok(0)
}

/// Executes one client's command and streams its output back.
fn handle(core: &Arc<Core>, stream: UnixStream) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut tx = stream.try_clone()?;
    let Some(req) = protocol::recv::<Request, _>(&mut reader)? else {
        return Ok(());
    };
    if req.version != protocol::VERSION {
        protocol::send(
            &mut tx,
            &Frame::Err {
                s: format!(
                    "strata: this daemon speaks protocol {}, the client {}; use the same strata version\n",
                    protocol::VERSION,
                    req.version
                ),
            },
        )?;
        return protocol::send(&mut tx, &Frame::Exit { code: 2 });
    }
    let mut out = FrameWriter {
        inner: stream.try_clone()?,
        stdout: true,
    };
    let mut err = FrameWriter {
        inner: stream.try_clone()?,
        stdout: false,
    };
    let mut io = Io {
        local: false,
        out: &mut out,
        err: &mut err,
    };
    let code = super::dispatch::dispatch(core, &req.argv, &req.caller, &req.cwd, &mut io);
    protocol::send(&mut tx, &Frame::Exit { code })
}

/// Fires due backups, records missed ones, applies retention after each
/// scheduled backup, and persists how far the schedule was handled.
pub fn scheduler_loop(core: &Arc<Core>, stop: &AtomicBool, home: &Home) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut sched = Scheduler::new(clock.clone());
    let host = host_tz();
    let path = state_path(home);
    let saved = load_state(&path);
    let mut known: HashMap<String, TaskConfig> = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        match core.tasks() {
            Ok(tasks) => {
                for t in &tasks {
                    if known.get(&t.name) == Some(t) {
                        continue;
                    }
                    let first = !known.contains_key(&t.name);
                    match sched.upsert(t, host) {
                        Ok(()) => {
                            if first && let Some(ts) = saved.get(&t.name) {
                                sched.restore_state(&t.name, *ts);
                            }
                        }
                        Err(e) => tracing::error!(task = %t.name, "schedule not usable: {e}"),
                    }
                    known.insert(t.name.clone(), t.clone());
                }
                let gone: Vec<String> = known
                    .keys()
                    .filter(|n| !tasks.iter().any(|t| &t.name == *n))
                    .cloned()
                    .collect();
                for n in gone {
                    sched.remove(&n);
                    known.remove(&n);
                }
            }
            Err(e) => tracing::error!("cannot read tasks: {e}"),
        }
        let due = sched.due(clock.now());
        for m in sched.take_skipped() {
            record_missed(core, &m.task, m.kind, m.scheduled_for);
        }
        for d in due {
            if core.jobs.is_busy(&d.task) {
                tracing::warn!(task = %d.task, "previous backup still running; this scheduled run is skipped");
                record_missed(core, &d.task, d.kind, d.scheduled_for);
                continue;
            }
            let core = core.clone();
            std::thread::spawn(move || {
                tracing::info!(task = %d.task, kind = %d.kind, due = %d.scheduled_for, catch_up = d.missed, "scheduled backup");
                match core.run_backup_job(&d.task, d.kind, false, Arc::new(Progress::default())) {
                    Ok(o) => {
                        tracing::info!(task = %d.task, backup = %o.backup.id, status = o.backup.status.as_str(), "backup committed");
                        // Retention runs after each scheduled backup of the task.
                        match core.prune(Some(&d.task), false) {
                            Ok(r) if r.expired > 0 => {
                                tracing::info!(task = %d.task, expired = r.expired, freed = r.freed_bytes, "retention")
                            }
                            Ok(_) => {}
                            Err(e) => tracing::error!(task = %d.task, "retention failed: {e}"),
                        }
                    }
                    Err(e) => tracing::error!(task = %d.task, "scheduled backup failed: {e}"),
                }
            });
        }
        save_state(&path, &sched.states().into_iter().collect());
        for _ in 0..10 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn record_missed(core: &Core, task: &str, kind: crate::model::BackupKind, at: DateTime<Utc>) {
    let run = RunRecord {
        id: 0,
        task: task.to_string(),
        requested: kind,
        kind,
        backup_id: String::new(),
        destinations: Vec::new(),
        status: RunStatus::Missed,
        started: at,
        finished: Some(Utc::now()),
        message: Some(format!(
            "the {kind} backup due at {at} did not run (Strata was not running, or the previous run was still busy)"
        )),
    };
    if let Err(e) = core.catalog().insert_run(run) {
        tracing::error!(task, "cannot record a missed run: {e}");
    }
}
