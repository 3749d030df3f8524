//! How `strata dest …`, `strata task …` and `strata runs` show their outcomes.

use super::exec::{Io, json, write_err};
use super::render::{Table, size, time};
use crate::core::rows::{DestinationRow, HealthState};
use crate::core::{CoreError, Outcome};
use crate::model::{CatchUp, DestinationConfig, RunRecord, SourceConfig, TaskConfig};

/// `1 copy`, `2 copies`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn dest_row(d: &DestinationConfig) -> Vec<String> {
    let kind = match d.encryption {
        Some(_) => format!("{} (encrypted)", d.kind.name()),
        None => d.kind.name().into(),
    };
    vec![d.name.clone(), kind, d.kind.location()]
}

/// The STATE cell: `ok`, or the verdict with its error cut to a column's
/// worth (`--json` has it whole).
fn dest_state(r: &DestinationRow) -> String {
    const MAX: usize = 48;
    match (r.state, r.reason()) {
        (HealthState::Ok, _) => "ok".into(),
        (HealthState::Unreachable, Some(p)) => {
            let mut text = format!("UNREACHABLE: {p}");
            if text.chars().count() > MAX {
                text = text.chars().take(MAX - 1).collect::<String>() + "…";
            }
            text
        }
        (HealthState::TimedOut, _) => "TIMED OUT".into(),
        (HealthState::Locked, _) => "LOCKED: no passphrase here".into(),
        (state, _) => state.as_str().into(),
    }
}

pub(super) fn dest(o: &Outcome, j: bool, io: &mut Io<'_>) -> Result<(), CoreError> {
    match o {
        Outcome::DestinationAdded(d) => {
            if j {
                json(io, d)?
            } else {
                say!(io, "added destination {} ({})", d.name, dest_row(d)[2])
            }
        }
        Outcome::Destinations(all) => {
            if j {
                json(io, all)?;
            } else {
                let mut t = Table::new(&["NAME", "KIND", "LOCATION"]);
                all.iter().for_each(|d| t.row(dest_row(d)));
                write!(io.out, "{}", t.render()).map_err(write_err)?;
            }
        }
        Outcome::DestinationRows(rows) => {
            if j {
                json(io, rows)?;
            } else {
                let mut t = Table::new(&[
                    "NAME",
                    "KIND",
                    "LOCATION",
                    "STATE",
                    "FREE",
                    "STORED",
                    "BACKUPS",
                    "LAST WRITE",
                    "PENDING",
                ]);
                for r in rows {
                    let mut cells = dest_row(&r.config);
                    cells.extend([
                        dest_state(r),
                        r.free_bytes.map(size).unwrap_or_else(|| "-".into()),
                        size(r.stored_bytes),
                        r.backups.to_string(),
                        r.last_write
                            .as_ref()
                            .map(time)
                            .unwrap_or_else(|| "-".into()),
                        r.pending.to_string(),
                    ]);
                    t.row(cells);
                }
                write!(io.out, "{}", t.render()).map_err(write_err)?;
            }
        }
        Outcome::Destination(d) => {
            if j {
                json(io, d)?
            } else {
                let r = dest_row(&d.config);
                let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
                say!(
                    io,
                    "name        {}\nkind        {}\nlocation    {}\nrepository  {}\nstate       {}\nchecked     {}\nfree        {}\nstored      {}\nbackups     {}\nlast write  {}\npending     {} to sync, {} to delete",
                    r[0],
                    r[1],
                    r[2],
                    or_dash(d.config.repo_id.clone()),
                    d.problem
                        .as_deref()
                        .map_or_else(|| dest_state(d), |p| format!("{}: {p}", d.state.as_str())),
                    or_dash(d.checked_at.as_ref().map(|t| match d.check_ms {
                        Some(ms) => format!("{} (took {ms} ms)", time(t)),
                        None => time(t),
                    })),
                    or_dash(d.free_bytes.map(size)),
                    size(d.stored_bytes),
                    d.backups,
                    or_dash(d.last_write.as_ref().map(time)),
                    count(d.pending, "copy", "copies"),
                    count(d.deletions_pending, "copy", "copies")
                );
                if let Some(r) = &d.config.rate_limit {
                    say!(io, "rate limit  {r} (writes)");
                }
                if let Some(e) = &d.config.encryption {
                    say!(
                        io,
                        "encryption  xchacha20poly1305, passphrase from {}",
                        e.source()
                    );
                }
                if let Some(n) = d.config.parallel_uploads {
                    say!(io, "uploads     {n} at once");
                }
            }
        }
        Outcome::DestinationRemoved { name } => {
            if j {
                json(io, &serde_json::json!({"removed": name}))?
            } else {
                say!(
                    io,
                    "removed destination {name} (its repository data was left in place)"
                )
            }
        }
        _ => {}
    }
    Ok(())
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
    format!("{} {}", t.source.label(), t.source.location())
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| super::render::time(&t))
        .unwrap_or_else(|| "-".into())
}

