//! Tests of the parent module (kept apart to keep the module readable).
use super::*;
use crate::engine::manifest::{ChunkRef, Entry, PackRef};
use proptest::prelude::*;

fn entry(path: &[u8], kind: EntryKind, size: u64) -> Entry {
    Entry {
        path: path.to_vec(),
        kind,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime_ns: 0,
        ctime_ns: 0,
        inode: 1,
        size,
    }
}

fn valid() -> Manifest {
    Manifest {
        backup_id: "20261122-045609-82c3".into(),
        task: "t".into(),
        kind: BackupKind::Full,
        parent: None,
        chain: "20261122-045609-82c3".into(),
        created: 0,
        source: "/src".into(),
        packs: vec![PackRef {
            backup: "20261122-045609-82c3".into(),
            number: 0,
            size: 1000,
        }],
        chunks: vec![ChunkRef {
            id: [1; 32],
            pack: 0,
            frame_offset: 12,
            frame_len: 112,
            offset: 0,
            len: 100,
        }],
        entries: vec![
            entry(b"a", EntryKind::Dir, 0),
            entry(b"a/f", EntryKind::File { chunks: vec![0] }, 100),
            entry(
                b"a/h",
                EntryKind::HardLink {
                    target: b"a/f".to_vec(),
                },
                0,
            ),
            entry(
                b"a/l",
                EntryKind::Symlink {
                    target: b"/".to_vec(),
                },
                0,
            ),
        ],
    }
}

#[test]
fn a_valid_manifest_has_no_findings() {
    assert_eq!(check(&valid(), "20261122-045609-82c3"), vec![]);
}

#[test]
fn each_hostile_change_is_found() {
    type Mutation = fn(&mut Manifest);
    let cases: &[Mutation] = &[
        |m| m.entries[1].path = b"/etc/passwd".to_vec(),
        |m| m.entries[1].path = b"a/../../x".to_vec(),
        |m| m.entries[1].path = b"a//f".to_vec(),
        |m| m.entries[1].path = b"a/f\0".to_vec(),
        |m| m.entries[1].path = b"b/f".to_vec(),
        |m| m.entries[1].size = 99,
        |m| m.entries[0].size = 5,
        |m| m.entries.swap(0, 1),
        |m| m.entries[2] = m.entries[1].clone(),
        |m| {
            m.entries[2].kind = EntryKind::HardLink {
                target: b"/etc/shadow".to_vec(),
            }
        },
        |m| {
            m.entries[2].kind = EntryKind::HardLink {
                target: b"a".to_vec(),
            }
        },
        |m| m.entries[3].kind = EntryKind::Symlink { target: vec![] },
        |m| m.entries[1].kind = EntryKind::File { chunks: vec![7] },
        |m| m.chunks[0].pack = 3,
        |m| m.chunks[0].frame_offset = 995,
        |m| m.chunks[0].frame_len = 3,
        |m| m.chunks[0].len = 0,
        |m| m.packs[0].size = 4,
        |m| m.packs.push(m.packs[0].clone()),
        |m| m.packs[0].backup = "../x".into(),
        |m| m.backup_id = "other".into(),
        |m| m.parent = Some("p".into()),
        |m| m.kind = BackupKind::Incremental,
        |m| m.entries[1].mode = 0o170000,
    ];
    for (i, f) in cases.iter().enumerate() {
        let mut m = valid();
        f(&mut m);
        assert!(
            !check(&m, "20261122-045609-82c3").is_empty(),
            "mutation {i} was not found"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Random field changes never panic and findings stay bounded.
    #[test]
    fn random_changes_never_panic(
        path in proptest::collection::vec(any::<u8>(), 0..12),
        size in any::<u64>(),
        off in any::<u64>(),
        flen in any::<u32>(),
        len in any::<u32>(),
        pack in any::<u32>(),
        idx in 0usize..4,
    ) {
        let mut m = valid();
        m.entries[idx].path = path;
        m.entries[1].size = size;
        m.chunks[0].frame_offset = off;
        m.chunks[0].frame_len = flen;
        m.chunks[0].len = len;
        m.chunks[0].pack = pack;
        let f = check(&m, "20261122-045609-82c3");
        prop_assert!(f.len() <= 100);
        // Restore refuses exactly what verify reports.
        prop_assert_eq!(crate::engine::restore::check_paths(&m).is_err(), !f.is_empty());
    }

    /// Flipped bytes of an encoded manifest: decoding and checking never panic,
    /// and whatever restore refuses, verify's check reports.
    #[test]
    fn flipped_manifest_bytes_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let m = valid();
        let mut raw = m.encode_body_for_tests();
        for (at, b) in flips {
            let n = raw.len();
            raw[at % n] ^= b.max(1);
        }
        if let Ok(d) = Manifest::decode_body_for_tests(&raw) {
            let f = check(&d, &d.backup_id);
            prop_assert_eq!(crate::engine::restore::check_paths(&d).is_err(), !f.is_empty());
        }
    }
}
