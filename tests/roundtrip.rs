//! Round trips through the real binary: back up a tree (full, incremental,
//! differential), restore every backup, and compare the trees entry by entry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// Printable pseudo-random text of `n` bytes (compressible, unlike `Rng::bytes`).
fn text(rng: &mut Rng, n: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "strata", "chunk", "pack", "chain", "full", "delta", "restore", "verify", "the", "a",
        "backup", "of", "tree\n",
    ];
    let mut v = Vec::with_capacity(n + 16);
    while v.len() < n {
        v.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
        v.push(b' ');
    }
    v.truncate(n);
    v
}

fn p(root: &Path, rel: &str) -> PathBuf {
    root.join(rel)
}

/// A 200-byte file name (the limit of one component is 255).
fn long_name() -> String {
    format!("{}.txt", "l".repeat(196))
}

/// The tree of the fidelity test: every kind of entry and awkward name.
fn build_rich_tree(src: &Path, rng: &mut Rng) {
    fs::create_dir_all(src).unwrap();
    write(&p(src, "docs/a/b/c/deep.txt"), &text(rng, 5000));
    write(&p(src, "docs/a/b/notes.txt"), &text(rng, 700));
    write(&p(src, "docs/a/readme.md"), b"# readme\n");
    write(&p(src, "empty"), b"");
    write(&p(src, "one"), b"1");
    write(&p(src, "small.txt"), &text(rng, 3 * KIB + 17));
    write(&p(src, "data/big.bin"), &rng.bytes(3 * MIB + 12_345));
    write(&p(src, "data/medium.bin"), &rng.bytes(200_000));
    write(&p(src, "names/caf\u{e9}"), b"nfc");
    write(&p(src, "names/cafe\u{301}"), b"nfd!");
    write(&p(src, "names/with space.txt"), b"spaces");
    write(&p(src, "names/quote\"s'.txt"), b"quotes");
    write(&p(src, "names/back\\slash"), b"backslash");
    write(&p(src, "names/tab\there"), b"tab");
    write(&p(src, "names/new\nline"), b"newline");
    write(&p(src, "names").join(long_name()), &text(rng, 100));
    // A name that is not UTF-8 (Latin-1 "é").
    write(
        &p(src, "names").join(OsStr::from_bytes(b"latin1-\xe9")),
        b"not utf-8",
    );
    // Sizes around the chunker's minimum (64 KiB).
    write(&p(src, "data/min-chunk"), &rng.bytes(64 * KIB));
    write(&p(src, "data/min-chunk+1"), &rng.bytes(64 * KIB + 1));
    fs::create_dir_all(p(src, "empty-dir")).unwrap();
    write(&p(src, "names/old"), b"older than the epoch");
    set_mtime(&p(src, "names/old"), time_at(-31_536_001, 500_000_000));
    fs::create_dir(p(src, "links")).unwrap();
    symlink("../small.txt", &p(src, "links/rel"));
    symlink("does/not/exist", &p(src, "links/dangling"));
    symlink("/etc/hostname", &p(src, "links/abs"));
    write(&p(src, "hard/a"), b"shared by two names");
    fs::hard_link(p(src, "hard/a"), p(src, "hard/b")).unwrap();
    write(&p(src, "bin/tool.sh"), b"#!/bin/sh\necho hi\n");
    chmod(&p(src, "bin/tool.sh"), 0o755);
    write(&p(src, "ro.txt"), b"read only");
    chmod(&p(src, "ro.txt"), 0o444);
    write(&p(src, "private/secret"), b"s3cr3t");
    chmod(&p(src, "private"), 0o700);
    set_mtime(&p(src, "empty"), time_at(1_000_000_000, 0));
    set_mtime(&p(src, "small.txt"), time_at(1_500_000_000, 123_456_789));
    set_mtime(&p(src, "docs/a/b/c"), time_at(1_300_000_000, 999_999_999));
}

