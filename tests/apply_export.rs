//! `strata apply` / `strata export` through the real binary, each test in its own
//! temporary home: a file of destinations and tasks lands completely or not at
//! all, export round-trips, and the diff names exactly what changes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    fn code_is(&self, code: i32, what: &str) -> &Self {
        assert_eq!(
            self.code, code,
            "{what}: exit code {} (expected {code})\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// A refusal: `code`, one stderr line naming every needle, no stdout.
    fn refused(&self, code: i32, needles: &[&str], what: &str) {
        self.code_is(code, what);
        let lines: Vec<&str> = self.stderr.trim_end().lines().collect();
        assert_eq!(lines.len(), 1, "{what}: one stderr line:\n{}", self.stderr);
        for n in needles {
            assert!(
                lines[0].contains(n),
                "{what}: must mention {n:?}: {}",
                lines[0]
            );
        }
        assert!(self.stdout.is_empty(), "{what}: no output: {}", self.stdout);
    }
}

struct World {
    dir: tempfile::TempDir,
    home: PathBuf,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        for s in ["src/app", "src/db", "src/logs"] {
            std::fs::create_dir_all(dir.path().join(s)).expect("create source");
        }
        World { dir, home }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Out {
        let o = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(&self.home)
            .args(args)
            .env_remove("STRATA_HOME")
            .env_remove("STRATA_LOG")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run strata {args:?}: {e}"));
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str]) -> Out {
        let o = self.run(args);
        o.code_is(0, &format!("strata {}", args.join(" ")));
        o
    }

    /// Writes `text` to `name` in the temp dir and returns its path.
    fn file(&self, name: &str, text: &str) -> String {
        let p = self.root().join(name);
        std::fs::write(&p, text).expect("write file");
        p.to_str().expect("utf-8 temp path").to_string()
    }

    fn apply(&self, name: &str, text: &str, extra: &[&str]) -> Out {
        let f = self.file(name, text);
        let mut args = vec!["apply", "-f", f.as_str()];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// Tasks and destinations as JSON, to prove a refused apply changed nothing
    /// (without when each destination was checked and its free space, which
    /// change on their own).
    fn state(&self) -> (Value, Value) {
        let mut dests = self.ok(&["dest", "list", "--json"]).json();
        for d in dests.as_array_mut().expect("array") {
            let d = d.as_object_mut().expect("object");
            // What the health check measured, not what apply changed.
            d.remove("checked_at");
            d.remove("check_ms");
            d.remove("free_bytes");
            d.remove("check_ms");
        }
        (dests, self.ok(&["task", "list", "--json"]).json())
    }

    fn task_names(&self) -> Vec<String> {
        let v = self.ok(&["task", "list", "--json"]).json();
        v.as_array()
            .expect("array")
            .iter()
            .map(|t| t["name"].as_str().expect("name").to_string())
            .collect()
    }
}

fn dest_block(w: &World, name: &str) -> String {
    format!(
        "[[destination]]\nname = \"{name}\"\nkind = \"local\"\npath = \"{}\"\n\n",
        w.root().join(name).display()
    )
}

/// Two destinations and two tasks; `app_full` is app's full schedule.
fn config(w: &World, app_full: &str) -> String {
    let r = w.root().display();
    format!(
        r#"{}{}[[task]]
name = "app"
source = {{ kind = "dir", path = "{r}/src/app", exclude = ["*.tmp", "cache/"] }}
destinations = ["nas", "usb"]
full = "{app_full}"
incremental = "0 * * * *"
timezone = "UTC"
retention = {{ keep_within = "14d", keep_last_full = 2 }}
hooks = {{ before = "true", after = "true", timeout_secs = 60 }}

[[task]]
name = "db"
source = {{ kind = "dir", path = "{r}/src/db" }}
destinations = ["nas"]
full = "@daily"
catch_up = "skip"
compression_level = 9
"#,
        dest_block(w, "nas"),
        dest_block(w, "usb")
    )
}

