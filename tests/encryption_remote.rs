//! Encrypted repositories on every off-site destination kind (issue 14),
//! through the real binary against real servers on loopback — an S3 server
//! that checks signatures, Azurite, OpenSSH `sshd`: full, incremental,
//! restore byte for byte, verify of every chunk, a catalog rebuilt on a
//! fresh home with the passphrase alone, and no marker string, file name or
//! hook command anywhere in what the server stores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

#[allow(dead_code)] // the Azure kit serves several test files; this one uses part of it
#[path = "common/azkit.rs"]
mod azkit;
mod common;
#[allow(dead_code)] // the S3 kit serves several test files; this one uses part of it
#[path = "common/s3kit.rs"]
mod s3kit;

use common::cryptkit::*;
use common::sftpkit::{remote as sftp_remote, skip_without_sshd};
use common::*;
use std::path::Path;

/// Backs up through destination `off` (added with `add`, which gets `--encrypt`
/// appended) and checks everything the server keeps under `stored`.
fn round_trip(s: &Strata, add: &[&str], stored: &Path) {
    s.set_env("STRATA_PASSPHRASE", PASS);
    let mut args = add.to_vec();
    args.push("--encrypt");
    s.ok(&args);
    let src = s.path("src");
    write(
        &src.join(format!("{MARK}.txt")),
        MARK.repeat(1000).as_bytes(),
    );
    write(&src.join("big.bin"), &Rng::new(3).bytes(2 << 20));
    let src_arg = src.to_str().unwrap();
    let hook = format!("echo {HOOK}");
    s.ok(&[
        "task", "add", "t", "--dir", src_arg, "--dest", "off", "--before", &hook,
    ]);
    s.backup("t", "full");
    write(&src.join("more.txt"), b"more");
    let inc = s.backup("t", "incremental");
    let to = s.path("out");
    s.restore(id_of(&inc), &to, None);
    assert_eq!(
        std::fs::read(to.join("big.bin")).unwrap(),
        std::fs::read(src.join("big.bin")).unwrap()
    );
    assert_eq!(std::fs::read(to.join("more.txt")).unwrap(), b"more");
    s.ok(&["verify", "--all", "--read-data"]);
    for needle in [MARK, HOOK, "big.bin", "more.txt"] {
        let hits = grep_all(stored, needle.as_bytes());
        assert!(hits.is_empty(), "{needle} found in the store: {hits:?}");
    }

    // A fresh machine: the destination added again and the passphrase, nothing else.
    let fresh = Strata::new();
    fresh.set_env("STRATA_PASSPHRASE", PASS);
    fresh.ok(add);
    fresh.ok(&["catalog", "rebuild", "--from", "off"]);
    let rebuilt = fresh.backups();
    assert_eq!(rebuilt.len(), 2, "{rebuilt:?}");
    let to2 = fresh.path("out");
    fresh.restore(id_of(&inc), &to2, None);
    assert_eq!(std::fs::read(to2.join("more.txt")).unwrap(), b"more");
    let (code, _, err) = fresh.run(&["verify", "--all"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn an_encrypted_s3_destination_round_trips_and_holds_nothing_readable() {
    let r = s3kit::remote();
    let creds = r.creds.to_str().unwrap().to_string();
    let (url, endpoint) = (r.url("enc"), r.server.endpoint());
    let add = [
        "dest",
        "add",
        "off",
        "--s3",
        &url,
        "--endpoint",
        &endpoint,
        "--credentials",
        &creds,
    ];
    round_trip(&r.s, &add, &r.repo("enc"));
    assert!(r.repo("enc").join("keys").is_dir());
}

#[test]
fn an_encrypted_azure_destination_round_trips_and_holds_nothing_readable() {
    if azkit::skip_without_azurite("encrypted azure round trip") {
        return;
    }
    let s = Strata::new();
    let az = azkit::Azurite::start(&s.path("azurite"));
    let creds = azkit::credentials_file(&s, "az.creds", azkit::KEY, 0o600);
    let creds = creds.to_str().unwrap().to_string();
    let url = format!("azblob://{}/enc", azkit::CONTAINER);
    let endpoint = az.endpoint();
    let add = [
        "dest",
        "add",
        "off",
        "--azure",
        &url,
        "--endpoint",
        &endpoint,
        "--credentials",
        &creds,
    ];
    // Azurite keeps blob bodies and its metadata (names included) under its location.
    round_trip(&s, &add, &s.path("azurite"));
}

#[test]
fn an_encrypted_sftp_destination_round_trips_and_holds_nothing_readable() {
    if skip_without_sshd("encrypted sftp round trip") {
        return;
    }
    let r = sftp_remote();
    let url = r.url(r.sshd.port, "remote/enc");
    let key = r.key.to_str().unwrap().to_string();
    let kh = r.known_hosts().to_str().unwrap().to_string();
    let add = [
        "dest",
        "add",
        "off",
        "--sftp",
        &url,
        "--identity",
        &key,
        "--known-hosts",
        &kh,
        "--accept-new-host-key",
    ];
    round_trip(&r.s, &add, &r.s.path("remote"));
}
