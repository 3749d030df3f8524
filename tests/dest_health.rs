//! Destination health through the real binary (issue 11): `dest list` shows
//! each destination reachable or not with the error, free space, what the
//! catalog holds there and the copies waiting for a sync — the same locally
//! and through the daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;
use common::Strata;
use serde_json::Value;

/// Two destinations and a task on both that keeps a backup with one copy;
/// `d2` is then taken away (renamed, as an unmounted disk) before a second
/// backup, which is degraded.
fn degraded(s: &Strata) {
    let src = s.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), "alpha\n".repeat(100)).unwrap();
    s.task_on_two(&src, "any");
    s.ok(&["backup", "run", "t"]);
    std::fs::rename(s.path("d2"), s.path("d2-away")).unwrap();
    let (code, out, err) = s.run(&["backup", "run", "t"]);
    assert_eq!(code, 1, "a degraded backup is exit 1\n{out}\n{err}");
}

fn by_name<'a>(rows: &'a Value, name: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {rows}"))
}

/// What both front ends must show after [`degraded`].
fn check_rows(s: &Strata) -> Value {
    let rows = s.json(&["dest", "list"]);
    let d1 = by_name(&rows, "d1");
    let d2 = by_name(&rows, "d2");
    // The definition's fields are still there, unchanged.
    assert_eq!(d1["kind"], "local", "{d1}");
    assert!(d1["path"].as_str().unwrap().ends_with("d1"), "{d1}");
    assert!(d1["repo_id"].is_string(), "{d1}");
    assert_eq!(d1["state"], "ok", "{d1}");
    assert!(d1["problem"].is_null(), "{d1}");
    assert!(d1["free_bytes"].as_u64().unwrap() > 0, "{d1}");
    assert_eq!(d1["backups"], 2, "{d1}");
    assert!(d1["stored_bytes"].as_u64().unwrap() > 0, "{d1}");
    assert!(d1["last_write"].is_string(), "{d1}");
    assert_eq!(d1["pending"], 0, "{d1}");

    assert_eq!(d2["state"], "unreachable", "{d2}");
    assert_eq!(d2["checked"], true, "{d2}");
    let problem = d2["problem"].as_str().unwrap();
    assert!(
        problem.contains("d2") && problem.contains("holds no Strata repository"),
        "{problem}"
    );
    assert!(d2["free_bytes"].is_null(), "{d2}");
    assert_eq!(d2["backups"], 1, "the first backup's copy: {d2}");
    assert_eq!(d2["pending"], 1, "the degraded backup's copy: {d2}");

    let table = s.ok(&["dest", "list"]);
    let header = table.lines().next().unwrap();
    for col in [
        "NAME",
        "KIND",
        "LOCATION",
        "STATE",
        "FREE",
        "STORED",
        "BACKUPS",
        "LAST WRITE",
        "PENDING",
    ] {
        assert!(header.contains(col), "{table}");
    }
    let d2_line = table.lines().find(|l| l.starts_with("d2")).unwrap();
    assert!(d2_line.contains("UNREACHABLE: "), "{table}");
    let d1_line = table.lines().find(|l| l.starts_with("d1")).unwrap();
    assert!(d1_line.contains(" ok "), "{table}");
    rows
}

#[test]
fn dest_list_shows_an_unreachable_destination_and_its_pending_copies() {
    let s = Strata::new();
    degraded(&s);
    check_rows(&s);
}

#[test]
fn the_same_through_the_daemon_and_in_its_console_snapshot() {
    let s = Strata::new();
    degraded(&s);
    let local = check_rows(&s);
    let _d = s.serve();
    assert!(s.home().join("strata.sock").exists());
    let remote = check_rows(&s);
    // Same rows but for when each was checked.
    let strip = |v: &Value| {
        let mut v = v.clone();
        for r in v.as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("checked_at");
            r.as_object_mut().unwrap().remove("check_ms");
            r.as_object_mut().unwrap().remove("free_bytes");
        }
        v
    };
    assert_eq!(strip(&local), strip(&remote));
    // The console over the socket gets the daemon's cached checks.
    let src = strata::tui::source::RemoteSource::new(
        strata::core::home::Home::at(s.home()),
        strata::core::access::Caller::local(None),
    );
    use strata::tui::source::Source;
    let snap = src.snapshot().unwrap();
    let d2 = snap
        .destinations
        .iter()
        .find(|d| d.config.name == "d2")
        .unwrap();
    // `dest list` just checked it, so the cache already knows.
    assert_eq!(d2.state, strata::core::rows::HealthState::Unreachable);
    assert_eq!(d2.pending, 1);
}

