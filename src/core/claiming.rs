//! Claiming a run's backup id on every destination before anything else is
//! written there (docs/format.md, "CLAIM"): the one place ids are made
//! unique across catalogs sharing a destination.

use super::error::CoreError;
use super::ids::new_backup_id;
use super::service::Core;
use crate::engine::Repository;
use crate::engine::repo::{self, Claim, ClaimOutcome};
use crate::model::RunRecord;

impl Core {
    /// Claims the run's backup id on every destination before anything else is
    /// written there; while an id is taken (recorded in the catalog, or present
    /// on any destination), the claims made so far are released and a new id is
    /// tried. The run record always names the id being claimed, so recovery
    /// finds a claim a crash left behind.
    pub(super) fn claim_id(
        &self,
        run: &mut RunRecord,
        repos: &[Repository],
    ) -> Result<Claim, CoreError> {
        const ATTEMPTS: usize = 16;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                run.backup_id = new_backup_id(run.started);
                self.catalog.update_run(run)?;
            }
            let claim = claim_of(run);
            if self.catalog.get_backup(&claim.backup)?.is_some() {
                continue;
            }
            let mut claimed: Vec<&Repository> = Vec::new();
            let mut taken = None;
            for r in repos {
                match r.claim(&claim) {
                    Ok(ClaimOutcome::Claimed) => claimed.push(r),
                    Ok(ClaimOutcome::Taken) => {
                        taken = Some(r.name().to_string());
                        break;
                    }
                    Err(e) => {
                        for r in &claimed {
                            let _ = r.release(&claim);
                        }
                        return Err(e.into());
                    }
                }
            }
            let Some(on) = taken else {
                return Ok(claim);
            };
            tracing::info!(backup = %claim.backup, destination = %on, "backup id taken, trying another");
            for r in &claimed {
                let _ = r.release(&claim);
            }
        }
        Err(CoreError::Failed(format!(
            "task {}: no free backup id after {ATTEMPTS} tries (each was taken on a destination); check that the destinations' backups/ directories hold only backup directories, then retry",
            run.task
        )))
    }
}

/// The claim marker a run writes for its backup id.
pub(super) fn claim_of(run: &RunRecord) -> Claim {
    Claim {
        format: repo::REPO_FORMAT,
        backup: run.backup_id.clone(),
        task: run.task.clone(),
        run: run.id,
        started: run.started,
    }
}