fn lines_starting<'a>(s: &'a str, prefix: &str) -> Vec<&'a str> {
    s.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn apply_creates_everything_and_export_round_trips_as_a_no_op() {
    let w = World::new();
    let o = w.apply("tasks.toml", &config(&w, "0 3 * * 0"), &[]);
    o.code_is(0, "first apply");
    let nas = w.root().join("nas");
    assert!(
        o.stdout
            .contains(&format!("+ destination nas (local {})", nas.display())),
        "{}",
        o.stdout
    );
    assert_eq!(lines_starting(&o.stdout, "+ ").len(), 4, "{}", o.stdout);
    assert!(o.stdout.contains("applied 4 change(s)"), "{}", o.stdout);
    assert!(
        nas.join("strata-repo.toml").is_file(),
        "repository initialised"
    );

    assert_eq!(w.task_names(), ["app", "db"]);
    let tasks = w.ok(&["task", "list", "--json"]).json();
    let app = &tasks[0];
    assert_eq!(app["destinations"], serde_json::json!(["nas", "usb"]));
    assert_eq!(app["full"], "0 3 * * 0");
    assert_eq!(app["retention"]["keep_last_full"], 2);
    assert_eq!(app["hooks"]["timeout_secs"], 60);
    assert_eq!(tasks[1]["catch_up"], "skip");
    assert_eq!(tasks[1]["compression_level"], 9);
    let dests = w.ok(&["dest", "list", "--json"]).json();
    assert_eq!(dests.as_array().map(Vec::len), Some(2));
    assert!(dests[0]["repo_id"].is_string(), "{dests}");

    let exported = w.ok(&["export"]).stdout;
    assert!(exported.contains("[[destination]]"), "{exported}");
    assert!(
        exported.contains("source = { kind = \"dir\", path = "),
        "{exported}"
    );
    assert!(!exported.contains("repo_id"), "{exported}");
    assert!(!exported.contains("created"), "{exported}");
    let before = w.state();
    let o = w.apply("exported.toml", &exported, &[]);
    o.code_is(0, "apply of export");
    assert!(o.stdout.contains("applied 0 change(s)"), "{}", o.stdout);
    assert_eq!(lines_starting(&o.stdout, "= ").len(), 4, "{}", o.stdout);
    assert_eq!(w.state(), before, "a no-op apply changes nothing");
    assert_eq!(w.ok(&["export"]).stdout, exported, "export is stable");
}

