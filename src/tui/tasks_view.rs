//! The Tasks view: one row per task, its columns fitted to the terminal
//! (see `fit`). Schedules read in short words, a name shortens only in the
//! middle and only as far as names stay apart, every flag keeps its mark;
//! optional columns join as the width allows, spare width goes to what
//! would otherwise be cut.

use super::fit::{Col, choose, distinct_width, extent, layout, middle_ellipsis, width_of};
use super::render::{Ctx, relative};
use super::views::{bar, draw_rows, table, window};
use crate::command::render::size;
use crate::core::rows::{TaskRow, TaskStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Paragraph, Row};

/// Columns in display order: header, optional, claim rank (see `fit::Col`).
const COLUMNS: [(&str, bool, u8); 10] = [
    ("NAME", false, 0),
    ("SOURCE", true, 9),
    ("STATUS", false, 4),
    ("SCHEDULE", false, 3),
    ("LAST FULL", true, 2),
    ("LAST INCR", true, 7),
    ("NEXT", false, 5),
    ("LAST RESULT", true, 8),
    ("STORED", true, 6),
    ("FLAGS", false, 1),
];
const NAME: usize = 0;
const SCHEDULE: usize = 3;

/// The forms a task's cell can take in column `col`, in order of preference.
fn forms(c: &Ctx<'_>, r: &TaskRow, col: usize) -> Vec<String> {
    match col {
        NAME => vec![r.task.name.clone()],
        1 => vec![r.task.source.label()],
        2 => status_forms(c, r).0,
        SCHEDULE => vec![schedule(r, usize::MAX)],
        4 => vec![relative(r.last_full, c.now)],
        5 => vec![relative(r.last_incremental, c.now)],
        6 => match (&r.next, &r.schedule_error) {
            (Some((t, k)), _) => {
                let when = relative(Some(*t), c.now);
                let kind = k.as_str().get(..4).unwrap_or(k.as_str());
                vec![format!("{when} {kind}"), when]
            }
            (None, Some(_)) => vec!["bad schedule".into(), "bad cron".into()],
            (None, None) => vec!["-".into()],
        },
        7 => vec![result(r)],
        8 => vec![size(r.stored_bytes)],
        _ => vec![super::flags::task(r, c.snap)],
    }
}

fn schedule(r: &TaskRow, width: usize) -> String {
    super::schedule_text::task(&schedules(r), width)
}

