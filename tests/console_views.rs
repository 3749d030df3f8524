//! The console (src/tui/): every view rendered into a `TestBackend` and
//! snapshotted, key-driven flows through `App::handle_key`, one flow against a
//! real core, roles, resizing and a large catalog.
//!
//! Everything drawn here is deterministic: the snapshot is built by hand, and
//! "now", the place and the host are fixed, so the frames never depend on the
//! machine or the clock. Snapshots live in tests/snapshots/; after an intended
//! change of the console, review and accept them with
//! `INSTA_UPDATE=always cargo test --test console_views` (or `cargo insta review`).

use chrono::{DateTime, Duration, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use std::path::PathBuf;
use std::sync::Arc;
use strata::core::Core;
use strata::core::access::{Caller, Requirement, Role};
use strata::core::backups::BackupRow;
use strata::core::home::Home;
use strata::core::model::{
    AuditEntry, BackupKind, BackupRecord, BackupStatus, DestinationConfig, DestinationKind,
    EntryError, RetentionPolicy, RunRecord, RunStatus, SourceConfig, TaskConfig, VerifyMark,
};
use strata::core::registry::JobView;
use strata::core::rows::{DestinationRow, TaskRow, TaskStatus};
use strata::tui::app::{App, Mode};
use strata::tui::keymap::{Keymap, View};
use strata::tui::render::{self, Ctx};
use strata::tui::source::{LocalSource, Snapshot, Source};
use strata::tui::theme::Theme;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const PLACE: &str = "/srv/strata";
const HOST: &str = "backup-01";
const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];
const THEMES: [&str; 2] = ["default", "mono"];

// Backup ids of the hand-made catalog (oldest first).
const MEDIA_FULL: &str = "20261115-030000-7b2e";
const WEB_FULL: &str = "20261120-020000-a3f9";
const WEB_INCR: &str = "20261121-020000-4d0e";
const DB_FULL: &str = "20261122-013000-e802";
const WEB_DIFF: &str = "20261122-020000-91c5";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// A built-in theme, loaded from an empty home so a user theme can never interfere.
fn theme(name: &str) -> Theme {
    let empty = tempfile::tempdir().unwrap();
    Theme::load(name, empty.path()).unwrap()
}

fn task_config(name: &str, full: Option<&str>, incr: Option<&str>, paused: bool) -> TaskConfig {
    TaskConfig {
        name: name.into(),
        source: SourceConfig::Dir {
            path: PathBuf::from(format!("/srv/data/{name}")),
            exclude: vec![],
        },
        destinations: vec!["nas".into()],
        full: full.map(Into::into),
        incremental: incr.map(Into::into),
        differential: None,
        timezone: Some("UTC".into()),
        catch_up: Default::default(),
        retention: Default::default(),
        hooks: Default::default(),
        compression_level: 3,
        paused,
        created: at(2026, 10, 1, 9, 0),
    }
}

#[allow(clippy::too_many_arguments)]
fn backup(
    id: &str,
    task: &str,
    kind: BackupKind,
    parent: Option<&str>,
    chain: &str,
    finished: DateTime<Utc>,
    logical: u64,
    stored: u64,
) -> BackupRecord {
    BackupRecord {
        id: id.into(),
        task: task.into(),
        kind,
        manual: false,
        parent: parent.map(Into::into),
        chain: chain.into(),
        status: BackupStatus::Complete,
        started: finished - Duration::minutes(7),
        finished,
        logical_bytes: logical,
        stored_bytes: stored,
        file_count: 1200,
        entry_count: 1350,
        changed_files: 40,
        errors: vec![],
        warnings: vec![],
        destinations: vec!["nas".into()],
        manifest_hash: "0".repeat(64),
        pinned: false,
        verified: None,
    }
}

