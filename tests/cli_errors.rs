//! Operator mistakes: every refusal exits with its documented code (2 usage,
//! 3 not found, 4 refused, 5 busy), says what is wrong in one line naming the
//! thing, and changes nothing. Every test drives the real `strata` binary in its
//! own temporary home.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod faultkit;

use faultkit::{Out, World, path_str, random_file, snapshot, text_file};
use serde_json::Value;
use std::collections::BTreeSet;

/// Asserts `o` failed with `code` and one stderr line that mentions every needle.
fn one_line(o: &Out, code: i32, needles: &[&str], what: &str) {
    o.code_is(code, what);
    let lines: Vec<&str> = o.stderr.trim_end().lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{what}: stderr must be one line, got:\n{}",
        o.stderr
    );
    for n in needles {
        assert!(
            lines[0].contains(n),
            "{what}: stderr must mention {n:?}: {}",
            lines[0]
        );
    }
    assert!(o.stdout.is_empty(), "{what}: no output: {}", o.stdout);
}

/// Asserts a usage error (exit 2) whose one `error:` line mentions every needle
/// (clap adds a usage hint after it).
fn usage_error(o: &Out, needles: &[&str], what: &str) {
    o.code_is(2, what);
    let errors: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{what}: one error line:\n{}", o.stderr);
    for n in needles {
        assert!(
            o.stderr.contains(n),
            "{what}: stderr must mention {n:?}:\n{}",
            o.stderr
        );
    }
}

fn small_tree(w: &World) {
    random_file(&w.src, "data/a.bin", 200_000, 11);
    text_file(&w.src, "data/b.txt", "bee\n");
    text_file(&w.src, "top.txt", "top\n");
}

/// A configured world with some source data.
fn world() -> World {
    let w = World::new();
    small_tree(&w);
    w.setup();
    w
}

fn id_of(j: &Value) -> String {
    j["backup"]["id"].as_str().expect("backup id").to_string()
}

/// What must not change when a command is refused.
#[derive(Debug, PartialEq)]
struct State {
    backups: Value,
    tasks: Value,
    dirs: BTreeSet<String>,
}

fn state(w: &World) -> State {
    State {
        backups: w.ok(&["backup", "list", "--json"]).json(),
        tasks: w.ok(&["task", "list", "--json"]).json(),
        dirs: w.backup_dirs(),
    }
}

const NO_SUCH_ID: &str = "20990101-000000-abcd";

#[test]
fn unknown_task_for_backup_run() {
    let w = world();
    let before = state(&w);
    let o = w.run(&["backup", "run", "nope"]);
    one_line(&o, 3, &["task", "nope"], "backup run of an unknown task");
    assert_eq!(state(&w), before);
    assert!(w.backup_dirs().is_empty());
}

#[test]
fn unknown_backup_id_for_show_restore_delete() {
    let w = world();
    w.backup(&["--full"], 0);
    let before = state(&w);
    let o = w.run(&["backup", "show", NO_SUCH_ID]);
    one_line(
        &o,
        3,
        &["backup", NO_SUCH_ID],
        "backup show of an unknown id",
    );
    let target = w.path("restored");
    let o = w.run(&["restore", NO_SUCH_ID, "--to", path_str(&target)]);
    one_line(&o, 3, &["backup", NO_SUCH_ID], "restore of an unknown id");
    assert!(!target.exists(), "restore must not create its target");
    let o = w.run(&["backup", "delete", NO_SUCH_ID]);
    one_line(&o, 3, &["backup", NO_SUCH_ID], "delete of an unknown id");
    assert_eq!(state(&w), before);
}

#[test]
fn task_add_errors() {
    let w = world();
    let before = state(&w);

    let missing = w.path("no-such-dir");
    let o = w.run(&[
        "task",
        "add",
        "t2",
        "--dir",
        path_str(&missing),
        "--dest",
        "d",
    ]);
    one_line(
        &o,
        2,
        &[path_str(&missing)],
        "task add with a missing source",
    );

    let o = w.run(&[
        "task",
        "add",
        "t2",
        "--dir",
        path_str(&w.src),
        "--dest",
        "nowhere",
    ]);
    one_line(
        &o,
        3,
        &["destination", "nowhere"],
        "task add with an unknown destination",
    );

    let o = w.run(&["task", "add", "t", "--dir", path_str(&w.src), "--dest", "d"]);
    one_line(
        &o,
        4,
        &["task", "\"t\"", "exists"],
        "task add of a duplicate",
    );

    assert_eq!(state(&w), before);
}

#[test]
fn malformed_command_lines_are_usage_errors() {
    let w = world();
    let before = state(&w);
    usage_error(
        &w.run(&["backup", "run"]),
        &["<TASK>"],
        "backup run without a task",
    );
    usage_error(
        &w.run(&["backup", "run", "t", "--full", "--incremental"]),
        &["--full", "--incremental"],
        "backup run --full --incremental",
    );
    usage_error(
        &w.run(&["backup", "frobnicate"]),
        &["frobnicate"],
        "unknown backup subcommand",
    );
    usage_error(
        &w.run(&["frobnicate"]),
        &["frobnicate"],
        "unknown subcommand",
    );
    assert_eq!(state(&w), before);
}

