//! Restores never write outside where they were allowed to: containment is
//! decided on the resolved path (symlinked ancestors, `..`, roots given in any
//! spelling), a directory swapped for a symlink between the check and the
//! writes cannot redirect them, hard links never reach outside files, and
//! invalid `restore_roots` are configuration errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;

use common::Strata;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A scratch home with task `t` over `src/` (a file and a `rootlink -> /`),
/// one full backup, an `outside/` directory and a restore root `restores/`.
struct Fixture {
    s: Strata,
    id: String,
    root: PathBuf,
    outside: PathBuf,
}

fn fixture() -> Fixture {
    let s = Strata::new();
    common::write(&s.path("src/a.txt"), b"alpha\n");
    common::write(&s.path("src/sub/b.txt"), b"beta\n");
    common::symlink("/", &s.path("src/rootlink"));
    s.setup("d", "t", &s.path("src"), &[]);
    let id = common::id_of(&s.backup("t", "full")).to_string();
    let root = s.path("restores");
    let outside = s.path("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    set_roots(&s, &[root.display().to_string()]);
    Fixture {
        s,
        id,
        root,
        outside,
    }
}

fn set_roots(s: &Strata, roots: &[String]) {
    let list: Vec<String> = roots.iter().map(|r| format!("{r:?}")).collect();
    std::fs::write(
        s.home().join("strata.toml"),
        format!("restore_roots = [{}]\n", list.join(", ")),
    )
    .unwrap();
}

fn operator_restore(s: &Strata, id: &str, to: &Path) -> (i32, String, String) {
    s.run(&[
        OsStr::new("--role"),
        OsStr::new("operator"),
        OsStr::new("restore"),
        OsStr::new(id),
        OsStr::new("--to"),
        to.as_os_str(),
    ])
}

fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        left.is_empty(),
        "written outside the allowed place: {left:?}"
    );
}

/// The audit log, oldest first.
fn audit(s: &Strata) -> Vec<serde_json::Value> {
    s.json(&["audit", "--reverse"]).as_array().unwrap().clone()
}

/// The reproduction: a backup with `rootlink -> /` restored under the
/// root, then restored again through that link to a path outside.
#[test]
fn a_symlink_to_slash_restored_under_the_root_cannot_be_used_to_leave_it() {
    let f = fixture();
    let ok1 = f.root.join("ok1");
    let (code, _, err) = operator_restore(&f.s, &f.id, &ok1);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_link(ok1.join("rootlink")).unwrap(),
        Path::new("/")
    );
    let escape = ok1
        .join("rootlink")
        .join(f.outside.strip_prefix("/").unwrap())
        .join("x");
    let (code, _, err) = operator_restore(&f.s, &f.id, &escape);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("symlink"),
        "the refusal names the symlink: {err}"
    );
    assert_empty(&f.outside);
    let refused = audit(&f.s)
        .into_iter()
        .find(|a| a["role"] == "operator" && a["outcome"].as_str().unwrap().starts_with("refused"))
        .expect("the refusal is audited");
    let shown = refused["target"].as_str().unwrap();
    assert!(
        shown.contains(&f.outside.join("x").display().to_string()),
        "the audit shows the resolved target, not the lexical one: {shown}"
    );
}

#[test]
fn no_symlink_is_allowed_between_the_root_and_the_target() {
    let f = fixture();
    std::fs::create_dir_all(f.root.join("real")).unwrap();
    std::fs::create_dir_all(f.root.join("ok1")).unwrap();
    // Even a link that stays inside the root is refused: the path must be real directories.
    common::symlink(
        f.root.join("real").to_str().unwrap(),
        &f.root.join("ok1/inside"),
    );
    common::symlink(f.outside.to_str().unwrap(), &f.root.join("out"));
    for to in [
        f.root.join("ok1/inside/x"),
        f.root.join("out/x"),
        f.root.join("out/../escaped"),
        f.root.join("ok1/inside/../../../escaped"),
    ] {
        let (code, _, err) = operator_restore(&f.s, &f.id, &to);
        assert_eq!(code, 4, "{}: {err}", to.display());
    }
    // The target itself a symlink (dangling or not) is never written through.
    common::symlink(
        f.outside.join("new").to_str().unwrap(),
        &f.root.join("dangling"),
    );
    let (code, _, err) = operator_restore(&f.s, &f.id, &f.root.join("dangling"));
    assert_eq!(code, 4, "{err}");
    assert_empty(&f.outside);
    assert_empty(&f.root.join("real"));
    assert!(!f.s.path("escaped").exists());
}