/// Round 1 (before an incremental).
fn round1(src: &Path, rng: &mut Rng) {
    // Same size, new content, explicit distinct mtime.
    let n = fs::metadata(p(src, "small.txt")).unwrap().len() as usize;
    write(&p(src, "small.txt"), &text(rng, n));
    set_mtime(&p(src, "small.txt"), time_at(1_500_000_100, 1));
    append(&p(src, "one"), b" more");
    set_mtime(&p(src, "one"), time_at(1_500_000_200, 2));
    truncate(&p(src, "docs/a/b/c/deep.txt"), 1000);
    set_mtime(&p(src, "docs/a/b/c/deep.txt"), time_at(1_500_000_300, 3));
    overwrite_at(
        &p(src, "data/big.bin"),
        (3 * MIB / 2) as u64,
        &rng.bytes(4 * KIB),
    );
    set_mtime(&p(src, "data/big.bin"), time_at(1_500_000_400, 4));
    // Additions, including a new nested directory.
    write(&p(src, "new1/sub/added.txt"), &text(rng, 2000));
    write(&p(src, "new1/sub/added2.bin"), &rng.bytes(100_000));
    write(&p(src, "names/fresh"), b"fresh");
    // Deletions.
    fs::remove_file(p(src, "names/with space.txt")).unwrap();
    fs::remove_file(p(src, "data/medium.bin")).unwrap();
    // Renames of a file and of a directory.
    fs::rename(p(src, "names/tab\there"), p(src, "names/tab-renamed")).unwrap();
    fs::rename(p(src, "docs/a/b"), p(src, "docs/a/bee")).unwrap();
    // Mode changes.
    chmod(&p(src, "bin/tool.sh"), 0o700);
    chmod(&p(src, "private"), 0o750);
    chmod(&p(src, "small.txt"), 0o600);
    // New symlink target.
    symlink("../one", &p(src, "links/rel"));
    // Explicit mtimes in the past, directories last.
    set_mtime(&p(src, "new1/sub/added.txt"), time_at(1_234_567_890, 1));
    set_mtime(&p(src, "new1/sub"), time_at(1_234_567_891, 0));
    set_mtime(&p(src, "docs/a"), time_at(1_400_000_000, 42));
    set_mtime(&p(src, "names"), time_at(1_450_000_000, 0));
}

/// Round 2 (before a differential).
fn round2(src: &Path, rng: &mut Rng) {
    write(&p(src, "names/caf\u{e9}"), b"NFC");
    set_mtime(&p(src, "names/caf\u{e9}"), time_at(1_600_000_000, 10));
    append(&p(src, "names/cafe\u{301}"), b" appended");
    set_mtime(&p(src, "names/cafe\u{301}"), time_at(1_600_000_001, 11));
    truncate(&p(src, "data/big.bin"), (2 * MIB + 7) as u64);
    set_mtime(&p(src, "data/big.bin"), time_at(1_600_000_002, 12));
    // Content of a hard-linked file changes under both names; a third name appears.
    write(&p(src, "hard/a"), b"shared by three names now");
    set_mtime(&p(src, "hard/a"), time_at(1_600_000_003, 13));
    fs::hard_link(p(src, "hard/a"), p(src, "hard/c")).unwrap();
    write(&p(src, "new2/x/y/z.txt"), &text(rng, 333));
    fs::create_dir_all(p(src, "new2/x/empty-dir")).unwrap();
    fs::remove_file(p(src, "new1/sub/added2.bin")).unwrap();
    fs::remove_file(p(src, "links/abs")).unwrap();
    fs::rename(
        p(src, "names/quote\"s'.txt"),
        p(src, "names/quotes renamed"),
    )
    .unwrap();
    fs::rename(p(src, "new1"), p(src, "new1-renamed")).unwrap();
    chmod(&p(src, "ro.txt"), 0o644);
    write(&p(src, "ro.txt"), b"now writable");
    set_mtime(&p(src, "ro.txt"), time_at(1_600_000_004, 14));
    chmod(&p(src, "bin/tool.sh"), 0o750);
    symlink("still/missing/../nope", &p(src, "links/dangling"));
    set_mtime(&p(src, "new2/x/y"), time_at(1_100_000_000, 5));
    set_mtime(&p(src, "new2/x/empty-dir"), time_at(1_100_000_001, 6));
    set_mtime(&p(src, "hard"), time_at(1_100_000_002, 7));
    set_mtime(&p(src, "names"), time_at(1_100_000_003, 8));
}

