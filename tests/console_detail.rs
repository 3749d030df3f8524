//! The console's task detail view, restore dialog, sorted Backups, Log view
//! and `:` output overlay: snapshots of the hand-made catalog (fixed clock,
//! see tests/console_kit) and key-driven flows, some over a real core.
//!
//! Accept intended changes with `INSTA_UPDATE=always cargo test --test console_detail`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod console_kit;
use console_kit::*;
use strata::tui::restore::Stage;
use strata::tui::source::Printed;

/// The detail view of `web` (the second task), cursor on its full.
fn on_web_detail() -> (App, Snapshot) {
    let snap = fixture();
    let mut app = admin();
    press(&mut app, &snap, &[key('j'), code(KeyCode::Enter)]);
    assert_eq!(app.view, View::Detail);
    (app, snap)
}

// ---------------------------------------------------------------- snapshots

#[test]
fn task_detail_snapshots() {
    let (app, snap) = on_web_detail();
    snapshot_screen("detail", &app, &snap);
    let text = screen_text(
        draw(&app, &snap, &theme("default"), 120, 40)
            .backend()
            .buffer(),
    );
    // Settings in words, the destination's state, the chain tree with marks,
    // the retention preview and the runs with their entry errors.
    for want in [
        "every Sunday at 02:00 (0 2 * * 0)",
        "Mon–Sat at 02:00 (0 2 * * 1-6)",
        "keep_within 1d",
        "local /mnt/nas/strata  ✓ reachable",
        "├ incremental",
        "└ differential",
        "PARTIAL",
        "pinned,verified",
        "kept: pinned",
        "at next prune",
        "2026-11-23 (keep_within 1d)",
        &format!("at the next prune: 1 backup(s), frees 310 MiB: {WEB_INCR}"),
        &format!("next: {WEB_DIFF} differential, expires 2026-11-23 02:04 (keep_within 1d)"),
        "var/cache/locked.db: permission denied",
        &format!("→ {WEB_DIFF}"),
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    assert!(!text.contains("mail"), "only web's runs: {text}");
}

/// A snapshot task (`cass`, a copy of `web` with a snapshot source) with two
/// local snapshots, its detail view open.
fn on_snapshot_detail() -> (App, Snapshot) {
    let mut snap = fixture();
    let mut row = snap.tasks[1].clone();
    row.task.name = "cass".into();
    row.task.source = strata::model::SourceConfig::Snapshot {
        create: "nodetool snapshot -t {tag}".into(),
        path: "/var/lib/cassandra/data/*/*/snapshots/{tag}".into(),
        clear: "nodetool clearsnapshot -t {tag}".into(),
        keep_local: Some(2),
        keep_local_within: None,
        timeout: None,
        env_file: None,
    };
    snap.tasks.push(row);
    for (id, h, own) in [
        ("20261122-020000-0a1b2c3d", 2, 1_200_000_000u64),
        ("20261122-080000-4e5f6a7b", 8, 0),
    ] {
        snap.snapshots
            .push(strata::core::snapshot_rows::LocalSnapshotRow {
                task: "cass".into(),
                tag: format!("strata-cass_{id}"),
                backup: Some(id.into()),
                created: at(2026, 11, 22, h, 0),
                paths: vec![
                    format!("/var/lib/cassandra/data/ks/users/snapshots/strata-cass_{id}").into(),
                ],
                files: 412,
                apparent_bytes: 8_700_000_000,
                exclusive_bytes: own,
                order: 0,
            });
    }
    let mut app = admin();
    app.open_detail(&snap, "cass".into());
    (app, snap)
}

#[test]
fn snapshot_task_detail_shows_its_local_snapshots() {
    let (app, snap) = on_snapshot_detail();
    snapshot_screen("snapshot_detail", &app, &snap);
    let text = screen_text(
        draw(&app, &snap, &theme("default"), 120, 40)
            .backend()
            .buffer(),
    );
    for want in [
        "Local snapshots",
        "create        nodetool snapshot -t {tag}",
        "keep local    newest 2",
        "strata-cass_20261122-020000-0a1b2c3d",
        "1.1 GiB its own of 8.1 GiB · 412 files",
        "0 B its own of 8.1 GiB",
        "clearing them frees 1.1 GiB: X (or strata snapshot clear --task cass)",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    // X asks first, naming what it frees, and then clears only this task's.
    let (mut app, snap) = on_snapshot_detail();
    assert!(press(&mut app, &snap, &[key('X')]).is_empty());
    let Mode::Confirm { prompt, yes } = &app.mode else {
        panic!("X asks first: {:?}", app.mode);
    };
    assert!(
        prompt.contains("2 local snapshot(s) of task cass") && prompt.contains("frees 1.1 GiB"),
        "{prompt}"
    );
    assert_eq!(
        yes,
        &OnYes::Run(Request::Act(Action::ClearSnapshots {
            task: Some("cass".into()),
            older_than: None,
        }))
    );
    // A task with no snapshot source says so instead.
    let (mut app, snap) = on_web_detail();
    assert!(press(&mut app, &snap, &[key('X')]).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    assert!(
        app.notices
            .back()
            .unwrap()
            .text
            .contains("not a snapshot task")
    );
    // Another task's detail has no such section.
    let (app, snap) = on_web_detail();
    let text = screen_text(
        draw(&app, &snap, &theme("default"), 120, 40)
            .backend()
            .buffer(),
    );
    assert!(!text.contains("Local snapshots"), "{text}");
}

#[test]
fn task_detail_scrolls_to_its_runs_on_a_small_screen() {
    let (mut app, snap) = on_web_detail();
    let text = screen_text(
        draw(&app, &snap, &theme("default"), 80, 24)
            .backend()
            .buffer(),
    );
    assert!(!text.contains("Recent runs"), "{text}");
    press(&mut app, &snap, &[key('G')]);
    let text = screen_text(
        draw(&app, &snap, &theme("default"), 80, 24)
            .backend()
            .buffer(),
    );
    assert!(text.contains("Recent runs"), "{text}");
    assert!(text.contains("var/cache/locked.db"), "{text}");
    assert!(!text.contains("Settings"), "scrolled past the top: {text}");
}

#[test]
fn restore_dialog_snapshots() {
    let (mut app, snap) = on_web_detail();
    press(&mut app, &snap, &[key('r')]);
    let Mode::Restore(form) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(form.id, WEB_FULL);
    // Named after the time of the restore (the newest snapshot's), as the CLI names its restores.
    assert_eq!(form.target, "/srv/restore/web-restore-20261122-120000");
    snapshot_screen("restore_form", &app, &snap);
    press(&mut app, &snap, &[code(KeyCode::Tab)]);
    type_text(&mut app, &snap, "etc/nginx");
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    snapshot_screen("restore_confirm", &app, &snap);
}

#[test]
fn sorted_backups_snapshots() {
    let (mut app, snap) = on_view_kit('2');
    // time ↓ → time ↑ → stored ↓
    press(&mut app, &snap, &[key('s'), key('s')]);
    snapshot_screen("backups_by_stored", &app, &snap);
}

#[test]
fn log_view_snapshots() {
    let (mut app, snap) = on_view_kit('5');
    app.follow(&snap);
    app.notice("task pause media: paused task media", false);
    snapshot_screen("log", &app, &snap);
}

#[test]
fn output_overlay_snapshots() {
    let snap = fixture();
    let mut app = admin();
    press(&mut app, &snap, &[key(':')]);
    type_text(&mut app, &snap, "task show web");
    let lines = press(&mut app, &snap, &[code(KeyCode::Enter)]);
    assert_eq!(lines, [line("task show web")]);
    let stdout = (0..40)
        .map(|i| format!("line {i:02} of task show"))
        .collect::<Vec<_>>()
        .join("\n");
    app.receive(done("task show web", 0, &stdout, ""));
    assert!(matches!(app.mode, Mode::Output(_)), "{:?}", app.mode);
    snapshot_screen("output", &app, &snap);
}

fn on_view_kit(c: char) -> (App, Snapshot) {
    let snap = fixture();
    let mut app = admin();
    press(&mut app, &snap, &[key(c)]);
    (app, snap)
}

fn done(line: &str, code: u8, stdout: &str, stderr: &str) -> Note {
    Note::Printed {
        line: line.into(),
        ran: line.into(),
        out: Printed {
            code,
            stdout: stdout.into(),
            stderr: stderr.into(),
        },
    }
}

// ---------------------------------------------------------------- flows

#[test]
fn detail_keys_act_on_the_task_and_its_chain() {
    let (mut app, snap) = on_web_detail();
    // b and p act on the task shown.
    assert_eq!(
        press(&mut app, &snap, &[key('p')]),
        [act(Action::PauseTask { name: "web".into() })]
    );
    press(&mut app, &snap, &[key('b')]);
    assert_eq!(app.mode, Mode::ChooseKind { task: "web".into() });
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    // The cursor starts on the full; j moves to its incremental.
    assert_eq!(app.current_backup(&snap).unwrap().record.id, WEB_FULL);
    press(&mut app, &snap, &[key('j')]);
    assert_eq!(app.current_backup(&snap).unwrap().record.id, WEB_INCR);
    assert_eq!(
        press(&mut app, &snap, &[key('v')]),
        [act(Action::Verify {
            selection: strata::core::action::VerifySelection::One(WEB_INCR.into()),
            read_data: 0
        })]
    );
    // Enter on a backup of the chain tree browses its files; Esc comes back.
    assert_eq!(
        press(&mut app, &snap, &[code(KeyCode::Enter)]),
        [act(Action::ListEntries {
            id: WEB_INCR.into(),
            path: None,
            recursive: true
        })]
    );
    assert_eq!(app.view, View::Browse);
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.view, View::Detail);
    assert_eq!(app.current_backup(&snap).unwrap().record.id, WEB_INCR);
    // On a line that is not a backup, r does nothing.
    press(&mut app, &snap, &[key('g'), key('r')]);
    assert_eq!(app.view, View::Detail);
    assert_eq!(app.mode, Mode::Normal);
    assert!(app.notices.back().unwrap().text.contains("chain tree"));
    // There Enter lists the task's backups; Esc comes back.
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    assert_eq!(app.view, View::Backups);
    assert_eq!(app.task_filter.as_deref(), Some("web"));
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.view, View::Detail);
}

#[test]
fn sort_cycles_and_the_selection_follows_the_backup() {
    let (mut app, snap) = on_view_kit('2');
    let ids = |app: &App| -> Vec<String> {
        app.backups(&snap)
            .iter()
            .map(|b| b.record.id.clone())
            .collect()
    };
    assert_eq!(
        ids(&app),
        [WEB_FULL, WEB_INCR, WEB_DIFF, DB_FULL, MEDIA_FULL],
        "newest chain first by default, each chain read top to bottom"
    );
    press(&mut app, &snap, &[key('j'), key('j'), key('j')]);
    assert_eq!(app.current_backup(&snap).unwrap().record.id, DB_FULL);
    press(&mut app, &snap, &[key('s')]);
    assert_eq!(
        ids(&app),
        [MEDIA_FULL, DB_FULL, WEB_FULL, WEB_INCR, WEB_DIFF],
        "oldest chain first"
    );
    assert_eq!(app.current_backup(&snap).unwrap().record.id, DB_FULL);
    press(&mut app, &snap, &[key('s')]);
    assert_eq!(
        ids(&app),
        [MEDIA_FULL, WEB_FULL, DB_FULL, WEB_DIFF, WEB_INCR],
        "largest stored first"
    );
    assert_eq!(app.current_backup(&snap).unwrap().record.id, DB_FULL);
    let text = screen_text(
        draw(&app, &snap, &theme("default"), 120, 40)
            .backend()
            .buffer(),
    );
    assert!(text.contains("STORED ↓"), "{text}");
    assert!(!text.contains("AGE ↑"), "{text}");
    press(&mut app, &snap, &[key('s'), key('s')]);
    assert_eq!(ids(&app)[0], MEDIA_FULL, "largest logical first");
    let text = screen_text(
        draw(&app, &snap, &theme("default"), 120, 40)
            .backend()
            .buffer(),
    );
    assert!(text.contains("LOGICAL ↓"), "{text}");
    press(&mut app, &snap, &[key('s'), key('s')]);
    assert_eq!(ids(&app)[0], WEB_FULL, "back to newest chain first");
    // Sorting is navigation: the header's arrow shows it, no notice or Log entry.
    assert!(app.notices.is_empty(), "{:?}", app.notices);
    assert!(app.session.is_empty(), "{:?}", app.session);
}

#[test]
fn the_log_merges_runs_audit_and_notices_newest_first() {
    let (mut app, snap) = on_view_kit('5');
    app.follow(&snap);
    app.notice("backup run web --full: started", false);
    let events = strata::tui::log::events(&app, &snap);
    let times: Vec<_> = events.iter().map(|e| e.at).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let texts: Vec<&str> = events.iter().map(|e| e.text.as_str()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("run 13 of mail: full failed: destination nas")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("run 14 of media: incremental missed"))
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("run 16 of db: full started"))
    );
    assert!(texts.iter().any(|t| t.contains("refused: backup delete")));
    assert_eq!(events[0].source, "console", "the notice is the newest");
    assert_eq!(app.rows(&snap), events.len());
}

