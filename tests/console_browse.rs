//! The console's file browser over a backup (Enter on a backup): snapshots of
//! hand-made listings (fixed clock, see tests/console_kit), key flows into
//! the restore dialog, and a browse-then-restore over a real core.
//!
//! Accept intended changes with `INSTA_UPDATE=always cargo test --test console_browse`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod browse_kit;
mod console_kit;
use browse_kit::*;
use console_kit::*;
use strata::tui::browse::{Listing, Load};
use strata::tui::restore::Stage;

// ---------------------------------------------------------------- snapshots

#[test]
fn the_root_a_subdirectory_and_a_filter() {
    let snap = fixture();
    let app = browsing(&snap, WEB_FULL, web_entries());
    assert_eq!(app.view, View::Browse);
    snapshot_screen("browse_root", &app, &snap);
    let text = screen(&app, &snap, 200, 50);
    // Directories first, then files, each with mode, size and time; links with their target.
    for want in [
        &format!("Files of backup {WEB_FULL} · web · full · / · 5 entries"),
        "drwxr-xr-x",
        "etc/",
        "-rwxr-xr-x",
        "12.0 KiB",
        "2026-11-19 17:45",
        "logs -> /var/log/web",
        "(back; r restores the whole backup)",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
    assert_eq!(
        rows_of_browser(&app),
        ["..", "etc", "srv", "README.md", "logs", "run.sh"]
    );

    // Enter on etc/, then on nginx/.
    let mut app = app;
    press(&mut app, &snap, &[key('j'), code(KeyCode::Enter)]);
    press(&mut app, &snap, &[key('j'), code(KeyCode::Enter)]);
    assert_eq!(app.browser().unwrap().dir, "etc/nginx");
    snapshot_screen("browse_subdir", &app, &snap);
    let text = screen(&app, &snap, 200, 50);
    assert!(text.contains("/etc/nginx · 4 entries"), "{text}");
    assert!(text.contains("current -> sites/default"), "{text}");
    assert!(text.contains("(up; r restores the whole backup)"), "{text}");

    // `/` narrows this directory's entries as you type.
    press(&mut app, &snap, &[key('/')]);
    type_text(&mut app, &snap, "CONF");
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    snapshot_screen("browse_filter", &app, &snap);
    let text = screen(&app, &snap, 200, 50);
    assert!(text.contains("1 of 4 entries"), "{text}");
    assert!(
        text.contains("nginx.conf") && !text.contains("mime.types"),
        "{text}"
    );
    // Nothing matching says so.
    press(&mut app, &snap, &[code(KeyCode::Esc), key('/')]);
    type_text(&mut app, &snap, "zzz");
    let text = screen(&app, &snap, 80, 24);
    assert!(text.contains("no entry here matches /zzz"), "{text}");
}

#[test]
fn a_database_backup_shows_its_stream() {
    let mut snap = fixture();
    for b in &mut snap.backups {
        if b.record.id == DB_FULL {
            b.source = "sqlite · snapshot".into();
        }
    }
    let mut app = browsing(
        &snap,
        DB_FULL,
        vec![entry("app.db", "file", 2 * GIB, 0o640, None)],
    );
    snapshot_screen("browse_database", &app, &snap);
    let text = screen(&app, &snap, 200, 50);
    assert!(
        text.contains("db · full · / · 1 entry · sqlite · snapshot"),
        "{text}"
    );
    assert!(
        text.contains("-rw-r-----") && text.contains("2.0 GiB"),
        "{text}"
    );
    assert!(text.contains("app.db"), "{text}");
    // r on the stream restores the database whole: a database has no path to pick.
    press(&mut app, &snap, &[key('j'), key('r')]);
    let Mode::Restore(form) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert!(form.database && form.subpath.is_empty(), "{form:?}");
}

#[test]
fn loading_and_error_states() {
    let snap = fixture();
    let mut app = on_backup(&snap, WEB_INCR);
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    snapshot_screen("browse_loading", &app, &snap);
    assert!(screen(&app, &snap, 80, 24).contains(&format!("loading {WEB_INCR}…")));
    // Keys while loading do no harm.
    press(&mut app, &snap, &[key('j'), code(KeyCode::Enter), key('/')]);
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.view, View::Browse);
    // An answer for another listing is not this browser's.
    app.receive(Note::Acted {
        action: list_of(WEB_FULL),
        result: Err(Failure {
            code: 1,
            message: "not this one".into(),
        }),
    });
    assert!(matches!(app.browser().unwrap().load, Load::Loading));
    let why = format!(
        "backup {WEB_INCR} has no readable copy: nas: manifest of {WEB_INCR} cannot be read (No such file or directory)"
    );
    app.receive(Note::Acted {
        action: list_of(WEB_INCR),
        result: Err(Failure {
            code: 1,
            message: why.clone(),
        }),
    });
    snapshot_screen("browse_error", &app, &snap);
    let text = screen(&app, &snap, 200, 50);
    assert!(text.contains(&why), "{text}");
    assert!(
        text.contains(&format!("cannot list backup {WEB_INCR}:")),
        "{text}"
    );
    // Esc returns; Enter on the backup asks again.
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.view, View::Backups);
    assert_eq!(
        press(&mut app, &snap, &[code(KeyCode::Enter)]),
        [act(list_of(WEB_INCR))]
    );
}

