//! Everything a front end can ask the core for, as values: one [`Action`] per
//! operation (queries included), with the [`Requirement`] it needs beside it.
//! `Core::perform` is the one door: it checks the role, runs the action and
//! writes the audit log. Adding an operation means adding a variant here, its
//! requirement below, its execution in `perform.rs` and its rendering in the
//! front ends; the exhaustive matches make forgetting one a compile error.

use super::access::{Requirement, Role};
use crate::model::{BackupKind, DestinationConfig, TaskConfig};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which backups `verify` checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifySelection {
    /// One backup (id, prefix or suffix).
    One(String),
    /// Every backup of a task.
    Task(String),
    /// Every backup.
    All,
}

/// One operation a front end asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Everything the console shows at one moment.
    Overview {
        /// Report each destination's state from the core's background checks
        /// (never waits; `false`: definitions and catalog figures only).
        check_destinations: bool,
    },
    /// Running and queued jobs.
    Jobs,
    /// Cancels a job.
    CancelJob {
        /// Job id.
        id: u64,
    },
    /// The newest runs, newest first.
    Runs {
        /// Only this task's.
        task: Option<String>,
        /// At most this many.
        limit: usize,
    },
    /// The audit log, oldest first.
    Audit {
        /// Only entries newer than this duration ago (`2h`, `7d`).
        since: Option<String>,
        /// Only the newest this many.
        limit: Option<usize>,
    },
    /// Destination definitions.
    ListDestinations,
    /// One destination.
    ShowDestination {
        /// Name.
        name: String,
    },
    /// Adds a destination, creating or adopting its repository.
    AddDestination {
        /// The definition.
        config: Box<DestinationConfig>,
        /// Record an SFTP server's unknown host key (never a changed one).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        accept_new_host_key: bool,
        /// A new encrypted repository shares this encrypted destination's
        /// master key (`--key-of`), so both can hold copies of one backup.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_of: Option<String>,
    },
    /// Forgets a destination (its data stays).
    RemoveDestination {
        /// Name.
        name: String,
    },
    /// Lists the key slots of an encrypted destination.
    ListDestKeys {
        /// Destination.
        name: String,
    },
    /// Adds a key slot: a second passphrase for the same repository.
    AddDestKey {
        /// Destination.
        name: String,
        /// Where the new passphrase is read (never the passphrase).
        new: Box<crate::model::EncryptionConfig>,
        /// Label of the slot.
        #[serde(default)]
        label: String,
    },
    /// Removes a key slot (never the last).
    RemoveDestKey {
        /// Destination.
        name: String,
        /// Slot id.
        id: String,
    },
    /// Replaces the slot the destination's passphrase opens by one for a new passphrase.
    ChangeDestPassphrase {
        /// Destination.
        name: String,
        /// Where the new passphrase is read (never the passphrase).
        new: Box<crate::model::EncryptionConfig>,
    },
    /// SSH keys allowed to connect.
    ListKeys,
    /// Authorizes an SSH key.
    AddKey {
        /// The public key line, given inline.
        key: Option<String>,
        /// Or a `.pub` file to read it from.
        file: Option<PathBuf>,
        /// Role name (`viewer`, `operator`, `admin`).
        role: String,
        /// Name shown in the audit log.
        name: String,
    },
    /// Removes an SSH key.
    RemoveKey {
        /// Key name.
        name: String,
    },
    /// Tasks with status and next backup.
    ListTasks,
    /// One task with its recent runs.
    ShowTask {
        /// Name.
        name: String,
    },
    /// Adds a task.
    AddTask {
        /// The definition.
        config: Box<TaskConfig>,
    },
    /// Removes a task (its backups stay).
    RemoveTask {
        /// Name.
        name: String,
        /// Accepted for clarity; backups are always kept.
        keep_backups: bool,
    },
    /// Stops scheduling a task until resumed.
    PauseTask {
        /// Name.
        name: String,
    },
    /// Schedules a paused task again.
    ResumeTask {
        /// Name.
        name: String,
    },
    /// Takes a backup now.
    RunBackup {
        /// Task name.
        task: String,
        /// Requested kind.
        kind: BackupKind,
        /// Start it in the daemon and answer at once.
        detach: bool,
    },
    /// Backups with sizes, oldest first.
    ListBackups {
        /// Only this task's.
        task: Option<String>,
    },
    /// One backup.
    ShowBackup {
        /// Id, prefix or suffix.
        id: String,
    },
    /// Deletes a backup (with its dependents when `cascade`).
    DeleteBackup {
        /// Id, prefix or suffix.
        id: String,
        /// Also delete every backup that depends on it.
        cascade: bool,
    },
    /// Protects a backup from retention and deletion.
    PinBackup {
        /// Id, prefix or suffix.
        id: String,
    },
    /// Removes the protection.
    UnpinBackup {
        /// Id, prefix or suffix.
        id: String,
    },
    /// Restores a backup into a new directory, database file or database.
    Restore {
        /// Id, prefix or suffix.
        id: String,
        /// Target directory or database file (absolute, or as the front end
        /// resolved it), or for a command source the database name (its last
        /// component); empty for a database backup: `<task>-restore-<time>`.
        to: PathBuf,
        /// Only this path inside the backup.
        path: Option<String>,
    },
    /// The entries of a backup under a path (`ls`).
    ListEntries {
        /// Backup name.
        id: String,
        /// Directory or file inside the backup; the root when unset.
        path: Option<String>,
        /// Every entry below the path, not only its children.
        recursive: bool,
    },
    /// The entries that differ between two backups (`diff`).
    DiffBackups {
        /// The earlier backup's name.
        from: String,
        /// The later backup's name.
        to: String,
    },
    /// Streams a database backup's data to the caller's output (`--stdout`).
    RestoreStream {
        /// Id, prefix or suffix.
        id: String,
    },
    /// Checks backups on every destination holding them.
    Verify {
        /// Which backups.
        selection: VerifySelection,
        /// Percent of packs whose chunks are read and hashed (0: structure only, 100: all).
        read_data: u8,
    },
    /// Fills missing or failed copies from an intact copy.
    SyncBackups {
        /// Which backups (with the backups they depend on).
        selection: VerifySelection,
    },
    /// Records the backups found in a destination's repository.
    RebuildCatalog {
        /// Destination name.
        from: String,
    },
    /// Applies (or with `dry_run` only plans) a TOML file of destinations and tasks.
    Apply {
        /// The file, read by the core.
        file: PathBuf,
        /// Plan only.
        dry_run: bool,
    },
    /// Destinations and tasks as TOML.
    Export,
    /// Applies retention now (or shows what it would do).
    Prune {
        /// Only this task's backups.
        task: Option<String>,
        /// Delete nothing.
        dry_run: bool,
    },
    /// The local snapshots `snapshot` tasks left on this host.
    ListSnapshots {
        /// Only this task's.
        task: Option<String>,
    },
    /// Clears local snapshots through their task's clear command.
    ClearSnapshots {
        /// Only this task's.
        task: Option<String>,
        /// Only those older than this (`2d`).
        older_than: Option<String>,
    },
}

