//! Azure Blob destinations through the real binary against Azurite (the
//! Azure Storage emulator) on a private loopback port: backups and restores
//! byte for byte, disaster recovery on a fresh home, the emulator stopped
//! before a backup, deletion removing the blobs, and the key never leaking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

#[path = "common/azkit.rs"]
mod azkit;
mod common;
#[path = "common/contract.rs"]
mod contract;

use azkit::{ACCOUNT, Azurite, CONTAINER, KEY, credentials_file, skip_without_azurite};
use common::sftpkit::{all_files, contains, source};
use common::*;
use serde_json::Value;

fn add(
    s: &Strata,
    az: &Azurite,
    name: &str,
    prefix: &str,
    creds: Option<&std::path::Path>,
) -> (i32, String, String) {
    let url = format!("azblob://{CONTAINER}/{prefix}");
    let endpoint = az.endpoint();
    let mut args = vec![
        "dest",
        "add",
        name,
        "--azure",
        &url,
        "--endpoint",
        &endpoint,
    ];
    let c;
    if let Some(p) = creds {
        c = p.to_str().unwrap().to_string();
        args.extend(["--credentials", c.as_str()]);
    } else {
        args.extend(["--account", ACCOUNT]);
    }
    s.run(&args)
}

/// The blobs under `prefix`, through the destination API.
fn blobs(az: &Azurite, prefix: &str, under: &str) -> Vec<String> {
    use strata::model::{AzureSpec, DestinationConfig, DestinationKind};
    let s = Strata::new();
    let creds = credentials_file(&s, "c", KEY, 0o600);
    let cfg = DestinationConfig {
        name: "probe".into(),
        kind: DestinationKind::Azure(AzureSpec {
            url: format!("azblob://{CONTAINER}/{prefix}"),
            account: None,
            endpoint: Some(az.endpoint()),
            credentials: Some(creds),
        }),
        repo_id: None,
        rate_limit: None,
        encryption: None,
        parallel_uploads: None,
    };
    strata::dest::open(&cfg).unwrap().list(under).unwrap()
}

#[test]
fn full_incremental_restore_rebuild_on_a_fresh_home_and_the_key_never_leaks() {
    if skip_without_azurite("azure_roundtrip") {
        return;
    }
    let s = Strata::new();
    let az = Azurite::start(&s.path("azurite"));
    let src = source(&s, 3 << 20);
    let creds = credentials_file(&s, "az.creds", KEY, 0o600);
    let mut outputs = String::new();
    let (code, out, err) = add(&s, &az, "off", "host1", Some(&creds));
    assert_eq!(code, 0, "{out}\n{err}");
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
    assert!(blobs(&az, "host1", &format!("backups/{incr}")).contains(&"COMMIT".to_string()));
    let to = s.path("restored");
    s.restore(&incr, &to, None);
    assert_same_tree(
        "restore of the incremental",
        &snapshot(&src),
        &snapshot(&to),
    );
    for args in [
        vec!["verify", full.as_str(), "--read-data"],
        vec!["export"],
        vec!["audit"],
        vec!["runs", "--json"],
        vec!["dest", "list"],
    ] {
        outputs += &s.ok(&args);
    }

    // A fresh home with the key in the environment only.
    let fresh = Strata::new();
    fresh.set_env("AZURE_STORAGE_KEY", KEY);
    let (code, out, err) = add(&fresh, &az, "off", "host1", None);
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
    outputs += &fresh.ok(&["export"]);

    let secret = KEY.as_bytes();
    assert!(
        !contains(outputs.as_bytes(), secret),
        "the key in an output"
    );
    for home in [s.home(), fresh.home()] {
        for (p, bytes) in all_files(&home) {
            assert!(!contains(&bytes, secret), "the key in {}", p.display());
        }
    }
}

#[test]
fn a_wrong_key_is_refused_and_a_shared_credentials_file_too() {
    if skip_without_azurite("azure_refused") {
        return;
    }
    let s = Strata::new();
    let az = Azurite::start(&s.path("azurite"));
    // A well-formed key that is not the account's.
    let wrong = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk=";
    let bad = credentials_file(&s, "bad.creds", wrong, 0o600);
    let (code, out, err) = add(&s, &az, "off", "p", Some(&bad));
    assert_eq!(code, 4, "refused: exit 4\n{out}\n{err}");
    assert!(
        err.contains("azblob://backups/p") && err.contains("403"),
        "{err}"
    );
    assert!(!err.contains(wrong), "{err}");
    let shared = credentials_file(&s, "shared.creds", KEY, 0o644);
    let (code, _, err) = add(&s, &az, "off", "p", Some(&shared));
    assert_ne!(code, 0);
    assert!(err.contains("chmod 600"), "{err}");
    assert!(s.json(&["dest", "list"]).as_array().unwrap().is_empty());
}

#[test]
fn azurite_down_before_a_backup_degrades_it_sync_completes_it_and_delete_removes_blobs() {
    if skip_without_azurite("azure_down") {
        return;
    }
    let s = Strata::new();
    let mut az = Azurite::start(&s.path("azurite"));
    let src = source(&s, 1 << 20);
    let creds = credentials_file(&s, "az.creds", KEY, 0o600);
    s.ok(&[
        "dest",
        "add",
        "d1",
        "--local",
        s.path("d1").to_str().unwrap(),
    ]);
    assert_eq!(add(&s, &az, "d2", "repo", Some(&creds)).0, 0);
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
    az.stop();
    let (code, out, _) = s.run(&["backup", "run", "t", "--full", "--json"]);
    assert_eq!(code, 1, "degraded\n{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let id = id_of(&v["backup"]).to_string();
    az.restart();
    s.ok(&["backup", "sync", "--all"]);
    let b = s.json(&["backup", "show", &id]);
    assert!(
        b["copies"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "complete"),
        "{b}"
    );
    std::fs::rename(s.path("d1"), s.path("d1-away")).unwrap();
    let to = s.path("restored");
    s.restore(&id, &to, None);
    assert_same_tree(
        "restore from the Azure copy",
        &snapshot(&src),
        &snapshot(&to),
    );
    std::fs::rename(s.path("d1-away"), s.path("d1")).unwrap();
    assert_eq!(blobs(&az, "repo", "backups"), std::slice::from_ref(&id));
    s.ok(&["backup", "delete", &id]);
    assert!(
        blobs(&az, "repo", "backups").is_empty(),
        "the blobs are gone"
    );
    assert!(blobs(&az, "repo", "").contains(&"strata-repo.toml".to_string()));
}

/// The destination's contract through `dest::open` against Azurite:
/// create-only puts, ranges, sizes, sorted listings, deletion.
#[test]
fn the_destination_contract_holds_over_azure() {
    use strata::dest;
    use strata::model::{AzureSpec, DestinationConfig, DestinationKind};
    if skip_without_azurite("azure_contract") {
        return;
    }
    let s = Strata::new();
    let az = Azurite::start(&s.path("azurite"));
    let cfg = DestinationConfig {
        name: "off".into(),
        kind: DestinationKind::Azure(AzureSpec {
            url: format!("azblob://{CONTAINER}/store"),
            account: None,
            endpoint: Some(az.endpoint()),
            credentials: Some(credentials_file(&s, "c", KEY, 0o600)),
        }),
        repo_id: None,
        rate_limit: None,
        encryption: None,
        parallel_uploads: None,
    };
    let d = dest::open(&cfg).unwrap();
    contract::writes_and_reads(&*d);
    contract::reads_from_another_runtime(&*d);
    contract::deletes(&*d);
    assert!(d.list("backups").unwrap().is_empty());
}
