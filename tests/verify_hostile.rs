//! verify finds everything restore refuses: hostile manifests, repositories this
//! build must not read, and commit markers that disagree with their objects.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test
mod common;

use common::*;
use std::path::{Path, PathBuf};
use strata::engine::manifest::{EntryKind, Manifest};

/// A backup of a small tree; returns (instance, repo path, backup id).
fn one_backup() -> (Strata, PathBuf, String) {
    let s = Strata::new();
    let src = s.path("src");
    write(&src.join("a/f1"), &[7u8; 5000]);
    write(&src.join("a/f2"), b"hello");
    write(&src.join("b/g"), b"world");
    symlink("../a/f1", &src.join("b/link"));
    let repo = s.setup("nas", "t", &src, &[]);
    let id = id_of(&s.backup("t", "full")).to_string();
    (s, repo, id)
}

fn obj(repo: &Path, key: &str) -> PathBuf {
    repo.join(key)
}

fn replace(p: &Path, data: &[u8]) {
    let _ = std::fs::remove_file(p);
    write(p, data);
}

/// Rewrites the manifest and makes the commit marker agree with it, as an
/// attacker with write access to the destination would.
fn plant(repo: &Path, id: &str, m: &Manifest) {
    let bytes = m.encode(3).expect("encode");
    replace(&obj(repo, &format!("backups/{id}/manifest")), &bytes);
    let ck = obj(repo, &format!("backups/{id}/COMMIT"));
    let mut c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ck).expect("read COMMIT")).expect("COMMIT json");
    let h = blake3::hash(&bytes).to_hex().to_string();
    c["manifest_hash"] = h.clone().into();
    c["backup"]["manifest_hash"] = h.into();
    c["manifest_size"] = (bytes.len() as u64).into();
    replace(&ck, serde_json::to_vec_pretty(&c).expect("json").as_slice());
}

/// A second home that learns the planted backup through `catalog rebuild`.
fn adopt(repo: &Path) -> Strata {
    let s = Strata::new();
    s.ok(&[
        "dest",
        "add",
        "nas",
        "--local",
        repo.to_str().expect("utf-8"),
    ]);
    s.ok(&["catalog", "rebuild", "--from", "nas"]);
    s
}

type Mutation = fn(&mut Manifest);

fn idx(m: &Manifest, p: &[u8]) -> usize {
    m.entries.iter().position(|e| e.path == p).expect("entry")
}

fn hostile() -> Vec<(&'static str, Mutation)> {
    vec![
        ("absolute path", |m| {
            let i = idx(m, b"a/f2");
            m.entries[i].path = b"/tmp/x".to_vec()
        }),
        ("dotdot path", |m| {
            let i = idx(m, b"a/f2");
            m.entries[i].path = b"a/../../x".to_vec()
        }),
        ("dot component", |m| {
            let i = idx(m, b"a/f2");
            m.entries[i].path = b"a/./f2".to_vec()
        }),
        ("empty component", |m| {
            let i = idx(m, b"a/f2");
            m.entries[i].path = b"a//f2".to_vec()
        }),
        ("NUL in path", |m| {
            let i = idx(m, b"a/f2");
            m.entries[i].path = b"a/f\x002".to_vec()
        }),
        ("empty path", |m| m.entries[0].path = Vec::new()),
        ("missing parent", |m| {
            let i = idx(m, b"a/f2");
            m.entries[i].path = b"a/zz/f2".to_vec()
        }),
        ("parent is a symlink", |m| {
            let i = idx(m, b"b/g");
            m.entries[i].path = b"b/link/g".to_vec();
            m.entries.sort_by(|a, b| a.path.cmp(&b.path))
        }),
        ("parent is a file", |m| {
            let i = idx(m, b"a/f2");
            m.entries[i].path = b"a/f1/x".to_vec();
            m.entries.sort_by(|a, b| a.path.cmp(&b.path))
        }),
        ("duplicate path", |m| {
            let i = idx(m, b"a/f2");
            let e = m.entries[i].clone();
            m.entries.insert(i, e)
        }),
        ("unsorted", |m| {
            let n = m.entries.len();
            m.entries.swap(0, n - 1)
        }),
        ("file size too large", |m| {
            let i = idx(m, b"a/f2");
            m.entries[i].size += 1
        }),
        ("file size too small", |m| {
            let i = idx(m, b"a/f1");
            m.entries[i].size -= 1
        }),
        ("dir with size", |m| {
            let i = idx(m, b"a");
            m.entries[i].size = 4
        }),
        ("symlink with size", |m| {
            let i = idx(m, b"b/link");
            m.entries[i].size = 4
        }),
        ("empty symlink target", |m| {
            let i = idx(m, b"b/link");
            m.entries[i].kind = EntryKind::Symlink { target: Vec::new() }
        }),
        ("NUL symlink target", |m| {
            let i = idx(m, b"b/link");
            m.entries[i].kind = EntryKind::Symlink {
                target: b"x\0y".to_vec(),
            }
        }),
        ("hard link outside", |m| {
            let i = idx(m, b"b/g");
            m.entries[i].kind = EntryKind::HardLink {
                target: b"/etc/passwd".to_vec(),
            };
            m.entries[i].size = 0
        }),
        ("hard link to dir", |m| {
            let i = idx(m, b"b/g");
            m.entries[i].kind = EntryKind::HardLink {
                target: b"a".to_vec(),
            };
            m.entries[i].size = 0
        }),
        ("hard link forward", |m| {
            let i = idx(m, b"a/f2");
            m.entries[i].kind = EntryKind::HardLink {
                target: b"b/g".to_vec(),
            };
            m.entries[i].size = 0
        }),
        ("chunk beyond pack", |m| {
            m.chunks[0].frame_offset = m.packs[0].size
        }),
        ("chunk frame too short", |m| m.chunks[0].frame_len = 4),
        ("empty chunk", |m| m.chunks[0].len = 0),
        ("pack listed twice", |m| {
            let p = m.packs[0].clone();
            m.packs.push(p)
        }),
        ("pack owner escapes", |m| {
            m.packs[0].backup = "../../x".into()
        }),
        ("wrong backup id", |m| {
            m.backup_id = "20200101-000000-0000".into()
        }),
        ("full with parent", |m| {
            m.parent = Some("20200101-000000-0000".into())
        }),
        ("bad mode", |m| m.entries[0].mode = 0o40755),
    ]
}

