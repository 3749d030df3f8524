//! The restore dialog: a form (target directory, optional subpath), a
//! question naming what goes where, then the `restore` command's progress and
//! result. The command runs like any other: checked, audited, never
//! overwriting (the core refuses a non-empty target).

use super::app::{App, Mode, Request};
use super::output::Failure;
use super::render::Ctx;
use super::source::Snapshot;
use crate::command::render::size;
use crate::core::Outcome;
use crate::core::access::Role;
use crate::core::backups::BackupRow;
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use std::path::Path;

/// The field being edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The target directory.
    Target,
    /// The subpath inside the backup.
    Subpath,
}

/// Where the dialog is.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// Editing the fields.
    Edit,
    /// Asking; `y` runs the restore.
    Confirm,
    /// The restore runs on a worker thread.
    Running {
        /// The action sent.
        action: crate::core::Action,
    },
    /// The result of the command.
    Done {
        /// What happened, and on failure what to do.
        text: String,
        /// Whether it failed.
        error: bool,
    },
}

/// The restore dialog's state.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreForm {
    /// Backup id.
    pub id: String,
    /// Task of the backup.
    pub task: String,
    /// `full · 2026-11-20 02:12 UTC · 12.4 GiB (5.1 GiB stored)`.
    pub summary: String,
    /// Target directory (a new or empty one).
    pub target: String,
    /// A database backup: an empty target means the core's default name.
    pub database: bool,
    /// What the target is, shown in the empty field: a new directory, a new
    /// SQLite file, a new database name for the restore command.
    pub into_hint: String,
    /// Only this path inside the backup (empty: everything).
    pub subpath: String,
    /// Field being edited.
    pub focus: Field,
    /// Stage of the dialog.
    pub stage: Stage,
    /// Why this session cannot restore here at all (an operator without
    /// restore roots), said before a target is chosen.
    pub blocked: Option<String>,
}

/// Whether a backup row is of a database task (sqlite, command).
fn is_database(row: &BackupRow) -> bool {
    row.source.starts_with("sqlite") || row.source.starts_with("command")
}

/// What restoring `row` creates, for the empty target field: the kind decides.
fn into_hint(row: &BackupRow) -> String {
    let task = &row.record.task;
    if row.source.starts_with("sqlite") {
        format!("(a new SQLite database file; empty: {task}-restore-<now> next to the original)")
    } else if row.source.starts_with("command") {
        format!(
            "(a new database name, given to the task's restore command as {{target}}; empty: {task}-restore-<now>)"
        )
    } else {
        "(a new or empty directory)".into()
    }
}

impl RestoreForm {
    /// A form for `row` opened at `at`, proposing `<base>/<task>-restore-<at>`:
    /// a new directory named as the CLI names its restores, after the time
    /// of the restore, so restoring the same backup twice never collides.
    pub fn new(row: &BackupRow, base: Option<&Path>, at: DateTime<Utc>) -> RestoreForm {
        let b = &row.record;
        let name = crate::core::database::restore_name(&b.task, at);
        let target = match base {
            // A database backup left empty goes to the core's new
            // `<task>-restore-<time>` database (file or name).
            _ if is_database(row) => String::new(),
            Some(base) => base.join(name).display().to_string(),
            None => name,
        };
        RestoreForm {
            id: b.id.clone(),
            task: b.task.clone(),
            summary: format!(
                "{} · {} · {} UTC · {} ({} stored)",
                b.task,
                b.kind,
                b.finished.format("%Y-%m-%d %H:%M"),
                size(b.logical_bytes),
                size(b.stored_bytes)
            ),
            target,
            database: is_database(row),
            into_hint: into_hint(row),
            subpath: String::new(),
            focus: Field::Target,
            stage: Stage::Edit,
            blocked: None,
        }
    }

    /// Marks the form blocked when `role` may not restore this backup
    /// anywhere here: below admin, files need `restore_roots` and database
    /// names `restore_databases` in strata.toml (the core would refuse).
    pub fn check_role(&mut self, role: Role, s: &Snapshot) {
        if role >= Role::Admin {
            return;
        }
        let names = self.database && !self.into_hint.contains("SQLite");
        self.blocked = if names && !s.restore_databases_set {
            Some(format!(
                "This session is {role}: it may restore databases only into names that restore_databases allows, and strata.toml sets none. Ask an admin to add restore_databases (e.g. restore_databases = [\"*-restore-*\"]) or to restore it."
            ))
        } else if !names && !s.restore_roots_set {
            Some(format!(
                "This session is {role}: it may restore only into a restore root, and strata.toml sets none. Ask an admin to add restore_roots (e.g. restore_roots = [\"/srv/restore\"]) or to restore it."
            ))
        } else {
            None
        };
    }

