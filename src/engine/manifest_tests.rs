//! Tests of the parent module (kept apart to keep the module readable).
use super::*;
use proptest::prelude::*;

fn arb_manifest() -> impl Strategy<Value = Manifest> {
    let packs = proptest::collection::vec(("[a-z0-9-]{1,20}", any::<u32>(), any::<u64>()), 1..4);
    (packs, proptest::collection::vec(any::<u8>(), 0..40)).prop_flat_map(|(packs, seed)| {
        let np = packs.len() as u32;
        let chunks = proptest::collection::vec(
            (
                any::<[u8; 32]>(),
                0..np,
                any::<u64>(),
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
            ),
            0..8,
        );
        (Just(packs), chunks, Just(seed)).prop_flat_map(|(packs, chunks, _)| {
            let nc = chunks.len() as u32;
            let kind = prop_oneof![
                Just(EntryKind::Dir),
                proptest::collection::vec(0..nc.max(1), 0..4).prop_map(move |c| {
                    if nc == 0 {
                        EntryKind::File { chunks: vec![] }
                    } else {
                        EntryKind::File { chunks: c }
                    }
                }),
                proptest::collection::vec(any::<u8>(), 0..30)
                    .prop_map(|t| EntryKind::Symlink { target: t }),
                proptest::collection::vec(any::<u8>(), 1..30)
                    .prop_map(|t| EntryKind::HardLink { target: t }),
            ];
            let entry = (
                proptest::collection::vec(any::<u8>(), 1..40),
                kind,
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                any::<i64>(),
                any::<i64>(),
                any::<u64>(),
                any::<u64>(),
            )
                .prop_map(
                    |(path, kind, mode, uid, gid, mtime_ns, ctime_ns, inode, size)| Entry {
                        path,
                        kind,
                        mode,
                        uid,
                        gid,
                        mtime_ns,
                        ctime_ns,
                        inode,
                        size,
                    },
                );
            (
                Just(packs),
                Just(chunks),
                proptest::collection::vec(entry, 0..10),
                any::<i64>(),
                proptest::option::of("[a-z0-9-]{1,20}"),
            )
                .prop_map(|(packs, chunks, entries, created, parent)| Manifest {
                    backup_id: "20261122-000000-abcd".into(),
                    task: "t".into(),
                    kind: BackupKind::Incremental,
                    parent,
                    chain: "c".into(),
                    created,
                    source: "/src".into(),
                    packs: packs
                        .into_iter()
                        .map(|(backup, number, size)| PackRef {
                            backup,
                            number,
                            size,
                        })
                        .collect(),
                    chunks: chunks
                        .into_iter()
                        .map(
                            |(id, pack, frame_offset, frame_len, offset, len)| ChunkRef {
                                id,
                                pack,
                                frame_offset,
                                frame_len,
                                offset,
                                len,
                            },
                        )
                        .collect(),
                    entries,
                })
        })
    })
}

proptest! {
    #[test]
    fn manifest_round_trips(m in arb_manifest()) {
        let bytes = m.encode(3).unwrap();
        prop_assert_eq!(Manifest::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn garbage_body_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut data = Vec::new();
        data.extend_from_slice(MANIFEST_MAGIC);
        data.extend_from_slice(&MANIFEST_VERSION.to_le_bytes());
        let packed = zstd::bulk::compress(&body, 1).unwrap();
        data.extend_from_slice(&(body.len() as u64).to_le_bytes());
        data.extend_from_slice(&packed);
        let _ = Manifest::decode(&data);
    }

    #[test]
    fn mutated_body_never_panics(m in arb_manifest(), edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        let mut body = m.encode_body();
        for (pos, val) in edits {
            let i = pos % body.len();
            body[i] = val;
        }
        let keep = cut % (body.len() + 1);
        let _ = Manifest::decode_body(&body);
        let _ = Manifest::decode_body(&body[..keep]);
    }

    #[test]
    fn flipped_bytes_never_panic(m in arb_manifest(), pos in any::<usize>(), bit in 0u8..8) {
        let mut bytes = m.encode(3).unwrap();
        let i = pos % bytes.len();
        bytes[i] ^= 1 << bit;
        let _ = Manifest::decode(&bytes);
    }

    #[test]
    fn raw_garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Manifest::decode(&data);
    }
}