#[test]
fn only_a_long_colon_output_opens_the_overlay() {
    let snap = fixture();
    let mut app = admin();
    // An action key's output stays on the notice line.
    app.receive(done(
        "task pause web",
        0,
        "paused task web\nsecond line\n",
        "",
    ));
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(
        app.notices.back().unwrap().text,
        "task pause web: paused task web"
    );
    // A one-line `:` result too.
    press(&mut app, &snap, &[key(':')]);
    type_text(&mut app, &snap, "task pause web");
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    app.receive(done("task pause web", 0, "paused task web\n", ""));
    assert_eq!(app.mode, Mode::Normal);
    // A long one opens the overlay; it scrolls and Esc closes it.
    press(&mut app, &snap, &[key(':')]);
    type_text(&mut app, &snap, "backup list");
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    app.receive(done(
        "backup list",
        0,
        "ID  TASK\na  web\nb  db\n",
        "strata: note\n",
    ));
    let Mode::Output(o) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(o.lines.len(), 4);
    press(&mut app, &snap, &[key('j'), key('j'), key('j'), key('j')]);
    let Mode::Output(o) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(o.scroll, 3, "stops at the last line");
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.view, View::Tasks, "the keys went to the overlay");
}

#[test]
fn a_viewer_sees_restore_disabled() {
    let snap = fixture();
    let mut app = App::new(Role::Viewer, Keymap::default());
    press(&mut app, &snap, &[key('2')]);
    assert!(press(&mut app, &snap, &[key('r')]).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    let n = app.notices.back().unwrap();
    assert!(
        n.error && n.text.contains("restore needs the operator role"),
        "{n:?}"
    );
    let term = draw(&app, &snap, &theme("mono"), 120, 40);
    let buf = term.backend().buffer();
    let (x, y) = find(buf, "r restore").expect("r restore in the footer");
    assert!(buf[(x, y)].modifier.contains(Modifier::CROSSED_OUT));
}

#[test]
fn the_confirmation_needs_y_and_esc_cancels() {
    let (mut app, snap) = on_web_detail();
    press(&mut app, &snap, &[key('r'), code(KeyCode::Enter)]);
    let Mode::Restore(form) = &app.mode else {
        panic!()
    };
    assert_eq!(form.stage, Stage::Confirm);
    // Enter (a navigation key) does not confirm: it goes back to the form.
    assert!(press(&mut app, &snap, &[code(KeyCode::Enter)]).is_empty());
    let Mode::Restore(form) = &app.mode else {
        panic!()
    };
    assert_eq!(form.stage, Stage::Edit);
    // Editing the target: the line quotes it.
    for _ in 0.."web-restore-20261122-120000".len() {
        press(&mut app, &snap, &[code(KeyCode::Backspace)]);
    }
    type_text(&mut app, &snap, "web copy");
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    let restore = Action::Restore {
        id: WEB_FULL.into(),
        to: "/srv/restore/web copy".into(),
        path: None,
    };
    assert_eq!(press(&mut app, &snap, &[key('y')]), [act(restore.clone())]);
    // Esc while it runs hides the box; the result then arrives as a notice.
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.mode, Mode::Normal);
    // Quitting meanwhile asks first.
    press(&mut app, &snap, &[key('q')]);
    let Mode::Confirm { prompt, .. } = app.mode.clone() else {
        panic!("{:?}", app.mode)
    };
    assert!(
        prompt.contains("/srv/restore/web copy") && prompt.contains("still running"),
        "{prompt}"
    );
    press(&mut app, &snap, &[key('n')]);
    assert!(!app.quit);
    let backup = snap
        .backups
        .iter()
        .find(|b| b.record.id == WEB_FULL)
        .unwrap();
    app.receive(Note::Acted {
        action: restore,
        result: Ok(Outcome::Restored {
            backup: Box::new(backup.record.clone()),
            target: "/srv/restore/web copy".into(),
            report: Default::default(),
        }),
    });
    assert!(app.notices.back().unwrap().text.contains("restored backup"));
    assert!(
        app.restoring_target().is_none(),
        "finished: q quits at once"
    );
    // Esc in the form cancels.
    press(&mut app, &snap, &[key('r'), code(KeyCode::Esc)]);
    assert_eq!(app.mode, Mode::Normal);
    assert!(
        app.notices
            .back()
            .unwrap()
            .text
            .contains("nothing was changed")
    );
}

