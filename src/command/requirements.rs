//! The role each command needs and how it is named in the audit log: one table,
//! so a new command cannot forget its access rule (the match is exhaustive).

use super::{BackupCmd, CatalogCmd, Command, DestCmd, JobsCmd, KeysCmd, TaskCmd};
use crate::core::access::{Requirement, Role};

/// Requirement of a parsed command.
pub fn of(cmd: &Command) -> Requirement {
    use Requirement as R;
    match cmd {
        Command::Demo | Command::Info | Command::Serve { .. } | Command::Tui { .. } => {
            R::read("local")
        }
        Command::Jobs { cmd: None } => R::read("jobs"),
        Command::Jobs {
            cmd: Some(JobsCmd::Cancel { id }),
        } => R::write(Role::Operator, "jobs cancel", id.to_string()),
        Command::Audit { .. } => R::read("audit"),
        Command::Runs { .. } => R::read("runs"),
        Command::Dest(DestCmd::Add { name, .. }) => R::write(Role::Admin, "dest add", name),
        Command::Dest(DestCmd::Remove { name }) => R::write(Role::Admin, "dest remove", name),
        Command::Dest(DestCmd::List | DestCmd::Show { .. }) => R::read("dest"),
        // Who may connect is an admin matter, listing included.
        Command::Keys(KeysCmd::Add { name, .. }) => R::write(Role::Admin, "keys add", name),
        Command::Keys(KeysCmd::List) => R::write(Role::Admin, "keys list", ""),
        Command::Keys(KeysCmd::Remove { name }) => R::write(Role::Admin, "keys remove", name),
        Command::Task(TaskCmd::Add(a)) => R::write(Role::Admin, "task add", &a.name),
        Command::Task(TaskCmd::Remove { name, .. }) => R::write(Role::Admin, "task remove", name),
        Command::Task(TaskCmd::Pause { name }) => R::write(Role::Operator, "task pause", name),
        Command::Task(TaskCmd::Resume { name }) => R::write(Role::Operator, "task resume", name),
        Command::Task(TaskCmd::List | TaskCmd::Show { .. }) => R::read("task"),
        Command::Backup(BackupCmd::Run { task, .. }) => {
            R::write(Role::Operator, "backup run", task)
        }
        Command::Backup(BackupCmd::Delete { id, .. }) => R::write(Role::Admin, "backup delete", id),
        Command::Backup(BackupCmd::Pin { id }) => R::write(Role::Admin, "backup pin", id),
        Command::Backup(BackupCmd::Unpin { id }) => R::write(Role::Admin, "backup unpin", id),
        Command::Backup(BackupCmd::List { .. } | BackupCmd::Show { .. }) => R::read("backup"),
        Command::Restore(a) => R::write(
            Role::Operator,
            "restore",
            format!("{} to {}", a.id, a.to.display()),
        ),
        // Verify writes its result onto the backup record, so it is an operator action.
        Command::Verify(a) => R::write(
            Role::Operator,
            "verify",
            a.id.clone()
                .or_else(|| a.task.clone())
                .unwrap_or_else(|| "all".into()),
        ),
        Command::Catalog(CatalogCmd::Rebuild { from }) => {
            R::write(Role::Admin, "catalog rebuild", from)
        }
        Command::Apply { dry_run: true, .. } => R::read("apply --dry-run"),
        Command::Apply { file, .. } => R::write(Role::Admin, "apply", file.display().to_string()),
        Command::Export => R::read("export"),
        Command::Prune(a) if a.dry_run => R::read("prune --dry-run"),
        Command::Prune(a) => R::write(
            Role::Admin,
            "prune",
            a.task.clone().unwrap_or_else(|| "all tasks".into()),
        ),
    }
}