pub(super) fn task(o: &Outcome, j: bool, io: &mut Io<'_>) -> Result<(), CoreError> {
    match o {
        Outcome::TaskAdded(t) => {
            if j {
                json(io, t)?
            } else {
                say!(
                    io,
                    "added task {} ({} → {})",
                    t.name,
                    source_text(t),
                    t.destinations.join(", ")
                )
            }
            if let SourceConfig::Command { restore: None, .. } = &t.source {
                note!(
                    io,
                    "strata: note: task {} has no restore command; its backups restore only with 'strata restore ID --stdout | …' (set one with --restore-command, or source.restore in an apply file)",
                    t.name
                );
            }
        }
        Outcome::Tasks(rows) => {
            if j {
                json(io, rows)?;
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
                for r in rows {
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
        Outcome::TaskDetail { row: r, runs } => {
            if j {
                json(io, r)?;
            } else {
                let t = &r.task;
                say!(io, "task          {}", t.name);
                say!(
                    io,
                    "status        {}",
                    format!("{:?}", r.status).to_lowercase()
                );
                say!(io, "source        {}", source_text(t));
                match &t.source {
                    SourceConfig::Dir { exclude, .. } if !exclude.is_empty() => {
                        say!(io, "exclude       {}", exclude.join(" "));
                    }
                    SourceConfig::Command {
                        restore,
                        timeout,
                        env_file,
                        ..
                    } => {
                        say!(
                            io,
                            "restore       {}",
                            restore.as_deref().unwrap_or("none (restore with --stdout)")
                        );
                        say!(io, "timeout       {}", timeout.as_deref().unwrap_or("none"));
                        if let Some(f) = env_file {
                            say!(io, "env file      {}", f.display());
                        }
                    }
                    SourceConfig::Snapshot {
                        create,
                        clear,
                        timeout,
                        env_file,
                        ..
                    } => {
                        say!(io, "create        {create}");
                        say!(io, "clear         {clear}");
                        say!(io, "keep local    {}", t.source.keep_local_text());
                        say!(io, "timeout       {}", timeout.as_deref().unwrap_or("none"));
                        if let Some(f) = env_file {
                            say!(io, "env file      {}", f.display());
                        }
                    }
                    _ => {}
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
                if let Some(n) = &t.notify {
                    say!(io, "alerts        {}", notify_text(n))
                }
                if let Some(v) = &t.verify {
                    say!(
                        io,
                        "verify        {v}, {}; next {}",
                        match t.verify_read_data {
                            Some(p) => format!("data of {p}% of packs"),
                            None => "structure only".into(),
                        },
                        r.next_verify
                            .map(|w| format!("{} UTC", super::render::time(&w)))
                            .unwrap_or_else(|| "-".into())
                    );
                }
                say!(io, "compression   zstd {}", t.compression_level);
                say!(
                    io,
                    "backups       {} (stored {})",
                    r.backups,
                    size(r.stored_bytes)
                );
                say!(
                    io,
                    "last success  {}{}",
                    when(r.last_success),
                    match r.alert_after_secs {
                        Some(s) => format!(" (stale after {})", human_secs(s)),
                        None => " (no staleness alert: manual-only)".into(),
                    }
                );
                if t.require != crate::model::CopyPolicy::All {
                    say!(
                        io,
                        "require       {} cop(ies) of {}",
                        t.require,
                        t.destinations.len()
                    );
                }
                say!(io, "last full     {}", when(r.last_full));
                say!(io, "last incr     {}", when(r.last_incremental));
                say!(
                    io,
                    "last result   {}",
                    r.last_result.as_deref().unwrap_or("-")
                );
                if !runs.is_empty() {
                    say!(io, "recent runs");
                    for run in runs {
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
                            run.kind_label(),
                            run.status.as_str()
                        );
                    }
                }
            }
        }
        Outcome::TaskPaused { task, paused } => {
            let name = &task.name;
            if j {
                json(io, task)?
            } else if *paused {
                say!(
                    io,
                    "paused task {name}: the scheduler leaves it alone until 'strata task resume {name}'"
                )
            } else {
                say!(io, "resumed task {name}")
            }
        }
        Outcome::TaskRemoved {
            name,
            backups_kept: n,
        } => {
            if j {
                json(io, &serde_json::json!({"removed": name, "backups_kept": n}))?
            } else {
                say!(io, "removed task {name}; {n} backup(s) kept")
            }
        }
        _ => {}
    }
    Ok(())
}

/// `strata runs`: the newest runs, in the listing order, with their messages.
pub(super) fn runs(runs: &[&RunRecord], j: bool, io: &mut Io<'_>) -> Result<(), CoreError> {
    if j {
        return json(io, &runs);
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
    for r in runs {
        tb.row(vec![
            r.id.to_string(),
            r.task.clone(),
            super::render::time(&r.started),
            r.kind_label().to_string(),
            r.status.as_str().to_string(),
            if r.backup_id.is_empty() {
                "-".into()
            } else {
                r.backup_id.clone()
            },
            r.message.clone().unwrap_or_default(),
        ]);
    }
    write!(io.out, "{}", tb.render()).map_err(write_err)
}

/// A duration in the largest whole unit people write (`2d`, `26h`, `90m`).
fn human_secs(s: i64) -> String {
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A task's own alert settings in one line (the webhook by its file only).
fn notify_text(n: &crate::model::NotifySettings) -> String {
    let mut parts = vec![match &n.on {
        Some(on) => format!("on {}", on.join(",")),
        None => "on every event".to_string(),
    }];
    if let Some(c) = &n.command {
        parts.push(format!("command {c}"));
    }
    if let Some(f) = &n.webhook_file {
        parts.push(format!("webhook from {}", f.display()));
    }
    if !n.has_channel() {
        parts.push("nowhere (silenced)".into());
    }
    format!("own: {}", parts.join("; "))
}
