//! The task detail view: settings, destinations, the chain tree with the
//! retention preview, and recent runs, as one page with a line cursor.
//!
//! The page is a list of `Item`s built from the snapshot alone (no clock), so
//! `App` can count and address its lines; `detail_view` turns them into text.

use super::app::{App, idx};
use super::human;
use super::keymap::View;
use super::source::Snapshot;
use crate::core::backups::BackupRow;
use crate::core::rows::{DestinationRow, TaskRow};
use crate::core::snapshot_rows::LocalSnapshotRow;
use crate::model::{BackupKind, RunRecord, SourceConfig};
use std::collections::HashMap;

/// Recent runs the page lists.
pub const RUNS_SHOWN: usize = 10;
/// Entry errors or warnings listed per run.
const ENTRIES_SHOWN: usize = 3;

/// One line of the detail page.
#[derive(Debug, Clone)]
pub enum Item<'a> {
    /// An empty line.
    Blank,
    /// A section title.
    Heading(&'static str),
    /// `label  value`.
    Field(&'static str, String),
    /// A destination of the task (`None`: not defined any more).
    Dest(&'a str, Option<&'a DestinationRow>),
    /// The column header of the chain tree.
    ChainHeader,
    /// A backup in the chain tree; `last` closes its chain's branch.
    Backup {
        /// The backup.
        row: &'a BackupRow,
        /// Whether it is the last dependent of its full.
        last: bool,
    },
    /// The retention summary line: what goes at the next prune.
    ExpiresNow,
    /// The retention summary line: what goes after that, and when.
    ExpiresNext,
    /// One run of the task.
    Run(&'a RunRecord),
    /// An error or warning under a run, or a note (`true`: an error).
    Note(String, bool),
    /// A local snapshot of a snapshot task.
    Snapshot(&'a LocalSnapshotRow),
}

/// The task the detail view shows, if it still exists.
pub fn task<'a>(app: &App, s: &'a Snapshot) -> Option<&'a TaskRow> {
    let name = app.detail.as_deref()?;
    s.tasks.iter().find(|t| t.task.name == name)
}

/// The task's backups as chains: newest chain first, each full followed by
/// its dependents, oldest first.
fn chains<'a>(s: &'a Snapshot, name: &str) -> Vec<(&'a BackupRow, bool)> {
    let mut by_chain: HashMap<&str, Vec<&BackupRow>> = HashMap::new();
    for b in s.backups.iter().filter(|b| b.record.task == name) {
        by_chain.entry(b.record.chain.as_str()).or_default().push(b);
    }
    fn key(b: &BackupRow) -> (chrono::DateTime<chrono::Utc>, &str) {
        (b.record.finished, b.record.id.as_str())
    }
    let mut groups: Vec<Vec<&BackupRow>> = by_chain.into_values().collect();
    for g in &mut groups {
        // The full first (a chain is named after its full), then by time.
        g.sort_by(|a, b| {
            (a.record.id != a.record.chain, key(a)).cmp(&(b.record.id != b.record.chain, key(b)))
        });
    }
    groups.sort_by(|a, b| b.first().map(|x| key(x)).cmp(&a.first().map(|x| key(x))));
    let mut out = Vec::new();
    for g in groups {
        let n = g.len();
        out.extend(
            g.into_iter()
                .enumerate()
                .map(|(i, b)| (b, i + 1 == n && i > 0)),
        );
    }
    out
}

fn schedule_items<'a>(t: &TaskRow, out: &mut Vec<Item<'a>>) {
    let kinds = [
        ("full", &t.task.full),
        ("incremental", &t.task.incremental),
        ("differential", &t.task.differential),
    ];
    let mut any = false;
    for (kind, expr) in kinds {
        if let Some(e) = expr {
            let words = human::cron(e);
            let text = if words == *e {
                format!("{kind} {e}")
            } else {
                format!("{kind} {words} ({e})")
            };
            out.push(Item::Field(if any { "" } else { "schedule" }, text));
            any = true;
        }
    }
    if !any {
        out.push(Item::Field(
            "schedule",
            "manual (no schedule: backups run with b or backup run)".into(),
        ));
    }
    if let Some(e) = &t.schedule_error {
        out.push(Item::Note(format!("schedule error: {e}"), true));
    }
}

/// The "Local snapshots" section of a snapshot task: each snapshot on this
/// host with its age, size and the bytes only it holds.
fn snapshot_items<'a>(s: &'a Snapshot, task: &str, out: &mut Vec<Item<'a>>) {
    out.push(Item::Blank);
    out.push(Item::Heading("Local snapshots"));
    let mine: Vec<&LocalSnapshotRow> = s.snapshots.iter().filter(|r| r.task == task).collect();
    if mine.is_empty() {
        out.push(Item::Note(
            "none on this host: each is cleared once its backup is stored".into(),
            false,
        ));
        return;
    }
    out.extend(mine.iter().map(|r| Item::Snapshot(r)));
    let own: u64 = mine.iter().map(|r| r.exclusive_bytes).sum();
    out.push(Item::Note(
        format!(
            "clearing them frees {}: X (or strata snapshot clear --task {task})",
            crate::units::size(own)
        ),
        false,
    ));
}

