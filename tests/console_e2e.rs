//! The console end to end: the real `strata tui` on a real terminal (a tmux
//! pane), driven by keys and read back from the screen. It checks the views,
//! backup-now, re-layout on resize, the too-small screen, and that quitting
//! restores the terminal (normal screen, cooked mode with echo).
//!
//! tmux runs on its own socket (`tmux -L <unique name>`, no config file), so the
//! test never touches a user's tmux server, and a guard kills that server even
//! when an assertion fails. Without tmux the test prints a SKIPPED line, except
//! under CI (`CI` set), where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

use std::io::Write;
use std::path::Path;
use std::process::Command;

mod common;

use common::tmux::{Tmux, have_tmux};

fn strata(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run strata")
}

/// `strata --home HOME ARGS… --json`, parsed.
fn json(home: &Path, args: &[&str]) -> serde_json::Value {
    let out = strata(home, &[args, &["--json"]].concat());
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
}

/// Ids of `backup list --json`.
fn backup_ids(home: &Path) -> Vec<String> {
    json(home, &["backup", "list"])
        .as_array()
        .expect("an array of backups")
        .iter()
        .map(|b| b["id"].as_str().expect("id").to_string())
        .collect()
}

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

fn lines(screen: &str) -> Vec<&str> {
    screen.lines().collect()
}

/// The selected row (the one marked `▶`), or "".
fn selected(screen: &str) -> &str {
    screen.lines().find(|l| l.starts_with('▶')).unwrap_or("")
}

/// The console's header line: ` strata · HOST · ROLE · HOME` on the left (cut
/// on narrow terminals), the job counts and the clock right-aligned.
fn has_header(screen: &str) -> bool {
    lines(screen)
        .first()
        .is_some_and(|l| l.starts_with(" strata · ") && l.trim_end().ends_with(" UTC"))
}

/// The footer (the keymap's hints, `j down` among them: the view's own keys
/// come first, and at 80 columns the Backups view's fill it before `q quit`)
/// on the pane's last line.
fn has_footer(screen: &str, height: usize) -> bool {
    let l = lines(screen);
    l.len() == height && l[height - 1].contains("j down")
}

/// Skips (true) without tmux, loudly; under CI a missing tmux fails instead.
fn skip_without_tmux(test: &str) -> bool {
    if have_tmux() {
        return false;
    }
    assert!(
        std::env::var("CI").is_err(),
        "tmux is required under CI for {test}"
    );
    // Straight to stderr, past the test harness's capture, so it is seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: tmux not installed; {test} did not run"
    );
    true
}

