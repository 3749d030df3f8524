//! SFTP destinations through the real binary against a real OpenSSH `sshd`
//! on a private loopback port: host keys (unknown, recorded on request,
//! changed), backups and restores byte for byte, disaster recovery on a fresh
//! home, a server that dies mid-backup, connections cut now and then, deletion
//! on the server, and the identity file never leaking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;
#[path = "common/contract.rs"]
mod contract;

use common::sftpkit::{all_files, contains, remote, skip_without_sshd, source};
use common::tcpproxy::TcpProxy;
use common::*;
use serde_json::Value;
use std::path::Path;

#[test]
fn host_keys_unknown_is_refused_recorded_on_request_and_a_changed_one_refused() {
    if skip_without_sshd("host_keys") {
        return;
    }
    let mut r = remote();
    let url = r.url(r.sshd.port, "repo");
    let (code, _, err) = r.add("off", &url, false);
    assert_ne!(code, 0, "an unknown host is refused\n{err}");
    let host = format!("[127.0.0.1]:{}", r.sshd.port);
    for want in [
        host.as_str(),
        "ssh-ed25519",
        &r.sshd.fingerprint(),
        "--accept-new-host-key",
    ] {
        assert!(err.contains(want), "missing {want:?} in: {err}");
    }
    assert!(
        !r.s.path("repo").exists(),
        "nothing was written on the server"
    );
    assert!(r.s.json(&["dest", "list"]).as_array().unwrap().is_empty());

    let (code, out, err) = r.add("off", &url, true);
    assert_eq!(code, 0, "{out}\n{err}");
    let recorded = std::fs::read_to_string(r.known_hosts()).unwrap();
    assert!(
        recorded.contains(&format!("{host} ssh-ed25519 ")),
        "{recorded}"
    );
    assert!(
        r.s.path("repo/strata-repo.toml").is_file(),
        "the repository was initialised"
    );

    // The server comes back with another key: refused, even with the flag, and
    // the recorded key stays.
    r.sshd.restart_with_new_host_key();
    let (code, _, err) = r.add("again", &r.url(r.sshd.port, "repo2"), true);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(&format!("host key for {host} changed")),
        "{err}"
    );
    assert!(err.contains("man-in-the-middle"), "{err}");
    assert_eq!(std::fs::read_to_string(r.known_hosts()).unwrap(), recorded);
    assert!(!r.s.path("repo2").exists());
}

#[test]
fn a_key_readable_by_others_or_not_authorized_is_refused() {
    if skip_without_sshd("private_key_mode") {
        return;
    }
    let mut r = remote();
    chmod(&r.key, 0o644);
    let (code, _, err) = r.add("off", &r.url(r.sshd.port, "repo"), true);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(r.key.to_str().unwrap()) && err.contains("chmod 600"),
        "{err}"
    );
    // A private key the server does not know: refused by the server, named.
    r.key = common::sshkit::keygen(r.s.root(), "id_stranger");
    let (code, _, err) = r.add("off", &r.url(r.sshd.port, "repo"), true);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("refused public-key login as root"), "{err}");
    assert!(err.contains("id_stranger.pub"), "{err}");
    assert!(!r.s.path("repo").exists());
}

