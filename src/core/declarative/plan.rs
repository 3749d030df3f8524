//! The plan: how a checked document differs from the catalog, field by field.

use crate::core::error::CoreError;
use crate::core::service::Core;
use crate::model::{CatchUp, DestinationConfig, Hooks, RetentionPolicy, SourceConfig, TaskConfig};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

use super::check::normal;
use super::doc::Config;

/// Which kind of thing a plan line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Item {
    /// A `[[destination]]`.
    Destination,
    /// A `[[task]]`.
    Task,
}

impl Item {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Item::Destination => "destination",
            Item::Task => "task",
        }
    }
}

/// One field whose value the file changes.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FieldChange {
    /// Key as written in the file, dotted inside inline tables (`retention.keep_within`).
    pub field: String,
    /// Value in the catalog; `null` when unset.
    pub old: Value,
    /// Value in the file; `null` when unset.
    pub new: Value,
}

/// What apply does to one item of the file.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Action {
    /// Not in the catalog yet.
    Add,
    /// In the catalog with different values.
    Change {
        /// Every differing field, in file order.
        fields: Vec<FieldChange>,
    },
    /// In the catalog exactly as the file says.
    Unchanged,
}

/// One item of the file and what apply does to it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct PlanItem {
    /// Destination or task.
    pub item: Item,
    /// Its name.
    pub name: String,
    /// One-line description, e.g. `local /mnt/nas` or `dir /srv/app → nas`.
    pub summary: String,
    /// Add, change or unchanged.
    #[serde(flatten)]
    pub action: Action,
}

/// Something in the catalog the file does not mention (left as is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NotInFile {
    /// Destination or task.
    pub item: Item,
    /// Its name.
    pub name: String,
}

/// The difference between a document and the catalog, and whether it was written.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ApplyPlan {
    /// Nothing was written.
    pub dry_run: bool,
    /// Number of items added or changed (written unless `dry_run`).
    pub changes: usize,
    /// Every item of the file: destinations first, each in file order.
    pub items: Vec<PlanItem>,
    /// Catalog items the file does not mention, by name; apply never removes them.
    pub not_in_file: Vec<NotInFile>,
}

fn path_value(path: &Path) -> Value {
    Value::from(normal(path).to_string_lossy().into_owned())
}

fn catch_up_str(c: CatchUp) -> &'static str {
    match c {
        CatchUp::Skip => "skip",
        CatchUp::Once => "once",
    }
}