/// Round 3 (before an incremental on top of the differential).
fn round3(src: &Path, rng: &mut Rng) {
    overwrite_at(&p(src, "data/big.bin"), 0, &rng.bytes(10));
    set_mtime(&p(src, "data/big.bin"), time_at(1_700_000_000, 20));
    // A file becomes a directory; a symlink becomes a file.
    fs::remove_file(p(src, "names/back\\slash")).unwrap();
    write(&p(src, "names/back\\slash/inside"), b"now a directory");
    fs::remove_file(p(src, "links/rel")).unwrap();
    write(&p(src, "links/rel"), b"was a symlink");
    set_mtime(&p(src, "links/rel"), time_at(1_700_000_001, 21));
    // The first name of the hard-link group goes away.
    fs::remove_file(p(src, "hard/a")).unwrap();
    // Two files swap names (same sizes and mtimes stay with their content).
    fs::rename(p(src, "one"), p(src, "swap.tmp")).unwrap();
    fs::rename(p(src, "empty"), p(src, "one")).unwrap();
    fs::rename(p(src, "swap.tmp"), p(src, "empty")).unwrap();
    write(&p(src, "new3/file"), &text(rng, 1234));
    fs::rename(p(src, "names").join(long_name()), p(src, "names/short")).unwrap();
    fs::rename(p(src, "docs/a/bee/c"), p(src, "docs/cc")).unwrap();
    chmod(&p(src, "private"), 0o700);
    chmod(&p(src, "ro.txt"), 0o400);
    symlink("/abs/now", &p(src, "links/dangling"));
    set_mtime(&p(src, "new3"), time_at(1_700_000_002, 22));
    set_mtime(&p(src, "docs"), time_at(1_700_000_003, 23));
    set_mtime(&p(src, "names/back\\slash"), time_at(1_700_000_004, 24));
}

/// Changes one round makes to the source tree.
type Round = fn(&Path, &mut Rng);

fn field<'a>(row: &'a Value, f: &str) -> &'a Value {
    &row[f]
}

