//! What `ls` and `diff` report about the entries of backups: plain data the
//! core produces from manifests and every front end shows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One entry of a backup, as `ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedEntry {
    /// Path relative to the source root (`/`-separated; bytes that are not
    /// UTF-8 shown as U+FFFD).
    pub path: String,
    /// `dir`, `file`, `symlink` or `hardlink`.
    pub kind: String,
    /// Bytes of a file (a hard link: of the file it names); 0 otherwise.
    pub size: u64,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner and group ids.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Modification time.
    pub mtime: DateTime<Utc>,
    /// A symlink's target, or the first name of a hard-linked file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl ListedEntry {
    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == "dir"
    }

    /// The last component of the path.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// How an entry differs between two backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Only in the second backup.
    Added,
    /// Only in the first backup.
    Removed,
    /// Content or type differs (a file's data, a link's target).
    Modified,
    /// Only mode, owner or modification time differ.
    Metadata,
}

impl Change {
    /// One-character mark, as `restic diff` prints: `+`, `-`, `M`, `U`.
    pub fn mark(self) -> char {
        match self {
            Change::Added => '+',
            Change::Removed => '-',
            Change::Modified => 'M',
            Change::Metadata => 'U',
        }
    }
}

/// One entry that differs between two backups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryChange {
    /// What changed.
    pub change: Change,
    /// Path relative to the source root.
    pub path: String,
    /// Kind in the second backup (in the first for a removed entry).
    pub kind: String,
    /// Size in the first backup (`None`: not there).
    pub size_before: Option<u64>,
    /// Size in the second backup (`None`: not there).
    pub size_after: Option<u64>,
}
