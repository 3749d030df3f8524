//! The daemon with real processes: commands through the control socket behave
//! like local ones, one daemon per home, roles are enforced and audited, a
//! scheduled backup fires, cancel leaves nothing partial, SIGTERM is clean.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        std::fs::create_dir_all(root.join("src/d")).unwrap();
        std::fs::write(root.join("src/a.txt"), "alpha").unwrap();
        std::fs::write(root.join("src/d/b.txt"), "beta").unwrap();
        Env { _tmp: tmp, root }
    }
    fn home(&self) -> PathBuf {
        self.root.join("home")
    }
    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(self.home())
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_env(args, &[])
    }
    fn ok(&self, args: &[&str]) -> String {
        let (c, o, e) = self.run(args);
        assert_eq!(c, 0, "{args:?}: {e}");
        o
    }
    fn setup(&self, extra: &[&str]) {
        self.ok(&[
            "dest",
            "add",
            "d",
            "--local",
            self.root.join("repo").to_str().unwrap(),
        ]);
        let mut a = vec![
            "task",
            "add",
            "t",
            "--dir",
            self.root.join("src").to_str().unwrap().to_string().leak(),
            "--dest",
            "d",
        ];
        a.extend_from_slice(extra);
        self.ok(&a);
    }
    fn serve(&self, env: &[(&str, &str)]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(self.home())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut line = String::new();
        while !line.contains("serving") {
            assert!(Instant::now() < deadline, "daemon did not start");
            line.clear();
            if err.read_line(&mut line).unwrap() == 0 {
                panic!("daemon exited early");
            }
        }
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in err.lines() {});
        Daemon(child)
    }
    fn backups(&self) -> Vec<serde_json::Value> {
        serde_json::from_str::<serde_json::Value>(&self.ok(&["backup", "list", "--json"]))
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn dirs(p: &Path) -> usize {
    std::fs::read_dir(p).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn commands_through_the_socket_match_local_ones() {
    let e = Env::new();
    e.setup(&[]);
    e.ok(&["backup", "run", "t", "--full"]);
    let local_list = e.ok(&["backup", "list", "--json"]);
    let local_unknown = e.run(&["backup", "show", "nope"]);
    let _d = e.serve(&[]);
    assert!(e.home().join("strata.sock").exists());
    assert_eq!(
        e.ok(&["backup", "list", "--json"]),
        local_list,
        "same output through the daemon"
    );
    let remote_unknown = e.run(&["backup", "show", "nope"]);
    assert_eq!(
        (remote_unknown.0, &remote_unknown.2),
        (local_unknown.0, &local_unknown.2)
    );
    assert_eq!(e.run(&["backup", "run"]).0, 2, "usage errors keep exit 2");
    // A relative path is the client's, not the daemon's.
    let id = e.backups()[0]["id"].as_str().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(&e.root)
        .args([
            "--home",
            e.home().to_str().unwrap(),
            "restore",
            &id,
            "--to",
            "restored-here",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(e.root.join("restored-here/d/b.txt")).unwrap(),
        "beta"
    );
    e.ok(&["backup", "run", "t"]);
    assert_eq!(e.backups().len(), 2);
}

#[test]
fn one_daemon_per_home_and_a_clean_sigterm() {
    let e = Env::new();
    e.setup(&[]);
    let d = e.serve(&[]);
    let (code, _, err) = e.run(&["serve"]);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("in use by") && err.contains("strata serve"),
        "{err}"
    );
    let pid = d.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut d = d;
    let status = d.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        !e.home().join("strata.sock").exists(),
        "socket removed at shutdown"
    );
    e.ok(&["backup", "list"]);
}

#[test]
fn a_viewer_is_refused_and_audited() {
    let e = Env::new();
    e.setup(&[]);
    let _d = e.serve(&[]);
    let out = e.ok(&["backup", "run", "t", "--json"]);
    let id = serde_json::from_str::<serde_json::Value>(&out).unwrap()["backup"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, _, err) = e.run(&["--role", "viewer", "backup", "delete", &id]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("requires the admin role"), "{err}");
    assert_eq!(e.backups().len(), 1, "nothing deleted");
    let (code, _, _) = e.run(&["--role", "viewer", "backup", "list"]);
    assert_eq!(code, 0, "viewers read");
    let audit: serde_json::Value = serde_json::from_str(&e.ok(&["audit", "--json"])).unwrap();
    let entries = audit.as_array().unwrap();
    assert!(
        entries.iter().any(|a| a["action"] == "backup delete"
            && a["role"] == "viewer"
            && a["outcome"].as_str().unwrap().starts_with("refused")),
        "{audit:#}"
    );
    assert!(
        entries
            .iter()
            .any(|a| a["action"] == "backup run" && a["outcome"] == "ok")
    );
    assert!(
        !entries.iter().any(|a| a["action"] == "backup"),
        "reads are not audited"
    );
}

#[test]
fn cancel_of_a_running_backup_leaves_nothing_partial() {
    let e = Env::new();
    e.setup(&[]);
    let go = e.root.join("go");
    let stop = format!("after-scan:{}", go.display());
    let _d = e.serve(&[("STRATA_TEST_STOP_AT", stop.as_str())]);
    let home = e.home();
    let runner = std::thread::spawn(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(home)
            .args(["backup", "run", "t", "--full"])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    });
    let mut job = None;
    wait_for("the job to show in `strata jobs`", 30, || {
        let v: serde_json::Value = serde_json::from_str(&e.ok(&["jobs", "--json"])).unwrap();
        job = v
            .as_array()
            .and_then(|a| a.first())
            .and_then(|j| j["id"].as_u64());
        job.is_some()
    });
    let id = job.unwrap().to_string();
    let (code, _, err) = e.run(&["backup", "run", "t"]);
    assert_eq!(
        code, 5,
        "a second backup of the same task is refused while one runs: {err}"
    );
    e.ok(&["jobs", "cancel", &id]);
    std::fs::write(&go, "").unwrap();
    let (code, err) = runner.join().unwrap();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cancelled"), "{err}");
    assert!(e.backups().is_empty());
    assert_eq!(dirs(&e.root.join("repo/backups")), 0, "no partial data");
    wait_for("the job to leave the list", 10, || {
        e.ok(&["jobs", "--json"]).trim() == "[]"
    });
}

