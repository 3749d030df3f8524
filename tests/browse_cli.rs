//! `strata ls` and `strata diff` over the real binary (issue 15): what is
//! inside a backup, directories first, and what changed between two.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;
use common::{Strata, id_of};

#[test]
fn ls_lists_a_backup_and_diff_says_what_changed() {
    let s = Strata::new();
    let src = s.path("src");
    std::fs::create_dir_all(src.join("sub/deep")).unwrap();
    std::fs::write(src.join("a.txt"), "alpha\n").unwrap();
    std::fs::write(src.join("b.bin"), vec![7u8; 5000]).unwrap();
    std::fs::write(src.join("sub/c.txt"), "c\n").unwrap();
    std::fs::write(src.join("sub/deep/d.txt"), "d\n").unwrap();
    std::os::unix::fs::symlink("a.txt", src.join("link")).unwrap();
    s.setup("d", "app", &src, &[]);
    let first = s.backup("app", "full");

    let top = s.ok(&["ls", "app:latest"]);
    let lines: Vec<&str> = top.lines().collect();
    assert!(lines[0].starts_with("MODE"), "{top}");
    assert!(lines[1].ends_with("sub/"), "directories first: {top}");
    assert!(
        top.contains("link -> a.txt") && top.contains("4.9 KiB"),
        "{top}"
    );
    assert!(!top.contains("c.txt"), "only the top level: {top}");
    let sub = s.ok(&["ls", "latest", "sub"]);
    assert!(
        sub.contains("deep/") && sub.contains("c.txt") && !sub.contains("a.txt"),
        "{sub}"
    );
    let all = s.json(&["ls", "latest", "--recursive"]);
    let paths: Vec<&str> = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"sub/deep/d.txt"), "{paths:?}");
    let file = s.json(&["ls", "latest", "b.bin"]);
    assert_eq!(file["entries"][0]["size"], 5000, "{file}");
    assert_eq!(file["entries"][0]["mode"], 0o644, "{file}");
    let (code, _, err) = s.run(&["ls", "latest", "nope"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no such entry"), "{err}");

    std::fs::write(src.join("a.txt"), "alpha, longer now\n").unwrap();
    std::fs::remove_file(src.join("sub/c.txt")).unwrap();
    std::fs::write(src.join("new.txt"), "new\n").unwrap();
    let f = std::fs::File::open(src.join("b.bin")).unwrap();
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .unwrap();
    let second = s.backup("app", "incremental");
    let text = s.ok(&["diff", id_of(&first), id_of(&second)]);
    assert!(text.contains("M a.txt (6 B → 18 B)"), "{text}");
    assert!(text.contains("- sub/c.txt (2 B)"), "{text}");
    assert!(text.contains("+ new.txt (4 B)"), "{text}");
    assert!(text.contains("U b.bin"), "{text}");
    assert!(
        !text.contains(" sub/\n") && !text.contains("link"),
        "unchanged entries stay out: {text}"
    );
    assert!(
        text.contains("1 added (4 B), 1 removed (2 B), 1 modified, 1 metadata only"),
        "{text}"
    );
    let j = s.json(&["diff", "app:-1", "app:latest"]);
    let changes = j["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 4, "{j:#}");
    assert_eq!(changes[0]["path"], "a.txt");
    assert_eq!(changes[0]["change"], "modified");
}
