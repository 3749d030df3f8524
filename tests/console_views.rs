//! The console (src/tui/): every view rendered into a `TestBackend` and
//! snapshotted, key-driven flows through `App::handle_key`, one flow against a
//! real core, roles, resizing and a large catalog.
//!
//! Everything drawn here is deterministic: the snapshot is built by hand, and
//! "now", the place and the host are fixed, so the frames never depend on the
//! machine or the clock. Snapshots live in tests/snapshots/; after an intended
//! change of the console, review and accept them with
//! `INSTA_UPDATE=always cargo test --test console_views` (or `cargo insta review`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod console_kit;
use console_kit::*;

// ---------------------------------------------------------------- snapshots

#[test]
fn tasks_view_snapshots() {
    let (app, snap) = on_view('1');
    assert_eq!(app.view, View::Tasks);
    snapshot_screen("tasks", &app, &snap);
}

#[test]
fn a_wide_tasks_view_shows_each_source_kind_and_type() {
    let (app, mut snap) = on_view('1');
    snap.tasks[0].task.source = strata::model::SourceConfig::Sqlite {
        path: "/srv/app.sqlite".into(),
        r#type: strata::model::SourceType::Backup,
    };
    let name = snap.tasks[0].task.name.clone();
    let screen = screen_text(
        draw(&app, &snap, &theme("default"), 160, 40)
            .backend()
            .buffer(),
    );
    assert!(screen.contains("SOURCE"), "{screen}");
    let row = screen
        .lines()
        .find(|l| l.contains(&format!(" {name} ")))
        .unwrap();
    assert!(row.contains("sqlite · backup"), "{row}");
    assert!(screen.contains(" dir "), "{screen}");
    // Narrower, the schedule keeps its room and the detail view says it.
    let narrow = screen_text(
        draw(&app, &snap, &theme("default"), 120, 40)
            .backend()
            .buffer(),
    );
    assert!(!narrow.contains("SOURCE"), "{narrow}");
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
fn destinations_view_snapshots() {
    let (mut app, snap) = on_view('6');
    assert_eq!(app.view, View::Destinations);
    snapshot_screen("destinations", &app, &snap);
    // The unreachable one selected: its whole error under the table.
    press(&mut app, &snap, &[key('j')]);
    snapshot_screen("destinations_unreachable", &app, &snap);
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
    // Newest chain first, each read top to bottom: a3f9 (the full two
    // others depend on), 4d0e, 91c5, then e802, 7b2e.
    press(&mut app, &snap, &[key('d')]);
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
        vec![act(Action::RunBackup {
            task: "web".into(),
            kind: BackupKind::Incremental,
            detach: false
        })]
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
        vec![act(Action::PauseTask { name: "web".into() })]
    );
    assert_eq!(
        press(&mut app, &snap, &[key('j'), key('p')]),
        vec![act(Action::ResumeTask {
            name: "media".into()
        })]
    );
    // Enter on web opens its detail, Enter there (off the chain tree, whose
    // backups it browses) lists only web's backups; Esc goes back to the
    // detail, then to the tasks.
    press(&mut app, &snap, &[key('k'), code(KeyCode::Enter)]);
    assert_eq!(app.view, View::Detail);
    press(&mut app, &snap, &[key('g'), code(KeyCode::Enter)]);
    assert_eq!(app.view, View::Backups);
    assert_eq!(app.task_filter.as_deref(), Some("web"));
    let ids: Vec<&str> = app
        .backups(&snap)
        .iter()
        .map(|b| b.record.id.as_str())
        .collect();
    // One chain, read top to bottom.
    assert_eq!(ids, [WEB_FULL, WEB_INCR, WEB_DIFF]);
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
    assert_eq!(order, [WEB_FULL, WEB_INCR, WEB_DIFF, DB_FULL, MEDIA_FULL]);

    // The full two backups depend on: the prompt names them, the line cascades.
    assert!(press(&mut app, &snap, &[key('d')]).is_empty());
    let Mode::Confirm { prompt, yes } = app.mode.clone() else {
        panic!("no confirmation: {:?}", app.mode)
    };
    assert!(prompt.contains(WEB_FULL), "{prompt}");
    assert!(
        prompt.contains(WEB_INCR) && prompt.contains(WEB_DIFF),
        "{prompt}"
    );
    assert!(prompt.contains("2 backup(s)"), "{prompt}");
    assert_eq!(yes, OnYes::Run(delete(WEB_FULL, true)));

    assert!(press(&mut app, &snap, &[key('n')]).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    let last = app.notices.back().unwrap();
    assert!(last.text.contains("nothing was changed"), "{last:?}");

    assert_eq!(
        press(&mut app, &snap, &[key('d'), key('y')]),
        vec![delete(WEB_FULL, true)]
    );

    // A backup nothing depends on: no cascade, and the prompt says what it frees.
    press(&mut app, &snap, &[key('g'), key('j'), key('j')]);
    press(&mut app, &snap, &[key('d')]);
    let Mode::Confirm { prompt, yes } = app.mode.clone() else {
        panic!("no confirmation: {:?}", app.mode)
    };
    assert_eq!(yes, OnYes::Run(delete(WEB_DIFF, false)));
    assert!(prompt.contains("frees 420 MiB"), "{prompt}");
    assert_eq!(
        press(&mut app, &snap, &[key('y')]),
        vec![delete(WEB_DIFF, false)]
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
        vec![line("backup list")]
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
    for _ in 0..6 {
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
            View::Destinations,
            View::Tasks
        ]
    );
    press(&mut app, &snap, &[code(KeyCode::BackTab)]);
    assert_eq!(app.view, View::Destinations);

    assert!(!app.quit);
    assert!(press(&mut app, &snap, &[key('q')]).is_empty());
    assert!(app.quit);
}

#[test]
fn cancel_a_job_asks_first() {
    let snap = fixture();
    let mut app = admin();
    press(&mut app, &snap, &[key('3'), key('x')]);
    let Mode::Confirm { prompt, yes } = app.mode.clone() else {
        panic!("no confirmation: {:?}", app.mode)
    };
    assert!(
        prompt.contains("job 7") && prompt.contains("db"),
        "{prompt}"
    );
    assert_eq!(yes, OnYes::Run(act(Action::CancelJob { id: 7 })));
    assert_eq!(
        press(&mut app, &snap, &[key('y')]),
        vec![act(Action::CancelJob { id: 7 })]
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
    // Chains of 24 stay together, newest chain first: the bottom row is the
    // newest backup of the oldest chain, the top one the newest chain's full.
    let oldest = records[23].id.clone();
    let newest_full = records[9_984].id.clone();
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
    let (_, y) = find(term.backend().buffer(), &newest_full).unwrap();
    assert!(row_text(term.backend().buffer(), y).starts_with("▶ "));
}

// ---------------------------------------------------------------- a real core

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
    assert_eq!(
        lines,
        vec![act(Action::RunBackup {
            task: "t".into(),
            kind: BackupKind::Full,
            detach: false
        })]
    );
    let result = run_on(&mut app, &source, &lines[0]);
    assert!(matches!(result, Ok(Outcome::BackedUp(_))), "{result:?}");
    // The notice is made from the typed outcome, not from printed text.
    let n = app.notices.back().unwrap();
    assert!(!n.error && n.text.contains("full complete"), "{n:?}");

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
    let out = admin_src.run_line("backup run t --full");
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
    let out = viewer.run_line(&format!("backup delete {id}"));
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
    assert_eq!(viewer.run_line("backup list").code, 0);
    // The same refusal for the typed action a key sends.
    let refused = viewer.perform(Action::DeleteBackup {
        id: id.clone(),
        cascade: false,
    });
    assert_eq!(refused.map(|_| ()).unwrap_err().exit_code(), 4);
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
    assert!(
        lines[0]
            == act(Action::PauseTask {
                name: chosen.clone()
            })
            || lines[0]
                == act(Action::ResumeTask {
                    name: chosen.clone()
                }),
        "{lines:?}"
    );
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

fn delete(id: &str, cascade: bool) -> Request {
    act(Action::DeleteBackup {
        id: id.into(),
        cascade,
    })
}

#[test]
fn lacking_copies_and_stale_tasks_show_at_a_glance() {
    let mut snap = fixture();
    let b = &mut snap.backups[0].record;
    b.destinations = vec!["nas".into(), "offsite".into()];
    b.copies = vec![
        strata::model::BackupCopy::complete("nas"),
        strata::model::BackupCopy::lacking(
            "offsite",
            strata::model::CopyState::Missing,
            "not reachable".into(),
        ),
    ];
    let id = b.id.clone();
    snap.tasks[3].status = TaskStatus::Stale;
    snap.tasks[1].status = TaskStatus::Degraded;
    let mut app = admin();
    let tasks = screen_text(
        draw(&app, &snap, &theme("default"), 120, 40)
            .backend()
            .buffer(),
    );
    assert!(
        tasks.contains("stale") && tasks.contains("degraded"),
        "{tasks}"
    );
    press(&mut app, &snap, &[key('2')]);
    let term = draw(&app, &snap, &theme("default"), 120, 40);
    let buf = term.backend().buffer();
    let (_, y) = find(buf, &id).unwrap();
    assert!(
        row_text(buf, y).contains("complete 1/2"),
        "{}",
        row_text(buf, y)
    );
}