#[test]
fn one_edit_shows_exactly_that_change_and_dry_run_writes_nothing() {
    let w = World::new();
    w.apply("tasks.toml", &config(&w, "0 3 * * 0"), &[])
        .code_is(0, "first apply");
    let created = w.ok(&["task", "show", "app", "--json"]).json()["created"].clone();
    let edited = config(&w, "0 4 * * 0");

    let o = w.apply("tasks.toml", &edited, &["--dry-run"]);
    o.code_is(0, "dry run");
    assert_eq!(
        lines_starting(&o.stdout, "~ "),
        ["~ task app: full \"0 3 * * 0\" -> \"0 4 * * 0\""],
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("= task db (unchanged)"), "{}", o.stdout);
    assert!(
        o.stdout.contains("= destination nas (unchanged)"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("dry run: 1 change(s) would be applied"),
        "{}",
        o.stdout
    );
    assert_eq!(
        w.ok(&["task", "show", "app", "--json"]).json()["full"],
        "0 3 * * 0",
        "dry run changed nothing"
    );

    let plan = w
        .apply("tasks.toml", &edited, &["--dry-run", "--json"])
        .json();
    assert_eq!(plan["changes"], 1);
    let app = &plan["items"][2];
    assert_eq!(app["name"], "app");
    assert_eq!(app["action"], "change");
    assert_eq!(
        app["fields"],
        serde_json::json!([{"field": "full", "old": "0 3 * * 0", "new": "0 4 * * 0"}])
    );

    let o = w.apply("tasks.toml", &edited, &[]);
    o.code_is(0, "apply edit");
    assert!(o.stdout.contains("applied 1 change(s)"), "{}", o.stdout);
    let app = w.ok(&["task", "show", "app", "--json"]).json();
    assert_eq!(app["full"], "0 4 * * 0");
    assert_eq!(
        app["created"], created,
        "an existing task keeps its creation time"
    );

    // Apply is an upsert: a file naming only db leaves app and usb alone.
    let db_only = format!(
        "{}[[task]]\nname = \"db\"\nsource = {{ kind = \"dir\", path = \"{}\" }}\ndestinations = [\"nas\"]\nfull = \"@daily\"\ncatch_up = \"skip\"\ncompression_level = 9\n",
        dest_block(&w, "nas"),
        w.root().join("src/db").display()
    );
    let o = w.apply("db.toml", &db_only, &[]);
    o.code_is(0, "partial file");
    assert!(o.stdout.contains("applied 0 change(s)"), "{}", o.stdout);
    assert!(
        o.stdout
            .contains("task app is not in the file (left as is)"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .contains("destination usb is not in the file (left as is)"),
        "{}",
        o.stdout
    );
    assert_eq!(w.task_names(), ["app", "db"]);
}

#[test]
fn one_bad_cron_among_valid_tasks_applies_nothing() {
    let w = World::new();
    let bad_task = format!(
        "\n[[task]]\nname = \"logs\"\nsource = {{ kind = \"dir\", path = \"{}\" }}\ndestinations = [\"nas\"]\nfull = \"0 25 * * *\"\n",
        w.root().join("src/logs").display()
    );
    let text = config(&w, "0 3 * * 0") + &bad_task;
    w.apply("tasks.toml", &text, &[]).refused(
        2,
        &["tasks.toml", "logs", "full", "hour"],
        "bad cron",
    );
    assert!(w.task_names().is_empty(), "no task was applied");
    assert_eq!(
        w.ok(&["dest", "list", "--json"]).json(),
        serde_json::json!([])
    );
    assert!(
        !w.root().join("nas").exists(),
        "no repository was created for a refused file"
    );

    // Same with a catalog that already has the valid part: the edit of app
    // that travels with the bad task is not applied either.
    w.apply("tasks.toml", &config(&w, "0 3 * * 0"), &[])
        .code_is(0, "valid apply");
    let before = w.state();
    let text = config(&w, "0 4 * * 0") + &bad_task;
    w.apply("tasks.toml", &text, &[])
        .refused(2, &["logs", "hour"], "bad cron with an edit");
    assert_eq!(w.state(), before, "all or nothing");
}

#[test]
fn a_typo_is_an_error_naming_the_key_and_its_line() {
    let w = World::new();
    let text =
        config(&w, "0 3 * * 0").replace("destinations = [\"nas\"]", "destinatons = [\"nas\"]");
    let o = w.apply("tasks.toml", &text, &[]);
    o.refused(2, &["tasks.toml", "line 24", "destinatons"], "typo");
    assert!(w.task_names().is_empty());

    let text = config(&w, "0 3 * * 0").replace("keep_last_full", "keep_last_fulls");
    w.apply("tasks.toml", &text, &[])
        .refused(2, &["keep_last_fulls"], "typo in retention");
    let o = w.apply("tasks.toml", "[[tasks]]\nname = \"x\"\n", &[]);
    o.refused(2, &["tasks"], "unknown table");
    w.apply("tasks.toml", "[[task]\n", &[])
        .refused(2, &["line 1"], "broken TOML");
    w.apply(
        "tasks.toml",
        &config(&w, "0 3 * * 0").replace("\"skip\"", "\"sometimes\""),
        &[],
    )
    .refused(2, &["sometimes"], "bad catch_up");
    assert!(w.task_names().is_empty());
}

#[test]
fn an_unknown_destination_is_not_found_and_applies_nothing() {
    let w = World::new();
    let text = config(&w, "0 3 * * 0").replace("[\"nas\", \"usb\"]", "[\"nas\", \"tape\"]");
    w.apply("tasks.toml", &text, &[]).refused(
        3,
        &["\"tape\"", "app", "[[destination]]"],
        "unknown destination",
    );
    assert!(w.task_names().is_empty());
    assert_eq!(
        w.ok(&["dest", "list", "--json"]).json(),
        serde_json::json!([])
    );

    // A destination defined earlier with `dest add` may be referenced.
    let tape = w.root().join("tape");
    w.ok(&[
        "dest",
        "add",
        "tape",
        "--local",
        tape.to_str().expect("utf-8"),
    ]);
    let o = w.apply("tasks.toml", &text, &[]);
    o.code_is(0, "destination from the catalog");
    assert!(
        o.stdout.contains("destination tape is not in the file"),
        "{}",
        o.stdout
    );
}

#[test]
fn repointing_an_existing_destination_is_refused() {
    let w = World::new();
    w.apply("tasks.toml", &config(&w, "0 3 * * 0"), &[])
        .code_is(0, "first apply");
    let before = w.state();
    let moved = config(&w, "0 4 * * 0").replace(
        &format!("path = \"{}\"", w.root().join("usb").display()),
        &format!("path = \"{}\"", w.root().join("usb2").display()),
    );
    w.apply("tasks.toml", &moved, &[]).refused(
        4,
        &[
            "destination usb already exists at",
            "usb2",
            "remove it first",
        ],
        "repoint",
    );
    w.apply("tasks.toml", &moved, &["--dry-run"])
        .refused(4, &["usb2"], "repoint, dry run");
    assert_eq!(w.state(), before, "nothing changed, not even the task edit");
    assert!(!w.root().join("usb2").exists());
}

#[test]
fn a_missing_file_is_a_usage_error_naming_it() {
    let w = World::new();
    let missing = w.root().join("nope.toml");
    let p = missing.to_str().expect("utf-8");
    w.run(&["apply", "-f", p]).refused(2, &[p], "missing file");
    w.run(&["apply", "-f", p, "--dry-run"])
        .refused(2, &[p], "missing file, dry run");
}

#[test]
fn relative_paths_and_bad_values_are_refused() {
    let w = World::new();
    let text = "[[destination]]\nname = \"nas\"\nkind = \"local\"\npath = \"rel/nas\"\n";
    w.apply("t.toml", text, &[])
        .refused(2, &["nas", "relative"], "relative path");
    let text = "[[destination]]\nname = \"nas\"\nkind = \"ftp\"\n";
    w.apply("t.toml", text, &[])
        .refused(2, &["\"ftp\"", "unknown"], "unknown kind");
    let text = "[[destination]]\nname = \"off\"\nkind = \"s3\"\n";
    w.apply("t.toml", text, &[])
        .refused(2, &["off", "needs url"], "s3 without url");
    let text = "[[destination]]\nname = \"off\"\nkind = \"sftp\"\nurl = \"sftp://u@h/r\"\nregion = \"eu\"\n";
    w.apply("t.toml", text, &[]).refused(
        2,
        &["off", "region", "does not apply"],
        "key of another kind",
    );
    let text = "[[destination]]\nname = \"off\"\nkind = \"s3\"\nurl = \"s3://Bad_Bucket\"\n";
    w.apply("t.toml", text, &[])
        .refused(2, &["off", "Bad_Bucket"], "bad bucket");
    let text = "[[destination]]\nname = \"off\"\nkind = \"azure\"\nurl = \"azblob://c\"\nendpoint = \"http://key:secret@host\"\n";
    w.apply("t.toml", text, &[])
        .refused(2, &["off", "endpoint"], "credentials in an endpoint");
    let text = config(&w, "0 3 * * 0").replace("\"14d\"", "\"14 days\"");
    w.apply("t.toml", &text, &[])
        .refused(2, &["keep_within", "14 days"], "bad duration");
    let text = config(&w, "0 3 * * 0").replace("\"UTC\"", "\"Mars/Olympus\"");
    w.apply("t.toml", &text, &[]).refused(
        2,
        &["app", "timezone", "Mars/Olympus"],
        "unknown time zone",
    );
    let text = config(&w, "0 3 * * 0").replace("/src/db", "/src/none");
    w.apply("t.toml", &text, &[])
        .refused(2, &["db", "src/none"], "missing source");
    let text = config(&w, "0 3 * * 0") + &dest_block(&w, "nas");
    w.apply("t.toml", &text, &[])
        .refused(2, &["nas", "more than once"], "duplicate");
    assert!(w.task_names().is_empty());
}

#[test]
fn off_site_destinations_are_planned_with_their_settings() {
    let w = World::new();
    let text = "[[destination]]\nname = \"bucket\"\nkind = \"s3\"\nurl = \"s3://backups/prod\"\nendpoint = \"http://127.0.0.1:9\"\nregion = \"eu-west-1\"\nstorage_class = \"STANDARD_IA\"\n\n[[destination]]\nname = \"blob\"\nkind = \"azure\"\nurl = \"azblob://strata\"\naccount = \"devstoreaccount1\"\n\n[[destination]]\nname = \"far\"\nkind = \"sftp\"\nurl = \"sftp://backup@127.0.0.1:2222/srv/strata\"\n";
    let out = w.apply("t.toml", text, &["--dry-run"]);
    out.code_is(0, "dry run");
    for needle in [
        "s3 s3://backups/prod",
        "azure azblob://strata",
        "sftp sftp://backup@127.0.0.1:2222/srv/strata",
    ] {
        assert!(
            out.stdout.contains(needle),
            "plan names {needle}:\n{}",
            out.stdout
        );
    }
    assert!(
        w.state().0.as_array().expect("array").is_empty(),
        "a dry run adds nothing"
    );
}
