//! The home holds the catalog (every path backed up), logs and SSH keys: it is
//! private (0700, files 0600) whatever the umask, and a catalog that lost its
//! contents is reported as unreadable instead of silently starting over empty.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;

use common::{Strata, write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Every file and directory under `root`, with its mode.
fn walk(root: &Path) -> Vec<(PathBuf, u32)> {
    let mut out = vec![(root.to_path_buf(), mode(root))];
    for e in std::fs::read_dir(root).unwrap().flatten() {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&p));
        } else {
            out.push((p.clone(), mode(&p)));
        }
    }
    out
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(30), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `serve` with a wide umask until the socket and log exist, then stops it.
fn serve_once(s: &Strata) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" --home \"$1\" serve --listen 127.0.0.1:0")
        .arg(env!("CARGO_BIN_EXE_strata"))
        .arg(s.home())
        .env_remove("STRATA_HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(s.path("serve.err")).unwrap())
        .spawn()
        .unwrap();
    // Wait for the socket, not for a command to answer: a command run before
    // the daemon holds the catalog would run locally and lock the daemon out.
    let sock = s.home().join("strata.sock");
    wait_for("the daemon's socket", || {
        let err = std::fs::read_to_string(s.path("serve.err")).unwrap_or_default();
        assert!(!err.contains("error"), "serve failed: {err}");
        sock.exists()
    });
    wait_for("host key and log", || {
        s.home().join("logs/strata.log").exists()
            && std::fs::read_dir(s.home())
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().contains("host"))
    });
    let _ = Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let _ = child.wait();
}

#[test]
fn every_file_in_the_home_is_private_even_under_a_wide_umask() {
    let s = Strata::new();
    let src = s.path("src");
    write(&src.join("a.txt"), b"hello");
    // Start from a home someone made world-readable, as `mkdir` with umask 022 would.
    std::fs::create_dir_all(s.home()).unwrap();
    std::fs::set_permissions(s.home(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let toml = s.home().join("strata.toml");
    write(&toml, b"max_parallel_jobs = 2\n");
    std::fs::set_permissions(&toml, std::fs::Permissions::from_mode(0o644)).unwrap();
    s.setup("d", "t", &src, &[]);
    s.backup("t", "full");
    let pubkey = s.path("k.pub");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(s.path("k"))
        .status();
    if keygen.is_ok_and(|st| st.success()) {
        s.ok(&[
            "keys".as_ref(),
            "add".as_ref(),
            pubkey.as_os_str(),
            "--role".as_ref(),
            "viewer".as_ref(),
            "--name".as_ref(),
            "v".as_ref(),
        ]);
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "ssh-keygen is required under CI"
        );
        eprintln!("SKIPPED part: ssh-keygen not installed, authorized_keys not checked");
    }
    serve_once(&s);
    let all = walk(&s.home());
    assert!(all.len() >= 6, "home holds catalog, log, keys…: {all:?}");
    for (p, m) in &all {
        assert_eq!(m & 0o077, 0, "{} is {m:o}, must be private", p.display());
    }
    assert_eq!(mode(&s.home()), 0o700);
    assert_eq!(mode(&s.home().join("catalog.redb")), 0o600);
    assert_eq!(mode(&s.home().join("logs/strata.log")), 0o600);

    // `info` says so, per path and overall.
    let info = s.json(&["info"]);
    assert_eq!(info["private"], true, "{info}");
    assert_eq!(info["modes"]["catalog"], "0600", "{info}");
    assert_eq!(info["modes"]["home"], "0700", "{info}");
    let text = s.ok(&["info"]);
    assert!(text.contains("0600") && text.contains("private"), "{text}");

    // A file made readable by others behind our back is reported by info and
    // tightened at the next open.
    let log = s.home().join("logs/strata.log");
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    let info = s.json(&["info"]);
    assert_eq!(info["private"], false, "{info}");
    let text = s.ok(&["info"]);
    assert!(text.contains("chmod"), "info names the fix: {text}");
    s.ok(&["task", "list"]);
    assert_eq!(mode(&log), 0o600);
}

#[test]
fn an_empty_or_truncated_catalog_is_unreadable_never_a_new_one() {
    let s = Strata::new();
    let src = s.path("src");
    write(&src.join("a.txt"), b"hello");
    s.setup("d", "t", &src, &[]);
    s.backup("t", "full");
    let cat = s.home().join("catalog.redb");
    let good = std::fs::read(&cat).unwrap();
    let mut lens = vec![0u64, 1, 100, 512, 4096];
    lens.push(good.len() as u64 / 2);
    lens.push(good.len() as u64 - 1);
    for len in lens {
        if len >= good.len() as u64 {
            continue;
        }
        std::fs::write(&cat, &good[..len as usize]).unwrap();
        for args in [&["task", "list"][..], &["backup", "list", "--json"][..]] {
            let (code, out, err) = s.run(args);
            assert_eq!(
                code, 1,
                "{len} bytes, {args:?}: must fail, got {code}: {out}{err}"
            );
            assert!(
                err.contains("unreadable") && err.contains("catalog rebuild"),
                "{len} bytes: the corrupt-catalog sentence: {err}"
            );
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        }
        // Nothing replaced the damaged file with a fresh catalog.
        assert_eq!(
            std::fs::read(&cat).unwrap(),
            &good[..len as usize],
            "{len} bytes: the damaged catalog is left as it was"
        );
    }
    // A daemon refuses it too instead of running nothing.
    std::fs::write(&cat, b"").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(s.home())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("empty") && err.contains("unreadable"), "{err}");
    // The intact file works again: nothing was lost.
    std::fs::write(&cat, &good).unwrap();
    assert_eq!(s.json(&["backup", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn a_missing_catalog_is_created_initialised_and_private() {
    let s = Strata::new();
    s.ok(&["task", "list"]);
    let cat = s.home().join("catalog.redb");
    assert_eq!(mode(&cat), 0o600);
    assert!(!s.home().join("catalog.redb.creating").exists());
    // It opens again as a catalog, not as damage.
    s.ok(&["task", "list"]);
}
