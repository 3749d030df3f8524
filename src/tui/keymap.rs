//! One keymap table: it drives input handling, the footer, the `?` help and
//! docs/keybindings.md, so they can never disagree. Users may rebind actions
//! in `<home>/keys.toml`; conflicts are reported at start.

use crate::core::access::Role;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

/// Views of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum View {
    /// Tasks (home).
    Tasks,
    /// All backups.
    Backups,
    /// Running and queued jobs.
    Jobs,
    /// Audit log.
    Audit,
    /// Recent events: runs, this session's notices and the audit trail.
    Log,
    /// Destinations: reachable or not, free space, what they hold.
    Destinations,
    /// One task in depth (not a tab: opened with Enter on a task).
    Detail,
    /// The files of one backup (not a tab: opened with Enter on a backup).
    Browse,
}

impl View {
    /// The views with a tab, in tab order.
    pub const ALL: [View; 6] = [
        View::Tasks,
        View::Backups,
        View::Jobs,
        View::Audit,
        View::Log,
        View::Destinations,
    ];

    /// Every view, tabs first (per-view state is indexed by this order).
    pub const EVERY: [View; 8] = [
        View::Tasks,
        View::Backups,
        View::Jobs,
        View::Audit,
        View::Log,
        View::Destinations,
        View::Detail,
        View::Browse,
    ];

    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            View::Tasks => "Tasks",
            View::Backups => "Backups",
            View::Jobs => "Jobs",
            View::Audit => "Audit",
            View::Log => "Log",
            View::Destinations => "Destinations",
            View::Detail => "Task detail",
            View::Browse => "File browser",
        }
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every view.
    Global,
    /// Only these views.
    Views(&'static [View]),
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Leave the console.
    Quit,
    /// Show the keys of this view.
    Help,
    /// Open the `:` command line.
    CommandLine,
    /// Filter the list.
    Filter,
    /// Next view.
    NextView,
    /// Previous view.
    PrevView,
    /// Go to the Tasks view.
    ViewTasks,
    /// Go to the Backups view.
    ViewBackups,
    /// Go to the Jobs view.
    ViewJobs,
    /// Go to the Audit view.
    ViewAudit,
    /// Go to the Log view.
    ViewLog,
    /// Go to the Destinations view.
    ViewDestinations,
    /// Selection up.
    Up,
    /// Selection down.
    Down,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Drill in (a task's detail view).
    Enter,
    /// The backups of the task shown in the detail view (on a backup of
    /// its chain tree: that backup's files).
    TaskBackups,
    /// The file browser of the selected backup.
    Browse,
    /// Into the selected directory of the file browser.
    Open,
    /// Up to the parent directory (at the top: close the browser).
    Parent,
    /// Back / clear filter / close.
    Back,
    /// Take a backup of the selected task now.
    BackupNow,
    /// Pause or resume the selected task.
    PauseResume,
    /// Verify the selected backup.
    Verify,
    /// Delete the selected backup (asks first).
    Delete,
    /// Pin or unpin the selected backup.
    Pin,
    /// Cancel the selected job (asks first).
    Cancel,
    /// Restore the selected backup (a dialog; asks first).
    Restore,
    /// Cycle the sort order of the Backups view.
    Sort,
    /// Switch the Audit view between dates and "5m ago".
    AuditTimes,
    /// Clear the local snapshots of the task shown (asks first).
    ClearSnapshots,
}

impl Action {
    /// Name used in keys.toml.
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::CommandLine => "command_line",
            Action::Filter => "filter",
            Action::NextView => "next_view",
            Action::PrevView => "prev_view",
            Action::ViewTasks => "view_tasks",
            Action::ViewBackups => "view_backups",
            Action::ViewJobs => "view_jobs",
            Action::ViewAudit => "view_audit",
            Action::ViewLog => "view_log",
            Action::ViewDestinations => "view_destinations",
            Action::Up => "up",
            Action::Down => "down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Enter => "enter",
            Action::TaskBackups => "task_backups",
            Action::Browse => "browse",
            Action::Open => "open",
            Action::Parent => "parent",
            Action::Back => "back",
            Action::BackupNow => "backup_now",
            Action::PauseResume => "pause_resume",
            Action::Verify => "verify",
            Action::Delete => "delete",
            Action::Pin => "pin",
            Action::Cancel => "cancel_job",
            Action::Restore => "restore",
            Action::Sort => "sort",
            Action::AuditTimes => "audit_times",
            Action::ClearSnapshots => "clear_snapshots",
        }
    }
}

/// One row of the keymap table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Keys, as written in keys.toml (`j`, `Down`, `ctrl-c`, `?`).
    pub keys: Vec<String>,
    /// What they do.
    pub action: Action,
    /// Where.
    pub scope: Scope,
    /// Footer/help text.
    pub help: &'static str,
    /// Role the action needs (shown disabled below it).
    pub needs: Role,
}

