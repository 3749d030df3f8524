//! The Log view: runs (started, finished, failed, missed), this session's
//! notices and the audit trail, merged, newest first.

use super::app::App;
use super::render::Ctx;
use super::source::Snapshot;
use crate::model::RunStatus;
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row};

/// How bad an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Informational.
    Info,
    /// Worth a look (partial backup, missed run).
    Warn,
    /// A failure or refusal.
    Error,
}

/// One line of the Log view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When it happened (`None`: a notice before the first refresh).
    pub at: Option<DateTime<Utc>>,
    /// `run`, `audit` or `console`.
    pub source: &'static str,
    /// What happened.
    pub text: String,
    /// How bad.
    pub level: Level,
    key: String,
}

impl Event {
    /// A key that stays with the event across refreshes.
    pub fn key(&self) -> String {
        self.key.clone()
    }
}

fn run_events(s: &Snapshot, out: &mut Vec<Event>) {
    for r in &s.runs {
        let who = format!("run {} of {}: {}", r.id, r.task, r.kind_label());
        let msg = r
            .message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        let (what, level) = match r.status {
            RunStatus::Running | RunStatus::Queued => (String::new(), Level::Info),
            RunStatus::Complete => (format!("completed → {}{msg}", r.backup_id), Level::Info),
            RunStatus::Partial => (
                format!("completed with unreadable entries → {}{msg}", r.backup_id),
                Level::Warn,
            ),
            RunStatus::Degraded => (
                format!(
                    "completed on fewer destinations than it has → {}{msg}",
                    r.backup_id
                ),
                Level::Warn,
            ),
            RunStatus::Failed => (format!("failed{msg}"), Level::Error),
            RunStatus::Interrupted => (format!("interrupted{msg}"), Level::Error),
            RunStatus::Missed => (format!("missed{msg}"), Level::Warn),
        };
        // Finished before started: at equal times the newer state comes first.
        if !matches!(r.status, RunStatus::Running | RunStatus::Queued) {
            out.push(Event {
                at: Some(r.finished.unwrap_or(r.started)),
                source: "run",
                text: format!("{who} {what}"),
                level,
                key: format!("rf{}", r.id),
            });
        }
        if r.status != RunStatus::Missed {
            out.push(Event {
                at: Some(r.started),
                source: "run",
                text: if r.status == RunStatus::Queued {
                    format!("{who} queued (waiting for a job slot)")
                } else {
                    format!("{who} started")
                },
                level: Level::Info,
                key: format!("rs{}", r.id),
            });
        }
    }
}

/// Every event, newest first. Equal times keep runs before audit entries
/// before notices (newest first), so rows never swap between frames.
pub fn events(app: &App, s: &Snapshot) -> Vec<Event> {
    let mut out = Vec::with_capacity(s.runs.len() * 2 + s.audit.len() + app.session.len());
    run_events(s, &mut out);
    out.extend(s.audit.iter().map(|e| {
        let bad = e.outcome.starts_with("refused") || e.outcome.starts_with("failed");
        Event {
            at: Some(e.at),
            source: "audit",
            text: format!(
                "{} ({}, {}) {} {}: {}",
                e.who, e.role, e.origin, e.action, e.target, e.outcome
            ),
            level: if bad { Level::Error } else { Level::Info },
            key: format!("a{}", e.id),
        }
    }));
    // Newest first, so that notices of the same second keep that order too.
    out.extend(app.session.iter().rev().map(|n| Event {
        at: n.at,
        source: "console",
        text: n.text.replace('\n', " · "),
        level: if n.error { Level::Error } else { Level::Info },
        key: format!("n{}", n.seq),
    }));
    out.sort_by_key(|e| std::cmp::Reverse(e.at));
    out
}

impl App {
    /// Entering the Log view selects its newest entry, wherever the list
    /// puts it (newest first today; at the bottom if the order flips).
    pub(super) fn enter_log(&mut self, s: &Snapshot) {
        let all = events(self, s);
        let newest_last = match (all.first(), all.last()) {
            (Some(a), Some(b)) => b.at > a.at,
            _ => false,
        };
        let i = super::app::idx(super::keymap::View::Log);
        self.selected[i] = if newest_last { all.len() - 1 } else { 0 };
        self.anchor[i] = None;
    }
}

pub(super) fn draw_log(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let all = events(c.app, c.snap);
    let sel = c.app.selection(c.snap);
    // WHAT gets what WHEN and FROM leave; a longer selected entry (a long
    // notice, say) is shown whole under the table.
    let room = usize::from(area.width.saturating_sub(2 + 14 + 7 + 2));
    let area = match all.get(sel) {
        Some(e) if e.text.chars().count() > room && area.height > 8 => {
            let rows = super::notice::wrap(&e.text, usize::from(area.width.saturating_sub(2)));
            let most = usize::from(area.height / 3).max(4);
            let n = rows.len().min(most) as u16;
            let [table_area, whole] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(n)]).areas(area);
            let style = match e.level {
                Level::Info => c.theme.text,
                Level::Warn => c.theme.warn,
                Level::Error => c.theme.error,
            };
            let lines: Vec<Line> = rows
                .into_iter()
                .take(most)
                .enumerate()
                .map(|(i, r)| {
                    Line::styled(format!("{}{r}", if i == 0 { "▶ " } else { "  " }), style)
                })
                .collect();
            f.render_widget(Paragraph::new(lines), whole);
            table_area
        }
        _ => area,
    };
    let (from, to) = super::views::window(sel, all.len(), area.height.saturating_sub(2) as usize);
    let rows: Vec<Row> = all[from..to]
        .iter()
        .map(|e| {
            let style = match e.level {
                Level::Info => c.theme.text,
                Level::Warn => c.theme.warn,
                Level::Error => c.theme.error,
            };
            Row::new(vec![
                Cell::from(
                    e.at.map(|t| t.format("%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| "-".into()),
                ),
                Cell::from(e.source).style(c.theme.muted),
                Cell::from(e.text.clone()).style(style),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(14),
        Constraint::Length(7),
        Constraint::Fill(1),
    ];
    let t = super::views::table(
        c,
        format!(
            " Log ({}) · runs, audit trail and this session, newest first ",
            all.len()
        ),
        &["WHEN (UTC)", "FROM", "WHAT"],
        &widths,
        rows,
    );
    super::views::draw_rows(f, area, c, t, (!all.is_empty()).then_some(sel - from));
}