/// The page of the detail view.
pub fn items<'a>(app: &App, s: &'a Snapshot) -> Vec<Item<'a>> {
    let Some(t) = task(app, s) else {
        return Vec::new();
    };
    let c = &t.task;
    let mut out = vec![Item::Heading("Settings")];
    out.push(Item::Field(
        "source",
        format!("{} {}", c.source.label(), c.source.location()),
    ));
    if let SourceConfig::Dir { exclude, .. } = &c.source
        && !exclude.is_empty()
    {
        out.push(Item::Field("exclude", exclude.join(" ")));
    }
    if let SourceConfig::Snapshot { create, clear, .. } = &c.source {
        out.push(Item::Field("create", create.clone()));
        out.push(Item::Field("clear", clear.clone()));
        out.push(Item::Field("keep local", c.source.keep_local_text()));
    }
    schedule_items(t, &mut out);
    out.push(Item::Field(
        "timezone",
        c.timezone
            .clone()
            .unwrap_or_else(|| "host local time".into()),
    ));
    out.push(Item::Field("retention", c.retention.text(" ", ", ")));
    if let Some(v) = &c.verify {
        let words = human::cron(v);
        let data = match c.verify_read_data {
            Some(p) => format!("data of {p}% of packs"),
            None => "structure only".into(),
        };
        out.push(Item::Field(
            "verify",
            if words == *v {
                format!("{v}, {data}")
            } else {
                format!("{words} ({v}), {data}")
            },
        ));
    }
    let hooks = [("before", &c.hooks.before), ("after", &c.hooks.after)]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
        .collect::<Vec<_>>();
    out.push(Item::Field(
        "hooks",
        if hooks.is_empty() {
            "none".into()
        } else {
            hooks.join(" · ")
        },
    ));
    out.push(Item::Blank);
    out.push(Item::Heading("Destinations"));
    for d in &c.destinations {
        out.push(Item::Dest(
            d,
            s.destinations.iter().find(|r| r.config.name == *d),
        ));
    }
    if matches!(c.source, SourceConfig::Snapshot { .. }) {
        snapshot_items(s, &c.name, &mut out);
    }
    out.push(Item::Blank);
    out.push(Item::Heading("Chains and retention"));
    let tree = chains(s, &c.name);
    if tree.is_empty() {
        out.push(Item::Note(
            "no backups yet: press b to back up now".into(),
            false,
        ));
    } else {
        out.push(Item::ExpiresNow);
        out.push(Item::ExpiresNext);
        out.push(Item::ChainHeader);
        out.extend(
            tree.into_iter()
                .map(|(row, last)| Item::Backup { row, last }),
        );
    }
    out.push(Item::Blank);
    out.push(Item::Heading("Recent runs"));
    let runs: Vec<&RunRecord> = s
        .runs
        .iter()
        .filter(|r| r.task == c.name)
        .take(RUNS_SHOWN)
        .collect();
    if runs.is_empty() {
        out.push(Item::Note("no runs yet".into(), false));
    }
    for r in runs {
        out.push(Item::Run(r));
        if let Some(b) = s.backups.iter().find(|b| b.record.id == r.backup_id) {
            for (list, error) in [(&b.record.errors, true), (&b.record.warnings, false)] {
                for e in list.iter().take(ENTRIES_SHOWN) {
                    out.push(Item::Note(format!("{}: {}", e.path, e.error), error));
                }
                if list.len() > ENTRIES_SHOWN {
                    out.push(Item::Note(
                        format!(
                            "… and {} more (strata backup show {})",
                            list.len() - ENTRIES_SHOWN,
                            b.record.id
                        ),
                        error,
                    ));
                }
            }
        }
    }
    out
}

/// The backup on line `i` of the page, if that line is one.
pub fn backup_at<'a>(app: &App, s: &'a Snapshot, i: usize) -> Option<&'a BackupRow> {
    match items(app, s).get(i) {
        Some(Item::Backup { row, .. }) => Some(*row),
        _ => None,
    }
}

/// The key the selection follows: the backup id on a backup line, else the
/// line number (other lines do not move between refreshes).
pub fn key_of(app: &App, s: &Snapshot, i: usize) -> Option<String> {
    match items(app, s).get(i)? {
        Item::Backup { row, .. } => Some(row.record.id.clone()),
        _ => Some(format!("#{i}")),
    }
}

/// The line whose key (see [`key_of`]) is `want`.
pub fn position(app: &App, s: &Snapshot, want: &str) -> Option<usize> {
    items(app, s)
        .iter()
        .enumerate()
        .position(|(i, it)| match it {
            Item::Backup { row, .. } => row.record.id == want,
            _ => want.strip_prefix('#') == Some(i.to_string().as_str()),
        })
}

impl App {
    /// Opens the detail view of `task`, the cursor on its newest full.
    pub fn open_detail(&mut self, s: &Snapshot, task: String) {
        self.detail = Some(task);
        self.view = View::Detail;
        let first = items(self, s)
            .iter()
            .position(
                |i| matches!(i, Item::Backup { row, .. } if row.record.kind == BackupKind::Full),
            )
            .unwrap_or(0);
        self.selected[idx(View::Detail)] = first;
    }
}