#[test]
fn full_incremental_restore_rebuild_on_a_fresh_home_and_the_key_never_leaks() {
    if skip_without_sshd("roundtrip") {
        return;
    }
    let r = remote();
    let s = &r.s;
    let src = source(s, 3 << 20);
    let url = r.url(r.sshd.port, "repo");
    let mut outputs = String::new();
    let (code, out, err) = r.add("off", &url, true);
    assert_eq!(code, 0, "{err}");
    outputs += &(out + &err);
    s.ok(&[
        "task",
        "add",
        "t",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        "off",
    ]);
    let full = id_of(&s.backup("t", "full")).to_string();
    write(&src.join("notes.txt"), b"off-site, changed\n");
    overwrite_at(&src.join("sub/big.bin"), 1 << 20, b"a change in the middle");
    let incr = id_of(&s.backup("t", "incremental")).to_string();
    assert!(s.path("repo/backups").join(&incr).join("COMMIT").is_file());

    let to = s.path("restored");
    s.restore(&incr, &to, None);
    assert_same_tree(
        "restore of the incremental",
        &snapshot(&src),
        &snapshot(&to),
    );
    outputs += &s.ok(&["verify", &full, "--read-data"]);
    outputs += &s.ok(&["export"]);
    outputs += &s.ok(&["audit"]);
    outputs += &s.ok(&["runs"]);
    outputs += &s.ok(&["dest", "list"]);

    // Disaster recovery: a fresh home with the key, known_hosts and the URL only.
    let fresh = Strata::new();
    let key = r.key.to_str().unwrap();
    let kh = r.known_hosts();
    let (code, out, err) = fresh.run(&[
        "dest",
        "add",
        "off",
        "--sftp",
        &url,
        "--identity",
        key,
        "--known-hosts",
        kh.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "the existing repository is adopted\n{out}\n{err}");
    outputs += &fresh.ok(&["catalog", "rebuild", "--from", "off"]);
    let rebuilt = fresh.backups();
    assert!(
        rebuilt.contains_key(&full) && rebuilt.contains_key(&incr),
        "{rebuilt:?}"
    );
    let to2 = fresh.path("restored");
    fresh.restore(&incr, &to2, None);
    assert_same_tree(
        "restore on the fresh home",
        &snapshot(&src),
        &snapshot(&to2),
    );

    // The private key's body is nowhere: not in either home (catalog, logs,
    // audit, run records), nor in any output.
    let secret = std::fs::read_to_string(&r.key).unwrap();
    let body = secret.lines().nth(1).unwrap().as_bytes().to_vec();
    assert!(body.len() > 40);
    assert!(
        !contains(outputs.as_bytes(), &body),
        "key material in an output"
    );
    for home in [s.home(), fresh.home()] {
        for (p, bytes) in all_files(&home) {
            assert!(!contains(&bytes, &body), "key material in {}", p.display());
        }
    }
    for (p, bytes) in all_files(&s.path("repo")) {
        assert!(
            !contains(&bytes, &body),
            "key material on the server in {}",
            p.display()
        );
    }
}

#[test]
fn backup_delete_removes_the_files_on_the_server() {
    if skip_without_sshd("delete") {
        return;
    }
    let r = remote();
    let s = &r.s;
    let src = source(s, 200_000);
    assert_eq!(r.add("off", &r.url(r.sshd.port, "repo"), true).0, 0);
    s.ok(&[
        "task",
        "add",
        "t",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        "off",
    ]);
    let full = id_of(&s.backup("t", "full")).to_string();
    write(&src.join("notes.txt"), b"next\n");
    let incr = id_of(&s.backup("t", "incremental")).to_string();
    let dir = |id: &str| s.path("repo/backups").join(id);
    assert!(dir(&full).join("COMMIT").is_file() && dir(&incr).join("COMMIT").is_file());
    s.ok(&["backup", "delete", &full, "--cascade"]);
    assert!(
        !dir(&full).exists(),
        "the full's files are gone from the server"
    );
    assert!(!dir(&incr).exists(), "and its dependant's");
    assert!(s.backups().is_empty());
    assert!(
        s.path("repo/strata-repo.toml").is_file(),
        "the repository stays"
    );
}

/// Starts `backup run t --full` paused at `after-pack` until `go` exists.
fn paused_backup(s: &Strata, go: &Path) -> std::process::Child {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(s.home())
        .args(["backup", "run", "t", "--full"])
        .env(
            "STRATA_TEST_STOP_AT",
            format!("after-pack:{}", go.display()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("test stop point") {
        line.clear();
        assert_ne!(
            err.read_line(&mut line).unwrap(),
            0,
            "the backup ended before its pack"
        );
    }
    std::thread::spawn(move || for _ in err.lines() {});
    child
}

#[test]
fn sshd_dying_mid_backup_fails_the_copy_cleanly_and_sync_completes_it() {
    if skip_without_sshd("server_dies") {
        return;
    }
    let mut r = remote();
    let s = &r.s;
    let src = source(s, 1 << 20);
    s.ok(&[
        "dest",
        "add",
        "d1",
        "--local",
        s.path("d1").to_str().unwrap(),
    ]);
    assert_eq!(r.add("d2", &r.url(r.sshd.port, "repo"), true).0, 0);
    s.ok(&[
        "task",
        "add",
        "t",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        "d1,d2",
        "--require",
        "any",
    ]);
    let go = s.path("go");
    let mut child = paused_backup(s, &go);
    r.sshd.stop();
    write(&go, b"");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "degraded: complete on d1 only");
    let b = s.json(&["backup", "list"])[0].clone();
    let id = id_of(&b).to_string();
    let d2 = &b["copies"].as_array().unwrap()[1];
    assert_eq!(
        (d2["destination"].as_str(), d2["state"].as_str()),
        (Some("d2"), Some("failed")),
        "{b}"
    );
    let err = d2["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("sftp://root@127.0.0.1") && err.contains("connect"),
        "{b}"
    );
    assert!(
        !s.path("repo/backups").join(&id).join("COMMIT").exists(),
        "nothing complete-looking on the server"
    );
    // Still down: sync says so. Back up: sync completes the copy.
    assert_eq!(s.run(&["backup", "sync", "--all"]).0, 1);
    r.sshd.restart();
    s.ok(&["backup", "sync", "--all"]);
    let b: Value = s.json(&["backup", "show", &id]);
    assert!(
        b["copies"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "complete"),
        "{b}"
    );
    assert!(s.path("repo/backups").join(&id).join("COMMIT").is_file());
    // The SFTP copy restores alone.
    s.ok(&["verify", &id, "--read-data"]);
    std::fs::rename(s.path("d1"), s.path("d1-away")).unwrap();
    let to = s.path("restored");
    s.restore(&id, &to, None);
    assert_same_tree(
        "restore from the SFTP copy",
        &snapshot(&src),
        &snapshot(&to),
    );
}

#[test]
fn connections_cut_now_and_then_are_survived_by_retries() {
    if skip_without_sshd("cut_connections") {
        return;
    }
    let r = remote();
    let s = &r.s;
    // Two packs (16 MiB + 8 MiB); connection k is cut after 6·k MiB sent, so
    // the first pack is cut on its first try and the second on its first.
    let src = source(s, 24 << 20);
    let proxy = TcpProxy::start(r.sshd.port, 6 << 20);
    assert_eq!(r.add("off", &r.url(proxy.port, "repo"), true).0, 0);
    s.ok(&[
        "task",
        "add",
        "t",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        "off",
    ]);
    let id = id_of(&s.backup("t", "full")).to_string();
    assert!(
        proxy.cuts() >= 2,
        "the proxy cut {} connection(s)",
        proxy.cuts()
    );
    s.ok(&["verify", &id, "--read-data"]);
    let to = s.path("restored");
    s.restore(&id, &to, None);
    assert_same_tree("restore through the proxy", &snapshot(&src), &snapshot(&to));
    let names: Vec<String> = std::fs::read_dir(s.path("repo/backups").join(&id).join("packs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".tmp-"))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

/// The destination's contract, through `dest::open_with` against the real
/// server: create-only puts (one winner among racing writers, no temporary
/// file left), ranges, sizes, sorted listings, deletion, free space, and
/// calls from a thread of another tokio runtime.
#[test]
fn the_destination_contract_holds_over_sftp() {
    use strata::dest::{self, OpenOptions};
    use strata::model::{DestinationConfig, DestinationKind, SftpSpec};
    if skip_without_sshd("contract") {
        return;
    }
    let r = remote();
    let url = r.url(r.sshd.port, "store");
    let cfg = DestinationConfig {
        name: "off".into(),
        kind: DestinationKind::Sftp(SftpSpec {
            url: url.clone(),
            identity: Some(r.key.clone()),
            known_hosts: Some(r.known_hosts()),
        }),
        repo_id: None,
        rate_limit: None,
        encryption: None,
        parallel_uploads: None,
    };
    let d = dest::open_with(
        &cfg,
        OpenOptions {
            accept_new_host_key: true,
        },
    )
    .unwrap();
    assert_eq!(d.describe(), url);
    contract::writes_and_reads(&*d);
    assert!(d.free_bytes().is_some_and(|b| b > 0));

    // Racing writers of one key: exactly one wins, its bytes are the object.
    for round in 0..5 {
        let key = format!("claims/r{round}/CLAIM");
        let start = std::sync::Arc::new(std::sync::Barrier::new(6));
        let handles: Vec<_> = (0..6u8)
            .map(|i| {
                let (d, key, start) = (d.clone(), key.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    d.put(&key, &[i; 100]).map(|()| i)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<u8> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert_eq!(d.get(&key).unwrap(), vec![winners[0]; 100]);
        let left = std::fs::read_dir(r.s.path("store/claims").join(format!("r{round}")))
            .unwrap()
            .count();
        assert_eq!(left, 1, "no temporary file is left");
    }

    contract::reads_from_another_runtime(&*d);
    contract::deletes(&*d);
    assert_eq!(d.list("backups").unwrap(), ["b"]);
    assert!(!r.s.path("store/backups/a").exists());
}
