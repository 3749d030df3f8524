//! Executes a parsed command through the core and renders its result.

use super::progress::Bar;
use super::render::{Table, size};
use super::{CatalogCmd, Cli, Command};
use crate::core::access::{Caller, Role};
use crate::core::backups::VerifySelection;
use crate::core::home::Home;
use crate::core::{Core, CoreError};
use crate::progress::Progress;
use serde::Serialize;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

/// Where a command writes.
pub struct Io<'a> {
    /// Results.
    pub out: &'a mut dyn Write,
    /// Notes, warnings and errors.
    pub err: &'a mut dyn Write,
    /// Whether this is a person's own terminal session (not the daemon running
    /// a client's command, not the console): only then are progress bars drawn
    /// and Ctrl-C handlers installed.
    pub local: bool,
}

pub(super) fn json<T: Serialize>(io: &mut Io<'_>, v: &T) -> Result<(), CoreError> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| CoreError::Failed(format!("cannot encode JSON output: {e}")))?;
    writeln!(io.out, "{s}").map_err(write_err)
}

pub(super) fn write_err(e: std::io::Error) -> CoreError {
    CoreError::Failed(format!("cannot write output: {e}"))
}

/// Runs `cli` and returns the process exit code (design.md §3).
pub fn execute(cli: Cli, io: &mut Io<'_>) -> u8 {
    match run(cli, io) {
        Ok(code) => code,
        Err(e) => {
            note!(
                io,
                "strata: {}",
                crate::core::bounds::escape_controls(&e.to_string())
            );
            e.exit_code()
        }
    }
}

fn holder() -> String {
    let args: Vec<String> = std::env::args().collect();
    let mut s = args.join(" ");
    s.truncate(120);
    s
}

fn run(cli: Cli, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let home = Home::resolve(cli.home.clone());
    let j = cli.json;
    if let Command::Demo = cli.command {
        return super::demo::run(cli.home, j, io);
    }
    if let Command::Info = cli.command {
        return info(&home, j, io);
    }
    if let Command::Serve { listen } = &cli.command {
        return crate::daemon::server::serve(home, listen, io);
    }
    if let Command::Tui { theme } = &cli.command {
        return crate::tui::run(
            home,
            cli.role.as_deref().and_then(Role::parse),
            theme.as_deref(),
        );
    }
    let core = Core::open(home, &holder())?;
    recovery_notes(&core, io);
    let caller = Caller::local(cli.role.as_deref().and_then(Role::parse));
    run_with_core(&core, cli, &caller, io)
}

/// Tells the operator (stderr and the log) what recovery did when the core opened.
pub fn recovery_notes(core: &Core, io: &mut Io<'_>) {
    for id in &core.recovered.interrupted {
        let _ = writeln!(
            io.err,
            "strata: note: the run that was writing backup {id} was interrupted (the process stopped); its partial data was removed"
        );
    }
    for (run, task) in &core.recovered.never_started {
        let _ = writeln!(
            io.err,
            "strata: note: run {run} of task {task} was queued when the process stopped and never started; it is marked interrupted (run it again with 'strata backup run {task}')"
        );
    }
    for id in &core.recovered.adopted {
        let _ = writeln!(
            io.err,
            "strata: note: backup {id} had fully committed before its process stopped; it is now recorded"
        );
    }
    for note in &core.repaired {
        let _ = writeln!(io.err, "strata: note: {note}");
    }
    for (run, task) in &core.recovered.never_started {
        tracing::warn!(run, task = %task, "queued run never started before the process stopped; marked interrupted");
    }
    for id in &core.recovered.interrupted {
        tracing::warn!(backup = %id, "interrupted run cleaned up");
    }
}

