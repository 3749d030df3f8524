//! Safety rules found in review, each pinned by a test: an unmounted or
//! different repository is refused (never silently recreated), a crash between
//! destinations never yields a half-present backup, a damaged copy falls back
//! to an intact one, and bad schedules are refused up front.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct T {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl T {
    fn new() -> T {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        std::fs::create_dir_all(root.join("src/sub")).unwrap();
        std::fs::write(root.join("src/a.txt"), "alpha\n".repeat(100)).unwrap();
        std::fs::write(root.join("src/sub/b.bin"), vec![7u8; 300_000]).unwrap();
        T { _tmp: tmp, root }
    }
    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(self.p("home"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
    fn ok(&self, args: &[&str]) -> String {
        let (c, o, e) = self.run(args);
        assert_eq!(c, 0, "{args:?}: {e}");
        o
    }
    fn setup(&self, dests: &[&str]) {
        for d in dests {
            self.ok(&["dest", "add", d, "--local", self.p(d).to_str().unwrap()]);
        }
        self.ok(&[
            "task",
            "add",
            "t",
            "--dir",
            self.p("src").to_str().unwrap(),
            "--dest",
            &dests.join(","),
        ]);
    }
    fn backups(&self) -> Vec<serde_json::Value> {
        let o = self.ok(&["backup", "list", "--json"]);
        serde_json::from_str::<serde_json::Value>(&o)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
    fn full(&self) -> String {
        let o = self.ok(&["backup", "run", "t", "--full", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&o).unwrap();
        v["backup"]["id"].as_str().unwrap().to_string()
    }
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    let i = at.min(b.len() - 1);
    b[i] ^= 0x40;
    std::fs::write(path, b).unwrap();
}

#[test]
fn unmounted_destination_is_refused_not_recreated() {
    let t = T::new();
    t.setup(&["disk"]);
    t.full();
    // The "disk" is unmounted: its mount point is an empty directory again.
    std::fs::rename(t.p("disk"), t.p("disk-offline")).unwrap();
    std::fs::create_dir(t.p("disk")).unwrap();
    let (code, _, err) = t.run(&["backup", "run", "t", "--full"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("holds no Strata repository") && err.contains("mount"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(t.p("disk")).unwrap().next().is_none(),
        "nothing may be written to the empty mount point"
    );
    assert_eq!(t.backups().len(), 1);
}

#[test]
fn a_different_repository_at_the_destination_is_refused() {
    let t = T::new();
    t.setup(&["disk"]);
    t.full();
    // Another Strata repository appears at the same path (wrong disk mounted).
    let other = T::new();
    other.setup(&["disk"]);
    other.full();
    std::fs::rename(t.p("disk"), t.p("disk-ours")).unwrap();
    std::fs::rename(other.p("disk"), t.p("disk")).unwrap();
    let (code, _, err) = t.run(&["backup", "run", "t"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("holds repository") && err.contains("check what is mounted"),
        "{err}"
    );
}

#[test]
fn a_crash_between_destinations_never_leaves_a_half_present_backup() {
    let t = T::new();
    t.setup(&["a", "b"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(t.p("home"))
        .args(["backup", "run", "t", "--full"])
        .env("STRATA_TEST_STOP_AT", "after-commit-marker")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut line = String::new();
    while !line.contains("after-commit-marker") {
        assert!(Instant::now() < deadline, "stop point not reached");
        line.clear();
        err.read_line(&mut line).unwrap();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // As if the crash had come after destination a's commit marker but before b's.
    let ids: Vec<_> = std::fs::read_dir(t.p("b/backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(ids.len(), 1);
    std::fs::remove_file(t.p("b/backups").join(&ids[0]).join("COMMIT")).unwrap();

    let (code, _, note) = t.run(&["backup", "list"]);
    assert_eq!(code, 0);
    assert!(
        note.contains("interrupted") && note.contains("removed"),
        "recovery must say what it did: {note}"
    );
    assert!(
        t.backups().is_empty(),
        "a backup missing on one destination must not be recorded"
    );
    for d in ["a", "b"] {
        assert!(
            std::fs::read_dir(t.p(d).join("backups"))
                .unwrap()
                .next()
                .is_none(),
            "partial copy left on {d}"
        );
    }
    t.full();
    t.ok(&["verify", "--all", "--read-data"]);
}

#[test]
fn restore_falls_back_to_an_intact_copy() {
    let t = T::new();
    t.setup(&["a", "b"]);
    let id = t.full();
    flip(&t.p("a/backups").join(&id).join("manifest"), 40);
    let (code, _, err) = t.run(&["verify", &id]);
    assert_eq!(code, 1, "verify must flag the damaged copy: {err}");
    let to = t.p("restored");
    t.ok(&["restore", &id, "--to", to.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(to.join("sub/b.bin")).unwrap(),
        vec![7u8; 300_000]
    );
}

#[test]
fn restore_of_a_missing_subpath_is_not_found() {
    let t = T::new();
    t.setup(&["a"]);
    let id = t.full();
    let to = t.p("restored");
    let (code, _, err) = t.run(&[
        "restore",
        &id,
        "--to",
        to.to_str().unwrap(),
        "--path",
        "no/such",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no/such"), "{err}");
    assert!(!to.exists(), "nothing may be created");
}

#[test]
fn a_pinned_backup_has_nothing_reclaimable() {
    let t = T::new();
    t.setup(&["a"]);
    let id = t.full();
    let before = t.backups()[0]["reclaimable_bytes"].as_u64().unwrap();
    assert!(before > 0);
    t.ok(&["backup", "pin", &id]);
    assert_eq!(t.backups()[0]["reclaimable_bytes"].as_u64(), Some(0));
}

#[test]
fn malformed_schedules_and_durations_are_refused_up_front() {
    let t = T::new();
    t.ok(&["dest", "add", "a", "--local", t.p("a").to_str().unwrap()]);
    let src = t.p("src");
    let src = src.to_str().unwrap();
    for (args, needle) in [
        (vec!["--full", "61 3 * * *"], "minute"),
        (vec!["--incremental", "0 3 * *"], "fields"),
        (vec!["--full", "0 3 * * 9"], "day-of-week"),
        (vec!["--keep-within", "fortnight"], "--keep-within"),
        (vec!["--keep-last-full", "0"], "--keep-last-full"),
        (vec!["--timezone", "Mars/Olympus_Mons"], "--timezone"),
        (vec!["--before", "  "], "--before"),
    ] {
        let mut a = vec!["task", "add", "t", "--dir", src, "--dest", "a"];
        a.extend(args.iter().copied());
        let (code, _, err) = t.run(&a);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let (code, out, _) = t.run(&["task", "list", "--json"]);
    assert_eq!((code, out.trim()), (0, "[]"), "nothing half-added");
    t.ok(&[
        "task",
        "add",
        "t",
        "--dir",
        src,
        "--dest",
        "a",
        "--full",
        "30 3 * * 0",
        "--incremental",
        "@hourly",
        "--keep-within",
        "14d",
    ]);
}

#[test]
fn operators_restore_only_under_restore_roots() {
    let t = T::new();
    t.setup(&["a"]);
    let id = t.full();
    let target = t.p("restores/one");
    let (code, _, err) = t.run(&[
        "--role",
        "operator",
        "restore",
        &id,
        "--to",
        target.to_str().unwrap(),
    ]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("none are configured"), "{err}");
    // A root must exist when strata.toml is read (issue 9, item 5).
    std::fs::create_dir_all(t.p("restores")).unwrap();
    std::fs::write(
        t.p("home/strata.toml"),
        format!(
            "restore_roots = [{:?}]\n",
            t.p("restores").to_str().unwrap()
        ),
    )
    .unwrap();
    t.ok(&[
        "--role",
        "operator",
        "restore",
        &id,
        "--to",
        target.to_str().unwrap(),
    ]);
    assert!(target.join("a.txt").exists());
    let escape = format!("{}/../escaped", t.p("restores").display());
    let (code, _, err) = t.run(&["--role", "operator", "restore", &id, "--to", &escape]);
    assert_eq!(code, 4, "`..` must not leave the root: {err}");
    assert!(!t.p("escaped").exists());
    t.ok(&["restore", &id, "--to", t.p("anywhere").to_str().unwrap()]);
    let audit: serde_json::Value = serde_json::from_str(&t.ok(&["audit", "--json"])).unwrap();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["role"] == "operator"
                && a["outcome"].as_str().unwrap().starts_with("refused"))
    );
}
