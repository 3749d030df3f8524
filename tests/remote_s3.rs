//! S3 destinations through the real binary against a real S3 protocol server
//! (s3s-fs, in this test process, checking SigV4 signatures): backups and
//! restores byte for byte, disaster recovery on a fresh home, a server that
//! stops before and in the middle of a backup, injected 503s, deletion and
//! retention removing the objects, refused keys, and secrets never leaking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;
#[path = "common/contract.rs"]
mod contract;
#[path = "common/s3kit.rs"]
mod s3kit;

use common::sftpkit::{all_files, contains, source};
use common::tcpproxy::TcpProxy;
use common::*;
use s3kit::{ACCESS_KEY, BUCKET, SECRET_KEY, credentials_file, remote};

/// Measurements (ignored tests), in their own file.
use serde_json::Value;
use std::path::Path;

/// Files (not directories) under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = if dir.exists() {
        all_files(dir)
            .into_iter()
            .map(|(p, _)| p.strip_prefix(dir).unwrap().display().to_string())
            .collect()
    } else {
        Vec::new()
    };
    out.sort();
    out
}

fn task(s: &Strata, src: &Path, dests: &str, extra: &[&str]) {
    let mut args = vec![
        "task",
        "add",
        "t",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        dests,
    ];
    args.extend_from_slice(extra);
    s.ok(&args);
}

#[test]
fn full_incremental_restore_rebuild_on_a_fresh_home_and_secrets_never_leak() {
    let r = remote();
    let s = &r.s;
    let src = source(s, 3 << 20);
    let mut outputs = String::new();
    let (code, out, err) = r.add("off", "host1");
    assert_eq!(code, 0, "{out}\n{err}");
    outputs += &(out + &err);
    assert!(r.repo("host1/strata-repo.toml").is_file(), "initialised");
    task(s, &src, "off", &[]);
    let full = id_of(&s.backup("t", "full")).to_string();
    write(&src.join("notes.txt"), b"off-site, changed\n");
    overwrite_at(&src.join("sub/big.bin"), 1 << 20, b"a change in the middle");
    let incr = id_of(&s.backup("t", "incremental")).to_string();
    assert!(r.repo("host1/backups").join(&incr).join("COMMIT").is_file());

    let to = s.path("restored");
    s.restore(&incr, &to, None);
    assert_same_tree(
        "restore of the incremental",
        &snapshot(&src),
        &snapshot(&to),
    );
    for args in [
        vec!["verify", full.as_str(), "--read-data"],
        vec!["verify", incr.as_str(), "--read-data"],
        vec!["export"],
        vec!["audit"],
        vec!["runs"],
        vec!["runs", "--json"],
        vec!["dest", "list"],
        vec!["dest", "show", "off"],
    ] {
        outputs += &s.ok(&args);
    }
    let export = s.ok(&["export"]);
    assert!(
        export.contains("kind = \"s3\"") && export.contains("credentials = "),
        "{export}"
    );

    // Disaster recovery: a fresh home with the keys in the environment only.
    let fresh = Strata::new();
    fresh.set_env("AWS_ACCESS_KEY_ID", ACCESS_KEY);
    fresh.set_env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    let url = r.url("host1");
    let endpoint = r.server.endpoint();
    let (code, out, err) =
        fresh.run(&["dest", "add", "off", "--s3", &url, "--endpoint", &endpoint]);
    assert_eq!(code, 0, "the existing repository is adopted\n{out}\n{err}");
    outputs += &(out + &err);
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
    for args in [
        vec!["export"],
        vec!["audit"],
        vec!["runs", "--json"],
        vec!["dest", "list"],
    ] {
        outputs += &fresh.ok(&args);
    }

    // The secret is nowhere: not in any output, either home (catalog, logs,
    // audit, run records), nor the bucket.
    let secret = SECRET_KEY.as_bytes();
    assert!(
        !contains(outputs.as_bytes(), secret),
        "the secret in an output"
    );
    for home in [s.home(), fresh.home()] {
        for (p, bytes) in all_files(&home) {
            assert!(!contains(&bytes, secret), "the secret in {}", p.display());
        }
    }
    for (p, bytes) in all_files(&r.server.root) {
        assert!(
            !contains(&bytes, secret),
            "the secret in the bucket: {}",
            p.display()
        );
    }
}

