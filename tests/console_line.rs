//! The `:` line (history per user across sessions, Tab completion from the
//! grammar and the snapshot, a typo's one-line error), the output overlay's
//! sideways scroll, long notices, the Log view's start and the Audit view's
//! times.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod console_kit;
use console_kit::*;
use strata::tui::output::Output;
use strata::tui::{Console, Feed, Input};

fn command_text(app: &App) -> String {
    match &app.mode {
        Mode::Command(t) => t.clone(),
        m => panic!("not on the : line: {m:?}"),
    }
}

fn up() -> KeyEvent {
    code(KeyCode::Up)
}

fn down() -> KeyEvent {
    code(KeyCode::Down)
}

fn tab() -> KeyEvent {
    code(KeyCode::Tab)
}

#[test]
fn up_and_down_walk_the_history_and_come_back_to_the_draft() {
    let snap = fixture();
    let mut app = admin();
    for l in ["task list", "backup list --task web"] {
        press(&mut app, &snap, &[key(':')]);
        type_text(&mut app, &snap, l);
        assert_eq!(press(&mut app, &snap, &[code(KeyCode::Enter)]), [line(l)]);
    }
    press(&mut app, &snap, &[key(':')]);
    type_text(&mut app, &snap, "ver");
    press(&mut app, &snap, &[up()]);
    assert_eq!(command_text(&app), "backup list --task web");
    press(&mut app, &snap, &[up()]);
    assert_eq!(command_text(&app), "task list");
    press(&mut app, &snap, &[up()]);
    assert_eq!(command_text(&app), "task list", "the oldest stays");
    press(&mut app, &snap, &[down()]);
    assert_eq!(command_text(&app), "backup list --task web");
    press(&mut app, &snap, &[down()]);
    assert_eq!(command_text(&app), "ver", "past the newest: what was typed");
    // A recalled line can be edited and run.
    press(&mut app, &snap, &[code(KeyCode::Esc), key(':'), up()]);
    type_text(&mut app, &snap, " --chain");
    assert_eq!(
        press(&mut app, &snap, &[code(KeyCode::Enter)]),
        [line("backup list --task web --chain")]
    );
    // A line with a secret runs but is not kept.
    press(&mut app, &snap, &[key(':')]);
    type_text(
        &mut app,
        &snap,
        "dest key add nas --new-passphrase-command 'pass show x'",
    );
    assert_eq!(press(&mut app, &snap, &[code(KeyCode::Enter)]).len(), 1);
    press(&mut app, &snap, &[key(':'), up()]);
    assert_eq!(command_text(&app), "backup list --task web --chain");
}

/// A console over `core` as `name`, whose input is `keys` then the end.
fn session(core: &Arc<Core>, name: &str, keys: &[KeyEvent]) -> (Console, Terminal<TestBackend>) {
    let caller = Caller {
        name: name.into(),
        role: Role::Admin,
        origin: "local".into(),
    };
    let source: Arc<dyn Source> = Arc::new(LocalSource::new(core.clone(), caller));
    let console = Console {
        feed: Feed::start(source.clone()).unwrap(),
        source,
        remote: false,
        keymap: Keymap::default(),
        theme: theme("default"),
        place: PLACE.into(),
        host: HOST.into(),
        greeting: Vec::new(),
    };
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut input: std::collections::VecDeque<Input> =
        keys.iter().map(|k| Input::Key(*k)).collect();
    strata::tui::drive(&console, &mut term, |_| {
        Ok(Some(input.pop_front().unwrap_or(Input::End)))
    })
    .unwrap();
    (console, term)
}

fn typed(line: &str) -> Vec<KeyEvent> {
    std::iter::once(key(':'))
        .chain(line.chars().map(key))
        .chain([code(KeyCode::Enter)])
        .collect()
}

#[test]
fn the_history_survives_a_new_console_and_each_user_has_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let core = real_core(dir.path());
    session(&core, "alice", &typed("task list"));
    session(&core, "bob", &typed("dest list"));
    session(&core, "alice", &typed("backup list"));

    let file = strata::tui::history::path(&dir.path().join("home"), "alice");
    assert_eq!(
        strata::tui::history::load(&file),
        ["task list", "backup list"]
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the history is private");

    // A new session of alice recalls her lines, newest first; bob's are his.
    let (console, term) = session(&core, "alice", &[key(':'), up()]);
    let buf = term.backend().buffer();
    assert!(
        row_text(buf, 23).starts_with(":backup list█"),
        "{}",
        row_text(buf, 23)
    );
    let app = strata::tui::open_app(&console);
    assert_eq!(app.history, ["task list", "backup list"]);
    let (_, term) = session(&core, "bob", &[key(':'), up(), up()]);
    let buf = term.backend().buffer();
    assert!(
        row_text(buf, 23).starts_with(":dest list█"),
        "{}",
        row_text(buf, 23)
    );
    let (_, term) = session(&core, "carol", &[key(':'), up()]);
    let buf = term.backend().buffer();
    assert!(row_text(buf, 23).starts_with(":█"), "{}", row_text(buf, 23));
}

