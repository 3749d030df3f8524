//! Hooks through the real binary: a failing `before` aborts the run with its
//! stderr in the run record and no backup; `after` sees the outcome.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

use std::process::Command;

fn strata(home: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn before_hook_failure_aborts_and_after_hook_sees_the_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, src) = (tmp.path().join("home"), tmp.path().join("src"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), "data").unwrap();
    let h = home.as_path();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    assert_eq!(
        strata(
            h,
            &["dest", "add", "d", "--local", &s(&tmp.path().join("repo"))]
        )
        .0,
        0
    );
    let marker = tmp.path().join("after.txt");
    let (c, _, e) = strata(
        h,
        &[
            "task",
            "add",
            "bad",
            "--dir",
            &s(&src),
            "--dest",
            "d",
            "--before",
            "echo database is locked >&2; exit 7",
        ],
    );
    assert_eq!(c, 0, "{e}");
    let after = format!(
        "echo \"$STRATA_TASK $STRATA_KIND $STRATA_STATUS $STRATA_BACKUP_ID\" > {}",
        marker.display()
    );
    let (c, _, e) = strata(
        h,
        &[
            "task",
            "add",
            "good",
            "--dir",
            &s(&src),
            "--dest",
            "d",
            "--after",
            &after,
        ],
    );
    assert_eq!(c, 0, "{e}");

    let (code, _, err) = strata(h, &["backup", "run", "bad"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("before hook")
            && err.contains("database is locked")
            && err.contains("not taken"),
        "{err}"
    );
    let (_, list, _) = strata(h, &["backup", "list", "--task", "bad", "--json"]);
    assert_eq!(
        list.trim(),
        "[]",
        "no backup may exist after a failed before hook"
    );
    assert!(
        std::fs::read_dir(tmp.path().join("repo/backups"))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0
    );

    let (code, out, err) = strata(h, &["backup", "run", "good", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = v["backup"]["id"].as_str().unwrap();
    let seen = std::fs::read_to_string(&marker).unwrap();
    assert_eq!(seen.trim(), format!("good full complete {id}"));
}
