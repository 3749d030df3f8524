//! `strata serve`: owns the catalog, runs scheduled backups (and retention after
//! each), and executes commands sent over the control socket.

use super::protocol::{self, Frame, FrameWriter, Request};
use crate::command::Cli;
use crate::command::exec::{Io, run_with_core};
use crate::core::clock::{Clock, SystemClock};
use crate::core::home::Home;
use crate::core::model::{RunRecord, RunStatus, TaskConfig};
use crate::core::scheduler::{Scheduler, host_tz};
use crate::core::{Core, CoreError};
use crate::engine::progress::Progress;
use chrono::{DateTime, Utc};
use clap::Parser;
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
        .and_then(|b| std::fs::write(&tmp, b).ok())
        .and_then(|_| std::fs::rename(&tmp, path).ok());
    if ok.is_none() {
        tracing::warn!("could not save scheduler state to {}", path.display());
    }
}

/// Runs the daemon in the foreground until SIGINT or SIGTERM.
pub fn serve(home: Home, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let core = Arc::new(Core::open(
        home.clone(),
        &format!("strata serve (pid {})", std::process::id()),
    )?);
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
    let argv = std::iter::once("strata".to_string()).chain(req.argv.iter().cloned());
    let code = match Cli::try_parse_from(argv) {
        Err(e) => {
            protocol::send(
                &mut tx,
                &Frame::Err {
                    s: e.render().to_string(),
                },
            )?;
            if e.use_stderr() { 2 } else { 0 }
        }
        Ok(cli)
            if matches!(
                cli.command,
                crate::command::Command::Serve { .. } | crate::command::Command::Demo
            ) =>
        {
            protocol::send(
                &mut tx,
                &Frame::Err {
                    s: "strata: a daemon already serves this home; run this command without it\n"
                        .into(),
                },
            )?;
            4
        }
        Ok(cli)
            if matches!(
                cli.command,
                crate::command::Command::Backup(crate::command::BackupCmd::Run {
                    detach: true,
                    ..
                })
            ) =>
        {
            detach(core, cli, &req, &mut tx)?
        }
        Ok(mut cli) => {
            cli.absolutize(&req.cwd);
            tracing::info!(who = %req.caller.name, argv = ?req.argv, "command");
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
            match run_with_core(core, cli, &req.caller, &mut io) {
                Ok(code) => code,
                Err(e) => {
                    let _ = writeln!(io.err, "strata: {e}");
                    e.exit_code()
                }
            }
        }
    };
    protocol::send(&mut tx, &Frame::Exit { code })
}

/// `backup run --detach`: starts the job in the daemon and answers with its id
/// at once; the outcome lands in the run history, the audit log and the log.
fn detach(core: &Arc<Core>, cli: Cli, req: &Request, tx: &mut UnixStream) -> std::io::Result<u8> {
    let crate::command::Command::Backup(crate::command::BackupCmd::Run {
        task,
        full,
        differential,
        ..
    }) = &cli.command
    else {
        return Ok(2);
    };
    let kind = if *full {
        crate::core::model::BackupKind::Full
    } else if *differential {
        crate::core::model::BackupKind::Differential
    } else {
        crate::core::model::BackupKind::Incremental
    };
    let need = crate::command::requirements::of(&cli.command);
    let refuse = |tx: &mut UnixStream, e: CoreError| -> std::io::Result<u8> {
        protocol::send(
            tx,
            &Frame::Err {
                s: format!("strata: {e}\n"),
            },
        )?;
        Ok(e.exit_code())
    };
    if let Err(e) = core
        .task(task)
        .and_then(|_| core.authorize(&req.caller, &need))
    {
        return refuse(tx, e);
    }
    if core.jobs.is_busy(task) {
        return refuse(
            tx,
            CoreError::Busy(format!(
                "task {task} already has a backup job; see 'strata jobs'"
            )),
        );
    }
    let (c, t, caller) = (core.clone(), task.clone(), req.caller.clone());
    std::thread::spawn(move || {
        let r = c.run_backup_job(&t, kind, true, Arc::new(Progress::default()));
        c.record(&caller, &need, &r);
        match r {
            Ok(o) => tracing::info!(task = %t, backup = %o.backup.id, "detached backup committed"),
            Err(e) => tracing::error!(task = %t, "detached backup failed: {e}"),
        }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let id = loop {
        if let Some(j) = core.jobs.list().into_iter().find(|j| &j.task == task) {
            break Some(j.id);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = match (id, cli.json) {
        (Some(id), true) => format!("{{\"job\": {id}, \"task\": {task:?}}}\n"),
        (Some(id), false) => {
            format!("started job {id} (backup of {task}); follow it with 'strata jobs'\n")
        }
        (None, _) => format!(
            "started the backup of {task}; it already finished or is starting, see 'strata jobs' and 'strata task show {task}'\n"
        ),
    };
    protocol::send(tx, &Frame::Out { s: text })?;
    Ok(0)
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

fn record_missed(core: &Core, task: &str, kind: crate::core::model::BackupKind, at: DateTime<Utc>) {
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