#[test]
fn a_backup_of_100k_entries() {
    let snap = fixture();
    let entries = big_listing();
    assert_eq!(entries.len(), 100_000);
    let mut app = browsing(&snap, WEB_FULL, entries);
    snapshot_screen("browse_100k", &app, &snap);
    let text = screen(&app, &snap, 80, 24);
    assert!(text.contains("· 200 entries"), "{text}");
    assert!(
        text.contains(&format!("backup {WEB_FULL}: 100000 entries")),
        "{text}"
    );
    // The last directory, then its last file; Backspace comes back to it.
    press(&mut app, &snap, &[key('G')]);
    assert_eq!(selected_name(&app, &snap), "top099.log");
    press(&mut app, &snap, &[key('g'), key('j'), key('j')]);
    assert_eq!(selected_name(&app, &snap), "d001");
    press(&mut app, &snap, &[code(KeyCode::Enter), key('G')]);
    assert_eq!(selected_name(&app, &snap), "d001/f0997.dat");
    assert_eq!(app.rows(&snap), 999);
    press(&mut app, &snap, &[code(KeyCode::Backspace)]);
    assert_eq!(selected_name(&app, &snap), "d001");
}

// ---------------------------------------------------------------- key flows

#[test]
fn enter_into_a_directory_then_r_on_a_file_restores_only_it() {
    let snap = fixture();
    let mut app = browsing(&snap, WEB_FULL, web_entries());
    // etc/ → nginx/ → nginx.conf (after current, a link, and mime.types).
    press(&mut app, &snap, &[key('j'), code(KeyCode::Enter)]);
    press(&mut app, &snap, &[key('j'), code(KeyCode::Enter)]);
    press(&mut app, &snap, &[key('j'), key('j'), key('j'), key('j')]);
    assert_eq!(selected_name(&app, &snap), "etc/nginx/nginx.conf");
    press(&mut app, &snap, &[key('r')]);
    let Mode::Restore(form) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(form.subpath, "etc/nginx/nginx.conf");
    assert!(!form.database);
    assert!(screen(&app, &snap, 200, 50).contains("path   etc/nginx/nginx.conf"));
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    let text = screen(&app, &snap, 200, 50);
    assert!(
        text.contains(&format!(
            "Restore only etc/nginx/nginx.conf of backup {WEB_FULL}"
        )),
        "{text}"
    );
    assert_eq!(
        press(&mut app, &snap, &[key('y')]),
        [act(Action::Restore {
            id: WEB_FULL.into(),
            to: "/srv/restore/web-restore-20261122-120000".into(),
            path: Some("etc/nginx/nginx.conf".into()),
        })]
    );
}

#[test]
fn r_on_a_directory_or_on_dotdot() {
    let snap = fixture();
    let mut app = browsing(&snap, WEB_FULL, web_entries());
    // A directory: only it.
    press(&mut app, &snap, &[key('j'), key('r')]);
    let Mode::Restore(form) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(form.subpath, "etc");
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    // `..`, at the top or below it: the whole backup.
    for keys in [
        vec![key('g')],
        vec![key('j'), code(KeyCode::Enter), key('g')],
    ] {
        press(&mut app, &snap, &keys);
        press(&mut app, &snap, &[key('r')]);
        let Mode::Restore(form) = &app.mode else {
            panic!("{:?}", app.mode)
        };
        assert_eq!(form.subpath, "");
        press(&mut app, &snap, &[code(KeyCode::Enter)]);
        let got = press(&mut app, &snap, &[key('y')]);
        let [Request::Act(Action::Restore { path, .. })] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert_eq!(path, &None);
        app.mode = Mode::Normal;
    }
}