/// `dest show` tells the same health as one row of `dest list`, not only the
/// definition.
#[test]
fn dest_show_tells_health_and_pending_copies() {
    let s = Strata::new();
    degraded(&s);
    let d2 = s.json(&["dest", "show", "d2"]);
    assert_eq!(d2["state"], "unreachable", "{d2}");
    assert_eq!(d2["pending"], 1, "{d2}");
    assert!(d2["path"].as_str().unwrap().ends_with("d2"), "{d2}");
    let (code, out, err) = s.run(&["dest", "show", "d1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("state       ok"), "{out}");
    assert!(out.contains("backups     2"), "{out}");
    let (_, out, _) = s.run(&["dest", "show", "d2"]);
    assert!(
        out.contains("unreachable: ") && out.contains("1 copy to sync, 0 copies to delete"),
        "{out}"
    );
}

#[test]
fn a_rate_limit_is_checked_shown_applied_and_round_trips() {
    let s = Strata::new();
    let d = s.path("d");
    let (code, _, err) = s.run(&[
        "dest",
        "add",
        "d",
        "--local",
        d.to_str().unwrap(),
        "--rate-limit",
        "fast",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("rate_limit") && err.contains("20MiB/s"),
        "{err}"
    );
    s.ok(&[
        "dest",
        "add",
        "d",
        "--local",
        d.to_str().unwrap(),
        "--rate-limit",
        "200MiB/s",
    ]);
    let show = s.ok(&["dest", "show", "d"]);
    assert!(show.contains("rate limit  200MiB/s (writes)"), "{show}");
    // Backups write through the limit.
    let src = s.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.bin"), vec![9u8; 300_000]).unwrap();
    s.ok(&[
        "task",
        "add",
        "t",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        "d",
    ]);
    s.ok(&["backup", "run", "t"]);

    let export = s.ok(&["export"]);
    assert!(export.contains("rate_limit = \"200MiB/s\""), "{export}");
    let file = s.path("c.toml");
    std::fs::write(&file, export.replace("200MiB/s", "50MiB/s")).unwrap();
    let plan = s.ok(&["apply", "-f", file.to_str().unwrap(), "--dry-run"]);
    assert!(plan.contains("rate_limit"), "{plan}");
    s.ok(&["apply", "-f", file.to_str().unwrap()]);
    assert!(s.ok(&["dest", "show", "d"]).contains("rate limit  50MiB/s"));
    // The repository was kept: the same backups are there.
    assert_eq!(s.json(&["backup", "list"]).as_array().unwrap().len(), 1);
    std::fs::write(&file, export.replace("200MiB/s", "9B/s")).unwrap();
    let (code, _, err) = s.run(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("below 1KiB/s"), "{err}");
}

#[test]
fn parallel_uploads_are_checked_shown_applied_and_used() {
    let s = Strata::new();
    let d = s.path("d");
    let add = |n: &str| {
        s.run(&[
            "dest",
            "add",
            "d",
            "--local",
            d.to_str().unwrap(),
            "--parallel-uploads",
            n,
        ])
    };
    for bad in ["0", "17"] {
        let (code, _, err) = add(bad);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("parallel_uploads") && err.contains("1 to 16"),
            "{err}"
        );
    }
    let (code, _, err) = add("8");
    assert_eq!(code, 0, "{err}");
    assert!(
        s.ok(&["dest", "show", "d"])
            .contains("uploads     8 at once")
    );
    let row = s.json(&["dest", "show", "d"]);
    assert_eq!(row["parallel_uploads"], 8, "{row}");

    // The opened destination answers what was configured; unset, the kind's default.
    let mut cfg: strata::model::DestinationConfig = serde_json::from_value(row.clone()).unwrap();
    assert_eq!(strata::dest::open(&cfg).unwrap().parallel_writes(), 8);
    cfg.parallel_uploads = None;
    assert_eq!(strata::dest::open(&cfg).unwrap().parallel_writes(), 1);

    let export = s.ok(&["export"]);
    assert!(export.contains("parallel_uploads = 8"), "{export}");
    let file = s.path("c.toml");
    std::fs::write(
        &file,
        export.replace("parallel_uploads = 8", "parallel_uploads = 3"),
    )
    .unwrap();
    let plan = s.ok(&["apply", "-f", file.to_str().unwrap(), "--dry-run"]);
    assert!(plan.contains("parallel_uploads"), "{plan}");
    s.ok(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(s.json(&["dest", "show", "d"])["parallel_uploads"], 3);
    std::fs::write(
        &file,
        export.replace("parallel_uploads = 8", "parallel_uploads = 99"),
    )
    .unwrap();
    let (code, _, err) = s.run(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("1 to 16"), "{err}");
}
