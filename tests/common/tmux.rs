//! A private tmux server for end-to-end terminal tests: `tmux -L <unique
//! name> -f /dev/null`, so a test never touches a user's tmux, and dropping it
//! kills the server even when an assertion fails. The pane is named `e2e`.

use std::process::Command;
use std::time::{Duration, Instant};

/// Time allowed for each expected screen.
pub const DEADLINE: Duration = Duration::from_secs(20);
/// Pause between two looks at the pane.
pub const POLL: Duration = Duration::from_millis(50);

/// Whether tmux is installed.
pub fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A private tmux server; dropping it kills the server and everything in it.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn new() -> Tmux {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Tmux {
            socket: format!("strata-e2e-{}-{nanos:08x}", std::process::id()),
        }
    }

    /// Runs `tmux -L SOCKET -f /dev/null ARGS…` and returns its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen of the pane, as text.
    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }

    /// A pane variable (`pane_width`, `alternate_on`, …).
    pub fn var(&self, name: &str) -> String {
        self.run(&[
            "display-message",
            "-p",
            "-t",
            "e2e",
            &format!("#{{{name}}}"),
        ])
        .trim()
        .to_string()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    pub fn resize(&self, w: u16, h: u16) {
        self.run(&[
            "resize-window",
            "-t",
            "e2e",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
        ]);
    }

    /// Polls the screen until `ok` holds; panics with the last screen after the deadline.
    pub fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if start.elapsed() > DEADLINE {
                panic!("timed out after {DEADLINE:?} waiting for {what}; the pane shows:\n{s}");
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let tmux = |args: &[&str]| {
            Command::new("tmux")
                .args(["-L", &self.socket])
                .args(args)
                .env_remove("TMUX")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let socket = tmux(&["display-message", "-p", "#{socket_path}"]);
        tmux(&["kill-server"]);
        // tmux leaves its socket file behind; it is ours, so remove it too.
        if let Some(path) = socket.filter(|p| p.ends_with(&self.socket)) {
            let _ = std::fs::remove_file(path);
        }
    }
}
