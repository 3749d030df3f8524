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

use super::error::CoreError;
use super::model::{
    CatchUp, DestinationConfig, DestinationKind, Hooks, RetentionPolicy, SourceConfig, TaskConfig,
    default_compression,
};
use super::service::{Core, check_name, check_settings, open_dest};
use crate::engine::repo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The whole document: `[[destination]]` and `[[task]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Destinations, in file order.
    #[serde(default)]
    pub destination: Vec<DestDoc>,
    /// Tasks, in file order.
    #[serde(default)]
    pub task: Vec<TaskDoc>,
}

/// One `[[destination]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestDoc {
    /// Unique name.
    pub name: String,
    /// `local` (the only kind this build supports).
    pub kind: String,
    /// Absolute directory of a `local` destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
}

/// A task's `source = { … }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDoc {
    /// `dir` (the only kind this build supports).
    pub kind: String,
    /// Absolute directory of a `dir` source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Glob patterns of entries to leave out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

/// A task's `retention = { … }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionDoc {
    /// Keep every backup younger than this, e.g. `14d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_within: Option<String>,
    /// Keep this many newest chains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last_full: Option<u32>,
    /// Keep the newest backup of each of the last N days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N ISO weeks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_monthly: Option<u32>,
    /// Keep the newest backup of each of the last N years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_yearly: Option<u32>,
}

/// A task's `hooks = { … }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HooksDoc {
    /// Run before each backup; a non-zero exit aborts the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Run after each backup, whatever its outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Seconds a hook may run before it is killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

/// One `[[task]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDoc {
    /// Unique name.
    pub name: String,
    /// What is backed up.
    pub source: SourceDoc,
    /// Destination names, in write order.
    #[serde(default)]
    pub destinations: Vec<String>,
    /// Cron schedule of full backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<String>,
    /// Cron schedule of incremental backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<String>,
    /// Cron schedule of differential backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differential: Option<String>,
    /// IANA time zone of the schedules (default: the host's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// `once` (default) or `skip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<CatchUp>,
    /// Retention rules; none set means nothing expires.
    #[serde(default, skip_serializing_if = "RetentionDoc::is_empty")]
    pub retention: RetentionDoc,
    /// Hooks around each backup.
    #[serde(default, skip_serializing_if = "HooksDoc::is_empty")]
    pub hooks: HooksDoc,
    /// zstd level for new data, 1-22 (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_level: Option<i32>,
    /// Absent: a new task is active and an existing one keeps its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
}

impl RetentionDoc {
    fn is_empty(&self) -> bool {
        *self == RetentionDoc::default()
    }
}

impl HooksDoc {
    fn is_empty(&self) -> bool {
        *self == HooksDoc::default()
    }
}

impl From<&DestinationConfig> for DestDoc {
    fn from(d: &DestinationConfig) -> DestDoc {
        match &d.kind {
            DestinationKind::Local { path } => DestDoc {
                name: d.name.clone(),
                kind: "local".into(),
                path: Some(path.clone()),
            },
        }
    }
}

impl From<&TaskConfig> for TaskDoc {
    fn from(t: &TaskConfig) -> TaskDoc {
        // Exhaustive on purpose: a new field must be decided on here.
        let TaskConfig {
            name,
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
        } = t;
        let SourceConfig::Dir { path, exclude } = source;
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
        TaskDoc {
            name: name.clone(),
            source: SourceDoc {
                kind: "dir".into(),
                path: Some(path.clone()),
                exclude: exclude.clone(),
            },
            destinations: destinations.clone(),
            full: full.clone(),
            incremental: incremental.clone(),
            differential: differential.clone(),
            timezone: timezone.clone(),
            catch_up: Some(*catch_up),
            retention: RetentionDoc {
                keep_within: keep_within.clone(),
                keep_last_full: *keep_last_full,
                keep_daily: *keep_daily,
                keep_weekly: *keep_weekly,
                keep_monthly: *keep_monthly,
                keep_yearly: *keep_yearly,
            },
            hooks: HooksDoc {
                before: before.clone(),
                after: after.clone(),
                timeout_secs: *timeout_secs,
            },
            compression_level: Some(*compression_level),
            // Written only when set, so an exported file does not resume tasks.
            paused: paused.then_some(true),
        }
    }
}

