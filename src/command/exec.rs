//! Runs a parsed command: resolves it into an `Action`, performs it through
//! the core and renders the typed `Outcome` as a table or JSON.

use super::progress::Bar;
use super::render::{Table, size};
use super::resolve::{Resolved, resolve};
use super::{BackupCmd, Cli, Command};
use crate::core::access::{Caller, Role};
use crate::core::home::Home;
use crate::core::{Action, Core, CoreError, Outcome};
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
    /// Whether `out` carries bytes exactly as written (a shell's stdout, the
    /// daemon's frames, an SSH channel; not the console's captured text), so
    /// `restore --stdout` can stream a database backup into it.
    pub binary: bool,
}

pub(super) fn json<T: Serialize>(io: &mut Io<'_>, v: &T) -> Result<(), CoreError> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| CoreError::Failed(format!("cannot encode JSON output: {e}")))?;
    writeln!(io.out, "{s}").map_err(write_err)
}

pub(super) fn write_err(e: std::io::Error) -> CoreError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return CoreError::OutputClosed;
    }
    CoreError::Failed(format!("cannot write output: {e}"))
}

/// Runs `cli` on a core opened here (no daemon serves the home) and returns
/// the process exit code (design.md §3).
pub fn execute(cli: Cli, io: &mut Io<'_>) -> u8 {
    let run = || -> Result<u8, CoreError> {
        let core = Arc::new(Core::open(Home::resolve(cli.home.clone()), &holder())?);
        recovery_notes(&core, io);
        let caller = Caller::local(cli.role.as_deref().and_then(Role::parse));
        run_command(&core, cli, &caller, io)
    };
    match run() {
        Ok(code) => code,
        Err(e) => fail(&e, io),
    }
}

/// Prints an error the way every front end does and returns its exit code.
pub fn fail(e: &CoreError, io: &mut Io<'_>) -> u8 {
    if matches!(e, CoreError::OutputClosed) {
        return 0;
    }
    note!(
        io,
        "strata: {}",
        crate::core::bounds::escape_controls(&e.to_string())
    );
    e.exit_code()
}

fn holder() -> String {
    let args: Vec<String> = std::env::args().collect();
    let mut s = args.join(" ");
    s.truncate(120);
    s
}

/// How an outcome is shown.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shown {
    /// One JSON document instead of tables.
    pub json: bool,
    /// `backup list --chain`.
    pub chain: bool,
    /// Seconds the action took (for the summary lines).
    pub secs: f64,
    /// The order of listings (`--reverse`).
    pub order: super::order::Order,
}

/// Resolves, performs (as `caller`, with the role check and audit inside
/// the core) and renders one parsed command; returns its exit code.
pub fn run_command(
    core: &Arc<Core>,
    cli: Cli,
    caller: &Caller,
    io: &mut Io<'_>,
) -> Result<u8, CoreError> {
    let chain = matches!(
        cli.command,
        Command::Backup(BackupCmd::List { chain: true, .. })
    );
    let json = cli.json;
    let order = super::order::Order::of(&cli.command);
    let action = match resolve(cli.command)? {
        Resolved::Act(a) => a,
        Resolved::Info => return super::info::info(core.home(), json, io),
        Resolved::Local(what) => {
            return Err(CoreError::Invalid(format!(
                "'{what}' cannot run here; run 'strata {what}' in a shell"
            )));
        }
    };
    let progress = Arc::new(Progress::default());
    let watched = matches!(
        action,
        Action::RunBackup { detach: false, .. }
            | Action::Restore { .. }
            | Action::RestoreStream { .. }
            | Action::Verify { .. }
            | Action::SyncBackups { .. }
    );
    let t0 = Instant::now();
    let outcome = {
        let _bar = watched.then(|| Bar::start(progress.clone(), json || !io.local));
        let _signals = (io.local && matches!(action, Action::RunBackup { detach: false, .. }))
            .then(|| super::interrupt::CancelOnSignal::install(progress.clone()));
        if matches!(action, Action::RestoreStream { .. }) {
            // The data is the output: it needs a byte stream (a shell, the
            // daemon's client, an SSH channel; not the console).
            let out: Option<&mut dyn Write> = if io.binary { Some(&mut *io.out) } else { None };
            let outcome = core.perform_streaming(caller, action, progress, out)?;
            if let Outcome::Restored {
                backup,
                target,
                report,
            } = &outcome
            {
                let line = super::render::restored(backup, target, report);
                writeln!(io.err, "strata: {line}").map_err(write_err)?;
            }
            return Ok(0);
        }
        core.perform_with(caller, action, progress)?
    };
    let shown = Shown {
        json,
        chain,
        secs: t0.elapsed().as_secs_f64(),
        order,
    };
    render(&outcome, &shown, io)
}