/// Rows with the sizes the core would compute (reclaimable 0 while depended on or pinned).
fn rows_of(records: Vec<BackupRecord>) -> Vec<BackupRow> {
    records
        .iter()
        .map(|b| {
            let dependents: Vec<String> = records
                .iter()
                .filter(|k| k.parent.as_deref() == Some(b.id.as_str()))
                .map(|k| k.id.clone())
                .collect();
            BackupRow {
                reclaimable_bytes: if dependents.is_empty() && !b.pinned {
                    b.stored_bytes
                } else {
                    0
                },
                dependents,
                record: b.clone(),
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn audit(
    id: u64,
    at: DateTime<Utc>,
    who: &str,
    role: &str,
    origin: &str,
    action: &str,
    target: &str,
    outcome: &str,
) -> AuditEntry {
    AuditEntry {
        id,
        at,
        who: who.into(),
        role: role.into(),
        origin: origin.into(),
        action: action.into(),
        target: target.into(),
        outcome: outcome.into(),
    }
}

/// The hand-made catalog every snapshot is drawn from:
/// - tasks: `db` (a backup job running, 40 of 100 MiB), `web` (active, scheduled),
///   `media` (paused), `mail` (last run failed);
/// - backups: `web`'s chain full (pinned, verified ok) → incremental (partial)
///   and → differential; a manual `media` full whose last verify failed; a `db` full;
/// - one running job; five audit entries, one refused.
fn fixture() -> Snapshot {
    let now = now();
    let mut media_full = backup(
        MEDIA_FULL,
        "media",
        BackupKind::Full,
        None,
        MEDIA_FULL,
        at(2026, 11, 15, 3, 41),
        48 * GIB,
        41 * GIB,
    );
    media_full.manual = true;
    media_full.verified = Some(VerifyMark {
        at: at(2026, 11, 21, 6, 0),
        read_data: true,
        ok: false,
    });
    let mut web_full = backup(
        WEB_FULL,
        "web",
        BackupKind::Full,
        None,
        WEB_FULL,
        at(2026, 11, 20, 2, 12),
        12 * GIB + 400 * MIB,
        5 * GIB + 100 * MIB,
    );
    web_full.pinned = true;
    web_full.verified = Some(VerifyMark {
        at: at(2026, 11, 21, 5, 0),
        read_data: false,
        ok: true,
    });
    let mut web_incr = backup(
        WEB_INCR,
        "web",
        BackupKind::Incremental,
        Some(WEB_FULL),
        WEB_FULL,
        at(2026, 11, 21, 2, 3),
        12 * GIB + 450 * MIB,
        310 * MIB,
    );
    web_incr.status = BackupStatus::Partial;
    web_incr.errors = vec![EntryError {
        path: "var/cache/locked.db".into(),
        error: "permission denied".into(),
    }];
    let db_full = backup(
        DB_FULL,
        "db",
        BackupKind::Full,
        None,
        DB_FULL,
        at(2026, 11, 22, 1, 52),
        2 * GIB,
        900 * MIB,
    );
    let web_diff = backup(
        WEB_DIFF,
        "web",
        BackupKind::Differential,
        Some(WEB_FULL),
        WEB_FULL,
        at(2026, 11, 22, 2, 4),
        12 * GIB + 500 * MIB,
        420 * MIB,
    );
    let backups = rows_of(vec![media_full, web_full, web_incr, db_full, web_diff]);

    let tasks = vec![
        TaskRow {
            task: task_config("db", Some("30 1 * * *"), None, false),
            status: TaskStatus::Running,
            backups: 1,
            stored_bytes: 900 * MIB,
            last_full: Some(at(2026, 11, 22, 1, 52)),
            last_incremental: None,
            last_backup: Some(DB_FULL.into()),
            next: Some((at(2026, 11, 23, 1, 30), BackupKind::Full)),
            last_result: Some("complete".into()),
            schedule_error: None,
        },
        TaskRow {
            task: TaskConfig {
                retention: RetentionPolicy {
                    keep_within: Some("1d".into()),
                    ..Default::default()
                },
                ..task_config("web", Some("0 2 * * 0"), Some("0 2 * * 1-6"), false)
            },
            status: TaskStatus::Active,
            backups: 3,
            stored_bytes: 5 * GIB + 830 * MIB,
            last_full: Some(at(2026, 11, 20, 2, 12)),
            last_incremental: Some(at(2026, 11, 22, 2, 4)),
            last_backup: Some(WEB_DIFF.into()),
            next: Some((at(2026, 11, 23, 2, 0), BackupKind::Incremental)),
            last_result: Some("complete".into()),
            schedule_error: None,
        },
        TaskRow {
            task: task_config("media", None, Some("0 3 * * *"), true),
            status: TaskStatus::Paused,
            backups: 1,
            stored_bytes: 41 * GIB,
            last_full: Some(at(2026, 11, 15, 3, 41)),
            last_incremental: None,
            last_backup: Some(MEDIA_FULL.into()),
            next: None,
            last_result: Some("complete".into()),
            schedule_error: None,
        },
        TaskRow {
            task: task_config("mail", Some("0 4 * * 6"), None, false),
            status: TaskStatus::Failed,
            backups: 0,
            stored_bytes: 0,
            last_full: None,
            last_incremental: None,
            last_backup: None,
            next: Some((at(2026, 11, 28, 4, 0), BackupKind::Full)),
            last_result: Some(
                "failed: destination nas (/mnt/nas/strata) holds no Strata repository".into(),
            ),
            schedule_error: None,
        },
    ];
    let jobs = vec![JobView {
        id: 7,
        task: "db".into(),
        kind: BackupKind::Full,
        manual: true,
        phase: "store".into(),
        started: now - Duration::minutes(3),
        files_done: 1200,
        files_total: 3000,
        bytes_done: 40 * MIB,
        bytes_total: 100 * MIB,
        rate_bytes_per_sec: 2 * MIB,
        eta_secs: Some(30),
    }];
    let audit = vec![
        audit(
            1,
            at(2026, 11, 20, 9, 0),
            "ops",
            "admin",
            "local",
            "task add",
            "web",
            "ok",
        ),
        audit(
            2,
            at(2026, 11, 21, 10, 30),
            "ops",
            "admin",
            "local",
            "backup pin",
            WEB_FULL,
            "ok",
        ),
        audit(
            3,
            at(2026, 11, 22, 7, 0),
            "ci-bot",
            "viewer",
            "ssh 203.0.113.7",
            "backup delete",
            MEDIA_FULL,
            "refused: backup delete requires the admin role; ci-bot is viewer",
        ),
        audit(
            4,
            at(2026, 11, 22, 10, 0),
            "ann",
            "operator",
            "local",
            "task pause",
            "media",
            "ok",
        ),
        audit(
            5,
            at(2026, 11, 22, 11, 57),
            "ann",
            "operator",
            "local",
            "backup run",
            "db",
            "ok",
        ),
    ];
    Snapshot {
        tasks,
        backups,
        jobs,
        runs: fixture_runs(),
        audit,
        taken: Some(now),
        destinations: vec![DestinationRow {
            config: DestinationConfig {
                name: "nas".into(),
                kind: DestinationKind::Local {
                    path: PathBuf::from("/mnt/nas/strata"),
                },
                repo_id: None,
            },
            checked: true,
            problem: None,
        }],
        restore_base: Some(PathBuf::from("/srv/restore")),
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    id: u64,
    task: &str,
    kind: BackupKind,
    backup_id: &str,
    status: RunStatus,
    started: DateTime<Utc>,
    minutes: i64,
    message: Option<&str>,
) -> RunRecord {
    RunRecord {
        id,
        task: task.into(),
        requested: kind,
        kind,
        backup_id: backup_id.into(),
        destinations: vec!["nas".into()],
        status,
        started,
        finished: (status != RunStatus::Running).then(|| started + Duration::minutes(minutes)),
        message: message.map(Into::into),
    }
}

/// Runs of the fixture, newest first (as the core lists them): web's three
/// backups, a failed mail run, a missed media run and db's running job.
fn fixture_runs() -> Vec<RunRecord> {
    use BackupKind::*;
    let mut v = vec![
        run(
            11,
            "web",
            Full,
            WEB_FULL,
            RunStatus::Complete,
            at(2026, 11, 20, 2, 5),
            7,
            None,
        ),
        run(
            12,
            "web",
            Incremental,
            WEB_INCR,
            RunStatus::Partial,
            at(2026, 11, 21, 1, 56),
            7,
            None,
        ),
        run(
            13,
            "mail",
            Full,
            "20261121-040000-0c1d",
            RunStatus::Failed,
            at(2026, 11, 21, 4, 0),
            0,
            Some("destination nas (/mnt/nas/strata) holds no Strata repository"),
        ),
        run(
            14,
            "media",
            Incremental,
            "",
            RunStatus::Missed,
            at(2026, 11, 22, 3, 0),
            0,
            Some("Strata was not running; catch_up = skip"),
        ),
        run(
            15,
            "web",
            Differential,
            WEB_DIFF,
            RunStatus::Complete,
            at(2026, 11, 22, 1, 57),
            7,
            None,
        ),
        run(
            16,
            "db",
            Full,
            "20261122-115700-77aa",
            RunStatus::Running,
            at(2026, 11, 22, 11, 57),
            0,
            None,
        ),
    ];
    v.reverse();
    v
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// Feeds keys; returns every command line they produced.
fn press(app: &mut App, snap: &Snapshot, keys: &[KeyEvent]) -> Vec<String> {
    keys.iter().flat_map(|k| app.handle_key(*k, snap)).collect()
}

fn type_text(app: &mut App, snap: &Snapshot, text: &str) -> Vec<String> {
    let keys: Vec<KeyEvent> = text.chars().map(key).collect();
    press(app, snap, &keys)
}

fn admin() -> App {
    App::new(Role::Admin, Keymap::default())
}

fn draw(app: &App, snap: &Snapshot, theme: &Theme, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let ctx = Ctx {
        app,
        snap,
        theme,
        now: now(),
        place: PLACE,
        host: HOST,
    };
    t.draw(|f| render::draw(f, &ctx)).unwrap();
    t
}

/// The text of buffer row `y` (every symbol the console draws is one column wide).
fn row_text(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

fn screen_text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| row_text(buf, y))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs of cells carrying modifiers, per row: what the mono theme shows instead of colour.
fn modifier_map(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut x = 0;
        while x < buf.area.width {
            let m = buf[(x, y)].modifier;
            let start = x;
            while x < buf.area.width && buf[(x, y)].modifier == m {
                x += 1;
            }
            if !m.is_empty() {
                out.push_str(&format!("row {y:>2} cols {start:>3}..{:<3} {m:?}\n", x - 1));
            }
        }
    }
    out
}

/// What a snapshot holds: the screen as text, and for mono (whose meaning is
/// carried by modifiers, not colour) where the modifiers are.
fn snapshot_text(term: &Terminal<TestBackend>, theme: &str) -> String {
    let buf = term.backend().buffer();
    let mut s = format!("{}", term.backend());
    if theme == "mono" {
        s.push_str("--- modifiers ---\n");
        s.push_str(&modifier_map(buf));
    }
    s
}

/// Snapshots one screen at 80x24 and 120x40 in the default and mono themes.
fn snapshot_screen(name: &str, app: &App, snap: &Snapshot) {
    for (w, h) in SIZES {
        for t in THEMES {
            let term = draw(app, snap, &theme(t), w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}_{t}"), snapshot_text(&term, t));
        }
    }
}

fn on_view(c: char) -> (App, Snapshot) {
    let snap = fixture();
    let mut app = admin();
    assert!(press(&mut app, &snap, &[key(c)]).is_empty());
    (app, snap)
}

// ---------------------------------------------------------------- snapshots

#[test]
fn tasks_view_snapshots() {
    let (app, snap) = on_view('1');
    assert_eq!(app.view, View::Tasks);
    snapshot_screen("tasks", &app, &snap);
}

#[test]
fn backups_view_snapshots() {
    let (app, snap) = on_view('2');
    assert_eq!(app.view, View::Backups);
    snapshot_screen("backups", &app, &snap);
}

#[test]
fn jobs_view_snapshots() {
    let (mut app, snap) = on_view('3');
    assert_eq!(app.view, View::Jobs);
    app.notice("running: backup run db --full", false);
    snapshot_screen("jobs", &app, &snap);
}

#[test]
fn audit_view_snapshots() {
    let (app, snap) = on_view('4');
    assert_eq!(app.view, View::Audit);
    snapshot_screen("audit", &app, &snap);
}

#[test]
fn help_overlay_snapshots() {
    let (mut app, snap) = on_view('1');
    press(&mut app, &snap, &[key('?')]);
    assert_eq!(app.mode, Mode::Help(String::new()));
    snapshot_screen("help", &app, &snap);
}

#[test]
fn delete_confirmation_snapshots() {
    let (mut app, mut snap) = on_view('2');
    // The web full is pinned in the fixture; unpinned, it can be deleted.
    unpin_all(&mut snap);
    // Newest first: 91c5, e802, 4d0e, a3f9 (the full two others depend on), 7b2e.
    press(&mut app, &snap, &[key('j'), key('j'), key('j'), key('d')]);
    assert!(matches!(app.mode, Mode::Confirm { .. }), "{:?}", app.mode);
    snapshot_screen("delete_confirm", &app, &snap);
}

#[test]
fn backup_now_prompt_snapshot() {
    let (mut app, snap) = on_view('1');
    press(&mut app, &snap, &[key('j'), key('b')]);
    assert_eq!(app.mode, Mode::ChooseKind { task: "web".into() });
    let term = draw(&app, &snap, &theme("default"), 80, 24);
    insta::assert_snapshot!("backup_now_80x24_default", snapshot_text(&term, "default"));
}

#[test]
fn too_small_screen_snapshots() {
    let (app, snap) = on_view('1');
    for t in THEMES {
        let term = draw(&app, &snap, &theme(t), 59, 11);
        insta::assert_snapshot!(format!("too_small_59x11_{t}"), snapshot_text(&term, t));
    }
}

#[test]
fn mono_marks_the_selection_by_reversing_it_default_by_colour() {
    let snap = fixture();
    for view in ['1', '2', '3', '4'] {
        let mut app = admin();
        press(&mut app, &snap, &[key(view), key('j')]);
        for t in THEMES {
            let th = theme(t);
            let term = draw(&app, &snap, &th, 120, 40);
            let buf = term.backend().buffer();
            let y = (0..buf.area.height)
                .find(|y| row_text(buf, *y).starts_with("▶ "))
                .unwrap_or_else(|| panic!("no selected row in view {view}:\n{}", screen_text(buf)));
            let unselected = y + 1;
            for x in 0..buf.area.width {
                let cell = &buf[(x, y)];
                let other = &buf[(x, unselected)];
                if t == "mono" {
                    assert!(
                        cell.modifier.contains(Modifier::REVERSED),
                        "mono, view {view}: cell ({x},{y}) of the selected row is not reversed"
                    );
                    assert!(
                        !other.modifier.contains(Modifier::REVERSED),
                        "mono, view {view}: cell ({x},{unselected}) of an unselected row is reversed"
                    );
                } else {
                    assert!(
                        !cell.modifier.contains(Modifier::REVERSED),
                        "default, view {view}: cell ({x},{y}) is reversed; default marks by colour"
                    );
                    assert_eq!(
                        cell.bg,
                        Color::Cyan,
                        "default, view {view}: cell ({x},{y}) of the selected row"
                    );
                    assert_ne!(other.bg, Color::Cyan);
                }
            }
        }
    }
    // Mono keeps failures visible without colour: the failed task's status is bold.
    let mut app = admin();
    press(&mut app, &snap, &[key('1')]);
    let term = draw(&app, &snap, &theme("mono"), 120, 40);
    let buf = term.backend().buffer();
    let (x, y) = find(buf, "✗ failed").expect("failed task shown");
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
}

/// Column and row of the first occurrence of `needle` on screen.
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    (0..buf.area.height).find_map(|y| {
        let row: Vec<String> = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        let first = needle.chars().next()?.to_string();
        (0..row.len()).find_map(|x| {
            let hit = row[x] == first
                && needle
                    .chars()
                    .enumerate()
                    .all(|(i, ch)| row.get(x + i).is_some_and(|s| *s == ch.to_string()));
            hit.then_some((x as u16, y))
        })
    })
}

// ---------------------------------------------------------------- key flows

#[test]
fn tasks_keys_move_and_back_up_now() {
    let snap = fixture();
    let mut app = admin();
    assert_eq!(app.selection(&snap), 0);
    assert!(press(&mut app, &snap, &[key('j')]).is_empty());
    assert_eq!(app.selection(&snap), 1);
    assert_eq!(app.tasks(&snap)[app.selection(&snap)].task.name, "web");

    assert!(press(&mut app, &snap, &[key('b')]).is_empty());
    assert_eq!(app.mode, Mode::ChooseKind { task: "web".into() });
    assert_eq!(
        press(&mut app, &snap, &[key('i')]),
        vec!["backup run web --incremental".to_string()]
    );
    assert_eq!(app.mode, Mode::Normal);

    assert!(press(&mut app, &snap, &[key('b'), code(KeyCode::Esc)]).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    let last = app.notices.back().expect("a notice");
    assert!(last.text.contains("cancelled"), "{last:?}");
    assert!(!last.error);

    // k/g/G stay inside the list.
    press(&mut app, &snap, &[key('G'), key('j'), key('j')]);
    assert_eq!(app.selection(&snap), 3);
    press(&mut app, &snap, &[key('g'), key('k')]);
    assert_eq!(app.selection(&snap), 0);
}

#[test]
fn pause_resume_and_drill_into_a_tasks_backups() {
    let snap = fixture();
    let mut app = admin();
    // web is active: p pauses it; media is paused: p resumes it.
    assert_eq!(
        press(&mut app, &snap, &[key('j'), key('p')]),
        vec!["task pause web".to_string()]
    );
    assert_eq!(
        press(&mut app, &snap, &[key('j'), key('p')]),
        vec!["task resume media".to_string()]
    );
    // Enter on web opens its detail, Enter there lists only web's backups;
    // Esc goes back to the detail, then to the tasks.
    press(&mut app, &snap, &[key('k'), code(KeyCode::Enter)]);
    assert_eq!(app.view, View::Detail);
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    assert_eq!(app.view, View::Backups);
    assert_eq!(app.task_filter.as_deref(), Some("web"));
    let ids: Vec<&str> = app
        .backups(&snap)
        .iter()
        .map(|b| b.record.id.as_str())
        .collect();
    assert_eq!(ids, [WEB_DIFF, WEB_INCR, WEB_FULL]);
    let term = draw(&app, &snap, &theme("default"), 120, 40);
    let text = screen_text(term.backend().buffer());
    assert!(text.contains("task: web (Esc: all)"), "{text}");
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.view, View::Detail);
    assert_eq!(app.task_filter, None);
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.view, View::Tasks);
}

#[test]
fn delete_asks_first_and_names_the_dependents() {
    let mut snap = fixture();
    unpin_all(&mut snap);
    let mut app = admin();
    press(&mut app, &snap, &[key('2')]);
    let order: Vec<&str> = app
        .backups(&snap)
        .iter()
        .map(|b| b.record.id.as_str())
        .collect();
    assert_eq!(order, [WEB_DIFF, DB_FULL, WEB_INCR, WEB_FULL, MEDIA_FULL]);

    // The full two backups depend on: the prompt names them, the line cascades.
    press(&mut app, &snap, &[key('j'), key('j'), key('j')]);
    assert!(press(&mut app, &snap, &[key('d')]).is_empty());
    let Mode::Confirm { prompt, line } = app.mode.clone() else {
        panic!("no confirmation: {:?}", app.mode)
    };
    assert!(prompt.contains(WEB_FULL), "{prompt}");
    assert!(
        prompt.contains(WEB_INCR) && prompt.contains(WEB_DIFF),
        "{prompt}"
    );
    assert!(prompt.contains("2 backup(s)"), "{prompt}");
    assert_eq!(line, format!("backup delete {WEB_FULL} --cascade"));

    assert!(press(&mut app, &snap, &[key('n')]).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    let last = app.notices.back().unwrap();
    assert!(last.text.contains("nothing was changed"), "{last:?}");

    assert_eq!(
        press(&mut app, &snap, &[key('d'), key('y')]),
        vec![format!("backup delete {WEB_FULL} --cascade")]
    );

    // A backup nothing depends on: no cascade, and the prompt says what it frees.
    press(&mut app, &snap, &[key('g')]);
    press(&mut app, &snap, &[key('d')]);
    let Mode::Confirm { prompt, line } = app.mode.clone() else {
        panic!("no confirmation: {:?}", app.mode)
    };
    assert_eq!(line, format!("backup delete {WEB_DIFF}"));
    assert!(prompt.contains("frees 420 MiB"), "{prompt}");
    assert_eq!(
        press(&mut app, &snap, &[key('y')]),
        vec![format!("backup delete {WEB_DIFF}")]
    );
}

#[test]
fn a_viewer_cannot_delete_and_sees_it_disabled() {
    let snap = fixture();
    let mut app = App::new(Role::Viewer, Keymap::default());
    press(&mut app, &snap, &[key('2')]);
    assert!(press(&mut app, &snap, &[key('d')]).is_empty());
    assert_eq!(app.mode, Mode::Normal, "no confirmation for a viewer");
    let last = app.notices.back().expect("a notice");
    assert!(last.error);
    assert!(
        last.text.contains("delete needs the admin role"),
        "{last:?}"
    );
    assert!(last.text.contains("viewer"), "{last:?}");
    // Nor pin (admin), nor verify (operator).
    assert!(press(&mut app, &snap, &[key('P'), key('v')]).is_empty());

    let term = draw(&app, &snap, &theme("default"), 120, 40);
    let buf = term.backend().buffer();
    let footer = buf.area.height - 1;
    let text = row_text(buf, footer);
    let (x, y) = find(buf, "d delete").unwrap_or_else(|| panic!("footer: {text}"));
    assert_eq!(y, footer, "{text}");
    for dx in 0.."d delete".len() as u16 {
        assert!(
            buf[(x + dx, y)].modifier.contains(Modifier::CROSSED_OUT),
            "cell {} of 'd delete' is not crossed out: {text}",
            x + dx
        );
    }
    let (vx, _) = find(buf, "v verify").unwrap();
    assert!(buf[(vx, y)].modifier.contains(Modifier::CROSSED_OUT));
    let (qx, _) = find(buf, "q quit").unwrap();
    assert!(!buf[(qx, y)].modifier.contains(Modifier::CROSSED_OUT));

    // The help overlay says what role it needs.
    press(&mut app, &snap, &[key('?')]);
    let term = draw(&app, &snap, &theme("default"), 120, 40);
    let text = screen_text(term.backend().buffer());
    assert!(text.contains("delete  (needs admin)"), "{text}");
}

#[test]
fn command_line_filter_help_tab_and_quit() {
    let snap = fixture();
    let mut app = admin();

    assert!(press(&mut app, &snap, &[key(':')]).is_empty());
    assert_eq!(app.mode, Mode::Command(String::new()));
    assert!(type_text(&mut app, &snap, "backup listx").is_empty());
    press(&mut app, &snap, &[code(KeyCode::Backspace)]);
    let term = draw(&app, &snap, &theme("default"), 80, 24);
    let buf = term.backend().buffer();
    assert!(
        row_text(buf, 23).starts_with(":backup list█"),
        "{}",
        row_text(buf, 23)
    );
    assert_eq!(
        press(&mut app, &snap, &[code(KeyCode::Enter)]),
        vec!["backup list".to_string()]
    );
    assert_eq!(app.mode, Mode::Normal);
    // An empty line runs nothing; Esc abandons one.
    assert!(press(&mut app, &snap, &[key(':'), code(KeyCode::Enter)]).is_empty());
    assert!(press(&mut app, &snap, &[key(':'), key('x'), code(KeyCode::Esc)]).is_empty());
    assert_eq!(app.mode, Mode::Normal);

    // Filter narrows the Backups rows, survives Enter, and Esc clears it.
    press(&mut app, &snap, &[key('2')]);
    assert_eq!(app.backups(&snap).len(), 5);
    press(&mut app, &snap, &[key('/')]);
    type_text(&mut app, &snap, "web");
    assert_eq!(app.backups(&snap).len(), 3);
    assert!(app.backups(&snap).iter().all(|b| b.record.task == "web"));
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.backups(&snap).len(), 3);
    let term = draw(&app, &snap, &theme("default"), 120, 40);
    let text = screen_text(term.backend().buffer());
    assert!(text.contains("/web"), "{text}");
    assert!(text.contains("Backups (3)"), "{text}");
    assert!(!text.contains(MEDIA_FULL), "{text}");
    press(&mut app, &snap, &[key('/')]);
    type_text(&mut app, &snap, "x");
    assert!(app.backups(&snap).is_empty(), "webx matches nothing");
    press(
        &mut app,
        &snap,
        &[code(KeyCode::Backspace), code(KeyCode::Enter)],
    );
    assert_eq!(app.backups(&snap).len(), 3);
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.backups(&snap).len(), 5);
    press(&mut app, &snap, &[key('/')]);
    type_text(&mut app, &snap, "partial");
    assert_eq!(app.backups(&snap).len(), 1);
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.backups(&snap).len(), 5, "Esc while filtering clears it");

    // Help opens with ? and closes with Esc (or ? again); typing filters it.
    press(&mut app, &snap, &[key('?')]);
    assert_eq!(app.mode, Mode::Help(String::new()));
    type_text(&mut app, &snap, "pin");
    let term = draw(&app, &snap, &theme("default"), 120, 40);
    let text = screen_text(term.backend().buffer());
    assert!(text.contains("pin/unpin"), "{text}");
    assert!(
        !text.contains("│v"),
        "help filter keeps only matches: {text}"
    );
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.mode, Mode::Normal);
    press(&mut app, &snap, &[key('?'), key('?')]);
    assert_eq!(app.mode, Mode::Normal);

    // Tab cycles the views in order, BackTab goes back.
    press(&mut app, &snap, &[key('1')]);
    let mut seen = vec![app.view];
    for _ in 0..5 {
        press(&mut app, &snap, &[code(KeyCode::Tab)]);
        seen.push(app.view);
    }
    assert_eq!(
        seen,
        [
            View::Tasks,
            View::Backups,
            View::Jobs,
            View::Audit,
            View::Log,
            View::Tasks
        ]
    );
    press(&mut app, &snap, &[code(KeyCode::BackTab)]);
    assert_eq!(app.view, View::Log);

    assert!(!app.quit);
    assert!(press(&mut app, &snap, &[key('q')]).is_empty());
    assert!(app.quit);
}

