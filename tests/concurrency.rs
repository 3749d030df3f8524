//! Issue 9, data loss 1 and 2, with the real binary: backup ids are unique by
//! construction (a taken id makes a run pick another, and nothing a run cleans
//! up belongs to another backup); a running backup holds what it reads from
//! (delete is busy, prune skips); and a stress loop of many tasks started in
//! the same second leaves only restorable backups with unique ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TEST_ID: &str = "20260101-000000-00c0ffee";

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().to_path_buf();
        Env { _tmp: tmp, root }
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    fn run_in(&self, home: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(self.path(home))
            .args(args)
            .env_remove("STRATA_HOME")
            .env_remove("STRATA_TEST_STOP_AT")
            .env_remove("STRATA_TEST_BACKUP_ID")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run strata");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
    fn ok_in(&self, home: &str, args: &[&str], env: &[(&str, &str)]) -> String {
        let (c, o, e) = self.run_in(home, args, env);
        assert_eq!(c, 0, "{home}: strata {args:?} exited {c}\n{o}\n{e}");
        o
    }
    fn json_in(&self, home: &str, args: &[&str], env: &[(&str, &str)]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.ok_in(home, &a, env);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }
    /// A source tree `src-<task>` with a few files, and the task on `dest`.
    fn task(&self, home: &str, task: &str, dest: &str) {
        self.task_with(home, task, dest, &[]);
    }
    fn task_with(&self, home: &str, task: &str, dest: &str, extra: &[&str]) {
        let src = self.path(&format!("src-{task}"));
        std::fs::create_dir_all(src.join("d")).expect("mkdir");
        std::fs::write(src.join("a.txt"), format!("alpha of {task}\n")).expect("write");
        std::fs::write(src.join("d/b.bin"), vec![task.len() as u8; 70_000]).expect("write");
        let mut args = vec!["task", "add", task, "--dir", s(&src), "--dest", dest];
        args.extend_from_slice(extra);
        self.ok_in(home, &args, &[]);
    }
    fn dest(&self, home: &str, name: &str, repo: &str) {
        self.ok_in(
            home,
            &["dest", "add", name, "--local", s(&self.path(repo))],
            &[],
        );
    }
    fn backup(&self, home: &str, task: &str, kind: &str, env: &[(&str, &str)]) -> Value {
        let j = self.json_in(home, &["backup", "run", task, kind], env);
        j["backup"].clone()
    }
    /// Backup ids, oldest first.
    fn ids(&self, home: &str) -> Vec<String> {
        self.json_in(home, &["backup", "list", "--reverse"], &[])
            .as_array()
            .expect("array")
            .iter()
            .map(|b| b["id"].as_str().expect("id").to_string())
            .collect()
    }
    fn serve(
        &self,
        home: &str,
        env: &[(&str, &str)],
    ) -> (Daemon, std::sync::mpsc::Receiver<String>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(self.path(home))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("STRATA_HOME")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let err = BufReader::new(child.stderr.take().expect("stderr"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        wait_line(&rx, "serving");
        (Daemon(child), rx)
    }
}

fn wait_line(rx: &std::sync::mpsc::Receiver<String>, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(want) => return,
            Ok(_) => {}
            Err(e) => panic!("waiting for {want:?}: {e}"),
        }
    }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tree(p: &Path) -> BTreeSet<(PathBuf, Vec<u8>)> {
    let mut out = BTreeSet::new();
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let path = e.path();
            let rel = path.strip_prefix(p).expect("prefix").to_path_buf();
            if e.file_type().expect("type").is_dir() {
                stack.push(path);
                out.insert((rel, Vec::new()));
            } else {
                out.insert((rel, std::fs::read(&path).expect("read")));
            }
        }
    }
    out
}