#[test]
fn backspace_h_and_esc_go_back_where_the_browser_was_opened() {
    let snap = fixture();
    let mut app = browsing(&snap, WEB_FULL, web_entries());
    // Down two levels; Backspace goes up with the cursor on the directory left, h too.
    press(&mut app, &snap, &[key('j'), code(KeyCode::Enter)]);
    press(&mut app, &snap, &[key('j'), code(KeyCode::Enter)]);
    press(&mut app, &snap, &[code(KeyCode::Backspace)]);
    assert_eq!(app.browser().unwrap().dir, "etc");
    assert_eq!(selected_name(&app, &snap), "etc/nginx");
    press(&mut app, &snap, &[key('h')]);
    assert_eq!(app.browser().unwrap().dir, "");
    assert_eq!(selected_name(&app, &snap), "etc");
    // Enter on `..` goes up too: at the top, back to the Backups view.
    press(
        &mut app,
        &snap,
        &[code(KeyCode::Enter), key('g'), code(KeyCode::Enter)],
    );
    assert_eq!(app.browser().unwrap().dir, "");
    press(&mut app, &snap, &[code(KeyCode::Backspace)]);
    assert_eq!(app.view, View::Backups);
    assert_eq!(app.current_backup(&snap).unwrap().record.id, WEB_FULL);
    // The same backup again: its entries are already here.
    assert!(press(&mut app, &snap, &[code(KeyCode::Enter)]).is_empty());
    assert_eq!(app.rows(&snap), 6);
    // Esc clears a filter first, then closes.
    press(&mut app, &snap, &[key('/')]);
    type_text(&mut app, &snap, "run");
    press(&mut app, &snap, &[code(KeyCode::Enter)]);
    assert_eq!(app.rows(&snap), 2);
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!((app.view, app.rows(&snap)), (View::Browse, 6));
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.view, View::Backups);
    // A file is not entered.
    press(
        &mut app,
        &snap,
        &[code(KeyCode::Enter), key('G'), code(KeyCode::Enter)],
    );
    assert!(
        app.notices
            .back()
            .unwrap()
            .text
            .contains("run.sh is not a directory")
    );

    // From the detail's chain tree: Esc returns to the detail, on the Tasks tab.
    let mut app = admin();
    press(&mut app, &snap, &[key('j'), code(KeyCode::Enter)]);
    assert_eq!(app.current_backup(&snap).unwrap().record.id, WEB_FULL);
    assert_eq!(
        press(&mut app, &snap, &[code(KeyCode::Enter)]),
        [act(list_of(WEB_FULL))]
    );
    assert_eq!((app.view, app.tab()), (View::Browse, View::Tasks));
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    assert_eq!(app.view, View::Detail);
}

#[test]
fn the_keys_are_in_the_footer_and_help() {
    let snap = fixture();
    let mut app = browsing(&snap, WEB_FULL, web_entries());
    let text = screen(&app, &snap, 200, 50);
    let footer = text.lines().last().unwrap();
    for want in [
        "/ filter",
        "Enter open dir",
        "Backspace up a dir",
        "r restore",
    ] {
        assert!(footer.contains(want), "{want}: {footer}");
    }
    press(&mut app, &snap, &[key('?')]);
    let text = screen(&app, &snap, 200, 50);
    assert!(text.contains("keys of the File browser view"), "{text}");
    assert!(text.contains("Backspace h"), "{text}");
}

// ---------------------------------------------------------------- the restore dialog

#[test]
fn the_default_target_is_named_after_the_time_of_the_restore() {
    let mut snap = fixture();
    let mut app = on_backup(&snap, WEB_FULL);
    press(&mut app, &snap, &[key('r')]);
    let Mode::Restore(form) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(form.target, "/srv/restore/web-restore-20261122-120000");
    // A minute later (the newest snapshot is the console's clock): a new name.
    press(&mut app, &snap, &[code(KeyCode::Esc)]);
    snap.taken = Some(now() + Duration::seconds(61));
    app.follow(&snap);
    press(&mut app, &snap, &[key('r')]);
    let Mode::Restore(form) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(form.target, "/srv/restore/web-restore-20261122-120101");
    // The CLI's name for a restore made then.
    assert_eq!(
        strata::core::database::restore_name("web", now() + Duration::seconds(61)),
        "web-restore-20261122-120101"
    );
}

