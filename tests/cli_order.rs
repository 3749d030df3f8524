//! One order for listings, through the real binary: `backup list`, `runs`
//! and `audit` show the newest first, in tables and JSON alike, and
//! `--reverse` shows the oldest first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;

use common::*;
use serde_json::Value;

/// A home with two chains of task `t`, taken in this order: full,
/// incremental, full, incremental. Returns their ids, oldest first.
fn two_chains(s: &Strata) -> Vec<String> {
    let src = s.path("src");
    write(&src.join("a.txt"), b"one\n");
    s.setup("d", "t", &src, &[]);
    let mut ids = Vec::new();
    for (kind, text) in [
        ("full", "one\n"),
        ("incremental", "two\n"),
        ("full", "three\n"),
        ("incremental", "four\n"),
    ] {
        write(&src.join("a.txt"), text.as_bytes());
        ids.push(id_of(&s.backup("t", kind)).to_string());
    }
    ids
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v:#}"))
        .iter()
        .map(|r| id_of(r).to_string())
        .collect()
}

fn numbers(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v:#}"))
        .iter()
        .map(|r| u64_of(r, "id"))
        .collect()
}

/// The ids of `want` in the order they appear in `text`, one per line.
fn in_text(text: &str, want: &[String]) -> Vec<String> {
    text.lines()
        .filter_map(|l| want.iter().find(|id| l.starts_with(id.as_str())).cloned())
        .collect()
}

fn reversed<T: Clone>(v: &[T]) -> Vec<T> {
    v.iter().rev().cloned().collect()
}

#[test]
fn backup_list_is_newest_first_and_reverse_is_oldest_first() {
    let s = Strata::new();
    let oldest_first = two_chains(&s);
    let newest_first = reversed(&oldest_first);

    assert_eq!(ids(&s.json(&["backup", "list"])), newest_first);
    assert_eq!(ids(&s.json(&["backup", "list", "--reverse"])), oldest_first);
    assert_eq!(
        in_text(&s.ok(&["backup", "list"]), &oldest_first),
        newest_first
    );
    assert_eq!(
        in_text(&s.ok(&["backup", "list", "--reverse"]), &oldest_first),
        oldest_first
    );

    // By chain: the newest chain first, each read top to bottom; --reverse
    // turns the chains around, not the rows inside them.
    let (a, b) = (&oldest_first[..2], &oldest_first[2..]);
    let newest_chain_first: Vec<String> = b.iter().chain(a).cloned().collect();
    assert_eq!(
        in_text(&s.ok(&["backup", "list", "--chain"]), &oldest_first),
        newest_chain_first
    );
    assert_eq!(
        ids(&s.json(&["backup", "list", "--chain"])),
        newest_chain_first
    );
    assert_eq!(
        in_text(
            &s.ok(&["backup", "list", "--chain", "--reverse"]),
            &oldest_first
        ),
        oldest_first
    );
    assert_eq!(
        ids(&s.json(&["backup", "list", "--chain", "--reverse"])),
        oldest_first
    );
    // With one task's backups, the same.
    assert_eq!(
        ids(&s.json(&["backup", "list", "--task", "t", "--reverse"])),
        oldest_first
    );
}

#[test]
fn runs_are_newest_first_and_reverse_is_oldest_first() {
    let s = Strata::new();
    let backups = two_chains(&s);
    let runs = s.json(&["runs"]);
    let newest_first = numbers(&runs);
    assert!(newest_first.len() >= 4, "{runs:#}");
    assert!(
        newest_first.windows(2).all(|w| w[0] > w[1]),
        "{newest_first:?}"
    );
    assert_eq!(runs[0]["backup_id"], backups[3].as_str(), "{runs:#}");
    let oldest_first = numbers(&s.json(&["runs", "--reverse"]));
    assert_eq!(oldest_first, reversed(&newest_first));
    // --limit keeps the newest; --reverse only turns them around.
    assert_eq!(
        numbers(&s.json(&["runs", "--limit", "2", "--reverse"])),
        reversed(&newest_first[..2])
    );
    // The table agrees: the RUN column, top to bottom.
    let column = |text: &str| -> Vec<u64> {
        text.lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect()
    };
    assert_eq!(column(&s.ok(&["runs"])), newest_first);
    assert_eq!(column(&s.ok(&["runs", "--reverse"])), oldest_first);
}

#[test]
fn audit_is_newest_first_and_reverse_is_oldest_first() {
    let s = Strata::new();
    two_chains(&s);
    let audit = s.json(&["audit"]);
    let newest_first = numbers(&audit);
    // dest add, task add and four backup runs.
    assert!(newest_first.len() >= 6, "{audit:#}");
    assert!(
        newest_first.windows(2).all(|w| w[0] > w[1]),
        "{newest_first:?}"
    );
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    let at = |what: &str| actions.iter().position(|a| *a == what).unwrap();
    assert!(at("backup run") < at("dest add"), "{actions:?}");
    let oldest_first = numbers(&s.json(&["audit", "--reverse"]));
    assert_eq!(oldest_first, reversed(&newest_first));
    assert_eq!(
        numbers(&s.json(&["audit", "--limit", "2", "--reverse"])),
        reversed(&newest_first[..2])
    );
    assert_eq!(
        numbers(&s.json(&["audit", "--since", "1d", "--reverse"])),
        oldest_first
    );
    // The table: the runs above the destination's creation, or below it.
    let runs_first = |text: &str| -> bool {
        let line = |what: &str| text.lines().position(|l| l.contains(what)).unwrap();
        line("backup run") < line("dest add")
    };
    assert!(runs_first(&s.ok(&["audit"])), "newest first");
    assert!(!runs_first(&s.ok(&["audit", "--reverse"])), "oldest first");
}
