//! Key slots of encrypted repositories through the real binary (issue 14):
//! added, changed and removed, audited without passphrases, a kill -9 in the
//! middle of a passwd, and a sqlite source whose pages never show through.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;
use common::cryptkit::*;
use common::*;
use std::process::{Command, Stdio};

#[test]
fn key_slots_are_added_changed_and_removed_and_audited() {
    let s = Strata::new();
    let dest = s.path("repo");
    let old = [("STRATA_PASSPHRASE", "old pass")];
    ok_env(
        &s,
        &old,
        &[
            "dest",
            "add",
            "e",
            "--local",
            dest.to_str().unwrap(),
            "--encrypt",
        ],
    );
    let rows = ok_env(&s, &old, &["dest", "key", "list", "e", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&rows).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    let (code, _, err) = run_env(
        &s,
        &old,
        &[
            "dest",
            "key",
            "remove",
            "e",
            rows[0]["id"].as_str().unwrap(),
        ],
    );
    assert_eq!(code, 4, "the last key stays: {err}");
    ok_env(
        &s,
        &[
            ("STRATA_PASSPHRASE", "old pass"),
            ("STRATA_NEW_PASSPHRASE", "second"),
        ],
        &["dest", "key", "add", "e", "--label", "break-glass"],
    );
    let opens = |p: &str| {
        run_env(
            &s,
            &[("STRATA_PASSPHRASE", p)],
            &["dest", "key", "list", "e"],
        )
        .0 == 0
    };
    assert!(opens("old pass") && opens("second"));
    ok_env(
        &s,
        &[
            ("STRATA_PASSPHRASE", "old pass"),
            ("STRATA_NEW_PASSPHRASE", "new pass"),
        ],
        &["dest", "key", "passwd", "e"],
    );
    assert!(!opens("old pass") && opens("new pass") && opens("second"));
    let rows = run_env(
        &s,
        &[("STRATA_PASSPHRASE", "new pass")],
        &["dest", "key", "list", "e", "--json"],
    )
    .1;
    let rows: serde_json::Value = serde_json::from_str(&rows).unwrap();
    let glass = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == "break-glass")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok_env(
        &s,
        &[("STRATA_PASSPHRASE", "new pass")],
        &["dest", "key", "remove", "e", &glass],
    );
    assert!(!opens("second") && opens("new pass"));
    let audit = ok_env(&s, &[], &["audit"]);
    for a in ["dest key add", "dest key passwd", "dest key remove"] {
        assert!(audit.contains(a), "{a} not audited: {audit}");
    }
    assert!(!audit.contains("new pass") && !audit.contains("second"));
}

#[test]
fn kill_during_passwd_leaves_a_working_passphrase() {
    let s = Strata::new();
    let dest = s.path("repo");
    ok_env(
        &s,
        &[("STRATA_PASSPHRASE", "old")],
        &[
            "dest",
            "add",
            "e",
            "--local",
            dest.to_str().unwrap(),
            "--encrypt",
        ],
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(s.home())
        .args(["dest", "key", "passwd", "e"])
        .env("STRATA_PASSPHRASE", "old")
        .env("STRATA_NEW_PASSPHRASE", "new")
        .env("STRATA_TEST_STOP_AT", "passwd-after-new-slot")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("stop point") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0,
            "exited early"
        );
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let opens = |p: &str| {
        run_env(
            &s,
            &[("STRATA_PASSPHRASE", p)],
            &["dest", "key", "list", "e"],
        )
        .0 == 0
    };
    assert!(opens("old") || opens("new"), "neither passphrase opens it");
    assert!(
        opens("old") && opens("new"),
        "both slots exist between the two steps"
    );
}

#[test]
fn a_sqlite_snapshot_in_an_encrypted_repository_shows_none_of_its_pages() {
    let s = Strata::new();
    let db = s.path("app.sqlite");
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch("CREATE TABLE notes (body TEXT)").unwrap();
    for i in 0..500 {
        c.execute("INSERT INTO notes VALUES (?1)", [format!("{MARK} row {i}")])
            .unwrap();
    }
    drop(c);
    let pf = pass_file(&s, "pass", PASS);
    let repo = s.path("repo");
    s.ok(&[
        "dest",
        "add",
        "e",
        "--local",
        repo.to_str().unwrap(),
        "--encrypt",
        "--passphrase-file",
        pf.to_str().unwrap(),
    ]);
    s.ok(&[
        "task",
        "add",
        "db",
        "--sqlite",
        db.to_str().unwrap(),
        "--dest",
        "e",
    ]);
    s.ok(&["backup", "run", "db"]);
    let hits = grep_all(&repo, MARK.as_bytes());
    assert!(hits.is_empty(), "plaintext in the repository: {hits:?}");
    let to = s.path("restored.sqlite");
    s.ok(&["restore", "db:latest", "--to", to.to_str().unwrap()]);
    let n: i64 = rusqlite::Connection::open(&to)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM notes WHERE body LIKE ?1",
            [format!("{MARK}%")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 500);
}
