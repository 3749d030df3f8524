//! Verify: every complete copy of the selected backups is checked, the
//! result recorded on each backup, and damage marked wherever it reaches:
//! on the backup whose pack holds it and on every backup that depends on it.

use super::action::VerifySelection;
use super::error::CoreError;
use super::service::Core;
use crate::engine::verify::{self, VerifyReport};
use crate::model::{BackupRecord, VerifyMark};
use crate::progress::Progress;
use chrono::Utc;
use std::collections::BTreeSet;

impl Core {
    /// Verifies the selected backups on every destination holding them and
    /// records the outcome on each backup.
    pub(crate) fn verify(
        &self,
        sel: &VerifySelection,
        read_data: bool,
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
        let mut reports = Vec::new();
        let mut damaged: BTreeSet<String> = BTreeSet::new();
        for mut rec in recs {
            let mut ok = true;
            // A copy that was never written is not damage: only complete ones are read.
            let complete = rec
                .copies()
                .into_iter()
                .filter(|c| c.state == crate::model::CopyState::Complete);
            for name in complete.map(|c| c.destination) {
                let Some(cfg) = self.catalog.get_destination(&name)? else {
                    ok = false;
                    reports.push(VerifyReport {
                        backup: rec.id.clone(),
                        destination: name.clone(),
                        read_data,
                        problems: vec![format!(
                            "backup {}: destination {name} is not defined in this catalog",
                            rec.id
                        )],
                        ..Default::default()
                    });
                    continue;
                };
                let r = match self.open_repo(&cfg) {
                    Ok(r) => verify::verify(&r, &rec, read_data, progress),
                    Err(e) => VerifyReport {
                        backup: rec.id.clone(),
                        destination: name.clone(),
                        read_data,
                        problems: vec![format!("backup {}: {e}", rec.id)],
                        ..Default::default()
                    },
                };
                ok &= r.ok();
                damaged.extend(r.damaged_owners.iter().cloned());
                reports.push(r);
            }
            rec.verified = Some(VerifyMark {
                at: Utc::now(),
                read_data,
                ok,
            });
            // A backup deleted while it was verified stays deleted.
            self.catalog.update_backup(&rec)?;
        }
        self.mark_damaged(&damaged, read_data)?;
        Ok(reports)
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
