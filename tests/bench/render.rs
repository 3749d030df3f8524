//! Console frame time: a catalog of 10,000 backups (plus a few tasks, jobs
//! and audit entries) drawn into a 120x40 `TestBackend`, frame after frame,
//! with the selection moving, as `strata tui` draws it; and the file browser
//! over a backup of 100,000 entries at 120x40 and 200x50. Prints the mean,
//! p99 and worst frame time per case; the target is ≤ 5 ms per frame.
//!
//! Run it with `cargo bench --bench render` (release profile) or
//! `just bench-render`. `FRAMES=N` changes the number of measured frames.
//! It never fails on a slow frame: timings are noisy, figures are recorded
//! in docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

use chrono::{DateTime, Duration, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;
use std::time::Instant;
use strata::core::access::Role;
use strata::core::backups::BackupRow;
use strata::core::registry::JobView;
use strata::core::rows::{TaskRow, TaskStatus};
use strata::model::ListedEntry;
use strata::model::{
    AuditEntry, BackupKind, BackupRecord, BackupStatus, RetentionPolicy, RunRecord, RunStatus,
    SourceConfig, TaskConfig, VerifyMark,
};
use strata::tui::app::{App, Request};
use strata::tui::browse::Listing;
use strata::tui::keymap::{Keymap, View};
use strata::tui::output::Note;
use strata::tui::render::{self, Ctx};
use strata::tui::source::Snapshot;
use strata::tui::theme::Theme;

const BACKUPS: usize = 10_000;
const TASKS: [&str; 6] = ["web", "db", "media", "mail", "wiki", "ci-cache"];
const SIZE: (u16, u16) = (120, 40);
/// Frames drawn before measuring (allocations, caches).
const WARMUP: usize = 50;
const TARGET_MS: f64 = 5.0;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn task(name: &str) -> TaskConfig {
    TaskConfig {
        name: name.into(),
        source: SourceConfig::Dir {
            path: PathBuf::from(format!("/srv/{name}")),
            exclude: vec!["*.tmp".into()],
        },
        destinations: vec!["nas".into()],
        full: Some("0 3 * * 0".into()),
        incremental: Some("0 * * * *".into()),
        differential: None,
        timezone: Some("UTC".into()),
        catch_up: Default::default(),
        retention: RetentionPolicy {
            keep_last_full: Some(4),
            ..Default::default()
        },
        hooks: Default::default(),
        compression_level: 3,
        paused: name == "wiki",
        created: now() - Duration::days(400),
        require: Default::default(),
        alert_after: None,
        notify: None,
        verify: None,
        verify_read_data: None,
    }
}

/// 10,000 backups over the tasks, oldest first: chains of one full and 23
/// incrementals, some pinned, verified, damaged or partial.
fn snapshot() -> Snapshot {
    let mut backups = Vec::with_capacity(BACKUPS);
    let mut parent: Vec<Option<(String, String)>> = vec![None; TASKS.len()];
    let start = now() - Duration::hours(BACKUPS as i64);
    for i in 0..BACKUPS {
        let t = i % TASKS.len();
        let finished = start + Duration::hours(i as i64);
        let id = format!("{}-{:04x}", finished.format("%Y%m%d-%H%M%S"), i);
        let full = (i / TASKS.len()).is_multiple_of(24);
        let (kind, par, chain) = match (&parent[t], full) {
            (Some((p, c)), false) => (BackupKind::Incremental, Some(p.clone()), c.clone()),
            _ => (BackupKind::Full, None, id.clone()),
        };
        parent[t] = Some((id.clone(), chain.clone()));
        let logical = (1 << 30) + (i as u64 * 7919) % (1 << 28);
        let stored = if kind == BackupKind::Full {
            logical / 2
        } else {
            (i as u64 * 104_729) % (64 << 20)
        };
        backups.push(BackupRow {
            record: BackupRecord {
                id: id.clone(),
                task: TASKS[t].into(),
                kind,
                manual: i % 97 == 0,
                parent: par,
                chain,
                status: if i % 211 == 0 {
                    BackupStatus::Partial
                } else {
                    BackupStatus::Complete
                },
                started: finished - Duration::minutes(3),
                finished,
                logical_bytes: logical,
                stored_bytes: stored,
                file_count: 50_000 + i as u64,
                entry_count: 52_000 + i as u64,
                changed_files: (i % 500) as u64,
                errors: Vec::new(),
                warnings: Vec::new(),
                destinations: vec!["nas".into()],
                manifest_hash: format!("{:064x}", i),
                pinned: i % 500 == 0,
                verified: (i % 13 == 0).then(|| VerifyMark {
                    at: finished + Duration::minutes(5),
                    read_data: i % 2 == 0,
                    ok: i % 1300 != 0,
                }),
                copies: Vec::new(),
            },
            reclaimable_bytes: if i + TASKS.len() >= BACKUPS {
                stored
            } else {
                0
            },
            dependents: Vec::new(),
            source: String::new(),
            encrypted: false,
        });
    }
    let tasks = TASKS
        .iter()
        .enumerate()
        .map(|(t, name)| {
            let mut mine = backups.iter().filter(|b| b.record.task == *name);
            TaskRow {
                task: task(name),
                status: match t {
                    1 => TaskStatus::Running,
                    3 => TaskStatus::Failed,
                    4 => TaskStatus::Paused,
                    5 => TaskStatus::Missed,
                    _ => TaskStatus::Active,
                },
                backups: mine.clone().count(),
                stored_bytes: mine.clone().map(|b| b.record.stored_bytes).sum(),
                last_full: Some(now() - Duration::days(2)),
                last_incremental: Some(now() - Duration::minutes(40 + t as i64)),
                last_backup: mine.next_back().map(|b| b.record.id.clone()),
                next: (t != 4).then(|| (now() + Duration::minutes(20), BackupKind::Incremental)),
                last_result: Some(if t == 3 {
                    "failed: destination nas: not mounted".into()
                } else {
                    "complete".into()
                }),
                schedule_error: None,
                last_success: None,
                alert_after_secs: None,
                next_verify: None,
            }
        })
        .collect();
    let jobs = vec![
        JobView {
            id: 41,
            task: "db".into(),
            purpose: Default::default(),
            kind: BackupKind::Incremental,
            manual: false,
            phase: "store".into(),
            started: now() - Duration::minutes(2),
            files_done: 31_000,
            files_total: 52_000,
            bytes_done: 700 << 20,
            bytes_total: 1 << 30,
            rate_bytes_per_sec: 90 << 20,
            eta_secs: Some(4),
            uploads: vec![],
        },
        JobView {
            id: 42,
            task: "media".into(),
            purpose: Default::default(),
            kind: BackupKind::Full,
            manual: true,
            phase: "queued".into(),
            started: now() - Duration::minutes(1),
            files_done: 0,
            files_total: 0,
            bytes_done: 0,
            bytes_total: 0,
            rate_bytes_per_sec: 0,
            eta_secs: None,
            uploads: vec![],
        },
    ];
    let audit = (0..200)
        .map(|i| AuditEntry {
            id: i,
            at: now() - Duration::minutes(200 - i as i64),
            who: "alice".into(),
            role: "admin".into(),
            origin: "local".into(),
            action: "backup run".into(),
            target: TASKS[i as usize % TASKS.len()].into(),
            outcome: "ok".into(),
        })
        .collect();
    Snapshot {
        runs: runs_of(&backups),
        tasks,
        backups,
        jobs,
        audit,
        taken: Some(now()),
        ..Default::default()
    }
}

/// The runs of the newest 200 backups, newest first (what the console reads).
fn runs_of(backups: &[BackupRow]) -> Vec<RunRecord> {
    backups
        .iter()
        .rev()
        .take(200)
        .enumerate()
        .map(|(i, b)| RunRecord {
            id: (backups.len() - i) as u64,
            task: b.record.task.clone(),
            purpose: strata::model::RunPurpose::Backup,
            requested: b.record.kind,
            kind: b.record.kind,
            backup_id: b.record.id.clone(),
            destinations: b.record.destinations.clone(),
            status: RunStatus::Complete,
            started: b.record.started,
            finished: Some(b.record.finished),
            message: None,
        })
        .collect()
}

/// Entries of the browsed backup: 100 directories of 998 files, and 100
/// files at the top.
const ENTRIES: usize = 100_000;

/// The browsed backup's listing, in manifest (not display) order.
fn listing() -> Vec<ListedEntry> {
    let entry = |path: String, kind: &str, size: u64| ListedEntry {
        path,
        kind: kind.into(),
        size,
        mode: if kind == "dir" { 0o755 } else { 0o644 },
        uid: 1000,
        gid: 1000,
        mtime: now() - Duration::minutes(size as i64 % 10_000),
        target: None,
    };
    let mut v = Vec::with_capacity(ENTRIES);
    for d in (0..100u64).rev() {
        v.push(entry(format!("d{d:03}"), "dir", 0));
        for f in 0..998u64 {
            v.push(entry(format!("d{d:03}/f{f:04}.dat"), "file", f * 4099));
        }
        v.push(entry(format!("top{d:03}.log"), "file", d * 17));
    }
    v
}

fn press(app: &mut App, snap: &Snapshot, keys: &[KeyCode]) {
    for k in keys {
        app.handle_key(KeyEvent::new(*k, KeyModifiers::NONE), snap);
    }
}

/// The browser open on the newest backup, its 100,000 entries indexed (as
/// the console's worker hands them over); prints how long indexing took.
fn browse_root(app: &mut App, snap: &Snapshot) {
    let Some(row) = snap.backups.last() else {
        return;
    };
    let Some(Request::Act(action)) = app.open_browser(row).into_iter().next() else {
        panic!("the browser asked for no listing")
    };
    let entries = listing();
    let t = Instant::now();
    let listing = Box::new(Listing::new(entries));
    let built = t.elapsed().as_secs_f64() * 1e3;
    app.receive(Note::Listed { action, listing });
    println!("  (indexing {ENTRIES} entries by directory, once on arrival: {built:.1} ms)");
}

/// The browser inside d042 (998 files), filtered to the 98 named `f09…`.
fn browse_filtered(app: &mut App, snap: &Snapshot) {
    browse_root(app, snap);
    let mut keys = vec![KeyCode::Home];
    keys.extend([KeyCode::Down; 43]);
    keys.extend([
        KeyCode::Enter,
        KeyCode::Char('/'),
        KeyCode::Char('f'),
        KeyCode::Char('0'),
        KeyCode::Char('9'),
        KeyCode::Enter,
    ]);
    press(app, snap, &keys);
}

/// One measured case: a view, its filter, and any other state it needs.
struct Case<'a> {
    name: &'a str,
    view: View,
    filter: &'a str,
    setup: fn(&mut App, &Snapshot),
    size: (u16, u16),
}

