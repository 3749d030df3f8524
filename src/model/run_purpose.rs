//! Why a run happened: every attempt (backup, sync, verify, retention) is a run.

use serde::{Deserialize, Serialize};

/// What a run did. Catalogs written before purposes existed hold only backup
/// runs, hence the serde default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunPurpose {
    /// Took a backup of the task's sources.
    #[default]
    Backup,
    /// Copied an existing backup to another destination.
    Sync,
    /// Read back the task's backups and checked them.
    Verify,
    /// Applied the task's retention (deleted expired backups).
    Retention,
}

impl RunPurpose {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunPurpose::Backup => "backup",
            RunPurpose::Sync => "sync",
            RunPurpose::Verify => "verify",
            RunPurpose::Retention => "retention",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RunPurpose;
    use crate::model::RunRecord;

    #[test]
    fn old_run_record_without_purpose_loads_as_backup() {
        let old = r#"{"id":3,"task":"t","requested":"full","kind":"full","backup_id":"b1",
            "destinations":["d"],"status":"complete","started":"2026-01-01T00:00:00Z"}"#;
        let r: RunRecord = serde_json::from_str(old).unwrap();
        assert_eq!(r.purpose, RunPurpose::Backup);
        assert_eq!(r.kind_label(), "full");
    }
}
