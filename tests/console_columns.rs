//! The Tasks and Backups views fitted to the terminal: short schedules, names
//! shortened only in the middle and never into the same text, every flag
//! kept as one mark, chains kept together, and delete questions that say how
//! many bytes go.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod console_kit;
use console_kit::*;
use strata::model::{BackupCopy, CatchUp, CopyState, EncryptionConfig, Hooks, NotifySettings};

const EU: &str = "billing-eu-west-primary";
const US: &str = "billing-us-west-primary";
const LONG: &str = "analytics-warehouse-nightly-export-to-parquet";
const VAULT: &str = "vault";
const REPORTS: &str = "reports";

// Backups added to the fixture's: a chain of EU's interleaved in time with
// web's and db's, and an incremental on db's full.
const EU_FULL: &str = "20261121-030000-b001";
const EU_INCR1: &str = "20261121-090000-b002";
const DB_INCR: &str = "20261122-060000-d002";
const EU_INCR2: &str = "20261122-050000-b003";

fn task_row(config: TaskConfig, status: TaskStatus) -> TaskRow {
    TaskRow {
        task: config,
        status,
        backups: 0,
        stored_bytes: 3 * GIB,
        last_full: Some(at(2026, 11, 21, 3, 10)),
        last_incremental: Some(at(2026, 11, 22, 5, 10)),
        last_backup: None,
        next: Some((at(2026, 11, 22, 15, 0), BackupKind::Incremental)),
        last_result: Some("complete".into()),
        schedule_error: None,
        last_success: None,
        alert_after_secs: None,
        next_verify: None,
    }
}

/// The fixture with tasks that are hard to fit: two long names that differ
/// only in the middle, one longer still, one with every flag (on an
/// encrypted destination) and one whose schedule has no short words.
fn crowded() -> Snapshot {
    let mut snap = fixture();
    let mut eu = task_config(EU, Some("0 3 * * 0"), Some("0 */4 * * *"), false);
    eu.destinations = vec!["nas".into(), "usb".into()];
    let us = task_config(US, Some("@weekly"), Some("@hourly"), false);
    let long = task_config(LONG, Some("30 2 1 * *"), None, false);
    let mut vault = task_config(VAULT, Some("@daily"), Some("*/15 * * * *"), false);
    vault.destinations = vec!["offsite".into()];
    vault.hooks = Hooks {
        before: Some("pg_dump --snapshot".into()),
        after: None,
        timeout_secs: None,
    };
    vault.verify = Some("0 5 * * 6".into());
    vault.notify = Some(NotifySettings {
        on: Some(vec!["failed".into()]),
        command: Some("page-oncall".into()),
        webhook: None,
        webhook_file: None,
    });
    vault.catch_up = CatchUp::Skip;
    let reports = task_config(REPORTS, Some("*/15 9-17 * * 1-5"), None, false);
    snap.tasks.extend([
        task_row(eu, TaskStatus::Active),
        task_row(us, TaskStatus::Degraded),
        task_row(long, TaskStatus::Active),
        task_row(vault, TaskStatus::Active),
        task_row(reports, TaskStatus::Missed),
    ]);
    snap.destinations[2].config.encryption = Some(Box::new(EncryptionConfig::default()));
    let mut records: Vec<BackupRecord> = snap.backups.iter().map(|r| r.record.clone()).collect();
    let mut eu_full = backup(
        EU_FULL,
        EU,
        BackupKind::Full,
        None,
        EU_FULL,
        at(2026, 11, 21, 3, 10),
        8 * GIB,
        3 * GIB,
    );
    eu_full.destinations = vec!["nas".into(), "usb".into()];
    let mut eu_incr1 = backup(
        EU_INCR1,
        EU,
        BackupKind::Incremental,
        Some(EU_FULL),
        EU_FULL,
        at(2026, 11, 21, 9, 5),
        8 * GIB,
        200 * MIB,
    );
    eu_incr1.destinations = vec!["nas".into(), "usb".into()];
    let mut eu_incr2 = backup(
        EU_INCR2,
        EU,
        BackupKind::Incremental,
        Some(EU_INCR1),
        EU_FULL,
        at(2026, 11, 22, 5, 10),
        8 * GIB,
        100 * MIB,
    );
    // The second copy failed: only nas holds it.
    eu_incr2.destinations = vec!["nas".into(), "usb".into()];
    eu_incr2.copies = vec![
        BackupCopy::complete("nas"),
        BackupCopy::lacking("usb", CopyState::Failed, "disk full".into()),
    ];
    let db_incr = backup(
        DB_INCR,
        "db",
        BackupKind::Incremental,
        Some(DB_FULL),
        DB_FULL,
        at(2026, 11, 22, 6, 4),
        2 * GIB,
        60 * MIB,
    );
    records.extend([eu_full, eu_incr1, eu_incr2, db_incr]);
    records.sort_by_key(|b| b.started);
    snap.backups = rows_of(records);
    snap
}

