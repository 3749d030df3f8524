//! Drawing the task detail view: only the lines on screen are turned into
//! text; the retention preview is computed once per frame, for this task only.

use super::detail::{self, Item};
use super::render::{Ctx, relative};
use crate::command::render::size;
use crate::core::backups::BackupRow;
use crate::core::preview::{Outlook, Preview, preview_in};
use crate::model::{BackupKind, BackupStatus, RunStatus};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The host's zone, read once: calendar rules of a task without a
/// `timezone` count days there, as `prune` does.
fn host_tz() -> chrono_tz::Tz {
    static TZ: OnceLock<chrono_tz::Tz> = OnceLock::new();
    *TZ.get_or_init(crate::core::scheduler::host_tz)
}

fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w {
        s.chars().take(w).collect()
    } else {
        format!("{s}{}", " ".repeat(w - n))
    }
}

fn rpad(s: &str, w: usize) -> String {
    format!("{s:>w$}")
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The EXPIRES cell: short, the summary lines above the tree say the rest.
fn expires(p: Option<&Preview>, wide: bool) -> (String, bool) {
    match p.map(|p| &p.outlook) {
        None => ("-".into(), false),
        Some(Outlook::ExpiresNow) => ("at next prune".into(), true),
        Some(Outlook::ExpiresAt { at, rule }) if wide => {
            let rule = rule.split(" for ").next().unwrap_or(rule);
            (format!("{} ({rule})", day(*at)), false)
        }
        Some(Outlook::ExpiresAt { at, .. }) => (day(*at), false),
        Some(Outlook::Kept { reasons }) => {
            let why = reasons
                .iter()
                .find(|r| !r.starts_with("needed by"))
                .cloned()
                .unwrap_or_else(|| format!("needed by {}", reasons.len()));
            (format!("kept: {why}"), false)
        }
    }
}

fn marks(r: &BackupRow) -> Vec<&'static str> {
    let b = &r.record;
    let mut m = Vec::new();
    if b.status == BackupStatus::Partial {
        m.push("PARTIAL");
    }
    if b.manual {
        m.push("manual");
    }
    if b.pinned {
        m.push("pinned");
    }
    match &b.verified {
        Some(v) if v.ok => m.push("verified"),
        Some(_) => m.push("DAMAGED"),
        None => {}
    }
    m
}

struct Page<'a> {
    c: &'a Ctx<'a>,
    /// Width of the chain's ID column.
    idw: usize,
    wide: bool,
    preview: HashMap<&'a str, &'a Preview>,
    all: &'a [Preview],
    error: Option<String>,
}

