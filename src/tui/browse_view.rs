//! Drawing the file browser: its header (backup, task, kind, path), the
//! loading and error states, and only the visible rows of the directory.

use super::browse::{Browser, Load};
use super::render::Ctx;
use super::views::{draw_rows, table, window};
use crate::command::browse_cmds::{mode_text, shown_name};
use crate::command::render::size;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};

/// `backup ID · task · kind · /path`: what the browser shows, in its title
/// (what the task backs up last: a narrow terminal cuts it first).
fn title(b: &Browser, count: &str) -> String {
    let source = if b.source.is_empty() {
        String::new()
    } else {
        format!(" · {}", b.source)
    };
    format!(
        " Files of backup {} · {} · {} · /{}{count}{source} ",
        b.id, b.task, b.kind, b.dir
    )
}

/// A message under the title (loading, the error), wrapped.
fn message(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>, head: String, lines: Vec<Line<'_>>) {
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::TOP)
                .title(head)
                .border_style(c.theme.muted),
        ),
        area,
    );
}

/// Draws the file browser into `area`.
pub(super) fn draw_browse(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let Some(b) = c.app.browser() else {
        let text = "No backup is open. Enter on a backup (Backups view) browses its files.";
        return message(
            f,
            area,
            c,
            " Files ".into(),
            vec![Line::styled(text, c.theme.muted)],
        );
    };
    let listing = match &b.load {
        Load::Loading => {
            let text = format!("loading {}…", b.id);
            let line = Line::styled(text, c.theme.gauge);
            return message(f, area, c, title(b, ""), vec![line]);
        }
        Load::Failed(e) => {
            let lines = vec![
                Line::styled(format!("cannot list backup {}:", b.id), c.theme.error),
                Line::styled(e.clone(), c.theme.error),
                Line::raw(""),
                Line::styled(
                    format!(
                        "Esc returns; Enter on the backup tries again. Check it with: verify {} --read-data",
                        b.id
                    ),
                    c.theme.muted,
                ),
            ];
            return message(f, area, c, title(b, ""), lines);
        }
        Load::Ready(l) => l,
    };
    let shown = b.shown();
    let all = listing.children(&b.dir).len();
    let noun = if all == 1 { "entry" } else { "entries" };
    let count = if shown.len() == all {
        format!(" · {all} {noun}")
    } else {
        format!(" · {} of {all} {noun}", shown.len())
    };
    let rows_n = b.rows();
    let sel = c.app.selection(c.snap);
    let (from, to) = window(sel, rows_n, area.height.saturating_sub(2) as usize);
    let rows: Vec<Row> = (from..to)
        .map(|i| match b.entry_at(i) {
            None => {
                let what = if b.dir.is_empty() { "back" } else { "up" };
                Row::new(vec![
                    Cell::from(""),
                    Cell::from(""),
                    Cell::from(""),
                    Cell::from(Line::from(vec![
                        Span::styled("..", c.theme.text),
                        Span::styled(
                            format!("  ({what}; r restores the whole backup)"),
                            c.theme.muted,
                        ),
                    ])),
                ])
            }
            Some(e) => {
                let style = if e.is_dir() {
                    c.theme.accent
                } else {
                    c.theme.text
                };
                Row::new(vec![
                    Cell::from(mode_text(e)).style(c.theme.muted),
                    Cell::from(if e.is_dir() { "-".into() } else { size(e.size) }),
                    Cell::from(e.mtime.format("%Y-%m-%d %H:%M").to_string()),
                    Cell::from(shown_name(e, false)).style(style),
                ])
            }
        })
        .collect();
    let widths = [
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(16),
        Constraint::Fill(1),
    ];
    let t = table(
        c,
        title(b, &count),
        &["MODE", "SIZE", "MODIFIED", "NAME"],
        &widths,
        rows,
    );
    draw_rows(f, area, c, t, Some(sel.saturating_sub(from)));
    if shown.is_empty() && area.height > 4 {
        let filter = &c.app.filter[super::app::idx(super::keymap::View::Browse)];
        let text = if all == 0 {
            "empty directory".to_string()
        } else {
            format!("no entry here matches /{filter}")
        };
        let below = Rect {
            x: area.x + 2,
            y: area.y + 3,
            width: area.width.saturating_sub(2),
            height: 1,
        };
        f.render_widget(Paragraph::new(text).style(c.theme.muted), below);
    }
}
