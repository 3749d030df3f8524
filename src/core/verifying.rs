//! Verify: every complete copy of the selected backups is checked, the
//! result recorded on each backup, and damage marked wherever it reaches:
//! on the backup whose pack holds it and on every backup that depends on it.
//! Each verification is a run of the tasks it checked, manual or scheduled.

use super::action::VerifySelection;
use super::error::CoreError;
use super::service::Core;
use crate::engine::verify::{self, VerifyReport};
use crate::model::{BackupKind, BackupRecord, RunPurpose, RunRecord, RunStatus, VerifyMark};
use crate::progress::Progress;
use chrono::Utc;
use std::collections::{BTreeMap, BTreeSet};

impl Core {
    /// Verifies the selected backups on every destination holding them,
    /// reading the data of `sample` percent of their packs, records the
    /// outcome on each backup and a `verify` run per task.
    pub(crate) fn verify(
        &self,
        sel: &VerifySelection,
        sample: u8,
        progress: &Progress,
    ) -> Result<Vec<VerifyReport>, CoreError> {
        let recs: Vec<BackupRecord> = match sel {
            VerifySelection::One(id) => vec![self.resolve_backup(id)?],
            VerifySelection::Task(t) => {
                let rows = self.backups(Some(t))?;
                rows.into_iter().map(|r| r.record).collect()
            }
            VerifySelection::All => self.catalog.list_backups()?,
        };
        let mut runs: BTreeMap<String, RunRecord> = BTreeMap::new();
        for task in recs.iter().map(|r| r.task.clone()).collect::<BTreeSet<_>>() {
            let run = self.catalog.insert_run(RunRecord {
                id: 0,
                task: task.clone(),
                purpose: RunPurpose::Verify,
                requested: BackupKind::Full,
                kind: BackupKind::Full,
                backup_id: match sel {
                    VerifySelection::One(_) => {
                        recs.first().map(|r| r.id.clone()).unwrap_or_default()
                    }
                    _ => String::new(),
                },
                destinations: Vec::new(),
                status: RunStatus::Running,
                started: Utc::now(),
                finished: None,
                message: Some("verifying".into()),
            })?;
            runs.insert(task, run);
        }
        let mut reports: Vec<(String, String, VerifyReport)> = Vec::new();
        let mut damaged: BTreeSet<String> = BTreeSet::new();
        let mut cancelled = false;
        for mut rec in recs {
            if progress.cancelled() {
                cancelled = true;
                break;
            }
            let mut ok = true;
            // A copy that was never written is not damage: only complete ones are read.
            let complete = rec
                .copies()
                .into_iter()
                .filter(|c| c.state == crate::model::CopyState::Complete);
            for name in complete.map(|c| c.destination) {
                let r = self.verify_copy(&rec, &name, sample, progress)?;
                ok &= r.ok();
                damaged.extend(r.damaged_owners.iter().cloned());
                reports.push((rec.task.clone(), name, r));
            }
            rec.verified = Some(VerifyMark {
                at: Utc::now(),
                read_data: sample > 0,
                ok,
            });
            // A backup deleted while it was verified stays deleted.
            self.catalog.update_backup(&rec)?;
        }
        cancelled |= progress.cancelled();
        self.mark_damaged(&damaged, sample > 0)?;
        for (task, mut run) in runs {
            let mine: Vec<&(String, String, VerifyReport)> =
                reports.iter().filter(|(t, _, _)| *t == task).collect();
            settle(&mut run, &mine, sample, cancelled);
            if let Err(e) = self.catalog.update_run(&run) {
                tracing::error!(run = run.id, "cannot record the end of a verify run: {e}");
            }
        }
        Ok(reports.into_iter().map(|(_, _, r)| r).collect())
    }

    /// A scheduled verification of `task`'s backups as a job: listed by
    /// `strata jobs`, cancellable, and holding one of the job slots.
    pub(crate) fn run_verify_job(
        &self,
        task: &str,
        sample: u8,
        progress: std::sync::Arc<Progress>,
    ) -> Result<Vec<VerifyReport>, CoreError> {
        let _job = self.jobs.start_job(
            task,
            RunPurpose::Verify,
            BackupKind::Full,
            false,
            progress.clone(),
            |_| Ok(()),
        )?;
        self.verify(&VerifySelection::Task(task.to_string()), sample, &progress)
    }