#[test]
fn fidelity_over_full_incremental_differential_chain() {
    let s = Strata::new();
    let src = s.path("src");
    let mut rng = Rng::new(1);
    build_rich_tree(&src, &mut rng);
    s.setup("repo", "t", &src, &[]);

    let mut taken: Vec<(Value, BTreeMap<PathBuf, EntrySnap>)> = Vec::new();
    let snap = snapshot(&src);
    let full = s.backup("t", "full");
    assert_eq!(u64_of(&full, "changed_files"), u64_of(&full, "file_count"));
    taken.push((full, snap));

    let rounds: [(Round, &str); 3] = [
        (round1, "incremental"),
        (round2, "differential"),
        (round3, "incremental"),
    ];
    for (change, kind) in rounds {
        change(&src, &mut rng);
        let snap = snapshot(&src);
        let b = s.backup("t", kind);
        assert!(
            u64_of(&b, "changed_files") < u64_of(&b, "file_count"),
            "a {kind} re-read every file instead of reusing unchanged ones: {b:#}"
        );
        taken.push((b, snap));
    }

    for (i, (b, snap)) in taken.iter().enumerate() {
        let id = id_of(b);
        let to = s.path(&format!("restore-{i}"));
        s.restore(id, &to, None);
        assert_same_tree(
            &format!("restore of backup #{i} {id} ({})", b["kind"]),
            snap,
            &snapshot(&to),
        );
    }

    let ids: Vec<&str> = taken.iter().map(|(b, _)| id_of(b)).collect();
    let rows = s.backups();
    assert_eq!(rows.len(), 4, "backup list: {rows:#?}");
    let expect = [
        ("full", None),
        ("incremental", Some(ids[0])),
        ("differential", Some(ids[0])),
        ("incremental", Some(ids[2])),
    ];
    for (id, (kind, parent)) in ids.iter().zip(expect) {
        let row = rows
            .get(*id)
            .unwrap_or_else(|| panic!("backup {id} is not listed: {rows:#?}"));
        assert_eq!(field(row, "kind"), kind, "{row:#}");
        assert_eq!(field(row, "parent").as_str(), parent, "{row:#}");
        assert_eq!(field(row, "chain"), ids[0], "{row:#}");
        assert_eq!(field(row, "status"), "complete", "{row:#}");
    }
    // Dependents as the list reports them: the full carries the first incremental
    // and the differential, the differential the last incremental.
    let deps = |id: &str| -> Vec<String> {
        let mut v: Vec<String> = rows[id]["dependents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let mut of_full = vec![ids[1].to_string(), ids[2].to_string()];
    of_full.sort();
    assert_eq!(deps(ids[0]), of_full);
    assert_eq!(deps(ids[2]), vec![ids[3].to_string()]);
    assert!(deps(ids[1]).is_empty() && deps(ids[3]).is_empty());

    let (code, out, err) = s.run(&["verify", "--all", "--read-data"]);
    assert_eq!(code, 0, "verify --all --read-data:\n{out}\n{err}");
}

#[test]
fn restore_subpath_only_restores_that_subtree() {
    let s = Strata::new();
    let src = s.path("src");
    let mut rng = Rng::new(2);
    // The first name (in path order) of this pair lies outside the subtree.
    write(&p(&src, "aaa-first"), &text(&mut rng, 4000));
    write(&p(&src, "docs/a/x/y/deep.bin"), &rng.bytes(300_000));
    fs::hard_link(p(&src, "aaa-first"), p(&src, "docs/a/x/linked")).unwrap();
    write(&p(&src, "docs/a/h1"), b"pair inside the subtree");
    fs::hard_link(p(&src, "docs/a/h1"), p(&src, "docs/a/h2")).unwrap();
    symlink("x/linked", &p(&src, "docs/a/sym"));
    write(&p(&src, "docs/a/exec"), b"#!/bin/sh\n");
    chmod(&p(&src, "docs/a/exec"), 0o755);
    write(
        &p(&src, "docs/ab"),
        b"sibling whose name extends the subpath",
    );
    write(&p(&src, "docs/b/other"), b"outside");
    write(&p(&src, "top.txt"), b"outside");
    chmod(&p(&src, "docs/a/x"), 0o750);
    set_mtime(&p(&src, "docs/a/x/y"), time_at(1_200_000_000, 7));
    set_mtime(&p(&src, "docs/a"), time_at(1_200_000_001, 8));
    set_mtime(&p(&src, "docs"), time_at(1_200_000_002, 9));
    s.setup("repo", "t", &src, &[]);
    let id = id_of(&s.backup("t", "full")).to_string();
    let src_snap = snapshot(&src);

    // A directory subtree.
    let to = s.path("restore-dir");
    s.restore(&id, &to, Some("docs/a"));
    let got = snapshot(&to);
    let mut expected = subtree(&src_snap, Path::new("docs/a"));
    expected.insert("docs".into(), src_snap[Path::new("docs")].clone());
    let keys = |m: &BTreeMap<PathBuf, EntrySnap>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&got),
        keys(&expected),
        "restore --path docs/a restored other entries"
    );
    // Inside the subtree the trees compare equal, hard links included (the pair
    // whose first name lies outside becomes a plain file with the same content).
    assert_same_tree(
        "restore --path docs/a, inside the subtree",
        &snapshot(&src.join("docs/a")),
        &snapshot(&to.join("docs/a")),
    );
    // The subtree root and its parent keep their own metadata.
    for d in ["docs", "docs/a"] {
        assert_eq!(got[Path::new(d)], src_snap[Path::new(d)], "metadata of {d}");
    }

    // A single file whose data lives under another (first) name.
    let to = s.path("restore-file");
    s.restore(&id, &to, Some("docs/a/x/linked"));
    let got = snapshot(&to);
    assert_eq!(
        keys(&got),
        ["docs", "docs/a", "docs/a/x", "docs/a/x/linked"]
            .iter()
            .map(PathBuf::from)
            .collect::<Vec<_>>()
    );
    let want = &src_snap[Path::new("docs/a/x/linked")];
    let have = &got[Path::new("docs/a/x/linked")];
    assert_eq!(have.kind, want.kind, "content of docs/a/x/linked");
    assert_eq!((have.mode, have.mtime), (want.mode, want.mtime));
    for d in ["docs", "docs/a", "docs/a/x"] {
        assert_eq!(got[Path::new(d)], src_snap[Path::new(d)], "metadata of {d}");
    }

    // A subpath the backup does not have is an error, not an empty restore.
    let (code, _, err) = s.run(&[
        "restore".as_ref(),
        id.as_ref(),
        "--to".as_ref(),
        s.path("restore-none").as_os_str(),
        "--path".as_ref(),
        "docs/nope".as_ref(),
    ]);
    assert_ne!(code, 0, "restore of a missing subpath succeeded: {err}");
}

