//! Database sources in the core: the checks of a `command` source when a
//! task is added or applied, and restores of `sqlite` and `command` backups
//! into a new database — never over the old one.
//!
//! Targets: a `sqlite` backup restores into a new database file that must
//! not exist (by default `<task>-restore-<YYYYMMDD-HHMMSS><.ext>` next to
//! the original); a `command` backup runs the task's restore command with
//! `{target}` replaced by a new name (by default `<task>-restore-<…>`).
//! Operators restore files only under `restore_roots` and names only
//! matching `restore_databases`; admins anywhere, never over an existing file.

use super::access::{Caller, Requirement, Role};
use super::error::CoreError;
use super::service::Core;
use crate::engine::Repository;
use crate::engine::manifest::Manifest;
use crate::engine::restore::RestoreReport;
use crate::model::{BackupRecord, SourceConfig, SourceType};
use crate::progress::Progress;
use crate::source::command::{self, CommandSink};
use crate::source::sqlite_dump::{DumpSink, SnapshotSink};
use crate::source::{RestoreSink, SourceError};
use std::path::{Path, PathBuf};

/// The rules for a `command` source, as `(file key, why)` like `check_settings`.
pub(crate) fn check_command(
    dump: &str,
    restore: Option<&str>,
    timeout: Option<&str>,
    env_file: Option<&Path>,
) -> Result<(), (&'static str, String)> {
    if dump.trim().is_empty() {
        return Err(("source.dump", "is empty; give the dump command".into()));
    }
    command::invocation(dump, None).map_err(|e| ("source.dump", e))?;
    if let Some(r) = restore {
        if r.trim().is_empty() {
            return Err((
                "source.restore",
                "is empty; give the restore command or leave it out".into(),
            ));
        }
        if !r.contains("{target}") {
            return Err((
                "source.restore",
                format!(
                    "{r:?} has no {{target}}; a restore goes into a new database, which the command must create from {{target}} (e.g. 'createdb {{target}} && pg_restore --dbname={{target}}')"
                ),
            ));
        }
    }
    if let Some(t) = timeout {
        command::parse_timeout(t).map_err(|e| ("source.timeout", e))?;
    }
    if let Some(f) = env_file {
        if !f.is_absolute() {
            return Err((
                "source.env_file",
                format!("{} is relative; give its absolute path", f.display()),
            ));
        }
        command::read_env_file(f).map_err(|e| ("source.env_file", e))?;
    }
    Ok(())
}

