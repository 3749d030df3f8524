//! Backup ids: sortable by time, unique without coordination.

use chrono::{DateTime, Utc};

/// Random hex characters at the end of a new id. 32 bits make two ids of one
/// second collide about once in 10^9 pairs; the exclusive claim on every
/// destination (`backups/<id>/CLAIM`) catches even that, so uniqueness never
/// rests on chance alone.
pub const SUFFIX_HEX: usize = 8;

/// Test hook: the first id a run tries, so tests can provoke a collision.
pub const TEST_ID_ENV: &str = "STRATA_TEST_BACKUP_ID";

/// A new backup id `YYYYMMDD-HHMMSS-xxxxxxxx`: the time makes lists sort
/// naturally, the random suffix keeps ids of one second apart.
pub fn new_backup_id(now: DateTime<Utc>) -> String {
    let suffix: u32 = rand::random();
    format!(
        "{}-{suffix:0width$x}",
        now.format("%Y%m%d-%H%M%S"),
        width = SUFFIX_HEX
    )
}

/// The id a run tries first: [`TEST_ID_ENV`] when a test set it to a valid id,
/// else a fresh one.
pub fn first_backup_id(now: DateTime<Utc>) -> String {
    match std::env::var(TEST_ID_ENV) {
        Ok(id) if is_valid_backup_id(&id) => id,
        _ => new_backup_id(now),
    }
}

/// Whether `s` has the shape of a backup id (safe to use as a directory name).
/// Ids of earlier releases (4 hex characters) stay valid.
pub fn is_valid_backup_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_valid() {
        let now = Utc::now();
        let a = new_backup_id(now);
        let b = new_backup_id(now);
        assert_ne!(a, b);
        assert!(is_valid_backup_id(&a));
        assert!(!is_valid_backup_id("../x"));
        assert!(is_valid_backup_id("20261122-045612-4425"), "old ids");
    }

    #[test]
    fn one_second_of_ids_has_a_long_random_suffix_and_no_repeats() {
        let now = Utc::now();
        let prefix = now.format("%Y%m%d-%H%M%S-").to_string();
        let ids: HashSet<String> = (0..20_000).map(|_| new_backup_id(now)).collect();
        // With the old 4-hex suffix, 20,000 ids of one second repeat about 3,000
        // times. With 32 random bits a repeat is rare (about 5 % of runs see
        // one) but possible, which the run's claim handles; three are not.
        assert!(ids.len() >= 20_000 - 2, "{} distinct", ids.len());
        for id in &ids {
            let suffix = id.strip_prefix(&prefix).unwrap_or_default();
            assert_eq!(suffix.len(), SUFFIX_HEX, "{id}");
            assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        }
    }
}
