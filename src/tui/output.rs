//! What comes back from the worker threads (notices, typed results of
//! actions, printed `:` lines), and the scrollable overlay showing a `:`
//! command's whole output.

use super::app::{App, Mode};
use super::render::Ctx;
use super::restore::Stage;
use super::source::Printed;
use crate::core::{Action as CoreAction, CoreError, Outcome};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// Why an action failed, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Exit code of the error (design.md §3).
    pub code: u8,
    /// The core's sentence (what failed, on what, what to do).
    pub message: String,
}

impl From<&CoreError> for Failure {
    fn from(e: &CoreError) -> Failure {
        Failure {
            code: e.exit_code(),
            message: crate::core::bounds::escape_controls(&e.to_string()),
        }
    }
}

/// A message for the console from another thread.
#[derive(Debug, Clone)]
pub enum Note {
    /// A line for the notice line (`true`: an error).
    Notice(String, bool),
    /// An action finished with its typed result.
    Acted {
        /// The action as the console asked for it.
        action: CoreAction,
        /// What it produced, or why it failed.
        result: Result<Outcome, Failure>,
    },
    /// The entries the file browser asked for, indexed on the worker.
    Listed {
        /// The `ListEntries` action as the browser asked for it.
        action: CoreAction,
        /// Its entries by directory.
        listing: Box<super::browse::Listing>,
    },
    /// A `:` line finished.
    Printed {
        /// The line as typed.
        line: String,
        /// The line as it ran (through the daemon `backup run` gets `--detach`).
        ran: String,
        /// What it printed and its exit code.
        out: Printed,
    },
}

/// How the console names an action: the audit log's words for it.
pub fn title(action: &CoreAction) -> String {
    let r = action.requirement();
    if r.target.is_empty() {
        r.action.to_string()
    } else {
        format!("{} {}", r.action, r.target)
    }
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
    /// First column shown (lines wider than the screen scroll sideways).
    pub column: usize,
    /// Whether the command failed.
    pub error: bool,
}

/// Columns Left/Right move the overlay's text.
const STEP: usize = 8;

impl Output {
    /// The overlay for `lines`, at the top left.
    pub fn new(title: String, lines: Vec<String>, error: bool) -> Output {
        Output {
            title,
            lines,
            scroll: 0,
            column: 0,
            error,
        }
    }

    /// Characters in the widest line.
    pub fn widest(&self) -> usize {
        self.lines
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    }

