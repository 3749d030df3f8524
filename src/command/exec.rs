//! Executes a parsed command through the core and renders its result.

use super::progress::Bar;
use super::render::{Table, size, time};
use super::{BackupCmd, CatalogCmd, Cli, Command, DestCmd, TaskCmd};
use crate::core::backups::{BackupRow, VerifySelection};
use crate::core::home::Home;
use crate::core::model::{
    BackupKind, DestinationConfig, DestinationKind, RetentionPolicy, SourceConfig, TaskConfig,
};
use crate::core::{Core, CoreError};
use crate::engine::progress::Progress;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

/// Where a command writes.
pub struct Io<'a> {
    /// Results.
    pub out: &'a mut dyn Write,
    /// Notes, warnings and errors.
    pub err: &'a mut dyn Write,
}

fn json<T: Serialize>(io: &mut Io<'_>, v: &T) -> Result<(), CoreError> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| CoreError::Failed(format!("cannot encode JSON output: {e}")))?;
    writeln!(io.out, "{s}").map_err(write_err)
}

fn write_err(e: std::io::Error) -> CoreError {
    CoreError::Failed(format!("cannot write output: {e}"))
}

macro_rules! say {
    ($io:expr, $($arg:tt)*) => { writeln!($io.out, $($arg)*).map_err(write_err)? };
}
macro_rules! note {
    ($io:expr, $($arg:tt)*) => { let _ = writeln!($io.err, $($arg)*); };
}

/// Runs `cli` and returns the process exit code (design.md §3).
pub fn execute(cli: Cli, io: &mut Io<'_>) -> u8 {
    match run(cli, io) {
        Ok(code) => code,
        Err(e) => {
            note!(io, "strata: {e}");
            e.exit_code()
        }
    }
}

fn holder() -> String {
    let args: Vec<String> = std::env::args().collect();
    let mut s = args.join(" ");
    s.truncate(120);
    s
}

fn run(cli: Cli, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let home = Home::resolve(cli.home.clone());
    let j = cli.json;
    if let Command::Demo = cli.command {
        return super::demo::run(cli.home, j, io);
    }
    if let Command::Info = cli.command {
        return info(&home, j, io);
    }
    let core = Core::open(home, &holder())?;
    match cli.command {
        Command::Demo | Command::Info => Ok(0),
        Command::Dest(c) => dest(&core, c, j, io),
        Command::Task(c) => task(&core, c, j, io),
        Command::Backup(c) => backup(&core, c, j, io),
        Command::Restore(a) => {
            let progress = Arc::new(Progress::default());
            let t0 = Instant::now();
            let (rec, report) = {
                let _bar = Bar::start(progress.clone(), j);
                core.restore(&a.id, &a.to, a.path.as_deref(), &progress)?
            };
            if j {
                json(
                    io,
                    &serde_json::json!({"backup": rec.id, "target": a.to, "report": report}),
                )?;
            } else {
                say!(
                    io,
                    "restored backup {} of {} into {}: {} files, {} dirs, {} symlinks, {} hard links, {} in {:.1} s",
                    rec.id,
                    rec.task,
                    a.to.display(),
                    report.files,
                    report.dirs,
                    report.symlinks,
                    report.hardlinks,
                    size(report.bytes),
                    t0.elapsed().as_secs_f64()
                );
            }
            for e in &report.errors {
                note!(io, "strata: {}: {}", e.path, e.error);
            }
            if report.errors.is_empty() {
                Ok(0)
            } else {
                note!(
                    io,
                    "strata: {} entries of backup {} could not be restored (listed above); run 'strata verify {} --read-data'",
                    report.errors.len(),
                    rec.id,
                    rec.id
                );
                Ok(1)
            }
        }
        Command::Verify(a) => {
            let sel = match (a.id, a.task, a.all) {
                (Some(id), _, _) => VerifySelection::One(id),
                (None, Some(t), _) => VerifySelection::Task(t),
                (None, None, true) => VerifySelection::All,
                (None, None, false) => {
                    return Err(CoreError::Invalid(
                        "verify needs a backup ID, --task TASK or --all".into(),
                    ));
                }
            };
            let progress = Arc::new(Progress::default());
            let reports = {
                let _bar = Bar::start(progress.clone(), j);
                core.verify(&sel, a.read_data, &progress)?
            };
            let bad = reports.iter().filter(|r| !r.ok()).count();
            if j {
                json(io, &reports)?;
            } else {
                let mut t = Table::new(&[
                    "BACKUP",
                    "DESTINATION",
                    "CHECK",
                    ">CHUNKS",
                    ">DATA",
                    "RESULT",
                ]);
                for r in &reports {
                    t.row(vec![
                        r.backup.clone(),
                        r.destination.clone(),
                        if r.read_data {
                            "read-data".into()
                        } else {
                            "structure".into()
                        },
                        r.chunks_checked.to_string(),
                        size(r.bytes_checked),
                        if r.ok() {
                            "ok".into()
                        } else {
                            format!("{} problem(s)", r.problems.len())
                        },
                    ]);
                }
                write!(io.out, "{}", t.render()).map_err(write_err)?;
            }
            for r in &reports {
                for p in &r.problems {
                    note!(io, "strata: {p}");
                }
            }
            if bad > 0 {
                note!(
                    io,
                    "strata: {bad} of {} verification(s) found problems (listed above)",
                    reports.len()
                );
                Ok(1)
            } else {
                Ok(0)
            }
        }
        Command::Catalog(CatalogCmd::Rebuild { from }) => {
            let r = core.rebuild(&from)?;
            if j {
                json(io, &r)?;
            } else {
                say!(
                    io,
                    "catalog rebuilt from {from}: {} backup(s) added, {} already present, {} task(s) recreated, {} incomplete run(s) ignored",
                    r.added.len(),
                    r.present.len(),
                    r.tasks_added.len(),
                    r.incomplete.len()
                );
            }
            Ok(0)
        }
    }
}