/// Runs a parsed command on an open core for `caller`: the role check and the
/// audit record wrap every command, whichever front end (shell, daemon socket)
/// it came from.
pub fn run_with_core(
    core: &Core,
    cli: Cli,
    caller: &Caller,
    io: &mut Io<'_>,
) -> Result<u8, CoreError> {
    let j = cli.json;
    let mut req = super::requirements::of(&cli.command);
    core.authorize(caller, &req)?;
    // The restore is decided, audited and written on the resolved target.
    let mut restore_target = None;
    if let Command::Restore(a) = &cli.command {
        let t = core.check_restore_target(caller, &a.to)?;
        req.target = format!("{} to {}", a.id, t.path().display());
        restore_target = Some(t);
    }
    let core_ref = core;
    let result = (|| -> Result<u8, CoreError> {
        let core = core_ref;
        match cli.command {
            Command::Demo | Command::Info | Command::Serve { .. } | Command::Tui { .. } => Ok(0),
            Command::Jobs { cmd: None } => {
                let jobs = core.jobs.list();
                if j {
                    json(io, &jobs)?;
                } else if jobs.is_empty() {
                    say!(io, "no jobs running or queued");
                } else {
                    let mut t = Table::new(&[
                        "JOB",
                        "TASK",
                        "KIND",
                        "PHASE",
                        ">FILES",
                        ">DATA",
                        "STARTED (UTC)",
                        "BY",
                    ]);
                    for v in &jobs {
                        t.row(vec![
                            v.id.to_string(),
                            v.task.clone(),
                            v.kind.to_string(),
                            v.phase.clone(),
                            format!("{}/{}", v.files_done, v.files_total),
                            format!("{}/{}", size(v.bytes_done), size(v.bytes_total)),
                            super::render::time(&v.started),
                            if v.manual {
                                "manual".into()
                            } else {
                                "schedule".into()
                            },
                        ]);
                    }
                    write!(io.out, "{}", t.render()).map_err(write_err)?;
                }
                Ok(0)
            }
            Command::Jobs {
                cmd: Some(super::JobsCmd::Cancel { id }),
            } => {
                let task = core.jobs.cancel(id)?;
                if j {
                    json(io, &serde_json::json!({"cancelled": id, "task": task}))?;
                } else {
                    say!(
                        io,
                        "cancelling job {id} ({task}); it stops at its next safe point and leaves nothing partial"
                    );
                }
                Ok(0)
            }
            Command::Runs { task, limit } => {
                super::config_cmds::runs(core, task.as_deref(), limit, j, io)
            }
            Command::Audit { since, limit } => {
                let since = match since {
                    Some(d) => {
                        let back = crate::core::schedule::parse_duration(&d)
                            .map_err(|e| CoreError::Invalid(format!("--since: {e}")))?;
                        // Bounded durations fit; the check keeps a clock far from now safe too.
                        Some(chrono::Utc::now().checked_sub_signed(back).ok_or_else(|| {
                            CoreError::Invalid(format!(
                                "--since {d:?} reaches before the earliest time Strata can represent; use a shorter duration"
                            ))
                        })?)
                    }
                    None => None,
                };
                let mut entries = match (limit, since) {
                    (Some(n), None) => core.audit_tail(n)?,
                    _ => core.audit_log(since)?,
                };
                if let Some(n) = limit {
                    let skip = entries.len().saturating_sub(n);
                    entries.drain(..skip);
                }
                if j {
                    json(io, &entries)?;
                } else {
                    let mut t = Table::new(&[
                        "WHEN (UTC)",
                        "WHO",
                        "ROLE",
                        "FROM",
                        "ACTION",
                        "TARGET",
                        "OUTCOME",
                    ]);
                    for e in &entries {
                        t.row(vec![
                            super::render::time(&e.at),
                            e.who.clone(),
                            e.role.clone(),
                            e.origin.clone(),
                            e.action.clone(),
                            e.target.clone(),
                            e.outcome.clone(),
                        ]);
                    }
                    write!(io.out, "{}", t.render()).map_err(write_err)?;
                }
                Ok(0)
            }
            Command::Dest(c) => super::config_cmds::dest(core, c, j, io),
            Command::Keys(c) => super::keys_cmds::keys(core, c, j, io),
            Command::Task(c) => super::config_cmds::task(core, c, j, io),
            Command::Apply { file, dry_run } => {
                super::apply_cmds::apply(core, &file, dry_run, j, io)
            }
            Command::Export => super::apply_cmds::export(core, j, io),
            Command::Backup(c) => super::backup_cmds::backup(core, c, j, io),
            Command::Restore(a) => {
                let progress = Arc::new(Progress::default());
                let t0 = Instant::now();
                let target = match restore_target.take() {
                    Some(t) => t,
                    None => core.check_restore_target(caller, &a.to)?,
                };
                let to = target.path();
                let (rec, report) = {
                    let _bar = Bar::start(progress.clone(), j || !io.local);
                    core.restore_into(&a.id, &target, a.path.as_deref(), &progress)?
                };
                if j {
                    json(
                        io,
                        &serde_json::json!({"backup": rec.id, "target": to, "report": report}),
                    )?;
                } else {
                    say!(
                        io,
                        "restored backup {} of {} into {}: {} files, {} dirs, {} symlinks, {} hard links, {} in {:.1} s",
                        rec.id,
                        rec.task,
                        to.display(),
                        report.files,
                        report.dirs,
                        report.symlinks,
                        report.hardlinks,
                        size(report.bytes),
                        t0.elapsed().as_secs_f64()
                    );
                }
                for e in &report.errors {
                    note!(io, "strata: {}: {}", e.path, e.error);
                }
                if report.errors.is_empty() {
                    Ok(0)
                } else {
                    note!(
                        io,
                        "strata: {} entries of backup {} could not be restored (listed above); run 'strata verify {} --read-data'",
                        report.errors.len(),
                        rec.id,
                        rec.id
                    );
                    Ok(1)
                }
            }
            Command::Verify(a) => {
                let sel = match (a.id, a.task, a.all) {
                    (Some(id), _, _) => VerifySelection::One(id),
                    (None, Some(t), _) => VerifySelection::Task(t),
                    (None, None, true) => VerifySelection::All,
                    (None, None, false) => {
                        return Err(CoreError::Invalid(
                            "verify needs a backup ID, --task TASK or --all".into(),
                        ));
                    }
                };
                let progress = Arc::new(Progress::default());
                let reports = {
                    let _bar = Bar::start(progress.clone(), j || !io.local);
                    core.verify(&sel, a.read_data, &progress)?
                };
                let bad = reports.iter().filter(|r| !r.ok()).count();
                if j {
                    json(io, &reports)?;
                } else {
                    let mut t = Table::new(&[
                        "BACKUP",
                        "DESTINATION",
                        "CHECK",
                        ">CHUNKS",
                        ">DATA",
                        "RESULT",
                    ]);
                    for r in &reports {
                        t.row(vec![
                            r.backup.clone(),
                            r.destination.clone(),
                            if r.read_data {
                                "read-data".into()
                            } else {
                                "structure".into()
                            },
                            r.chunks_checked.to_string(),
                            size(r.bytes_checked),
                            if r.ok() {
                                "ok".into()
                            } else {
                                format!("{} problem(s)", r.problems.len())
                            },
                        ]);
                    }
                    write!(io.out, "{}", t.render()).map_err(write_err)?;
                }
                for r in &reports {
                    for p in &r.problems {
                        note!(io, "strata: {p}");
                    }
                }
                if bad > 0 {
                    note!(
                        io,
                        "strata: {bad} of {} verification(s) found problems (listed above)",
                        reports.len()
                    );
                    Ok(1)
                } else {
                    Ok(0)
                }
            }
            Command::Prune(a) => super::prune_cmds::prune(core, a, j, io),
            Command::Catalog(CatalogCmd::Rebuild { from }) => {
                let r = core.rebuild(&from)?;
                if j {
                    json(io, &r)?;
                } else {
                    say!(
                        io,
                        "catalog rebuilt from {from}: {} backup(s) added, {} already present, {} task(s) recreated, {} incomplete run(s) ignored",
                        r.added.len(),
                        r.present.len(),
                        r.tasks_added.len(),
                        r.incomplete.len()
                    );
                }
                Ok(0)
            }
        }
    })();
    core.record(caller, &req, &result);
    result
}