// ---------------------------------------------------------------- a real core

/// A real core whose strata.toml has a restore root; returns (core, root).
fn core_with_restore_root(dir: &std::path::Path) -> (Arc<Core>, std::path::PathBuf) {
    let root = dir.join("restores");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(dir.join("home")).unwrap();
    std::fs::write(
        dir.join("home/strata.toml"),
        format!("restore_roots = [{:?}]\n", root.display().to_string()),
    )
    .unwrap();
    (real_core(dir), root)
}

#[test]
fn detail_then_restore_against_a_real_core() {
    let dir = tempfile::tempdir().unwrap();
    let (core, root) = core_with_restore_root(dir.path());
    let source = LocalSource::new(core.clone(), admin_caller());
    assert_eq!(source.run_line("backup run t --full").code, 0);
    std::fs::write(dir.path().join("src/a.txt"), "alpha, changed\n").unwrap();
    assert_eq!(source.run_line("backup run t --incremental").code, 0);
    // Destinations are checked in the background: `checking` until then.
    let mut snap = source.snapshot().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while snap.destinations[0].state == HealthState::Checking {
        assert!(std::time::Instant::now() < deadline, "never checked");
        std::thread::sleep(std::time::Duration::from_millis(20));
        snap = source.snapshot().unwrap();
    }
    assert_eq!(snap.restore_base.as_deref(), Some(root.as_path()));

    // Tasks → Enter: the detail shows the chain tree and the destination.
    let mut app = App::new(Role::Admin, Keymap::default());
    app.follow(&snap);
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    assert_eq!(app.view, View::Detail);
    let text = screen_text(
        draw(&app, &snap, &theme("default"), 120, 40)
            .backend()
            .buffer(),
    );
    let full = snap.backups[0].record.id.clone();
    let incr = snap.backups[1].record.id.clone();
    assert!(text.contains("└ incremental"), "{text}");
    assert!(text.contains(&full) && text.contains(&incr), "{text}");
    assert!(text.contains("✓ reachable"), "{text}");
    assert!(text.contains("Recent runs"), "{text}");
    assert!(text.contains(&format!("→ {incr}")), "{text}");

    // r on the incremental → dialog → Enter → y → the restore runs.
    press(&mut app, &snap, &[key('j')]);
    assert_eq!(app.current_backup(&snap).unwrap().record.id, incr);
    press(&mut app, &snap, &[key('r'), code(KeyCode::Enter)]);
    let lines = press(&mut app, &snap, &[key('y')]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        matches!(&lines[0], Request::Act(Action::Restore { .. })),
        "{lines:?}"
    );
    let result = run_on(&mut app, &source, &lines[0]);
    assert!(matches!(result, Ok(Outcome::Restored { .. })), "{result:?}");
    let Mode::Restore(form) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    let Stage::Done { text, error } = &form.stage else {
        panic!("{:?}", form.stage)
    };
    assert!(!error, "{text}");
    assert!(text.contains("restored backup"), "{text}");
    let target = std::path::PathBuf::from(&form.target);
    assert!(target.starts_with(&root), "{}", target.display());
    assert_eq!(
        std::fs::read(target.join("a.txt")).unwrap(),
        b"alpha, changed\n"
    );
    assert_eq!(
        std::fs::read(target.join("sub/b.txt")).unwrap(),
        "bravo\n".repeat(100).as_bytes()
    );
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    assert_eq!(app.mode, Mode::Normal);

    // The same target again: the core refuses to overwrite, the dialog says so.
    press(&mut app, &snap, &[key('r'), code(KeyCode::Enter)]);
    let lines = press(&mut app, &snap, &[key('y')]);
    let result = run_on(&mut app, &source, &lines[0]);
    assert!(result.is_err(), "{result:?}");
    let Mode::Restore(form) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert!(
        matches!(&form.stage, Stage::Done { error: true, .. }),
        "{:?}",
        form.stage
    );
}