#[test]
fn cancel_a_job_asks_first() {
    let snap = fixture();
    let mut app = admin();
    press(&mut app, &snap, &[key('3'), key('x')]);
    let Mode::Confirm { prompt, line } = app.mode.clone() else {
        panic!("no confirmation: {:?}", app.mode)
    };
    assert!(
        prompt.contains("job 7") && prompt.contains("db"),
        "{prompt}"
    );
    assert_eq!(line, "jobs cancel 7");
    assert_eq!(
        press(&mut app, &snap, &[key('y')]),
        vec!["jobs cancel 7".to_string()]
    );
}

#[test]
fn resize_down_to_the_minimum_and_below() {
    let snap = fixture();
    let mut app = admin();
    press(&mut app, &snap, &[key('2'), key('j')]);
    for t in THEMES {
        let th = theme(t);
        let term = draw(&app, &snap, &th, 60, 12);
        let text = screen_text(term.backend().buffer());
        assert!(!text.contains("too small"), "{text}");
        assert!(text.contains("Backups (5)"), "{text}");
        assert!(
            text.contains("▶ "),
            "the selection is visible at 60x12: {text}"
        );

        for (w, h) in [(59, 11), (59, 12), (60, 11)] {
            let term = draw(&app, &snap, &th, w, h);
            let text = screen_text(term.backend().buffer());
            let want = format!("terminal too small: have {w}x{h}, need 60x12");
            assert!(
                text.replace('\n', "").contains(&want)
                    || text.lines().next().unwrap().trim_end() == want,
                "{w}x{h}: {text}"
            );
            assert!(!text.contains("Backups"), "{text}");
        }
    }
    // The same terminal, resized: the message gives way to the views again.
    let mut term = Terminal::new(TestBackend::new(59, 11)).unwrap();
    let th = theme("default");
    let ctx = Ctx {
        app: &app,
        snap: &snap,
        theme: &th,
        now: now(),
        place: PLACE,
        host: HOST,
    };
    term.draw(|f| render::draw(f, &ctx)).unwrap();
    assert!(screen_text(term.backend().buffer()).contains("have 59x11, need 60x12"));
    term.backend_mut().resize(60, 12);
    term.autoresize().unwrap();
    term.draw(|f| render::draw(f, &ctx)).unwrap();
    let text = screen_text(term.backend().buffer());
    assert!(
        !text.contains("too small") && text.contains("Backups (5)"),
        "{text}"
    );
}