struct Stats {
    mean: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    Stats {
        mean: ms.iter().sum::<f64>() / ms.len() as f64,
        p50: at(0.50),
        p99: at(0.99),
        max: ms[ms.len() - 1],
    }
}

/// Draws `frames` frames of `view`, moving the selection by `step` rows each
/// frame (wrapping), and returns each frame's time in ms.
fn run(snap: &Snapshot, theme: &Theme, case: &Case, frames: usize) -> Vec<f64> {
    let mut app = App::new(Role::Admin, Keymap::default());
    app.view = case.view;
    let vi = View::EVERY.iter().position(|v| *v == case.view).unwrap();
    app.filter[vi] = case.filter.to_string();
    (case.setup)(&mut app, snap);
    let rows = app.rows(snap).max(1);
    let mut term = Terminal::new(TestBackend::new(case.size.0, case.size.1)).unwrap();
    let mut times = Vec::with_capacity(frames);
    for f in 0..WARMUP + frames {
        // Mostly one row down (scrolling), with jumps across the list.
        app.selected[vi] = if f % 50 == 49 {
            (f * 7_919) % rows
        } else {
            (app.selected[vi] + 1) % rows
        };
        let ctx = Ctx {
            app: &app,
            snap,
            theme,
            now: now(),
            place: "/srv/strata",
            host: "backup-01",
        };
        let t = Instant::now();
        term.draw(|fr| render::draw(fr, &ctx)).unwrap();
        let el = t.elapsed().as_secs_f64() * 1e3;
        if f >= WARMUP {
            times.push(el);
        }
    }
    times
}