#[test]
fn the_core_refuses_restores_by_role() {
    let dir = tempfile::tempdir().unwrap();
    let (core, root) = core_with_restore_root(dir.path());
    let admin = LocalSource::new(core.clone(), admin_caller());
    assert_eq!(admin.run_line("backup run t --full").code, 0);
    let id = admin.snapshot().unwrap().backups[0].record.id.clone();
    let as_role = |role: Role| {
        LocalSource::new(
            core.clone(),
            Caller {
                name: "guest".into(),
                role,
                origin: "local".into(),
            },
        )
    };
    // A viewer: refused whatever the target, and audited.
    let target = root.join("by-viewer");
    let out = as_role(Role::Viewer).run_line(&format!("restore {id} --to {}", target.display()));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(!target.exists());
    // An operator: outside the restore roots refused, under them allowed.
    let outside = dir.path().join("elsewhere");
    let op = as_role(Role::Operator);
    let out = op.run_line(&format!("restore {id} --to {}", outside.display()));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(!outside.exists());
    let inside = root.join("by-operator");
    let out = op.run_line(&format!("restore {id} --to {}", inside.display()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read(inside.join("a.txt")).unwrap(), b"alpha\n");
    let audit = admin.snapshot().unwrap().audit;
    assert!(
        audit
            .iter()
            .any(|e| e.who == "guest" && e.role == "viewer" && e.outcome.starts_with("refused")),
        "{audit:?}"
    );
}