fn screen(app: &App, snap: &Snapshot, w: u16, h: u16) -> String {
    screen_text(draw(app, snap, &theme("default"), w, h).backend().buffer())
}

fn row_of<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle:?}:\n{screen}"))
}

#[test]
fn crowded_tasks_view_snapshots() {
    let snap = crowded();
    let app = admin();
    snapshot_screen("tasks_crowded", &app, &snap);
}

#[test]
fn names_never_read_the_same_and_flags_and_schedules_stay_whole() {
    let snap = crowded();
    let app = admin();
    for (w, h) in SIZES {
        let s = screen(&app, &snap, w, h);
        // The two billing names stay apart, whatever is cut.
        let eu = row_of(&s, "billing-eu");
        let us = row_of(&s, "billing-us");
        assert_ne!(eu, us);
        // Every flag of vault, on both sizes.
        assert!(row_of(&s, " vault ").contains(" EHVAS"), "{w}: {s}");
        // No cron text is cut: the one without short words is whole.
        assert!(
            row_of(&s, " reports ").contains("*/15 9-17 * * 1-5"),
            "{w}: {s}"
        );
        // The longest name shortens in the middle, or not at all when wide.
        if w >= 200 {
            assert!(s.contains(LONG), "{s}");
            for head in ["SOURCE", "LAST INCR", "LAST RESULT", "STORED", "LAST FULL"] {
                assert!(s.contains(head), "{head} at {w}: {s}");
            }
            assert!(
                s.contains("full weekly Sun 02:00 · incr Mon-Sat 02:00"),
                "{s}"
            );
        } else {
            assert!(s.contains("analytics-") && s.contains('…'), "{s}");
            assert!(s.contains("parquet"), "the end of the name stays: {s}");
        }
    }
}

#[test]
fn the_fixture_at_80_columns_keeps_names_schedules_and_flags() {
    let (app, snap) = on_view('1');
    let s = screen(&app, &snap, 80, 24);
    for name in ["db", "web", "media", "mail"] {
        assert!(s.contains(&format!(" {name} ")), "{name}: {s}");
    }
    assert!(s.contains("FLAGS") && s.contains("LAST FULL"), "{s}");
    // `30 1 * * *` in words, never the cron text cut short.
    assert!(row_of(&s, " db ").contains("daily 01:30"), "{s}");
    assert!(!s.contains("full 3 ") && !s.contains("full 0 "), "{s}");
}