#[test]
fn console_views_backup_now_resize_and_quit_on_a_real_terminal() {
    if skip_without_tmux("the console end-to-end test") {
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("strata-e2e-")
        .tempdir()
        .unwrap();
    let home = tmp.path().join("home");
    let demo = strata(&home, &["demo"]);
    assert!(
        demo.status.success(),
        "demo: {}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let before = backup_ids(&home);
    assert!(
        before.len() >= 2,
        "demo takes the first backups: {before:?}"
    );
    let tasks = json(&home, &["task", "list"]);
    let ntasks = tasks.as_array().expect("an array of tasks").len();
    assert!(
        tasks
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "demo-files"),
        "{tasks}"
    );
    let tasks_title = format!("Tasks ({ntasks})");
    let backups_title = |n: usize| format!("Backups ({n})");

    let tmux = Tmux::new();
    let cmd = format!(
        "{} --home {} tui; echo EXITED:$?; sleep 60",
        quote(Path::new(env!("CARGO_BIN_EXE_strata"))),
        quote(&home)
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "120",
        "-y",
        "30",
        &cmd,
    ]);

    // Tasks view, the home of the console.
    let s = tmux.wait_for("the Tasks view with demo-files", |s| {
        s.contains(&tasks_title) && s.contains("demo-files") && has_header(s)
    });
    assert!(
        lines(&s)[0].contains(" · admin"),
        "the role in the header:\n{s}"
    );
    assert!(has_footer(&s, 30), "footer on line 30:\n{s}");
    assert_eq!(
        tmux.var("alternate_on"),
        "1",
        "the console uses the alternate screen"
    );

    // 2: the Backups view lists the backups of the catalog.
    tmux.keys(&["2"]);
    tmux.wait_for("the Backups view with the demo's backups", |s| {
        s.contains(&backups_title(before.len())) && before.iter().all(|id| s.contains(id.as_str()))
    });

    // 1, b, i: an incremental backup of the selected task, from the Tasks view.
    tmux.keys(&["1"]);
    let mut s = tmux.wait_for("the Tasks view again", |s| s.contains(&tasks_title));
    // Move the selection (▶) to demo-files, one key at a time.
    for _ in 0..ntasks {
        if selected(&s).contains("demo-files") {
            break;
        }
        let was = selected(&s).to_string();
        tmux.keys(&["j"]);
        s = tmux.wait_for("the selection to move down", |s| selected(s) != was);
    }
    assert!(selected(&s).contains("demo-files"), "{s}");
    tmux.keys(&["b"]);
    tmux.wait_for("the backup-now question", |s| {
        s.contains("Back up demo-files now") && s.contains("i = incremental")
    });
    tmux.keys(&["i"]);
    let s = tmux.wait_for("the notice of the finished backup", |s| {
        s.contains("✓ backup run demo-files: backup ") && s.contains("incremental complete")
    });
    assert!(!s.contains("Back up demo-files now"), "dialog closed:\n{s}");
    // Enter opens the task's detail: its chain tree and the run just made.
    tmux.keys(&["Enter"]);
    tmux.wait_for("the detail view of demo-files", |s| {
        s.contains("Task demo-files")
            && s.contains("Chains and retention")
            && s.contains("└ incremental")
            && s.contains("✓ reachable")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the Tasks view after Esc", |s| s.contains(&tasks_title));
    tmux.keys(&["2"]);
    let more = backups_title(before.len() + 1);
    tmux.wait_for("one more backup in the Backups view", |s| {
        s.contains(&more) && before.iter().all(|id| s.contains(id.as_str()))
    });

    // A smaller terminal: the same screen laid out again in 80x24.
    tmux.resize(80, 24);
    let s = tmux.wait_for("the console re-laid out at 80x24", |s| {
        has_header(s) && has_footer(s, 24) && s.contains(&more)
    });
    assert_eq!(tmux.var("pane_width"), "80");
    assert_eq!(tmux.var("pane_height"), "24");
    for l in lines(&s) {
        assert!(l.chars().count() <= 80, "line wider than the pane: {l:?}");
    }
    // Ids are what an operator types next: they stay whole on 80 columns.
    for id in &before {
        assert!(s.contains(id.as_str()), "id {id} cut at 80 columns:\n{s}");
    }

    // Below the minimum (60x12): a message instead of a broken layout.
    tmux.resize(50, 10);
    let s = tmux.wait_for("the terminal-too-small message", |s| {
        s.contains("terminal too small")
    });
    assert!(s.contains("have 50x10") && s.contains("need 60x12"), "{s}");
    assert!(!has_header(&s), "no console header below the minimum:\n{s}");

    // Back to the original size: the full console again.
    tmux.resize(120, 30);
    tmux.wait_for("the console back at 120x30", |s| {
        has_header(s) && has_footer(s, 30) && s.contains(&more)
    });

    // q: the console leaves, exit 0, and the terminal is as it was.
    tmux.keys(&["q"]);
    let s = tmux.wait_for("the console's exit status", |s| s.contains("EXITED:"));
    assert!(s.contains("EXITED:0"), "exit status:\n{s}");
    assert!(
        !s.contains("strata · ") && !s.contains("Tasks") && !s.contains("q quit"),
        "the console left something on the normal screen:\n{s}"
    );
    assert_eq!(
        tmux.var("alternate_on"),
        "0",
        "still on the alternate screen"
    );
    assert_eq!(tmux.var("cursor_flag"), "1", "the cursor is hidden");
    // Cooked mode with echo: what is typed now (while `sleep` runs) is echoed
    // by the terminal itself; in raw mode it would not be.
    tmux.keys(&["-l", "typed-after-exit"]);
    tmux.wait_for("the terminal echoing typed text (not in raw mode)", |s| {
        s.contains("typed-after-exit")
    });
    drop(tmux);

    // The console held the catalog; now it is free, with one more backup.
    let after = backup_ids(&home);
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    let new: Vec<&String> = after.iter().filter(|id| !before.contains(id)).collect();
    assert_eq!(
        new.len(),
        1,
        "the old backups are unchanged: {before:?} -> {after:?}"
    );
    let shown = json(&home, &["backup", "show", new[0]]);
    assert_eq!(shown["kind"], "incremental", "{shown}");
    assert_eq!(shown["task"], "demo-files", "{shown}");
}

/// The demo's tour serves the control socket: a second terminal's command
/// talks to it instead of finding the catalog locked.
#[test]
fn the_demo_tour_answers_a_second_terminal() {
    if skip_without_tmux("the demo end-to-end test") {
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("strata-e2e-demo-")
        .tempdir()
        .unwrap();
    let home = tmp.path().join("home");
    let tmux = Tmux::new();
    let cmd = format!(
        "{} --home {} demo; echo EXITED:$?; sleep 60",
        quote(Path::new(env!("CARGO_BIN_EXE_strata"))),
        quote(&home)
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "160",
        "-y",
        "40",
        &cmd,
    ]);
    tmux.wait_for("the tour's console", |s| {
        s.contains("demo-files") && has_header(s)
    });
    // While the tour runs, the command line works from outside.
    let tasks = json(&home, &["task", "list"]);
    assert!(
        tasks
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "demo-files"),
        "{tasks}"
    );
    let out = strata(&home, &["backup", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmux.keys(&["q"]);
    tmux.wait_for("the tour to end", |s| s.contains("EXITED:0"));
    assert!(
        !home.join("strata.sock").exists(),
        "the socket is removed when the tour ends"
    );
}
