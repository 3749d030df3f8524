//! Backups named the way people think (issue 15), through the real binary:
//! suffixes, `latest`, `TASK:-N`, `restore --task T --at TIME`, ambiguous
//! and unknown names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;
use common::{Strata, id_of};

#[test]
fn names_reach_the_right_backup_and_near_misses_say_what_to_do() {
    let s = Strata::new();
    let src = s.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), "first\n").unwrap();
    s.setup("d", "app", &src, &[]);
    let first = s.backup("app", "full");
    // Start times differ by more than a second, so a time between them exists.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(src.join("a.txt"), "second\n").unwrap();
    let second = s.backup("app", "incremental");
    let (a, b) = (id_of(&first), id_of(&second));

    let shown = |name: &str| {
        s.json(&["backup", "show", name])["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(shown("latest"), b);
    assert_eq!(shown("app:latest"), b);
    assert_eq!(shown("app:-1"), a);
    assert_eq!(shown(&a[a.len() - 8..]), a, "the random part");

    // The state at the first backup's start: the first backup.
    let started = first["started"].as_str().unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(started)
        .unwrap()
        .to_rfc3339();
    let to = s.path("then");
    s.ok(&[
        "restore",
        "--task",
        "app",
        "--at",
        &at,
        "--to",
        to.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(to.join("a.txt")).unwrap(),
        "first\n"
    );
    let now = s.path("now");
    s.ok(&["restore", "--task", "app", "--to", now.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(now.join("a.txt")).unwrap(),
        "second\n"
    );

    // Both ids start with the date: ambiguous, exit 2, both listed.
    let (code, _, err) = s.run(&["backup", "show", &a[..9]]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("matches 2 backups") && err.contains(a) && err.contains(b),
        "{err}"
    );
    // A typo in the task: exit 3 and the closest name.
    let (code, _, err) = s.run(&["restore", "--task", "ap", "--to", "/tmp/x"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("did you mean \"app:latest\""), "{err}");
    let (code, _, err) = s.run(&["restore", "--task", "app", "--at", "last friday"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("YYYY-MM-DD HH:MM"), "{err}");
    let (code, _, err) = s.run(&[
        "restore",
        "--task",
        "app",
        "--at",
        "2000-01-01",
        "--to",
        "/tmp/x",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("at or before 2000-01-01"), "{err}");
}