#[test]
fn dotdot_and_existing_targets_are_decided_on_the_resolved_path() {
    let f = fixture();
    std::fs::create_dir_all(f.root.join("ok1")).unwrap();
    for (to, why) in [
        (f.root.join("../escaped"), "`..` leaves the root"),
        (
            f.root.join("ok1/../../escaped"),
            "`..` twice leaves the root",
        ),
        (f.root.clone(), "the root itself is not a new directory"),
        (
            f.root.join("ok1"),
            "an existing directory is never restored into",
        ),
        (f.root.join("nope/../x"), "`..` after a missing directory"),
    ] {
        let (code, _, err) = operator_restore(&f.s, &f.id, &to);
        assert_eq!(code, 4, "{why}: {err}");
    }
    assert!(!f.s.path("escaped").exists());
    // `..` that stays inside the root is fine, and the restore lands on the resolved path.
    let (code, out, err) = operator_restore(&f.s, &f.id, &f.root.join("ok1/../ok2"));
    assert_eq!(code, 0, "{err}");
    assert!(f.root.join("ok2/a.txt").exists());
    assert!(
        out.contains(&f.root.join("ok2").display().to_string()),
        "{out}"
    );
}

#[test]
fn a_symlink_above_the_root_is_followed_and_the_resolved_path_audited() {
    let f = fixture();
    let alias = f.s.path("alias");
    common::symlink(f.s.root().to_str().unwrap(), &alias);
    let (code, _, err) = operator_restore(&f.s, &f.id, &alias.join("restores/via-alias"));
    assert_eq!(code, 0, "{err}");
    assert!(f.root.join("via-alias/sub/b.txt").exists());
    let ok = audit(&f.s)
        .into_iter()
        .rev()
        .find(|a| a["action"] == "restore")
        .unwrap();
    assert_eq!(ok["outcome"], "ok");
    assert!(
        ok["target"]
            .as_str()
            .unwrap()
            .ends_with(&f.root.join("via-alias").display().to_string()),
        "{ok}"
    );
}

/// Starts a restore paused at `restore-after-check`; returns the child once
/// the pause point is reached (its stderr line read).
fn paused_restore(s: &Strata, role: &str, id: &str, to: &Path, go: &Path) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(s.home())
        .args(["--role", role, "restore", id, "--to"])
        .arg(to)
        .env_remove("STRATA_HOME")
        .env(
            "STRATA_TEST_STOP_AT",
            format!("restore-after-check:{}", go.display()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines
            .next()
            .expect("the restore stops at restore-after-check")
            .unwrap();
        if line.contains("restore-after-check") {
            break;
        }
    }
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

#[test]
fn an_ancestor_swapped_for_a_symlink_after_the_check_cannot_redirect_the_restore() {
    let f = fixture();
    for (role, base) in [
        ("operator", f.root.clone()),
        ("admin", f.s.path("elsewhere")),
    ] {
        let work = base.join(format!("work-{role}"));
        std::fs::create_dir_all(&work).unwrap();
        let go = f.s.path(&format!("go-{role}"));
        let child = paused_restore(&f.s, role, &f.id, &work.join("new/deeper"), &go);
        std::fs::rename(&work, base.join(format!("moved-{role}"))).unwrap();
        common::symlink(f.outside.to_str().unwrap(), &work);
        std::fs::write(&go, b"").unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(4), "{role}");
        assert_empty(&f.outside);
    }
}

#[test]
fn a_target_created_as_a_symlink_after_the_check_is_not_written_through() {
    let f = fixture();
    let to = f.root.join("new");
    let go = f.s.path("go");
    let child = paused_restore(&f.s, "operator", &f.id, &to, &go);
    common::symlink(f.outside.to_str().unwrap(), &to);
    std::fs::write(&go, b"").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_empty(&f.outside);
}

