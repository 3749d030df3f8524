//! The console tests' shared fixture: a hand-made catalog, a fixed clock,
//! key and drawing helpers, and a real core in a temporary home.
#![allow(dead_code, unused_imports)]

pub use chrono::{DateTime, Duration, TimeZone, Utc};
pub use ratatui::Terminal;
pub use ratatui::backend::TestBackend;
pub use ratatui::buffer::Buffer;
pub use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
pub use ratatui::style::{Color, Modifier};
pub use std::path::PathBuf;
pub use std::sync::Arc;
pub use strata::core::access::{Caller, Requirement, Role};
pub use strata::core::backups::BackupRow;
pub use strata::core::home::Home;
pub use strata::core::registry::{JobView, UploadView};
pub use strata::core::rows::{DestinationRow, HealthState, TaskRow, TaskStatus};
pub use strata::core::{Action, Core, Outcome};
pub use strata::model::{
    AuditEntry, BackupKind, BackupRecord, BackupStatus, DestinationConfig, DestinationKind,
    EntryError, RetentionPolicy, RunRecord, RunStatus, SourceConfig, TaskConfig, VerifyMark,
};
pub use strata::tui::app::{App, Mode, OnYes, Request};
pub use strata::tui::keymap::{Keymap, View};
pub use strata::tui::output::{Failure, Note};
pub use strata::tui::render::{self, Ctx};
pub use strata::tui::source::{LocalSource, Snapshot, Source};
pub use strata::tui::theme::Theme;

pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;
pub const PLACE: &str = "/srv/strata";
pub const HOST: &str = "backup-01";
pub const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];
pub const THEMES: [&str; 2] = ["default", "mono"];

// Backup ids of the hand-made catalog (oldest first).
pub const MEDIA_FULL: &str = "20261115-030000-7b2e";
pub const WEB_FULL: &str = "20261120-020000-a3f9";
pub const WEB_INCR: &str = "20261121-020000-4d0e";
pub const DB_FULL: &str = "20261122-013000-e802";
pub const WEB_DIFF: &str = "20261122-020000-91c5";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

pub fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// A built-in theme, loaded from an empty home so a user theme can never interfere.
pub fn theme(name: &str) -> Theme {
    let empty = tempfile::tempdir().unwrap();
    Theme::load(name, empty.path()).unwrap()
}

pub fn task_config(name: &str, full: Option<&str>, incr: Option<&str>, paused: bool) -> TaskConfig {
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
        require: Default::default(),
        alert_after: None,
        notify: None,
        verify: None,
        verify_read_data: None,
    }
}

#[allow(clippy::too_many_arguments)]
pub fn backup(
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
        copies: Vec::new(),
    }
}

