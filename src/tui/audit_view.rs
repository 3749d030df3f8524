//! The Audit view: who did what, when, from where. Times are dates in UTC
//! (as the header's clock) by default; the `audit_times` key switches to
//! "5m ago" and back.

use super::render::{Ctx, relative};
use super::views::{draw_rows, table, window};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Cell, Paragraph, Row, Wrap};

/// An audit time as the view shows it.
pub fn when(at: DateTime<Utc>, now: DateTime<Utc>, relative_times: bool) -> String {
    if relative_times {
        relative(Some(at), now)
    } else {
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

fn refused(outcome: &str) -> bool {
    outcome.starts_with("refused") || outcome.starts_with("failed")
}

pub(super) fn draw_audit(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let all: Vec<_> = c.snap.audit.iter().rev().collect();
    let sel = c.app.selection(c.snap);
    let rel = c.app.audit_relative;
    let when_w: u16 = if rel { 10 } else { 19 };
    // Below 100 columns ROLE and FROM go, so TARGET and OUTCOME keep room
    // next to a whole date; the selected entry's line under the table has them.
    let wide = area.width >= 100;
    let fixed: u16 = if wide {
        2 + when_w + 8 + 8 + 15 + 14 + 20 + 6
    } else {
        2 + when_w + 8 + 14 + 20 + 4
    };
    // OUTCOME gets what the fixed columns leave; when the selected entry's
    // outcome is longer (or columns were dropped), it is shown whole under
    // the table.
    let room = area.width.saturating_sub(fixed) as usize;
    let area = match all.get(sel) {
        Some(e) if (!wide || e.outcome.chars().count() > room) && area.height > 6 => {
            let [table_area, full] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(2)]).areas(area);
            let text = if wide {
                format!("▶ outcome: {}", e.outcome)
            } else {
                format!("▶ {} ({}) from {}: {}", e.who, e.role, e.origin, e.outcome)
            };
            f.render_widget(
                Paragraph::new(text)
                    .style(if refused(&e.outcome) {
                        c.theme.error
                    } else {
                        c.theme.text
                    })
                    .wrap(Wrap { trim: true }),
                full,
            );
            table_area
        }
        _ => area,
    };
    let (from, to) = window(sel, all.len(), area.height.saturating_sub(2) as usize);
    let rows: Vec<Row> = all[from..to]
        .iter()
        .map(|e| {
            let style = if refused(&e.outcome) {
                c.theme.error
            } else {
                c.theme.text
            };
            let mut cells = vec![
                Cell::from(when(e.at, c.now, rel)),
                Cell::from(e.who.clone()),
                Cell::from(e.role.clone()),
                Cell::from(e.origin.clone()),
                Cell::from(e.action.clone()),
                Cell::from(e.target.clone()),
                Cell::from(e.outcome.clone()).style(style),
            ];
            if !wide {
                cells.drain(2..4);
            }
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(when_w),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(15),
        Constraint::Length(14),
        Constraint::Max(20),
        Constraint::Fill(1),
    ];
    let mut header = vec![
        if rel { "WHEN" } else { "WHEN (UTC)" },
        "WHO",
        "ROLE",
        "FROM",
        "ACTION",
        "TARGET",
        "OUTCOME",
    ];
    if !wide {
        widths.drain(2..4);
        header.drain(2..4);
    }
    let t = table(
        c,
        format!(" Audit ({}) ", all.len()),
        &header,
        &widths,
        rows,
    );
    draw_rows(f, area, c, t, (!all.is_empty()).then_some(sel - from));
}
