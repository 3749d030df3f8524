//! `strata dest …` and `strata task …`: destinations and tasks.

use super::exec::{Io, json, write_err};
use super::render::{Table, size};
use super::{DestCmd, TaskCmd};
use crate::core::{Core, CoreError};
use crate::model::{
    CatchUp, DestinationConfig, DestinationKind, Hooks, RetentionPolicy, SourceConfig, TaskConfig,
};

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

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| super::render::time(&t))
        .unwrap_or_else(|| "-".into())
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
            let rows = core.task_rows()?;
            if j {
                json(io, &rows)?;
            } else {
                let mut tb = Table::new(&[
                    "NAME",
                    "STATUS",
                    "SOURCE",
                    "SCHEDULE",
                    "LAST FULL",
                    "LAST INCR",
                    "NEXT",
                    ">BACKUPS",
                    ">STORED",
                ]);
                for r in &rows {
                    let next = match r.next {
                        Some((t, k)) => format!("{} {k}", super::render::time(&t)),
                        None if r.schedule_error.is_some() => "BAD SCHEDULE".into(),
                        None => "-".into(),
                    };
                    tb.row(vec![
                        r.task.name.clone(),
                        format!("{:?}", r.status).to_lowercase(),
                        source_text(&r.task),
                        schedule_text(&r.task),
                        when(r.last_full),
                        when(r.last_incremental),
                        next,
                        r.backups.to_string(),
                        size(r.stored_bytes),
                    ]);
                }
                write!(io.out, "{}", tb.render()).map_err(write_err)?;
            }
        }
        TaskCmd::Show { name } => {
            core.task(&name)?;
            let rows = core.task_rows()?;
            let Some(r) = rows.into_iter().find(|r| r.task.name == name) else {
                return Err(CoreError::NotFound {
                    what: "task",
                    name,
                    hint: "list them with 'strata task list'".into(),
                });
            };
            if j {
                json(io, &r)?;
            } else {
                let t = &r.task;
                say!(io, "task          {}", t.name);
                say!(
                    io,
                    "status        {}",
                    format!("{:?}", r.status).to_lowercase()
                );
                say!(io, "source        {}", source_text(t));
                if let SourceConfig::Dir { exclude, .. } = &t.source
                    && !exclude.is_empty()
                {
                    say!(io, "exclude       {}", exclude.join(" "));
                }
                say!(io, "destinations  {}", t.destinations.join(", "));
                say!(
                    io,
                    "schedule      {}{}",
                    schedule_text(t),
                    t.timezone
                        .as_deref()
                        .map(|z| format!(" ({z})"))
                        .unwrap_or_default()
                );
                if let Some(e) = &r.schedule_error {
                    say!(io, "              schedule error: {e}");
                }
                say!(
                    io,
                    "next backup   {}",
                    r.next
                        .map(|(w, k)| format!("{} UTC, {k}", super::render::time(&w)))
                        .unwrap_or_else(|| "-".into())
                );
                say!(
                    io,
                    "catch-up      {}",
                    if t.catch_up == CatchUp::Skip {
                        "skip"
                    } else {
                        "once"
                    }
                );
                say!(io, "retention     {}", t.retention.text("=", " "));
                if let Some(b) = &t.hooks.before {
                    say!(io, "before hook   {b}")
                }
                if let Some(a) = &t.hooks.after {
                    say!(io, "after hook    {a}")
                }
                say!(io, "compression   zstd {}", t.compression_level);
                say!(
                    io,
                    "backups       {} (stored {})",
                    r.backups,
                    size(r.stored_bytes)
                );
                say!(io, "last full     {}", when(r.last_full));
                say!(io, "last incr     {}", when(r.last_incremental));
                say!(
                    io,
                    "last result   {}",
                    r.last_result.as_deref().unwrap_or("-")
                );
                let runs = core.runs(Some(&t.name), 5)?;
                if !runs.is_empty() {
                    say!(io, "recent runs");
                    for run in &runs {
                        let id = if run.backup_id.is_empty() {
                            "-"
                        } else {
                            run.backup_id.as_str()
                        };
                        let msg = run
                            .message
                            .as_deref()
                            .map(|m| format!("  {m}"))
                            .unwrap_or_default();
                        say!(
                            io,
                            "  #{:<4} {}  {:<12} {:<11} {id}{msg}",
                            run.id,
                            super::render::time(&run.started),
                            run.kind.as_str(),
                            run.status.as_str()
                        );
                    }
                }
            }
        }
        TaskCmd::Pause { name } => {
            let t = core.set_paused(&name, true)?;
            if j {
                json(io, &t)?
            } else {
                say!(
                    io,
                    "paused task {name}: the scheduler leaves it alone until 'strata task resume {name}'"
                )
            }
        }
        TaskCmd::Resume { name } => {
            let t = core.set_paused(&name, false)?;
            if j {
                json(io, &t)?
            } else {
                say!(io, "resumed task {name}")
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

/// `strata runs`: the newest runs, newest first, with their messages.
pub(super) fn runs(
    core: &Core,
    task: Option<&str>,
    limit: usize,
    j: bool,
    io: &mut Io<'_>,
) -> Result<u8, CoreError> {
    if let Some(t) = task {
        core.task(t)?;
    }
    let runs = core.runs(task, limit)?;
    if j {
        json(io, &runs)?;
        return Ok(0);
    }
    let mut tb = Table::new(&[
        ">RUN",
        "TASK",
        "STARTED (UTC)",
        "KIND",
        "STATUS",
        "BACKUP",
        "MESSAGE",
    ]);
    for r in &runs {
        tb.row(vec![
            r.id.to_string(),
            r.task.clone(),
            super::render::time(&r.started),
            r.kind.as_str().to_string(),
            r.status.as_str().to_string(),
            if r.backup_id.is_empty() {
                "-".into()
            } else {
                r.backup_id.clone()
            },
            r.message.clone().unwrap_or_default(),
        ]);
    }
    write!(io.out, "{}", tb.render()).map_err(write_err)?;
    Ok(0)
}