/// Rows with the sizes the core would compute (reclaimable 0 while depended on or pinned).
pub fn rows_of(records: Vec<BackupRecord>) -> Vec<BackupRow> {
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
                source: String::new(),
                encrypted: false,
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub fn audit(
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
pub fn fixture() -> Snapshot {
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
            last_success: None,
            alert_after_secs: None,
            next_verify: None,
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
            last_success: None,
            alert_after_secs: None,
            next_verify: None,
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
            last_success: None,
            alert_after_secs: None,
            next_verify: None,
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
            last_success: None,
            alert_after_secs: None,
            next_verify: None,
        },
    ];
    let jobs = vec![JobView {
        id: 7,
        task: "db".into(),
        purpose: Default::default(),
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
        uploads: vec![
            UploadView {
                destination: "nas".into(),
                bytes: 18 * MIB,
                bytes_expected: 45 * MIB,
                rate_bytes_per_sec: MIB,
                eta_secs: Some(27),
                state: "writing".into(),
            },
            UploadView {
                destination: "s3".into(),
                bytes: 4 * MIB,
                bytes_expected: 45 * MIB,
                rate_bytes_per_sec: 0,
                eta_secs: None,
                state: "failed".into(),
            },
        ],
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
        destinations: fixture_destinations(now),
        restore_base: Some(PathBuf::from("/srv/restore")),
        restore_roots_set: true,
        restore_databases_set: true,
        snapshots: Vec::new(),
    }
}

/// Three destinations: `nas` reachable with backups, `usb` unplugged with
/// copies waiting for a sync, `offsite` still being checked.
pub fn fixture_destinations(now: DateTime<Utc>) -> Vec<DestinationRow> {
    let row = |name: &str, path: &str| DestinationRow {
        config: DestinationConfig {
            name: name.into(),
            kind: DestinationKind::Local {
                path: PathBuf::from(path),
            },
            repo_id: None,
            rate_limit: None,
            encryption: None,
            parallel_uploads: None,
        },
        checked: false,
        problem: None,
        state: HealthState::Checking,
        checked_at: None,
        free_bytes: None,
        check_ms: None,
        stored_bytes: 0,
        backups: 0,
        last_write: None,
        pending: 0,
        deletions_pending: 0,
    };
    vec![
        DestinationRow {
            checked: true,
            state: HealthState::Ok,
            checked_at: Some(now),
            free_bytes: Some(412 * 1024 * 1024 * 1024),
            check_ms: Some(4),
            stored_bytes: 6_227_020_800,
            backups: 3,
            last_write: Some(now - Duration::hours(4)),
            ..row("nas", "/mnt/nas/strata")
        },
        DestinationRow {
            checked: true,
            problem: Some("destination usb (local:/media/usb/strata) holds no Strata repository (strata-repo.toml is missing); if it is a mount point, mount it and retry".into()),
            state: HealthState::Unreachable,
            checked_at: Some(now),
            stored_bytes: 1_073_741_824,
            backups: 1,
            last_write: Some(now - Duration::days(3)),
            pending: 2,
            deletions_pending: 0,
            ..row("usb", "/media/usb/strata")
        },
        row("offsite", "/srv/offsite/strata"),
    ]
}

#[allow(clippy::too_many_arguments)]
pub fn run(
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
        purpose: strata::model::RunPurpose::Backup,
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
pub fn fixture_runs() -> Vec<RunRecord> {
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

pub fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

pub fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// Feeds keys; returns every request they produced.
pub fn press(app: &mut App, snap: &Snapshot, keys: &[KeyEvent]) -> Vec<Request> {
    keys.iter().flat_map(|k| app.handle_key(*k, snap)).collect()
}

/// A typed core action, as a key produces it.
pub fn act(a: Action) -> Request {
    Request::Act(a)
}

/// A `:` line, as the command line produces it.
pub fn line(s: &str) -> Request {
    Request::Line(s.to_string())
}

/// Runs what a key produced on `source`, as the console's worker does, and
/// hands the result to the app; returns the note's typed result.
pub fn run_on(app: &mut App, source: &dyn Source, r: &Request) -> Result<Outcome, Failure> {
    match r {
        Request::Act(a) => {
            let result = source.perform(a.clone()).map_err(|e| Failure::from(&e));
            app.receive(Note::Acted {
                action: a.clone(),
                result: result.clone(),
            });
            result
        }
        Request::Line(l) => {
            let out = source.run_line(l);
            let r = if out.code == 0 {
                Ok(Outcome::Jobs(Vec::new()))
            } else {
                Err(Failure {
                    code: out.code,
                    message: out.stderr.clone(),
                })
            };
            app.receive(Note::Printed {
                line: l.clone(),
                ran: l.clone(),
                out,
            });
            r
        }
    }
}

pub fn type_text(app: &mut App, snap: &Snapshot, text: &str) -> Vec<Request> {
    let keys: Vec<KeyEvent> = text.chars().map(key).collect();
    press(app, snap, &keys)
}

pub fn admin() -> App {
    App::new(Role::Admin, Keymap::default())
}

pub fn draw(app: &App, snap: &Snapshot, theme: &Theme, w: u16, h: u16) -> Terminal<TestBackend> {
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
pub fn row_text(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

pub fn screen_text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| row_text(buf, y))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs of cells carrying modifiers, per row: what the mono theme shows instead of colour.
pub fn modifier_map(buf: &Buffer) -> String {
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
pub fn snapshot_text(term: &Terminal<TestBackend>, theme: &str) -> String {
    let buf = term.backend().buffer();
    let mut s = format!("{}", term.backend());
    if theme == "mono" {
        s.push_str("--- modifiers ---\n");
        s.push_str(&modifier_map(buf));
    }
    s
}

/// Snapshots one screen at 80x24 and 200x50 in the default and mono themes.
pub fn snapshot_screen(name: &str, app: &App, snap: &Snapshot) {
    for (w, h) in SIZES {
        for t in THEMES {
            let term = draw(app, snap, &theme(t), w, h);
            // Named and stored as if asserted in the test file itself, so each
            // test binary keeps its own `tests/snapshots/<binary>__…` files.
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path("../snapshots");
            settings.set_prepend_module_to_snapshot(false);
            settings.bind(|| {
                insta::assert_snapshot!(
                    format!("{}__{name}_{w}x{h}_{t}", env!("CARGO_CRATE_NAME")),
                    snapshot_text(&term, t)
                )
            });
        }
    }
}

pub fn on_view(c: char) -> (App, Snapshot) {
    let snap = fixture();
    let mut app = admin();
    assert!(press(&mut app, &snap, &[key(c)]).is_empty());
    (app, snap)
}

/// Column and row of the first occurrence of `needle` on screen.
pub fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
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

pub fn admin_caller() -> Caller {
    Caller {
        name: "ops".into(),
        role: Role::Admin,
        origin: "local".into(),
    }
}

/// A core in `dir` with destination `d` and task `t` over a small source tree.
pub fn real_core(dir: &std::path::Path) -> Arc<Core> {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), "alpha\n").unwrap();
    std::fs::write(src.join("sub/b.txt"), "bravo\n".repeat(100)).unwrap();
    let core = Core::open(Home::at(dir.join("home")), "test").unwrap();
    let core = Arc::new(core);
    core.perform(
        &admin_caller(),
        Action::AddDestination {
            config: Box::new(DestinationConfig {
                name: "d".into(),
                kind: DestinationKind::Local {
                    path: dir.join("repo"),
                },
                repo_id: None,
                rate_limit: None,
                encryption: None,
                parallel_uploads: None,
            }),
            accept_new_host_key: false,
            key_of: None,
        },
    )
    .unwrap();
    let config = Box::new(TaskConfig {
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
        require: Default::default(),
        alert_after: None,
        notify: None,
        verify: None,
        verify_read_data: None,
    });
    core.perform(&admin_caller(), Action::AddTask { config })
        .unwrap();
    core
}