const TASKS: &[View] = &[View::Tasks];
const TASK: &[View] = &[View::Tasks, View::Detail];
const DETAIL: &[View] = &[View::Detail];
const BACKUPS: &[View] = &[View::Backups];
// Actions on one backup work in the Backups view and on the detail's chain tree.
const BACKUP: &[View] = &[View::Backups, View::Detail];
// Restore also works on a file or directory of the browser.
const RESTORE: &[View] = &[View::Backups, View::Detail, View::Browse];
const BROWSE: &[View] = &[View::Browse];
const LISTS: &[View] = &[
    View::Tasks,
    View::Backups,
    View::Jobs,
    View::Audit,
    View::Log,
    View::Destinations,
    View::Detail,
    View::Browse,
];
const JOBS: &[View] = &[View::Jobs];
const AUDIT: &[View] = &[View::Audit];
const FILTERED: &[View] = &[View::Tasks, View::Backups, View::Browse];

fn b(keys: &[&str], action: Action, scope: Scope, help: &'static str, needs: Role) -> Binding {
    Binding {
        keys: keys.iter().map(|k| k.to_string()).collect(),
        action,
        scope,
        help,
        needs,
    }
}

/// The built-in table.
pub fn defaults() -> Vec<Binding> {
    use Action::*;
    use Role::*;
    use Scope::*;
    vec![
        b(&["q"], Quit, Global, "quit", Viewer),
        b(&["?"], Help, Global, "help", Viewer),
        b(&[":"], CommandLine, Global, "command", Viewer),
        b(&["/"], Filter, Views(FILTERED), "filter", Viewer),
        b(&["Tab"], NextView, Global, "next view", Viewer),
        b(&["BackTab"], PrevView, Global, "previous view", Viewer),
        b(&["1"], ViewTasks, Global, "tasks", Viewer),
        b(&["2"], ViewBackups, Global, "backups", Viewer),
        b(&["3"], ViewJobs, Global, "jobs", Viewer),
        b(&["4"], ViewAudit, Global, "audit", Viewer),
        b(&["5"], ViewLog, Global, "log", Viewer),
        b(&["6"], ViewDestinations, Global, "destinations", Viewer),
        b(&["k", "Up"], Up, Views(LISTS), "up", Viewer),
        b(&["j", "Down"], Down, Views(LISTS), "down", Viewer),
        b(&["g", "Home"], Top, Views(LISTS), "top", Viewer),
        b(&["G", "End"], Bottom, Views(LISTS), "bottom", Viewer),
        b(&["Enter"], Enter, Views(TASKS), "details", Viewer),
        b(
            &["Enter"],
            TaskBackups,
            Views(DETAIL),
            "browse/its backups",
            Viewer,
        ),
        b(&["Enter"], Browse, Views(BACKUPS), "browse files", Viewer),
        b(&["Enter"], Open, Views(BROWSE), "open dir", Viewer),
        b(
            &["Backspace", "h"],
            Parent,
            Views(BROWSE),
            "up a dir",
            Viewer,
        ),
        b(&["Esc"], Back, Global, "back", Viewer),
        b(&["r"], Restore, Views(RESTORE), "restore", Operator),
        b(&["s"], Sort, Views(BACKUPS), "sort", Viewer),
        b(&["b"], BackupNow, Views(TASK), "backup now", Operator),
        b(&["p"], PauseResume, Views(TASK), "pause/resume", Operator),
        b(&["v"], Verify, Views(BACKUP), "verify", Operator),
        b(&["d"], Delete, Views(BACKUP), "delete", Admin),
        b(&["P"], Pin, Views(BACKUP), "pin/unpin", Admin),
        b(&["x"], Cancel, Views(JOBS), "cancel job", Operator),
        b(
            &["X"],
            ClearSnapshots,
            Views(DETAIL),
            "clear local snapshots",
            Operator,
        ),
        b(&["t"], AuditTimes, Views(AUDIT), "dates/ago", Viewer),
    ]
}

/// Canonical text of a key event (`j`, `ctrl-c`, `Enter`), or `None` for keys
/// we never bind.
pub fn key_name(k: &KeyEvent) -> Option<String> {
    let base = match k.code {
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "BackTab".into(),
        KeyCode::Up => "Up".into(),
        KeyCode::Down => "Down".into(),
        KeyCode::Left => "Left".into(),
        KeyCode::Right => "Right".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::PageUp => "PageUp".into(),
        KeyCode::PageDown => "PageDown".into(),
        KeyCode::Backspace => "Backspace".into(),
        _ => return None,
    };
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        Some(format!("ctrl-{base}"))
    } else {
        Some(base)
    }
}