#[test]
fn a_large_catalog_renders_and_the_last_row_is_reachable() {
    let mut records = Vec::with_capacity(10_000);
    let start = at(2025, 1, 1, 0, 0);
    let mut chain = String::new();
    let mut prev: Option<String> = None;
    for i in 0..10_000u32 {
        let t = start + Duration::minutes(i64::from(i) * 37);
        let id = format!("{}-{:04x}", t.format("%Y%m%d-%H%M%S"), i);
        let kind = if i % 24 == 0 {
            BackupKind::Full
        } else {
            BackupKind::Incremental
        };
        if kind == BackupKind::Full {
            chain = id.clone();
            prev = None;
        }
        let task = ["web", "db", "media", "mail"][(i % 4) as usize];
        records.push(backup(
            &id,
            task,
            kind,
            prev.as_deref(),
            &chain,
            t,
            GIB,
            MIB * u64::from(i % 97 + 1),
        ));
        prev = Some(id);
    }
    let oldest = records[0].id.clone();
    let snap = Snapshot {
        backups: rows_of(records),
        ..fixture()
    };
    let mut app = admin();
    press(&mut app, &snap, &[key('2'), key('G')]);
    assert_eq!(app.selection(&snap), 9_999);
    let term = draw(&app, &snap, &theme("default"), 120, 40);
    let buf = term.backend().buffer();
    let text = screen_text(buf);
    assert!(text.contains("Backups (10000)"), "{text}");
    let (_, y) = find(buf, &oldest).unwrap_or_else(|| panic!("oldest backup not shown:\n{text}"));
    assert!(
        row_text(buf, y).starts_with("▶ "),
        "the last row is the selected one: {}",
        row_text(buf, y)
    );
    // The table fills the body: 40 rows − header, tabs, notice, footer, border, column header.
    let shown = (0..buf.area.height)
        .filter(|y| {
            let r = row_text(buf, *y);
            r.starts_with("  202") || r.starts_with("▶ 202")
        })
        .count();
    assert_eq!(shown, 34, "rows shown:\n{text}");
    // And back to the top.
    press(&mut app, &snap, &[key('g')]);
    let term = draw(&app, &snap, &theme("default"), 120, 40);
    let (_, y) = find(term.backend().buffer(), &snap.backups[9_999].record.id).unwrap();
    assert!(row_text(term.backend().buffer(), y).starts_with("▶ "));
}

