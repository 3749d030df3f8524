//! Console state and input handling. Pure: keys in, state and requests out
//! (typed core actions, or a `:` line); no I/O here, so flows are tested by
//! feeding key events.

use super::keymap::{Keymap, View};
use super::output::Output;
use super::restore::RestoreForm;
use super::sort::Sort;
use super::source::Snapshot;
use crate::core::access::Role;
use crate::core::backups::BackupRow;
use crate::core::rows::TaskRow;
use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use std::collections::VecDeque;

/// Number of views with their own selection and filter.
const VIEWS: usize = View::EVERY.len();

/// What a key asks the console to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// A typed action of the core (every key that acts).
    Act(crate::core::Action),
    /// A `:` line of the command grammar, whose printed output is shown.
    Line(String),
}

/// What `y` does in a confirmation.
#[derive(Debug, Clone, PartialEq)]
pub enum OnYes {
    /// Runs this.
    Run(Request),
    /// Leaves the console.
    Quit,
}

/// What the console is doing with keys right now.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Keys are actions from the keymap.
    Normal,
    /// Typing a `:` command line.
    Command(String),
    /// Typing a `/` filter.
    Filter(String),
    /// The `?` overlay (its own filter text).
    Help(String),
    /// A question; `y` does `yes`, anything else cancels.
    Confirm {
        /// The question, naming what will happen.
        prompt: String,
        /// What `y` does.
        yes: OnYes,
    },
    /// Backup now: `f` full, `i` incremental, `d` differential.
    ChooseKind {
        /// Task to back up.
        task: String,
    },
    /// The restore dialog (form, question, progress, result).
    Restore(Box<RestoreForm>),
    /// The full output of a `:` command, scrollable.
    Output(Box<Output>),
}

/// A short message under the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Text (its lines, without blank ones).
    pub text: String,
    /// Whether it reports a failure.
    pub error: bool,
}

/// A notice as the Log view keeps it: with the time it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionNote {
    /// When (the time of the newest snapshot; `None` before the first).
    pub at: Option<DateTime<Utc>>,
    /// Full text.
    pub text: String,
    /// Whether it reports a failure.
    pub error: bool,
    /// Its number in this session (the Log view's selection follows it).
    pub seq: u64,
}

/// Session notices the Log view keeps.
pub const SESSION_KEPT: usize = 200;

/// Console state.
pub struct App {
    /// Current view.
    pub view: View,
    /// Key mode.
    pub mode: Mode,
    /// Selected row per view (indexed like `View::EVERY`).
    pub selected: [usize; VIEWS],
    /// Active filter text per view (indexed like `View::EVERY`).
    pub filter: [String; VIEWS],
    /// Backups view limited to one task (after Enter on a task).
    pub task_filter: Option<String>,
    /// Recent notices, newest last.
    pub notices: VecDeque<Notice>,
    /// The caller's role (actions above it are shown disabled and refused).
    pub role: Role,
    /// Keymap in force.
    pub keymap: Keymap,
    /// Set when the user quits.
    pub quit: bool,
    /// The item (task name, backup id, job id) selected per view, so the
    /// selection stays on it when rows above it appear or go.
    pub(super) anchor: [Option<String>; VIEWS],
    /// Whether quitting would cancel jobs running in this process.
    pub jobs_die_with_console: bool,
    /// Sort order of the Backups view.
    pub sort: Sort,
    /// The task the detail view shows.
    pub detail: Option<String>,
    /// This session's notices, newest last, for the Log view.
    pub session: VecDeque<SessionNote>,
    /// Time of the newest snapshot: the console's notion of "now" (App
    /// itself never reads a clock).
    pub clock: Option<DateTime<Utc>>,
    /// `:` lines still running, whose long output opens the output overlay.
    pub(super) typed: Vec<String>,
    /// The restore started from the dialog and still running: (action, target).
    pub(super) restoring: Option<(crate::core::Action, String)>,
    /// The file browser (kept after closing, so reopening the same backup
    /// does not load it again).
    pub(super) browse: Option<Box<super::browse::Browser>>,
    /// The `:` line's history, oldest first (the front end loads it).
    pub history: Vec<String>,
    /// Up/Down in the history: the line shown and what was typed before.
    pub(super) recall: Option<(usize, String)>,
    /// A Tab completion being cycled.
    pub tabbing: Option<super::cmdline::Tabbing>,
    /// The terminal's size as the front end last drew it (columns, rows).
    pub screen: (u16, u16),
    /// Whether the Audit view shows times as "5m ago" instead of dates.
    pub audit_relative: bool,
}

/// Index of a view in per-view state.
pub(super) fn idx(v: View) -> usize {
    View::EVERY.iter().position(|x| *x == v).unwrap_or(0)
}