/// The effective keymap: defaults with the user's overrides.
#[derive(Debug, Clone)]
pub struct Keymap {
    /// Rows in display order.
    pub bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            bindings: defaults(),
        }
    }
}

fn scopes_overlap(a: Scope, b: Scope) -> bool {
    match (a, b) {
        (Scope::Global, _) | (_, Scope::Global) => true,
        (Scope::Views(x), Scope::Views(y)) => x.iter().any(|v| y.contains(v)),
    }
}

impl Keymap {
    /// Applies `keys.toml` overrides (`action = ["key", …]` under `[keys]`)
    /// and rejects unknown actions and keys bound twice where both apply.
    pub fn with_overrides(text: &str) -> Result<Keymap, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            keys: BTreeMap<String, Vec<String>>,
        }
        let f: File = toml::from_str(text).map_err(|e| e.to_string().replace('\n', " "))?;
        let mut km = Keymap::default();
        for (action, keys) in f.keys {
            let Some(b) = km.bindings.iter_mut().find(|b| b.action.name() == action) else {
                return Err(format!("unknown action {action:?} in [keys]"));
            };
            b.keys = keys;
        }
        km.check()?;
        Ok(km)
    }

    /// Reports the first key bound to two actions in overlapping scopes.
    pub fn check(&self) -> Result<(), String> {
        for (i, a) in self.bindings.iter().enumerate() {
            for bnd in &self.bindings[i + 1..] {
                if let Some(k) = a.keys.iter().find(|k| bnd.keys.contains(k))
                    && scopes_overlap(a.scope, bnd.scope)
                {
                    return Err(format!(
                        "key {k:?} is bound to both {} and {}",
                        a.action.name(),
                        bnd.action.name()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The action of `key` in `view`.
    pub fn action(&self, key: &KeyEvent, view: View) -> Option<&Binding> {
        let name = key_name(key)?;
        self.bindings.iter().find(|b| {
            b.keys.contains(&name)
                && (b.scope == Scope::Global
                    || matches!(b.scope, Scope::Views(v) if v.contains(&view)))
        })
    }

    /// Bindings that apply in `view`, for the footer and help.
    pub fn for_view(&self, view: View) -> Vec<&Binding> {
        self.bindings
            .iter()
            .filter(|b| {
                b.scope == Scope::Global || matches!(b.scope, Scope::Views(v) if v.contains(&view))
            })
            .collect()
    }

    /// docs/keybindings.md, generated from the table.
    pub fn markdown(&self) -> String {
        let mut s = String::from(
            "# Key bindings\n\nGenerated from the console's keymap table (`src/tui/keymap.rs`); a test fails if this file is stale.\nRebind actions in `<home>/keys.toml`, e.g.\n\n```toml\n[keys]\ndelete = [\"D\"]\n```\n\n| keys | action | where | needs role |\n|---|---|---|---|\n",
        );
        for b in &self.bindings {
            let scope = match b.scope {
                Scope::Global => "everywhere".to_string(),
                Scope::Views(v) => v.iter().map(|v| v.title()).collect::<Vec<_>>().join(", "),
            };
            let keys: Vec<String> = b.keys.iter().map(|k| format!("`{k}`")).collect();
            s.push_str(&format!(
                "| {} | {} (`{}`) | {} | {} |\n",
                keys.join(" "),
                b.help,
                b.action.name(),
                scope,
                b.needs
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_no_conflicts_and_overrides_are_checked() {
        Keymap::default().check().unwrap();
        let km = Keymap::with_overrides("[keys]\ndelete = [\"D\"]\n").unwrap();
        let k = KeyEvent::new(KeyCode::Char('D'), KeyModifiers::SHIFT);
        assert_eq!(
            km.action(&k, View::Backups).map(|b| b.action),
            Some(Action::Delete)
        );
        let e = Keymap::with_overrides("[keys]\ndelete = [\"q\"]\n").unwrap_err();
        assert!(
            e.contains("\"q\"") && e.contains("quit") && e.contains("delete"),
            "{e}"
        );
        assert!(
            Keymap::with_overrides("[keys]\nexplode = [\"x\"]\n")
                .unwrap_err()
                .contains("explode")
        );
    }

    #[test]
    fn keybindings_doc_is_current() {
        let want = Keymap::default().markdown();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/keybindings.md");
        let have = std::fs::read_to_string(path).unwrap_or_default();
        if have != want {
            if std::env::var("STRATA_BLESS").is_ok() {
                std::fs::write(path, &want).unwrap();
            } else {
                panic!(
                    "docs/keybindings.md is stale; regenerate it with STRATA_BLESS=1 cargo test keybindings_doc_is_current"
                );
            }
        }
    }
}