#[test]
fn an_operator_without_restore_roots_is_told_before_choosing_a_target() {
    let mut snap = fixture();
    snap.restore_roots_set = false;
    let mut app = App::new(Role::Operator, Keymap::default());
    press(&mut app, &snap, &[key('2'), key('r')]);
    let Mode::Restore(form) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    let why = form.blocked.clone().unwrap();
    assert!(
        why.starts_with("This session is operator: it may restore only into a restore root")
            && why.contains("Ask an admin to add restore_roots"),
        "{why}"
    );
    snapshot_screen("restore_no_roots", &app, &snap);
    let text = screen(&app, &snap, 200, 50);
    assert!(text.contains("Restore not allowed"), "{text}");
    assert!(text.contains("restore_roots"), "{text}");
    assert!(!text.contains("into   "), "no target to choose\n{text}");
    // Nothing to confirm: typing does nothing, Enter closes without a request.
    assert!(type_text(&mut app, &snap, "y").is_empty());
    assert!(press(&mut app, &snap, &[code(KeyCode::Enter)]).is_empty());
    assert_eq!(app.mode, Mode::Normal);

    // A command backup needs restore_databases instead.
    snap.restore_roots_set = true;
    snap.restore_databases_set = false;
    for b in &mut snap.backups {
        b.source = "command · backup".into();
    }
    press(&mut app, &snap, &[key('r')]);
    let Mode::Restore(form) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    let why = form.blocked.clone().unwrap();
    assert!(why.contains("restore_databases"), "{why}");
    press(&mut app, &snap, &[code(KeyCode::Esc)]);

    // With roots (a dir backup) the form is open; an admin is never blocked.
    let snap = fixture();
    press(&mut app, &snap, &[key('r')]);
    let Mode::Restore(form) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(form.blocked, None);
    let mut snap = fixture();
    snap.restore_roots_set = false;
    let mut app = admin();
    press(&mut app, &snap, &[key('2'), key('r')]);
    let Mode::Restore(form) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(form.blocked, None);
}

// ---------------------------------------------------------------- a real core

#[test]
fn browse_then_restore_a_chosen_file_over_a_real_core() {
    let mut k = Kit::start();
    assert_eq!(k.source.run_line("backup run t --full").code, 0);
    let snap = k.snap();
    let id = snap.backups[0].record.id.clone();
    // Backups → Enter: the load runs on a worker, its listing comes back indexed.
    let got = k.keys(&[key('2'), code(KeyCode::Enter)]);
    assert_eq!(got, [act(list_of(&id))]);
    k.work(&got[0]);
    let snap = k.snap();
    let b = k.app.browser().unwrap();
    assert!(matches!(b.load, Load::Ready(_)), "{:?}", b.load);
    let text = screen(&k.app, &snap, 200, 50);
    assert!(text.contains("sub/") && text.contains("a.txt"), "{text}");
    // Into sub/, r on b.txt, confirm: only that file, byte for byte.
    assert!(
        k.keys(&[key('j'), code(KeyCode::Enter), key('j')])
            .is_empty()
    );
    assert_eq!(
        k.app.browse_selected_path(&snap).as_deref(),
        Some("sub/b.txt")
    );
    assert!(k.keys(&[key('r'), code(KeyCode::Enter)]).is_empty());
    let got = k.keys(&[key('y')]);
    let [Request::Act(Action::Restore { path, to, .. })] = got.as_slice() else {
        panic!("{got:?}")
    };
    assert_eq!(path.as_deref(), Some("sub/b.txt"));
    assert!(to.starts_with(&k.root), "{}", to.display());
    let to = to.clone();
    k.work(&got[0]);
    let Mode::Restore(form) = &k.app.mode else {
        panic!("{:?}", k.app.mode)
    };
    assert!(
        matches!(&form.stage, Stage::Done { error: false, .. }),
        "{:?}",
        form.stage
    );
    assert_eq!(
        std::fs::read(to.join("sub/b.txt")).unwrap(),
        "bravo\n".repeat(100).as_bytes()
    );
    assert!(!to.join("a.txt").exists(), "only the chosen file");
    let files: Vec<_> = walk(&to);
    assert_eq!(files, ["sub", "sub/b.txt"], "{files:?}");
}

#[test]
fn an_unreadable_backup_shows_the_error_in_the_browser() {
    let mut k = Kit::start();
    assert_eq!(k.source.run_line("backup run t --full").code, 0);
    let id = k.snap().backups[0].record.id.clone();
    std::fs::remove_file(k.repo.join("backups").join(&id).join("manifest")).unwrap();
    let got = k.keys(&[key('2'), code(KeyCode::Enter)]);
    k.work(&got[0]);
    let snap = k.snap();
    let Load::Failed(why) = &k.app.browser().unwrap().load else {
        panic!("{:?}", k.app.browser().unwrap().load)
    };
    assert!(why.contains(&id), "{why}");
    let text = screen(&k.app, &snap, 200, 50);
    assert!(
        text.contains(&format!("cannot list backup {id}:")),
        "{text}"
    );
    assert!(text.contains("✗ cannot list backup"), "{text}");
}

#[test]
fn a_listing_is_indexed_once_by_directory() {
    let l = Listing::new(web_entries());
    assert_eq!(l.len(), 13);
    let names = |dir: &str| -> Vec<String> {
        l.children(dir)
            .iter()
            .map(|&i| l.get(i).unwrap().name().to_string())
            .collect()
    };
    assert_eq!(names(""), ["etc", "srv", "README.md", "logs", "run.sh"]);
    assert_eq!(
        names("etc/nginx"),
        ["sites", "current", "mime.types", "nginx.conf"]
    );
    assert!(names("nowhere").is_empty());
}