#[test]
fn tab_completes_command_words_task_names_and_backup_ids() {
    let snap = fixture();
    let mut app = admin();
    press(&mut app, &snap, &[key(':')]);
    type_text(&mut app, &snap, "backu");
    press(&mut app, &snap, &[tab()]);
    assert_eq!(command_text(&app), "backup ");
    type_text(&mut app, &snap, "ru");
    press(&mut app, &snap, &[tab()]);
    assert_eq!(command_text(&app), "backup run ");
    type_text(&mut app, &snap, "we");
    press(&mut app, &snap, &[tab()]);
    assert_eq!(
        command_text(&app),
        "backup run web ",
        "one candidate completes"
    );
    type_text(&mut app, &snap, "--f");
    press(&mut app, &snap, &[tab()]);
    assert_eq!(command_text(&app), "backup run web --full ");

    // Several candidates: repeated Tab cycles them, in order, and wraps.
    press(&mut app, &snap, &[code(KeyCode::Esc), key(':')]);
    type_text(&mut app, &snap, "task show m");
    press(&mut app, &snap, &[tab()]);
    assert_eq!(command_text(&app), "task show mail");
    press(&mut app, &snap, &[tab()]);
    assert_eq!(command_text(&app), "task show media");
    press(&mut app, &snap, &[tab()]);
    assert_eq!(command_text(&app), "task show mail");
    press(&mut app, &snap, &[code(KeyCode::BackTab)]);
    assert_eq!(command_text(&app), "task show media");

    // Backup ids come from the snapshot.
    press(&mut app, &snap, &[code(KeyCode::Esc), key(':')]);
    type_text(&mut app, &snap, "backup show 20261120");
    press(&mut app, &snap, &[tab()]);
    assert_eq!(command_text(&app), format!("backup show {WEB_FULL} "));
    press(&mut app, &snap, &[code(KeyCode::Esc), key(':')]);
    type_text(&mut app, &snap, "restore 2026112");
    press(&mut app, &snap, &[tab()]);
    let first = command_text(&app);
    assert!(
        first.starts_with("restore 2026112") && app.tabbing.is_some(),
        "{first}"
    );
    // Destination names, also after a comma of a list.
    press(&mut app, &snap, &[code(KeyCode::Esc), key(':')]);
    type_text(&mut app, &snap, "task add new --dir /d --dest nas,u");
    press(&mut app, &snap, &[tab()]);
    assert_eq!(command_text(&app), "task add new --dir /d --dest nas,usb ");
    // Nothing to complete leaves the line alone.
    press(&mut app, &snap, &[code(KeyCode::Esc), key(':')]);
    type_text(&mut app, &snap, "backup show zz");
    press(&mut app, &snap, &[tab()]);
    assert_eq!(command_text(&app), "backup show zz");
}

#[test]
fn a_typo_is_one_line_on_the_notice_line_and_the_line_stays() {
    let snap = fixture();
    let mut app = admin();
    press(&mut app, &snap, &[key(':')]);
    type_text(&mut app, &snap, "backpu list");
    assert!(press(&mut app, &snap, &[code(KeyCode::Enter)]).is_empty());
    assert_eq!(command_text(&app), "backpu list", "kept to be fixed");
    let n = app.notices.back().unwrap();
    assert!(n.error, "{n:?}");
    assert!(
        n.text.contains("'backpu'") && n.text.contains("did you mean 'backup'?"),
        "{n:?}"
    );
    assert!(!n.text.contains('\n'), "{n:?}");
    snapshot_screen("typo", &app, &snap);
    // A bad flag the same way; no overlay ever opens for it.
    press(&mut app, &snap, &[code(KeyCode::Esc), key(':')]);
    type_text(&mut app, &snap, "backup run web --fulll");
    assert!(press(&mut app, &snap, &[code(KeyCode::Enter)]).is_empty());
    let n = app.notices.back().unwrap();
    assert!(n.text.contains("'--full'"), "{n:?}");
    assert!(matches!(app.mode, Mode::Command(_)));
}

