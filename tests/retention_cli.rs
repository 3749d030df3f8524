//! `strata prune` through the real binary. Every backup `backup run` takes is
//! manual, so retention never expires it by rule; the expiry path itself is
//! tested at the library level (`core::prune` tests), since only the scheduler
//! (not built yet) takes non-manual backups.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;

use common::*;
use serde_json::Value;
use std::ffi::OsStr;
use std::fs;

/// A home with destination `d` and task `t` (`--keep-last-full 1`), and two
/// manual chains: full + incremental, then full + incremental.
fn two_manual_chains(s: &Strata) -> Vec<String> {
    let src = s.path("src");
    write(&src.join("a.txt"), b"one\n");
    let repo = s.path("repo");
    s.ok(&[
        OsStr::new("dest"),
        OsStr::new("add"),
        OsStr::new("d"),
        OsStr::new("--local"),
        repo.as_os_str(),
    ]);
    s.ok(&[
        OsStr::new("task"),
        OsStr::new("add"),
        OsStr::new("t"),
        OsStr::new("--dir"),
        src.as_os_str(),
        OsStr::new("--dest"),
        OsStr::new("d"),
        OsStr::new("--keep-last-full"),
        OsStr::new("1"),
    ]);
    let mut ids = Vec::new();
    for (kind, text) in [
        ("full", "one\n"),
        ("incremental", "one more\n"),
        ("full", "two\n"),
        ("incremental", "two more\n"),
    ] {
        write(&src.join("a.txt"), text.as_bytes());
        let b = s.backup("t", kind);
        assert_eq!(b["manual"], true);
        ids.push(id_of(&b).to_string());
    }
    ids
}

fn decision<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("no decision for {id}: {report}"))
}

fn reasons(d: &Value) -> Vec<&str> {
    d["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect()
}

#[test]
fn manual_backups_never_expire_by_rule() {
    let s = Strata::new();
    let ids = two_manual_chains(&s);
    let (old_full, old_inc) = (&ids[0], &ids[1]);

    for args in [
        &["prune", "--dry-run"][..],
        &["prune"],
        &["prune", "--task", "t"],
    ] {
        let r = s.json(args);
        assert_eq!(r["expired"], 0, "{r}");
        assert_eq!(r["freed_bytes"], 0, "{r}");
        assert_eq!(r["dry_run"], args.contains(&"--dry-run"));
        let ds = r["decisions"].as_array().unwrap();
        assert_eq!(ds.len(), 4);
        for d in ds {
            assert_eq!(d["keep"], true, "{d}");
            assert_eq!(d["task"], "t");
            assert!(reasons(d).contains(&"manual"), "{d}");
            assert!(d["stored_bytes"].as_u64().unwrap() > 0);
            assert!(d["finished"].as_str().unwrap().ends_with('Z'));
        }
        // The old chain is outside keep_last_full 1: only the manual mark keeps it.
        assert_eq!(reasons(decision(&r, old_inc)), ["manual"]);
        assert_eq!(
            reasons(decision(&r, old_full)),
            ["manual".to_string(), format!("needed by {old_inc}")]
        );
        assert_eq!(
            reasons(decision(&r, &ids[2]))[..3],
            ["manual", "newest full", "keep_last_full 1"]
        );
    }
    let listed = s.json(&["backup", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 4);
    for id in &ids {
        assert!(s.path("repo/backups").join(id).join("COMMIT").is_file());
    }
}

#[test]
fn human_output_is_a_table_with_reasons_and_a_summary() {
    let s = Strata::new();
    let ids = two_manual_chains(&s);
    let out = s.ok(&["prune", "--dry-run"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    for h in [
        "ID",
        "TASK",
        "KIND",
        "FINISHED (UTC)",
        "STORED",
        "DECISION",
        "WHY",
    ] {
        assert!(lines[0].contains(h), "{out}");
    }
    for (line, id) in lines[1..5].iter().zip(&ids) {
        assert!(line.starts_with(id.as_str()), "{out}");
        assert!(line.contains(" keep "), "{out}");
        assert!(line.contains("manual"), "{out}");
    }
    assert!(
        lines[1].ends_with(&format!("manual, needed by {}", ids[1])),
        "{out}"
    );
    assert_eq!(
        lines[5],
        "dry run: 0 backup(s) would expire, 4 kept; would free 0 B (nothing was deleted)"
    );
    let out = s.ok(&["prune"]);
    assert!(
        out.ends_with("expired 0 backup(s), 4 kept; freed 0 B\n"),
        "{out}"
    );
}

#[test]
fn prune_of_an_unknown_task_is_not_found_and_empty_homes_are_fine() {
    let s = Strata::new();
    assert_eq!(s.ok(&["prune"]), "no backups to evaluate\n");
    let (code, out, err) = s.run(&["prune", "--task", "nope"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("task \"nope\" does not exist"), "{err}");
    assert!(out.is_empty());
}

#[test]
fn tasks_without_a_policy_keep_everything() {
    let s = Strata::new();
    let src = s.path("src");
    fs::create_dir_all(&src).unwrap();
    write(&src.join("f"), b"x");
    s.setup("d", "plain", &src, &[]);
    s.backup("plain", "full");
    s.backup("plain", "full");
    let r = s.json(&["prune", "--task", "plain"]);
    assert_eq!(r["expired"], 0);
    for d in r["decisions"].as_array().unwrap() {
        assert_eq!(reasons(d), ["no retention policy"]);
    }
}