pub(crate) fn info(home: &Home, j: bool, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let sock = crate::daemon::socket_path(home);
    let daemon = std::os::unix::net::UnixStream::connect(&sock).is_ok();
    let paths = [
        ("home", home.root().to_path_buf()),
        ("config", home.config()),
        ("catalog", home.catalog()),
        ("socket", sock),
        ("logs", home.logs()),
        ("log file", home.logs().join("strata.log")),
        ("scheduler", home.root().join("scheduler-state.json")),
        ("host key", crate::ssh::hostkey::path(home.root())),
        ("ssh keys", home.root().join("authorized_keys")),
    ];
    let fingerprint = crate::ssh::hostkey::existing_fingerprint(home.root());
    let tz = crate::core::scheduler::host_tz();
    use crate::core::private;
    let modes: Vec<Option<u32>> = paths.iter().map(|(_, p)| private::mode(p)).collect();
    let exposed: Vec<(&str, &std::path::PathBuf, u32)> = paths
        .iter()
        .zip(&modes)
        .filter_map(|((k, p), m)| m.filter(|m| !private::is_private(*m)).map(|m| (*k, p, m)))
        .collect();
    if j {
        let mut m = serde_json::Map::new();
        m.insert("version".into(), env!("CARGO_PKG_VERSION").into());
        for (k, p) in &paths {
            m.insert(
                k.replace(' ', "_"),
                serde_json::Value::String(p.display().to_string()),
            );
        }
        let mut mm = serde_json::Map::new();
        for ((k, _), mode) in paths.iter().zip(&modes) {
            if let Some(mode) = mode {
                mm.insert(k.replace(' ', "_"), format!("{mode:04o}").into());
            }
        }
        m.insert("modes".into(), mm.into());
        m.insert("private".into(), exposed.is_empty().into());
        m.insert("daemon_running".into(), daemon.into());
        m.insert("host_timezone".into(), tz.name().into());
        m.insert(
            "host_key_fingerprint".into(),
            fingerprint
                .clone()
                .map_or(serde_json::Value::Null, Into::into),
        );
        json(io, &m)?;
    } else {
        say!(io, "strata {}", env!("CARGO_PKG_VERSION"));
        for ((k, p), mode) in paths.iter().zip(&modes) {
            match mode {
                Some(m) => say!(io, "{k:<10} {}  ({m:04o})", p.display()),
                None => say!(io, "{k:<10} {}", p.display()),
            }
        }
        if exposed.is_empty() {
            say!(
                io,
                "{:<10} private: the home is 0700 and its files 0600 (only this user can read them)",
                "access"
            );
        }
        for (k, p, m) in &exposed {
            say!(
                io,
                "{:<10} WARNING: the {k} {} is {m:04o}, readable by others; run 'chmod go= {}' (Strata also tightens it at the next command)",
                "access",
                p.display(),
                p.display()
            );
        }
        say!(
            io,
            "{:<10} {}",
            "daemon",
            if daemon {
                "running (commands go through it)"
            } else {
                "not running (commands open the catalog themselves)"
            }
        );
        say!(io, "{:<10} {}", "time zone", tz.name());
        say!(
            io,
            "{:<10} {}",
            "host fp",
            fingerprint
                .as_deref()
                .unwrap_or("not created yet ('strata serve' creates it)")
        );
    }
    Ok(0)
}
