//! `Core::perform`: the one door every front end goes through. It checks the
//! caller's role, runs the action and records the audit entry, so no front end
//! can skip either; the methods it calls are not reachable from outside `core`.

use super::access::{Caller, Requirement, Role};
use super::action::Action;
use super::database::Planned;
use super::error::CoreError;
use super::outcome::{Outcome, Overview};
use super::service::Core;
use crate::progress::Progress;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Audit entries an overview carries (the newest); `strata audit` shows all.
pub const AUDIT_SHOWN: usize = 500;

impl Core {
    /// Checks, runs and audits `action` for `caller`.
    pub fn perform(
        self: &Arc<Self>,
        caller: &Caller,
        action: Action,
    ) -> Result<Outcome, CoreError> {
        self.perform_with(caller, action, Arc::new(Progress::default()))
    }

    /// [`Core::perform`], with the progress a front end watches (and may
    /// cancel through) while a backup, restore or verify runs.
    pub fn perform_with(
        self: &Arc<Self>,
        caller: &Caller,
        action: Action,
        progress: Arc<Progress>,
    ) -> Result<Outcome, CoreError> {
        self.perform_streaming(caller, action, progress, None)
    }

    /// [`Core::perform_with`], with the writer `restore --stdout`
    /// (`Action::RestoreStream`) streams a database backup into: only a
    /// front end holding a byte stream (the local command line) gives one.
    pub fn perform_streaming(
        self: &Arc<Self>,
        caller: &Caller,
        action: Action,
        progress: Arc<Progress>,
        out: Option<&mut dyn std::io::Write>,
    ) -> Result<Outcome, CoreError> {
        let mut req = action.requirement();
        // Over SSH, files named in an action are the server's: reading them
        // (even for a dry run) is for admins.
        if caller.origin.starts_with("ssh ")
            && let Some(file) = action.server_file()
        {
            let need = Requirement::write(
                Role::Admin,
                "read a server file",
                file.display().to_string(),
            );
            self.authorize(caller, &need).map_err(|e| {
                CoreError::Refused(format!(
                    "{e} (over SSH, a command that reads a file on the server needs an admin key)"
                ))
            })?;
        }
        if let Action::RunBackup {
            task, detach: true, ..
        } = &action
        {
            // Refused before anything is queued; the detached job records its own outcome.
            self.task(task)?;
            self.authorize(caller, &req)?;
            return self.detach(caller, &action, req);
        }
        self.authorize(caller, &req)?;
        // A restore is decided, audited and written on the resolved target.
        let mut target = None;
        if let Action::Restore { id, to, .. } = &action {
            // A database backup goes into a new database file or name, a
            // directory backup into a new directory.
            let t = match self.database_source(id) {
                Some((rec, source)) => Planned::Database(
                    self.check_database_target(caller, &rec, &source, to)?,
                    Box::new(rec),
                    source,
                ),
                None => {
                    if to.as_os_str().is_empty() {
                        // An unknown id is "not found" before anything else.
                        let rec = self.resolve_backup(id)?;
                        return Err(CoreError::Invalid(format!(
                            "backup {} of task {} is a directory backup; give --to DIR (a new or empty directory)",
                            rec.id, rec.task
                        )));
                    }
                    Planned::Dir(self.check_restore_target(caller, to)?)
                }
            };
            req.target = format!("{id} to {}", t.shown().display());
            target = Some(t);
        }
        if let Action::RestoreStream { id } = &action {
            req.target = format!("{id} to stdout");
        }
        let result = self.execute(caller, action, target, &progress, out);
        self.record(caller, &req, &result);
        result
    }