// ---------------------------------------------------------------- a real core

fn admin_caller() -> Caller {
    Caller {
        name: "ops".into(),
        role: Role::Admin,
        origin: "local".into(),
    }
}

/// A core in `dir` with destination `d` and task `t` over a small source tree.
fn real_core(dir: &std::path::Path) -> Arc<Core> {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), "alpha\n").unwrap();
    std::fs::write(src.join("sub/b.txt"), "bravo\n".repeat(100)).unwrap();
    let core = Core::open(Home::at(dir.join("home")), "test").unwrap();
    core.perform(
        &admin_caller(),
        &Requirement::write(Role::Admin, "dest add", "d"),
        |c| {
            c.add_destination(DestinationConfig {
                name: "d".into(),
                kind: DestinationKind::Local {
                    path: dir.join("repo"),
                },
                repo_id: None,
            })
        },
    )
    .unwrap();
    core.add_task(TaskConfig {
        name: "t".into(),
        source: SourceConfig::Dir {
            path: src,
            exclude: vec![],
        },
        destinations: vec!["d".into()],
        full: None,
        incremental: None,
        differential: None,
        timezone: None,
        catch_up: Default::default(),
        retention: Default::default(),
        hooks: Default::default(),
        compression_level: 3,
        paused: false,
        created: Utc::now(),
    })
    .unwrap();
    Arc::new(core)
}

