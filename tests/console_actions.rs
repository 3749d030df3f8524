//! One key flow per console action over a real core: each key produces a
//! typed core action, and the console gets a typed outcome back, from which it
//! makes its notice (never the first line of printed text).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod console_kit;
use console_kit::*;
use strata::core::action::VerifySelection;
use strata::tui::restore::Stage;

struct Kit {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    root: PathBuf,
    source: LocalSource,
    app: App,
}

impl Kit {
    fn new() -> Kit {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("restores");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::write(
            dir.path().join("home/strata.toml"),
            format!("restore_roots = [{:?}]\n", root.display().to_string()),
        )
        .unwrap();
        let core = real_core(dir.path());
        Kit {
            repo: dir.path().join("repo"),
            root,
            source: LocalSource::new(core, admin_caller()),
            app: App::new(Role::Admin, Keymap::default()),
            _dir: dir,
        }
    }

    fn snap(&mut self) -> Snapshot {
        let s = self.source.snapshot().unwrap();
        self.app.follow(&s);
        s
    }

    /// Presses keys; runs the one request they produce as the console does.
    fn run(&mut self, keys: &[KeyEvent]) -> (Request, Result<Outcome, Failure>) {
        let snap = self.snap();
        let got = press(&mut self.app, &snap, keys);
        assert_eq!(got.len(), 1, "{got:?}");
        let r = run_on(&mut self.app, &self.source, &got[0]);
        (got[0].clone(), r)
    }

    fn notice(&self) -> (String, bool) {
        let n = self.app.notices.back().unwrap();
        (n.text.clone(), n.error)
    }

    fn backup_now(&mut self) -> String {
        let (req, r) = self.run(&[key('1'), key('b'), key('f')]);
        assert!(
            matches!(req, Request::Act(Action::RunBackup { .. })),
            "{req:?}"
        );
        let Ok(Outcome::BackedUp(o)) = r else {
            panic!("{r:?}")
        };
        o.backup.id
    }
}

#[test]
fn backup_now_gets_the_backup_it_made() {
    let mut k = Kit::new();
    let id = k.backup_now();
    let (text, error) = k.notice();
    assert!(!error, "{text}");
    assert!(
        text.contains(&id) && text.contains("full complete"),
        "{text}"
    );
}

#[test]
fn pause_and_resume_get_the_task_as_it_now_is() {
    let mut k = Kit::new();
    let (req, r) = k.run(&[key('1'), key('p')]);
    assert_eq!(req, act(Action::PauseTask { name: "t".into() }));
    assert!(
        matches!(&r, Ok(Outcome::TaskPaused { task, paused: true }) if task.paused),
        "{r:?}"
    );
    assert_eq!(k.notice(), ("paused task t".into(), false));
    let (req, r) = k.run(&[key('p')]);
    assert_eq!(req, act(Action::ResumeTask { name: "t".into() }));
    assert!(matches!(r, Ok(Outcome::TaskPaused { paused: false, .. })));
    assert_eq!(k.notice(), ("resumed task t".into(), false));
}

#[test]
fn the_verify_notice_names_the_verdict() {
    let mut k = Kit::new();
    let id = k.backup_now();
    let (req, r) = k.run(&[key('2'), key('v')]);
    assert_eq!(
        req,
        act(Action::Verify {
            selection: VerifySelection::One(id.clone()),
            read_data: 0
        })
    );
    assert!(matches!(&r, Ok(Outcome::Verified(v)) if v.iter().all(|r| r.ok())));
    let (text, error) = k.notice();
    assert!(
        !error && text.starts_with(&format!("verify of {id}: ok, ")) && text.contains("chunks"),
        "{text}"
    );
    // A pack gone from the repository: the same key now says DAMAGED and where.
    let packs = k.repo.join("backups").join(&id).join("packs");
    for p in std::fs::read_dir(&packs).unwrap() {
        std::fs::remove_file(p.unwrap().path()).unwrap();
    }
    let (_, r) = k.run(&[key('v')]);
    assert!(matches!(&r, Ok(Outcome::Verified(v)) if v.iter().any(|r| !r.ok())));
    let (text, error) = k.notice();
    assert!(error, "{text}");
    assert!(
        text.starts_with(&format!("verify of {id}: FAILED: "))
            && text.contains("on local:")
            && text.contains("is missing"),
        "{text}"
    );
}

