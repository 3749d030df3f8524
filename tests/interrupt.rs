//! Ctrl-C during a local backup cancels it cleanly: exit 1, the partial data is
//! removed right away, and the run is recorded as interrupted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigint_cancels_a_local_backup_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, src, repo) = (
        tmp.path().join("home"),
        tmp.path().join("src"),
        tmp.path().join("repo"),
    );
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), vec![1u8; 100_000]).unwrap();
    let s = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(&home)
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    s(&["dest", "add", "d", "--local", repo.to_str().unwrap()]);
    s(&[
        "task",
        "add",
        "t",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        "d",
    ]);
    let go = tmp.path().join("go");
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(&home)
        .args(["backup", "run", "t"])
        .env(
            "STRATA_TEST_STOP_AT",
            format!("after-scan:{}", go.display()),
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut line = String::new();
    while !line.contains("after-scan") {
        assert!(Instant::now() < deadline, "stop point not reached");
        line.clear();
        err.read_line(&mut line).unwrap();
    }
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(&go, "").unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(rest.contains("cancelled"), "{rest}");
    assert_eq!(
        std::fs::read_dir(repo.join("backups"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "partial data removed"
    );
    let list = s(&["backup", "list", "--json"]);
    assert_eq!(list.trim(), "[]");
    let (o, e) = {
        let o = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(&home)
            .args(["backup", "list"])
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(o, Some(0));
    assert!(
        !e.contains("interrupted (the process stopped)"),
        "nothing left for recovery: {e}"
    );
}