    /// The core action this form runs.
    pub fn action(&self) -> crate::core::Action {
        let sub = self.subpath.trim();
        crate::core::Action::Restore {
            id: self.id.clone(),
            to: std::path::PathBuf::from(self.target.trim()),
            path: (!sub.is_empty()).then(|| sub.to_string()),
        }
    }

    fn question(&self) -> String {
        if self.database {
            let name = match self.target.trim() {
                "" => format!("{}-restore-<now>", self.task),
                t => t.to_string(),
            };
            let into = if self.into_hint.contains("SQLite") {
                format!("a new SQLite database file {name}")
            } else {
                format!("a new database {name}, created by the task's restore command")
            };
            return format!(
                "Restore backup {} ({}) into {into}? An existing database file or name is never overwritten. y/N",
                self.id, self.summary
            );
        }
        let what = if self.subpath.trim().is_empty() {
            "everything".to_string()
        } else {
            format!("only {}", self.subpath.trim())
        };
        format!(
            "Restore {what} of backup {} ({}) into {}? It must be a new or empty directory; nothing is overwritten. y/N",
            self.id,
            self.summary,
            self.target.trim()
        )
    }

    /// The result of the finished restore: what was written, or the error
    /// with the advice the core gives.
    pub fn finish(&mut self, result: &Result<Outcome, Failure>) {
        self.stage = match result {
            Ok(Outcome::Restored {
                backup,
                target,
                report,
            }) => {
                let mut text = crate::command::render::restored(backup, target, report);
                let error = !report.errors.is_empty();
                for e in report.errors.iter().take(5) {
                    text.push_str(&format!("\n{}: {}", e.path, e.error));
                }
                if error {
                    text.push_str(&format!(
                        "\n{} entries could not be restored; check the backup with: verify {} --read-data",
                        report.errors.len(),
                        self.id
                    ));
                }
                Stage::Done { text, error }
            }
            Ok(_) => Stage::Done {
                text: "the core answered the restore with something else".into(),
                error: true,
            },
            Err(f) => {
                let mut text = f.message.clone();
                if f.code == 1 && !text.contains("verify") {
                    text.push_str(&format!(
                        "\ncheck the backup with: verify {} --read-data",
                        self.id
                    ));
                }
                Stage::Done { text, error: true }
            }
        };
    }
}

impl App {
    /// The target of a restore started from the dialog that is still running.
    pub fn restoring_target(&self) -> Option<&str> {
        self.restoring.as_ref().map(|(_, t)| t.as_str())
    }

    /// Keys of the restore dialog.
    pub(super) fn restore_key(&mut self, mut form: RestoreForm, key: KeyEvent) -> Vec<Request> {
        match form.stage.clone() {
            Stage::Edit if form.blocked.is_some() => {
                if matches!(key.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
                    return Vec::new();
                }
            }
            Stage::Edit => match key.code {
                KeyCode::Esc => {
                    self.notice("restore cancelled; nothing was changed", false);
                    return Vec::new();
                }
                // A database backup is restored whole: there is no path to pick.
                KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down if !form.database => {
                    form.focus = match form.focus {
                        Field::Target => Field::Subpath,
                        Field::Subpath => Field::Target,
                    };
                }
                KeyCode::Enter if form.target.trim().is_empty() && !form.database => {
                    self.notice("restore needs a target directory", true);
                }
                KeyCode::Enter => form.stage = Stage::Confirm,
                KeyCode::Backspace => {
                    match form.focus {
                        Field::Target => form.target.pop(),
                        Field::Subpath => form.subpath.pop(),
                    };
                }
                KeyCode::Char(c) => match form.focus {
                    Field::Target => form.target.push(c),
                    Field::Subpath => form.subpath.push(c),
                },
                _ => {}
            },
            // Only `y` confirms: Enter, arrows and the like go back to the form.
            Stage::Confirm => {
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    let action = form.action();
                    form.stage = Stage::Running {
                        action: action.clone(),
                    };
                    self.restoring = Some((action.clone(), form.target.trim().to_string()));
                    self.mode = Mode::Restore(Box::new(form));
                    return vec![Request::Act(action)];
                }
                form.stage = Stage::Edit;
            }
            Stage::Running { .. } => {
                if key.code == KeyCode::Esc {
                    // The restore keeps running; its result arrives as a notice.
                    self.notice(
                        "restore continues in the background; its result will show here",
                        false,
                    );
                    return Vec::new();
                }
            }
            Stage::Done { .. } => {
                if matches!(key.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
                    return Vec::new();
                }
            }
        }
        self.mode = Mode::Restore(Box::new(form));
        Vec::new()
    }
}