/// Case-insensitive substring match without allocating: it runs for every
/// row of a 10,000-backup catalog on every frame.
pub(super) fn matches(filter: &str, fields: &[&str]) -> bool {
    let n = filter.as_bytes();
    n.is_empty()
        || fields.iter().any(|s| {
            s.as_bytes()
                .windows(n.len())
                .any(|w| w.eq_ignore_ascii_case(n))
        })
}

impl App {
    /// A console on the Tasks view.
    pub fn new(role: Role, keymap: Keymap) -> App {
        App {
            view: View::Tasks,
            mode: Mode::Normal,
            selected: [0; VIEWS],
            filter: Default::default(),
            task_filter: None,
            notices: VecDeque::new(),
            role,
            keymap,
            quit: false,
            anchor: Default::default(),
            jobs_die_with_console: false,
            sort: Sort::default(),
            detail: None,
            session: VecDeque::new(),
            clock: None,
            typed: Vec::new(),
            restoring: None,
            browse: None,
            history: Vec::new(),
            recall: None,
            tabbing: None,
            screen: (80, 24),
            audit_relative: false,
        }
    }

    fn key_of(&self, s: &Snapshot, view: View, i: usize) -> Option<String> {
        match view {
            View::Tasks => self.tasks(s).get(i).map(|t| t.task.name.clone()),
            View::Backups => self.backups(s).get(i).map(|b| b.record.id.clone()),
            View::Jobs => s.jobs.get(i).map(|j| j.id.to_string()),
            View::Audit => s.audit.iter().rev().nth(i).map(|e| e.id.to_string()),
            View::Log => super::log::events(self, s).get(i).map(|e| e.key()),
            View::Destinations => s.destinations.get(i).map(|d| d.config.name.clone()),
            View::Detail => super::detail::key_of(self, s, i),
            // Entries never move under the cursor: nothing to follow.
            View::Browse => None,
        }
    }

    /// The row of the item `want` in view `v` (one pass over the rows).
    fn position_of(&self, s: &Snapshot, v: View, want: &str) -> Option<usize> {
        match v {
            View::Tasks => self.tasks(s).iter().position(|t| t.task.name == want),
            View::Backups => self.backups(s).iter().position(|b| b.record.id == want),
            View::Jobs => s.jobs.iter().position(|j| j.id.to_string() == want),
            View::Audit => s.audit.iter().rev().position(|e| e.id.to_string() == want),
            View::Log => super::log::events(self, s)
                .iter()
                .position(|e| e.key() == want),
            View::Destinations => s.destinations.iter().position(|d| d.config.name == want),
            View::Detail => super::detail::position(self, s, want),
            View::Browse => None,
        }
    }

    /// Call with each new snapshot: keeps every view's selection on its item.
    pub fn follow(&mut self, s: &Snapshot) {
        if s.taken.is_some() {
            self.clock = s.taken;
        }
        let current = self.view;
        for v in View::EVERY {
            let Some(want) = self.anchor[idx(v)].clone() else {
                continue;
            };
            self.view = v;
            if let Some(i) = self.position_of(s, v, &want) {
                self.selected[idx(v)] = i;
            }
        }
        self.view = current;
    }

    fn remember(&mut self, s: &Snapshot) {
        let i = self.selection(s);
        self.anchor[idx(self.view)] = self.key_of(s, self.view, i);
    }