/// Which kind of thing a plan line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Key as written in the file, dotted inside inline tables (`retention.keep_within`).
    pub field: String,
    /// Value in the catalog; `null` when unset.
    pub old: Value,
    /// Value in the file; `null` when unset.
    pub new: Value,
}

/// What apply does to one item of the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotInFile {
    /// Destination or task.
    pub item: Item,
    /// Its name.
    pub name: String,
}

/// The difference between a document and the catalog, and whether it was written.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// Parses a document; a syntax error or unknown key names its line and column.
pub fn parse(text: &str) -> Result<Config, CoreError> {
    toml::from_str(text).map_err(|e| {
        let msg = e.message().trim().replace('\n', "; ");
        match e.span() {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                CoreError::Invalid(format!("line {line}, column {column}: {msg}"))
            }
            None => CoreError::Invalid(msg),
        }
    })
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// Writes a document as TOML in the layout of design.md §3 (inline tables for
/// `source`, `retention` and `hooks`; unset keys left out).
pub fn render(doc: &Config) -> Result<String, CoreError> {
    let mut out = String::from(
        "# Strata destinations and tasks (strata export).\n\
         # Apply with: strata apply -f FILE --dry-run, then without --dry-run.\n",
    );
    for d in &doc.destination {
        let DestDoc { name, kind, path } = d;
        out.push_str("\n[[destination]]\n");
        kv(&mut out, "name", name)?;
        kv(&mut out, "kind", kind)?;
        opt(&mut out, "path", path)?;
    }
    for t in &doc.task {
        let TaskDoc {
            name,
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
        } = t;
        out.push_str("\n[[task]]\n");
        kv(&mut out, "name", name)?;
        kv(&mut out, "source", source)?;
        kv(&mut out, "destinations", destinations)?;
        opt(&mut out, "full", full)?;
        opt(&mut out, "incremental", incremental)?;
        opt(&mut out, "differential", differential)?;
        opt(&mut out, "timezone", timezone)?;
        opt(&mut out, "catch_up", catch_up)?;
        if !retention.is_empty() {
            kv(&mut out, "retention", retention)?;
        }
        if !hooks.is_empty() {
            kv(&mut out, "hooks", hooks)?;
        }
        opt(&mut out, "compression_level", compression_level)?;
        opt(&mut out, "paused", paused)?;
    }
    Ok(out)
}

/// Appends `key = value` with the value as inline TOML.
fn kv<T: Serialize + ?Sized>(out: &mut String, key: &str, value: &T) -> Result<(), CoreError> {
    let mut s = String::new();
    value
        .serialize(toml::ser::ValueSerializer::new(&mut s))
        .map_err(|e| CoreError::Failed(format!("cannot write {key} as TOML: {e}")))?;
    out.push_str(key);
    out.push_str(" = ");
    out.push_str(&s);
    out.push('\n');
    Ok(())
}

fn opt<T: Serialize>(out: &mut String, key: &str, value: &Option<T>) -> Result<(), CoreError> {
    match value {
        Some(v) => kv(out, key, v),
        None => Ok(()),
    }
}

/// `path` without `.` components or a trailing slash, the form stored and compared.
fn normal(path: &Path) -> PathBuf {
    path.components().collect()
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
    } = t;
    let SourceConfig::Dir { path, exclude } = source;
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
        ("source.kind", Value::from("dir")),
        ("source.path", path_value(path)),
        ("source.exclude", Value::from(exclude.clone())),
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
    ]
}

fn dest_summary(d: &DestinationConfig) -> String {
    match &d.kind {
        DestinationKind::Local { path } => format!("local {}", path.display()),
    }
}

fn task_summary(t: &TaskConfig) -> String {
    match &t.source {
        SourceConfig::Dir { path, .. } => {
            format!("dir {} → {}", path.display(), t.destinations.join(", "))
        }
    }
}

/// An absolute path from the file, or why not.
fn absolute(
    what: &str,
    key: &str,
    path: Option<&PathBuf>,
    example: &str,
) -> Result<PathBuf, CoreError> {
    let Some(path) = path else {
        return Err(CoreError::Invalid(format!(
            "{what} needs {key} = \"{example}\""
        )));
    };
    if !path.is_absolute() {
        return Err(CoreError::Invalid(format!(
            "{what}: {key} {:?} is relative; write it absolute so the file means the same from any directory",
            path.display().to_string()
        )));
    }
    Ok(normal(path))
}