fn field<'a>(c: &Ctx<'_>, label: &'a str, value: &str, focused: bool, hint: &str) -> Line<'a> {
    let shown = if value.is_empty() {
        // Empty, the field says what it takes, even while typed into.
        let cursor = if focused { "█ " } else { "" };
        Span::styled(format!("{cursor}{hint}"), c.theme.muted)
    } else {
        Span::styled(
            format!("{value}{}", if focused { "█" } else { "" }),
            if focused {
                c.theme.accent.add_modifier(Modifier::BOLD)
            } else {
                c.theme.text
            },
        )
    };
    Line::from(vec![
        Span::styled(
            format!("{} {label:<6} ", if focused { "▶" } else { " " }),
            c.theme.muted,
        ),
        shown,
    ])
}

/// Draws the dialog over the view.
pub(super) fn draw_restore(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>, form: &RestoreForm) {
    let t = c.theme;
    let (title, style, lines): (&str, _, Vec<Line>) = match &form.stage {
        Stage::Edit if form.blocked.is_some() => (
            "Restore not allowed",
            t.error,
            vec![
                Line::styled(format!("backup {}", form.id), t.text),
                Line::styled(form.summary.clone(), t.muted),
                Line::raw(""),
                Line::styled(form.blocked.clone().unwrap_or_default(), t.error),
                Line::raw(""),
                Line::styled("Enter or Esc closes", t.muted),
            ],
        ),
        Stage::Edit => ("Restore", t.accent, {
            let mut l = vec![
                Line::styled(format!("backup {}", form.id), t.text),
                Line::styled(form.summary.clone(), t.muted),
                Line::raw(""),
                field(
                    c,
                    "into",
                    &form.target,
                    form.focus == Field::Target,
                    &form.into_hint,
                ),
            ];
            if form.database {
                l.push(Line::raw(""));
                l.push(Line::styled("Enter restore… · Esc cancel", t.muted));
            } else {
                l.push(field(
                    c,
                    "path",
                    &form.subpath,
                    form.focus == Field::Subpath,
                    "(everything; or a file or directory inside the backup)",
                ));
                l.push(Line::raw(""));
                l.push(Line::styled(
                    "Tab next field · Enter restore… · Esc cancel",
                    t.muted,
                ));
            }
            l
        }),
        Stage::Confirm => ("Confirm restore", t.warn, vec![Line::raw(form.question())]),
        Stage::Running { .. } => (
            "Restoring",
            t.gauge,
            vec![
                Line::styled(
                    format!("restoring {} into {} …", form.id, form.target.trim()),
                    t.gauge,
                ),
                Line::raw(""),
                Line::styled(
                    "The console keeps working; Esc hides this box and the result shows as a notice.",
                    t.muted,
                ),
            ],
        ),
        Stage::Done { text, error } => {
            let mut l: Vec<Line> = text
                .lines()
                .map(|x| Line::styled(x.to_string(), if *error { t.error } else { t.ok }))
                .collect();
            l.push(Line::raw(""));
            l.push(Line::styled("Enter or Esc closes", t.muted));
            (
                if *error { "Restore failed" } else { "Restored" },
                if *error { t.error } else { t.ok },
                l,
            )
        }
    };
    let w = 72u16;
    // Wrapped text needs room: count each line's wrapped height.
    let inner = (w - 2) as usize;
    let h: u16 = lines
        .iter()
        .map(|l| (l.width().max(1)).div_ceil(inner) as u16)
        .sum::<u16>()
        + 2;
    let r = super::render::centered(area, w, h.max(5));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(format!(" {title} "))
                    .border_style(style),
            )
            .style(t.text),
        r,
    );
}
