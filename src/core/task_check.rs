//! Checks of names and task settings, shared by `task add`, `dest add` and
//! `apply`: every value a user gives is checked before anything is stored.

use super::error::CoreError;
use crate::model::{SourceConfig, TaskConfig};
use crate::source::Excludes;

/// Names must be usable in paths, shells and tables.
pub fn check_name(what: &str, name: &str) -> Result<(), CoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !name.starts_with('.')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(CoreError::Invalid(format!(
            "{what} name {name:?} is not valid; use 1-64 letters, digits, '-', '_' or '.', not starting with '.' or '-'"
        )))
    }
}

/// The settings rules every way of defining a task shares (`task add`,
/// `apply`): schedules, time zone, retention, hooks, excludes, compression.
/// Errors carry the field's file key (`retention.keep_within`) so each front
/// end can name it in its own vocabulary (a flag, a TOML key).
pub(crate) fn check_settings(task: &TaskConfig) -> Result<(), (&'static str, String)> {
    if !(1..=22).contains(&task.compression_level) {
        return Err((
            "compression_level",
            format!(
                "{} is out of range; use 1 to 22 (default 3)",
                task.compression_level
            ),
        ));
    }
    for (key, expr) in [
        ("full", &task.full),
        ("incremental", &task.incremental),
        ("differential", &task.differential),
        ("verify", &task.verify),
    ] {
        if let Some(e) = expr {
            super::schedule::parse_cron(e).map_err(|why| (key, why.replace('\n', " ")))?;
        }
    }
    match (&task.verify, task.verify_read_data) {
        (_, Some(p)) if !(1..=100).contains(&p) => {
            return Err((
                "verify_read_data",
                format!("{p} is not a percentage of packs; use 1 to 100"),
            ));
        }
        (None, Some(_)) => {
            return Err((
                "verify_read_data",
                "needs a verify schedule, e.g. verify = \"0 4 * * 0\"".into(),
            ));
        }
        _ => {}
    }
    if let Some(z) = &task.timezone {
        super::scheduler::parse_tz(z).map_err(|why| ("timezone", why))?;
    }
    if let Some(d) = &task.alert_after {
        super::schedule::parse_duration(d).map_err(|why| ("alert_after", why))?;
    }
    if let Some(d) = &task.retention.keep_within {
        super::schedule::parse_duration(d).map_err(|why| ("retention.keep_within", why))?;
    }
    if task.retention.keep_last_full == Some(0) {
        return Err((
            "retention.keep_last_full",
            "must be at least 1 (the newest full is always kept)".into(),
        ));
    }
    use super::bounds::{HOOK_TIMEOUT_SECS, KEEP_CALENDAR, KEEP_LAST_FULL, check};
    let r = &task.retention;
    if let Some(n) = r.keep_last_full {
        check("", n, &KEEP_LAST_FULL).map_err(|e| ("retention.keep_last_full", e))?;
    }
    for (key, v) in [
        ("retention.keep_daily", r.keep_daily),
        ("retention.keep_weekly", r.keep_weekly),
        ("retention.keep_monthly", r.keep_monthly),
        ("retention.keep_yearly", r.keep_yearly),
    ] {
        if let Some(n) = v {
            check("", n, &KEEP_CALENDAR).map_err(|e| (key, e))?;
        }
    }
    for (key, cmd) in [
        ("hooks.before", &task.hooks.before),
        ("hooks.after", &task.hooks.after),
    ] {
        if cmd.as_deref().is_some_and(|c| c.trim().is_empty()) {
            return Err((key, "is empty; give a command or leave it out".into()));
        }
    }
    if let Some(n) = task.hooks.timeout_secs {
        check("", n, &HOOK_TIMEOUT_SECS).map_err(|e| ("hooks.timeout_secs", e))?;
    }
    if let Some(n) = &task.notify {
        super::notify::check_task_settings(n)?;
    }
    if let Some(d) = first_duplicate_dest(&task.destinations) {
        return Err((
            "destinations",
            format!("lists {d:?} twice; name each destination once"),
        ));
    }
    match &task.source {
        SourceConfig::Dir { exclude, .. } => {
            Excludes::new(exclude).map_err(|e| ("source.exclude", e.to_string()))?;
        }
        SourceConfig::Sqlite { path, .. } => super::database::check_sqlite(path)?,
        SourceConfig::Command {
            dump,
            restore,
            timeout,
            env_file,
            ..
        } => super::database::check_command(
            dump,
            restore.as_deref(),
            timeout.as_deref(),
            env_file.as_deref(),
        )?,
        SourceConfig::Snapshot {
            create,
            path,
            clear,
            keep_local,
            keep_local_within,
            timeout,
            env_file,
        } => check_snapshot(
            create,
            path,
            clear,
            *keep_local,
            keep_local_within.as_deref(),
            timeout.as_deref(),
            env_file.as_deref(),
        )?,
    }
    Ok(())
}

/// The rules for a `snapshot` source: create, path and clear given, path an
/// absolute glob with `{tag}`, the keep rules, timeout and env file valid.
#[allow(clippy::too_many_arguments)] // one per field
pub(crate) fn check_snapshot(
    create: &str,
    path: &str,
    clear: &str,
    keep_local: Option<u32>,
    keep_local_within: Option<&str>,
    timeout: Option<&str>,
    env_file: Option<&std::path::Path>,
) -> Result<(), (&'static str, String)> {
    use crate::source::command;
    for (key, cmd, example) in [
        ("source.create", create, "nodetool snapshot -t {tag}"),
        ("source.clear", clear, "nodetool clearsnapshot -t {tag}"),
    ] {
        if cmd.trim().is_empty() {
            return Err((key, format!("is empty; give the command, e.g. '{example}'")));
        }
        command::invocation_with(cmd, "{tag}", Some("strata-x")).map_err(|e| (key, e))?;
    }
    if path.trim().is_empty() {
        return Err((
            "source.path",
            "is empty; give the glob of the snapshot's directories, e.g. /var/lib/cassandra/data/*/*/snapshots/{tag}".into(),
        ));
    }
    crate::source::snapshot::check_template(path).map_err(|e| ("source.path", e))?;
    if let Some(n) = keep_local {
        super::bounds::check("", n, &super::bounds::KEEP_CALENDAR)
            .map_err(|e| ("source.keep_local", e))?;
    }
    if let Some(d) = keep_local_within {
        super::schedule::parse_duration(d).map_err(|e| ("source.keep_local_within", e))?;
    }
    super::database::check_command("true", None, timeout, env_file)
}

/// The first destination a task names more than once.
pub(crate) fn first_duplicate_dest(dests: &[String]) -> Option<&str> {
    let mut seen = std::collections::BTreeSet::new();
    dests.iter().map(String::as_str).find(|d| !seen.insert(*d))
}