#[test]
fn the_daemon_runs_a_scheduled_backup() {
    let e = Env::new();
    e.setup(&["--full", "* * * * *", "--timezone", "UTC"]);
    let _d = e.serve(&[]);
    // The next minute boundary is at most 60 s away.
    wait_for("a scheduled backup", 90, || !e.backups().is_empty());
    let b = &e.backups()[0];
    assert_eq!(b["manual"], false, "made by the schedule, not by hand");
    assert_eq!(b["kind"], "full");
}

#[test]
fn detach_needs_a_daemon_and_returns_at_once_with_one() {
    let e = Env::new();
    e.setup(&[]);
    let (code, _, err) = e.run(&["backup", "run", "t", "--detach"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("strata serve"), "{err}");
    let _d = e.serve(&[]);
    let out = e.ok(&["backup", "run", "t", "--detach", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    assert!(
        v["job"].as_u64().is_some() || out.contains("started"),
        "{out}"
    );
    wait_for("the detached backup", 30, || e.backups().len() == 1);
    let audit: serde_json::Value = serde_json::from_str(&e.ok(&["audit", "--json"])).unwrap();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "backup run" && a["outcome"] == "ok"),
        "{audit:#}"
    );
}

#[test]
fn runs_are_listed_locally_and_through_the_daemon_for_the_console() {
    use strata::tui::source::Source;
    let e = Env::new();
    e.setup(&[]);
    e.ok(&["backup", "run", "t", "--full"]);
    let local = e.ok(&["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&local).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{local}");
    assert_eq!(runs[0]["status"], "complete");
    assert!(e.ok(&["runs", "--task", "t"]).contains("complete"));
    assert_eq!(e.run(&["runs", "--task", "nope"]).0, 3);
    let _d = e.serve(&[]);
    assert_eq!(e.ok(&["runs", "--json"]), local, "same through the daemon");
    // The console's daemon source now has runs (for the detail and Log views).
    let src = strata::tui::source::RemoteSource::new(
        strata::core::home::Home::at(e.home()),
        strata::core::access::Caller::local(None),
    );
    let mut snap = src.snapshot().unwrap();
    assert_eq!(snap.runs.len(), 1);
    assert_eq!(snap.runs[0].task, "t");
    assert_eq!(snap.destinations.len(), 1);
    // The daemon checks in the background: `checking` until the first result.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while snap.destinations[0].state != strata::core::rows::HealthState::Ok {
        assert_eq!(
            snap.destinations[0].state,
            strata::core::rows::HealthState::Checking
        );
        assert!(std::time::Instant::now() < deadline, "never checked");
        std::thread::sleep(std::time::Duration::from_millis(50));
        snap = src.snapshot().unwrap();
    }
    assert!(snap.destinations[0].checked);
    assert_eq!(snap.destinations[0].backups, 1);
}

/// Destinations `d` and `d2` (at `repo2`) and task `u` writing to both with `require`.
fn two_destinations(e: &Env, require: &str) {
    e.setup(&[]);
    let repo2 = e.root.join("repo2");
    e.ok(&["dest", "add", "d2", "--local", repo2.to_str().unwrap()]);
    let src = e.root.join("src");
    let src = src.to_str().unwrap();
    e.ok(&[
        "task",
        "add",
        "u",
        "--dir",
        src,
        "--dest",
        "d,d2",
        "--require",
        require,
    ]);
}

/// The scheduler of task `t` last looked five minutes ago: at start it
/// catches up once, without waiting for a minute boundary.
fn catch_up_at_start(e: &Env) {
    let then = chrono::Utc::now() - chrono::Duration::minutes(5);
    std::fs::write(
        e.home().join("scheduler-state.json"),
        format!("{{\"t\": \"{}\"}}", then.to_rfc3339()),
    )
    .unwrap();
}

#[test]
fn a_scheduled_run_on_a_missing_destination_is_a_failed_run_everyone_sees() {
    let e = Env::new();
    e.setup(&["--incremental", "* * * * *", "--catch-up", "once"]);
    catch_up_at_start(&e);
    // The destination's disk is gone.
    std::fs::rename(e.root.join("repo"), e.root.join("repo-away")).unwrap();
    let _d = e.serve(&[]);
    wait_for("the failed scheduled run", 30, || {
        let runs: serde_json::Value =
            serde_json::from_str(&e.ok(&["runs", "--json"])).unwrap_or_default();
        runs.as_array()
            .is_some_and(|a| a.iter().any(|r| r["status"] == "failed"))
    });
    let runs: serde_json::Value = serde_json::from_str(&e.ok(&["runs", "--json"])).unwrap();
    let failed = &runs[0];
    assert_eq!(failed["backup_id"], "", "a failed run names no backup");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("destination d"),
        "{failed}"
    );
    let tasks: serde_json::Value =
        serde_json::from_str(&e.ok(&["task", "list", "--json"])).unwrap();
    assert_eq!(tasks[0]["status"], "failed", "{tasks}");
    assert!(
        tasks[0]["last_result"]
            .as_str()
            .unwrap()
            .starts_with("failed: "),
        "{tasks}"
    );
    // The audit records it as the system's action.
    let audit: serde_json::Value = serde_json::from_str(&e.ok(&["audit", "--json"])).unwrap();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["who"] == "scheduler"
                && a["action"] == "backup run"
                && a["outcome"].as_str().unwrap().starts_with("failed")),
        "{audit}"
    );
}