impl VerifySelection {
    /// The selection from `ID | --task TASK | --all` flags; `what` names the
    /// command in the error when none is given.
    pub fn from_flags(
        id: Option<String>,
        task: Option<String>,
        all: bool,
        what: &str,
    ) -> Result<VerifySelection, String> {
        match (id, task, all) {
            (Some(id), _, _) => Ok(VerifySelection::One(id)),
            (None, Some(t), _) => Ok(VerifySelection::Task(t)),
            (None, None, true) => Ok(VerifySelection::All),
            (None, None, false) => Err(format!("{what} needs a backup ID, --task TASK or --all")),
        }
    }

    /// How the audit log names it: the id, the task, or `all`.
    pub fn target(&self) -> String {
        match self {
            VerifySelection::One(id) => id.clone(),
            VerifySelection::Task(t) => t.clone(),
            VerifySelection::All => "all".into(),
        }
    }
}

impl Action {
    /// The role this action needs, and how the audit log names it.
    pub fn requirement(&self) -> Requirement {
        use Action as A;
        use Requirement as R;
        match self {
            A::Overview { .. } => R::read("overview"),
            A::Jobs => R::read("jobs"),
            A::CancelJob { id } => R::write(Role::Operator, "jobs cancel", id.to_string()),
            A::Runs { .. } => R::read("runs"),
            A::Audit { .. } => R::read("audit"),
            A::ListDestinations | A::ShowDestination { .. } => R::read("dest"),
            A::AddDestination { config, .. } => R::write(Role::Admin, "dest add", &config.name),
            A::RemoveDestination { name } => R::write(Role::Admin, "dest remove", name),
            // Keys of an encrypted repository are an admin matter, listing included.
            A::ListDestKeys { name } => R::write(Role::Admin, "dest key list", name),
            A::AddDestKey { name, .. } => R::write(Role::Admin, "dest key add", name),
            A::RemoveDestKey { name, id } => {
                R::write(Role::Admin, "dest key remove", format!("{name} {id}"))
            }
            A::ChangeDestPassphrase { name, .. } => R::write(Role::Admin, "dest key passwd", name),
            // Who may connect is an admin matter, listing included.
            A::ListKeys => R::write(Role::Admin, "keys list", ""),
            A::AddKey { name, .. } => R::write(Role::Admin, "keys add", name),
            A::RemoveKey { name } => R::write(Role::Admin, "keys remove", name),
            A::ListTasks | A::ShowTask { .. } => R::read("task"),
            A::AddTask { config } => R::write(Role::Admin, "task add", &config.name),
            A::RemoveTask { name, .. } => R::write(Role::Admin, "task remove", name),
            A::PauseTask { name } => R::write(Role::Operator, "task pause", name),
            A::ResumeTask { name } => R::write(Role::Operator, "task resume", name),
            A::RunBackup { task, .. } => R::write(Role::Operator, "backup run", task),
            A::ListBackups { .. } | A::ShowBackup { .. } => R::read("backup"),
            A::ListEntries { .. } => R::read("ls"),
            A::DiffBackups { .. } => R::read("diff"),
            A::DeleteBackup { id, .. } => R::write(Role::Admin, "backup delete", id),
            A::PinBackup { id } => R::write(Role::Admin, "backup pin", id),
            A::UnpinBackup { id } => R::write(Role::Admin, "backup unpin", id),
            A::Restore { id, to, .. } => R::write(
                Role::Operator,
                "restore",
                format!("{id} to {}", to.display()),
            ),
            A::RestoreStream { id } => {
                R::write(Role::Operator, "restore", format!("{id} to stdout"))
            }
            // Verify writes its result onto the backup record, so it is an operator action.
            A::Verify { selection, .. } => R::write(Role::Operator, "verify", selection.target()),
            A::SyncBackups { selection } => {
                R::write(Role::Operator, "backup sync", selection.target())
            }
            A::RebuildCatalog { from } => R::write(Role::Admin, "catalog rebuild", from),
            A::Apply { dry_run: true, .. } => R::read("apply --dry-run"),
            A::Apply { file, .. } => R::write(Role::Admin, "apply", file.display().to_string()),
            A::Export => R::read("export"),
            A::Prune { dry_run: true, .. } => R::read("prune --dry-run"),
            A::Prune { task, .. } => R::write(
                Role::Admin,
                "prune",
                task.clone().unwrap_or_else(|| "all tasks".into()),
            ),
            A::ListSnapshots { .. } => R::read("snapshot"),
            A::ClearSnapshots { task, older_than } => R::write(
                Role::Operator,
                "snapshot clear",
                match (task, older_than) {
                    (Some(t), Some(d)) => format!("{t} older than {d}"),
                    (Some(t), None) => t.clone(),
                    (None, Some(d)) => format!("all tasks older than {d}"),
                    (None, None) => "all tasks".into(),
                },
            ),
        }
    }