#[test]
fn hard_links_never_reach_files_outside_the_target() {
    let s = Strata::new();
    let secret = s.path("outside/secret");
    common::write(&secret, b"outside data\n");
    common::write(&s.path("src/keep.txt"), b"k\n");
    std::fs::create_dir_all(s.path("src/d")).unwrap();
    // A source file hard-linked to a file outside the source, and a pair inside it.
    std::fs::hard_link(&secret, s.path("src/d/linked")).unwrap();
    common::write(&s.path("src/d/first"), b"first\n");
    std::fs::hard_link(s.path("src/d/first"), s.path("src/d/second")).unwrap();
    s.setup("d", "t", &s.path("src"), &[]);
    let id = common::id_of(&s.backup("t", "full")).to_string();
    let root = s.path("restores");
    std::fs::create_dir_all(&root).unwrap();
    set_roots(&s, &[root.display().to_string()]);
    let before = std::fs::metadata(&secret).unwrap();

    let (code, _, err) = operator_restore(&s, &id, &root.join("all"));
    assert_eq!(code, 0, "{err}");
    let linked = std::fs::metadata(root.join("all/d/linked")).unwrap();
    assert_ne!(linked.ino(), before.ino(), "the restore made a new file");
    let first = std::fs::metadata(root.join("all/d/first")).unwrap();
    let second = std::fs::metadata(root.join("all/d/second")).unwrap();
    assert_eq!(
        first.ino(),
        second.ino(),
        "links inside the backup are kept"
    );
    // Only the second name selected: its data is written fresh, not linked anywhere.
    s.ok(&[
        OsStr::new("restore"),
        OsStr::new(&id),
        OsStr::new("--to"),
        root.join("part").as_os_str(),
        OsStr::new("--path"),
        OsStr::new("d/second"),
    ]);
    let part = std::fs::metadata(root.join("part/d/second")).unwrap();
    assert_eq!(part.nlink(), 1);
    assert_eq!(
        std::fs::read(root.join("part/d/second")).unwrap(),
        b"first\n"
    );
    let after = std::fs::metadata(&secret).unwrap();
    assert_eq!((after.ino(), after.nlink()), (before.ino(), before.nlink()));
    assert_eq!(std::fs::read(&secret).unwrap(), b"outside data\n");
}

#[test]
fn roots_given_with_dotdot_a_trailing_slash_or_through_a_symlink_are_canonical() {
    let f = fixture();
    std::fs::create_dir_all(f.s.path("two")).unwrap();
    std::fs::create_dir_all(f.s.path("three")).unwrap();
    common::symlink(
        f.s.path("three").to_str().unwrap(),
        &f.s.path("three-alias"),
    );
    set_roots(
        &f.s,
        &[
            format!("{}/", f.root.display()),
            format!("{}/outside/../two", f.s.root().display()),
            f.s.path("three-alias").display().to_string(),
        ],
    );
    for to in [
        f.root.join("r1"),
        f.s.path("two/r2"),
        f.s.path("three/r3"),
        f.s.path("three-alias/r4"),
    ] {
        let (code, _, err) = operator_restore(&f.s, &f.id, &to);
        assert_eq!(code, 0, "{}: {err}", to.display());
        assert!(to.join("a.txt").exists());
    }
    // `outside/..` in a root does not make `outside` a root.
    let (code, _, err) = operator_restore(&f.s, &f.id, &f.outside.join("r5"));
    assert_eq!(code, 4, "{err}");
    assert_empty(&f.outside);
}

#[test]
fn invalid_restore_roots_are_config_errors_naming_the_key_and_file() {
    let f = fixture();
    common::write(&f.s.path("a-file"), b"x");
    let cases = [
        String::new(),
        "relative/restores".into(),
        "/".into(),
        "/..".into(),
        "/tmp/../".into(),
        f.s.path("missing").display().to_string(),
        f.s.path("a-file").display().to_string(),
    ];
    let x = f.s.path("x").display().to_string();
    for root in &cases {
        set_roots(&f.s, &[f.root.display().to_string(), root.clone()]);
        for args in [
            &["task", "list"][..],
            &["--role", "operator", "restore", "latest", "--to", &x],
        ] {
            let (code, _, err) = f.s.run(args);
            assert_eq!(code, 2, "root {root:?}: {err}");
            assert!(err.contains("restore_roots"), "root {root:?}: {err}");
            assert!(err.contains("strata.toml"), "root {root:?}: {err}");
            assert_eq!(err.trim().lines().count(), 1, "{err}");
        }
    }
    assert!(!f.s.path("x").exists());
}
