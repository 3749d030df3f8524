//! The notice line: the newest notice, wrapped onto up to `ROWS` rows, so
//! a long one (a command to copy, an error with its fix) is never cut off at
//! the screen's edge. One longer still ends in `…`, and the footer names the
//! key of the Log view, which shows it whole.

use super::app::App;
use super::keymap::Action;
use super::render::Ctx;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

/// Most rows a notice takes.
pub const ROWS: usize = 3;

/// `text` wrapped at spaces into rows of at most `width` characters; a word
/// longer than a row is split. Each line of `text` starts a new row.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.lines() {
        let mut row = String::new();
        let mut len = 0usize;
        for word in para.split(' ') {
            let mut chars: Vec<char> = word.chars().collect();
            if len > 0 && len + 1 + chars.len() > width {
                out.push(std::mem::take(&mut row));
                len = 0;
            }
            if len > 0 {
                row.push(' ');
                len += 1;
            }
            while len + chars.len() > width {
                let room = width - len;
                row.extend(chars.drain(..room));
                out.push(std::mem::take(&mut row));
                len = 0;
            }
            len += chars.len();
            row.extend(chars);
        }
        out.push(row);
    }
    out
}

/// The newest notice as drawn at `width`: its rows (mark first, the rest
/// indented under the text) and whether it had to be cut.
pub fn shown(app: &App, width: u16) -> (Vec<String>, bool) {
    let Some(n) = app.notices.back() else {
        return (Vec::new(), false);
    };
    let width = usize::from(width);
    let body = wrap(&n.text, width.saturating_sub(2));
    let cut = body.len() > ROWS;
    let mut rows: Vec<String> = body
        .into_iter()
        .take(ROWS)
        .enumerate()
        .map(|(i, r)| {
            let lead = match (i, n.error) {
                (0, true) => "✗ ",
                (0, false) => "✓ ",
                _ => "  ",
            };
            format!("{lead}{r}")
        })
        .collect();
    if cut && let Some(last) = rows.last_mut() {
        let keep = width.saturating_sub(1);
        *last = last.chars().take(keep).collect::<String>() + "…";
    }
    (rows, cut)
}

/// Rows the notice area takes at `width` (at least one, so the layout does
/// not jump when the first notice arrives).
pub fn rows(app: &App, width: u16) -> u16 {
    shown(app, width).0.len().clamp(1, ROWS) as u16
}

/// The footer's hint for a cut notice: the key that shows it whole.
pub fn cut_hint(app: &App, width: u16) -> Option<String> {
    if !shown(app, width).1 {
        return None;
    }
    let key = app
        .keymap
        .bindings
        .iter()
        .find(|b| b.action == Action::ViewLog)
        .and_then(|b| b.keys.first())?;
    Some(format!("{key} whole notice  "))
}

/// Draws the newest notice.
pub(super) fn draw_notice(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>) {
    let Some(n) = c.app.notices.back() else {
        return;
    };
    let style = if n.error { c.theme.error } else { c.theme.ok };
    let lines: Vec<Line> = shown(c.app, area.width)
        .0
        .into_iter()
        .map(|r| Line::styled(r, style))
        .collect();
    f.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_fit_and_keep_every_word() {
        let text = "from another terminal: ssh -t -i /tmp/strata-demo/demo_ed25519 -p 2222 -o StrictHostKeyChecking=accept-new demo@127.0.0.1";
        for w in [10, 20, 40, 78] {
            let rows = wrap(text, w);
            assert!(rows.iter().all(|r| r.chars().count() <= w), "{w}: {rows:?}");
            assert_eq!(rows.join(" ").replace(' ', ""), text.replace(' ', ""));
        }
        assert_eq!(wrap("a\nb c", 10), ["a", "b c"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    }
}
