//! Every attempt is a run: verifications (manual and scheduled) leave a run
//! record, and the task's status follows them. (Retention runs are tested in
//! `core::prune` tests: only scheduled backups expire, and those take minutes
//! through the binary.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;
use common::{Strata, id_of};
use serde_json::Value;
use std::time::{Duration, Instant};

fn runs_of(s: &Strata, purpose: &str) -> Vec<Value> {
    let v: Value = s.json(&["runs"]);
    v.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["purpose"] == purpose)
        .cloned()
        .collect()
}

fn task_row(s: &Strata, name: &str) -> Value {
    let v: Value = s.json(&["task", "list"]);
    v.as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .cloned()
        .unwrap()
}

/// A task `t` on `d` with a full and an incremental: two packs in its chain.
fn chain(s: &Strata) -> (std::path::PathBuf, String, String) {
    let src = s.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("big.bin"), common::Rng::new(3).bytes(300_000)).unwrap();
    std::fs::write(src.join("small.txt"), "small\n").unwrap();
    let repo = s.setup("d", "t", &src, &[]);
    let full = id_of(&s.backup("t", "full")).to_string();
    std::fs::write(src.join("small.txt"), "small, changed\n").unwrap();
    let incr = id_of(&s.backup("t", "incremental")).to_string();
    (repo, full, incr)
}

#[test]
fn a_manual_verify_is_a_run_that_says_what_it_read() {
    let s = Strata::new();
    let (_, _, incr) = chain(&s);
    s.ok(&["verify", "--task", "t"]);
    let runs = runs_of(&s, "verify");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["status"], "complete");
    let msg = runs[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("verified 2 backup(s) on d") && msg.contains("structure only"),
        "{msg}"
    );

    // Half the packs of each backup's chain: the full reads its own pack,
    // the incremental one of its two.
    let out = s.ok(&["verify", &incr, "--read-data", "50%"]);
    assert!(out.contains("data 1/2 packs"), "{out}");
    let runs = runs_of(&s, "verify");
    let msg = runs[0]["message"].as_str().unwrap();
    assert!(msg.contains("read 1 of 2 packs (50%)"), "{msg}");
    assert_eq!(runs[0]["backup_id"], incr.as_str());

    // The table's kind column says what each run was.
    let table = s.ok(&["runs"]);
    assert!(table.matches("verify").count() >= 2, "{table}");
    assert_eq!(task_row(&s, "t")["status"], "active");

    for bad in ["0", "101", "x"] {
        let (code, _, err) = s.run(&["verify", "--task", "t", "--read-data", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("percentage"), "{err}");
    }
}

#[test]
fn a_verify_that_finds_damage_fails_its_run_and_keeps_the_task_failed() {
    let s = Strata::new();
    let (repo, full, _) = chain(&s);
    let pack = repo.join("backups").join(&full).join("packs/000000.pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&pack, &bytes).unwrap();

    let (code, _, _) = s.run(&["verify", "--task", "t", "--read-data"]);
    assert_eq!(code, 1);
    let run = runs_of(&s, "verify").remove(0);
    assert_eq!(run["status"], "failed");
    let msg = run["message"].as_str().unwrap();
    assert!(msg.contains(&full) && msg.contains("big.bin"), "{msg}");
    let row = task_row(&s, "t");
    assert_eq!(row["status"], "failed");
    assert!(
        row["last_result"].as_str().unwrap().contains(&full),
        "{row}"
    );

    // A later good backup does not hide the damage: the verify run decides
    // until a verification passes.
    s.backup("t", "full");
    assert_eq!(task_row(&s, "t")["status"], "failed");
}

#[test]
fn verify_schedules_are_checked_shown_and_round_trip() {
    let s = Strata::new();
    let src = s.path("src");
    std::fs::create_dir_all(&src).unwrap();
    let d = s.path("d");
    s.ok(&["dest", "add", "d", "--local", d.to_str().unwrap()]);
    let add = |extra: &[&str]| {
        let mut a = vec![
            "task",
            "add",
            "t",
            "--dir",
            src.to_str().unwrap(),
            "--dest",
            "d",
        ];
        a.extend_from_slice(extra);
        s.run(&a)
    };
    let (code, _, err) = add(&["--verify", "0 4 * * 9"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("verify"), "{err}");
    let (code, _, err) = add(&["--verify-read-data", "10"]);
    assert_eq!(code, 2, "needs --verify: {err}");
    let (code, _, err) = add(&["--verify", "0 4 * * 0", "--verify-read-data", "10"]);
    assert_eq!(code, 0, "{err}");
    let show = s.ok(&["task", "show", "t"]);
    assert!(
        show.contains("verify        0 4 * * 0, data of 10% of packs; next "),
        "{show}"
    );
    let export = s.ok(&["export"]);
    assert!(
        export.contains("verify = \"0 4 * * 0\"") && export.contains("verify_read_data = 10"),
        "{export}"
    );

    // The same file applies as no change, and a bad percentage is refused.
    let file = s.path("strata.toml");
    std::fs::write(&file, &export).unwrap();
    let plan = s.ok(&["apply", "-f", file.to_str().unwrap(), "--dry-run"]);
    assert!(!plan.contains("verify"), "no change expected: {plan}");
    std::fs::write(
        &file,
        export.replace("verify_read_data = 10", "verify_read_data = 0"),
    )
    .unwrap();
    let (code, _, err) = s.run(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("verify_read_data"), "{err}");
}

#[test]
fn the_daemon_runs_a_scheduled_verification_as_a_job_and_records_it() {
    let s = Strata::new();
    let src = s.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.bin"), common::Rng::new(5).bytes(100_000)).unwrap();
    let d = s.path("d");
    s.ok(&["dest", "add", "d", "--local", d.to_str().unwrap()]);
    s.ok(&[
        "task",
        "add",
        "t",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        "d",
        "--verify",
        "* * * * *",
        "--verify-read-data",
        "100",
    ]);
    s.backup("t", "full");
    let _d = s.serve();
    // Cron has minute granularity: the first one is due within a minute.
    let deadline = Instant::now() + Duration::from_secs(90);
    let run = loop {
        if let Some(r) = runs_of(&s, "verify")
            .into_iter()
            .find(|r| r["status"] != "running")
        {
            break r;
        }
        assert!(Instant::now() < deadline, "no scheduled verification ran");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(run["status"], "complete", "{run}");
    assert!(
        run["message"]
            .as_str()
            .unwrap()
            .contains("read 1 of 1 packs (100%)"),
        "{run}"
    );
    let b: Value = s.json(&["backup", "list"]);
    assert_eq!(b[0]["verified"]["ok"], true, "{b}");
    assert_eq!(b[0]["verified"]["read_data"], true, "{b}");
}