impl Page<'_> {
    fn chain_header(&self) -> Line<'static> {
        let t = if self.wide {
            format!(
                "{} {} {} {} {} {} {} EXPIRES",
                pad("ID", self.idw),
                pad("KIND", 14),
                pad("AGE", 9),
                rpad("LOGICAL", 8),
                rpad("STORED", 8),
                rpad("RECLAIM", 8),
                pad("MARKS", 15),
            )
        } else {
            format!(
                "{} {} {} {} EXPIRES",
                pad("ID", self.idw),
                pad("KIND", 14),
                rpad("STORED", 8),
                pad("MARKS", 15),
            )
        };
        Line::styled(t, self.c.theme.accent.add_modifier(Modifier::BOLD))
    }

    fn backup(&self, r: &BackupRow, last: bool) -> Line<'static> {
        let b = &r.record;
        let kind = if b.kind == BackupKind::Full {
            "full".to_string()
        } else {
            format!("{} {}", if last { "└" } else { "├" }, b.kind.as_str())
        };
        let m = marks(r);
        let (exp, soon) = expires(self.preview.get(b.id.as_str()).copied(), self.wide);
        let t = &self.c.theme;
        let mark_style = if m.iter().any(|m| *m == "PARTIAL" || *m == "DAMAGED") {
            t.warn
        } else {
            t.muted
        };
        let mut spans = vec![
            Span::styled(format!("{} ", pad(&b.id, self.idw)), t.text),
            Span::styled(format!("{} ", pad(&kind, 14)), t.text),
        ];
        if self.wide {
            spans.push(Span::styled(
                format!(
                    "{} {} {} {} ",
                    pad(&relative(Some(b.finished), self.c.now), 9),
                    rpad(&size(b.logical_bytes), 8),
                    rpad(&size(b.stored_bytes), 8),
                    rpad(&size(r.reclaimable_bytes), 8)
                ),
                t.text,
            ));
        } else {
            spans.push(Span::styled(
                format!("{} ", rpad(&size(b.stored_bytes), 8)),
                t.text,
            ));
        }
        spans.push(Span::styled(
            format!("{} ", pad(&m.join(","), 15)),
            mark_style,
        ));
        spans.push(Span::styled(exp, if soon { t.warn } else { t.text }));
        Line::from(spans)
    }

    fn summary_now(&self) -> Line<'static> {
        let t = &self.c.theme;
        if let Some(e) = &self.error {
            return Line::styled(format!("retention cannot be applied: {e}"), t.error);
        }
        let now: Vec<&Preview> = self
            .all
            .iter()
            .filter(|p| p.outlook == Outlook::ExpiresNow)
            .collect();
        if now.is_empty() {
            return Line::styled("nothing expires at the next prune", t.muted);
        }
        let bytes: u64 = now.iter().map(|p| p.stored_bytes).sum();
        let ids: Vec<&str> = now.iter().map(|p| p.id.as_str()).collect();
        Line::styled(
            format!(
                "at the next prune: {} backup(s), frees {}: {}",
                now.len(),
                size(bytes),
                ids.join(", ")
            ),
            t.warn,
        )
    }

    fn summary_next(&self) -> Line<'static> {
        let t = &self.c.theme;
        let next = self
            .all
            .iter()
            .filter_map(|p| match &p.outlook {
                Outlook::ExpiresAt { at, rule } => Some((at, rule, p)),
                _ => None,
            })
            .min_by_key(|(at, _, p)| (**at, p.id.clone()));
        match next {
            Some((at, rule, p)) => Line::styled(
                format!(
                    "next: {} {}, expires {} ({rule})",
                    p.id,
                    p.kind,
                    at.format("%Y-%m-%d %H:%M")
                ),
                t.text,
            ),
            None => Line::styled(
                "after that: nothing expires with time; kept backups show why in EXPIRES",
                t.muted,
            ),
        }
    }

    fn run(&self, r: &crate::model::RunRecord) -> Line<'static> {
        let t = &self.c.theme;
        let style = match r.status {
            RunStatus::Failed | RunStatus::Interrupted => t.error,
            RunStatus::Partial | RunStatus::Missed | RunStatus::Degraded => t.warn,
            RunStatus::Running | RunStatus::Queued => t.gauge,
            RunStatus::Complete => t.text,
        };
        let when = r
            .finished
            .unwrap_or(r.started)
            .format("%Y-%m-%d %H:%M")
            .to_string();
        let mut text = format!("{when}  {:<12} {:<11}", r.kind_label(), r.status.as_str());
        if !r.backup_id.is_empty()
            && matches!(
                r.status,
                RunStatus::Complete | RunStatus::Partial | RunStatus::Degraded
            )
        {
            text.push_str(&format!(" → {}", r.backup_id));
        }
        if let Some(m) = &r.message {
            text.push_str(&format!("  {m}"));
        }
        Line::styled(text, style)
    }

    fn line(&self, item: &Item<'_>) -> Line<'static> {
        let t = &self.c.theme;
        match item {
            Item::Blank => Line::raw(""),
            Item::Heading(h) => Line::styled(h.to_string(), t.header.add_modifier(Modifier::BOLD)),
            Item::Field(k, v) => Line::from(vec![
                Span::styled(format!("{} ", pad(k, 13)), t.muted),
                Span::styled(v.clone(), t.text),
            ]),
            Item::Dest(name, row) => {
                let (state, style): (String, Style) = match row {
                    None => (
                        "✗ not defined: add it with dest add, or apply".into(),
                        t.error,
                    ),
                    Some(r) => super::dest_view::state_text(r, t),
                };
                let place = row.map(super::dest_view::place).unwrap_or_default();
                Line::from(vec![
                    Span::styled(format!("{} ", pad(name, 13)), t.text),
                    Span::styled(format!("{place}  "), t.muted),
                    Span::styled(state, style),
                ])
            }
            Item::ChainHeader => self.chain_header(),
            Item::Backup { row, last } => self.backup(row, *last),
            Item::ExpiresNow => self.summary_now(),
            Item::ExpiresNext => self.summary_next(),
            Item::Run(r) => self.run(r),
            Item::Note(text, error) => Line::styled(
                format!("    {text}"),
                if *error { t.error } else { t.muted },
            ),
            Item::Snapshot(r) => Line::from(vec![
                Span::styled(format!("{}  ", r.tag), t.text),
                Span::styled(
                    format!("{} ", pad(&relative(Some(r.created), self.c.now), 11)),
                    t.muted,
                ),
                Span::styled(
                    // What clearing frees first: on a narrow screen the rest is cut.
                    format!(
                        "{} its own of {} · {} files",
                        size(r.exclusive_bytes),
                        size(r.apparent_bytes),
                        r.files
                    ),
                    t.text,
                ),
            ]),
        }
    }
}

pub(super) fn draw_detail(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let Some(row) = detail::task(c.app, c.snap) else {
        f.render_widget(
            Paragraph::new("This task no longer exists. Esc returns to the tasks.")
                .style(c.theme.muted),
            area,
        );
        return;
    };
    let items = detail::items(c.app, c.snap);
    let mine: Vec<&crate::model::BackupRecord> = c
        .snap
        .backups
        .iter()
        .filter(|b| b.record.task == row.task.name)
        .map(|b| &b.record)
        .collect();
    let tz = match &row.task.timezone {
        Some(z) => crate::core::scheduler::parse_tz(z).unwrap_or(chrono_tz::UTC),
        None => host_tz(),
    };
    let (all, error) = match preview_in(&mine, &row.task.retention, c.now, &tz) {
        Ok(p) => (p, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let page = Page {
        c,
        idw: super::human::id_width(mine.iter().map(|b| b.id.as_str())),
        wide: area.width >= 100,
        preview: all.iter().map(|p| (p.id.as_str(), p)).collect(),
        all: &all,
        error,
    };
    // The selection clamped here: `App::selection` would build the page again.
    let sel = c.app.selected[super::app::idx(super::keymap::View::Detail)]
        .min(items.len().saturating_sub(1));
    let height = area.height.saturating_sub(1) as usize;
    let (from, to) = super::views::window(sel, items.len(), height);
    let lines: Vec<Line> = items[from..to]
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let mut l = page.line(it);
            if from + i == sel {
                l.spans.insert(0, Span::styled("▶ ", c.theme.selection));
                l = l.patch_style(c.theme.selection);
            } else {
                l.spans.insert(0, Span::raw("  "));
            }
            l
        })
        .collect();
    let status = format!("{:?}", row.status).to_lowercase();
    let title = format!(
        " Task {} · {} · {} backup(s), stored {} · line {}/{} ",
        row.task.name,
        status,
        row.backups,
        size(row.stored_bytes),
        sel + 1,
        items.len()
    );
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::TOP)
                .title(title)
                .border_style(c.theme.muted),
        ),
        area,
    );
}