#[test]
fn backups_view_keeps_chains_together() {
    let snap = crowded();
    let mut app = admin();
    press(&mut app, &snap, &[key('2')]);
    let order: Vec<&str> = app
        .backups(&snap)
        .iter()
        .map(|b| b.record.id.as_str())
        .collect();
    // Chains by their newest backup, newest first; each full, then its dependents.
    assert_eq!(
        order,
        [
            DB_FULL, DB_INCR, EU_FULL, EU_INCR1, EU_INCR2, WEB_FULL, WEB_INCR, WEB_DIFF, MEDIA_FULL
        ]
    );
    snapshot_screen("backups_chains", &app, &snap);
    let s = screen(&app, &snap, 200, 50);
    assert!(row_of(&s, EU_INCR1).contains("├ incremental"), "{s}");
    assert!(row_of(&s, EU_INCR2).contains("└ incremental"), "{s}");
    assert!(row_of(&s, WEB_FULL).contains("PV"), "pinned, verified: {s}");
    assert!(
        row_of(&s, MEDIA_FULL).contains("M!"),
        "manual, damaged: {s}"
    );

    // Oldest first: chains reversed, each still read top to bottom.
    press(&mut app, &snap, &[key('s')]);
    let order: Vec<&str> = app
        .backups(&snap)
        .iter()
        .map(|b| b.record.id.as_str())
        .collect();
    assert_eq!(
        order,
        [
            MEDIA_FULL, WEB_FULL, WEB_INCR, WEB_DIFF, EU_FULL, EU_INCR1, EU_INCR2, DB_FULL, DB_INCR
        ]
    );
    // By size, rows stand alone.
    press(&mut app, &snap, &[key('s')]);
    let sizes: Vec<u64> = app
        .backups(&snap)
        .iter()
        .map(|b| b.record.stored_bytes)
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    let s = screen(&app, &snap, 200, 50);
    assert!(!s.contains('├') && !s.contains('└'), "{s}");
}

#[test]
fn the_selection_stays_on_its_backup_as_chains_move() {
    let snap = crowded();
    let mut app = admin();
    press(&mut app, &snap, &[key('2'), key('j'), key('j'), key('j')]);
    assert_eq!(app.current_backup(&snap).unwrap().record.id, EU_INCR1);
    // A new incremental on web's chain makes it the newest chain: it moves
    // to the top, and EU's chain moves down under it.
    let mut next = snap.clone();
    let mut records: Vec<BackupRecord> = next.backups.iter().map(|r| r.record.clone()).collect();
    records.push(backup(
        "20261122-113000-91c6",
        "web",
        BackupKind::Incremental,
        Some(WEB_INCR),
        WEB_FULL,
        at(2026, 11, 22, 11, 35),
        12 * GIB,
        50 * MIB,
    ));
    next.backups = rows_of(records);
    app.follow(&next);
    assert_eq!(app.backups(&next)[0].record.id, WEB_FULL);
    assert_eq!(app.current_backup(&next).unwrap().record.id, EU_INCR1);
    assert_eq!(
        press(&mut app, &next, &[key('v')]),
        vec![act(Action::Verify {
            selection: strata::core::action::VerifySelection::One(EU_INCR1.into()),
            read_data: 0,
        })]
    );
}

#[test]
fn help_shows_the_flags_legend() {
    let snap = crowded();
    let mut app = admin();
    press(&mut app, &snap, &[key('?')]);
    let s = screen(&app, &snap, 200, 50);
    for (mark, meaning) in strata::tui::flags::TASK {
        assert!(s.contains(&format!("FLAGS {mark}")), "{s}");
        assert!(s.contains(meaning), "{s}");
    }
    snapshot_screen("help_tasks_flags", &app, &snap);
    // In the Backups view, filtered to the legend.
    let mut app = admin();
    press(&mut app, &snap, &[key('2'), key('?')]);
    type_text(&mut app, &snap, "flags");
    let s = screen(&app, &snap, 80, 24);
    for (mark, meaning) in strata::tui::flags::BACKUP {
        assert!(s.contains(&format!("FLAGS {mark}")), "{s}");
        assert!(s.contains(meaning), "{s}");
    }
    snapshot_screen("help_backups_flags", &app, &snap);
}

fn prompt_for(app: &mut App, snap: &Snapshot, id: &str) -> String {
    press(app, snap, &[key('2'), key('g')]);
    let i = app
        .backups(snap)
        .iter()
        .position(|b| b.record.id == id)
        .unwrap();
    for _ in 0..i {
        press(app, snap, &[key('j')]);
    }
    press(app, snap, &[key('d')]);
    let Mode::Confirm { prompt, .. } = app.mode.clone() else {
        panic!("no question for {id}: {:?}", app.mode)
    };
    press(app, snap, &[key('n')]);
    prompt
}

