//! Runs one command line for a caller inside the daemon. The control socket and
//! SSH exec both come through here, so a command behaves the same whichever
//! way it arrives.

use crate::command::exec::{Io, run_with_core};
use crate::command::{BackupCmd, Cli, Command, KeysCmd};
use crate::core::access::{Caller, Requirement, Role};
use crate::core::{Core, CoreError};
use crate::model::BackupKind;
use crate::progress::Progress;
use clap::Parser;
use std::path::Path;
use std::sync::Arc;

/// Parses `argv` (without the program name), runs it as `caller` and returns
/// the exit code; output goes to `io`. Relative paths resolve against `cwd`.
/// A panic in the command is a bug: it is logged and answered as a failure
/// (exit 1 with a message), never as silent success.
pub fn dispatch(
    core: &Arc<Core>,
    argv: &[String],
    caller: &Caller,
    cwd: &Path,
    io: &mut Io<'_>,
) -> u8 {
    let run = std::panic::AssertUnwindSafe(|| dispatch_inner(core, argv, caller, cwd, io));
    match std::panic::catch_unwind(run) {
        Ok(code) => code,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            tracing::error!(who = %caller.name, argv = ?argv, "BUG: command panicked: {why}");
            let _ = writeln!(
                io.err,
                "strata: internal error while running this command ({}); it was logged as a bug, please report it",
                crate::core::bounds::escape_controls(&why)
            );
            1
        }
    }
}

/// Set to `dispatch`, every command the daemon runs panics: the tests'
/// way to prove a panic reaches the client as a failure.
const TEST_PANIC: &str = "STRATA_TEST_PANIC_IN";

fn dispatch_inner(
    core: &Arc<Core>,
    argv: &[String],
    caller: &Caller,
    cwd: &Path,
    io: &mut Io<'_>,
) -> u8 {
    if std::env::var(TEST_PANIC).as_deref() == Ok("dispatch") {
        // The one deliberate panic: the tests' proof that panics reach the client as failures.
        #[allow(clippy::panic)]
        std::panic::panic_any(format!("{TEST_PANIC}=dispatch"));
    }
    let full = std::iter::once("strata".to_string()).chain(argv.iter().cloned());
    let mut cli = match Cli::try_parse_from(full) {
        Err(e) => {
            let _ = write!(io.err, "{}", e.render());
            return if e.use_stderr() { 2 } else { 0 };
        }
        Ok(cli) => cli,
    };
    if matches!(cli.command, Command::Serve { .. } | Command::Demo) {
        let what = if matches!(cli.command, Command::Demo) {
            "demo"
        } else {
            "serve"
        };
        // A refusal is audited like every other one, with the caller's name.
        core.record_access(
            caller,
            what,
            "",
            "refused: a daemon already serves this home",
        );
        let _ = writeln!(
            io.err,
            "strata: a daemon already serves this home; run this command without it"
        );
        return 4;
    }
    if matches!(cli.command, Command::Tui { .. }) {
        let _ = writeln!(
            io.err,
            "strata: the console needs a terminal: over SSH connect without a command ('ssh -t -p PORT HOST'), locally run 'strata tui'"
        );
        return 2;
    }
    // Over SSH, files named on the command line are the server's: reading
    // them (even for a dry run) is for admins, or a viewer could probe which
    // files exist and what their first keys are.
    if caller.origin.starts_with("ssh ")
        && caller.role < Role::Admin
        && let Some(file) = server_file(&cli.command)
    {
        let need = Requirement::write(Role::Admin, "read a server file", file);
        if let Err(e) = core.authorize(caller, &need) {
            let _ = writeln!(
                io.err,
                "strata: {e} (over SSH, a command that reads a file on the server needs an admin key)"
            );
            return e.exit_code();
        }
    }
    cli.absolutize(cwd);
    tracing::info!(who = %caller.name, origin = %caller.origin, argv = ?argv, "command");
    let result = match &cli.command {
        Command::Info => crate::command::exec::info(core.home(), cli.json, io),
        Command::Backup(BackupCmd::Run { detach: true, .. }) => detach(core, &cli, caller, io),
        _ => run_with_core(core, cli, caller, io),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(
                io.err,
                "strata: {}",
                crate::core::bounds::escape_controls(&e.to_string())
            );
            e.exit_code()
        }
    }
}

/// `backup run --detach`: starts the job in the daemon and answers with its id
/// at once; the outcome lands in the run history, the audit log and the log.
fn detach(core: &Arc<Core>, cli: &Cli, caller: &Caller, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let Command::Backup(BackupCmd::Run {
        task,
        full,
        differential,
        ..
    }) = &cli.command
    else {
        return Ok(2);
    };
    let kind = if *full {
        BackupKind::Full
    } else if *differential {
        BackupKind::Differential
    } else {
        BackupKind::Incremental
    };
    let need = crate::command::requirements::of(&cli.command);
    core.task(task)?;
    core.authorize(caller, &need)?;
    if core.jobs.is_busy(task) {
        return Err(CoreError::Busy(format!(
            "task {task} already has a backup job; see 'strata jobs'"
        )));
    }
    let (c, t, who) = (core.clone(), task.clone(), caller.clone());
    let (tx, rx) = std::sync::mpsc::channel::<Result<(u64, u64), CoreError>>();
    std::thread::spawn(move || {
        let mut sent = false;
        let queued_tx = tx.clone();
        let r = c.run_backup_job_then(&t, kind, true, Arc::new(Progress::default()), |job, run| {
            // Audited at enqueue, so the request is on record even if the daemon dies while it waits.
            c.record_access(
                &who,
                need.action,
                &need.target,
                &format!("queued as run {} (job {job})", run.id),
            );
            sent = queued_tx.send(Ok((job, run.id))).is_ok();
        });
        match r {
            Err(e) if !sent => {
                // Refused before it was queued: the caller gets the error itself.
                let _ = tx.send(Err(e));
            }
            r => {
                c.record(&who, &need, &r);
                match r {
                    Ok(o) => {
                        tracing::info!(task = %t, backup = %o.backup.id, "detached backup committed")
                    }
                    Err(e) => tracing::error!(task = %t, "detached backup failed: {e}"),
                }
            }
        }
    });
    let (job, run) = match rx.recv() {
        Ok(Ok(ids)) => ids,
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Err(CoreError::Failed(format!(
                "the backup of task {task} stopped before it was queued; see 'strata runs --task {task}' and the log"
            )));
        }
    };
    let text = if cli.json {
        format!("{{\"job\": {job}, \"run\": {run}, \"task\": {task:?}}}")
    } else {
        format!(
            "started job {job} (run {run}, backup of {task}); follow it with 'strata jobs' and 'strata runs --task {task}'"
        )
    };
    writeln!(io.out, "{text}")
        .map_err(|e| CoreError::Failed(format!("cannot write output: {e}")))?;
    Ok(0)
}

/// The file on this machine a command would read, if any.
fn server_file(cmd: &Command) -> Option<String> {
    match cmd {
        Command::Apply { file, .. } => Some(file.display().to_string()),
        Command::Keys(KeysCmd::Add {
            file: Some(file), ..
        }) => Some(file.display().to_string()),
        _ => None,
    }
}