/// A `sqlite` source's path must be absolute.
pub(crate) fn check_sqlite(path: &Path) -> Result<(), (&'static str, String)> {
    if !path.is_absolute() {
        return Err((
            "source.path",
            format!(
                "{} is relative; give the database file's absolute path",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// `task add --sqlite PATH`: the path made absolute; a directory is refused.
pub(crate) fn absolute_sqlite(path: &mut PathBuf) -> Result<(), CoreError> {
    super::bounds::check_path("source", path).map_err(CoreError::Invalid)?;
    let abs = std::path::absolute(&*path).unwrap_or(path.clone());
    match std::fs::metadata(&abs) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(CoreError::Invalid(format!(
                "source {} is not a file; --sqlite takes a database file (use --dir for a tree)",
                abs.display()
            )));
        }
        Err(e) => {
            return Err(CoreError::Invalid(format!(
                "source {} cannot be read ({e}); check the path",
                abs.display()
            )));
        }
    }
    *path = abs;
    Ok(())
}

/// Where a database backup is restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DbTarget {
    /// A new SQLite database file (resolved, absolute).
    File(PathBuf),
    /// The name given to the restore command as `{target}`.
    Name(String),
}

impl DbTarget {
    /// The target as outcomes and the audit log show it.
    pub(crate) fn shown(&self) -> PathBuf {
        match self {
            DbTarget::File(p) => p.clone(),
            DbTarget::Name(n) => PathBuf::from(n),
        }
    }
}

/// Where a restore was decided to go (before it runs, so the audit names it).
pub(crate) enum Planned {
    /// A new directory.
    Dir(crate::engine::target::RestoreTarget),
    /// A new database, from a backup of this database source.
    Database(
        super::database::DbTarget,
        Box<crate::model::BackupRecord>,
        crate::model::SourceConfig,
    ),
}

impl Planned {
    pub(crate) fn shown(&self) -> std::path::PathBuf {
        match self {
            Planned::Dir(t) => t.path(),
            Planned::Database(t, ..) => t.shown(),
        }
    }
}

/// `<task>-restore-<YYYYMMDD-HHMMSS>` (UTC) for a restore made at `at`: the
/// one name every front end proposes, so two restores never collide.
pub fn restore_name(task: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{task}-restore-{}", at.format("%Y%m%d-%H%M%S"))
}

/// The default name of a restore made now.
fn default_name(task: &str) -> String {
    restore_name(task, chrono::Utc::now())
}

fn source_err(e: SourceError) -> CoreError {
    CoreError::Failed(e.to_string())
}

impl Core {
    /// The definition of the source a backup was taken of, when it is a
    /// database: the one in the backup's commit marker (the task as it was
    /// then), else the task's current one. `None` for directory backups
    /// (anything but one entry is never a database backup) and unknown ids.
    pub(crate) fn database_source(&self, id: &str) -> Option<(BackupRecord, SourceConfig)> {
        let rec = self.resolve_backup(id).ok()?;
        if rec.entry_count != 1 {
            return None;
        }
        let marked = self
            .readable_copy(&rec)
            .ok()
            .and_then(|(repo, _)| repo.read_commit(&rec.id).ok().flatten())
            .map(|m| m.task.source);
        let source = match marked {
            Some(s) => s,
            None => self.catalog.get_task(&rec.task).ok().flatten()?.source,
        };
        source.is_database().then_some((rec, source))
    }

    /// Decides where a database backup goes: `to` (empty: the default name)
    /// checked against the caller's role. A refusal is audited.
    pub(crate) fn check_database_target(
        &self,
        caller: &Caller,
        rec: &BackupRecord,
        source: &SourceConfig,
        to: &Path,
    ) -> Result<DbTarget, CoreError> {
        let given = !to.as_os_str().is_empty();
        match source {
            SourceConfig::Sqlite { path, .. } => {
                let file = if given {
                    to.to_path_buf()
                } else {
                    let ext = path
                        .extension()
                        .map(|e| format!(".{}", e.to_string_lossy()))
                        .unwrap_or_default();
                    path.with_file_name(format!("{}{ext}", default_name(&rec.task)))
                };
                let t = self.check_restore_target(caller, &file)?;
                let p = t.path();
                if std::fs::symlink_metadata(&p).is_ok() {
                    return Err(CoreError::Refused(format!(
                        "refused: {} already exists; Strata never overwrites, choose a new file",
                        p.display()
                    )));
                }
                Ok(DbTarget::File(p))
            }
            SourceConfig::Command { .. } => {
                // A relative `--to` was made absolute by the front end: the name is its last part.
                let name = if given {
                    to.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                } else {
                    default_name(&rec.task)
                };
                if name.is_empty() || name.contains(['\0', '\n']) {
                    return Err(CoreError::Invalid(format!(
                        "restore target {name:?} is not a database name; give --to NAME"
                    )));
                }
                if caller.role < Role::Admin {
                    let pats = &self.settings.restore_databases;
                    let ok = pats.iter().any(|p| {
                        globset::Glob::new(p).is_ok_and(|g| g.compile_matcher().is_match(&name))
                    });
                    if !ok {
                        let why = if pats.is_empty() {
                            format!(
                                "{} may restore databases only into names that restore_databases allows, and none are configured (restore_databases in {})",
                                caller.role,
                                self.home.config().display()
                            )
                        } else {
                            format!(
                                "{} may restore databases only into names matching {} ({name:?} does not)",
                                caller.role,
                                pats.join(", ")
                            )
                        };
                        let req = Requirement::write(Role::Admin, "restore", name.clone());
                        self.audit(caller, &req, format!("refused: {why}"))?;
                        return Err(CoreError::Refused(format!("refused: {why}")));
                    }
                }
                Ok(DbTarget::Name(name))
            }
            SourceConfig::Dir { .. } | SourceConfig::Snapshot { .. } => Err(CoreError::Invalid(
                "a directory backup restores into a directory; give --to DIR".into(),
            )),
        }
    }

    /// The readable copy of a backup and the other copies as fallbacks.
    fn copies_of(&self, rec: &BackupRecord) -> Result<(Vec<Repository>, Manifest), CoreError> {
        let (dest, manifest) = self.readable_copy(rec)?;
        let mut repos = vec![dest];
        for name in &rec.destinations {
            if repos.iter().any(|r| r.name() == name) {
                continue;
            }
            if let Ok(Some(cfg)) = self.catalog.get_destination(name)
                && let Ok(r) = self.open_repo(&cfg)
            {
                repos.push(r);
            }
        }
        Ok((repos, manifest))
    }

    /// Restores a database backup into `target` through the matching sink.
    pub(crate) fn restore_database(
        &self,
        rec: &BackupRecord,
        source: &SourceConfig,
        target: &DbTarget,
        progress: &Progress,
    ) -> Result<RestoreReport, CoreError> {
        let (repos, manifest) = self.copies_of(rec)?;
        let mut sink = match (source, target) {
            (SourceConfig::Sqlite { r#type, .. }, DbTarget::File(p)) => match r#type {
                SourceType::Snapshot => {
                    RestoreSink::SqliteFile(SnapshotSink::create(p).map_err(CoreError::Failed)?)
                }
                SourceType::Backup => {
                    RestoreSink::SqliteDump(DumpSink::create(p).map_err(CoreError::Failed)?)
                }
            },
            (
                SourceConfig::Command {
                    restore, env_file, ..
                },
                DbTarget::Name(n),
            ) => {
                let Some(cmd) = restore else {
                    return Err(CoreError::Invalid(format!(
                        "task {} has no restore command; stream the dump with 'strata restore {} --stdout | …', or set source.restore",
                        rec.task, rec.id
                    )));
                };
                RestoreSink::Command(
                    CommandSink::start(cmd, n, env_file.as_deref()).map_err(source_err)?,
                )
            }
            _ => {
                return Err(CoreError::Invalid(format!(
                    "backup {} cannot be restored into {}",
                    rec.id,
                    target.shown().display()
                )));
            }
        };
        let streamed =
            crate::engine::stream::stream_entry(&manifest, &repos, sink.writer(), progress);
        match streamed {
            Ok(bytes) => {
                let what = match &sink {
                    RestoreSink::SqliteFile(_) => "new SQLite database file (from the snapshot)",
                    RestoreSink::SqliteDump(_) => {
                        "new SQLite database file (rebuilt from the SQL dump)"
                    }
                    RestoreSink::Command(_) => "database created by the restore command",
                };
                sink.finish().map_err(source_err)?;
                Ok(RestoreReport {
                    files: 1,
                    bytes,
                    database: Some(what.into()),
                    ..Default::default()
                })
            }
            // A restore command that stopped reading (a broken pipe) explains
            // why in its exit status and stderr.
            Err(e @ crate::engine::EngineError::Io { .. })
                if matches!(sink, RestoreSink::Command(_)) =>
            {
                match sink.finish() {
                    Err(why) => Err(source_err(why)),
                    Ok(()) => Err(e.into()),
                }
            }
            Err(e) => {
                // The stream itself failed (damaged data, cancelled): the
                // command is killed before it could take a cut stream for a
                // whole one, and the operator hears which target to check.
                let command = matches!(sink, RestoreSink::Command(_));
                sink.abort();
                if command {
                    return Err(CoreError::Failed(format!(
                        "{e}; the restore command was stopped: check the target {:?} and drop what it created",
                        target.shown().display().to_string()
                    )));
                }
                Err(e.into())
            }
        }
    }

    /// Streams a database backup's data (a dump, a snapshot's file) to `out`.
    pub(crate) fn restore_to_stream(
        &self,
        id: &str,
        out: &mut dyn std::io::Write,
        progress: &Progress,
    ) -> Result<(BackupRecord, RestoreReport), CoreError> {
        let rec = self.resolve_backup(id)?;
        if self.database_source(id).is_none() {
            return Err(CoreError::Invalid(format!(
                "backup {} of task {} is a directory backup; --stdout streams database backups only, restore it with --to DIR",
                rec.id, rec.task
            )));
        }
        let (repos, manifest) = self.copies_of(&rec)?;
        let bytes = crate::engine::stream::stream_entry(&manifest, &repos, out, progress)?;
        Ok((
            rec,
            RestoreReport {
                files: 1,
                bytes,
                database: Some("stream on standard output".into()),
                ..Default::default()
            },
        ))
    }
}