    fn execute(
        self: &Arc<Self>,
        caller: &Caller,
        action: Action,
        target: Option<Planned>,
        progress: &Arc<Progress>,
        out: Option<&mut dyn std::io::Write>,
    ) -> Result<Outcome, CoreError> {
        use Action as A;
        use Outcome as O;
        Ok(match action {
            A::Overview { check_destinations } => {
                O::Overview(Box::new(self.overview(check_destinations)?))
            }
            A::Jobs => O::Jobs(self.jobs.list()),
            A::CancelJob { id } => O::Cancelled {
                job: id,
                task: self.jobs.cancel(id)?,
            },
            A::Runs { task, limit } => {
                if let Some(t) = &task {
                    self.task(t)?;
                }
                O::Runs(self.runs(task.as_deref(), limit)?)
            }
            A::Audit { since, limit } => O::Audit(self.audit_entries(since.as_deref(), limit)?),
            A::ListDestinations => {
                O::DestinationRows(self.destination_rows(super::rows::DestCheck::Wait)?)
            }
            A::ShowDestination { name } => {
                self.destination(&name)?;
                let row = self
                    .destination_rows(super::rows::DestCheck::Wait)?
                    .into_iter()
                    .find(|r| r.config.name == name)
                    .ok_or_else(|| CoreError::NotFound {
                        what: "destination",
                        name: name.clone(),
                        hint: "it was removed meanwhile; list them with 'strata dest list'".into(),
                    })?;
                O::Destination(Box::new(row))
            }
            A::AddDestination {
                config,
                accept_new_host_key,
                key_of,
            } => O::DestinationAdded(self.add_destination_with(
                *config,
                crate::dest::OpenOptions {
                    accept_new_host_key,
                },
                key_of.as_deref(),
            )?),
            A::RemoveDestination { name } => {
                self.remove_destination(&name)?;
                O::DestinationRemoved { name }
            }
            A::ListDestKeys { name } => O::DestKeys(super::dest_keys::list(self, &name)?),
            A::AddDestKey { name, new, label } => {
                O::DestKeyAdded(Box::new(super::dest_keys::add(self, &name, &new, &label)?))
            }
            A::RemoveDestKey { name, id } => {
                O::DestKeyRemoved(Box::new(super::dest_keys::remove(self, &name, &id)?))
            }
            A::ChangeDestPassphrase { name, new } => {
                O::DestKeyAdded(Box::new(super::dest_keys::passwd(self, &name, &new)?))
            }
            A::ListKeys => O::Keys(self.list_keys()?),
            A::AddKey {
                key,
                file,
                role,
                name,
            } => O::KeyAdded(self.add_key(key, file, &role, &name)?),
            A::RemoveKey { name } => O::KeyRemoved(self.remove_key(&name)?),
            A::ListTasks => O::Tasks(self.task_rows()?),
            A::ShowTask { name } => {
                self.task(&name)?;
                let row = self
                    .task_rows()?
                    .into_iter()
                    .find(|r| r.task.name == name)
                    .ok_or_else(|| CoreError::NotFound {
                        what: "task",
                        name: name.clone(),
                        hint: "list them with 'strata task list'".into(),
                    })?;
                let runs = self.runs(Some(&name), 5)?;
                O::TaskDetail {
                    row: Box::new(row),
                    runs,
                }
            }
            A::AddTask { config } => O::TaskAdded(Box::new(self.add_task(*config)?)),
            A::RemoveTask { name, keep_backups } => {
                let backups_kept = self.remove_task(&name, keep_backups)?;
                O::TaskRemoved { name, backups_kept }
            }
            A::PauseTask { name } => O::TaskPaused {
                task: Box::new(self.set_paused(&name, true)?),
                paused: true,
            },
            A::ResumeTask { name } => O::TaskPaused {
                task: Box::new(self.set_paused(&name, false)?),
                paused: false,
            },
            A::RunBackup { detach: true, .. } => {
                return Err(CoreError::Invalid(
                    "a detached backup is started by perform".into(),
                ));
            }
            A::RunBackup { task, kind, .. } => {
                let _ = caller;
                O::BackedUp(Box::new(self.run_backup_job(
                    &task,
                    kind,
                    true,
                    progress.clone(),
                )?))
            }
            A::ListBackups { task } => O::Backups(self.backups(task.as_deref())?),
            A::ShowBackup { id } => O::Backup(Box::new(self.backup(&id)?)),
            A::ListEntries {
                id,
                path,
                recursive,
            } => {
                let (rec, entries) = self.list_entries(&id, path.as_deref(), recursive)?;
                O::Entries {
                    backup: Box::new(rec),
                    path: path.unwrap_or_default(),
                    entries,
                }
            }
            A::DiffBackups { from, to } => {
                let (a, b, changes) = self.diff_backups(&from, &to)?;
                O::Changes {
                    from: Box::new(a),
                    to: Box::new(b),
                    changes,
                }
            }
            A::DeleteBackup { id, cascade } => O::Deleted(self.delete_backup(&id, cascade)?),
            A::PinBackup { id } => O::Pinned {
                backup: Box::new(self.set_pinned(&id, true)?),
                pinned: true,
            },
            A::UnpinBackup { id } => O::Pinned {
                backup: Box::new(self.set_pinned(&id, false)?),
                pinned: false,
            },
            A::Restore { id, to, path } => {
                let target = match target {
                    Some(t) => t,
                    None => Planned::Dir(self.check_restore_target(caller, &to)?),
                };
                match target {
                    Planned::Dir(target) => {
                        let (rec, report) =
                            self.restore_into(&id, &target, path.as_deref(), progress)?;
                        O::Restored {
                            backup: Box::new(rec),
                            target: target.path(),
                            report,
                        }
                    }
                    Planned::Database(target, rec, source) => {
                        if path.is_some() {
                            return Err(CoreError::Invalid(format!(
                                "backup {} is a database backup; --path selects inside directory backups only",
                                rec.id
                            )));
                        }
                        let report = self.restore_database(&rec, &source, &target, progress)?;
                        O::Restored {
                            backup: rec,
                            target: target.shown(),
                            report,
                        }
                    }
                }
            }
            A::RestoreStream { id } => {
                let Some(out) = out else {
                    return Err(CoreError::Invalid(
                        "restore --stdout streams binary data, which the console cannot show; run it in a shell (locally or over ssh) and pipe it, or restore with --to".into(),
                    ));
                };
                let (rec, report) = self.restore_to_stream(&id, out, progress)?;
                O::Restored {
                    backup: Box::new(rec),
                    target: PathBuf::from("-"),
                    report,
                }
            }
            A::Verify {
                selection,
                read_data,
            } => O::Verified(self.verify(&selection, read_data, progress)?),
            A::SyncBackups { selection } => O::Synced(self.sync(&selection, progress)?),
            A::RebuildCatalog { from } => {
                let report = self.rebuild(&from)?;
                O::Rebuilt { from, report }
            }
            A::Apply { file, dry_run } => {
                let text = std::fs::read_to_string(&file).map_err(|e| {
                    CoreError::Invalid(format!(
                        "cannot read {}: {e}; check the path given to -f",
                        file.display()
                    ))
                })?;
                // Configuration errors are about the file: say which one.
                O::Applied(self.apply(&text, dry_run).map_err(|e| match e {
                    CoreError::Invalid(m) => CoreError::Invalid(format!("{}: {m}", file.display())),
                    other => other,
                })?)
            }
            A::Export => O::Exported {
                doc: Box::new(self.export_doc()?),
                text: self.export()?,
            },
            A::Prune { task, dry_run } => O::Pruned(self.prune(task.as_deref(), dry_run)?),
            A::ListSnapshots { task } => O::Snapshots(self.local_snapshot_rows(task.as_deref())?),
            A::ClearSnapshots { task, older_than } => O::SnapshotsCleared(
                self.clear_local_snapshots(task.as_deref(), older_than.as_deref())?,
            ),
        })
    }

