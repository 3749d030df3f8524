//! Declarative configuration (design.md §3 "Task definition"): destinations and
//! tasks as one TOML document. `export` writes the catalog as that document;
//! `apply` validates a whole document before touching anything, shows how it
//! differs from the catalog and upserts it in one catalog transaction.
//!
//! What an operator can rely on:
//! * apply is an upsert: what the catalog has and the file lacks is left alone
//!   (and listed in the plan), never removed;
//! * for every task the file names, the file is the whole truth: an absent
//!   schedule, retention rule or hook means unset, an absent `catch_up` or
//!   `compression_level` means the default — except `paused`: when absent an
//!   existing task keeps its state, because pausing is an operational switch
//!   (`strata task pause`) that re-applying a checked-in file must not undo;
//! * a destination is never repointed: a different path for an existing name
//!   is refused (the data of the old place would silently stop being used);
//! * paths must be absolute, so a file means the same from any directory;
//! * applying what `export` wrote changes nothing.
//!
//! Layout: `doc` (the document types, parse), `render` (export as TOML), `check` (validation),
//! `plan` (the difference from the catalog); writing is here.

mod check;
mod doc;
mod plan;
mod render;
#[cfg(test)]
mod tests;

pub use doc::{Config, DestDoc, HooksDoc, RetentionDoc, SourceDoc, TaskDoc, parse};
pub use plan::{Action, ApplyPlan, FieldChange, Item, NotInFile, PlanItem};
pub use render::render;

use super::error::CoreError;
use super::service::Core;
use crate::model::DestinationKind;
use plan::Planned;

impl Core {
    /// The current destinations and tasks as a document, sorted by name.
    pub fn export_doc(&self) -> Result<Config, CoreError> {
        Ok(Config {
            destination: self.destinations()?.iter().map(DestDoc::from).collect(),
            task: self.tasks()?.iter().map(TaskDoc::from).collect(),
        })
    }

    /// The current destinations and tasks as TOML that `apply` reads back unchanged.
    pub fn export(&self) -> Result<String, CoreError> {
        render(&self.export_doc()?)
    }

    /// Validates `text` completely, compares it with the catalog and, unless
    /// `dry_run`, writes every addition and change in one catalog transaction
    /// (after initialising or adopting the repositories of new destinations).
    /// Any error leaves the catalog as it was.
    pub(crate) fn apply(&self, text: &str, dry_run: bool) -> Result<ApplyPlan, CoreError> {
        self.apply_doc(&parse(text)?, dry_run)
    }

    /// `apply` of an already parsed document.
    pub(crate) fn apply_doc(&self, doc: &Config, dry_run: bool) -> Result<ApplyPlan, CoreError> {
        // 1. Validate everything; nothing is written before all of it passes.
        let (dests, tasks) = self.check_doc(doc)?;

        // 2. Compare with the catalog.
        let Planned {
            plan,
            mut new_dests,
            changed_dests,
            put_tasks,
        } = self.plan(doc, dests, tasks, dry_run)?;
        if dry_run || plan.changes == 0 {
            return Ok(plan);
        }

        // 3. Repositories of new destinations, then one catalog transaction.
        // A failure here leaves the catalog untouched; a repository already
        // initialised is adopted by the next apply, as `dest add` would.
        for d in &mut new_dests {
            if let DestinationKind::Local { path } = &d.kind {
                std::fs::create_dir_all(path).map_err(|e| {
                    CoreError::Failed(format!(
                        "cannot create destination directory {} of {}: {e}; check the path and its permissions",
                        path.display(),
                        d.name
                    ))
                })?;
            }
            let repo = crate::core::dest_keys::create_or_adopt(
                self,
                d,
                crate::dest::OpenOptions::default(),
                d.encryption.is_some(),
                None,
            )?;
            d.repo_id = repo.config().map(|c| c.id.clone());
        }
        new_dests.extend(changed_dests);
        self.catalog.put_config(&new_dests, &put_tasks)?;
        Ok(plan)
    }
}