/// Every field of a task as the file names it, in file order, for diffs.
fn task_fields(t: &TaskConfig) -> Vec<(&'static str, Value)> {
    // Exhaustive on purpose: a new field must be decided on here.
    let TaskConfig {
        name: _,
        source,
        destinations,
        full,
        incremental,
        differential,
        timezone,
        catch_up,
        retention,
        hooks,
        compression_level,
        paused,
        created: _,
        require,
        alert_after,
        notify,
        verify,
        verify_read_data,
    } = t;
    let RetentionPolicy {
        keep_within,
        keep_last_full,
        keep_daily,
        keep_weekly,
        keep_monthly,
        keep_yearly,
    } = retention;
    let Hooks {
        before,
        after,
        timeout_secs,
    } = hooks;
    vec![
        ("source.kind", Value::from(source.kind())),
        (
            "source.type",
            Value::from(
                source
                    .is_database()
                    .then(|| source.source_type().to_string()),
            ),
        ),
        (
            "source.path",
            Value::from(match source {
                SourceConfig::Dir { path, .. } | SourceConfig::Sqlite { path, .. } => {
                    Some(path_value(path))
                }
                SourceConfig::Snapshot { path, .. } => Some(Value::from(path.clone())),
                SourceConfig::Command { .. } => None,
            }),
        ),
        (
            "source.exclude",
            Value::from(match source {
                SourceConfig::Dir { exclude, .. } => exclude.clone(),
                _ => Vec::new(),
            }),
        ),
        (
            "source.dump",
            Value::from(match source {
                SourceConfig::Command { dump, .. } => Some(dump.clone()),
                _ => None,
            }),
        ),
        (
            "source.restore",
            Value::from(match source {
                SourceConfig::Command { restore, .. } => restore.clone(),
                _ => None,
            }),
        ),
        (
            "source.timeout",
            Value::from(match source {
                SourceConfig::Command { timeout, .. } | SourceConfig::Snapshot { timeout, .. } => {
                    timeout.clone()
                }
                _ => None,
            }),
        ),
        (
            "source.env_file",
            Value::from(match source {
                SourceConfig::Command { env_file, .. }
                | SourceConfig::Snapshot { env_file, .. } => env_file.as_deref().map(path_value),
                _ => None,
            }),
        ),
        (
            "source.create",
            Value::from(match source {
                SourceConfig::Snapshot { create, .. } => Some(create.clone()),
                _ => None,
            }),
        ),
        (
            "source.clear",
            Value::from(match source {
                SourceConfig::Snapshot { clear, .. } => Some(clear.clone()),
                _ => None,
            }),
        ),
        (
            "source.keep_local",
            Value::from(match source {
                SourceConfig::Snapshot { keep_local, .. } => *keep_local,
                _ => None,
            }),
        ),
        (
            "source.keep_local_within",
            Value::from(match source {
                SourceConfig::Snapshot {
                    keep_local_within, ..
                } => keep_local_within.clone(),
                _ => None,
            }),
        ),
        ("destinations", Value::from(destinations.clone())),
        ("full", Value::from(full.clone())),
        ("incremental", Value::from(incremental.clone())),
        ("differential", Value::from(differential.clone())),
        ("timezone", Value::from(timezone.clone())),
        ("catch_up", Value::from(catch_up_str(*catch_up))),
        ("retention.keep_within", Value::from(keep_within.clone())),
        ("retention.keep_last_full", Value::from(*keep_last_full)),
        ("retention.keep_daily", Value::from(*keep_daily)),
        ("retention.keep_weekly", Value::from(*keep_weekly)),
        ("retention.keep_monthly", Value::from(*keep_monthly)),
        ("retention.keep_yearly", Value::from(*keep_yearly)),
        ("hooks.before", Value::from(before.clone())),
        ("hooks.after", Value::from(after.clone())),
        ("hooks.timeout_secs", Value::from(*timeout_secs)),
        ("compression_level", Value::from(*compression_level)),
        ("paused", Value::from(*paused)),
        ("require", Value::from(require.to_string())),
        ("alert_after", Value::from(alert_after.clone())),
        ("verify", Value::from(verify.clone())),
        ("verify_read_data", Value::from(*verify_read_data)),
        (
            "notify",
            Value::from(if notify.is_some() { "own" } else { "global" }),
        ),
        (
            "notify.on",
            Value::from(notify.as_ref().and_then(|n| n.on.clone())),
        ),
        (
            "notify.command",
            Value::from(notify.as_ref().and_then(|n| n.command.clone())),
        ),
        (
            "notify.webhook_file",
            Value::from(
                notify
                    .as_ref()
                    .and_then(|n| n.webhook_file.as_deref().map(path_value)),
            ),
        ),
    ]
}

fn dest_summary(d: &DestinationConfig) -> String {
    format!("{} {}", d.kind.name(), d.kind.location())
}

fn task_summary(t: &TaskConfig) -> String {
    format!(
        "{} {} → {}",
        t.source.label(),
        t.source.location(),
        t.destinations.join(", ")
    )
}

/// A plan and what applying it writes.
pub(super) struct Planned {
    /// What the caller is shown.
    pub(super) plan: ApplyPlan,
    /// Destinations to add, without repository ids yet.
    pub(super) new_dests: Vec<DestinationConfig>,
    /// Existing destinations whose settings (not their place) change.
    pub(super) changed_dests: Vec<DestinationConfig>,
    /// Tasks to add or change, as they will be stored.
    pub(super) put_tasks: Vec<TaskConfig>,
}