#[test]
fn restore_never_overwrites() {
    let w = world();
    let id = id_of(&w.backup(&["--full"], 0));

    let busy = w.path("busy");
    text_file(&busy, "keep.txt", "mine\n");
    text_file(&busy, "sub/top.txt", "also mine\n");
    let content = snapshot(&busy);
    let o = w.run(&["restore", &id, "--to", path_str(&busy)]);
    one_line(
        &o,
        4,
        &[path_str(&busy), "not empty"],
        "restore into a non-empty directory",
    );
    assert_eq!(snapshot(&busy), content, "the directory is untouched");

    let file = w.path("a-file");
    std::fs::write(&file, "precious\n").expect("write file");
    let o = w.run(&["restore", &id, "--to", path_str(&file)]);
    one_line(
        &o,
        4,
        &[path_str(&file), "not a directory"],
        "restore onto a file",
    );
    assert_eq!(std::fs::read(&file).expect("read file"), b"precious\n");
}

#[test]
fn deleting_a_full_with_dependents_needs_cascade() {
    let w = world();
    let full = id_of(&w.backup(&["--full"], 0));
    text_file(&w.src, "top.txt", "changed\n");
    let incr = id_of(&w.backup(&["--incremental"], 0));
    let before = state(&w);

    let o = w.run(&["backup", "delete", &full]);
    one_line(
        &o,
        4,
        &[&full, &incr, "--cascade"],
        "delete of a full with a dependent",
    );
    assert_eq!(state(&w), before);
    assert!(w.backup_dir(&full).join("COMMIT").exists());

    let o = w.ok(&["backup", "delete", &full, "--cascade"]);
    assert!(
        o.stdout.contains(&full) && o.stdout.contains(&incr),
        "{}",
        o.stdout
    );
    assert!(w.list().is_empty(), "both backups are gone");
    assert!(!w.backup_dir(&full).exists(), "full's directory is gone");
    assert!(
        !w.backup_dir(&incr).exists(),
        "incremental's directory is gone"
    );
    assert!(w.backup_dirs().is_empty());
}

#[test]
fn deleting_the_newest_incremental_keeps_the_full_restorable() {
    let w = world();
    let full = id_of(&w.backup(&["--full"], 0));
    let at_full = snapshot(&w.src);
    text_file(&w.src, "top.txt", "changed\n");
    random_file(&w.src, "data/new.bin", 100_000, 12);
    let incr = id_of(&w.backup(&["--incremental"], 0));

    w.ok(&["backup", "delete", &incr]);
    assert_eq!(w.ids(), vec![full.clone()]);
    assert!(!w.backup_dir(&incr).exists());
    let target = w.path("restored");
    w.ok(&["restore", &full, "--to", path_str(&target)]);
    assert!(snapshot(&target) == at_full, "the full restores as taken");
    w.ok(&["verify", &full, "--read-data"]);
}

#[test]
fn pinned_backups_refuse_deletion() {
    let w = world();
    let id = id_of(&w.backup(&["--full"], 0));
    w.ok(&["backup", "pin", &id]);
    let before = state(&w);
    let o = w.run(&["backup", "delete", &id]);
    one_line(&o, 4, &[&id, "pinned"], "delete of a pinned backup");
    assert_eq!(state(&w), before);
    w.ok(&["backup", "unpin", &id]);
    w.ok(&["backup", "delete", &id]);
    assert!(w.list().is_empty());
    assert!(w.backup_dirs().is_empty());
}

#[test]
fn busy_catalog_is_reported_with_its_holder() {
    let w = world();
    let before = state(&w);
    let go = w.path("go");
    let mut first = w.spawn(
        &["backup", "run", "t"],
        &format!("after-scan:{}", path_str(&go)),
    );
    first.wait_line("test stop point after-scan reached");

    let o = w.run(&["backup", "list"]);
    let pid = first.pid().to_string();
    one_line(
        &o,
        5,
        &["in use by", &pid, "backup run"],
        "backup list while a backup runs",
    );

    std::fs::write(&go, b"").expect("create go-file");
    let done = first.finish();
    done.code_is(0, "the backup holding the catalog");
    assert_eq!(before.backups, Value::Array(vec![]));
    assert_eq!(w.list().len(), 1, "only the first run made a backup");
}

#[test]
fn incremental_without_a_full_becomes_a_full_with_a_note() {
    let w = world();
    let o = w.run(&["backup", "run", "t", "--incremental", "--json"]);
    o.code_is(0, "incremental with no full");
    let j = o.json();
    assert_eq!(j["backup"]["kind"], "full", "{j}");
    assert!(j["backup"]["parent"].is_null(), "{j}");
    assert!(
        o.stderr.contains("note") && o.stderr.contains("full"),
        "stderr carries a note: {}",
        o.stderr
    );
    assert!(
        j["note"]
            .as_str()
            .is_some_and(|n| n.contains("no full backup")),
        "{j}"
    );
    let list = w.list();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["kind"], "full");
}
