//! The console: a ratatui TUI over the same core the CLI uses. Data comes
//! from a `Source` refreshed on a background thread; keys become typed core
//! actions run on worker threads, so drawing never waits for the core, the
//! engine or disk.

mod actions;
pub mod app;
pub mod audit_view;
mod backups_view;
pub mod browse;
mod browse_view;
pub mod cmdline;
mod delete_prompt;
mod dest_view;
pub mod detail;
mod detail_view;
pub mod fit;
pub mod flags;
pub mod history;
pub mod human;
pub mod keymap;
pub mod log;
pub mod notice;
pub mod output;
pub mod render;
pub mod restore;
pub mod schedule_text;
pub mod sort;
pub mod source;
mod tasks_view;
pub mod theme;
pub mod views;

use crate::core::access::{Caller, Role};
use crate::core::home::Home;
use crate::core::{Core, CoreError};
use app::{App, Request};
use keymap::Keymap;
use output::{Failure, Note};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{self, Event, KeyEvent, KeyEventKind};
use source::{LocalSource, RemoteSource, Snapshot, Source};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use theme::Theme;

/// Loads `<home>/keys.toml` if present.
pub fn load_keymap(home: &Home) -> Result<Keymap, CoreError> {
    let path = home.root().join("keys.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => Keymap::with_overrides(&text)
            .map_err(|e| CoreError::Invalid(format!("{}: {e}", path.display()))),
        Err(_) => Ok(Keymap::default()),
    }
}

/// The latest snapshot of a source, refreshed on a background thread while
/// anyone holds the feed. SSH sessions share one feed, so twenty watchers cost
/// one catalog read per refresh, not twenty.
pub struct Feed {
    latest: Mutex<Arc<Snapshot>>,
    error: Mutex<Option<String>>,
}

/// How often the feed re-reads its source.
const REFRESH: Duration = Duration::from_millis(250);

impl Feed {
    /// Takes a first snapshot (so the first frame has data) and starts refreshing.
    pub fn start(source: Arc<dyn Source>) -> Result<Arc<Feed>, CoreError> {
        let first = source.snapshot().map_err(CoreError::Failed)?;
        let feed = Arc::new(Feed {
            latest: Mutex::new(Arc::new(first)),
            error: Mutex::new(None),
        });
        let weak = Arc::downgrade(&feed);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(REFRESH);
                // The thread ends once the last holder drops the feed.
                let Some(feed) = weak.upgrade() else { break };
                let got = source.snapshot();
                match got {
                    Ok(s) => {
                        if let Ok(mut l) = feed.latest.lock() {
                            *l = Arc::new(s);
                        }
                        if let Ok(mut e) = feed.error.lock() {
                            *e = None;
                        }
                    }
                    Err(e) => {
                        if let Ok(mut slot) = feed.error.lock() {
                            *slot = Some(e);
                        }
                    }
                }
            }
        });
        Ok(feed)
    }

    /// The newest snapshot.
    pub fn latest(&self) -> Arc<Snapshot> {
        self.latest.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Why the last refresh failed, if it did.
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }
}

/// Runs one request on a worker thread; its result comes back as a `Note`.
fn run_request(source: Arc<dyn Source>, request: Request, remote: bool, notices: Sender<Note>) {
    std::thread::spawn(move || {
        let note = match request {
            Request::Act(action) => {
                // Through the daemon a backup runs detached: it keeps going in the
                // daemon and the console follows it in the Jobs view and the gauge.
                let sent = match action.clone() {
                    crate::core::Action::RunBackup { task, kind, .. } => {
                        crate::core::Action::RunBackup {
                            task,
                            kind,
                            detach: remote,
                        }
                    }
                    other => other,
                };
                let result = source.perform(sent).map_err(|e| Failure::from(&e));
                browse::note_of(action, result)
            }
            Request::Line(line) => {
                let ran = if remote && line.starts_with("backup run ") && !line.contains("--detach")
                {
                    format!("{line} --detach")
                } else {
                    line.clone()
                };
                // The whole output goes back: App makes the notice and opens the
                // output overlay for a long result.
                let out = source.run_line(&ran);
                Note::Printed { line, ran, out }
            }
        };
        let _ = notices.send(note);
    });
}

/// Opens the console on this terminal; returns the exit code.
pub fn run(home: Home, role: Option<Role>, theme_flag: Option<&str>) -> Result<u8, CoreError> {
    // Check settings before taking the terminal, so errors print normally.
    load_keymap(&home)?;
    Theme::choose(theme_flag, home.root()).map_err(CoreError::Invalid)?;
    let caller = Caller::local(role);
    let sock = crate::daemon::socket_path(&home);
    let remote = std::os::unix::net::UnixStream::connect(&sock).is_ok();
    let source: Arc<dyn Source> = if remote {
        Arc::new(RemoteSource::new(home.clone(), caller.clone()))
    } else {
        Arc::new(LocalSource::new(
            Arc::new(Core::open(home.clone(), "strata tui")?),
            caller.clone(),
        ))
    };
    run_on(source, remote, &home, theme_flag, Vec::new())
}

/// What a console session reacts to besides time passing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A key press.
    Key(KeyEvent),
    /// The terminal is now this many columns and rows.
    Resize(u16, u16),
    /// The screen may be out of step with what was drawn: repaint it all.
    Redraw,
    /// The terminal went away.
    End,
}