#[test]
fn delete_questions_say_what_they_free_and_where() {
    let mut snap = crowded();
    snap.backups
        .iter_mut()
        .for_each(|b| b.record.pinned = false);
    let mut app = admin();
    // One backup, one destination.
    let p = prompt_for(&mut app, &snap, WEB_DIFF);
    assert!(
        p.starts_with(&format!(
            "Delete backup {WEB_DIFF} (differential, web)? frees 420 MiB on nas."
        )),
        "{p}"
    );
    // Two complete copies: their bytes count twice, both destinations named.
    let p = prompt_for(&mut app, &snap, EU_INCR1);
    assert!(p.contains(EU_INCR2), "its dependent goes too: {p}");
    assert!(p.contains("AND the 1 backup(s)"), "{p}");
    // 2 × 200 MiB, and 100 MiB once (its usb copy failed).
    assert!(
        p.contains("frees 500 MiB on 2 destinations (nas and usb)"),
        "{p}"
    );
    // A whole chain.
    let p = prompt_for(&mut app, &snap, WEB_FULL);
    assert!(p.contains("AND the 2 backup(s)"), "{p}");
    assert!(p.contains("frees 5.8 GiB on nas"), "{p}");
    assert!(p.contains("(full, web)"), "{p}");
    // A partial backup says so.
    let p = prompt_for(&mut app, &snap, WEB_INCR);
    assert!(p.contains("(incremental, web, partial)"), "{p}");
    // No recorded size: unknown, never 0 bytes.
    let mut unknown = snap.clone();
    let i = unknown
        .backups
        .iter()
        .position(|b| b.record.id == DB_INCR)
        .unwrap();
    unknown.backups[i].record.stored_bytes = 0;
    let p = prompt_for(&mut app, &unknown, DB_INCR);
    assert!(p.contains("size unknown"), "{p}");
    assert!(!p.contains("0 B"), "{p}");
    let p = prompt_for(&mut app, &unknown, DB_FULL);
    assert!(p.contains("frees at least 900 MiB on nas"), "{p}");
}

#[test]
fn delete_confirmation_with_bytes_snapshots() {
    let mut snap = crowded();
    snap.backups
        .iter_mut()
        .for_each(|b| b.record.pinned = false);
    let mut app = admin();
    press(&mut app, &snap, &[key('2'), key('j'), key('j'), key('d')]);
    assert!(matches!(app.mode, Mode::Confirm { .. }), "{:?}", app.mode);
    snapshot_screen("delete_bytes", &app, &snap);
}

#[test]
fn a_real_delete_question_names_the_recorded_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let core = real_core(dir.path());
    let source = LocalSource::new(core, admin_caller());
    let mut app = admin();
    let snap = source.snapshot().unwrap();
    let got = press(&mut app, &snap, &[key('1'), key('b'), key('f')]);
    assert_eq!(got.len(), 1, "{got:?}");
    let Ok(Outcome::BackedUp(o)) = run_on(&mut app, &source, &got[0]) else {
        panic!("no backup")
    };
    let snap = source.snapshot().unwrap();
    app.follow(&snap);
    let p = prompt_for(&mut app, &snap, &o.backup.id);
    let stored = strata::command::render::size(o.backup.stored_bytes);
    assert!(o.backup.stored_bytes > 0);
    assert!(
        p.contains(&format!("frees {stored} on d")),
        "the catalog's stored size on destination d: {p}"
    );
    press(&mut app, &snap, &[key('d')]);
    let got = press(&mut app, &snap, &[key('y')]);
    assert_eq!(got.len(), 1, "{got:?}");
    run_on(&mut app, &source, &got[0]).unwrap();
    assert!(source.snapshot().unwrap().backups.is_empty());
}
