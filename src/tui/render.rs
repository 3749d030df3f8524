//! Drawing: a pure function of (app, snapshot, theme, clock) into a frame.
//! Only visible rows are built, so large catalogs stay cheap to draw.

use super::app::{App, Mode};
use super::keymap::View;
use super::source::Snapshot;
use super::theme::Theme;
use crate::command::render::size;
use crate::core::rows::TaskStatus;
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};

/// Smallest usable terminal.
pub const MIN: (u16, u16) = (60, 12);

/// Context a frame is drawn with.
pub struct Ctx<'a> {
    /// Console state.
    pub app: &'a App,
    /// Data.
    pub snap: &'a Snapshot,
    /// Colours.
    pub theme: &'a Theme,
    /// "Now" (fixed in tests).
    pub now: DateTime<Utc>,
    /// Header text: where the data lives.
    pub place: &'a str,
    /// Host name for the header.
    pub host: &'a str,
}

/// `in 4m` / `3h ago` / `-`.
pub fn relative(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(t) = t else { return "-".into() };
    let secs = (t - now).num_seconds();
    let (n, future) = (secs.unsigned_abs(), secs > 0);
    let amount = match n {
        0..=59 => format!("{n}s"),
        60..=3599 => format!("{}m", n / 60),
        3600..=86_399 => format!("{}h{:02}m", n / 3600, (n % 3600) / 60),
        _ => format!("{}d", n / 86_400),
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

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

/// Draws one frame.
pub fn draw(f: &mut Frame<'_>, c: &Ctx<'_>) {
    let area = f.area();
    if area.width < MIN.0 || area.height < MIN.1 {
        let msg = format!(
            "terminal too small: have {}x{}, need {}x{}",
            area.width, area.height, MIN.0, MIN.1
        );
        f.render_widget(
            Paragraph::new(msg)
                .style(c.theme.warn)
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let [header, tabs, body, notice, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(f, header, c);
    draw_tabs(f, tabs, c);
    match c.app.view {
        View::Tasks => draw_tasks(f, body, c),
        View::Backups => draw_backups(f, body, c),
        View::Jobs => draw_jobs(f, body, c),
        View::Audit => draw_audit(f, body, c),
    }
    if let Some(n) = c.app.notices.back() {
        let style = if n.error { c.theme.error } else { c.theme.ok };
        let mark = if n.error { "✗ " } else { "✓ " };
        f.render_widget(
            Paragraph::new(format!("{mark}{}", n.text)).style(style),
            notice,
        );
    }
    draw_footer(f, footer, c);
    match &c.app.mode {
        Mode::Help(filter) => draw_help(f, area, c, filter),
        Mode::Confirm { prompt, .. } => draw_box(f, area, c, "Confirm", prompt, c.theme.warn),
        Mode::ChooseKind { task } => draw_box(
            f,
            area,
            c,
            "Backup now",
            &format!(
                "Back up {task} now: f = full, i = incremental, d = differential, Esc = cancel"
            ),
            c.theme.accent,
        ),
        _ => {}
    }
}

fn draw_header(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let running = c.snap.jobs.iter().filter(|j| j.phase != "queued").count();
    let queued = c.snap.jobs.len() - running;
    // The clock and job counts get their own right-aligned area so they are
    // never the part a narrow terminal cuts off.
    let right = format!(
        "jobs {running}▶ {queued}… · {} UTC ",
        c.now.format("%Y-%m-%d %H:%M:%S")
    );
    let [left_area, right_area] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(right.chars().count() as u16),
    ])
    .areas(area);
    let left = format!(" strata · {} · {} · {}", c.host, c.place, c.app.role);
    f.render_widget(Paragraph::new(left).style(c.theme.header), left_area);
    f.render_widget(
        Paragraph::new(right)
            .style(c.theme.header)
            .alignment(ratatui::layout::Alignment::Right),
        right_area,
    );
}

fn draw_tabs(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let mut spans = Vec::new();
    for (i, v) in View::ALL.iter().enumerate() {
        let label = format!(" {} {} ", i + 1, v.title());
        if *v == c.app.view {
            spans.push(Span::styled(
                label,
                c.theme.selection.add_modifier(Modifier::BOLD),
            ));
        } else {
            spans.push(Span::styled(label, c.theme.muted));
        }
    }
    let vi = View::ALL.iter().position(|v| *v == c.app.view).unwrap_or(0);
    if let Some(t) = &c.app.task_filter
        && c.app.view == View::Backups
    {
        spans.push(Span::styled(
            format!("  task: {t} (Esc: all)"),
            c.theme.accent,
        ));
    }
    if !c.app.filter[vi].is_empty() || matches!(c.app.mode, Mode::Filter(_)) {
        spans.push(Span::styled(
            format!("  /{}", c.app.filter[vi]),
            c.theme.accent,
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Rows `[offset, offset + height)` keeping `selected` visible.
fn window(selected: usize, len: usize, height: usize) -> (usize, usize) {
    if height == 0 || len <= height {
        return (0, len);
    }
    let offset = selected.saturating_sub(height - 1).min(len - height);
    (offset, offset + height)
}

fn table<'a>(
    c: &Ctx<'_>,
    title: String,
    header: &[&'a str],
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

fn draw_rows(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>, t: Table<'_>, selected: Option<usize>) {
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
        return Cell::from(text).style(c.theme.gauge);
    }
    match r.status {
        TaskStatus::Active => Cell::from("● active").style(c.theme.ok),
        TaskStatus::Paused => Cell::from("‖ paused").style(c.theme.muted),
        TaskStatus::Running => Cell::from("▶ running").style(c.theme.gauge),
        TaskStatus::Failed => Cell::from("✗ failed").style(c.theme.error),
        TaskStatus::Missed => Cell::from("! missed").style(c.theme.warn),
    }
}

fn draw_tasks(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let tasks = c.app.tasks(c.snap);
    let sel = c.app.selection(c.snap);
    let (from, to) = window(sel, tasks.len(), area.height.saturating_sub(2) as usize);
    // Wide layout only when SCHEDULE still gets room of its own.
    let wide = area.width >= 118;
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
            Row::new(cells)
        })
        .collect();
    let title = format!(" Tasks ({}) ", tasks.len());
    // Below 100 columns the least important columns go, rather than every
    // column being cut to nonsense.
    let widths: Vec<Constraint> = if wide {
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
    let header: &[&str] = if wide {
        &[
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
        &["NAME", "STATUS", "SCHEDULE", "LAST FULL", "NEXT", "STORED"]
    };
    let t = table(c, title, header, &widths, rows);
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

fn draw_backups(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
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
            match &b.verified {
                Some(v) if v.ok => flags.push("verified"),
                Some(_) => flags.push("DAMAGED"),
                None => {}
            }
            let kind = if b.kind == crate::core::model::BackupKind::Full {
                "full".to_string()
            } else {
                format!("└ {}", b.kind.as_str())
            };
            let status_style = if b.status == crate::core::model::BackupStatus::Partial {
                c.theme.warn
            } else {
                c.theme.text
            };
            let mut cells = vec![
                Cell::from(b.id.clone()),
                Cell::from(b.task.clone()),
                Cell::from(kind),
                Cell::from(b.status.as_str()).style(status_style),
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
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Length(20),
            Constraint::Fill(1),
            Constraint::Length(14),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Fill(1),
        ]
    } else {
        // The id is what an operator types next: it never shrinks.
        vec![
            Constraint::Length(20),
            Constraint::Fill(1),
            Constraint::Length(14),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Fill(1),
        ]
    };
    let header: &[&str] = if wide {
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
    let t = table(c, title, header, &widths, rows);
    draw_rows(f, area, c, t, (!rows_all.is_empty()).then_some(sel - from));
}

fn draw_jobs(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let jobs = &c.snap.jobs;
    let sel = c.app.selection(c.snap);
    let rows: Vec<Row> = jobs
        .iter()
        .map(|j| {
            let eta = j
                .eta_secs
                .map(|s| format!("{}m{:02}s", s / 60, s % 60))
                .unwrap_or_else(|| "-".into());
            Row::new(vec![
                Cell::from(j.id.to_string()),
                Cell::from(j.task.clone()),
                Cell::from(j.kind.as_str()),
                Cell::from(j.phase.clone()),
                Cell::from(bar(j.bytes_done, j.bytes_total, 12)).style(c.theme.gauge),
                Cell::from(format!("{}/{}", j.files_done, j.files_total)),
                Cell::from(format!("{}/s", size(j.rate_bytes_per_sec))),
                Cell::from(eta),
            ])
        })
        .collect();
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

fn draw_audit(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let all: Vec<_> = c.snap.audit.iter().rev().collect();
    let sel = c.app.selection(c.snap);
    let (from, to) = window(sel, all.len(), area.height.saturating_sub(2) as usize);
    let rows: Vec<Row> = all[from..to]
        .iter()
        .map(|e| {
            let style = if e.outcome.starts_with("refused") || e.outcome.starts_with("failed") {
                c.theme.error
            } else {
                c.theme.text
            };
            Row::new(vec![
                Cell::from(relative(Some(e.at), c.now)),
                Cell::from(e.who.clone()),
                Cell::from(e.role.clone()),
                Cell::from(e.origin.clone()),
                Cell::from(e.action.clone()),
                Cell::from(e.target.clone()),
                Cell::from(e.outcome.clone()).style(style),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(15),
        Constraint::Length(14),
        Constraint::Max(24),
        Constraint::Fill(1),
    ];
    let t = table(
        c,
        format!(" Audit ({}) ", all.len()),
        &["WHEN", "WHO", "ROLE", "FROM", "ACTION", "TARGET", "OUTCOME"],
        &widths,
        rows,
    );
    draw_rows(f, area, c, t, (!all.is_empty()).then_some(sel - from));
}

fn draw_footer(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    if let Mode::Command(text) = &c.app.mode {
        f.render_widget(
            Paragraph::new(format!(":{text}█")).style(c.theme.accent),
            area,
        );
        return;
    }
    if let Mode::Filter(text) = &c.app.mode {
        f.render_widget(
            Paragraph::new(format!("/{text}█  (Enter keep, Esc clear)")).style(c.theme.accent),
            area,
        );
        return;
    }
    // The view's own actions first, then global keys; only whole bindings
    // are shown, so what is visible is always usable.
    let mut bindings = c.app.keymap.for_view(c.app.view);
    bindings.sort_by_key(|b| b.scope == super::keymap::Scope::Global);
    let mut spans = Vec::new();
    let mut used = 0usize;
    for b in bindings {
        if matches!(
            b.action.name(),
            "prev_view"
                | "view_tasks"
                | "view_backups"
                | "view_jobs"
                | "view_audit"
                | "up"
                | "top"
                | "bottom"
        ) {
            continue;
        }
        let key = b.keys.first().cloned().unwrap_or_default();
        let piece = format!("{key} {}  ", b.help);
        if used + piece.chars().count() > area.width as usize {
            break;
        }
        used += piece.chars().count();
        let enabled = c.app.role >= b.needs;
        let (ks, hs) = if enabled {
            (c.theme.accent, c.theme.text)
        } else {
            (
                c.theme.muted.add_modifier(Modifier::CROSSED_OUT),
                c.theme.muted.add_modifier(Modifier::CROSSED_OUT),
            )
        };
        spans.push(Span::styled(key, ks));
        spans.push(Span::styled(format!(" {}  ", b.help), hs));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_box(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>, title: &str, text: &str, style: Style) {
    // Tall enough for the whole question, so "y/N" is never cut off.
    let lines = (text.chars().count() as u16).div_ceil(60) + 2;
    let r = centered(area, 64, lines.max(4));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text.to_string())
            .wrap(Wrap { trim: true })
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(format!(" {title} "))
                    .border_style(style),
            )
            .style(c.theme.text),
        r,
    );
}

fn draw_help(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>, filter: &str) {
    let r = centered(area, 64, area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let fl = filter.to_lowercase();
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "keys of the {} view — type to filter: {filter}",
            c.app.view.title()
        ),
        c.theme.muted,
    ))];
    for b in c.app.keymap.for_view(c.app.view) {
        let keys = b.keys.join(" ");
        if !fl.is_empty()
            && !b.help.to_lowercase().contains(&fl)
            && !keys.to_lowercase().contains(&fl)
        {
            continue;
        }
        let enabled = c.app.role >= b.needs;
        let note = if enabled {
            String::new()
        } else {
            format!("  (needs {})", b.needs)
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{keys:<14}"),
                if enabled {
                    c.theme.accent
                } else {
                    c.theme.muted
                },
            ),
            Span::styled(
                format!("{}{note}", b.help),
                if enabled { c.theme.text } else { c.theme.muted },
            ),
        ]));
    }
    lines.push(Line::from(Span::styled(
        ": runs any strata command, e.g.  backup run web --full",
        c.theme.muted,
    )));
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Help (Esc closes) ")
                .border_style(c.theme.accent),
        ),
        r,
    );
}