    /// Scrolls on `j`/`k`, arrows, PageUp/PageDown, `g`/`G` (Home/End), and
    /// sideways on Left/Right (`h`/`l`), `0` and `$`, for a text area `width`
    /// columns wide; closes (returns `None`) on Esc, `q` or Enter.
    pub fn key(mut self, key: KeyEvent, width: usize) -> Option<Output> {
        let last = self.lines.len().saturating_sub(1);
        let rightmost = self.widest().saturating_sub(width.max(1));
        self.column = match key.code {
            KeyCode::Right | KeyCode::Char('l') => self.column + STEP,
            KeyCode::Left | KeyCode::Char('h') => self.column.saturating_sub(STEP),
            KeyCode::Char('0') => 0,
            KeyCode::Char('$') => rightmost,
            _ => self.column,
        }
        .min(rightmost);
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

/// The one-line summary of a finished `:` line for the notice line.
pub fn summary(ran: &str, out: &Printed) -> String {
    // A usage error is one line with its "did you mean", not clap's page.
    if out.code == 2 && out.stdout.trim().is_empty() && out.stderr.starts_with("error:") {
        return crate::command::line::usage_line(&out.stderr);
    }
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

/// The notice for a finished action, from its typed outcome; `true` when it
/// reports a problem.
pub fn said(action: &CoreAction, result: &Result<Outcome, Failure>) -> (String, bool) {
    use crate::command::render::size;
    let o = match result {
        Ok(o) => o,
        Err(f) => return (f.message.clone(), true),
    };
    let what = title(action);
    match o {
        Outcome::Verified(reports) => {
            // The verdict in words: "verify of X: ok, …" or "verify of X: FAILED: …".
            let what = format!("verify of {}", action.requirement().target);
            let bad: Vec<_> = reports.iter().filter(|r| !r.ok()).collect();
            let chunks: u64 = reports.iter().map(|r| r.chunks_checked).sum();
            let how = if reports.iter().any(|r| r.read_data) {
                "read"
            } else {
                "checked"
            };
            match bad.first() {
                None => (
                    format!(
                        "{what}: ok, {chunks} chunks {how} on {} cop{}",
                        reports.len(),
                        if reports.len() == 1 { "y" } else { "ies" }
                    ),
                    false,
                ),
                Some(r) => (
                    format!(
                        "{what}: FAILED: {} problem(s) on {}: {}",
                        r.problems.len(),
                        r.destination,
                        r.problems.first().map(String::as_str).unwrap_or("")
                    ),
                    true,
                ),
            }
        }
        Outcome::BackedUp(run) => {
            let b = &run.backup;
            let partial = !b.errors.is_empty() || !run.warnings.is_empty();
            (
                format!(
                    "{what}: backup {} {} {}, {} files ({} read), stored {}{}{}",
                    b.id,
                    b.kind,
                    b.status.as_str(),
                    b.file_count,
                    b.changed_files,
                    size(b.stored_bytes),
                    if b.errors.is_empty() {
                        String::new()
                    } else {
                        format!("; {} entries could not be read", b.errors.len())
                    },
                    run.warnings
                        .iter()
                        .map(|w| format!("; warning: {w}"))
                        .collect::<String>()
                ),
                partial,
            )
        }
        Outcome::Started { job, run, task } => (
            format!("{what}: started job {job} (run {run}, backup of {task}); follow it in Jobs"),
            false,
        ),
        Outcome::TaskPaused { task, paused: true } => (format!("paused task {}", task.name), false),
        Outcome::TaskPaused { task, .. } => (format!("resumed task {}", task.name), false),
        Outcome::Pinned { backup, pinned } => (
            format!(
                "{} backup {}",
                if *pinned { "pinned" } else { "unpinned" },
                backup.id
            ),
            false,
        ),
        Outcome::Deleted(gone) => (
            format!(
                "deleted {} backup(s) ({}), freed {}",
                gone.len(),
                gone.iter()
                    .map(|b| b.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                size(gone.iter().map(|b| b.stored_bytes).sum())
            ),
            false,
        ),
        Outcome::Cancelled { job, task } => (
            format!(
                "cancelling job {job} ({task}); it stops at its next safe point and leaves nothing partial"
            ),
            false,
        ),
        Outcome::Restored {
            backup,
            target,
            report,
        } => (
            format!(
                "restored backup {} into {}: {} files, {}{}",
                backup.id,
                target.display(),
                report.files,
                size(report.bytes),
                if report.errors.is_empty() {
                    String::new()
                } else {
                    format!("; {} entries could not be restored", report.errors.len())
                }
            ),
            !report.errors.is_empty(),
        ),
        Outcome::SnapshotsCleared(rows) => (
            format!(
                "{what}: cleared {} local snapshot(s), freed {}",
                rows.len(),
                size(rows.iter().map(|r| r.exclusive_bytes).sum())
            ),
            false,
        ),
        _ => (format!("{what}: done"), false),
    }
}

impl App {
    /// Takes a message from a worker: a notice, a finished action (its typed
    /// result goes to the notice line or the restore dialog), or a finished
    /// `:` line (with more than one line of output: the output overlay).
    pub fn receive(&mut self, note: Note) {
        let (asked, ran, out) = match note {
            Note::Notice(text, error) => return self.notice(text, error),
            Note::Acted { action, result } => return self.acted(action, result),
            Note::Listed { action, listing } => {
                self.took_listing(&action, Ok(*listing));
                return;
            }
            Note::Printed { line, ran, out } => (line, ran, out),
        };
        self.notice(summary(&ran, &out), out.code != 0);
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
        let usage = out.code == 2 && out.stdout.trim().is_empty();
        // Never over a dialog: a question must not vanish under the output.
        // A usage error already said all it has to on the notice line.
        if shown > 1 && !usage && self.mode == Mode::Normal {
            self.mode = Mode::Output(Box::new(Output::new(ran, lines, out.code != 0)));
        }
    }

    fn acted(&mut self, action: CoreAction, result: Result<Outcome, Failure>) {
        let Some(result) = self.took_entries(&action, result) else {
            return;
        };
        let (text, error) = said(&action, &result);
        self.notice(text, error);
        if self.restoring.as_ref().is_some_and(|(a, _)| *a == action) {
            self.restoring = None;
        }
        if let Mode::Restore(form) = &mut self.mode
            && matches!(&form.stage, Stage::Running { action: a } if *a == action)
        {
            form.finish(&result);
        }
    }
}

/// Draws the output overlay over everything below the header; it clears
/// all it covers, so nothing of the view shows at its edges.
pub(super) fn draw_output(f: &mut Frame<'_>, area: Rect, c: &Ctx<'_>, o: &Output) {
    let r = Rect {
        x: area.x,
        y: area.y + 1,
        width: area.width,
        height: area.height.saturating_sub(1),
    };
    let h = r.height.saturating_sub(2) as usize;
    let w = r.width.saturating_sub(2) as usize;
    let from = o.scroll.min(o.lines.len().saturating_sub(h));
    let to = (from + h).min(o.lines.len());
    let widest = o.widest();
    let col = o.column.min(widest.saturating_sub(w));
    let lines: Vec<Line> = o.lines[from..to]
        .iter()
        .map(|l| {
            Line::styled(
                l.chars().skip(col).take(w).collect::<String>(),
                c.theme.text,
            )
        })
        .collect();
    let sideways = if widest > w {
        format!(" · cols {}-{} of {widest}", col + 1, (col + w).min(widest))
    } else {
        String::new()
    };
    let title = format!(
        " :{} · lines {}-{} of {}{sideways} ",
        o.title,
        from + 1,
        to,
        o.lines.len()
    );
    let keys = if widest > w {
        " j/k PgUp/PgDn · ←/→ 0/$ sideways · Esc closes "
    } else {
        " j/k PgUp/PgDn scroll · Esc closes "
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .title_bottom(Line::from(keys).right_aligned())
                .border_style(if o.error {
                    c.theme.error
                } else {
                    c.theme.accent
                }),
        ),
        r,
    );
}
