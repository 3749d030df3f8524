//! Encrypted repositories through the real binary (issue 14): nothing
//! readable escapes into the repository, wrong and missing passphrases are
//! refused with their exit codes, tampering is detected and named, key
//! slots are managed (and survive a kill -9 in the middle of a passwd), and
//! a fresh machine rebuilds its catalog with the passphrase alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;

use common::cryptkit::*;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

#[test]
fn nothing_readable_escapes_and_everything_round_trips() {
    let s = Strata::new();
    let (src, repo, pf) = setup(&s);
    let full = s.backup("files", "full");
    write(
        &src.join(format!("dir-{MARK}/later-{MARK}")),
        b"added later",
    );
    let inc = s.backup("files", "incremental");
    s.ok(&["backup", "run", "dump", "--full"]);
    let to = s.path("out");
    s.restore(id_of(&inc), &to, None);
    assert_eq!(
        std::fs::read(to.join("big.bin")).unwrap(),
        std::fs::read(src.join("big.bin")).unwrap()
    );
    assert!(to.join(format!("dir-{MARK}/later-{MARK}")).exists());
    s.ok(&["verify", "--all", "--read-data"]);
    // No marker, no hook command, no file name anywhere in the repository.
    for needle in [MARK, HOOK, "big.bin", "notes-"] {
        let hits = grep_all(&repo, needle.as_bytes());
        assert!(hits.is_empty(), "{needle} found: {hits:?}");
    }
    let cfg = std::fs::read_to_string(repo.join("strata-repo.toml")).unwrap();
    assert!(
        cfg.contains("format = 2") && cfg.contains("xchacha20poly1305"),
        "{cfg}"
    );
    // Listings say it is encrypted; export keeps where the passphrase is, not it.
    let list = s.ok(&["dest", "list"]);
    assert!(list.contains("encrypted"), "{list}");
    let export = s.ok(&["export"]);
    assert!(
        export.contains("passphrase_file") && !export.contains(PASS),
        "{export}"
    );
    // The passphrase appears in no log, audit entry or run record.
    assert!(grep_all(&s.home(), PASS.as_bytes()).is_empty());

    // A fresh machine: the repository and the passphrase, nothing else.
    let fresh = Strata::new();
    let (code, _, err) = run_env(
        &fresh,
        &[],
        &["dest", "add", "e", "--local", repo.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("STRATA_PASSPHRASE") && err.contains("--passphrase-file"),
        "{err}"
    );
    fresh.ok(&[
        "dest",
        "add",
        "e",
        "--local",
        repo.to_str().unwrap(),
        "--passphrase-file",
        pf.to_str().unwrap(),
    ]);
    fresh.ok(&["catalog", "rebuild", "--from", "e"]);
    let rebuilt = fresh.backups();
    assert!(rebuilt.contains_key(id_of(&full)) && rebuilt.contains_key(id_of(&inc)));
    fresh.restore(id_of(&inc), &fresh.path("out2"), None);
    assert!(
        fresh
            .path(&format!("out2/dir-{MARK}/notes-{MARK}.txt"))
            .exists()
    );
}

#[test]
fn wrong_and_missing_passphrases_are_refused() {
    let s = Strata::new();
    let dest = s.path("repo");
    let (code, _, err) = run_env(
        &s,
        &[],
        &[
            "dest",
            "add",
            "e",
            "--local",
            dest.to_str().unwrap(),
            "--encrypt",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--passphrase-file")
            && err.contains("--passphrase-command")
            && err.contains("STRATA_PASSPHRASE"),
        "{err}"
    );
    let env = [("STRATA_PASSPHRASE", PASS)];
    ok_env(
        &s,
        &env,
        &[
            "dest",
            "add",
            "e",
            "--local",
            dest.to_str().unwrap(),
            "--encrypt",
        ],
    );
    let src = s.path("src");
    write(&src.join("a.txt"), b"hello");
    ok_env(
        &s,
        &env,
        &[
            "task",
            "add",
            "t",
            "--dir",
            src.to_str().unwrap(),
            "--dest",
            "e",
        ],
    );
    ok_env(&s, &env, &["backup", "run", "t", "--full"]);
    let before = std::fs::read_dir(dest.join("backups")).unwrap().count();

    let (code, _, err) = run_env(
        &s,
        &[("STRATA_PASSPHRASE", "wrong")],
        &["backup", "run", "t", "--full"],
    );
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("destination e") && err.contains("STRATA_PASSPHRASE"),
        "{err}"
    );
    assert!(
        !err.contains("wrong"),
        "the passphrase is never shown: {err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
    assert_eq!(
        std::fs::read_dir(dest.join("backups")).unwrap().count(),
        before,
        "nothing written"
    );

    let (code, _, err) = run_env(&s, &[], &["backup", "run", "t", "--full"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("destination e") && err.contains("--passphrase-command"),
        "{err}"
    );

    // A passphrase file readable by others is refused; a command works.
    let loose = s.path("loose");
    std::fs::write(&loose, PASS).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = run_env(
        &s,
        &[],
        &[
            "dest",
            "add",
            "f",
            "--local",
            s.path("f").to_str().unwrap(),
            "--passphrase-file",
            loose.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    let script = s.path("pw.sh");
    std::fs::write(&script, format!("#!/bin/sh\necho '{PASS}'\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    ok_env(
        &s,
        &[],
        &[
            "dest",
            "add",
            "g",
            "--local",
            s.path("g").to_str().unwrap(),
            "--passphrase-command",
            script.to_str().unwrap(),
        ],
    );
    let audit = ok_env(&s, &[], &["audit"]);
    assert!(!audit.contains(PASS), "{audit}");
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    let i = at.min(b.len() - 1);
    b[i] ^= 0x04;
    std::fs::write(path, b).unwrap();
}

#[test]
fn tampering_is_detected_and_named() {
    let s = Strata::new();
    let (_src, repo, _) = setup(&s);
    let b = s.backup("files", "full");
    let id = id_of(&b).to_string();
    let dir = repo.join("backups").join(&id);
    let check = |what: &str, needle: &str| {
        let (code, out, err) = s.run(&["verify", &id, "--read-data"]);
        assert_eq!(code, 1, "{what}: {out}{err}");
        let all = format!("{out}{err}");
        assert!(all.contains(&id) && all.contains(needle), "{what}: {all}");
    };
    let pack = dir.join("packs/000000.pack");
    let good = std::fs::read(&pack).unwrap();
    flip(&pack, 5000);
    check("flipped pack", "does not authenticate");
    std::fs::write(&pack, &good[..good.len() - 7]).unwrap();
    check("truncated pack", "000000.pack");
    std::fs::write(&pack, &good).unwrap();
    for name in ["manifest", "COMMIT"] {
        let p = dir.join(name);
        let keep = std::fs::read(&p).unwrap();
        flip(&p, 40);
        check(name, name);
        std::fs::write(&p, keep).unwrap();
    }
    s.ok(&["verify", &id, "--read-data"]);
    // A damaged key slot: the repository no longer opens, and says which slot.
    let slot = std::fs::read_dir(repo.join("keys"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let keep = std::fs::read(&slot).unwrap();
    let text = String::from_utf8(keep.clone()).unwrap();
    let i = text.find("\"sealed\": \"").unwrap() + 12;
    let mut bad = keep.clone();
    bad[i] = if bad[i] == b'0' { b'1' } else { b'0' };
    std::fs::write(&slot, bad).unwrap();
    let (code, out, err) = s.run(&["verify", &id]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("destination e"),
        "{out}{err}"
    );
    std::fs::write(&slot, keep).unwrap();
    s.ok(&["verify", &id]);
}
