//! Unit tests of export and apply.

use super::{Action, FieldChange, parse};
use crate::core::home::Home;
use crate::core::service::Core;
use std::path::{Path, PathBuf};

struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    core: Core,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("src/app")).unwrap();
    std::fs::create_dir_all(root.join("src/db")).unwrap();
    let core = Core::open(Home::at(root.join("home")), "test").unwrap();
    World {
        _dir: dir,
        root,
        core,
    }
}

fn doc(root: &Path, app_full: &str) -> String {
    let r = root.display();
    format!(
        r#"
[[destination]]
name = "nas"
kind = "local"
path = "{r}/nas"

[[destination]]
name = "usb"
kind = "local"
path = "{r}/usb/"

[[task]]
name = "app"
source = {{ kind = "dir", path = "{r}/src/app", exclude = ["*.tmp", "cache/"] }}
destinations = ["nas", "usb"]
full = "{app_full}"
incremental = "0 * * * *"
timezone = "UTC"
catch_up = "skip"
retention = {{ keep_within = "14d", keep_last_full = 2, keep_monthly = 6 }}
hooks = {{ before = "true", timeout_secs = 30 }}
compression_level = 5

[[task]]
name = "db"
source = {{ kind = "dir", path = "{r}/src/db/." }}
destinations = ["nas"]
"#
    )
}

#[test]
fn apply_export_apply_is_a_no_op() {
    let w = world();
    let plan = w.core.apply(&doc(&w.root, "0 3 * * 0"), false).unwrap();
    assert_eq!(plan.changes, 4);
    assert!(plan.items.iter().all(|i| i.action == Action::Add));
    let nas = w.core.destination("nas").unwrap();
    assert!(nas.repo_id.is_some());
    let exported = w.core.export().unwrap();
    assert!(
        exported.contains("source = { kind = \"dir\", path = "),
        "{exported}"
    );
    assert!(
        exported.contains("retention = { keep_within = \"14d\""),
        "{exported}"
    );
    let again = w.core.apply(&exported, false).unwrap();
    assert_eq!(again.changes, 0, "{again:#?}");
    assert!(again.items.iter().all(|i| i.action == Action::Unchanged));
    // The original file (trailing slash, `.` component) is a no-op too.
    let again = w.core.apply(&doc(&w.root, "0 3 * * 0"), true).unwrap();
    assert_eq!(again.changes, 0, "{again:#?}");
    assert_eq!(parse(&exported).unwrap(), w.core.export_doc().unwrap());
}

#[test]
fn a_change_names_exactly_its_field_and_keeps_created_and_pause() {
    let w = world();
    w.core.apply(&doc(&w.root, "0 3 * * 0"), false).unwrap();
    let before = w.core.task("app").unwrap();
    let mut paused = before.clone();
    paused.paused = true;
    w.core.catalog.put_task(&paused).unwrap();
    let plan = w.core.apply(&doc(&w.root, "0 4 * * 0"), true).unwrap();
    assert_eq!(plan.changes, 1);
    let app = plan.items.iter().find(|i| i.name == "app").unwrap();
    assert_eq!(
        app.action,
        Action::Change {
            fields: vec![FieldChange {
                field: "full".into(),
                old: "0 3 * * 0".into(),
                new: "0 4 * * 0".into()
            }]
        }
    );
    assert_eq!(
        w.core.task("app").unwrap().full.as_deref(),
        Some("0 3 * * 0")
    );
    w.core.apply(&doc(&w.root, "0 4 * * 0"), false).unwrap();
    let after = w.core.task("app").unwrap();
    assert_eq!(after.full.as_deref(), Some("0 4 * * 0"));
    assert_eq!(after.created, before.created);
    assert!(after.paused, "absent `paused` keeps the task's state");
}

#[test]
fn errors_write_nothing() {
    let w = world();
    let text = doc(&w.root, "0 3 * * 0");
    for (bad, code, needle) in [
        (text.replace("0 * * * *", "0 25 * * *"), 2, "hour"),
        (text.replace("catch_up", "catchup"), 2, "catchup"),
        (text.replace("\"nas\"]", "\"nope\"]"), 3, "nope"),
        (
            text.replace("name = \"db\"", "name = \"app\""),
            2,
            "more than once",
        ),
        (
            text.replace("kind = \"local\"\npath = \"", "kind = \"s3\"\npath = \""),
            2,
            "s3",
        ),
        (
            text.replace("keep_last_full = 2", "keep_last_full = 0"),
            2,
            "keep_last_full",
        ),
        (text.replace("/src/db/.", "/src/missing"), 2, "missing"),
    ] {
        let e = w.core.apply(&bad, false).unwrap_err();
        assert_eq!(e.exit_code(), code, "{e}");
        assert!(e.to_string().contains(needle), "{e}");
        assert!(w.core.destinations().unwrap().is_empty());
        assert!(w.core.tasks().unwrap().is_empty());
        assert!(!w.root.join("nas").exists(), "no repository was created");
    }
    let e = w.core.apply("[[task]\nname = 1", false).unwrap_err();
    assert!(e.to_string().starts_with("line 1, column"), "{e}");
}

#[test]
fn repointing_is_refused_and_others_are_left_alone() {
    let w = world();
    w.core.apply(&doc(&w.root, "0 3 * * 0"), false).unwrap();
    let text = format!(
        "[[destination]]\nname = \"nas\"\nkind = \"local\"\npath = \"{}/elsewhere\"\n",
        w.root.display()
    );
    let e = w.core.apply(&text, false).unwrap_err();
    assert_eq!(e.exit_code(), 4, "{e}");
    assert!(e.to_string().contains("already exists at"), "{e}");
    let plan = w.core.apply("", false).unwrap();
    assert_eq!(plan.changes, 0);
    let names: Vec<&str> = plan.not_in_file.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["nas", "usb", "app", "db"]);
    assert_eq!(w.core.tasks().unwrap().len(), 2);
}