#[test]
fn a_wrong_secret_or_a_shared_credentials_file_is_refused_and_nothing_is_added() {
    let r = remote();
    let s = &r.s;
    let endpoint = r.server.endpoint();
    let wrong = "wrongSecret-0000-not-the-one";
    let bad = credentials_file(s, "bad.creds", wrong, 0o600);
    let url = r.url("p");
    let (code, out, err) = s.run(&[
        "dest",
        "add",
        "off",
        "--s3",
        &url,
        "--endpoint",
        &endpoint,
        "--credentials",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 4, "refused: exit 4\n{out}\n{err}");
    assert!(
        err.contains("s3://backups/p") && err.contains("403"),
        "{err}"
    );
    assert!(!err.contains(wrong) && !out.contains(wrong), "{err}");
    // The same with the wrong key in the environment.
    s.set_env("AWS_ACCESS_KEY_ID", ACCESS_KEY);
    s.set_env("AWS_SECRET_ACCESS_KEY", wrong);
    let (code, _, err) = s.run(&["dest", "add", "off", "--s3", &url, "--endpoint", &endpoint]);
    assert_eq!(code, 4, "{err}");
    assert!(!err.contains(wrong), "{err}");

    let shared = credentials_file(s, "shared.creds", SECRET_KEY, 0o644);
    let (code, _, err) = s.run(&[
        "dest",
        "add",
        "off",
        "--s3",
        &url,
        "--endpoint",
        &endpoint,
        "--credentials",
        shared.to_str().unwrap(),
    ]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("chmod 600") && err.contains("shared.creds"),
        "{err}"
    );
    assert!(!err.contains(SECRET_KEY), "{err}");
    assert!(s.json(&["dest", "list"]).as_array().unwrap().is_empty());
    assert!(
        files_under(&r.server.object("p")).is_empty(),
        "nothing written"
    );
}

/// Starts `backup run t --full` paused at `after-pack` until `go` exists.
fn paused_backup(s: &Strata, go: &Path) -> std::process::Child {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .envs(s.envs())
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

fn copy_on(b: &Value, dest: &str) -> Value {
    b["copies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["destination"] == dest)
        .cloned()
        .unwrap_or_else(|| panic!("no copy on {dest}: {b}"))
}

#[test]
fn a_server_down_before_or_during_a_backup_degrades_it_and_sync_completes_it() {
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
    assert_eq!(r.add("d2", "repo").0, 0);
    task(s, &src, "d1,d2", &["--require", "any"]);

    // Down in the middle: after the pack, before the manifest and COMMIT.
    let go = s.path("go");
    let mut child = paused_backup(s, &go);
    r.server.stop();
    write(&go, b"");
    assert_eq!(
        child.wait().unwrap().code(),
        Some(1),
        "degraded: complete on d1 only"
    );
    let b = s.json(&["backup", "list"])[0].clone();
    let mid = id_of(&b).to_string();
    let d2 = copy_on(&b, "d2");
    assert_eq!(d2["state"], "failed", "{b}");
    let err = d2["error"].as_str().unwrap_or_default();
    assert!(err.contains("s3://backups/repo"), "{b}");
    assert!(
        !r.repo("repo/backups").join(&mid).join("COMMIT").exists(),
        "nothing complete-looking in the bucket"
    );

    // Down before the run: the local copy is made, the remote one fails.
    write(&src.join("notes.txt"), b"while the server is down\n");
    let (code, out, _) = s.run(&["backup", "run", "t", "--full", "--json"]);
    assert_eq!(code, 1, "{out}");
    let before: Value = serde_json::from_str(&out).unwrap();
    let before_id = id_of(&before["backup"]).to_string();
    let copy = copy_on(&s.json(&["backup", "show", &before_id]), "d2");
    assert_ne!(copy["state"], "complete", "{copy}");
    assert_eq!(s.run(&["backup", "sync", "--all"]).0, 1, "still down");

    r.server.restart();
    s.ok(&["backup", "sync", "--all"]);
    for id in [&mid, &before_id] {
        let b = s.json(&["backup", "show", id]);
        assert_eq!(copy_on(&b, "d2")["state"], "complete", "{b}");
        assert!(r.repo("repo/backups").join(id).join("COMMIT").is_file());
    }
    // The S3 copy verifies and restores alone.
    s.ok(&["verify", &before_id, "--read-data"]);
    std::fs::rename(s.path("d1"), s.path("d1-away")).unwrap();
    let to = s.path("restored");
    s.restore(&before_id, &to, None);
    assert_same_tree("restore from the S3 copy", &snapshot(&src), &snapshot(&to));
}

#[test]
fn injected_503s_are_survived_and_a_no_change_backup_makes_few_requests() {
    let r = remote();
    let s = &r.s;
    let src = source(s, 2 << 20);
    for i in 0..200 {
        write(
            &src.join(format!("many/f{i:03}.txt")),
            format!("file {i}\n").as_bytes(),
        );
    }
    assert_eq!(r.add("off", "repo").0, 0);
    task(s, &src, "off", &[]);
    // Three in a row: one operation fails three times, then succeeds.
    r.server.fail_next(3);
    let full = id_of(&s.backup("t", "full")).to_string();
    assert_eq!(r.server.failures_left(), 0, "the failures were met");
    r.server.fail_next(2);
    s.ok(&["verify", &full, "--read-data"]);
    let to = s.path("restored");
    r.server.fail_next(2);
    s.restore(&full, &to, None);
    assert_same_tree("restore despite 503s", &snapshot(&src), &snapshot(&to));

    let before = r.server.requests();
    s.backup("t", "incremental");
    let used = r.server.requests() - before;
    eprintln!("requests of a no-change incremental backup: {used}");
    assert!(
        used <= 10,
        "a no-change backup made {used} requests, not a few per file"
    );
}

#[test]
fn backup_delete_removes_the_objects_from_the_bucket() {
    let r = remote();
    let s = &r.s;
    let src = source(s, 200_000);
    assert_eq!(r.add("off", "repo").0, 0);
    task(s, &src, "off", &["--keep-last-full", "1"]);
    let backups = r.repo("repo/backups");
    let first = id_of(&s.backup("t", "full")).to_string();
    write(&src.join("notes.txt"), b"next\n");
    let incr = id_of(&s.backup("t", "incremental")).to_string();
    assert!(!files_under(&backups.join(&first)).is_empty());
    s.ok(&["backup", "delete", &first, "--cascade"]);
    assert!(
        files_under(&backups.join(&first)).is_empty(),
        "the full's objects are gone"
    );
    assert!(
        files_under(&backups.join(&incr)).is_empty(),
        "and its dependant's"
    );
    assert!(s.backups().is_empty());
    assert!(
        r.repo("repo/strata-repo.toml").is_file(),
        "the repository stays"
    );

    // Prune reaches the bucket through the same deletion; backups taken
    // with `backup run` are manual and never expire by rule, so here prune
    // must leave both fulls (tests/retention_cli.rs covers the rule itself).
    let old = id_of(&s.backup("t", "full")).to_string();
    write(&src.join("notes.txt"), b"newer\n");
    let new = id_of(&s.backup("t", "full")).to_string();
    s.ok(&["prune", "--task", "t"]);
    assert!(backups.join(&old).join("COMMIT").is_file());
    s.ok(&["backup", "delete", &old]);
    assert!(
        files_under(&backups.join(&old)).is_empty(),
        "deleted from the bucket"
    );
    assert!(
        backups.join(&new).join("COMMIT").is_file(),
        "the other full stays"
    );
    assert_eq!(s.backups().keys().collect::<Vec<_>>(), [&new]);
}

/// The destination's contract, through `dest::open` against the server:
/// create-only puts, ranges, sizes, sorted listings, deletion, and calls
/// from a thread of another tokio runtime.
#[test]
fn the_destination_contract_holds_over_s3() {
    use strata::dest::{self, ErrorKind};
    use strata::model::{DestinationConfig, DestinationKind, S3Spec};
    let r = remote();
    let cfg = DestinationConfig {
        name: "off".into(),
        kind: DestinationKind::S3(S3Spec {
            url: format!("s3://{BUCKET}/store"),
            endpoint: Some(r.server.endpoint()),
            region: None,
            storage_class: Some("STANDARD".into()),
            credentials: Some(r.creds.clone()),
        }),
        repo_id: None,
        rate_limit: None,
        encryption: None,
        parallel_uploads: None,
    };
    let d = dest::open(&cfg).unwrap();
    assert_eq!(d.describe(), "s3://backups/store");
    contract::writes_and_reads(&*d);
    contract::reads_from_another_runtime(&*d);
    contract::deletes(&*d);
    assert!(d.list("backups").unwrap().is_empty());
    assert!(files_under(&r.server.object("store")).is_empty());

    // The storage class goes with every put: s3s-fs knows only STANDARD and
    // REDUCED_REDUNDANCY, so another class is refused by the server.
    let mut glacier = cfg.clone();
    if let DestinationKind::S3(spec) = &mut glacier.kind {
        spec.storage_class = Some("GLACIER".into());
    }
    let e = dest::open(&glacier).unwrap().put("k", b"v").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent, "{e}");
    assert!(e.to_string().contains("InvalidStorageClass"), "{e}");
}

#[test]
fn connections_cut_in_the_middle_of_uploads_are_survived_by_retries() {
    let r = remote();
    let s = &r.s;
    // Connection k is cut after 2·k MiB from the client (`dest add` uses
    // the first): the pack upload (6 MiB) is cut on the next one or two.
    let src = source(s, 6 << 20);
    let proxy = TcpProxy::start(r.server.port, 2 << 20);
    let endpoint = format!("http://127.0.0.1:{}", proxy.port);
    assert_eq!(r.add_at(s, "off", "repo", &endpoint).0, 0);
    task(s, &src, "off", &[]);
    let id = id_of(&s.backup("t", "full")).to_string();
    assert!(
        proxy.cuts() >= 1,
        "the proxy cut {} connection(s)",
        proxy.cuts()
    );
    s.ok(&["verify", &id, "--read-data"]);
    let to = s.path("restored");
    s.restore(&id, &to, None);
    assert_same_tree("restore through the proxy", &snapshot(&src), &snapshot(&to));
}

/// Two hosts share one bucket under their own prefixes; a third home adds
/// both, rebuilds its catalog from each and restores the other host's backup.
#[test]
fn hosts_sharing_a_bucket_under_prefixes_can_restore_each_others_backups() {
    let r = remote();
    let h2 = Strata::new();
    let src1 = source(&r.s, 100_000);
    let src2 = h2.path("src");
    write(&src2.join("only-on-host2.txt"), b"host 2\n");
    assert_eq!(r.add("off", "host1").0, 0);
    assert_eq!(r.add_at(&h2, "off", "host2", &r.server.endpoint()).0, 0);
    task(&r.s, &src1, "off", &[]);
    task(&h2, &src2, "off", &[]);
    let b1 = id_of(&r.s.backup("t", "full")).to_string();
    let b2 = id_of(&h2.backup("t", "full")).to_string();

    let third = Strata::new();
    for (name, prefix) in [("one", "host1"), ("two", "host2")] {
        assert_eq!(r.add_at(&third, name, prefix, &r.server.endpoint()).0, 0);
        third.ok(&["catalog", "rebuild", "--from", name]);
    }
    let all = third.backups();
    assert!(all.contains_key(&b1) && all.contains_key(&b2), "{all:?}");
    let to = third.path("restored");
    third.restore(&b2, &to, None);
    assert_same_tree(
        "host 2's backup on a third home",
        &snapshot(&src2),
        &snapshot(&to),
    );
}