    /// Adds a notice (keeps the last few).
    pub fn notice(&mut self, text: impl Into<String>, error: bool) {
        let text: String = text.into();
        let seq = self.session.back().map_or(0, |n| n.seq + 1);
        self.session.push_back(SessionNote {
            at: self.clock,
            text: text.trim().to_string(),
            error,
            seq,
        });
        while self.session.len() > SESSION_KEPT {
            self.session.pop_front();
        }
        // The whole text: the notice line wraps it rather than cutting it.
        let whole: Vec<&str> = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty())
            .collect();
        let text = whole.join("\n").trim().to_string();
        self.notices.push_back(Notice { text, error });
        while self.notices.len() > 3 {
            self.notices.pop_front();
        }
    }

    /// Tasks shown in the Tasks view (filtered).
    pub fn tasks<'a>(&self, s: &'a Snapshot) -> Vec<&'a TaskRow> {
        let f = &self.filter[idx(View::Tasks)];
        s.tasks
            .iter()
            .filter(|t| matches(f, &[&t.task.name, &format!("{:?}", t.status)]))
            .collect()
    }

    /// Backups shown in the Backups view: in the chosen order (newest
    /// chain first, each chain whole, unless sorted otherwise), filtered.
    pub fn backups<'a>(&self, s: &'a Snapshot) -> Vec<&'a BackupRow> {
        let f = &self.filter[idx(View::Backups)];
        let mut v: Vec<&BackupRow> = s
            .backups
            .iter()
            .filter(|b| {
                self.task_filter
                    .as_ref()
                    .is_none_or(|t| &b.record.task == t)
            })
            .filter(|b| {
                matches(
                    f,
                    &[
                        &b.record.id,
                        &b.record.task,
                        b.record.kind.as_str(),
                        b.record.status.as_str(),
                    ],
                )
            })
            .collect();
        self.sort.apply(&mut v);
        v
    }

    /// Rows in the current view.
    pub fn rows(&self, s: &Snapshot) -> usize {
        match self.view {
            View::Tasks => self.tasks(s).len(),
            View::Backups => self.backups(s).len(),
            View::Jobs => s.jobs.len(),
            View::Audit => s.audit.len(),
            View::Log => super::log::events(self, s).len(),
            View::Destinations => s.destinations.len(),
            View::Detail => super::detail::items(self, s).len(),
            View::Browse => self.browse.as_ref().map_or(0, |b| b.rows()),
        }
    }

    /// The selected row of the current view, clamped to what exists.
    pub fn selection(&self, s: &Snapshot) -> usize {
        self.selected[idx(self.view)].min(self.rows(s).saturating_sub(1))
    }

    pub(super) fn select(&mut self, s: &Snapshot, f: impl FnOnce(usize, usize) -> usize) {
        let n = self.rows(s);
        let cur = self.selection(s);
        self.selected[idx(self.view)] = if n == 0 { 0 } else { f(cur, n).min(n - 1) };
    }

    pub(super) fn allowed(&mut self, needs: Role, what: &str) -> bool {
        if self.role >= needs {
            return true;
        }
        self.notice(
            format!(
                "{what} needs the {needs} role; this session is {}",
                self.role
            ),
            true,
        );
        false
    }

    /// Handles one key; returns what to run.
    pub fn handle_key(&mut self, key: KeyEvent, s: &Snapshot) -> Vec<Request> {
        let out = self.handle(key, s);
        // A filter typed into the browser narrows its rows once, here.
        self.sync_browser();
        self.remember(s);
        out
    }

    fn handle(&mut self, key: KeyEvent, s: &Snapshot) -> Vec<Request> {
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Command(text) => self.command_key(text, key, s),
            Mode::Filter(mut text) => {
                match key.code {
                    KeyCode::Enter => {}
                    KeyCode::Esc => self.filter[idx(self.view)].clear(),
                    KeyCode::Backspace => {
                        text.pop();
                        self.filter[idx(self.view)] = text.clone();
                        self.mode = Mode::Filter(text);
                    }
                    KeyCode::Char(c) => {
                        text.push(c);
                        self.filter[idx(self.view)] = text.clone();
                        self.selected[idx(self.view)] = 0;
                        self.mode = Mode::Filter(text);
                    }
                    _ => self.mode = Mode::Filter(text),
                }
                Vec::new()
            }
            Mode::Help(mut text) => {
                match key.code {
                    KeyCode::Esc | KeyCode::Enter => {}
                    KeyCode::Char('?') if text.is_empty() => {}
                    KeyCode::Backspace => {
                        text.pop();
                        self.mode = Mode::Help(text);
                    }
                    KeyCode::Char(c) => {
                        text.push(c);
                        self.mode = Mode::Help(text);
                    }
                    _ => self.mode = Mode::Help(text),
                }
                Vec::new()
            }
            Mode::Confirm { yes, .. } => {
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    return match yes {
                        OnYes::Quit => {
                            self.quit = true;
                            Vec::new()
                        }
                        OnYes::Run(r) => vec![r],
                    };
                }
                self.notice("cancelled; nothing was changed", false);
                Vec::new()
            }
            Mode::ChooseKind { task } => {
                use crate::model::BackupKind;
                let kind = match key.code {
                    KeyCode::Char('f') => Some(BackupKind::Full),
                    KeyCode::Char('i') => Some(BackupKind::Incremental),
                    KeyCode::Char('d') => Some(BackupKind::Differential),
                    _ => None,
                };
                match kind {
                    // Detached or not is the console's choice when it runs it.
                    Some(kind) => vec![Request::Act(crate::core::Action::RunBackup {
                        task,
                        kind,
                        detach: false,
                    })],
                    None => {
                        self.notice("cancelled; no backup started", false);
                        Vec::new()
                    }
                }
            }
            Mode::Restore(form) => self.restore_key(*form, key),
            Mode::Output(out) => {
                // The overlay's text area: the screen less its borders.
                let width = usize::from(self.screen.0.saturating_sub(2));
                self.mode = out
                    .key(key, width)
                    .map_or(Mode::Normal, |o| Mode::Output(Box::new(o)));
                Vec::new()
            }
            Mode::Normal => self.normal_key(key, s),
        }
    }
}
/// Every backup that depends on `id`, directly or not.
pub fn all_dependents(s: &Snapshot, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![id.to_string()];
    while let Some(cur) = stack.pop() {
        for b in s
            .backups
            .iter()
            .filter(|b| b.record.parent.as_deref() == Some(cur.as_str()))
        {
            out.push(b.record.id.clone());
            stack.push(b.record.id.clone());
        }
    }
    out
}