#[test]
fn backup_now_against_a_real_core() {
    let dir = tempfile::tempdir().unwrap();
    let core = real_core(dir.path());
    let source = LocalSource::new(core.clone(), admin_caller());
    let snap = source.snapshot().unwrap();
    assert_eq!(snap.tasks.len(), 1);
    assert!(snap.backups.is_empty());

    let mut app = App::new(source.caller().role, Keymap::default());
    assert_eq!(app.view, View::Tasks);
    let lines = press(&mut app, &snap, &[key('b'), key('f')]);
    assert_eq!(lines, vec!["backup run t --full".to_string()]);
    let out = source.execute(&lines[0]);
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );

    let snap = source.snapshot().unwrap();
    assert_eq!(snap.backups.len(), 1);
    let id = snap.backups[0].record.id.clone();
    assert_eq!(snap.backups[0].record.kind, BackupKind::Full);
    assert_eq!(snap.tasks[0].last_backup.as_deref(), Some(id.as_str()));
    assert!(snap.jobs.is_empty(), "the job is gone once it finished");

    press(&mut app, &snap, &[key('2')]);
    assert_eq!(app.view, View::Backups);
    let place = source.describe();
    let th = theme("default");
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let ctx = Ctx {
        app: &app,
        snap: &snap,
        theme: &th,
        now: Utc::now(),
        place: &place,
        host: HOST,
    };
    term.draw(|f| render::draw(f, &ctx)).unwrap();
    let buf = term.backend().buffer();
    let text = screen_text(buf);
    let (_, y) = find(buf, &id).unwrap_or_else(|| panic!("{id} not shown:\n{text}"));
    let row = row_text(buf, y);
    assert!(
        row.starts_with("▶ ") && row.contains(" t ") && row.contains("full"),
        "{row}"
    );
    assert!(row.contains("complete"), "{row}");
    assert!(text.contains("Backups (1)"), "{text}");
    // The backup run is in the audit log the Audit view shows.
    assert!(
        snap.audit
            .iter()
            .any(|e| e.target == "t" && e.outcome == "ok"),
        "{:?}",
        snap.audit
    );
}