/// Prints an outcome as tables or JSON; returns the exit code it means
/// (1 for a partial backup, a restore with errors, or verify problems).
pub fn render(outcome: &Outcome, shown: &Shown, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let j = shown.json;
    use Outcome as O;
    match outcome {
        O::Overview(o) => json(io, o)?,
        O::Jobs(jobs) => jobs_table(jobs, j, io)?,
        O::Cancelled { job, task } => {
            if j {
                json(io, &serde_json::json!({"cancelled": job, "task": task}))?;
            } else {
                say!(
                    io,
                    "cancelling job {job} ({task}); it stops at its next safe point and leaves nothing partial"
                );
            }
        }
        O::Runs(runs) => super::config_cmds::runs(&shown.order.given_newest_first(runs), j, io)?,
        O::Entries { .. } | O::Changes { .. } => super::browse_cmds::browse(outcome, j, io)?,
        O::Audit(entries) => audit_table(&shown.order.given_oldest_first(entries), j, io)?,
        O::Destinations(_)
        | O::DestinationRows(_)
        | O::Destination(_)
        | O::DestinationAdded(_)
        | O::DestinationRemoved { .. } => super::config_cmds::dest(outcome, j, io)?,
        O::DestKeys(_) | O::DestKeyAdded(_) | O::DestKeyRemoved(_) => {
            super::keys_cmds::dest_keys(outcome, j, io)?
        }
        O::Keys(_) | O::KeyAdded(_) | O::KeyRemoved(_) => super::keys_cmds::keys(outcome, j, io)?,
        O::Tasks(_)
        | O::TaskDetail { .. }
        | O::TaskAdded(_)
        | O::TaskRemoved { .. }
        | O::TaskPaused { .. } => super::config_cmds::task(outcome, j, io)?,
        O::BackedUp(_)
        | O::Started { .. }
        | O::Backups(_)
        | O::Backup(_)
        | O::Deleted(_)
        | O::Pinned { .. } => return super::backup_cmds::backup(outcome, shown, io),
        O::Restored {
            backup,
            target,
            report,
        } => {
            let partial = !report.errors.is_empty();
            if j {
                json(
                    io,
                    &serde_json::json!({
                        "backup": backup.id,
                        "target": target,
                        "status": if partial { "partial" } else { "complete" },
                        "report": report
                    }),
                )?;
            } else if partial {
                let line = super::render::restored(backup, target, report);
                say!(
                    io,
                    "PARTIAL: {line} in {:.1} s; {} entries could not be written (listed on stderr)",
                    shown.secs,
                    report.errors.len()
                );
            } else {
                let line = super::render::restored(backup, target, report);
                say!(io, "{line} in {:.1} s", shown.secs);
            }
            if report.fallback_count > 0 {
                note!(
                    io,
                    "strata: note: {} chunk(s) were damaged or missing on the first copy and were read from another copy; run 'strata verify {} --read-data' and 'strata backup sync'",
                    report.fallback_count,
                    backup.id
                );
                for f in report.fallbacks.iter().take(5) {
                    note!(io, "strata: note: {f}");
                }
            }
            for e in &report.errors {
                note!(io, "strata: {}: {}", e.path, e.error);
            }
            if !report.errors.is_empty() {
                note!(
                    io,
                    "strata: {} entries of backup {} could not be restored (listed above); run 'strata verify {} --read-data'",
                    report.errors.len(),
                    backup.id,
                    backup.id
                );
                return Ok(1);
            }
        }
        O::Verified(reports) => return verify_table(reports, j, io),
        O::Synced(r) => return super::backup_cmds::synced(r, j, io),
        O::Rebuilt { from, report: r } => {
            if j {
                json(io, r)?;
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
        }
        O::Applied(plan) => super::apply_cmds::apply(plan, j, io)?,
        O::Exported { doc, text } => super::apply_cmds::export(doc, text, j, io)?,
        O::Pruned(r) => super::prune_cmds::prune(r, j, io)?,
        O::Snapshots(rows) => super::snapshot_cmds::list(rows, j, io)?,
        O::SnapshotsCleared(rows) => super::snapshot_cmds::cleared(rows, j, io)?,
    }
    Ok(0)
}

fn jobs_table(
    jobs: &[crate::core::registry::JobView],
    j: bool,
    io: &mut Io<'_>,
) -> Result<(), CoreError> {
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
        for v in jobs {
            t.row(vec![
                v.id.to_string(),
                v.task.clone(),
                v.kind_label().to_string(),
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
        upload_table(jobs, io)?;
    }
    Ok(())
}

/// Each destination's copy of the backups being written.
fn upload_table(jobs: &[crate::core::registry::JobView], io: &mut Io<'_>) -> Result<(), CoreError> {
    if jobs.iter().all(|j| j.uploads.is_empty()) {
        return Ok(());
    }
    let mut t = Table::new(&["JOB", "DESTINATION", "STATE", ">WRITTEN", ">RATE", ">ETA"]);
    for j in jobs {
        for u in &j.uploads {
            t.row(vec![
                j.id.to_string(),
                u.destination.clone(),
                u.state.clone(),
                format!("{} of ~{}", size(u.bytes), size(u.bytes_expected)),
                format!("{}/s", size(u.rate_bytes_per_sec)),
                u.eta_secs
                    .map(|s| format!("{}m{:02}s", s / 60, s % 60))
                    .unwrap_or_else(|| "-".into()),
            ]);
        }
    }
    say!(io, "");
    write!(io.out, "{}", t.render()).map_err(write_err)
}

fn audit_table(
    entries: &[&crate::model::AuditEntry],
    j: bool,
    io: &mut Io<'_>,
) -> Result<(), CoreError> {
    if j {
        return json(io, &entries);
    }
    let mut t = Table::new(&[
        "WHEN (UTC)",
        "WHO",
        "ROLE",
        "FROM",
        "ACTION",
        "TARGET",
        "OUTCOME",
    ]);
    for e in entries {
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
    write!(io.out, "{}", t.render()).map_err(write_err)
}

fn verify_table(
    reports: &[crate::core::outcome::VerifyReport],
    j: bool,
    io: &mut Io<'_>,
) -> Result<u8, CoreError> {
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
        for r in reports {
            t.row(vec![
                r.backup.clone(),
                r.destination.clone(),
                if !r.read_data {
                    "structure".into()
                } else if r.packs_read < r.packs_total {
                    format!("data {}/{} packs", r.packs_read, r.packs_total)
                } else {
                    "read-data".into()
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
    for r in reports {
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
        return Ok(1);
    }
    Ok(0)
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
    for d in &core.recovered.deferred {
        let _ = writeln!(
            io.err,
            "strata: note: the run that was writing backup {} (run {}) could not be recovered yet: destination {} cannot be reached ({}); it was left as it is and recovery tries again at the next start",
            d.backup, d.run, d.destination, d.error
        );
        tracing::warn!(backup = %d.backup, destination = %d.destination, "recovery deferred: {}", d.error);
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