/// One console: its data, its settings and where it runs commands. The same
/// value drives the local terminal and each SSH session.
pub struct Console {
    /// Runs commands.
    pub source: Arc<dyn Source>,
    /// Supplies snapshots.
    pub feed: Arc<Feed>,
    /// Whether jobs outlive the console (daemon) or die with it (in-process).
    pub remote: bool,
    /// Keys.
    pub keymap: Keymap,
    /// Colours.
    pub theme: Theme,
    /// Where the data lives, for the header.
    pub place: String,
    /// Host name, for the header.
    pub host: String,
    /// Notices shown when the console opens (e.g. how to connect over SSH).
    pub greeting: Vec<String>,
}

/// This machine's name, for the header.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// The `:` history file of the console's caller (over SSH the key's name,
/// locally the OS user), when the source has a home.
pub fn history_file(c: &Console) -> Option<std::path::PathBuf> {
    let root = c.source.home_root()?;
    Some(history::path(&root, &c.source.caller().name))
}

/// The console's state as a session starts: the caller's role and `:`
/// history, and the greeting on the notice line.
pub fn open_app(c: &Console) -> App {
    let mut app = App::new(c.source.caller().role, c.keymap.clone());
    app.jobs_die_with_console = !c.remote;
    if let Some(file) = history_file(c) {
        app.history = history::load(&file);
    }
    // One notice, so every line of the greeting shows at once.
    if !c.greeting.is_empty() {
        app.notice(c.greeting.join("\n"), false);
    }
    app
}

/// Runs a console on `terminal` until the user quits or input ends. `next`
/// waits up to the given time for input; drawing happens at least 4 times a
/// second whether or not input comes.
pub fn drive<B: Backend>(
    c: &Console,
    terminal: &mut Terminal<B>,
    mut next: impl FnMut(Duration) -> Result<Option<Input>, CoreError>,
) -> Result<(), CoreError> {
    let (ntx, nrx) = channel::<Note>();
    let mut app = open_app(c);
    let history = history_file(c);
    // A history that cannot be written is said once, not on every line.
    let mut history_told = false;
    let mut shown_error: Option<String> = None;
    while !app.quit {
        let snap = c.feed.latest();
        app.follow(&snap);
        let error = c.feed.error();
        if error != shown_error {
            if let Some(e) = &error {
                app.notice(format!("cannot refresh: {e}"), true);
            }
            shown_error = error;
        }
        for note in nrx.try_iter() {
            app.receive(note);
        }
        let ctx = render::Ctx {
            app: &app,
            snap: &snap,
            theme: &c.theme,
            now: chrono::Utc::now(),
            place: &c.place,
            host: &c.host,
        };
        let frame = terminal
            .draw(|f| render::draw(f, &ctx))
            .map_err(|e| CoreError::Failed(format!("cannot draw: {e}")))?;
        app.screen = (frame.area.width, frame.area.height);
        match next(Duration::from_millis(200))? {
            Some(Input::Key(k)) => {
                for request in app.handle_key(k, &snap) {
                    let what = match &request {
                        Request::Act(a) => output::title(a),
                        Request::Line(l) => l.clone(),
                    };
                    app.notice(format!("running: {what}"), false);
                    if let (Request::Line(l), Some(file)) = (&request, &history)
                        && let Err(e) = history::append(file, l)
                        && !history_told
                    {
                        history_told = true;
                        app.notice(e.to_string(), true);
                    }
                    run_request(c.source.clone(), request, c.remote, ntx.clone());
                }
            }
            Some(Input::Resize(w, h)) => terminal
                .resize(ratatui::layout::Rect::new(0, 0, w, h))
                .map_err(|e| CoreError::Failed(format!("cannot resize: {e}")))?,
            Some(Input::Redraw) => terminal
                .clear()
                .map_err(|e| CoreError::Failed(format!("cannot redraw: {e}")))?,
            Some(Input::End) => break,
            None => {}
        }
    }
    Ok(())
}

/// Reads this process's terminal: key presses and resizes.
fn local_input(wait: Duration) -> Result<Option<Input>, CoreError> {
    let fail = |e: std::io::Error| CoreError::Failed(format!("terminal input: {e}"));
    if !event::poll(wait).map_err(fail)? {
        return Ok(None);
    }
    Ok(match event::read().map_err(fail)? {
        Event::Key(k) if k.kind == KeyEventKind::Press => Some(Input::Key(k)),
        Event::Resize(w, h) => Some(Input::Resize(w, h)),
        _ => None,
    })
}

/// Opens the console over an existing source (the demo shares its core).
pub fn run_on(
    source: Arc<dyn Source>,
    remote: bool,
    home: &Home,
    theme_flag: Option<&str>,
    greeting: Vec<String>,
) -> Result<u8, CoreError> {
    let console = Console {
        keymap: load_keymap(home)?,
        theme: Theme::choose(theme_flag, home.root()).map_err(CoreError::Invalid)?,
        feed: Feed::start(source.clone())?,
        place: source.describe(),
        source: source.clone(),
        remote,
        host: host_name(),
        greeting,
    };
    let mut terminal = ratatui::try_init()
        .map_err(|e| CoreError::Failed(format!("cannot use this terminal: {e}")))?;
    let result = drive(&console, &mut terminal, local_input);
    ratatui::restore();
    // Local jobs live in this process: cancel them so they clean up after
    // themselves instead of leaving work for the next start's recovery.
    if !remote {
        source.cancel_all_and_wait();
    }
    result.map(|_| 0)
}