#[test]
fn every_hostile_manifest_is_damaged_for_verify_and_refused_by_restore() {
    let (s, repo, id) = one_backup();
    let base = Manifest::decode(
        &std::fs::read(obj(&repo, &format!("backups/{id}/manifest"))).expect("read"),
    )
    .expect("decode");
    let pristine = s.path("pristine");
    copy_tree(&repo, &pristine);
    let cases = hostile();
    assert!(cases.len() >= 25);
    for (name, f) in cases {
        let work = s.path(&format!("case-{}", name.replace(' ', "-")));
        copy_tree(&pristine, &work);
        let mut m = base.clone();
        f(&mut m);
        plant(&work, &id, &m);
        let h = adopt(&work);
        let (code, out, err) = h.run(&["verify", id.as_str()]);
        assert_eq!(code, 1, "{name}: verify exit {code}\n{out}\n{err}");
        assert!(
            format!("{out}{err}").contains(&id),
            "{name}: verify does not name {id}: {out}{err}"
        );
        let to = h.path("restored");
        let (code, out, err) =
            h.run(&["restore", id.as_str(), "--to", to.to_str().expect("utf-8")]);
        assert_ne!(code, 0, "{name}: restore accepted it\n{out}\n{err}");
        assert!(
            !to.join("tmp").exists() && !h.path("x").exists(),
            "{name}: wrote outside"
        );
    }
}

fn copy_tree(from: &Path, to: &Path) {
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(st.success());
}

#[test]
fn repositories_this_build_must_not_read_are_refused_by_every_reader() {
    let (s, repo, id) = one_backup();
    let cfg = repo.join("strata-repo.toml");
    let good = std::fs::read_to_string(&cfg).expect("read config");
    let variants: Vec<(&str, Option<String>, &str)> = vec![
        ("missing", None, "strata-repo.toml is missing"),
        (
            "format 2",
            Some(good.replace("format = 1", "format = 2")),
            "format 2",
        ),
        (
            "encryption",
            Some(good.replace("encryption = \"none\"", "encryption = \"aes-gcm\"")),
            "encryption \"aes-gcm\"",
        ),
        (
            "compression",
            Some(good.replace("compression = \"zstd\"", "compression = \"lz4\"")),
            "compression \"lz4\"",
        ),
    ];
    for (name, text, what) in variants {
        match &text {
            None => std::fs::remove_file(&cfg).expect("remove"),
            Some(t) => replace(&cfg, t.as_bytes()),
        }
        let to = s.path(&format!("out-{}", name.replace(' ', "-")));
        for args in [
            vec!["verify", id.as_str()],
            vec!["restore", id.as_str(), "--to", to.to_str().expect("utf-8")],
            vec!["catalog", "rebuild", "--from", "nas"],
        ] {
            let (code, out, err) = s.run(&args);
            assert_eq!(code, 1, "{name} {args:?}: exit {code}\n{out}\n{err}");
            let all = format!("{out}{err}");
            assert!(
                all.contains("destination nas") && all.contains(what),
                "{name} {args:?}: {all}"
            );
        }
        assert!(!to.exists() || std::fs::read_dir(&to).expect("dir").next().is_none());
        replace(&cfg, good.as_bytes());
    }
    s.ok(&["verify", id.as_str()]);
}

fn edit_commit(repo: &Path, id: &str, f: impl Fn(&mut serde_json::Value)) {
    let ck = obj(repo, &format!("backups/{id}/COMMIT"));
    let mut c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ck).expect("read")).expect("json");
    f(&mut c);
    replace(&ck, serde_json::to_vec_pretty(&c).expect("json").as_slice());
}

#[test]
fn commit_sizes_that_disagree_with_the_objects_are_reported() {
    let (s, repo, id) = one_backup();
    let ck = obj(&repo, &format!("backups/{id}/COMMIT"));
    let good = std::fs::read(&ck).expect("read");
    edit_commit(&repo, &id, |c| c["manifest_size"] = 3.into());
    let (code, out, err) = s.run(&["verify", id.as_str()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("commit marker records 3"),
        "{out}{err}"
    );
    replace(&ck, &good);
    edit_commit(&repo, &id, |c| c["packs"][0]["size"] = 13.into());
    for extra in [None, Some("--read-data")] {
        let mut args = vec!["verify", id.as_str()];
        args.extend(extra);
        let (code, out, err) = s.run(&args);
        assert_eq!(code, 1, "{out}{err}");
        assert!(format!("{out}{err}").contains("13 expected"), "{out}{err}");
    }
    replace(&ck, &good);
    s.ok(&["verify", id.as_str(), "--read-data"]);
}