fn schedules(r: &TaskRow) -> [(&'static str, Option<&str>); 3] {
    [
        ("full", r.task.full.as_deref()),
        ("incr", r.task.incremental.as_deref()),
        ("diff", r.task.differential.as_deref()),
    ]
}

fn result(r: &TaskRow) -> String {
    r.last_result
        .as_deref()
        .unwrap_or("-")
        .split(':')
        .next()
        .unwrap_or("-")
        .to_string()
}

/// A task's status as progress (while a job runs) or a mark and a word,
/// widest first, with its style.
fn status_forms(c: &Ctx<'_>, r: &TaskRow) -> (Vec<String>, Style) {
    if let Some(j) = c.snap.jobs.iter().find(|j| j.task == r.task.name) {
        if j.phase == "queued" {
            return (vec!["queued".into()], c.theme.gauge);
        }
        // A copy that failed mid-run shows at once, before the run ends degraded.
        let failed = j.uploads.iter().any(|u| u.state == "failed");
        let mark = if failed { " ✗" } else { "" };
        let mut forms: Vec<String> = (3..=8)
            .rev()
            .map(|w| format!("{}{mark}", bar(j.bytes_done, j.bytes_total, w)))
            .collect();
        let pct = if j.bytes_total == 0 {
            0.0
        } else {
            (j.bytes_done as f64 / j.bytes_total as f64).clamp(0.0, 1.0) * 100.0
        };
        forms.push(format!("▶ {pct:>3.0}%{mark}"));
        return (forms, if failed { c.theme.warn } else { c.theme.gauge });
    }
    let (text, style) = match r.status {
        TaskStatus::Active => ("● active", c.theme.ok),
        TaskStatus::Paused => ("‖ paused", c.theme.muted),
        TaskStatus::Running => ("▶ running", c.theme.gauge),
        TaskStatus::Failed => ("✗ failed", c.theme.error),
        TaskStatus::Missed => ("! missed", c.theme.warn),
        TaskStatus::Degraded => ("◐ degraded", c.theme.warn),
        TaskStatus::Stale => ("⌛ stale", c.theme.error),
    };
    (vec![text.to_string()], style)
}

/// Width each column gets for `tasks` in `width` terminal columns; `None`
/// for an optional column left out.
fn widths(c: &Ctx<'_>, tasks: &[&TaskRow], width: usize) -> Vec<Option<usize>> {
    let cols: Vec<Col> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (head, optional, rank))| {
            let (mut want, mut least) = (0, 0);
            for r in tasks {
                let (w, l) = if i == SCHEDULE {
                    super::schedule_text::task_widths(&schedules(r))
                } else {
                    extent(&forms(c, r, i))
                };
                want = want.max(w);
                least = least.max(l);
            }
            if i == NAME {
                least = distinct_width(tasks.iter().map(|r| r.task.name.as_str()), 12);
            }
            let head = width_of(head);
            Col {
                want: want.max(head),
                least: least.max(head),
                optional: *optional,
                rank: *rank,
            }
        })
        .collect();
    // The selection mark takes two columns before the first.
    layout(&cols, width.saturating_sub(2), 1)
}

pub(super) fn draw_tasks(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let tasks = c.app.tasks(c.snap);
    let sel = c.app.selection(c.snap);
    let (from, to) = window(sel, tasks.len(), area.height.saturating_sub(2) as usize);
    // Fitted to every task, not just the visible ones: columns keep still
    // while the list scrolls.
    let widths = widths(c, &tasks, area.width as usize);
    let shown: Vec<(usize, usize)> = widths
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.map(|w| (i, w)))
        .collect();
    let rows: Vec<Row> = tasks[from..to]
        .iter()
        .map(|r| {
            let cells: Vec<Cell> = shown
                .iter()
                .map(|&(i, w)| match i {
                    NAME => Cell::from(middle_ellipsis(&r.task.name, w)),
                    1 => Cell::from(r.task.source.label()).style(c.theme.muted),
                    2 => {
                        let (forms, style) = status_forms(c, r);
                        Cell::from(choose(forms, w)).style(style)
                    }
                    SCHEDULE => Cell::from(schedule(r, w)),
                    7 => {
                        let text = result(r);
                        let style = if text.starts_with("failed") {
                            c.theme.error
                        } else {
                            c.theme.text
                        };
                        Cell::from(text).style(style)
                    }
                    9 => Cell::from(super::flags::task(r, c.snap)).style(c.theme.muted),
                    _ => Cell::from(choose(forms(c, r, i), w)),
                })
                .collect();
            Row::new(cells)
        })
        .collect();
    let title = format!(" Tasks ({}) ", tasks.len());
    let header: Vec<&str> = shown.iter().map(|&(i, _)| COLUMNS[i].0).collect();
    let constraints: Vec<Constraint> = shown
        .iter()
        .map(|&(_, w)| Constraint::Length(w as u16))
        .collect();
    let t = table(c, title, &header, &constraints, rows);
    if tasks.is_empty() {
        let p =
            Paragraph::new("No tasks yet. Press : and type  task add NAME --dir PATH --dest DEST")
                .style(c.theme.muted);
        f.render_widget(t, area);
        let inner = Rect {
            y: area.y + 2,
            height: area.height.saturating_sub(2),
            ..area
        };
        f.render_widget(p, inner);
        return;
    }
    draw_rows(f, area, c, t, Some(sel - from));
}
