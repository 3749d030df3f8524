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
    /// A database's own on-disk snapshot (Cassandra/Scylla `nodetool
    /// snapshot`, LVM, ZFS, btrfs): created, backed up as a directory tree,
    /// then cleared. `{tag}` in the three commands is the tag Strata picks
    /// for each backup (`strata-<task>_<backup id>`). Its type is always `snapshot`.
    Snapshot {
        /// The command that creates the snapshot tagged `{tag}`.
        create: String,
        /// Absolute glob of the directories the snapshot produces, with `{tag}`
        /// (`/var/lib/cassandra/data/*/*/snapshots/{tag}`).
        path: String,
        /// The command that removes the snapshot tagged `{tag}`.
        clear: String,
        /// After a backup, keep this many newest local snapshots (unset: clear each one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keep_local: Option<u32>,
        /// After a backup, keep the local snapshots younger than this (`1d`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keep_local_within: Option<String>,
        /// How long the create and clear commands may run (`10m`); unset: no limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<String>,
        /// A private (0600) file of `KEY=VALUE` lines for the commands.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        env_file: Option<PathBuf>,
    },
}

impl SourceConfig {
    /// `dir`, `sqlite`, `command` or `snapshot`.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Dir { .. } => "dir",
            SourceConfig::Sqlite { .. } => "sqlite",
            SourceConfig::Command { .. } => "command",
            SourceConfig::Snapshot { .. } => "snapshot",
        }
    }

    /// The type; `dir` and `snapshot` sources are always snapshots.
    pub fn source_type(&self) -> SourceType {
        match self {
            SourceConfig::Dir { .. } | SourceConfig::Snapshot { .. } => SourceType::Snapshot,
            SourceConfig::Sqlite { r#type, .. } | SourceConfig::Command { r#type, .. } => *r#type,
        }
    }

    /// Kind and type as tables show them: `dir`, `sqlite · snapshot`,
    /// `command · backup`, `snapshot` (always of type snapshot).
    pub fn label(&self) -> String {
        match self {
            SourceConfig::Dir { .. } | SourceConfig::Snapshot { .. } => self.kind().into(),
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
            SourceConfig::Snapshot { path, .. } => path.clone(),
        }
    }

    /// A snapshot source's keep rules in words: `newest 2`, `younger than
    /// 1d`, both, or none (empty for other kinds).
    pub fn keep_local_text(&self) -> String {
        let SourceConfig::Snapshot {
            keep_local,
            keep_local_within,
            ..
        } = self
        else {
            return String::new();
        };
        let mut parts = Vec::new();
        if let Some(n) = keep_local.filter(|n| *n > 0) {
            parts.push(format!("newest {n}"));
        }
        if let Some(d) = keep_local_within {
            parts.push(format!("younger than {d}"));
        }
        if parts.is_empty() {
            "none (each snapshot is cleared once backed up)".into()
        } else {
            parts.join(", ")
        }
    }

    /// Whether the source is a database (restored into a new database, not a
    /// directory): a `snapshot` source restores as a directory tree.
    pub fn is_database(&self) -> bool {
        !matches!(
            self,
            SourceConfig::Dir { .. } | SourceConfig::Snapshot { .. }
        )
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
        let snap: SourceConfig = serde_json::from_str(
            r#"{"kind":"snapshot","create":"nodetool snapshot -t {tag}","path":"/d/*/*/snapshots/{tag}","clear":"nodetool clearsnapshot -t {tag}","keep_local":2}"#,
        )
        .unwrap();
        assert_eq!(snap.label(), "snapshot");
        assert!(!snap.is_database());
        for s in [old, sqlite, cmd, snap] {
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(
                serde_json::from_str::<SourceConfig>(&text).unwrap(),
                s,
                "{text}"
            );
        }
    }
}
