//! Decide once: a parsed command of the grammar becomes the core's typed
//! [`Action`] here, and nowhere else, whether it came from argv, a socket
//! client, an SSH exec request or the console's `:` line.

use super::snapshot_cmds::SnapshotCmd;
use super::{BackupCmd, CatalogCmd, Command, DestCmd, JobsCmd, KeysCmd, TaskCmd};
use crate::core::CoreError;
use crate::core::action::{Action, VerifySelection};
use crate::model::{
    AzureSpec, BackupKind, CatchUp, DestinationConfig, DestinationKind, Hooks, RetentionPolicy,
    S3Spec, SftpSpec, SourceConfig, SourceType, TaskConfig,
};

/// What a parsed command asks for.
#[derive(Debug)]
pub enum Resolved {
    /// An action of the core.
    Act(Action),
    /// `strata info`: paths and modes, no catalog needed.
    Info,
    /// `serve`, `tui` or `demo`: chosen by `main`, never run for a client.
    Local(&'static str),
}

/// The action of a parsed command.
pub fn resolve(cmd: Command) -> Result<Resolved, CoreError> {
    use Action as A;
    let act = match cmd {
        Command::Demo => return Ok(Resolved::Local("demo")),
        Command::Serve { .. } => return Ok(Resolved::Local("serve")),
        Command::Tui { .. } => return Ok(Resolved::Local("tui")),
        Command::Info => return Ok(Resolved::Info),
        Command::Jobs { cmd: None } => A::Jobs,
        Command::Jobs {
            cmd: Some(JobsCmd::Cancel { id }),
        } => A::CancelJob { id },
        Command::Runs { task, limit, .. } => A::Runs { task, limit },
        Command::Audit { since, limit, .. } => A::Audit { since, limit },
        Command::Dest(DestCmd::Add(a)) => {
            let encryption = a.encryption();
            let super::DestAddArgs {
                name,
                local,
                s3,
                azure,
                sftp,
                endpoint,
                region,
                storage_class,
                account,
                credentials,
                identity,
                known_hosts,
                accept_new_host_key,
                rate_limit,
                key_of,
                parallel_uploads,
                ..
            } = *a;
            let kind = if let Some(url) = s3 {
                DestinationKind::S3(S3Spec {
                    url,
                    endpoint,
                    region,
                    storage_class,
                    credentials,
                })
            } else if let Some(url) = azure {
                DestinationKind::Azure(AzureSpec {
                    url,
                    account,
                    endpoint,
                    credentials,
                })
            } else if let Some(url) = sftp {
                DestinationKind::Sftp(SftpSpec {
                    url,
                    identity,
                    known_hosts,
                })
            } else {
                DestinationKind::Local {
                    path: local.unwrap_or_default(),
                }
            };
            A::AddDestination {
                config: Box::new(DestinationConfig {
                    name,
                    kind,
                    repo_id: None,
                    rate_limit,
                    encryption: encryption.map(Box::new),
                    parallel_uploads,
                }),
                accept_new_host_key,
                key_of,
            }
        }
        Command::Dest(DestCmd::List) => A::ListDestinations,
        Command::Dest(DestCmd::Show { name }) => A::ShowDestination { name },
        Command::Dest(DestCmd::Remove { name }) => A::RemoveDestination { name },
        Command::Dest(DestCmd::Key(k)) => match k {
            super::DestKeyCmd::List { name } => A::ListDestKeys { name },
            super::DestKeyCmd::Add { name, label, new } => A::AddDestKey {
                name,
                new: Box::new(new.source()),
                label,
            },
            super::DestKeyCmd::Remove { name, keyid } => A::RemoveDestKey { name, id: keyid },
            super::DestKeyCmd::Passwd { name, new } => A::ChangeDestPassphrase {
                name,
                new: Box::new(new.source()),
            },
        },
        Command::Keys(KeysCmd::Add {
            file,
            key,
            role,
            name,
        }) => A::AddKey {
            key,
            file,
            role,
            name,
        },
        Command::Keys(KeysCmd::List) => A::ListKeys,
        Command::Keys(KeysCmd::Remove { name }) => A::RemoveKey { name },
        Command::Task(TaskCmd::Add(mut a)) => A::AddTask {
            config: Box::new(TaskConfig {
                // First: it takes the source's flags out of `a`.
                source: task_source(&mut a)?,
                name: a.name,
                destinations: a.dest,
                full: a.full,
                incremental: a.incremental,
                differential: a.differential,
                timezone: a.timezone,
                catch_up: if a.catch_up == "skip" {
                    CatchUp::Skip
                } else {
                    CatchUp::Once
                },
                retention: RetentionPolicy {
                    keep_within: a.keep_within,
                    keep_last_full: a.keep_last_full,
                    keep_daily: a.keep_daily,
                    keep_weekly: a.keep_weekly,
                    keep_monthly: a.keep_monthly,
                    keep_yearly: a.keep_yearly,
                },
                hooks: Hooks {
                    before: a.before,
                    after: a.after,
                    timeout_secs: None,
                },
                compression_level: a.compression,
                paused: false,
                created: chrono::Utc::now(),
                require: a.require,
                alert_after: a.alert_after,
                notify: task_notify(a.notify_on, a.notify_command, a.notify_webhook_file),
                verify: a.verify,
                verify_read_data: a.verify_read_data,
            }),
        },
        Command::Task(TaskCmd::List) => A::ListTasks,
        Command::Task(TaskCmd::Show { name }) => A::ShowTask { name },
        Command::Task(TaskCmd::Pause { name }) => A::PauseTask { name },
        Command::Task(TaskCmd::Resume { name }) => A::ResumeTask { name },
        Command::Task(TaskCmd::Remove { name, keep_backups }) => {
            A::RemoveTask { name, keep_backups }
        }
        Command::Backup(BackupCmd::Run {
            task,
            full,
            differential,
            detach,
            ..
        }) => A::RunBackup {
            task,
            kind: if full {
                BackupKind::Full
            } else if differential {
                BackupKind::Differential
            } else {
                BackupKind::Incremental
            },
            detach,
        },
        Command::Backup(BackupCmd::List { task, .. }) => A::ListBackups { task },
        Command::Backup(BackupCmd::Show { id }) => A::ShowBackup { id },
        Command::Backup(BackupCmd::Delete { id, cascade }) => A::DeleteBackup { id, cascade },
        Command::Backup(BackupCmd::Sync { id, task, all }) => A::SyncBackups {
            selection: VerifySelection::from_flags(id, task, all, "backup sync")
                .map_err(CoreError::Invalid)?,
        },
        Command::Backup(BackupCmd::Pin { id }) => A::PinBackup { id },
        Command::Backup(BackupCmd::Unpin { id }) => A::UnpinBackup { id },
        Command::Restore(a) if a.stdout => A::RestoreStream { id: a.backup() },
        Command::Restore(a) => A::Restore {
            id: a.backup(),
            to: a.to.unwrap_or_default(),
            path: a.path,
        },
        Command::Verify(a) => A::Verify {
            selection: VerifySelection::from_flags(a.id, a.task, a.all, "verify")
                .map_err(CoreError::Invalid)?,
            read_data: a.read_data.unwrap_or(0),
        },
        Command::Catalog(CatalogCmd::Rebuild { from }) => A::RebuildCatalog { from },
        Command::Apply { file, dry_run } => A::Apply { file, dry_run },
        Command::Export => A::Export,
        Command::Prune(a) => A::Prune {
            task: a.task,
            dry_run: a.dry_run,
        },
        Command::Snapshot(SnapshotCmd::List { task }) => A::ListSnapshots { task },
        Command::Ls(a) => A::ListEntries {
            id: a.id,
            path: a.path,
            recursive: a.recursive,
        },
        Command::Diff(a) => A::DiffBackups {
            from: a.from,
            to: a.to,
        },
        Command::Snapshot(SnapshotCmd::Clear { task, older_than }) => {
            A::ClearSnapshots { task, older_than }
        }
    };
    Ok(Resolved::Act(act))
}

/// The task's own notify settings, when any `--notify-…` flag is given.
fn task_notify(
    on: Vec<String>,
    command: Option<String>,
    webhook_file: Option<std::path::PathBuf>,
) -> Option<crate::model::NotifySettings> {
    if on.is_empty() && command.is_none() && webhook_file.is_none() {
        return None;
    }
    Some(crate::model::NotifySettings {
        on: (!on.is_empty()).then_some(on),
        command,
        webhook: None,
        // Resolved here, against the caller's directory, not the daemon's.
        webhook_file: webhook_file.map(|f| std::path::absolute(&f).unwrap_or(f)),
    })
}

/// The source `task add` describes: exactly one of --dir, --sqlite,
/// --command, --snapshot-create (the flags it uses are taken from `a`).
fn task_source(a: &mut super::TaskAddArgs) -> Result<SourceConfig, CoreError> {
    let (dir, sqlite, command, restore) = (
        a.dir.take(),
        a.sqlite.take(),
        a.command.take(),
        a.restore_command.take(),
    );
    let (timeout, env_file, exclude) = (
        a.dump_timeout.take(),
        a.env_file.take(),
        std::mem::take(&mut a.exclude),
    );
    let kind = a.source_type.as_deref();
    if let Some(create) = a.snapshot_create.take() {
        if kind == Some("backup") {
            return Err(CoreError::Invalid(
                "--type backup applies to --sqlite and --command; a snapshot task is always a snapshot".into(),
            ));
        }
        if !exclude.is_empty() {
            return Err(CoreError::Invalid(
                "--exclude applies only to --dir tasks".into(),
            ));
        }
        return Ok(SourceConfig::Snapshot {
            create,
            path: a.snapshot_path.take().unwrap_or_default(),
            clear: a.snapshot_clear.take().unwrap_or_default(),
            keep_local: a.keep_local.take(),
            keep_local_within: a.keep_local_within.take(),
            timeout,
            env_file,
        });
    }
    let kind = kind.and_then(SourceType::parse);
    if let Some(path) = dir {
        if kind == Some(SourceType::Backup) {
            return Err(CoreError::Invalid(
                "--type backup applies to --sqlite and --command; a --dir task is always a snapshot".into(),
            ));
        }
        return Ok(SourceConfig::Dir { path, exclude });
    }
    if !exclude.is_empty() {
        return Err(CoreError::Invalid(
            "--exclude applies only to --dir tasks".into(),
        ));
    }
    if let Some(path) = sqlite {
        return Ok(SourceConfig::Sqlite {
            path,
            r#type: kind.unwrap_or_default(),
        });
    }
    match command {
        Some(dump) => Ok(SourceConfig::Command {
            dump,
            restore,
            r#type: kind.unwrap_or(SourceType::Backup),
            timeout,
            env_file,
        }),
        None => Err(CoreError::Invalid(
            "task add needs one of --dir PATH, --sqlite PATH or --command DUMP".into(),
        )),
    }
}