/// `msg` on one line: some parser messages (the cron crate's) draw a caret
/// under the expression on extra lines, and errors are one line each.
fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.chars().any(|c| c != '^'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first name that occurs a second time, for one clear error.
fn first_duplicate<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = BTreeSet::new();
    names.into_iter().find(|n| !seen.insert(*n))
}

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
    pub fn apply(&self, text: &str, dry_run: bool) -> Result<ApplyPlan, CoreError> {
        self.apply_doc(&parse(text)?, dry_run)
    }

    /// `apply` of an already parsed document.
    pub fn apply_doc(&self, doc: &Config, dry_run: bool) -> Result<ApplyPlan, CoreError> {
        // 1. Validate everything; nothing is written before all of it passes.
        if let Some(n) = first_duplicate(doc.destination.iter().map(|d| d.name.as_str())) {
            return Err(CoreError::Invalid(format!(
                "destination {n:?} is defined more than once; keep one [[destination]] table per name"
            )));
        }
        if let Some(n) = first_duplicate(doc.task.iter().map(|t| t.name.as_str())) {
            return Err(CoreError::Invalid(format!(
                "task {n:?} is defined more than once; keep one [[task]] table per name"
            )));
        }
        let dests = doc
            .destination
            .iter()
            .map(check_dest)
            .collect::<Result<Vec<_>, _>>()?;
        let in_file: BTreeSet<&str> = dests.iter().map(|d| d.name.as_str()).collect();
        let tasks = doc
            .task
            .iter()
            .map(|t| self.check_task(t, &in_file))
            .collect::<Result<Vec<_>, _>>()?;

        // 2. Compare with the catalog.
        let mut items = Vec::new();
        let mut new_dests = Vec::new();
        for d in dests {
            let action = match self.catalog.get_destination(&d.name)? {
                None => Action::Add,
                Some(old) if old.kind == d.kind => Action::Unchanged,
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
            changes: new_dests.len() + put_tasks.len(),
            items,
            not_in_file,
        };
        if dry_run || plan.changes == 0 {
            return Ok(plan);
        }

        // 3. Repositories of new destinations, then one catalog transaction.
        // A failure here leaves the catalog untouched; a repository already
        // initialised is adopted by the next apply, as `dest add` would.
        for d in &mut new_dests {
            let DestinationKind::Local { path } = &d.kind;
            std::fs::create_dir_all(path).map_err(|e| {
                CoreError::Failed(format!(
                    "cannot create destination directory {} of {}: {e}; check the path and its permissions",
                    path.display(),
                    d.name
                ))
            })?;
            d.repo_id = Some(repo::open_or_init(open_dest(d).as_ref())?.id);
        }
        self.catalog.put_config(&new_dests, &put_tasks)?;
        Ok(plan)
    }

    /// Checks one task of the file and returns it as it would be stored (a new
    /// task: created now, active unless the file says paused). The same rules as
    /// `task add`, except that destinations may be defined in the same file and
    /// messages name the file's keys rather than command-line flags.
    fn check_task(&self, doc: &TaskDoc, in_file: &BTreeSet<&str>) -> Result<TaskConfig, CoreError> {
        let TaskDoc {
            name,
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
        } = doc;
        check_name("task", name)?;
        let what = format!("task {name:?}");
        let bad = |msg: String| CoreError::Invalid(format!("{what}: {}", one_line(&msg)));
        if destinations.is_empty() {
            return Err(bad(
                "needs at least one destination, e.g. destinations = [\"local\"]".into(),
            ));
        }
        if let Some(d) = first_duplicate(destinations.iter().map(String::as_str)) {
            return Err(bad(format!("destinations lists {d:?} twice")));
        }
        for d in destinations {
            if !in_file.contains(d.as_str()) && self.catalog.get_destination(d)?.is_none() {
                return Err(CoreError::NotFound {
                    what: "destination",
                    name: d.clone(),
                    hint: format!(
                        "{what} writes to it; define it in the file with a [[destination]] table or add it with 'strata dest add {d} --local PATH'"
                    ),
                });
            }
        }
        if source.kind != "dir" {
            return Err(bad(format!(
                "source kind {:?} is not supported; use source = {{ kind = \"dir\", path = \"/abs/dir\" }}",
                source.kind
            )));
        }
        let path = absolute(&what, "source.path", source.path.as_ref(), "/abs/dir")?;
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(bad(format!(
                    "source {} is not a directory; a dir source takes a directory",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(bad(format!(
                    "source {} cannot be read ({e}); check the path",
                    path.display()
                )));
            }
        }
        let compression_level = compression_level.unwrap_or_else(default_compression);
        let RetentionDoc {
            keep_within,
            keep_last_full,
            keep_daily,
            keep_weekly,
            keep_monthly,
            keep_yearly,
        } = retention.clone();
        let HooksDoc {
            before,
            after,
            timeout_secs,
        } = hooks.clone();
        let task = TaskConfig {
            name: name.clone(),
            source: SourceConfig::Dir {
                path,
                exclude: source.exclude.clone(),
            },
            destinations: destinations.clone(),
            full: full.clone(),
            incremental: incremental.clone(),
            differential: differential.clone(),
            timezone: timezone.clone(),
            catch_up: catch_up.unwrap_or_default(),
            retention: RetentionPolicy {
                keep_within,
                keep_last_full,
                keep_daily,
                keep_weekly,
                keep_monthly,
                keep_yearly,
            },
            hooks: Hooks {
                before,
                after,
                timeout_secs,
            },
            compression_level,
            paused: paused.unwrap_or(false),
            created: chrono::Utc::now(),
        };
        check_settings(&task).map_err(|(key, why)| bad(format!("{key}: {why}")))?;
        Ok(task)
    }
}

/// Checks one destination of the file and returns it as it would be stored
/// (without a repository id until its repository is opened).
fn check_dest(doc: &DestDoc) -> Result<DestinationConfig, CoreError> {
    let DestDoc { name, kind, path } = doc;
    check_name("destination", name)?;
    let what = format!("destination {name:?}");
    if kind != "local" {
        return Err(CoreError::Invalid(format!(
            "{what}: kind {kind:?} is not supported by this build; use kind = \"local\" with path = \"/abs/dir\""
        )));
    }
    let path = absolute(&what, "path", path.as_ref(), "/abs/dir")?;
    if path.exists() && !path.is_dir() {
        return Err(CoreError::Invalid(format!(
            "{what}: {} exists and is not a directory; a local destination is a directory",
            path.display()
        )));
    }
    Ok(DestinationConfig {
        name: name.clone(),
        kind: DestinationKind::Local { path },
        repo_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::home::Home;

    struct World {
        _dir: tempfile::TempDir,
        root: PathBuf,
        core: Core,
    }

    fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("src/app")).unwrap();
        std::fs::create_dir_all(root.join("src/db")).unwrap();
        let core = Core::open(Home::at(root.join("home")), "test").unwrap();
        World {
            _dir: dir,
            root,
            core,
        }
    }

    fn doc(root: &Path, app_full: &str) -> String {
        let r = root.display();
        format!(
            r#"
[[destination]]
name = "nas"
kind = "local"
path = "{r}/nas"

[[destination]]
name = "usb"
kind = "local"
path = "{r}/usb/"

[[task]]
name = "app"
source = {{ kind = "dir", path = "{r}/src/app", exclude = ["*.tmp", "cache/"] }}
destinations = ["nas", "usb"]
full = "{app_full}"
incremental = "0 * * * *"
timezone = "UTC"
catch_up = "skip"
retention = {{ keep_within = "14d", keep_last_full = 2, keep_monthly = 6 }}
hooks = {{ before = "true", timeout_secs = 30 }}
compression_level = 5

[[task]]
name = "db"
source = {{ kind = "dir", path = "{r}/src/db/." }}
destinations = ["nas"]
"#
        )
    }

    #[test]
    fn apply_export_apply_is_a_no_op() {
        let w = world();
        let plan = w.core.apply(&doc(&w.root, "0 3 * * 0"), false).unwrap();
        assert_eq!(plan.changes, 4);
        assert!(plan.items.iter().all(|i| i.action == Action::Add));
        let nas = w.core.destination("nas").unwrap();
        assert!(nas.repo_id.is_some());
        let exported = w.core.export().unwrap();
        assert!(
            exported.contains("source = { kind = \"dir\", path = "),
            "{exported}"
        );
        assert!(
            exported.contains("retention = { keep_within = \"14d\""),
            "{exported}"
        );
        let again = w.core.apply(&exported, false).unwrap();
        assert_eq!(again.changes, 0, "{again:#?}");
        assert!(again.items.iter().all(|i| i.action == Action::Unchanged));
        // The original file (trailing slash, `.` component) is a no-op too.
        let again = w.core.apply(&doc(&w.root, "0 3 * * 0"), true).unwrap();
        assert_eq!(again.changes, 0, "{again:#?}");
        assert_eq!(parse(&exported).unwrap(), w.core.export_doc().unwrap());
    }

    #[test]
    fn a_change_names_exactly_its_field_and_keeps_created_and_pause() {
        let w = world();
        w.core.apply(&doc(&w.root, "0 3 * * 0"), false).unwrap();
        let before = w.core.task("app").unwrap();
        let mut paused = before.clone();
        paused.paused = true;
        w.core.catalog.put_task(&paused).unwrap();
        let plan = w.core.apply(&doc(&w.root, "0 4 * * 0"), true).unwrap();
        assert_eq!(plan.changes, 1);
        let app = plan.items.iter().find(|i| i.name == "app").unwrap();
        assert_eq!(
            app.action,
            Action::Change {
                fields: vec![FieldChange {
                    field: "full".into(),
                    old: "0 3 * * 0".into(),
                    new: "0 4 * * 0".into()
                }]
            }
        );
        assert_eq!(
            w.core.task("app").unwrap().full.as_deref(),
            Some("0 3 * * 0")
        );
        w.core.apply(&doc(&w.root, "0 4 * * 0"), false).unwrap();
        let after = w.core.task("app").unwrap();
        assert_eq!(after.full.as_deref(), Some("0 4 * * 0"));
        assert_eq!(after.created, before.created);
        assert!(after.paused, "absent `paused` keeps the task's state");
    }

    #[test]
    fn errors_write_nothing() {
        let w = world();
        let text = doc(&w.root, "0 3 * * 0");
        for (bad, code, needle) in [
            (text.replace("0 * * * *", "0 25 * * *"), 2, "hour"),
            (text.replace("catch_up", "catchup"), 2, "catchup"),
            (text.replace("\"nas\"]", "\"nope\"]"), 3, "nope"),
            (
                text.replace("name = \"db\"", "name = \"app\""),
                2,
                "more than once",
            ),
            (
                text.replace("kind = \"local\"\npath = \"", "kind = \"s3\"\npath = \""),
                2,
                "s3",
            ),
            (
                text.replace("keep_last_full = 2", "keep_last_full = 0"),
                2,
                "keep_last_full",
            ),
            (text.replace("/src/db/.", "/src/missing"), 2, "missing"),
        ] {
            let e = w.core.apply(&bad, false).unwrap_err();
            assert_eq!(e.exit_code(), code, "{e}");
            assert!(e.to_string().contains(needle), "{e}");
            assert!(w.core.destinations().unwrap().is_empty());
            assert!(w.core.tasks().unwrap().is_empty());
            assert!(!w.root.join("nas").exists(), "no repository was created");
        }
        let e = w.core.apply("[[task]\nname = 1", false).unwrap_err();
        assert!(e.to_string().starts_with("line 1, column"), "{e}");
    }

    #[test]
    fn repointing_is_refused_and_others_are_left_alone() {
        let w = world();
        w.core.apply(&doc(&w.root, "0 3 * * 0"), false).unwrap();
        let text = format!(
            "[[destination]]\nname = \"nas\"\nkind = \"local\"\npath = \"{}/elsewhere\"\n",
            w.root.display()
        );
        let e = w.core.apply(&text, false).unwrap_err();
        assert_eq!(e.exit_code(), 4, "{e}");
        assert!(e.to_string().contains("already exists at"), "{e}");
        let plan = w.core.apply("", false).unwrap();
        assert_eq!(plan.changes, 0);
        let names: Vec<&str> = plan.not_in_file.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["nas", "usb", "app", "db"]);
        assert_eq!(w.core.tasks().unwrap().len(), 2);
    }
}
