//! What comes back from the worker threads (notices and finished commands),
//! and the scrollable overlay showing a `:` command's whole output.

use super::app::{App, Mode};
use super::render::Ctx;
use super::restore::Stage;
use super::source::Outcome;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// A message for the console from another thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A line for the notice line (`true`: an error).
    Notice(String, bool),
    /// A command finished.
    Done {
        /// The line as the console asked for it.
        asked: String,
        /// The line as it ran (through the daemon `backup run` gets `--detach`).
        ran: String,
        /// What it printed and its exit code.
        out: Outcome,
    },
}

/// The whole output of a `:` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The command line.
    pub title: String,
    /// Its output lines (stdout, then stderr).
    pub lines: Vec<String>,
    /// First line shown.
    pub scroll: usize,
    /// Whether the command failed.
    pub error: bool,
}

impl Output {
    /// Scrolls on `j`/`k`, arrows, PageUp/PageDown, `g`/`G`; closes (returns
    /// `None`) on Esc, `q` or Enter.
    pub fn key(mut self, key: KeyEvent) -> Option<Output> {
        let last = self.lines.len().saturating_sub(1);
        self.scroll = match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => return None,
            KeyCode::Char('j') | KeyCode::Down => self.scroll + 1,
            KeyCode::Char('k') | KeyCode::Up => self.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll + 10,
            KeyCode::PageUp => self.scroll.saturating_sub(10),
            KeyCode::Char('g') | KeyCode::Home => 0,
            KeyCode::Char('G') | KeyCode::End => last,
            _ => self.scroll,
        }
        .min(last);
        Some(self)
    }
}

/// The one-line summary of a finished command for the notice line.
pub fn summary(ran: &str, out: &Outcome) -> String {
    if out.code == 0 {
        let first = out
            .stdout
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("done");
        format!("{ran}: {first}")
    } else {
        out.stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim_start_matches("strata: ").to_string())
            .unwrap_or_else(|| format!("{ran} failed (exit {})", out.code))
    }
}

impl App {
    /// Takes a message from a worker: a notice, or a finished command whose
    /// result goes to the notice line, the restore dialog, or (a `:` command
    /// with more than one line of output) the output overlay.
    pub fn receive(&mut self, note: Note) {
        let (asked, ran, out) = match note {
            Note::Notice(text, error) => return self.notice(text, error),
            Note::Done { asked, ran, out } => (asked, ran, out),
        };
        self.notice(summary(&ran, &out), out.code != 0);
        if self.restoring.as_ref().is_some_and(|(l, _)| *l == asked) {
            self.restoring = None;
        }
        if let Mode::Restore(form) = &mut self.mode
            && matches!(&form.stage, Stage::Running { line } if *line == asked)
        {
            form.finish(out.code, &out.stdout, &out.stderr);
            return;
        }
        let Some(i) = self.typed.iter().position(|l| *l == asked) else {
            return;
        };
        self.typed.remove(i);
        let lines: Vec<String> = out
            .stdout
            .lines()
            .chain(out.stderr.lines())
            .map(|l| l.trim_end().to_string())
            .collect();
        let shown = lines.iter().filter(|l| !l.trim().is_empty()).count();
        // Never over a dialog: a question must not vanish under the output.
        if shown > 1 && self.mode == Mode::Normal {
            self.mode = Mode::Output(Box::new(Output {
                title: ran,
                lines,
                scroll: 0,
                error: out.code != 0,
            }));
        }
    }
}

/// Draws the output overlay over the view.
pub(super) fn draw_output(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>, o: &Output) {
    let r = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    let h = r.height.saturating_sub(2) as usize;
    let from = o.scroll.min(o.lines.len().saturating_sub(h));
    let to = (from + h).min(o.lines.len());
    let lines: Vec<Line> = o.lines[from..to]
        .iter()
        .map(|l| Line::styled(l.clone(), c.theme.text))
        .collect();
    let title = format!(
        " :{} · lines {}-{} of {} · j/k PgUp/PgDn scroll · Esc closes ",
        o.title,
        from + 1,
        to,
        o.lines.len()
    );
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(if o.error {
                    c.theme.error
                } else {
                    c.theme.accent
                }),
        ),
        r,
    );
}
