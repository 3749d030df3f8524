//! Progress display for long work: a bar on a terminal, nothing otherwise
//! (the caller prints one summary line at the end).

use crate::progress::{Phase, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A bar that follows a `Progress` until dropped.
pub struct Bar {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Bar {
    /// Starts a bar on stderr if it is a terminal and output is not JSON.
    pub fn start(progress: Arc<Progress>, json: bool) -> Bar {
        let stop = Arc::new(AtomicBool::new(false));
        if json || !std::io::stderr().is_terminal() {
            return Bar { stop, handle: None };
        }
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(8));
            let style = ProgressStyle::with_template(
                "{prefix:>8} [{bar:30}] {bytes}/{total_bytes} {msg} {bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            pb.set_style(style);
            while !flag.load(Ordering::Relaxed) {
                let phase = progress.phase();
                pb.set_prefix(phase.as_str());
                pb.set_length(Progress::get(&progress.bytes_total).max(1));
                pb.set_position(Progress::get(&progress.bytes_done));
                let files = match phase {
                    Phase::Scan => "scanning…".to_string(),
                    _ => format!(
                        "{}/{} files",
                        Progress::get(&progress.files_done),
                        Progress::get(&progress.files_total)
                    ),
                };
                pb.set_message(files);
                std::thread::sleep(Duration::from_millis(100));
            }
            pb.finish_and_clear();
        });
        Bar {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
