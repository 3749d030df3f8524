//! The console: a ratatui TUI over the same core the CLI uses. Data comes
//! from a `Source` refreshed on a background thread and commands run on
//! worker threads, so drawing never waits for the core, the engine or disk.

mod actions;
pub mod app;
pub mod detail;
mod detail_view;
pub mod human;
pub mod keymap;
pub mod log;
pub mod output;
pub mod render;
pub mod restore;
pub mod sort;
pub mod source;
pub mod theme;
pub mod views;

use crate::core::access::{Caller, Role};
use crate::core::home::Home;
use crate::core::{Core, CoreError};
use app::App;
use keymap::Keymap;
use output::Note;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
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

/// Shared latest snapshot.
type Latest = Arc<Mutex<Arc<Snapshot>>>;

fn refresher(
    source: Arc<dyn Source>,
    latest: Latest,
    notices: Sender<Note>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut last_error = String::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        match source.snapshot() {
            Ok(s) => {
                if let Ok(mut l) = latest.lock() {
                    *l = Arc::new(s);
                }
                last_error.clear();
            }
            Err(e) if e != last_error => {
                let _ = notices.send(Note::Notice(format!("cannot refresh: {e}"), true));
                last_error = e;
            }
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn run_command(source: Arc<dyn Source>, line: String, remote: bool, notices: Sender<Note>) {
    std::thread::spawn(move || {
        // Through the daemon a backup runs detached: it keeps going in the daemon
        // and the console follows it in the Jobs view and the task's gauge.
        let ran = if remote && line.starts_with("backup run ") && !line.contains("--detach") {
            format!("{line} --detach")
        } else {
            line.clone()
        };
        // The whole output goes back: App makes the notice, feeds the restore
        // dialog and opens the output overlay for a long `:` result.
        let out = source.execute(&ran);
        let _ = notices.send(Note::Done {
            asked: line,
            ran,
            out,
        });
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
    run_on(source, remote, &home, theme_flag)
}

/// Opens the console over an existing source (the demo shares its core).
pub fn run_on(
    source: Arc<dyn Source>,
    remote: bool,
    home: &Home,
    theme_flag: Option<&str>,
) -> Result<u8, CoreError> {
    let keymap = load_keymap(home)?;
    let theme = Theme::choose(theme_flag, home.root()).map_err(CoreError::Invalid)?;
    let caller = source.caller().clone();
    let first = source.snapshot().map_err(CoreError::Failed)?;
    let latest: Latest = Arc::new(Mutex::new(Arc::new(first)));
    let (ntx, nrx) = channel::<Note>();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bg = {
        let (s, l, n, st) = (source.clone(), latest.clone(), ntx.clone(), stop.clone());
        std::thread::spawn(move || refresher(s, l, n, st))
    };
    let mut app = App::new(caller.role, keymap);
    app.jobs_die_with_console = !remote;
    let place = source.describe();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let mut terminal = ratatui::try_init()
        .map_err(|e| CoreError::Failed(format!("cannot use this terminal: {e}")))?;
    let result = (|| -> Result<(), CoreError> {
        while !app.quit {
            let snap = latest.lock().map(|l| l.clone()).unwrap_or_default();
            app.follow(&snap);
            for note in nrx.try_iter() {
                app.receive(note);
            }
            let ctx = render::Ctx {
                app: &app,
                snap: &snap,
                theme: &theme,
                now: chrono::Utc::now(),
                place: &place,
                host: &host,
            };
            terminal
                .draw(|f| render::draw(f, &ctx))
                .map_err(|e| CoreError::Failed(format!("cannot draw: {e}")))?;
            // A short poll keeps clocks and gauges moving at least 4 times a second.
            if event::poll(Duration::from_millis(200))
                .map_err(|e| CoreError::Failed(format!("terminal input: {e}")))?
            {
                match event::read()
                    .map_err(|e| CoreError::Failed(format!("terminal input: {e}")))?
                {
                    Event::Key(k) if k.kind == KeyEventKind::Press => {
                        for line in app.handle_key(k, &snap) {
                            app.notice(format!("running: {line}"), false);
                            run_command(source.clone(), line, remote, ntx.clone());
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    })();
    ratatui::restore();
    // Local jobs live in this process: cancel them so they clean up after
    // themselves instead of leaving work for the next start's recovery.
    if !remote {
        source.cancel_all_and_wait();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = bg.join();
    result.map(|_| 0)
}