    /// A file on the core's machine this action reads, if any: over SSH that
    /// is for admins only, or a viewer could probe which files exist.
    pub fn server_file(&self) -> Option<&std::path::Path> {
        match self {
            Action::Apply { file, .. } => Some(file),
            Action::AddKey {
                file: Some(file), ..
            } => Some(file),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_cross_the_socket_unchanged() {
        let all = [
            Action::Overview {
                check_destinations: false,
            },
            Action::Jobs,
            Action::RunBackup {
                task: "t".into(),
                kind: BackupKind::Differential,
                detach: true,
            },
            Action::Verify {
                selection: VerifySelection::One("2026".into()),
                read_data: 100,
            },
            Action::Verify {
                selection: VerifySelection::All,
                read_data: 0,
            },
            Action::AddTask {
                config: Box::new(TaskConfig::dir_to("t", "/srv".into(), "d")),
            },
            Action::Restore {
                id: "x".into(),
                to: "/r".into(),
                path: Some("a b".into()),
            },
            Action::ListSnapshots { task: None },
            Action::ClearSnapshots {
                task: Some("cass".into()),
                older_than: Some("2d".into()),
            },
        ];
        for a in all {
            let text = serde_json::to_string(&a).unwrap();
            assert_eq!(serde_json::from_str::<Action>(&text).unwrap(), a, "{text}");
        }
    }

    #[test]
    fn reads_are_viewer_actions_and_never_audited() {
        for a in [Action::Jobs, Action::ListTasks, Action::Export] {
            assert!(!a.requirement().mutates(), "{a:?}");
        }
        let r = Action::DeleteBackup {
            id: "x".into(),
            cascade: true,
        }
        .requirement();
        assert_eq!(
            (r.role, r.action, r.target.as_str()),
            (Role::Admin, "backup delete", "x")
        );
    }
}
