//! Ctrl-C and SIGTERM during a long command: the first asks the job to stop at
//! its next safe point (it then removes its partial data itself); a second one
//! exits at once, leaving cleanup to the next start's recovery.

use crate::progress::Progress;
use signal_hook::SigId;
use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Forwards signals to a job's cancel flag until dropped.
pub struct CancelOnSignal {
    ids: Vec<SigId>,
    done: Arc<AtomicBool>,
    watcher: Option<JoinHandle<()>>,
}

impl CancelOnSignal {
    /// Starts forwarding SIGINT/SIGTERM to `progress`.
    pub fn install(progress: Arc<Progress>) -> CancelOnSignal {
        let flag = Arc::new(AtomicBool::new(false));
        let mut ids = Vec::new();
        for sig in [SIGINT, SIGTERM] {
            // Registered first, so a second signal (flag already set) exits.
            if let Ok(id) = signal_hook::flag::register_conditional_shutdown(sig, 130, flag.clone())
            {
                ids.push(id);
            }
            if let Ok(id) = signal_hook::flag::register(sig, flag.clone()) {
                ids.push(id);
            }
        }
        let done = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (flag, done) = (flag.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    if flag.load(Ordering::Relaxed) {
                        progress.cancel.store(true, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        CancelOnSignal {
            ids,
            done,
            watcher: Some(watcher),
        }
    }
}

impl Drop for CancelOnSignal {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        self.done.store(true, Ordering::Relaxed);
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }
}