#[test]
fn small_write_in_large_file_stores_few_chunks() {
    let s = Strata::new();
    let src = s.path("src");
    let mut rng = Rng::new(3);
    let file = p(&src, "large.bin");
    write(&file, &rng.bytes(24 * MIB));
    set_mtime(&file, time_at(1_500_000_000, 0));
    s.setup("repo", "t", &src, &[]);
    let full = s.backup("t", "full");
    let full_stored = u64_of(&full, "stored_bytes");
    assert!(
        full_stored > 20 * MIB as u64,
        "random data should not compress: full stored {full_stored} bytes"
    );

    overwrite_at(&file, 12 * MIB as u64 + 1234, &rng.bytes(4 * KIB));
    set_mtime(&file, time_at(1_500_000_001, 0));
    let snap = snapshot(&src);
    let inc = s.backup("t", "incremental");
    let inc_stored = u64_of(&inc, "stored_bytes");
    assert_eq!(u64_of(&inc, "changed_files"), 1);
    assert_eq!(u64_of(&inc, "logical_bytes"), 24 * MIB as u64);
    assert!(
        inc_stored < 3 * MIB as u64,
        "a 4 KiB write stored {inc_stored} bytes (expected a few chunks, < 3 MiB)"
    );
    assert!(
        inc_stored * 8 < full_stored,
        "incremental stored {inc_stored} bytes, full {full_stored}"
    );

    let to = s.path("restore");
    s.restore(id_of(&inc), &to, None);
    assert_same_tree("restore of the incremental", &snap, &snapshot(&to));
    assert!(fs::read(&file).unwrap() == fs::read(to.join("large.bin")).unwrap());
}

#[test]
fn unchanged_tree_reads_nothing() {
    let s = Strata::new();
    let src = s.path("src");
    let mut rng = Rng::new(4);
    for i in 0..40 {
        let n = rng.below(20_000) as usize;
        write(&p(&src, &format!("d{}/f{i}", i % 5)), &rng.bytes(n));
    }
    write(&p(&src, "big.bin"), &rng.bytes(2 * MIB));
    symlink("big.bin", &p(&src, "link"));
    s.setup("repo", "t", &src, &[]);
    let snap = snapshot(&src);
    let full = s.backup("t", "full");
    let first = s.backup("t", "incremental");
    let second = s.backup("t", "incremental");
    for b in [&first, &second] {
        assert_eq!(u64_of(b, "changed_files"), 0, "{b:#}");
        assert_eq!(u64_of(b, "file_count"), 41, "{b:#}");
        assert_eq!(u64_of(b, "logical_bytes"), u64_of(&full, "logical_bytes"));
        assert!(
            u64_of(b, "stored_bytes") < 64 * KIB as u64,
            "an unchanged incremental stored {} bytes",
            u64_of(b, "stored_bytes")
        );
    }
    assert_eq!(second["parent"], first["id"]);
    let to = s.path("restore");
    s.restore(id_of(&second), &to, None);
    assert_same_tree(
        "restore of the unchanged incremental",
        &snap,
        &snapshot(&to),
    );
}

