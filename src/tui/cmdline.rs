//! The `:` command line: editing, the history on Up/Down, Tab completion
//! (words from the one grammar, names from the snapshot), and a typo's
//! one-line error before anything runs. Pure like the rest of `App`: the
//! front end loads and appends the history file.

use super::app::{App, Mode, Request};
use super::render::Ctx;
use super::source::Snapshot;
use crate::command::complete::{self, Names};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// A Tab completion with several candidates: Tab again puts the next one
/// on the line, BackTab the previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tabbing {
    /// The line before the word being completed.
    pub base: String,
    /// Candidates, sorted.
    pub options: Vec<String>,
    /// The candidate on the line now.
    pub at: usize,
}

/// The names of a kind in the snapshot.
fn names(s: &Snapshot, kind: Option<Names>) -> Vec<String> {
    match kind {
        None => Vec::new(),
        Some(Names::Tasks) => s.tasks.iter().map(|t| t.task.name.clone()).collect(),
        Some(Names::Destinations) => s
            .destinations
            .iter()
            .map(|d| d.config.name.clone())
            .collect(),
        Some(Names::Backups) => s.backups.iter().map(|b| b.record.id.clone()).collect(),
    }
}

impl App {
    /// One key on the `:` line.
    pub(super) fn command_key(
        &mut self,
        mut text: String,
        key: KeyEvent,
        s: &Snapshot,
    ) -> Vec<Request> {
        if !matches!(key.code, KeyCode::Tab | KeyCode::BackTab) {
            self.tabbing = None;
        }
        match key.code {
            KeyCode::Enter => {
                self.recall = None;
                let line = text.trim().to_string();
                if line.is_empty() {
                    return Vec::new();
                }
                // A typo is told on the notice line and the line stays to be fixed.
                if let Err(e) = crate::command::line::check_line(&line) {
                    self.notice(e, true);
                    self.mode = Mode::Command(text);
                    return Vec::new();
                }
                if super::history::keeps(&line) && self.history.last() != Some(&line) {
                    self.history.push(line.clone());
                    let over = self.history.len().saturating_sub(super::history::KEPT);
                    self.history.drain(..over);
                }
                self.typed.push(line.clone());
                return vec![Request::Line(line)];
            }
            KeyCode::Esc => {
                self.recall = None;
                return Vec::new();
            }
            KeyCode::Up => text = self.recall_older(text),
            KeyCode::Down => text = self.recall_newer(text),
            KeyCode::Tab => text = self.complete(text, s, true),
            KeyCode::BackTab => text = self.complete(text, s, false),
            KeyCode::Backspace => {
                text.pop();
                self.recall = None;
            }
            KeyCode::Char(c) => {
                text.push(c);
                self.recall = None;
            }
            _ => {}
        }
        self.mode = Mode::Command(text);
        Vec::new()
    }

    fn recall_older(&mut self, text: String) -> String {
        let Some(newest) = self.history.len().checked_sub(1) else {
            return text;
        };
        let (at, draft) = match self.recall.take() {
            None => (newest, text),
            Some((at, draft)) => (at.saturating_sub(1), draft),
        };
        let line = self.history.get(at).cloned().unwrap_or_default();
        self.recall = Some((at, draft));
        line
    }

    fn recall_newer(&mut self, text: String) -> String {
        match self.recall.take() {
            None => text,
            Some((at, draft)) => match self.history.get(at + 1) {
                // Past the newest: back to what was typed before Up.
                None => draft,
                Some(line) => {
                    let line = line.clone();
                    self.recall = Some((at + 1, draft));
                    line
                }
            },
        }
    }

    fn complete(&mut self, text: String, s: &Snapshot, forward: bool) -> String {
        if let Some(t) = &mut self.tabbing
            && t.options
                .get(t.at)
                .is_some_and(|o| text == format!("{}{o}", t.base))
        {
            let n = t.options.len();
            t.at = if forward {
                (t.at + 1) % n
            } else {
                (t.at + n - 1) % n
            };
            return format!("{}{}", t.base, t.options.get(t.at).map_or("", |o| o));
        }
        self.tabbing = None;
        let (done, partial) = complete::split(&text);
        let wanted = complete::wanted(&done);
        let mut base = text[..text.len() - partial.len()].to_string();
        let mut prefix = partial.as_str();
        // `--dest a,b`: complete the name after the last comma.
        if wanted.names == Some(Names::Destinations)
            && let Some((head, tail)) = partial.rsplit_once(',')
        {
            base.push_str(head);
            base.push(',');
            prefix = tail;
        }
        // Flags only when a dash asks for them, so names are not buried.
        let flags = prefix.starts_with('-');
        let mut options: Vec<String> = wanted
            .words
            .into_iter()
            .filter(|w| w.starts_with('-') == flags)
            .chain(names(s, wanted.names))
            .filter(|w| w.starts_with(prefix))
            .collect();
        options.sort();
        options.dedup();
        match options.as_slice() {
            [] => text,
            [one] => format!("{base}{one} "),
            [first, ..] => {
                let line = format!("{base}{first}");
                self.tabbing = Some(Tabbing {
                    base,
                    options,
                    at: 0,
                });
                line
            }
        }
    }
}

/// Draws the `:` line in the footer, with the candidates of a Tab cycle.
pub(super) fn draw_line(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>, text: &str) {
    let mut spans = vec![Span::styled(format!(":{text}█"), c.theme.accent)];
    if let Some(t) = &c.app.tabbing {
        spans.push(Span::styled(
            format!("  Tab {}/{}:", t.at + 1, t.options.len()),
            c.theme.muted,
        ));
        for (i, o) in t.options.iter().enumerate().skip(t.at) {
            let style = if i == t.at {
                c.theme.selection
            } else {
                c.theme.muted
            };
            spans.push(Span::raw(" "));
            spans.push(Span::styled(o.clone(), style));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