    /// The console's state at one moment.
    fn overview(&self, check_destinations: bool) -> Result<Overview, CoreError> {
        // One read of backups and runs for everything shown: consoles ask
        // four times a second.
        let all = self.catalog.list_backups()?;
        let mut runs = self.catalog.list_runs()?;
        // Cached checks never wait, so every console (local or over the
        // socket) can ask for them that often.
        let check = if check_destinations {
            super::rows::DestCheck::Cached
        } else {
            super::rows::DestCheck::Skip
        };
        let destinations = self.destination_rows_of(check, &all)?;
        let tasks = self.task_rows_of(&all, &runs)?;
        runs.reverse();
        runs.truncate(200);
        let mut backups = super::backups::backup_rows(&all, None);
        super::backups::label_rows(&mut backups, tasks.iter().map(|t| &t.task));
        super::backups::mark_encrypted(&mut backups, &self.catalog.list_destinations()?);
        Ok(Overview {
            tasks,
            backups,
            jobs: self.jobs.list(),
            runs,
            audit: self.audit_tail(AUDIT_SHOWN)?,
            taken: Some(chrono::Utc::now()),
            destinations,
            restore_base: self.settings.restore_roots.first().cloned(),
            restore_roots_set: !self.settings.restore_roots.is_empty(),
            restore_databases_set: !self.settings.restore_databases.is_empty(),
            snapshots: self.cached_snapshot_rows(check_destinations),
        })
    }

    fn audit_entries(
        &self,
        since: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<crate::model::AuditEntry>, CoreError> {
        let since = match since {
            Some(d) => {
                let back = super::schedule::parse_duration(d)
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
            (Some(n), None) => self.audit_tail(n)?,
            _ => self.audit_log(since)?,
        };
        if let Some(n) = limit {
            let skip = entries.len().saturating_sub(n);
            entries.drain(..skip);
        }
        Ok(entries)
    }

    /// Starts a backup job on its own thread and answers once it is queued;
    /// its outcome lands in the run history, the audit log and the log.
    fn detach(
        self: &Arc<Self>,
        caller: &Caller,
        action: &Action,
        need: Requirement,
    ) -> Result<Outcome, CoreError> {
        let Action::RunBackup { task, kind, .. } = action else {
            return Err(CoreError::Invalid("only a backup can be detached".into()));
        };
        if !self.serving.load(Ordering::Relaxed) {
            return Err(CoreError::Invalid(
                "--detach needs a running daemon to keep the job going (start one with 'strata serve'); without one, run the backup without --detach".into(),
            ));
        }
        if self.jobs.is_busy(task) {
            return Err(CoreError::Busy(format!(
                "task {task} already has a backup job; see 'strata jobs'"
            )));
        }
        let (c, t, who, kind) = (self.clone(), task.clone(), caller.clone(), *kind);
        let (tx, rx) = std::sync::mpsc::channel::<Result<(u64, u64), CoreError>>();
        std::thread::spawn(move || {
            let mut sent = false;
            let queued_tx = tx.clone();
            let r =
                c.run_backup_job_then(&t, kind, true, Arc::new(Progress::default()), |job, run| {
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
        match rx.recv() {
            Ok(Ok((job, run))) => Ok(Outcome::Started {
                job,
                run,
                task: task.clone(),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(CoreError::Failed(format!(
                "the backup of task {task} stopped before it was queued; see 'strata runs --task {task}' and the log"
            ))),
        }
    }
}
