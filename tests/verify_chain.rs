//! Damage found by verify is marked where it is: on the backup whose pack
//! holds the bad data and on every backup whose restore reads it, whichever
//! of them was verified.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;
use common::{Strata, id_of};
use serde_json::Value;

#[test]
fn a_bad_byte_in_a_fulls_pack_marks_the_full_and_its_dependents() {
    let s = Strata::new();
    let src = s.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("big.bin"), common::Rng::new(7).bytes(300_000)).unwrap();
    std::fs::write(src.join("small.txt"), "small\n").unwrap();
    let repo = s.setup("d", "t", &src, &[]);
    let full = s.backup("t", "full");
    let full = id_of(&full).to_string();
    std::fs::write(src.join("small.txt"), "small, changed\n").unwrap();
    let incr = s.backup("t", "incremental");
    let incr = id_of(&incr).to_string();
    let other = s.backup("t", "full");
    let other = id_of(&other).to_string();

    // One byte flipped in the middle of the full's first pack (inside a frame).
    let pack = repo.join("backups").join(&full).join("packs/000000.pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&pack, &bytes).unwrap();

    // Verifying only the incremental finds it in the full's data.
    let (code, _, err) = s.run(&["verify", &incr, "--read-data"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("big.bin"), "the damaged file is named: {err}");
    let verified = |id: &str| -> Value {
        let b: Value = s.json(&["backup", "show", id]);
        b["verified"].clone()
    };
    assert_eq!(verified(&incr)["ok"], false);
    assert_eq!(verified(&full)["ok"], false, "the full holds the bad chunk");
    assert!(
        verified(&other).is_null(),
        "a backup of another chain is untouched"
    );
    let table = s.ok(&["backup", "list"]);
    assert_eq!(table.matches("DAMAGED").count(), 2, "{table}");
}

#[test]
fn a_restore_that_cannot_write_every_file_says_partial() {
    let s = Strata::new();
    let src = s.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("big.bin"), common::Rng::new(9).bytes(300_000)).unwrap();
    std::fs::write(src.join("small.txt"), "small\n").unwrap();
    let repo = s.setup("d", "t", &src, &[]);
    let full = s.backup("t", "full");
    let full = id_of(&full).to_string();
    let pack = repo.join("backups").join(&full).join("packs/000000.pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&pack, &bytes).unwrap();

    let to = s.path("restored");
    let (code, out, err) = s.run(&["restore", &full, "--to", to.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("PARTIAL: restored backup"), "{out}");
    assert!(err.contains("big.bin"), "the file is listed: {err}");
    let to = s.path("restored-json");
    let (code, out, _) = s.run(&["restore", &full, "--to", to.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "partial", "{v}");
    assert_eq!(v["report"]["errors"].as_array().unwrap().len(), 1, "{v}");
}