#[test]
fn the_daemon_fills_a_missing_copy_by_itself_once_the_destination_returns() {
    let e = Env::new();
    two_destinations(&e, "any");
    std::fs::rename(e.root.join("repo2"), e.root.join("repo2-away")).unwrap();
    assert_eq!(e.run(&["backup", "run", "u", "--full"]).0, 1, "degraded");
    let _d = e.serve(&[("STRATA_TEST_SYNC_RETRY_SECS", "1")]);
    let copy = || -> serde_json::Value {
        let b: serde_json::Value =
            serde_json::from_str(&e.ok(&["backup", "list", "--json"])).unwrap();
        b[0]["copies"][1].clone()
    };
    // Down: each try is a failed run, and the copy says when the next one is.
    wait_for("a recorded retry", 30, || {
        copy()["attempts"].as_u64().unwrap_or(0) >= 1
    });
    let c = copy();
    assert_eq!(c["state"], "missing", "{c}");
    assert!(c["retry_at"].is_string() && c["error"].is_string(), "{c}");
    // Back: the next try fills it.
    std::fs::rename(e.root.join("repo2-away"), e.root.join("repo2")).unwrap();
    wait_for("the copy filled in", 60, || copy()["state"] == "complete");
    let c = copy();
    assert!(c.get("retry_at").is_none() && c["error"].is_null(), "{c}");
}