#[test]
fn the_core_refuses_a_viewers_delete_too() {
    let dir = tempfile::tempdir().unwrap();
    let core = real_core(dir.path());
    let admin_src = LocalSource::new(core.clone(), admin_caller());
    let out = admin_src.execute("backup run t --full");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = admin_src.snapshot().unwrap().backups[0].record.id.clone();

    let viewer = LocalSource::new(
        core.clone(),
        Caller {
            name: "guest".into(),
            role: Role::Viewer,
            origin: "local".into(),
        },
    );
    let out = viewer.execute(&format!("backup delete {id}"));
    assert_eq!(
        out.code, 4,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(out.stderr.contains("admin"), "{}", out.stderr);
    let snap = viewer.snapshot().unwrap();
    assert_eq!(snap.backups.len(), 1, "nothing was deleted");
    let last = snap.audit.last().unwrap();
    assert_eq!(
        (last.who.as_str(), last.action.as_str()),
        ("guest", "backup delete")
    );
    assert!(last.outcome.starts_with("refused"), "{last:?}");
    // Read-only commands work for a viewer.
    assert_eq!(viewer.execute("backup list").code, 0);
}

fn unpin_all(snap: &mut Snapshot) {
    for b in &mut snap.backups {
        b.record.pinned = false;
    }
}

#[test]
fn a_pinned_backup_is_not_offered_for_deletion() {
    let snap = fixture();
    let mut app = admin();
    press(&mut app, &snap, &[key('2')]);
    let pos = app
        .backups(&snap)
        .iter()
        .position(|b| b.record.id == WEB_FULL)
        .unwrap();
    press(&mut app, &snap, &[key('g')]);
    for _ in 0..pos {
        press(&mut app, &snap, &[key('j')]);
    }
    assert!(press(&mut app, &snap, &[key('d')]).is_empty());
    assert_eq!(
        app.mode,
        Mode::Normal,
        "no question the core would refuse after the answer"
    );
    let n = app.notices.back().unwrap();
    assert!(
        n.error && n.text.contains("pinned") && n.text.contains(WEB_FULL),
        "{n:?}"
    );
}

#[test]
fn the_selection_follows_its_item_when_rows_shift() {
    let snap = fixture();
    let mut app = admin();
    press(&mut app, &snap, &[key('1'), key('j')]);
    let chosen = app.tasks(&snap)[app.selection(&snap)].task.name.clone();
    // A new task that sorts first appears in the next refresh.
    let mut next = snap.clone();
    let mut extra = next.tasks[0].clone();
    extra.task.name = "aaa-new".into();
    next.tasks.insert(0, extra);
    app.follow(&next);
    assert_eq!(
        app.tasks(&next)[app.selection(&next)].task.name,
        chosen,
        "the same task stays selected"
    );
    let lines = press(&mut app, &next, &[key('p')]);
    assert!(lines[0].ends_with(&format!(" {chosen}")), "{lines:?}");
}

#[test]
fn quitting_with_local_jobs_asks_first() {
    let snap = fixture();
    assert!(!snap.jobs.is_empty());
    let mut app = admin();
    app.jobs_die_with_console = true;
    press(&mut app, &snap, &[key('q')]);
    assert!(!app.quit);
    let Mode::Confirm { prompt, .. } = app.mode.clone() else {
        panic!("{:?}", app.mode)
    };
    assert!(prompt.contains("cancels them"), "{prompt}");
    press(&mut app, &snap, &[key('n')]);
    assert!(!app.quit);
    assert!(
        press(&mut app, &snap, &[key('q'), key('y')]).is_empty(),
        "the quit marker is never sent to the core"
    );
    assert!(app.quit);
    // Through the daemon jobs keep running, so q quits at once.
    let mut remote = admin();
    press(&mut remote, &snap, &[key('q')]);
    assert!(remote.quit);
}