#[test]
fn pin_and_delete_get_the_records_they_changed() {
    let mut k = Kit::new();
    let id = k.backup_now();
    let (req, r) = k.run(&[key('2'), key('P')]);
    assert_eq!(req, act(Action::PinBackup { id: id.clone() }));
    assert!(matches!(&r, Ok(Outcome::Pinned { backup, pinned: true }) if backup.pinned));
    assert_eq!(k.notice(), (format!("pinned backup {id}"), false));
    let (req, _) = k.run(&[key('P')]);
    assert_eq!(req, act(Action::UnpinBackup { id: id.clone() }));
    assert_eq!(k.notice(), (format!("unpinned backup {id}"), false));

    let (req, r) = k.run(&[key('d'), key('y')]);
    assert_eq!(
        req,
        act(Action::DeleteBackup {
            id: id.clone(),
            cascade: false
        })
    );
    assert!(matches!(&r, Ok(Outcome::Deleted(gone)) if gone.len() == 1 && gone[0].id == id));
    let (text, error) = k.notice();
    assert!(
        !error && text.starts_with("deleted 1 backup(s)") && text.contains(&id),
        "{text}"
    );
    assert!(k.snap().backups.is_empty());
}

#[test]
fn cancel_gets_a_typed_refusal_for_a_job_that_is_gone() {
    let mut k = Kit::new();
    let mut snap = k.snap();
    // A job that finished between the snapshot and the key press.
    snap.jobs.push(JobView {
        id: 99,
        task: "t".into(),
        purpose: Default::default(),
        kind: BackupKind::Full,
        manual: true,
        phase: "store".into(),
        started: Utc::now(),
        files_done: 0,
        files_total: 0,
        bytes_done: 0,
        bytes_total: 0,
        rate_bytes_per_sec: 0,
        eta_secs: None,
        uploads: vec![],
    });
    let got = press(&mut k.app, &snap, &[key('3'), key('x'), key('y')]);
    assert_eq!(got, [act(Action::CancelJob { id: 99 })]);
    let r = run_on(&mut k.app, &k.source, &got[0]);
    assert_eq!(r.as_ref().map(|_| ()).unwrap_err().code, 3, "{r:?}");
    let (text, error) = k.notice();
    assert!(error && text.contains("99"), "{text}");
}

#[test]
fn restore_gets_what_it_wrote() {
    let mut k = Kit::new();
    let id = k.backup_now();
    let (req, r) = k.run(&[key('2'), key('r'), code(KeyCode::Enter), key('y')]);
    let Request::Act(Action::Restore { id: rid, to, path }) = &req else {
        panic!("{req:?}")
    };
    assert_eq!((rid, path), (&id, &None));
    assert!(to.starts_with(&k.root), "{}", to.display());
    let Ok(Outcome::Restored { report, target, .. }) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(report.files, 2);
    assert_eq!(std::fs::read(target.join("a.txt")).unwrap(), b"alpha\n");
    let Mode::Restore(form) = &k.app.mode else {
        panic!("{:?}", k.app.mode)
    };
    let Stage::Done { text, error } = &form.stage else {
        panic!("{:?}", form.stage)
    };
    assert!(!error && text.contains("2 files"), "{text}");
}

#[test]
fn the_restore_dialog_says_what_a_database_restore_creates() {
    for (source, hint, question) in [
        (
            "sqlite · snapshot",
            "a new SQLite database file",
            "into a new SQLite database file",
        ),
        (
            "command · backup",
            "given to the task's restore command",
            "created by the task's restore command",
        ),
    ] {
        let mut snap = fixture();
        for b in &mut snap.backups {
            b.source = source.into();
        }
        let mut app = admin();
        press(&mut app, &snap, &[key('2'), key('r')]);
        let Mode::Restore(form) = &app.mode else {
            panic!("{:?}", app.mode)
        };
        let task = form.task.clone();
        assert!(form.target.is_empty(), "the core picks the new name");
        let screen = screen_text(
            draw(&app, &snap, &theme("default"), 200, 50)
                .backend()
                .buffer(),
        );
        assert!(screen.contains(hint), "{screen}");
        assert!(
            screen.contains(&format!("{task}-restore-<now>")),
            "{screen}"
        );
        assert!(
            !screen.contains("path "),
            "a database has no path to pick\n{screen}"
        );
        // Tab has no second field to go to; Enter asks.
        press(&mut app, &snap, &[code(KeyCode::Tab), code(KeyCode::Enter)]);
        let Mode::Restore(form) = &app.mode else {
            panic!("{:?}", app.mode)
        };
        assert_eq!(form.stage, Stage::Confirm);
        let screen = screen_text(
            draw(&app, &snap, &theme("default"), 200, 50)
                .backend()
                .buffer(),
        );
        assert!(screen.contains(question), "{screen}");
        let got = press(&mut app, &snap, &[key('y')]);
        let [Request::Act(Action::Restore { to, path, .. })] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert_eq!((to.as_os_str().is_empty(), path), (true, &None));
    }
}
