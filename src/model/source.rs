//! What a task backs up (`SourceConfig`) and the task's type (`SourceType`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// Whether a database source is stored as its raw data or as a logical export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceType {
    /// The raw on-disk data (a SQLite database's pages): larger, restores fastest.
    #[default]
    Snapshot,
    /// A logical export (an SQL dump, a dump command's stream): smaller,
    /// a restore rebuilds it.
    Backup,
}

impl SourceType {
    /// `snapshot` or `backup`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Snapshot => "snapshot",
            SourceType::Backup => "backup",
        }
    }

    /// Parses `snapshot` or `backup`.
    pub fn parse(s: &str) -> Option<SourceType> {
        match s {
            "snapshot" => Some(SourceType::Snapshot),
            "backup" => Some(SourceType::Backup),
            _ => None,
        }
    }
}

impl fmt::Display for SourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn backup_type() -> SourceType {
    SourceType::Backup
}

/// What a task backs up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceConfig {
    /// A directory tree.
    Dir {
        /// Absolute path of the tree's root.
        path: PathBuf,
        /// Glob patterns of entries to leave out.
        #[serde(default)]
        exclude: Vec<String>,
    },
    /// A SQLite database file.
    Sqlite {
        /// Absolute path of the database file.
        path: PathBuf,
        /// `snapshot` (pages, through the online backup API) or `backup` (an SQL dump).
        #[serde(default, rename = "type")]
        r#type: SourceType,
    },
    /// The standard output of a dump command, with the command that restores it.
    Command {
        /// The dump command; its stdout is the backup.
        dump: String,
        /// The restore command, reading the stream on stdin; `{target}` is
        /// replaced by the restore target's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restore: Option<String>,
        /// `backup` (a logical dump, the default) or `snapshot` (a physical stream).
        #[serde(default = "backup_type", rename = "type")]
        r#type: SourceType,
        /// How long the dump may run (`90m`, `2h`); unset: no limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<String>,
        /// A private (0600) file of `KEY=VALUE` lines given to the dump and
        /// restore commands as environment (secrets such as `PGPASSWORD`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        env_file: Option<PathBuf>,
    },
}

impl SourceConfig {
    /// `dir`, `sqlite` or `command`.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Dir { .. } => "dir",
            SourceConfig::Sqlite { .. } => "sqlite",
            SourceConfig::Command { .. } => "command",
        }
    }

    /// The type; `dir` sources are always snapshots.
    pub fn source_type(&self) -> SourceType {
        match self {
            SourceConfig::Dir { .. } => SourceType::Snapshot,
            SourceConfig::Sqlite { r#type, .. } | SourceConfig::Command { r#type, .. } => *r#type,
        }
    }

    /// Kind and type as tables show them: `dir`, `sqlite · snapshot`, `command · backup`.
    pub fn label(&self) -> String {
        match self {
            SourceConfig::Dir { .. } => "dir".into(),
            _ => format!("{} · {}", self.kind(), self.source_type()),
        }
    }

    /// What it reads, in one line: the path, or the dump command.
    pub fn location(&self) -> String {
        match self {
            SourceConfig::Dir { path, .. } | SourceConfig::Sqlite { path, .. } => {
                path.display().to_string()
            }
            SourceConfig::Command { dump, .. } => dump.clone(),
        }
    }

    /// Whether the source is a database (restored into a new database, not a directory).
    pub fn is_database(&self) -> bool {
        !matches!(self, SourceConfig::Dir { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_dir_records_load_and_new_kinds_round_trip() {
        let old: SourceConfig =
            serde_json::from_str(r#"{"kind":"dir","path":"/srv","exclude":["*.tmp"]}"#).unwrap();
        assert_eq!(old.label(), "dir");
        let sqlite: SourceConfig =
            serde_json::from_str(r#"{"kind":"sqlite","path":"/a.db"}"#).unwrap();
        assert_eq!(sqlite.label(), "sqlite · snapshot");
        let cmd: SourceConfig =
            serde_json::from_str(r#"{"kind":"command","dump":"pg_dump x"}"#).unwrap();
        assert_eq!(cmd.label(), "command · backup");
        for s in [old, sqlite, cmd] {
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(
                serde_json::from_str::<SourceConfig>(&text).unwrap(),
                s,
                "{text}"
            );
        }
    }
}
