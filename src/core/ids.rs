//! Backup ids: sortable by time, unique without coordination.

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new backup id `YYYYMMDD-HHMMSS-xxxx`: the time makes lists sort naturally,
/// the suffix (hash of time, pid and a counter) keeps two ids of one second apart.
pub fn new_backup_id(now: DateTime<Utc>) -> String {
    let mut h = blake3::Hasher::new();
    h.update(&now.timestamp_nanos_opt().unwrap_or_default().to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let suffix = h.finalize().to_hex();
    format!("{}-{}", now.format("%Y%m%d-%H%M%S"), &suffix[..4])
}

/// Whether `s` has the shape of a backup id (safe to use as a directory name).
pub fn is_valid_backup_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_valid() {
        let now = Utc::now();
        let a = new_backup_id(now);
        let b = new_backup_id(now);
        assert_ne!(a, b);
        assert!(is_valid_backup_id(&a));
        assert!(!is_valid_backup_id("../x"));
    }
}
