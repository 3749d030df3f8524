//! Drawing: a pure function of (app, snapshot, theme, clock) into a frame.
//! Only visible rows are built, so large catalogs stay cheap to draw.

use super::app::{App, Mode};
use super::keymap::View;
use super::source::Snapshot;
use super::theme::Theme;
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

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
        Constraint::Length(super::notice::rows(c.app, area.width)),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(f, header, c);
    draw_tabs(f, tabs, c);
    match c.app.view {
        View::Tasks => super::tasks_view::draw_tasks(f, body, c),
        View::Backups => super::backups_view::draw_backups(f, body, c),
        View::Jobs => super::views::draw_jobs(f, body, c),
        View::Audit => super::audit_view::draw_audit(f, body, c),
        View::Log => super::log::draw_log(f, body, c),
        View::Destinations => super::dest_view::draw_destinations(f, body, c),
        View::Detail => super::detail_view::draw_detail(f, body, c),
        View::Browse => super::browse_view::draw_browse(f, body, c),
    }
    super::notice::draw_notice(f, notice, c);
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
        Mode::Restore(form) => super::restore::draw_restore(f, area, c, form),
        Mode::Output(out) => super::output::draw_output(f, area, c, out),
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
    // The role comes before the place: on a narrow terminal the path is the
    // part to lose, not who you are acting as.
    let head = format!(" strata · {} · {} · ", c.host, c.app.role);
    // One space before the clock; a place that does not fit keeps its end
    // ("…/srv/strata" reads better than "/srv/strat" run into "jobs").
    let room = (left_area.width as usize)
        .saturating_sub(1)
        .saturating_sub(head.chars().count());
    let place = c.place.to_string();
    let n = place.chars().count();
    let place = if n <= room {
        place
    } else if room == 0 {
        String::new()
    } else {
        let tail: String = place.chars().skip(n + 1 - room).collect();
        format!("…{tail}")
    };
    f.render_widget(
        Paragraph::new(format!("{head}{place}")).style(c.theme.header),
        left_area,
    );
    f.render_widget(
        Paragraph::new(right)
            .style(c.theme.header)
            .alignment(ratatui::layout::Alignment::Right),
        right_area,
    );
}

fn draw_tabs(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let mut spans = Vec::new();
    // The detail view and the browser belong to a tab.
    let tab = c.app.tab();
    for (i, v) in View::ALL.iter().enumerate() {
        let label = format!(" {} {} ", i + 1, v.title());
        if *v == tab {
            spans.push(Span::styled(
                label,
                c.theme.selection.add_modifier(Modifier::BOLD),
            ));
        } else {
            spans.push(Span::styled(label, c.theme.muted));
        }
    }
    let vi = View::EVERY
        .iter()
        .position(|v| *v == c.app.view)
        .unwrap_or(0);
    if let Some(t) = &c.app.detail
        && c.app.view == View::Detail
    {
        spans.push(Span::styled(
            format!("  task: {t} (Esc: all tasks)"),
            c.theme.accent,
        ));
    }
    if c.app.view == View::Browse {
        spans.push(Span::styled("  files (Esc: back)", c.theme.accent));
    }
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

fn draw_footer(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    if let Mode::Command(text) = &c.app.mode {
        super::cmdline::draw_line(f, area, c, text);
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
    // A notice cut at its last row: the key that shows it whole comes first.
    if let Some(hint) = super::notice::cut_hint(c.app, area.width) {
        used += hint.chars().count();
        spans.push(Span::styled(hint, c.theme.warn));
    }
    for b in bindings {
        if matches!(
            b.action.name(),
            "prev_view"
                | "view_tasks"
                | "view_backups"
                | "view_jobs"
                | "view_audit"
                | "view_log"
                | "view_destinations"
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

/// A `w`×`h` rectangle in the middle of `area` (smaller if it does not fit).
pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
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
    for (mark, meaning) in super::flags::legend(c.app.view) {
        let key = format!("FLAGS {mark}");
        if !fl.is_empty()
            && !meaning.to_lowercase().contains(&fl)
            && !key.to_lowercase().contains(&fl)
        {
            continue;
        }
        lines.push(Line::from(vec![
            Span::styled(format!("{key:<14}"), c.theme.accent),
            Span::styled(*meaning, c.theme.text),
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
