//! The list views Tasks, Backups and Jobs: columns, narrow layouts and
//! the visible-rows window. The Audit view is in `audit_view`; frame
//! layout, header, footer and overlays live in `render`.

use super::render::{Ctx, relative};
use crate::command::render::size;
use crate::core::rows::TaskStatus;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

fn bar(done: u64, total: u64, width: usize) -> String {
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

fn status_cell(c: &Ctx<'_>, r: &crate::core::rows::TaskRow) -> Cell<'static> {
    if let Some(j) = c.snap.jobs.iter().find(|j| j.task == r.task.name) {
        let text = if j.phase == "queued" {
            "queued".to_string()
        } else {
            bar(j.bytes_done, j.bytes_total, 8)
        };
        // A copy that failed mid-run shows at once, before the run ends degraded.
        if j.uploads.iter().any(|u| u.state == "failed") {
            return Cell::from(format!("{text} ✗")).style(c.theme.warn);
        }
        return Cell::from(text).style(c.theme.gauge);
    }
    match r.status {
        TaskStatus::Active => Cell::from("● active").style(c.theme.ok),
        TaskStatus::Paused => Cell::from("‖ paused").style(c.theme.muted),
        TaskStatus::Running => Cell::from("▶ running").style(c.theme.gauge),
        TaskStatus::Failed => Cell::from("✗ failed").style(c.theme.error),
        TaskStatus::Missed => Cell::from("! missed").style(c.theme.warn),
        TaskStatus::Degraded => Cell::from("◐ degraded").style(c.theme.warn),
        TaskStatus::Stale => Cell::from("⌛ stale").style(c.theme.error),
    }
}

pub(super) fn draw_tasks(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let tasks = c.app.tasks(c.snap);
    let sel = c.app.selection(c.snap);
    let (from, to) = window(sel, tasks.len(), area.height.saturating_sub(2) as usize);
    // Wide layout only when SCHEDULE still gets room of its own.
    let wide = area.width >= 118;
    // What each task backs up (`dir`, `sqlite · snapshot`, `command · backup`)
    // once even the wide layout leaves room for it.
    let with_source = area.width >= 140;
    let rows: Vec<Row> = tasks[from..to]
        .iter()
        .map(|r| {
            let sched = [
                ("full", &r.task.full),
                ("incr", &r.task.incremental),
                ("diff", &r.task.differential),
            ]
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
            .collect::<Vec<_>>()
            .join(" · ");
            let next = match (&r.next, &r.schedule_error) {
                (Some((t, k)), _) => format!("{} {}", relative(Some(*t), c.now), &k.as_str()[..4]),
                (None, Some(_)) => "bad schedule".into(),
                (None, None) => "-".into(),
            };
            let result = r
                .last_result
                .as_deref()
                .unwrap_or("-")
                .split(':')
                .next()
                .unwrap_or("-")
                .to_string();
            let mut cells = vec![
                Cell::from(r.task.name.clone()),
                status_cell(c, r),
                Cell::from(if sched.is_empty() {
                    "manual".into()
                } else {
                    sched
                }),
                Cell::from(relative(r.last_full, c.now)),
                Cell::from(relative(r.last_incremental, c.now)),
                Cell::from(next),
                Cell::from(result.clone()).style(if result.starts_with("failed") {
                    c.theme.error
                } else {
                    c.theme.text
                }),
                Cell::from(size(r.stored_bytes)),
            ];
            if !wide {
                cells.remove(6);
                cells.remove(4);
            }
            if with_source {
                cells.insert(1, Cell::from(r.task.source.label()).style(c.theme.muted));
            }
            Row::new(cells)
        })
        .collect();
    let title = format!(" Tasks ({}) ", tasks.len());
    // Below 100 columns the least important columns go, rather than every
    // column being cut to nonsense.
    let mut widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Max(24),
            Constraint::Length(16),
            Constraint::Fill(1),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(15),
            Constraint::Length(11),
            Constraint::Length(10),
        ]
    } else {
        vec![
            Constraint::Max(16),
            Constraint::Length(16),
            Constraint::Fill(1),
            Constraint::Length(10),
            Constraint::Length(15),
            Constraint::Length(10),
        ]
    };
    let mut header: Vec<&str> = if wide {
        vec![
            "NAME",
            "STATUS",
            "SCHEDULE",
            "LAST FULL",
            "LAST INCR",
            "NEXT",
            "LAST RESULT",
            "STORED",
        ]
    } else {
        vec!["NAME", "STATUS", "SCHEDULE", "LAST FULL", "NEXT", "STORED"]
    };
    if with_source {
        header.insert(1, "SOURCE");
        widths.insert(1, Constraint::Length(17));
    }
    let t = table(c, title, &header, &widths, rows);
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

pub(super) fn draw_backups(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let rows_all = c.app.backups(c.snap);
    let sel = c.app.selection(c.snap);
    let (from, to) = window(sel, rows_all.len(), area.height.saturating_sub(2) as usize);
    let wide = area.width >= 100;
    let rows: Vec<Row> = rows_all[from..to]
        .iter()
        .map(|r| {
            let b = &r.record;
            let mut flags = Vec::new();
            if b.manual {
                flags.push("manual");
            }
            if b.pinned {
                flags.push("pinned");
            }
            if r.encrypted {
                flags.push("encrypted");
            }
            match &b.verified {
                Some(v) if v.ok => flags.push("verified"),
                Some(_) => flags.push("DAMAGED"),
                None => {}
            }
            let kind = if b.kind == crate::model::BackupKind::Full {
                "full".to_string()
            } else {
                format!("└ {}", b.kind.as_str())
            };
            let (done, all) = b.copy_count();
            let status_style = if b.status == crate::model::BackupStatus::Partial || done < all {
                c.theme.warn
            } else {
                c.theme.text
            };
            let mut cells = vec![
                Cell::from(b.id.clone()),
                Cell::from(b.task.clone()),
                Cell::from(kind),
                Cell::from(b.status_text()).style(status_style),
                Cell::from(relative(Some(b.finished), c.now)),
                Cell::from(size(b.logical_bytes)),
                Cell::from(size(b.stored_bytes)),
                Cell::from(size(r.reclaimable_bytes)),
                Cell::from(flags.join(",")).style(if flags.contains(&"DAMAGED") {
                    c.theme.error
                } else {
                    c.theme.muted
                }),
            ];
            if !wide {
                cells.remove(7);
                cells.remove(5);
            }
            Row::new(cells)
        })
        .collect();
    let stored: u64 = rows_all.iter().map(|r| r.record.stored_bytes).sum();
    let recl: u64 = rows_all.iter().map(|r| r.reclaimable_bytes).sum();
    let title = format!(
        " Backups ({}) · stored {} · reclaimable now {} ",
        rows_all.len(),
        size(stored),
        size(recl)
    );
    let idw = super::human::id_width(rows_all.iter().map(|r| r.record.id.as_str())) as u16;
    // Room for `complete 1/2` only when some backup lacks a copy.
    let lacking = rows_all.iter().any(|r| {
        r.record
            .copies
            .iter()
            .any(|c| c.state != crate::model::CopyState::Complete)
    });
    let stw = if lacking { 13 } else { 8 };
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Length(idw),
            Constraint::Fill(1),
            Constraint::Length(14),
            Constraint::Length(stw),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Fill(1),
        ]
    } else {
        // The id is what an operator types next: it never shrinks.
        vec![
            Constraint::Length(idw),
            Constraint::Fill(1),
            Constraint::Length(14),
            Constraint::Length(stw),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Fill(1),
        ]
    };
    let names: &[&'static str] = if wide {
        &[
            "ID",
            "TASK",
            "KIND",
            "STATUS",
            "AGE",
            "LOGICAL",
            "STORED",
            "RECLAIMABLE",
            "FLAGS",
        ]
    } else {
        &["ID", "TASK", "KIND", "STATUS", "AGE", "STORED", "FLAGS"]
    };
    // The sorted column carries the arrow.
    let header: Vec<String> = names.iter().map(|n| c.app.sort.header(n)).collect();
    let t = table(c, title, &header, &widths, rows);
    draw_rows(f, area, c, t, (!rows_all.is_empty()).then_some(sel - from));
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
