//! A file written to between the scan and the read is stored as read and
//! reported as a warning, so a torn copy of a live file never goes unnoticed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn strata(home: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .expect("run strata");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn file_changed_during_backup_is_a_warning_not_silence() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, src, repo) = (
        tmp.path().join("home"),
        tmp.path().join("src"),
        tmp.path().join("repo"),
    );
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("live.log"), "line 1\n".repeat(1000)).unwrap();
    std::fs::write(src.join("quiet.txt"), "unchanged").unwrap();
    let h = home.as_path();
    assert_eq!(
        strata(h, &["dest", "add", "d", "--local", repo.to_str().unwrap()]).0,
        0
    );
    assert_eq!(
        strata(
            h,
            &[
                "task",
                "add",
                "t",
                "--dir",
                src.to_str().unwrap(),
                "--dest",
                "d"
            ]
        )
        .0,
        0
    );

    let go = tmp.path().join("go");
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(h)
        .args(["backup", "run", "t", "--full", "--json"])
        .env(
            "STRATA_TEST_STOP_AT",
            format!("after-scan:{}", go.display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut line = String::new();
    while !line.contains("after-scan") {
        assert!(
            Instant::now() < deadline,
            "backup never reached the scan stop point"
        );
        line.clear();
        if err.read_line(&mut line).unwrap() == 0 {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(src.join("live.log"))
        .unwrap();
    f.write_all(b"written during the backup\n").unwrap();
    drop(f);
    std::fs::write(&go, "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning does not fail the run"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &v["backup"];
    assert_eq!(b["status"], "complete");
    let warnings = b["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["path"], "live.log");
    assert!(
        warnings[0]["error"]
            .as_str()
            .unwrap()
            .contains("changed while")
    );
    let (code, show, _) = strata(h, &["backup", "show", b["id"].as_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(show.contains("live.log: changed while"), "{show}");
}