    /// Checks one backup's copy on the destination `name`.
    fn verify_copy(
        &self,
        rec: &BackupRecord,
        name: &str,
        sample: u8,
        progress: &Progress,
    ) -> Result<VerifyReport, CoreError> {
        let failed = |why: String| VerifyReport {
            backup: rec.id.clone(),
            destination: name.to_string(),
            read_data: sample > 0,
            problems: vec![format!("backup {}: {why}", rec.id)],
            ..Default::default()
        };
        let Some(cfg) = self.catalog.get_destination(name)? else {
            return Ok(failed(format!(
                "destination {name} is not defined in this catalog"
            )));
        };
        Ok(match self.open_repo(&cfg) {
            Ok(r) => verify::verify(&r, rec, sample, progress),
            Err(e) => failed(e.to_string()),
        })
    }

    /// Marks each backup whose packs hold damaged data, and every backup
    /// that depends on it (their restores read that data), as damaged.
    fn mark_damaged(&self, owners: &BTreeSet<String>, read_data: bool) -> Result<(), CoreError> {
        let mut ids: BTreeSet<String> = BTreeSet::new();
        for o in owners {
            ids.insert(o.clone());
            ids.extend(self.descendants(o)?.into_iter().map(|b| b.id));
        }
        for id in ids {
            let Some(mut rec) = self.catalog.get_backup(&id)? else {
                continue;
            };
            if rec.verified.as_ref().is_some_and(|v| !v.ok) {
                continue;
            }
            rec.verified = Some(VerifyMark {
                at: Utc::now(),
                read_data,
                ok: false,
            });
            self.catalog.update_backup(&rec)?;
        }
        Ok(())
    }
}

/// A verify run's end: what was read, and the problems that name the fix.
fn settle(
    run: &mut RunRecord,
    reports: &[&(String, String, VerifyReport)],
    sample: u8,
    cancelled: bool,
) {
    let dests: BTreeSet<&str> = reports.iter().map(|(_, d, _)| d.as_str()).collect();
    run.destinations = dests.iter().map(|d| d.to_string()).collect();
    let backups: BTreeSet<&str> = reports.iter().map(|(_, _, r)| r.backup.as_str()).collect();
    let bad: BTreeSet<&str> = reports
        .iter()
        .filter(|(_, _, r)| !r.ok())
        .map(|(_, _, r)| r.backup.as_str())
        .collect();
    let (read, total) = reports.iter().fold((0, 0), |(a, b), (_, _, r)| {
        (a + r.packs_read, b + r.packs_total)
    });
    let data = match sample {
        0 => "structure only".to_string(),
        _ => {
            let pct = (read * 100).checked_div(total).unwrap_or(100);
            format!("read {read} of {total} packs ({pct}%)")
        }
    };
    let on = if dests.is_empty() {
        "no destination".to_string()
    } else {
        dests.into_iter().collect::<Vec<_>>().join(", ")
    };
    run.finished = Some(Utc::now());
    if cancelled {
        run.status = RunStatus::Interrupted;
        run.message = Some(format!(
            "cancelled after checking {} backup(s) on {on}",
            backups.len()
        ));
        return;
    }
    if bad.is_empty() {
        run.status = RunStatus::Complete;
        run.message = Some(format!(
            "verified {} backup(s) on {on}: {data}",
            backups.len()
        ));
        return;
    }
    run.status = RunStatus::Failed;
    let first: Vec<&str> = reports
        .iter()
        .flat_map(|(_, _, r)| r.problems.iter().map(String::as_str))
        .take(2)
        .collect();
    run.message = Some(format!(
        "{} of {} backup(s) have problems ({}): {}; restore from an intact copy, 'strata backup sync' it, or take a new full",
        bad.len(),
        backups.len(),
        bad.into_iter().collect::<Vec<_>>().join(", "),
        first.join("; ")
    ));
}
