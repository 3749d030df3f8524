//! `strata dest …` and `strata task …`: destinations and tasks.

use super::exec::{Io, json, write_err};
use super::render::{Table, size};
use super::{DestCmd, TaskCmd};
use crate::core::backups::BackupRow;
use crate::core::model::{
    BackupKind, CatchUp, DestinationConfig, DestinationKind, Hooks, RetentionPolicy, SourceConfig,
    TaskConfig,
};
use crate::core::{Core, CoreError};
use serde::Serialize;

fn dest_row(d: &DestinationConfig) -> Vec<String> {
    match &d.kind {
        DestinationKind::Local { path } => {
            vec![d.name.clone(), "local".into(), path.display().to_string()]
        }
    }
}

pub(super) fn dest(core: &Core, c: DestCmd, j: bool, io: &mut Io<'_>) -> Result<u8, CoreError> {
    match c {
        DestCmd::Add { name, local } => {
            let d = core.add_destination(DestinationConfig {
                name,
                kind: DestinationKind::Local { path: local },
                repo_id: None,
            })?;
            if j {
                json(io, &d)?
            } else {
                say!(io, "added destination {} ({})", d.name, dest_row(&d)[2])
            }
        }
        DestCmd::List => {
            let all = core.destinations()?;
            if j {
                json(io, &all)?;
            } else {
                let mut t = Table::new(&["NAME", "KIND", "LOCATION"]);
                all.iter().for_each(|d| t.row(dest_row(d)));
                write!(io.out, "{}", t.render()).map_err(write_err)?;
            }
        }
        DestCmd::Show { name } => {
            let d = core.destination(&name)?;
            if j {
                json(io, &d)?
            } else {
                let r = dest_row(&d);
                say!(
                    io,
                    "name      {}\nkind      {}\nlocation  {}",
                    r[0],
                    r[1],
                    r[2]
                )
            }
        }
        DestCmd::Remove { name } => {
            core.remove_destination(&name)?;
            if j {
                json(io, &serde_json::json!({"removed": name}))?
            } else {
                say!(
                    io,
                    "removed destination {name} (its repository data was left in place)"
                )
            }
        }
    }
    Ok(0)
}

fn schedule_text(t: &TaskConfig) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &t.full {
        parts.push(format!("full {s}"))
    }
    if let Some(s) = &t.incremental {
        parts.push(format!("incr {s}"))
    }
    if let Some(s) = &t.differential {
        parts.push(format!("diff {s}"))
    }
    if parts.is_empty() {
        "manual".into()
    } else {
        parts.join(" · ")
    }
}

fn source_text(t: &TaskConfig) -> String {
    match &t.source {
        SourceConfig::Dir { path, .. } => format!("dir {}", path.display()),
    }
}

#[derive(Serialize)]
struct TaskView<'a> {
    #[serde(flatten)]
    task: &'a TaskConfig,
    backups: usize,
    logical_bytes_latest: u64,
    stored_bytes: u64,
    last_full: Option<String>,
    last_backup: Option<String>,
}

fn task_view<'a>(t: &'a TaskConfig, rows: &[BackupRow]) -> TaskView<'a> {
    let mine: Vec<&BackupRow> = rows.iter().filter(|r| r.record.task == t.name).collect();
    TaskView {
        task: t,
        backups: mine.len(),
        logical_bytes_latest: mine.last().map(|r| r.record.logical_bytes).unwrap_or(0),
        stored_bytes: mine.iter().map(|r| r.record.stored_bytes).sum(),
        last_full: mine
            .iter()
            .rev()
            .find(|r| r.record.kind == BackupKind::Full)
            .map(|r| r.record.id.clone()),
        last_backup: mine.last().map(|r| r.record.id.clone()),
    }
}

pub(super) fn task(core: &Core, c: TaskCmd, j: bool, io: &mut Io<'_>) -> Result<u8, CoreError> {
    match c {
        TaskCmd::Add(a) => {
            let t = core.add_task(TaskConfig {
                name: a.name,
                source: SourceConfig::Dir {
                    path: a.dir,
                    exclude: a.exclude,
                },
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
            })?;
            if j {
                json(io, &t)?
            } else {
                say!(
                    io,
                    "added task {} ({} → {})",
                    t.name,
                    source_text(&t),
                    t.destinations.join(", ")
                )
            }
        }
        TaskCmd::List => {
            let tasks = core.tasks()?;
            let rows = core.backups(None)?;
            let views: Vec<TaskView> = tasks.iter().map(|t| task_view(t, &rows)).collect();
            if j {
                json(io, &views)?;
            } else {
                let mut tb = Table::new(&[
                    "NAME",
                    "SOURCE",
                    "DESTINATIONS",
                    "SCHEDULE",
                    ">BACKUPS",
                    "LAST BACKUP",
                    ">STORED",
                ]);
                for v in &views {
                    tb.row(vec![
                        v.task.name.clone(),
                        source_text(v.task),
                        v.task.destinations.join(","),
                        schedule_text(v.task),
                        v.backups.to_string(),
                        v.last_backup.clone().unwrap_or_else(|| "-".into()),
                        size(v.stored_bytes),
                    ]);
                }
                write!(io.out, "{}", tb.render()).map_err(write_err)?;
            }
        }
        TaskCmd::Show { name } => {
            let t = core.task(&name)?;
            let rows = core.backups(Some(&name))?;
            let v = task_view(&t, &rows);
            if j {
                json(io, &v)?;
            } else {
                say!(io, "task          {}", t.name);
                say!(io, "source        {}", source_text(&t));
                if let SourceConfig::Dir { exclude, .. } = &t.source
                    && !exclude.is_empty()
                {
                    say!(io, "exclude       {}", exclude.join(" "));
                }
                say!(io, "destinations  {}", t.destinations.join(", "));
                say!(io, "schedule      {}", schedule_text(&t));
                say!(
                    io,
                    "retention     keep_within={} keep_last_full={}",
                    t.retention.keep_within.as_deref().unwrap_or("-"),
                    t.retention
                        .keep_last_full
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "-".into())
                );
                say!(io, "compression   zstd {}", t.compression_level);
                say!(
                    io,
                    "backups       {} (stored {})",
                    v.backups,
                    size(v.stored_bytes)
                );
                say!(
                    io,
                    "last full     {}",
                    v.last_full.as_deref().unwrap_or("none")
                );
            }
        }
        TaskCmd::Remove { name, keep_backups } => {
            let n = core.remove_task(&name, keep_backups)?;
            if j {
                json(io, &serde_json::json!({"removed": name, "backups_kept": n}))?
            } else {
                say!(io, "removed task {name}; {n} backup(s) kept")
            }
        }
    }
    Ok(0)
}