fn info(home: &Home, j: bool, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let v = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "home": home.root(),
        "config": home.config(),
        "catalog": home.catalog(),
        "logs": home.logs(),
    });
    if j {
        json(io, &v)?;
    } else {
        say!(io, "strata {}", env!("CARGO_PKG_VERSION"));
        say!(io, "home     {}", home.root().display());
        say!(io, "config   {}", home.config().display());
        say!(io, "catalog  {}", home.catalog().display());
        say!(io, "logs     {}", home.logs().display());
    }
    Ok(0)
}

fn dest_row(d: &DestinationConfig) -> Vec<String> {
    match &d.kind {
        DestinationKind::Local { path } => {
            vec![d.name.clone(), "local".into(), path.display().to_string()]
        }
    }
}

fn dest(core: &Core, c: DestCmd, j: bool, io: &mut Io<'_>) -> Result<u8, CoreError> {
    match c {
        DestCmd::Add { name, local } => {
            let d = core.add_destination(DestinationConfig {
                name,
                kind: DestinationKind::Local { path: local },
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

fn task(core: &Core, c: TaskCmd, j: bool, io: &mut Io<'_>) -> Result<u8, CoreError> {
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
                retention: RetentionPolicy {
                    keep_within: a.keep_within,
                    keep_last_full: a.keep_last_full,
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

fn flags(r: &BackupRow) -> String {
    let mut f = Vec::new();
    if r.record.manual {
        f.push("manual")
    }
    if r.record.pinned {
        f.push("pinned")
    }
    match &r.record.verified {
        Some(v) if v.ok => f.push("verified"),
        Some(_) => f.push("DAMAGED"),
        None => {}
    }
    f.join(",")
}

fn backup_table(rows: &[&BackupRow], chain: bool) -> String {
    let mut t = Table::new(&[
        "ID",
        "TASK",
        "KIND",
        "STATUS",
        "STARTED (UTC)",
        ">FILES",
        ">LOGICAL",
        ">STORED",
        ">RECLAIMABLE",
        "FLAGS",
    ]);
    for r in rows {
        let b = &r.record;
        let kind = if chain && b.kind != BackupKind::Full {
            format!("└ {}", b.kind)
        } else {
            b.kind.to_string()
        };
        t.row(vec![
            b.id.clone(),
            b.task.clone(),
            kind,
            b.status.as_str().into(),
            time(&b.started),
            b.file_count.to_string(),
            size(b.logical_bytes),
            size(b.stored_bytes),
            size(r.reclaimable_bytes),
            flags(r),
        ]);
    }
    t.render()
}

fn backup(core: &Core, c: BackupCmd, j: bool, io: &mut Io<'_>) -> Result<u8, CoreError> {
    match c {
        BackupCmd::Run {
            task,
            full,
            incremental: _,
            differential,
        } => {
            let kind = if full {
                BackupKind::Full
            } else if differential {
                BackupKind::Differential
            } else {
                BackupKind::Incremental
            };
            let progress = Arc::new(Progress::default());
            let t0 = Instant::now();
            let outcome = {
                let _bar = Bar::start(progress.clone(), j);
                core.run_backup(&task, kind, true, &progress)?
            };
            let b = &outcome.backup;
            if let Some(n) = &outcome.note {
                note!(io, "strata: note: {n}");
            }
            if j {
                json(
                    io,
                    &serde_json::json!({"backup": b, "run": outcome.run, "note": outcome.note}),
                )?;
            } else {
                say!(
                    io,
                    "backup {} of {}: {}, {}, {} files ({} read), logical {}, stored {}, {:.1} s",
                    b.id,
                    b.task,
                    b.kind,
                    b.status.as_str(),
                    b.file_count,
                    b.changed_files,
                    size(b.logical_bytes),
                    size(b.stored_bytes),
                    t0.elapsed().as_secs_f64()
                );
            }
            for w in b.warnings.iter().take(20) {
                note!(io, "strata: warning: {}: {}", w.path, w.error);
            }
            if !b.errors.is_empty() {
                for e in b.errors.iter().take(20) {
                    note!(io, "strata: {}: {}", e.path, e.error);
                }
                note!(
                    io,
                    "strata: backup {} is PARTIAL: {} entries could not be read; see 'strata backup show {}'",
                    b.id,
                    b.errors.len(),
                    b.id
                );
                return Ok(1);
            }
        }
        BackupCmd::List { task, chain } => {
            let rows = core.backups(task.as_deref())?;
            if j {
                json(io, &rows)?;
                return Ok(0);
            }
            let mut ordered: Vec<&BackupRow> = Vec::new();
            if chain {
                let mut chains: BTreeMap<(String, String), Vec<&BackupRow>> = BTreeMap::new();
                for r in &rows {
                    let full_started = rows
                        .iter()
                        .find(|x| x.record.id == r.record.chain)
                        .map(|x| x.record.started.to_rfc3339())
                        .unwrap_or_default();
                    chains
                        .entry((full_started, r.record.chain.clone()))
                        .or_default()
                        .push(r);
                }
                for (_, mut members) in chains {
                    members.sort_by_key(|r| (r.record.kind != BackupKind::Full, r.record.started));
                    ordered.extend(members);
                }
            } else {
                ordered = rows.iter().collect();
            }
            write!(io.out, "{}", backup_table(&ordered, chain)).map_err(write_err)?;
            let mut totals: BTreeMap<&str, (usize, u64, u64)> = BTreeMap::new();
            for r in &rows {
                let e = totals.entry(&r.record.task).or_default();
                e.0 += 1;
                e.1 += r.record.stored_bytes;
                e.2 += r.reclaimable_bytes;
            }
            for (t, (n, stored, recl)) in totals {
                say!(
                    io,
                    "total {t}: {n} backup(s), stored {}, reclaimable now {}",
                    size(stored),
                    size(recl)
                );
            }
        }
        BackupCmd::Show { id } => {
            let r = core.backup(&id)?;
            if j {
                json(io, &r)?;
                return Ok(0);
            }
            let b = &r.record;
            say!(io, "backup        {}", b.id);
            say!(io, "task          {}", b.task);
            say!(
                io,
                "kind          {}{}",
                b.kind,
                if b.manual { " (manual)" } else { "" }
            );
            say!(io, "status        {}", b.status.as_str());
            say!(
                io,
                "parent        {}",
                b.parent
                    .as_deref()
                    .unwrap_or("none (a full depends on nothing)")
            );
            say!(io, "chain         {}", b.chain);
            say!(io, "started       {} UTC", time(&b.started));
            say!(io, "finished      {} UTC", time(&b.finished));
            say!(
                io,
                "files         {} ({} entries, {} read this run)",
                b.file_count,
                b.entry_count,
                b.changed_files
            );
            say!(
                io,
                "logical       {} ({} bytes)",
                size(b.logical_bytes),
                b.logical_bytes
            );
            say!(
                io,
                "stored        {} ({} bytes)",
                size(b.stored_bytes),
                b.stored_bytes
            );
            say!(
                io,
                "reclaimable   {}{}",
                size(r.reclaimable_bytes),
                if r.dependents.is_empty() {
                    String::new()
                } else {
                    format!(" (depended on by {})", r.dependents.join(", "))
                }
            );
            say!(io, "destinations  {}", b.destinations.join(", "));
            say!(io, "pinned        {}", if b.pinned { "yes" } else { "no" });
            match &b.verified {
                Some(v) => say!(
                    io,
                    "verified      {} UTC, {}, {}",
                    time(&v.at),
                    if v.read_data {
                        "read-data"
                    } else {
                        "structure"
                    },
                    if v.ok { "ok" } else { "PROBLEMS" }
                ),
                None => say!(io, "verified      never"),
            }
            if !b.warnings.is_empty() {
                say!(io, "warnings      {} entries:", b.warnings.len());
                for e in &b.warnings {
                    say!(io, "  {}: {}", e.path, e.error);
                }
            }
            if !b.errors.is_empty() {
                say!(io, "unreadable    {} entries:", b.errors.len());
                for e in &b.errors {
                    say!(io, "  {}: {}", e.path, e.error);
                }
            }
        }
        BackupCmd::Delete { id, cascade } => {
            let gone = core.delete_backup(&id, cascade)?;
            let freed: u64 = gone.iter().map(|b| b.stored_bytes).sum();
            if j {
                json(
                    io,
                    &serde_json::json!({"deleted": gone.iter().map(|b| &b.id).collect::<Vec<_>>(), "freed_bytes": freed}),
                )?;
            } else {
                for b in &gone {
                    say!(
                        io,
                        "deleted backup {} ({} {}, {})",
                        b.id,
                        b.task,
                        b.kind,
                        size(b.stored_bytes)
                    );
                }
                say!(io, "freed {}", size(freed));
            }
        }
        BackupCmd::Pin { id } => {
            let b = core.set_pinned(&id, true)?;
            if j {
                json(io, &b)?
            } else {
                say!(io, "pinned backup {}", b.id)
            }
        }
        BackupCmd::Unpin { id } => {
            let b = core.set_pinned(&id, false)?;
            if j {
                json(io, &b)?
            } else {
                say!(io, "unpinned backup {}", b.id)
            }
        }
    }
    Ok(0)
}