#[test]
fn a_failure_and_its_recovery_each_alert_once() {
    let e = Env::new();
    e.setup(&["--incremental", "* * * * *", "--catch-up", "once"]);
    let log = e.root.join("alerts.jsonl");
    std::fs::write(
        e.home().join("strata.toml"),
        format!(
            "[notify]\ncommand = \"cat >> '{}'; echo >> '{}'\"\n",
            log.display(),
            log.display()
        ),
    )
    .unwrap();
    catch_up_at_start(&e);
    std::fs::rename(e.root.join("repo"), e.root.join("repo-away")).unwrap();
    let _d = e.serve(&[]);
    let alerts = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    wait_for("the failed alert", 30, || !alerts().is_empty());
    // The destination is back and a backup succeeds: one recovered alert.
    std::fs::rename(e.root.join("repo-away"), e.root.join("repo")).unwrap();
    e.ok(&["backup", "run", "t"]);
    wait_for("the recovered alert", 30, || alerts().len() >= 2);
    std::thread::sleep(Duration::from_secs(3));
    let got = alerts();
    let events: Vec<&str> = got.iter().map(|a| a["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["failed", "recovered"], "{got:?}");
    assert_eq!(got[0]["task"], "t");
    assert!(
        got[0]["message"]
            .as_str()
            .unwrap()
            .contains("destination d"),
        "{got:?}"
    );
    let audit = e.ok(&["audit", "--json"]);
    assert!(
        audit.contains("\"notify failed\"") && audit.contains("\"notify recovered\""),
        "{audit}"
    );
}

#[test]
fn a_deletion_while_a_destination_is_away_is_applied_when_it_returns() {
    let e = Env::new();
    two_destinations(&e, "all");
    e.ok(&["backup", "run", "u", "--full"]);
    let id = e.backups()[0]["id"].as_str().unwrap().to_string();
    std::fs::rename(e.root.join("repo2"), e.root.join("repo2-away")).unwrap();
    e.ok(&["backup", "delete", &id]);
    assert!(e.backups().is_empty());
    assert!(
        !e.root.join("repo/backups").join(&id).exists(),
        "gone where it could be"
    );
    let pending = |name: &str| -> u64 {
        let rows: serde_json::Value =
            serde_json::from_str(&e.ok(&["dest", "list", "--json"])).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()["deletions_pending"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(pending("d2"), 1, "the deletion on the absent d2 is queued");
    // A catalog rebuild from d2 does not bring the deleted backup back.
    std::fs::rename(e.root.join("repo2-away"), e.root.join("repo2")).unwrap();
    let r: serde_json::Value =
        serde_json::from_str(&e.ok(&["catalog", "rebuild", "--from", "d2", "--json"])).unwrap();
    assert!(r["added"].as_array().unwrap().is_empty(), "{r}");
    // Back: the daemon applies it; nothing is left orphaned there.
    let _d = e.serve(&[]);
    wait_for("the queued deletion", 30, || pending("d2") == 0);
    assert!(!e.root.join("repo2/backups").join(&id).exists());
}

#[test]
fn the_console_performs_typed_actions_through_the_daemon() {
    use strata::core::access::{Caller, Role};
    use strata::core::{Action, Outcome};
    use strata::tui::source::{RemoteSource, Source};
    let e = Env::new();
    e.setup(&[]);
    e.ok(&["backup", "run", "t", "--full"]);
    let _d = e.serve(&[]);
    let home = || strata::core::home::Home::at(e.home());
    let admin = RemoteSource::new(home(), Caller::local(None));
    // A detached backup: the daemon answers with its job and run at once.
    let started = admin.perform(Action::RunBackup {
        task: "t".into(),
        kind: strata::model::BackupKind::Incremental,
        detach: true,
    });
    assert!(
        matches!(&started, Ok(Outcome::Started { task, .. }) if task == "t"),
        "{started:?}"
    );
    wait_for("the detached backup", 60, || {
        admin
            .snapshot()
            .is_ok_and(|s| s.backups.len() == 2 && s.jobs.is_empty())
    });
    let id = admin.snapshot().unwrap().backups[0].record.id.clone();
    let verified = admin.perform(Action::Verify {
        selection: strata::core::action::VerifySelection::One(id.clone()),
        read_data: 100,
    });
    assert!(
        matches!(&verified, Ok(Outcome::Verified(v)) if !v.is_empty() && v.iter().all(|r| r.ok() && r.backup == id)),
        "{verified:?}"
    );
    // A viewer's delete is refused in the daemon, with the exit code and sentence.
    let mut who = Caller::local(None);
    who.role = Role::Viewer;
    let viewer = RemoteSource::new(home(), who);
    let refused = viewer
        .perform(Action::DeleteBackup {
            id: id.clone(),
            cascade: false,
        })
        .map(|_| ())
        .unwrap_err();
    assert_eq!(refused.exit_code(), 4);
    assert!(refused.to_string().contains("admin"), "{refused}");
    let audit = e.ok(&["audit", "--json"]);
    assert!(
        audit.contains("\"backup delete\"") && audit.contains("refused"),
        "{audit}"
    );
    assert_eq!(
        admin.snapshot().unwrap().backups.len(),
        2,
        "nothing was deleted"
    );
}

#[test]
fn a_queued_detached_job_survives_kill9_of_the_daemon_as_an_interrupted_run() {
    let e = Env::new();
    e.setup(&[]);
    let src = e.root.join("src");
    e.ok(&[
        "task",
        "add",
        "u",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        "d",
    ]);
    std::fs::write(e.home().join("strata.toml"), "max_parallel_jobs = 1\n").unwrap();
    // The first job holds the only slot (it waits at a stop point), so the second queues.
    let mut d = e.serve(&[("STRATA_TEST_STOP_AT", "after-scan")]);
    e.ok(&["backup", "run", "t", "--detach"]);
    wait_for("job t running", 30, || {
        let jobs: serde_json::Value =
            serde_json::from_str(&e.ok(&["jobs", "--json"])).unwrap_or_default();
        jobs.as_array()
            .is_some_and(|a| a.iter().any(|j| j["task"] == "t" && j["phase"] != "queued"))
    });
    let out = e.ok(&["backup", "run", "u", "--detach", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let run_id = v["run"]
        .as_u64()
        .unwrap_or_else(|| panic!("no run id: {out}"));
    let runs: serde_json::Value = serde_json::from_str(&e.ok(&["runs", "--json"])).unwrap();
    let queued = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == run_id)
        .unwrap_or_else(|| panic!("the queued run is recorded at enqueue: {runs:#}"))
        .clone();
    assert_eq!(queued["status"], "queued", "{queued:#}");
    assert_eq!(queued["task"], "u");
    d.0.kill().unwrap(); // SIGKILL
    d.0.wait().unwrap();
    drop(d);
    // The next command opens the catalog, recovers, and says so.
    let (code, out, err) = e.run(&["runs", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("run {run_id} of task u was queued")),
        "recovery says so on stderr: {err}"
    );
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    let runs = runs.as_array().unwrap();
    let u = runs.iter().find(|r| r["id"] == run_id).unwrap();
    assert_eq!(u["status"], "interrupted", "{u:#}");
    assert!(
        u["message"].as_str().unwrap().contains("never started"),
        "{u:#}"
    );
    assert_eq!(
        runs.iter().filter(|r| r["task"] == "u").count(),
        1,
        "one run record, updated in place"
    );
    let t = runs.iter().find(|r| r["task"] == "t").unwrap();
    assert_eq!(t["status"], "interrupted", "the running job too: {t:#}");
    assert!(e.ok(&["runs", "--task", "u"]).contains("interrupted"));
    let audit: serde_json::Value = serde_json::from_str(&e.ok(&["audit", "--json"])).unwrap();
    let entries = audit.as_array().unwrap();
    assert!(
        entries.iter().any(|a| a["action"] == "backup run"
            && a["target"] == "u"
            && a["outcome"].as_str().unwrap().starts_with("queued as run")),
        "audited at enqueue: {audit:#}"
    );
    assert!(
        entries.iter().any(|a| a["action"] == "backup run"
            && a["target"] == "u"
            && a["origin"] == "recovery"
            && a["outcome"].as_str().unwrap().starts_with("interrupted")),
        "recovery is audited: {audit:#}"
    );
    // Nothing of the killed runs is left as a backup.
    assert!(e.backups().is_empty());
}

#[test]
fn a_run_recorded_as_queued_becomes_running_then_complete_in_place() {
    let e = Env::new();
    e.setup(&[]);
    let _d = e.serve(&[]);
    let out = e.ok(&["backup", "run", "t", "--detach", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let run_id = v["run"].as_u64().unwrap_or_else(|| panic!("{out}"));
    wait_for("the detached backup", 30, || e.backups().len() == 1);
    let runs: serde_json::Value = serde_json::from_str(&e.ok(&["runs", "--json"])).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0]["id"], run_id);
    assert_eq!(runs[0]["status"], "complete");
    assert_eq!(runs[0]["backup_id"], e.backups()[0]["id"]);
}