#[test]
fn a_usage_error_from_the_worker_stays_on_the_notice_line() {
    let mut app = admin();
    app.receive(Note::Printed {
        line: "backup run".into(),
        ran: "backup run".into(),
        out: strata::tui::source::Printed::failed(
            2,
            "error: unexpected argument '--fulll' found\n\n  tip: a similar argument exists: '--full'\n\nUsage: strata backup run <TASK>\n\nFor more information, try '--help'.\n",
        ),
    });
    assert_eq!(app.mode, Mode::Normal, "no overlay for a usage error");
    let n = app.notices.back().unwrap();
    assert_eq!(
        n.text,
        "unexpected argument '--fulll' found (did you mean '--full'?)"
    );
}

fn wide_output() -> Output {
    let lines = (0..30)
        .map(|i| format!("{i:02} {}END{i:02}", "wide column text · ".repeat(12)))
        .collect();
    Output::new("backup list --chain".into(), lines, false)
}

#[test]
fn the_overlay_scrolls_sideways_and_covers_what_is_behind() {
    let snap = fixture();
    let mut app = admin();
    app.mode = Mode::Output(Box::new(wide_output()));
    let widest = wide_output().widest();
    let column = |app: &App| match &app.mode {
        Mode::Output(o) => o.column,
        m => panic!("{m:?}"),
    };
    press(&mut app, &snap, &[code(KeyCode::Right)]);
    assert_eq!(column(&app), 8);
    press(&mut app, &snap, &[code(KeyCode::Left), code(KeyCode::Left)]);
    assert_eq!(column(&app), 0);
    press(&mut app, &snap, &[key('$')]);
    assert_eq!(
        column(&app),
        widest - 78,
        "the widest line's end at the edge"
    );
    press(&mut app, &snap, &[code(KeyCode::Right)]);
    assert_eq!(column(&app), widest - 78, "never past the end");
    let term = draw(&app, &snap, &theme("default"), 80, 24);
    let text = screen_text(term.backend().buffer());
    assert!(text.contains("END00"), "{text}");
    assert!(
        !text.contains("Tasks (4)") && !text.contains("NAME"),
        "{text}"
    );
    press(&mut app, &snap, &[key('0')]);
    assert_eq!(column(&app), 0);
    press(
        &mut app,
        &snap,
        &[code(KeyCode::Right), code(KeyCode::Right)],
    );
    snapshot_screen("overlay_right", &app, &snap);
    // Every cell below the header belongs to the overlay: no row of the
    // view shows at its edges.
    for (w, h) in SIZES {
        let term = draw(&app, &snap, &theme("default"), w, h);
        let buf = term.backend().buffer();
        for y in 1..h {
            let row = row_text(buf, y);
            let first = row.chars().next().unwrap();
            let last = row.chars().last().unwrap();
            assert!(
                "┌│└".contains(first) && "┐│┘".contains(last),
                "{w}x{h} row {y}: {row}"
            );
        }
    }
}

