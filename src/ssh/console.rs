//! A console on an SSH client's terminal: the same `tui::drive` loop as the
//! local console, on a fixed viewport sized by the client, fed keys parsed
//! from channel data.

use super::output::{FrameOut, Out};
use super::state::Shared;
use crate::core::access::Caller;
use crate::tui::source::LocalSource;
use crate::tui::theme::Theme;
use crate::tui::{Console, Feed, Input};
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::layout::Rect;
use ratatui::prelude::CrosstermBackend;
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How often a console checks that its key is still authorized.
const KEY_CHECK: Duration = Duration::from_secs(2);

/// What the client told us about its terminal.
#[derive(Debug, Clone)]
pub struct Pty {
    /// `TERM`.
    pub term: String,
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
    /// The client sent `NO_COLOR`.
    pub no_color: bool,
}

/// Everything one console session needs.
pub struct Session {
    /// What the server shares: core, limits, keys, the stop flag.
    pub shared: Arc<Shared>,
    /// The shared snapshot feed.
    pub feed: Arc<Feed>,
    /// Who is connected.
    pub caller: Caller,
    /// The key they logged in with.
    pub key: russh::keys::PublicKey,
    /// The client's terminal.
    pub pty: Pty,
}

/// Runs the session until `q`, the client leaving, or the idle timeout.
pub fn run(s: Session, input: Receiver<Input>, repaint: Sender<Input>, out: mpsc::Sender<Out>) {
    let core = s.shared.core.clone();
    let idle = s.shared.limits.idle;
    let home = core.home().root().to_path_buf();
    let theme = match Theme::for_terminal(&home, &s.pty.term, s.pty.no_color) {
        Ok(t) => t,
        Err(e) => return finish(&out, &format!("strata: {e}\r\n"), 1),
    };
    let keymap = match crate::tui::load_keymap(core.home()) {
        Ok(k) => k,
        Err(e) => return finish(&out, &format!("strata: {e}\r\n"), 1),
    };
    let source = Arc::new(LocalSource::in_daemon(core.clone(), s.caller.clone()));
    let console = Console {
        place: format!("{} via ssh as {}", home.display(), s.caller.name),
        source,
        feed: s.feed,
        remote: true,
        keymap,
        theme,
        host: crate::tui::host_name(),
        greeting: Vec::new(),
    };
    let area = Rect::new(0, 0, s.pty.cols.max(1), s.pty.rows.max(1));
    let backend = CrosstermBackend::new(FrameOut::new(out.clone(), repaint));
    let mut terminal = match Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(area),
        },
    ) {
        Ok(t) => t,
        Err(e) => {
            return finish(
                &out,
                &format!("strata: cannot start the console: {e}\r\n"),
                1,
            );
        }
    };
    let _ = execute!(
        terminal.backend_mut(),
        EnterAlternateScreen,
        Hide,
        Clear(ClearType::All)
    );
    let mut last_key = Instant::now();
    let mut idle_out = false;
    let mut revoked = false;
    let mut last_check = Instant::now();
    let result = crate::tui::drive(&console, &mut terminal, |wait| {
        // A key removed (or given another role) ends its open consoles too,
        // within a few seconds, not only its next login.
        if last_check.elapsed() >= KEY_CHECK {
            last_check = Instant::now();
            let still = s.shared.keys().ok().is_some_and(|k| {
                k.find(&s.key)
                    .is_some_and(|e| e.name == s.caller.name && e.role == s.caller.role)
            });
            if !still {
                revoked = true;
                return Ok(Some(Input::End));
            }
        }
        match input.recv_timeout(wait) {
            Ok(i) => {
                if matches!(i, Input::Key(_)) {
                    last_key = Instant::now();
                }
                Ok(Some(i))
            }
            Err(RecvTimeoutError::Timeout) if last_key.elapsed() >= idle => {
                idle_out = true;
                Ok(Some(Input::End))
            }
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Ok(Some(Input::End)),
        }
    });
    let _ = execute!(terminal.backend_mut(), Show, LeaveAlternateScreen);
    let _ = terminal.backend_mut().flush();
    let (text, code) = match (&result, idle_out) {
        (Err(e), _) => (format!("strata: the console stopped: {e}\r\n"), 1),
        (Ok(()), _) if revoked => (
            "strata: this key was removed from authorized_keys or its role changed; session closed\r\n"
                .to_string(),
            1,
        ),
        (Ok(()), true) => (
            format!(
                "strata: no key pressed for {}; session closed (idle_timeout in strata.toml)\r\n",
                human(idle)
            ),
            0,
        ),
        (Ok(()), false) if s.shared.stopping.load(std::sync::atomic::Ordering::SeqCst) => (
            "strata: the server is stopping; session closed\r\n".to_string(),
            0,
        ),
        (Ok(()), false) => (String::new(), 0),
    };
    drop(terminal);
    finish(&out, &text, code);
}

fn finish(out: &mpsc::Sender<Out>, text: &str, code: u32) {
    if !text.is_empty() {
        let _ = out.blocking_send(Out::Data(text.as_bytes().to_vec()));
    }
    let _ = out.blocking_send(Out::Exit(code));
}

fn human(d: Duration) -> String {
    match d.as_secs() {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}