fn main() {
    let frames: usize = std::env::var("FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(500);
    let empty = std::env::temp_dir().join("strata-render-bench-no-themes");
    let theme = Theme::load("default", &empty).unwrap();
    let snap = snapshot();
    println!(
        "console render: {} backups, {} tasks, {} jobs, {} audit entries; {}x{} TestBackend; {frames} frames per case after {WARMUP} warm-up; {} build",
        snap.backups.len(),
        snap.tasks.len(),
        snap.jobs.len(),
        snap.audit.len(),
        SIZE.0,
        SIZE.1,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "{:<32} {:>9} {:>9} {:>9} {:>9}  target <= {TARGET_MS} ms",
        "case", "mean ms", "p50 ms", "p99 ms", "max ms"
    );
    fn none(_: &mut App, _: &Snapshot) {}
    fn by_stored(app: &mut App, _: &Snapshot) {
        app.sort = app.sort.next().next();
    }
    fn web_detail(app: &mut App, _: &Snapshot) {
        app.detail = Some("web".into());
    }
    let case = |name, view, filter, setup: fn(&mut App, &Snapshot)| Case {
        name,
        view,
        filter,
        setup,
        size: SIZE,
    };
    fn wide(c: Case<'_>) -> Case<'_> {
        Case {
            size: (200, 50),
            ..c
        }
    }
    let per_task = BACKUPS / TASKS.len();
    let detail_name = format!("Task detail ({per_task} backups)");
    let cases = [
        case("Backups view (10,000 rows)", View::Backups, "", none),
        case("Backups view, filter \"web\"", View::Backups, "web", none),
        case("Backups view, sorted by size", View::Backups, "", by_stored),
        case("Tasks view", View::Tasks, "", none),
        case("Jobs view", View::Jobs, "", none),
        case("Audit view", View::Audit, "", none),
        case("Log view", View::Log, "", none),
        case("Destinations view", View::Destinations, "", none),
        case(&detail_name, View::Detail, "", web_detail),
        case("File browser (100k entries)", View::Browse, "", browse_root),
        wide(case(
            "File browser (100k), 200x50",
            View::Browse,
            "",
            browse_root,
        )),
        case(
            "File browser, filter in a dir",
            View::Browse,
            "",
            browse_filtered,
        ),
    ];
    let mut worst: f64 = 0.0;
    for c in &cases {
        let name = c.name;
        let s = stats(run(&snap, &theme, c, frames));
        worst = worst.max(s.p99);
        println!(
            "{name:<32} {:>9.3} {:>9.3} {:>9.3} {:>9.3}  {}",
            s.mean,
            s.p50,
            s.p99,
            s.max,
            if s.p99 <= TARGET_MS { "met" } else { "MISSED" }
        );
    }
    println!(
        "worst p99 {worst:.3} ms: target <= {TARGET_MS} ms per frame {}",
        if worst <= TARGET_MS { "met" } else { "MISSED" }
    );
    // Where a filtered frame's time goes: one pass of the row filter over the
    // catalog (a Backups frame makes two: the rows, and the selection's clamp).
    for filter in ["", "web"] {
        let mut app = App::new(Role::Admin, Keymap::default());
        app.filter[1] = filter.to_string();
        let t = Instant::now();
        let mut n = 0;
        for _ in 0..frames {
            n += std::hint::black_box(app.backups(&snap)).len();
        }
        println!(
            "App::backups() alone, filter {filter:?}: {:.3} ms per call ({} rows)",
            t.elapsed().as_secs_f64() * 1e3 / frames as f64,
            n / frames
        );
    }
}
