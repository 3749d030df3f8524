//! Console state and input handling. Pure: keys in, state and commands out;
//! no I/O here, so flows are tested by feeding key events.

use super::keymap::{Action, Keymap, View};
use super::source::Snapshot;
use crate::core::access::Role;
use crate::core::backups::BackupRow;
use crate::core::rows::{TaskRow, TaskStatus};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use std::collections::VecDeque;

/// What the console is doing with keys right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Keys are actions from the keymap.
    Normal,
    /// Typing a `:` command line.
    Command(String),
    /// Typing a `/` filter.
    Filter(String),
    /// The `?` overlay (its own filter text).
    Help(String),
    /// A question; `y` runs `line`, anything else cancels.
    Confirm {
        /// The question, naming what will happen.
        prompt: String,
        /// Command line run on `y`.
        line: String,
    },
    /// Backup now: `f` full, `i` incremental, `d` differential.
    ChooseKind {
        /// Task to back up.
        task: String,
    },
}

/// A short message under the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Text (one line).
    pub text: String,
    /// Whether it reports a failure.
    pub error: bool,
}

/// Console state.
pub struct App {
    /// Current view.
    pub view: View,
    /// Key mode.
    pub mode: Mode,
    /// Selected row per view.
    pub selected: [usize; 4],
    /// Active filter text per view.
    pub filter: [String; 4],
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
    anchor: [Option<String>; 4],
    /// Whether quitting would cancel jobs running in this process.
    pub jobs_die_with_console: bool,
}

fn idx(v: View) -> usize {
    View::ALL.iter().position(|x| *x == v).unwrap_or(0)
}