#[test]
fn catalog_rebuild_restores_every_record() {
    let s = Strata::new();
    let src = s.path("src");
    let mut rng = Rng::new(5);
    write(&p(&src, "a/one.txt"), &text(&mut rng, 5000));
    write(&p(&src, "a/two.bin"), &rng.bytes(400_000));
    write(&p(&src, "b/three"), b"three");
    let repo = s.setup("repo", "t", &src, &["*.skip"]);
    let full = s.backup("t", "full");
    write(&p(&src, "a/one.txt"), &text(&mut rng, 6000));
    set_mtime(&p(&src, "a/one.txt"), time_at(1_500_000_000, 5));
    write(&p(&src, "c/new"), b"new");
    let snap = snapshot(&src);
    let inc = s.backup("t", "incremental");
    let before = s.backups();
    let task_before = s.json(&["task", "show", "t"]);

    let home = s.home();
    fs::remove_file(home.join("catalog.redb")).unwrap();
    let _ = fs::remove_file(home.join("catalog.redb.owner"));
    assert!(s.backups().is_empty(), "a fresh catalog lists backups");

    s.ok(&[
        "dest".as_ref(),
        "add".as_ref(),
        "repo".as_ref(),
        "--local".as_ref(),
        repo.as_os_str(),
    ]);
    let report = s.json(&["catalog", "rebuild", "--from", "repo"]);
    let mut added: Vec<&str> = report["added"]
        .as_array()
        .unwrap_or_else(|| panic!("rebuild report: {report:#}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    added.sort();
    let mut want = vec![id_of(&full), id_of(&inc)];
    want.sort();
    assert_eq!(added, want, "rebuild report: {report:#}");
    assert_eq!(report["tasks_added"], serde_json::json!(["t"]));

    let after = s.backups();
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    for (id, b) in &before {
        let a = &after[id];
        for f in [
            "task",
            "kind",
            "parent",
            "chain",
            "status",
            "started",
            "logical_bytes",
            "stored_bytes",
            "file_count",
            "entry_count",
            "changed_files",
            "manifest_hash",
            "destinations",
            "reclaimable_bytes",
            "dependents",
        ] {
            assert_eq!(a[f], b[f], "field {f} of backup {id} after the rebuild");
        }
    }
    let task_after = s.json(&["task", "show", "t"]);
    assert_eq!(task_after["source"], task_before["source"]);
    assert_eq!(task_after["destinations"], task_before["destinations"]);
    assert_eq!(task_after["backups"], 2);

    let to = s.path("restore");
    s.restore(id_of(&inc), &to, None);
    assert_same_tree("restore after a catalog rebuild", &snap, &snapshot(&to));
    let (code, out, err) = s.run(&["verify", "--all", "--read-data"]);
    assert_eq!(code, 0, "verify after rebuild:\n{out}\n{err}");
}

#[test]
fn excludes_leave_entries_out() {
    let s = Strata::new();
    let src = s.path("src");
    for f in [
        "keep.txt",
        "a.tmp",
        "sub/b.tmp",
        "sub/keep.tmp.txt",
        "sub/cachefile",
        "cache/x",
        "cache/deeper/y",
        "sub/cache/z",
        "other/cache",
        "d.tmp/inside",
    ] {
        write(&p(&src, f), f.as_bytes());
    }
    s.setup("repo", "t", &src, &["*.tmp", "cache/"]);
    let b = s.backup("t", "full");
    let to = s.path("restore");
    s.restore(id_of(&b), &to, None);
    let gone = ["a.tmp", "sub/b.tmp", "cache", "sub/cache", "d.tmp"];
    let expected: BTreeMap<PathBuf, EntrySnap> = snapshot(&src)
        .into_iter()
        .filter(|(k, _)| !gone.iter().any(|g| k.starts_with(g)))
        .collect();
    assert!(expected.contains_key(Path::new("other/cache")));
    assert!(expected.contains_key(Path::new("sub/keep.tmp.txt")));
    assert_same_tree("restore with excludes", &expected, &snapshot(&to));
    assert_eq!(u64_of(&b, "file_count"), 4, "{b:#}");
}
