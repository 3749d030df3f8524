//! The `Destination` contract every kind keeps, for the tests against real
//! servers (`remote_s3.rs`, `remote_azure.rs`, `remote_sftp.rs`, each
//! including this file with `#[path]`): create-only puts, whole and ranged
//! reads, sizes, classified errors, sorted one-level listings, calls from
//! another tokio runtime, and idempotent deletion.

use strata::dest::{DestError, Destination, ErrorKind};

/// Writes `backups/a/x`, `backups/b/y` and `backups/a/sub/z`, and checks
/// every read and listing of them.
pub fn writes_and_reads(d: &dyn Destination) {
    d.put("backups/a/x", b"hello").unwrap();
    for again in [&b"hello"[..], b"other"] {
        let e = d.put("backups/a/x", again).unwrap_err();
        assert!(
            matches!(e, DestError::Exists { .. }),
            "put never replaces: {e}"
        );
    }
    assert_eq!(d.get("backups/a/x").unwrap(), b"hello");
    assert_eq!(d.get_range("backups/a/x", 1, 3).unwrap(), b"ell");
    assert!(d.get_range("backups/a/x", 3, 10).is_err());
    assert_eq!(d.size("backups/a/x").unwrap(), Some(5));
    assert_eq!(d.size("backups/a/none").unwrap(), None);
    assert_eq!(
        d.get("backups/a/none").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        d.put("../escape", b"").unwrap_err().kind(),
        ErrorKind::BadKey
    );
    d.put("backups/b/y", b"").unwrap();
    d.put("backups/a/sub/z", b"z").unwrap();
    assert_eq!(d.list("backups").unwrap(), ["a", "b"]);
    assert_eq!(d.list("backups/a/").unwrap(), ["sub", "x"]);
    assert!(d.list("nothing/here").unwrap().is_empty());
}

/// A read from inside another runtime (as the SSH server's handlers make).
pub fn reads_from_another_runtime(d: &dyn Destination) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let got = rt.block_on(async { d.get("backups/a/sub/z").unwrap() });
    assert_eq!(got, b"z");
}

/// Deletes what [`writes_and_reads`] wrote, each deletion twice (missing is fine).
pub fn deletes(d: &dyn Destination) {
    d.delete("backups/b/y").unwrap();
    d.delete("backups/b/y").unwrap();
    d.delete_prefix("backups/a").unwrap();
    d.delete_prefix("backups/a").unwrap();
}