/// Case-insensitive substring match without allocating: it runs for every
/// row of a 10,000-backup catalog on every frame.
fn matches(filter: &str, fields: &[&str]) -> bool {
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
            selected: [0; 4],
            filter: Default::default(),
            task_filter: None,
            notices: VecDeque::new(),
            role,
            keymap,
            quit: false,
            anchor: Default::default(),
            jobs_die_with_console: false,
        }
    }

    fn key_of(&self, s: &Snapshot, view: View, i: usize) -> Option<String> {
        match view {
            View::Tasks => self.tasks(s).get(i).map(|t| t.task.name.clone()),
            View::Backups => self.backups(s).get(i).map(|b| b.record.id.clone()),
            View::Jobs => s.jobs.get(i).map(|j| j.id.to_string()),
            View::Audit => s.audit.iter().rev().nth(i).map(|e| e.id.to_string()),
        }
    }

    /// Call with each new snapshot: keeps every view's selection on its item.
    pub fn follow(&mut self, s: &Snapshot) {
        let current = self.view;
        for v in View::ALL {
            let Some(want) = self.anchor[idx(v)].clone() else {
                continue;
            };
            self.view = v;
            let n = self.rows(s);
            if let Some(i) =
                (0..n).find(|&i| self.key_of(s, v, i).as_deref() == Some(want.as_str()))
            {
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
        let line = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        self.notices.push_back(Notice { text: line, error });
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

    /// Backups shown in the Backups view: newest first, filtered.
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
        v.reverse();
        v
    }

    /// Rows in the current view.
    pub fn rows(&self, s: &Snapshot) -> usize {
        match self.view {
            View::Tasks => self.tasks(s).len(),
            View::Backups => self.backups(s).len(),
            View::Jobs => s.jobs.len(),
            View::Audit => s.audit.len(),
        }
    }

    /// The selected row of the current view, clamped to what exists.
    pub fn selection(&self, s: &Snapshot) -> usize {
        self.selected[idx(self.view)].min(self.rows(s).saturating_sub(1))
    }

    fn select(&mut self, s: &Snapshot, f: impl FnOnce(usize, usize) -> usize) {
        let n = self.rows(s);
        let cur = self.selection(s);
        self.selected[idx(self.view)] = if n == 0 { 0 } else { f(cur, n).min(n - 1) };
    }

    fn allowed(&mut self, needs: Role, what: &str) -> bool {
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

    /// Handles one key; returns command lines to run.
    pub fn handle_key(&mut self, key: KeyEvent, s: &Snapshot) -> Vec<String> {
        let out = self.handle(key, s);
        self.remember(s);
        out
    }

    fn handle(&mut self, key: KeyEvent, s: &Snapshot) -> Vec<String> {
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Command(mut text) => {
                match key.code {
                    KeyCode::Enter if !text.trim().is_empty() => {
                        return vec![text.trim().to_string()];
                    }
                    KeyCode::Enter | KeyCode::Esc => {}
                    KeyCode::Backspace => {
                        text.pop();
                        self.mode = Mode::Command(text);
                    }
                    KeyCode::Char(c) => {
                        text.push(c);
                        self.mode = Mode::Command(text);
                    }
                    _ => self.mode = Mode::Command(text),
                }
                Vec::new()
            }
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
            Mode::Confirm { line, .. } => {
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    if line == QUIT {
                        self.quit = true;
                        return Vec::new();
                    }
                    return vec![line];
                }
                self.notice("cancelled; nothing was changed", false);
                Vec::new()
            }
            Mode::ChooseKind { task } => {
                let kind = match key.code {
                    KeyCode::Char('f') => Some("--full"),
                    KeyCode::Char('i') => Some("--incremental"),
                    KeyCode::Char('d') => Some("--differential"),
                    _ => None,
                };
                match kind {
                    Some(k) => vec![format!("backup run {task} {k}")],
                    None => {
                        self.notice("cancelled; no backup started", false);
                        Vec::new()
                    }
                }
            }
            Mode::Normal => self.normal_key(key, s),
        }
    }

    fn normal_key(&mut self, key: KeyEvent, s: &Snapshot) -> Vec<String> {
        let Some(b) = self.keymap.action(&key, self.view).cloned() else {
            return Vec::new();
        };
        let v = idx(self.view);
        match b.action {
            Action::Quit if self.jobs_die_with_console && !s.jobs.is_empty() => {
                let tasks: Vec<&str> = s.jobs.iter().map(|j| j.task.as_str()).collect();
                self.mode = Mode::Confirm {
                    prompt: format!(
                        "{} job(s) run in this console ({}); quitting cancels them and removes their partial data. Quit? y/N",
                        s.jobs.len(),
                        tasks.join(", ")
                    ),
                    line: QUIT.into(),
                };
            }
            Action::Quit => self.quit = true,
            Action::Help => self.mode = Mode::Help(String::new()),
            Action::CommandLine => self.mode = Mode::Command(String::new()),
            Action::Filter => self.mode = Mode::Filter(self.filter[v].clone()),
            Action::NextView => self.view = View::ALL[(v + 1) % View::ALL.len()],
            Action::PrevView => self.view = View::ALL[(v + View::ALL.len() - 1) % View::ALL.len()],
            Action::ViewTasks => self.view = View::Tasks,
            Action::ViewBackups => self.view = View::Backups,
            Action::ViewJobs => self.view = View::Jobs,
            Action::ViewAudit => self.view = View::Audit,
            Action::Up => self.select(s, |c, _| c.saturating_sub(1)),
            Action::Down => self.select(s, |c, _| c + 1),
            Action::Top => self.select(s, |_, _| 0),
            Action::Bottom => self.select(s, |_, n| n.saturating_sub(1)),
            Action::Back => {
                if !self.filter[v].is_empty() {
                    self.filter[v].clear();
                } else if self.view == View::Backups && self.task_filter.is_some() {
                    self.task_filter = None;
                    self.view = View::Tasks;
                }
            }
            Action::Enter => {
                if let Some(t) = self.tasks(s).get(self.selection(s)) {
                    self.task_filter = Some(t.task.name.clone());
                    self.view = View::Backups;
                    self.selected[idx(View::Backups)] = 0;
                }
            }
            Action::BackupNow => {
                if let Some(t) = self
                    .tasks(s)
                    .get(self.selection(s))
                    .map(|t| t.task.name.clone())
                    && self.allowed(b.needs, "backup now")
                {
                    self.mode = Mode::ChooseKind { task: t };
                }
            }
            Action::PauseResume => {
                if let Some(t) = self
                    .tasks(s)
                    .get(self.selection(s))
                    .map(|t| (t.task.name.clone(), t.status))
                    && self.allowed(b.needs, "pause/resume")
                {
                    let verb = if t.1 == TaskStatus::Paused {
                        "resume"
                    } else {
                        "pause"
                    };
                    return vec![format!("task {verb} {}", t.0)];
                }
            }
            Action::Verify => {
                if let Some(id) = self
                    .backups(s)
                    .get(self.selection(s))
                    .map(|r| r.record.id.clone())
                    && self.allowed(b.needs, "verify")
                {
                    return vec![format!("verify {id}")];
                }
            }
            Action::Pin => {
                if let Some((id, pinned)) = self
                    .backups(s)
                    .get(self.selection(s))
                    .map(|r| (r.record.id.clone(), r.record.pinned))
                    && self.allowed(b.needs, "pin")
                {
                    return vec![format!(
                        "backup {} {id}",
                        if pinned { "unpin" } else { "pin" }
                    )];
                }
            }
            Action::Delete => {
                if let Some(r) = self.backups(s).get(self.selection(s)).copied()
                    && self.allowed(b.needs, "delete")
                {
                    let deps = all_dependents(s, &r.record.id);
                    let pinned: Vec<&str> = std::iter::once(&r.record)
                        .chain(
                            s.backups
                                .iter()
                                .map(|x| &x.record)
                                .filter(|x| deps.contains(&x.id)),
                        )
                        .filter(|x| x.pinned)
                        .map(|x| x.id.as_str())
                        .collect();
                    if !pinned.is_empty() {
                        // The core would refuse after the question; say so before asking.
                        self.notice(
                            format!(
                                "cannot delete: {} pinned; unpin with P first",
                                pinned.join(", ")
                            ),
                            true,
                        );
                        return Vec::new();
                    }
                    let prompt = if deps.is_empty() {
                        format!(
                            "Delete backup {} of {} ({} {}, frees {})? y/N",
                            r.record.id,
                            r.record.task,
                            r.record.kind,
                            r.record.status.as_str(),
                            crate::command::render::size(r.reclaimable_bytes)
                        )
                    } else {
                        format!(
                            "Delete backup {} AND the {} backup(s) that depend on it ({})? y/N",
                            r.record.id,
                            deps.len(),
                            if deps.len() > 4 {
                                format!("{} and {} more", deps[..4].join(", "), deps.len() - 4)
                            } else {
                                deps.join(", ")
                            }
                        )
                    };
                    let line = if deps.is_empty() {
                        format!("backup delete {}", r.record.id)
                    } else {
                        format!("backup delete {} --cascade", r.record.id)
                    };
                    self.mode = Mode::Confirm { prompt, line };
                }
            }
            Action::Cancel => {
                if let Some(j) = s.jobs.get(self.selection(s))
                    && self.allowed(b.needs, "cancel")
                {
                    self.mode = Mode::Confirm {
                        prompt: format!("Cancel job {} ({} of {})? y/N", j.id, j.kind, j.task),
                        line: format!("jobs cancel {}", j.id),
                    };
                }
            }
        }
        Vec::new()
    }
}

/// Marker line of the quit confirmation (never sent to the core).
const QUIT: &str = "\u{0}quit";

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
