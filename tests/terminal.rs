//! Commands on a real terminal (a pty from util-linux `script`): the progress
//! bar draws from its own thread, and the command must still finish.
//! Regression: main held the stderr lock, so the bar thread blocked forever.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn have_script() -> bool {
    Command::new("script").arg("--version").output().is_ok()
}

fn run_on_pty(cmdline: &str) -> (Option<i32>, String) {
    let mut child = Command::new("script")
        .args(["-qec", cmdline, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            return (
                status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (None, String::new());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn backup_restore_and_verify_finish_on_a_terminal() {
    if !have_script() {
        assert!(
            std::env::var("CI").is_err(),
            "util-linux `script` is required under CI"
        );
        eprintln!("SKIPPED: util-linux `script` not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut x: u64 = 9;
    let data: Vec<u8> = (0..(6 << 20))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(src.join("blob"), &data).unwrap();
    let bin = env!("CARGO_BIN_EXE_strata");
    let home = tmp.path().join("home");
    let s = format!("{bin} --home {}", home.display());
    let ok = |args: &str| {
        let st = Command::new("sh")
            .arg("-c")
            .arg(format!("{s} {args}"))
            .status()
            .unwrap();
        assert!(st.success(), "{args}");
    };
    ok(&format!(
        "dest add d --local {}",
        tmp.path().join("repo").display()
    ));
    ok(&format!("task add t --dir {} --dest d", src.display()));

    let (code, out) = run_on_pty(&format!("{s} backup run t --full"));
    assert_eq!(code, Some(0), "backup on a terminal hung or failed: {out}");
    assert!(out.contains("backup "), "{out}");
    let list = Command::new(bin)
        .arg("--home")
        .arg(&home)
        .args(["backup", "list", "--json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let id = rows[0]["id"].as_str().unwrap().to_string();

    let target = tmp.path().join("restored");
    let (code, out) = run_on_pty(&format!("{s} restore {id} --to {}", target.display()));
    assert_eq!(code, Some(0), "restore on a terminal hung or failed: {out}");
    assert_eq!(std::fs::read(target.join("blob")).unwrap(), data);

    let (code, out) = run_on_pty(&format!("{s} verify --all --read-data"));
    assert_eq!(code, Some(0), "verify on a terminal hung or failed: {out}");
}