/// Two catalogs share one repository and both start a backup under the same id
/// (the test hook makes the collision certain): the second run finds the id
/// taken and picks another, and the first backup stays whole. Before the fix
/// the second run wrote into the first one's directory, failed on its pack,
/// and deleted the whole directory.
#[test]
fn a_taken_id_makes_the_run_pick_another_and_the_owner_keeps_its_data() {
    let e = Env::new();
    for h in ["ha", "hb"] {
        e.dest(h, "d", "repo");
    }
    e.task("ha", "ta", "d");
    e.task("hb", "tb", "d");
    let env = [("STRATA_TEST_BACKUP_ID", TEST_ID)];
    let a = e.backup("ha", "ta", "--full", &env);
    assert_eq!(a["id"], TEST_ID, "the test hook sets the first id");
    let b = e.backup("hb", "tb", "--full", &env);
    let b_id = b["id"].as_str().expect("id");
    assert_ne!(b_id, TEST_ID, "a taken id is never reused");
    assert_eq!(b["status"], "complete");
    // A directory that holds only someone's claim (a run in progress) is taken too.
    let claimed = "20260101-000000-0000beef";
    let dir = e.path(&format!("repo/backups/{claimed}"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("CLAIM"), "{}").expect("claim");
    let c = e.backup("hb", "tb", "--full", &[("STRATA_TEST_BACKUP_ID", claimed)]);
    assert_ne!(c["id"], claimed);
    assert_eq!(std::fs::read(dir.join("CLAIM")).expect("left alone"), b"{}");

    e.ok_in("ha", &["verify", TEST_ID, "--read-data"], &[]);
    e.ok_in("hb", &["verify", "--all", "--read-data"], &[]);
    let to = e.path("restored-a");
    e.ok_in("ha", &["restore", TEST_ID, "--to", s(&to)], &[]);
    assert_eq!(tree(&to), tree(&e.path("src-ta")));
    // Each claim names its own run.
    let claim: Value = serde_json::from_slice(
        &std::fs::read(e.path(&format!("repo/backups/{b_id}/CLAIM"))).expect("claim"),
    )
    .expect("json");
    assert_eq!(
        (claim["backup"].as_str(), claim["task"].as_str()),
        (Some(b_id), Some("tb"))
    );
    // A catalog rebuild lists the claim-only directory as incomplete and adds nothing wrong.
    let (code, out, err) = e.run_in("hb", &["catalog", "rebuild", "--from", "d", "--json"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let r: Value = serde_json::from_str(&out).expect("json");
    assert!(
        r["incomplete"]
            .as_array()
            .expect("list")
            .iter()
            .any(|v| v == claimed),
        "{r}"
    );
    assert!(
        r["added"]
            .as_array()
            .expect("list")
            .iter()
            .any(|v| v == TEST_ID),
        "{r}"
    );
}

/// A run killed before it claimed its id, whose id another catalog then uses
/// for a backup in progress: recovery leaves the other backup's directory
/// alone (before the fix it deleted `backups/<id>/`, so the other backup
/// committed "complete" without its packs).
#[test]
fn recovery_never_removes_another_backups_directory() {
    let e = Env::new();
    for h in ["ha", "hb"] {
        e.dest(h, "d", "repo");
    }
    e.task("ha", "ta", "d");
    e.task("hb", "tb", "d");
    // Home B: a run stopped right after its run record, then killed.
    let mut b = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(e.path("hb"))
        .args(["backup", "run", "tb", "--full"])
        .env("STRATA_TEST_BACKUP_ID", TEST_ID)
        .env("STRATA_TEST_STOP_AT", "after-run-record")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut err = BufReader::new(b.stderr.take().expect("stderr"));
    let mut line = String::new();
    while !line.contains("test stop point") {
        line.clear();
        assert!(
            err.read_line(&mut line).expect("read") > 0,
            "run ended early"
        );
    }
    b.kill().expect("kill");
    b.wait().expect("wait");
    // Home A takes a backup under the same id and pauses after its first pack.
    let go = e.path("go");
    let mut a = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(e.path("ha"))
        .args(["backup", "run", "ta", "--full", "--json"])
        .env("STRATA_TEST_BACKUP_ID", TEST_ID)
        .env("STRATA_TEST_STOP_AT", format!("after-pack:{}", s(&go)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut err = BufReader::new(a.stderr.take().expect("stderr"));
    let mut line = String::new();
    while !line.contains("test stop point") {
        line.clear();
        assert!(
            err.read_line(&mut line).expect("read") > 0,
            "run ended early"
        );
    }
    let dir = e.path(&format!("repo/backups/{TEST_ID}"));
    let before = tree(&dir);
    assert!(dir.join("packs/000000.pack").is_file());
    // Home B's next command recovers its interrupted run.
    assert!(e.ids("hb").is_empty());
    assert_eq!(
        tree(&dir),
        before,
        "recovery left the other backup's data alone"
    );
    let runs = e.ok_in("hb", &["task", "show", "tb", "--json"], &[]);
    assert!(runs.contains("belongs to another backup"), "{runs}");
    std::fs::write(&go, "").expect("go");
    let out = a.wait_with_output().expect("wait");
    assert!(out.status.success());
    e.ok_in("ha", &["verify", TEST_ID, "--read-data"], &[]);
}

/// Through the daemon: while an incremental runs, deleting its parent (or the
/// full it chains to, with or without --cascade) is busy (exit 5) and names the
/// job; prune keeps them; the incremental commits a restorable backup.
#[test]
fn delete_and_prune_wait_for_a_running_incremental() {
    let e = Env::new();
    e.dest("h", "d", "repo");
    e.task_with("h", "t", "d", &["--keep-last-full", "1"]);
    let f1 = e.backup("h", "t", "--full", &[]);
    std::fs::write(e.path("src-t/a.txt"), "second\n").expect("write");
    let i1 = e.backup("h", "t", "--incremental", &[]);
    let go = e.path("go");
    let stop = format!("after-scan:{}", s(&go));
    let (_d, log) = e.serve("h", &[("STRATA_TEST_STOP_AT", stop.as_str())]);
    std::fs::write(e.path("src-t/a.txt"), "third\n").expect("write");
    e.ok_in(
        "h",
        &["backup", "run", "t", "--incremental", "--detach"],
        &[],
    );
    wait_line(&log, "test stop point after-scan reached");
    let f1_id = f1["id"].as_str().expect("id");
    let i1_id = i1["id"].as_str().expect("id");
    for args in [
        vec!["backup", "delete", i1_id],
        vec!["backup", "delete", f1_id, "--cascade"],
    ] {
        let (code, out, err) = e.run_in("h", &args, &[]);
        assert_eq!(code, 5, "{args:?}: {out}{err}");
        assert!(err.contains("job ") && err.contains("incremental"), "{err}");
        assert!(err.contains(i1_id) || err.contains(f1_id), "{err}");
    }
    let dry = e.ok_in("h", &["prune", "--dry-run"], &[]);
    assert!(!dry.contains("expire "), "nothing held expires: {dry}");
    e.ok_in("h", &["prune"], &[]);
    assert_eq!(e.ids("h").len(), 2);
    std::fs::write(&go, "").expect("go");
    wait_for("the incremental to commit", || e.ids("h").len() == 3);
    let ids = e.ids("h");
    let i2 = ids.last().expect("newest").clone();
    e.ok_in("h", &["verify", "--all", "--read-data"], &[]);
    let to = e.path("restored");
    e.ok_in("h", &["restore", &i2, "--to", s(&to)], &[]);
    assert_eq!(tree(&to), tree(&e.path("src-t")));
    // Once it is done, the chain can go.
    wait_for("the job to end", || {
        e.json_in("h", &["jobs"], &[])
            .as_array()
            .is_some_and(|a| a.is_empty())
    });
    e.ok_in("h", &["backup", "delete", f1_id, "--cascade"], &[]);
    assert!(e.ids("h").is_empty());
}

/// The attack's loop: 8 tasks on one destination, `max_parallel_jobs = 8`, all
/// started in the same second, round after round. Every complete run must be a
/// backup with its own id that verifies and restores, and the repository must
/// hold exactly the listed backups.
#[test]
fn stress_many_tasks_started_together_leave_only_restorable_unique_backups() {
    const TASKS: usize = 8;
    const ROUNDS: usize = 20;
    let e = Env::new();
    e.dest("h", "d", "repo");
    std::fs::write(e.path("h/strata.toml"), "max_parallel_jobs = 8\n").expect("settings");
    let names: Vec<String> = (0..TASKS).map(|i| format!("t{i}")).collect();
    for n in &names {
        e.task("h", n, "d");
    }
    let (_d, _log) = e.serve("h", &[]);
    let mut complete = Vec::new();
    for round in 0..ROUNDS {
        let kind = if round % 3 == 0 {
            "--full"
        } else {
            "--incremental"
        };
        std::thread::scope(|sc| {
            let runs: Vec<_> = names
                .iter()
                .map(|n| {
                    let e = &e;
                    sc.spawn(move || {
                        std::fs::write(e.path(&format!("src-{n}/r.txt")), format!("{round}\n"))
                            .expect("write");
                        e.run_in("h", &["backup", "run", n, kind, "--json"], &[])
                    })
                })
                .collect();
            for r in runs {
                let (code, out, err) = r.join().expect("thread");
                assert_eq!(code, 0, "round {round}: {out}{err}");
                let v: Value = serde_json::from_str(&out).expect("json");
                assert_eq!(v["backup"]["status"], "complete", "{v}");
                complete.push(v["backup"]["id"].as_str().expect("id").to_string());
            }
        });
    }
    let unique: BTreeSet<&String> = complete.iter().collect();
    assert_eq!(unique.len(), complete.len(), "every run got its own id");
    let listed: BTreeSet<String> = e.ids("h").into_iter().collect();
    let want: BTreeSet<String> = complete.iter().cloned().collect();
    assert_eq!(listed, want, "every complete run is listed");
    let on_disk: BTreeSet<String> = std::fs::read_dir(e.path("repo/backups"))
        .expect("backups")
        .map(|d| d.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        on_disk, want,
        "the repository holds exactly the listed backups"
    );
    e.ok_in("h", &["verify", "--all", "--read-data"], &[]);
    // Every backup restores; the newest of each task restores its source as it is now.
    let rows = e.json_in("h", &["backup", "list", "--reverse"], &[]);
    for (k, b) in rows.as_array().expect("array").iter().enumerate() {
        let id = b["id"].as_str().expect("id");
        let to = e.path(&format!("restored-{k}"));
        e.ok_in("h", &["restore", id, "--to", s(&to)], &[]);
        assert!(to.join("d/b.bin").is_file(), "{id}");
    }
    for n in &names {
        let newest = rows
            .as_array()
            .expect("array")
            .iter()
            .rfind(|b| b["task"] == n.as_str())
            .expect("a backup of each task");
        let to = e.path(&format!("newest-{n}"));
        e.ok_in(
            "h",
            &[
                "restore",
                newest["id"].as_str().expect("id"),
                "--to",
                s(&to),
            ],
            &[],
        );
        assert_eq!(tree(&to), tree(&e.path(&format!("src-{n}"))), "{n}");
    }
}
