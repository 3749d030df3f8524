//! The Backups view: every backup (or one task's) with its sizes and flags.
//! Sorted by time, a chain reads top to bottom (its full, then what depends
//! on it, marked `├`/`└`); columns are fitted like the Tasks view's.

use super::fit::{Col, choose, distinct_width, layout, middle_ellipsis, width_of};
use super::render::{Ctx, relative};
use super::sort::SortKey;
use super::views::{draw_rows, table, window};
use crate::command::render::size;
use crate::core::backups::BackupRow;
use crate::model::{BackupKind, BackupStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};

/// Columns in display order: header, optional, claim rank (see `fit::Col`).
const COLUMNS: [(&str, bool, u8); 9] = [
    ("ID", false, 0),
    ("TASK", false, 2),
    ("KIND", false, 6),
    ("STATUS", false, 3),
    ("AGE", false, 4),
    ("LOGICAL", true, 7),
    ("STORED", false, 5),
    ("RECLAIMABLE", true, 8),
    ("FLAGS", false, 1),
];
const TASK: usize = 1;
const KIND: usize = 2;

/// A kind with its place in the chain above it: `full`, `├ incremental`
/// (more of its chain follows), `└ differential` (the chain's last row).
fn kind_forms(r: &BackupRow, next: Option<&BackupRow>, tree: bool) -> Vec<String> {
    let k = r.record.kind;
    if k == BackupKind::Full {
        return vec!["full".into()];
    }
    let short = if k == BackupKind::Incremental {
        "incr"
    } else {
        "diff"
    };
    if !tree {
        return vec![k.as_str().into(), short.into()];
    }
    let more =
        next.is_some_and(|n| n.record.chain == r.record.chain && n.record.kind != BackupKind::Full);
    let mark = if more { "├" } else { "└" };
    vec![format!("{mark} {}", k.as_str()), format!("{mark} {short}")]
}

fn cell_text(c: &Ctx<'_>, r: &BackupRow, col: usize) -> String {
    let b = &r.record;
    match col {
        0 => b.id.clone(),
        TASK => b.task.clone(),
        3 => b.status_text(),
        4 => relative(Some(b.finished), c.now),
        5 => size(b.logical_bytes),
        6 => size(b.stored_bytes),
        7 => size(r.reclaimable_bytes),
        _ => super::flags::backup(r),
    }
}

pub(super) fn draw_backups(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let rows_all = c.app.backups(c.snap);
    let sel = c.app.selection(c.snap);
    let (from, to) = window(sel, rows_all.len(), area.height.saturating_sub(2) as usize);
    let tree = c.app.sort.key == SortKey::Time;
    // The sorted column carries the arrow.
    let header: Vec<String> = COLUMNS
        .iter()
        .map(|&(n, _, _)| c.app.sort.header(n))
        .collect();
    // Widths come from what any row can show, not from every row's text:
    // a catalog of 10,000 backups is drawn without formatting each one.
    let tasks: std::collections::BTreeSet<&str> =
        rows_all.iter().map(|r| r.record.task.as_str()).collect();
    // Room for `complete 1/2` only when some backup lacks a copy.
    let lacking = rows_all.iter().any(|r| {
        let (done, all) = r.record.copy_count();
        done < all
    });
    let cols: Vec<Col> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (_, optional, rank))| {
            let (want, least) = match i {
                // The id is what an operator types next: it never shrinks.
                0 => {
                    let w = super::human::id_width(rows_all.iter().map(|r| r.record.id.as_str()));
                    (w, w)
                }
                TASK => (
                    tasks.iter().map(|t| width_of(t)).max().unwrap_or(0),
                    distinct_width(tasks.iter().copied(), 8),
                ),
                KIND if tree => (14, 6),
                KIND => (12, 4),
                3 if lacking => (13, 13),
                3 => (8, 8),
                4 => (10, 10),
                5 | 6 => (9, 9),
                7 => (11, 11),
                _ => (5, 5),
            };
            let want = want.max(width_of(&header[i]));
            Col {
                want,
                least: least.max(width_of(&header[i])).min(want),
                optional: *optional,
                rank: *rank,
            }
        })
        .collect();
    // The selection mark takes two columns before the first.
    let widths = layout(&cols, (area.width as usize).saturating_sub(2), 1);
    let shown: Vec<(usize, usize)> = widths
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.map(|w| (i, w)))
        .collect();
    let rows: Vec<Row> = (from..to)
        .filter_map(|i| Some((*rows_all.get(i)?, rows_all.get(i + 1).copied())))
        .map(|(r, next)| {
            let b = &r.record;
            let kind = kind_forms(r, next, tree);
            let (done, all) = b.copy_count();
            let cells: Vec<Cell> = shown
                .iter()
                .map(|&(i, w)| match i {
                    TASK => Cell::from(middle_ellipsis(&b.task, w)),
                    KIND => Cell::from(choose(kind.clone(), w)),
                    3 => Cell::from(b.status_text()).style(
                        if b.status == BackupStatus::Partial || done < all {
                            c.theme.warn
                        } else {
                            c.theme.text
                        },
                    ),
                    8 => {
                        let flags = super::flags::backup(r);
                        let damaged = flags.contains('!');
                        Cell::from(flags).style(if damaged {
                            c.theme.error
                        } else {
                            c.theme.muted
                        })
                    }
                    _ => Cell::from(cell_text(c, r, i)),
                })
                .collect();
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
    let head: Vec<String> = shown.iter().map(|&(i, _)| header[i].clone()).collect();
    let constraints: Vec<Constraint> = shown
        .iter()
        .map(|&(_, w)| Constraint::Length(w as u16))
        .collect();
    let t = table(c, title, &head, &constraints, rows);
    draw_rows(f, area, c, t, (!rows_all.is_empty()).then_some(sel - from));
}
