use super::*;
use proptest::prelude::*;

fn keys(repo: &str) -> Keys {
    Keys::new(MasterKey::generate().unwrap(), repo)
}

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.as_bytes().to_vec())
}

#[test]
fn objects_open_only_at_their_place() {
    let k = keys("0123456789abcdef");
    let sealed = k.seal_object("backups/a/manifest", b"hello").unwrap();
    assert_eq!(sealed.len(), 5 + OVERHEAD);
    assert_eq!(
        k.open_object("backups/a/manifest", &sealed).unwrap(),
        b"hello"
    );
    assert_eq!(
        k.open_object("backups/b/manifest", &sealed),
        Err(CryptoError::Auth)
    );
    // The same key bound to another repository refuses it too.
    let other = k.for_repository("fedcba9876543210");
    assert!(other.same_master(&k));
    assert_eq!(
        other.open_object("backups/a/manifest", &sealed),
        Err(CryptoError::Auth)
    );
    assert!(!keys("0123456789abcdef").same_master(&k));
}

#[test]
fn frames_are_bound_to_pack_and_offset() {
    let k = keys("r");
    let f = k
        .seal_frame("backups/a/packs/000000.pack", 12, b"frame")
        .unwrap();
    assert!(k.open_frame("backups/a/packs/000000.pack", 12, &f).is_ok());
    assert!(k.open_frame("backups/a/packs/000000.pack", 52, &f).is_err());
    assert!(k.open_frame("backups/a/packs/000001.pack", 12, &f).is_err());
    assert!(k.open_object("backups/a/packs/000000.pack", &f).is_err());
    assert_eq!(k.open_frame("x", 0, &f[..10]), Err(CryptoError::Short(10)));
}

#[test]
fn nonces_are_fresh() {
    let k = keys("r");
    let a = k.seal_object("k", b"same").unwrap();
    let b = k.seal_object("k", b"same").unwrap();
    assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
}

#[test]
fn chunk_ids_are_keyed() {
    let a = keys("r");
    let b = keys("r");
    assert_ne!(a.chunk_id(b"data"), b.chunk_id(b"data"));
    assert_ne!(a.chunk_id(b"data"), *blake3::hash(b"data").as_bytes());
    assert_eq!(a.chunk_id(b"data"), a.for_repository("s").chunk_id(b"data"));
}

#[test]
fn slots_open_with_their_passphrase_only() {
    let k = keys("repo1");
    let slot = KeySlot::create(&k, &pass("right"), KdfParams::TEST, "host", "laptop").unwrap();
    assert_eq!(slot.kdf.alg, "argon2id");
    let opened = slot.open(&pass("right"), "repo1").unwrap();
    assert!(opened.same_master(&k));
    assert!(matches!(
        slot.open(&pass("wrong"), "repo1"),
        Err(CryptoError::WrongPassphrase(_))
    ));
    // A slot copied into another repository does not open there.
    assert!(slot.open(&pass("right"), "repo2").is_err());
    // Its JSON round trips and never holds the passphrase.
    let json = serde_json::to_string(&slot).unwrap();
    assert!(!json.contains("right"));
    let back: KeySlot = serde_json::from_str(&json).unwrap();
    assert!(back.open(&pass("right"), "repo1").is_ok());
}

#[test]
fn hostile_slots_are_refused_before_deriving() {
    let k = keys("r");
    let mut slot = KeySlot::create(&k, &pass("p"), KdfParams::TEST, "h", "").unwrap();
    slot.kdf.m_kib = 64 << 20; // 64 GiB
    assert!(matches!(
        slot.open(&pass("p"), "r"),
        Err(CryptoError::Slot { .. })
    ));
    let mut slot2 = KeySlot::create(&k, &pass("p"), KdfParams::TEST, "h", "").unwrap();
    slot2.kdf.salt = "zz".into();
    assert!(matches!(
        slot2.open(&pass("p"), "r"),
        Err(CryptoError::Slot { .. })
    ));
    let mut slot3 = KeySlot::create(&k, &pass("p"), KdfParams::TEST, "h", "").unwrap();
    slot3.sealed.truncate(10);
    assert!(matches!(
        slot3.open(&pass("p"), "r"),
        Err(CryptoError::Slot { .. })
    ));
    let mut slot4 = KeySlot::create(&k, &pass("p"), KdfParams::TEST, "h", "").unwrap();
    slot4.kdf.t = 2; // changed parameters derive another key
    assert!(matches!(
        slot4.open(&pass("p"), "r"),
        Err(CryptoError::WrongPassphrase(_))
    ));
}

#[test]
fn secrets_are_not_debug_printed() {
    let k = keys("r");
    let s = format!(
        "{k:?} {:?} {:?}",
        pass("hunter2"),
        MasterKey::generate().unwrap()
    );
    assert!(!s.contains("hunter2"));
    assert!(s.contains("redacted"));
}

#[test]
fn hex_round_trips() {
    assert_eq!(
        from_hex(&to_hex(&[0, 1, 254, 255])).unwrap(),
        vec![0, 1, 254, 255]
    );
    assert!(from_hex("abc").is_none());
    assert!(from_hex("zz").is_none());
}

proptest! {
    #[test]
    fn frames_round_trip(data in proptest::collection::vec(any::<u8>(), 0..70_000), off in any::<u64>()) {
        let k = keys("prop");
        let sealed = k.seal_frame("backups/x/packs/000000.pack", off, &data).unwrap();
        prop_assert_eq!(sealed.len(), data.len() + OVERHEAD);
        prop_assert_eq!(&k.open_frame("backups/x/packs/000000.pack", off, &sealed).unwrap(), &data);
        // Appended after what a pack already holds, it opens the same and leaves that alone.
        let mut pack = b"head".to_vec();
        k.seal_frame_into("backups/x/packs/000000.pack", off, &data, &mut pack).unwrap();
        prop_assert_eq!(&pack[..4], b"head");
        prop_assert_eq!(k.open_frame("backups/x/packs/000000.pack", off, &pack[4..]).unwrap(), data);
    }

    #[test]
    fn flipped_bits_are_detected(data in proptest::collection::vec(any::<u8>(), 0..4000), pos in any::<usize>(), bit in 0u8..8) {
        let k = keys("prop");
        let mut sealed = k.seal_object("o", &data).unwrap();
        let i = pos % sealed.len();
        sealed[i] ^= 1 << bit;
        prop_assert!(k.open_object("o", &sealed).is_err());
        prop_assert!(k.open_object("o", &sealed[..i]).is_err());
    }

    #[test]
    fn random_bytes_never_panic(junk in proptest::collection::vec(any::<u8>(), 0..300)) {
        let k = keys("prop");
        prop_assert!(k.open_object("o", &junk).is_err());
        prop_assert!(k.open_frame("p", 12, &junk).is_err());
        if let Ok(slot) = serde_json::from_slice::<KeySlot>(&junk) {
            let _ = slot.open(&pass("p"), "prop");
        }
    }
}