impl Core {
    /// Compares checked destinations and tasks (`check_doc` of `doc`) with the
    /// catalog. A destination the file repoints is refused; an existing task
    /// keeps its creation time, and its pause state unless the file sets it.
    pub(super) fn plan(
        &self,
        doc: &Config,
        dests: Vec<DestinationConfig>,
        tasks: Vec<TaskConfig>,
        dry_run: bool,
    ) -> Result<Planned, CoreError> {
        let mut items = Vec::new();
        let mut new_dests = Vec::new();
        let mut changed_dests = Vec::new();
        for d in dests {
            let action = match self.catalog.get_destination(&d.name)? {
                None => Action::Add,
                Some(old)
                    if old.kind == d.kind
                        && old.rate_limit == d.rate_limit
                        && old.encryption == d.encryption
                        && old.parallel_uploads == d.parallel_uploads =>
                {
                    Action::Unchanged
                }
                // Whether a repository is encrypted is fixed when it is created.
                Some(old)
                    if old.kind == d.kind && old.encryption.is_some() != d.encryption.is_some() =>
                {
                    return Err(CoreError::Refused(format!(
                        "destination {:?}: its repository is {}encrypted and stays so (encryption cannot be added or removed in place); remove the destination and add a new one at an empty place",
                        d.name,
                        if old.encryption.is_some() { "" } else { "not " }
                    )));
                }
                // Only how it is written or where its passphrase is read
                // changes: the repository stays.
                Some(old) if old.kind == d.kind => {
                    let mut fields = Vec::new();
                    if old.rate_limit != d.rate_limit {
                        fields.push(FieldChange {
                            field: "rate_limit".into(),
                            old: Value::from(old.rate_limit.clone()),
                            new: Value::from(d.rate_limit.clone()),
                        });
                    }
                    if old.encryption != d.encryption {
                        let src = |e: &Option<Box<crate::model::EncryptionConfig>>| {
                            Value::from(e.as_ref().map(|e| e.source()))
                        };
                        fields.push(FieldChange {
                            field: "encryption".into(),
                            old: src(&old.encryption),
                            new: src(&d.encryption),
                        });
                    }
                    if old.parallel_uploads != d.parallel_uploads {
                        fields.push(FieldChange {
                            field: "parallel_uploads".into(),
                            old: Value::from(old.parallel_uploads),
                            new: Value::from(d.parallel_uploads),
                        });
                    }
                    changed_dests.push(DestinationConfig {
                        rate_limit: d.rate_limit.clone(),
                        encryption: d.encryption.clone(),
                        parallel_uploads: d.parallel_uploads,
                        ..old
                    });
                    Action::Change { fields }
                }
                Some(old) => {
                    return Err(CoreError::Refused(format!(
                        "destination {} already exists at {}; the file says {} — remove it first ('strata dest remove {}') or use another name",
                        d.name,
                        dest_summary(&old),
                        dest_summary(&d),
                        d.name
                    )));
                }
            };
            items.push(PlanItem {
                item: Item::Destination,
                name: d.name.clone(),
                summary: dest_summary(&d),
                action: action.clone(),
            });
            if action == Action::Add {
                new_dests.push(d);
            }
        }
        let mut put_tasks = Vec::new();
        for (mut t, doc) in tasks.into_iter().zip(&doc.task) {
            let action = match self.catalog.get_task(&t.name)? {
                None => Action::Add,
                Some(old) => {
                    t.created = old.created;
                    if doc.paused.is_none() {
                        t.paused = old.paused;
                    }
                    let fields: Vec<FieldChange> = task_fields(&old)
                        .into_iter()
                        .zip(task_fields(&t))
                        .filter(|((_, a), (_, b))| a != b)
                        .map(|((field, old), (_, new))| FieldChange {
                            field: field.to_string(),
                            old,
                            new,
                        })
                        .collect();
                    if fields.is_empty() {
                        Action::Unchanged
                    } else {
                        Action::Change { fields }
                    }
                }
            };
            items.push(PlanItem {
                item: Item::Task,
                name: t.name.clone(),
                summary: task_summary(&t),
                action: action.clone(),
            });
            if action != Action::Unchanged {
                put_tasks.push(t);
            }
        }
        let named: BTreeSet<(Item, &str)> =
            items.iter().map(|i| (i.item, i.name.as_str())).collect();
        let mut not_in_file = Vec::new();
        for d in self.catalog.list_destinations()? {
            if !named.contains(&(Item::Destination, d.name.as_str())) {
                not_in_file.push(NotInFile {
                    item: Item::Destination,
                    name: d.name,
                });
            }
        }
        for t in self.catalog.list_tasks()? {
            if !named.contains(&(Item::Task, t.name.as_str())) {
                not_in_file.push(NotInFile {
                    item: Item::Task,
                    name: t.name,
                });
            }
        }
        let plan = ApplyPlan {
            dry_run,
            changes: new_dests.len() + changed_dests.len() + put_tasks.len(),
            items,
            not_in_file,
        };
        Ok(Planned {
            plan,
            new_dests,
            changed_dests,
            put_tasks,
        })
    }
}
