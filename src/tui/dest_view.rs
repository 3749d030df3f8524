//! The Destinations view: each destination's health (from the core's
//! background checks, so drawing never waits on a slow store) and what the
//! catalog holds there.

use super::render::{Ctx, relative};
use super::theme::Theme;
use super::views::{draw_rows, table, window};
use crate::command::render::size;
use crate::core::rows::{DestinationRow, HealthState};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Paragraph, Row};

/// A destination's state in words and its style: `✓ reachable`, `✗ <error>`,
/// `… checking`, as the view and the task detail show it.
pub(super) fn state_text(r: &DestinationRow, t: &Theme) -> (String, Style) {
    match (r.state, &r.problem) {
        // How long the check took: a slow link shows before it fails.
        (HealthState::Ok, _) => match r.check_ms {
            Some(ms) => (format!("✓ reachable, repository ok ({ms} ms)"), t.ok),
            None => ("✓ reachable, repository ok".into(), t.ok),
        },
        (HealthState::Unreachable, Some(p)) => (format!("✗ {p}"), t.error),
        (HealthState::Unreachable, None) => ("✗ unreachable".into(), t.error),
        (HealthState::TimedOut, _) => (
            format!(
                "✗ timed out: no answer within {} s",
                crate::core::health::CHECK_TIMEOUT.as_secs()
            ),
            t.warn,
        ),
        (HealthState::Checking, _) => ("… checking".into(), t.muted),
        // Encrypted and no passphrase here: its copies wait, nothing failed.
        (HealthState::Locked, _) => ("🔒 locked: passphrase unavailable".into(), t.warn),
        // Older daemons sent definitions (or a bare result) only.
        (HealthState::Unchecked, _) if !r.checked => ("? not checked".into(), t.muted),
        (HealthState::Unchecked, None) => ("✓ reachable, repository ok".into(), t.ok),
        (HealthState::Unchecked, Some(p)) => (format!("✗ {p}"), t.error),
    }
}

/// Where it is, e.g. `local /mnt/nas/strata`.
pub(super) fn place(r: &DestinationRow) -> String {
    let enc = if r.config.encryption.is_some() {
        " (encrypted)"
    } else {
        ""
    };
    format!("{}{enc} {}", r.config.kind.name(), r.config.kind.location())
}

/// Draws the table.
pub(super) fn draw_destinations(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let all = &c.snap.destinations;
    let sel = c.app.selection(c.snap);
    let (from, to) = window(sel, all.len(), area.height.saturating_sub(2) as usize);
    // Below 100 columns the catalog's last write and free space give way to
    // the state, which is the reason to open this view.
    let wide = area.width >= 100;
    let rows: Vec<Row> = all[from..to]
        .iter()
        .map(|r| {
            let (mut state, style) = state_text(r, c.theme);
            // The column is narrow: the short forms (the detail and the
            // line under the table have the whole text).
            match (r.state, r.reason()) {
                // How long the last check took: a slow link shows before it fails.
                (HealthState::Ok, _) => {
                    state = match r.check_ms {
                        Some(ms) => format!("✓ reachable · {ms} ms"),
                        None => "✓ reachable".into(),
                    }
                }
                (HealthState::Unreachable, Some(why)) => state = format!("✗ {why}"),
                _ => {}
            }
            let mut cells = vec![
                Cell::from(r.config.name.clone()),
                Cell::from(place(r)),
                Cell::from(state).style(style),
            ];
            if wide {
                cells.push(Cell::from(
                    r.free_bytes.map(size).unwrap_or_else(|| "-".into()),
                ));
            }
            cells.push(Cell::from(size(r.stored_bytes)));
            cells.push(Cell::from(r.backups.to_string()));
            if wide {
                cells.push(Cell::from(relative(r.last_write, c.now)));
            }
            let pending = Cell::from(r.pending.to_string());
            cells.push(if r.pending > 0 {
                pending.style(c.theme.warn)
            } else {
                pending
            });
            Row::new(cells)
        })
        .collect();
    let (header, widths): (Vec<&str>, Vec<Constraint>) = if wide {
        (
            vec![
                "NAME",
                "LOCATION",
                "STATE",
                "FREE",
                "STORED",
                "BACKUPS",
                "LAST WRITE",
                "PENDING",
            ],
            vec![
                Constraint::Length(14),
                Constraint::Min(16),
                Constraint::Min(24),
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Length(7),
                Constraint::Length(10),
                Constraint::Length(7),
            ],
        )
    } else {
        (
            vec!["NAME", "LOCATION", "STATE", "STORED", "BACKUPS", "PENDING"],
            vec![
                Constraint::Length(10),
                Constraint::Min(12),
                Constraint::Min(20),
                Constraint::Length(10),
                Constraint::Length(7),
                Constraint::Length(7),
            ],
        )
    };
    let down = all
        .iter()
        .filter(|r| matches!(r.state, HealthState::Unreachable | HealthState::TimedOut))
        .count();
    let title = if down > 0 {
        format!(" Destinations ({}, {down} unreachable) ", all.len())
    } else {
        format!(" Destinations ({}) ", all.len())
    };
    let t = table(c, title, &header, &widths, rows);
    draw_rows(
        f,
        area,
        c,
        t,
        (!all.is_empty()).then_some(sel.saturating_sub(from)),
    );
    // The table cuts long errors: the selected one is shown whole below it.
    let shown = (to - from) as u16;
    if let Some(r) = all.get(sel)
        && let Some(p) = &r.problem
        && area.height > shown + 4
    {
        let below = Rect {
            y: area.y + 2 + shown + 1,
            height: area.height - shown - 3,
            ..area
        };
        let (_, style) = state_text(r, c.theme);
        f.render_widget(
            Paragraph::new(format!("{}: {p}", r.config.name))
                .style(style)
                .wrap(ratatui::widgets::Wrap { trim: true }),
            below,
        );
    }
    if all.is_empty() {
        let inner = Rect {
            y: area.y + 2,
            height: area.height.saturating_sub(2),
            ..area
        };
        f.render_widget(
            Paragraph::new("No destinations. Add one with :dest add NAME --local PATH")
                .style(c.theme.muted),
            inner,
        );
    }
}
