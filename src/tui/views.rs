//! The Jobs view and what every list view shares: the table frame, the
//! selection mark, the visible-rows window and the progress bar. The Tasks,
//! Backups and Audit views have files of their own; frame layout, header,
//! footer and overlays live in `render`.

use super::render::Ctx;
use crate::command::render::size;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

/// A progress bar `[███·····]  40%` with `width` cells.
pub(super) fn bar(done: u64, total: u64, width: usize) -> String {
    let frac = if total == 0 {
        0.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    };
    let full = (frac * width as f64).round() as usize;
    format!(
        "[{}{}] {:>3.0}%",
        "█".repeat(full),
        "·".repeat(width - full),
        frac * 100.0
    )
}

/// Rows `[offset, offset + height)` keeping `selected` visible.
pub(super) fn window(selected: usize, len: usize, height: usize) -> (usize, usize) {
    if height == 0 || len <= height {
        return (0, len);
    }
    let offset = selected.saturating_sub(height - 1).min(len - height);
    (offset, offset + height)
}

pub(super) fn table<'a, H: Into<Cell<'a>> + Clone>(
    c: &Ctx<'_>,
    title: String,
    header: &[H],
    widths: &[Constraint],
    rows: Vec<Row<'a>>,
) -> Table<'a> {
    Table::new(rows, widths.to_vec())
        .header(Row::new(header.to_vec()).style(c.theme.accent.add_modifier(Modifier::BOLD)))
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(title)
                .border_style(c.theme.muted),
        )
        .column_spacing(1)
}

pub(super) fn draw_rows(
    f: &mut Frame<'_>,
    area: Rect,
    c: &Ctx<'_>,
    t: Table<'_>,
    selected: Option<usize>,
) {
    let mut state = ratatui::widgets::TableState::default();
    state.select(selected);
    f.render_stateful_widget(
        t.row_highlight_style(c.theme.selection)
            .highlight_symbol("▶ "),
        area,
        &mut state,
    );
}

pub(super) fn draw_jobs(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let jobs = &c.snap.jobs;
    let sel = c.app.selection(c.snap);
    let eta = |e: Option<u64>| {
        e.map(|s| format!("{}m{:02}s", s / 60, s % 60))
            .unwrap_or_else(|| "-".into())
    };
    // A backup to several destinations gets a line per copy under its row:
    // one slow or failed destination is visible while the others go on.
    let subrows = |j: &crate::core::registry::JobView| {
        if j.uploads.len() > 1 {
            j.uploads.len()
        } else {
            0
        }
    };
    let mut rows: Vec<Row> = Vec::new();
    for j in jobs {
        rows.push(Row::new(vec![
            Cell::from(j.id.to_string()),
            Cell::from(j.task.clone()),
            Cell::from(j.kind_label()),
            Cell::from(j.phase.clone()),
            Cell::from(bar(j.bytes_done, j.bytes_total, 12)).style(c.theme.gauge),
            Cell::from(format!("{}/{}", j.files_done, j.files_total)),
            Cell::from(format!("{}/s", size(j.rate_bytes_per_sec))),
            Cell::from(eta(j.eta_secs)),
        ]));
        for u in j.uploads.iter().take(subrows(j)) {
            let style = if u.state == "failed" {
                c.theme.error
            } else {
                c.theme.muted
            };
            rows.push(Row::new(vec![
                Cell::from(""),
                Cell::from(format!(" → {}", u.destination)).style(style),
                Cell::from("copy").style(style),
                Cell::from(u.state.clone()).style(style),
                Cell::from(bar(u.bytes, u.bytes_expected, 12)).style(style),
                Cell::from(size(u.bytes)).style(style),
                Cell::from(format!("{}/s", size(u.rate_bytes_per_sec))).style(style),
                Cell::from(eta(u.eta_secs)).style(style),
            ]));
        }
    }
    let sel = jobs.iter().take(sel).map(|j| 1 + subrows(j)).sum::<usize>();
    let widths = [
        Constraint::Length(4),
        Constraint::Min(8),
        Constraint::Length(12),
        Constraint::Length(8),
        Constraint::Length(20),
        Constraint::Length(13),
        Constraint::Length(11),
        Constraint::Length(7),
    ];
    let t = table(
        c,
        format!(" Jobs ({}) ", jobs.len()),
        &[
            "JOB", "TASK", "KIND", "PHASE", "PROGRESS", "FILES", "RATE", "ETA",
        ],
        &widths,
        rows,
    );
    draw_rows(f, area, c, t, (!jobs.is_empty()).then_some(sel));
    if jobs.is_empty() {
        let inner = Rect {
            y: area.y + 2,
            height: area.height.saturating_sub(2),
            ..area
        };
        f.render_widget(
            Paragraph::new(
                "No jobs running or queued. Press 1, select a task and press b to back it up now.",
            )
            .style(c.theme.muted),
            inner,
        );
    }
}