#[test]
fn a_long_notice_wraps_instead_of_being_cut() {
    let snap = fixture();
    let mut app = admin();
    app.follow(&snap);
    let ssh = "from another terminal: ssh -t -i /tmp/strata-demo/demo_ed25519 -p 2222 -o StrictHostKeyChecking=accept-new demo@127.0.0.1";
    app.notice(ssh, false);
    for (w, h) in SIZES {
        let term = draw(&app, &snap, &theme("default"), w, h);
        let text = screen_text(term.backend().buffer());
        let flat: String = text.split_whitespace().collect();
        assert!(
            flat.contains("demo@127.0.0.1") && flat.contains("StrictHostKeyChecking=accept-new"),
            "{text}"
        );
    }
    snapshot_screen("long_notice", &app, &snap);
    // Longer than its rows: cut with … and the footer names the Log's key,
    // where the whole text is.
    let long = (0..40)
        .map(|i| format!("word{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    app.notice(long.clone(), true);
    let term = draw(&app, &snap, &theme("default"), 80, 24);
    let buf = term.backend().buffer();
    assert!(
        row_text(buf, 22).trim_end().ends_with('…'),
        "{}",
        row_text(buf, 22)
    );
    assert!(
        row_text(buf, 23).starts_with("5 whole notice"),
        "{}",
        row_text(buf, 23)
    );
    press(&mut app, &snap, &[key('5')]);
    let term = draw(&app, &snap, &theme("default"), 80, 24);
    let flat: String = screen_text(term.backend().buffer())
        .split_whitespace()
        .collect();
    assert!(
        flat.contains("word38word39"),
        "the Log shows it whole: {flat}"
    );
}

#[test]
fn the_log_opens_at_its_newest_entry() {
    let snap = fixture();
    let mut app = admin();
    press(&mut app, &snap, &[key('5')]);
    assert_eq!(app.selection(&snap), 0);
    press(&mut app, &snap, &[key('j'), key('j'), key('j')]);
    assert_eq!(app.selection(&snap), 3);
    press(&mut app, &snap, &[key('1'), key('5')]);
    assert_eq!(app.selection(&snap), 0, "back at the newest");
    press(&mut app, &snap, &[key('G'), key('4'), code(KeyCode::Tab)]);
    assert_eq!(app.view, View::Log);
    assert_eq!(app.selection(&snap), 0, "Tab into the Log too");
    let events = strata::tui::log::events(&app, &snap);
    assert!(
        events.iter().all(|e| e.at <= events[0].at),
        "row 0 is the newest"
    );
}

#[test]
fn sorting_and_moving_leave_no_log_entry() {
    let snap = fixture();
    let mut app = admin();
    let before = app.session.len();
    press(
        &mut app,
        &snap,
        &[key('2'), key('s'), key('s'), key('j'), key('g'), key('/')],
    );
    type_text(&mut app, &snap, "web");
    press(&mut app, &snap, &[code(KeyCode::Enter), key('5'), key('j')]);
    assert_eq!(app.session.len(), before, "{:?}", app.session);
    assert!(app.notices.is_empty(), "{:?}", app.notices);
}

#[test]
fn the_audit_view_shows_dates_and_t_switches_to_ago() {
    let snap = fixture();
    let mut app = admin();
    press(&mut app, &snap, &[key('4')]);
    assert!(!app.audit_relative);
    let text = screen_text(
        draw(&app, &snap, &theme("default"), 80, 24)
            .backend()
            .buffer(),
    );
    assert!(text.contains("2026-11-22 11:57:00"), "{text}");
    assert!(text.contains("WHEN (UTC)"), "{text}");
    snapshot_screen("audit_dates", &app, &snap);
    press(&mut app, &snap, &[key('t')]);
    assert!(app.audit_relative);
    let text = screen_text(
        draw(&app, &snap, &theme("default"), 80, 24)
            .backend()
            .buffer(),
    );
    assert!(
        text.contains("3m ago") && !text.contains("2026-11-22 11:57"),
        "{text}"
    );
    snapshot_screen("audit_ago", &app, &snap);
    press(&mut app, &snap, &[key('t')]);
    assert!(!app.audit_relative);
    // The key is in the keymap: footer and help offer it in the Audit view only.
    let km = Keymap::default();
    let b = km.action(&key('t'), View::Audit).unwrap();
    assert_eq!(b.action.name(), "audit_times");
    assert!(km.action(&key('t'), View::Tasks).is_none());
}

#[test]
fn the_demo_setup_is_in_the_audit_log_as_its_user() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("demo");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(&home)
            .args(args)
            .env("USER", "dana")
            .env_remove("STRATA_HOME")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["audit", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let done: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e["who"] == "dana" && e["outcome"] == "ok")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("dest add", "demo-local"),
        ("task add", "demo-files"),
        ("task add", "demo-docs"),
        ("backup run", "demo-files"),
        ("backup run", "demo-docs"),
    ] {
        assert!(
            done.iter().any(|(a, t)| a == want.0 && t == want.1),
            "{want:?} not in {done:?}"
        );
    }
}

#[test]
fn the_demo_key_is_authorized_through_the_audited_door() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let core = Arc::new(Core::open(home.clone(), "test").unwrap());
    let key = strata::demo::demo_key(&core, &home).unwrap();
    assert!(key.exists());
    let Outcome::Audit(entries) = core
        .perform(
            &admin_caller(),
            Action::Audit {
                since: None,
                limit: None,
            },
        )
        .unwrap()
    else {
        panic!("not an audit")
    };
    let me = Caller::local(None).name;
    assert!(
        entries.iter().any(|e| e.action == "keys add"
            && e.target == "demo"
            && e.who == me
            && e.outcome == "ok"),
        "{entries:?}"
    );
}
