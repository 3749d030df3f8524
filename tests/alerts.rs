//! Alerts under a real daemon: a notify command and webhooks (real HTTP
//! listeners on 127.0.0.1 started by the test) each get one `failed` and one
//! `recovered` per change; 5xx is retried, a webhook that never answers is an
//! audited failure that holds nothing up; a task's own notify replaces the
//! global one; webhook tokens never show in the audit or the logs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;

use common::Strata;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the listener answers one request.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    Never,
}

/// One request the listener read.
struct Request {
    line: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A real HTTP/1.1 listener on 127.0.0.1: answers requests in the order of
/// `script` (then 200), records each one, stops when dropped.
struct Listener {
    port: u16,
    got: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl Listener {
    fn start(script: &[Answer]) -> Listener {
        let sock = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, st) = (got.clone(), stop.clone());
        let mut script = script.to_vec();
        script.reverse();
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for conn in sock.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let Some(req) = read_request(&conn) else {
                    continue;
                };
                g.lock().unwrap().push(req);
                match script.pop().unwrap_or(Answer::Status(200)) {
                    Answer::Status(code) => {
                        let _ = write!(
                            conn,
                            "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        );
                    }
                    // Kept open, never answered: the client's timeout decides.
                    Answer::Never => held.push(conn),
                }
            }
        });
        Listener { port, got, stop }
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    fn events(&self) -> Vec<(String, String)> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.body["task"].as_str().unwrap_or("").to_string(),
                    r.body["event"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// A URL with a token in its path and query, as Slack and Teams hand out.
    fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/services/T0/secret-token?sig=secret-sig",
            self.port
        )
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn read_request(conn: &TcpStream) -> Option<Request> {
    let mut r = BufReader::new(conn.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request {
        line: line.trim_end().to_string(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}

/// Waits for `f`; the tasks here fire on minute boundaries, so a first alert
/// may take a whole minute plus the run on a loaded machine.
fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Source, destination `d` at `<root>/repo`, and every-minute tasks `names`.
fn setup(s: &Strata, names: &[&str], extra: &[&str]) {
    std::fs::create_dir_all(s.path("src")).unwrap();
    std::fs::write(s.path("src/a.txt"), "alpha").unwrap();
    s.ok(&[
        "dest",
        "add",
        "d",
        "--local",
        s.path("repo").to_str().unwrap(),
    ]);
    for n in names {
        let src = s.path("src");
        let mut a = vec![
            "task",
            "add",
            n,
            "--dir",
            src.to_str().unwrap(),
            "--dest",
            "d",
            "--incremental",
            "* * * * *",
            "--catch-up",
            "once",
        ];
        a.extend_from_slice(extra);
        s.ok(&a);
    }
    // The scheduler last looked five minutes ago: a catch-up run at start.
    let then = chrono::Utc::now() - chrono::Duration::minutes(5);
    std::fs::write(
        s.home().join("scheduler-state.json"),
        format!("{{\"t\": \"{}\"}}", then.to_rfc3339()),
    )
    .unwrap();
}

fn private_file(p: &Path, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.to_path_buf()
}

fn command_alerts(log: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["task"].as_str().unwrap().to_string(),
                v["event"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn notify_config(log: &Path, webhook: &str) -> String {
    format!(
        "[notify]\ncommand = \"cat >> '{0}'; echo >> '{0}'\"\nwebhook = \"{webhook}\"\n",
        log.display()
    )
}

fn audit(s: &Strata) -> String {
    s.ok(&["audit", "--json"])
}

/// Nothing a user or an operator reads shows the webhook's path or query.
fn assert_no_token(s: &Strata) {
    let mut seen = audit(s);
    for e in std::fs::read_dir(s.home().join("logs")).unwrap().flatten() {
        seen.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
    }
    seen.push_str(&s.ok(&["export"]));
    assert!(
        !seen.contains("secret-token") && !seen.contains("secret-sig"),
        "a webhook token leaked:\n{seen}"
    );
}

fn pair(t: &str, e: &str) -> (String, String) {
    (t.to_string(), e.to_string())
}

#[test]
fn a_failure_and_its_recovery_reach_the_command_and_the_webhook_once_each() {
    let s = Strata::new();
    setup(&s, &["t"], &[]);
    let hook = Listener::start(&[]);
    let log = s.path("alerts.jsonl");
    std::fs::write(
        s.home().join("strata.toml"),
        notify_config(&log, &hook.url()),
    )
    .unwrap();
    std::fs::rename(s.path("repo"), s.path("repo-away")).unwrap();
    let _d = s.serve();
    wait_for("the failed alert on both channels", 150, || {
        hook.count() >= 1 && !command_alerts(&log).is_empty()
    });
    std::fs::rename(s.path("repo-away"), s.path("repo")).unwrap();
    s.ok(&["backup", "run", "t"]);
    wait_for("the recovered alert on both channels", 150, || {
        hook.count() >= 2 && command_alerts(&log).len() >= 2
    });
    wait_for("four audited deliveries", 30, || {
        audit(&s).matches("\"notify ").count() >= 4
    });
    let want = vec![pair("t", "failed"), pair("t", "recovered")];
    assert_eq!(hook.events(), want);
    assert_eq!(command_alerts(&log), want);
    let reqs = hook.got.lock().unwrap();
    let r = &reqs[0];
    assert!(
        r.line
            .starts_with("POST /services/T0/secret-token?sig=secret-sig "),
        "{}",
        r.line
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.header("user-agent").unwrap().starts_with("strata/"),
        "{:?}",
        r.headers
    );
    assert_eq!(r.body["status"], "failed");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("destination d"),
        "{}",
        r.body
    );
    drop(reqs);
    let a = audit(&s);
    let origin = format!("sent to webhook http://127.0.0.1:{}", hook.port);
    assert_eq!(a.matches(&origin).count(), 2, "{a}");
    assert_eq!(a.matches("sent to the notify command").count(), 2, "{a}");
    assert_no_token(&s);
}

#[test]
fn a_webhook_answering_500_twice_gets_the_alert_on_the_third_try() {
    let s = Strata::new();
    setup(&s, &["t"], &[]);
    let hook = Listener::start(&[Answer::Status(500), Answer::Status(503)]);
    std::fs::write(
        s.home().join("strata.toml"),
        format!(
            "[notify]\non = [\"failed\"]\nwebhook = \"{}\"\n",
            hook.url()
        ),
    )
    .unwrap();
    std::fs::rename(s.path("repo"), s.path("repo-away")).unwrap();
    let _d = s.serve_env(&[("STRATA_TEST_WEBHOOK_BACKOFF_MS", "50")]);
    wait_for("the audited delivery", 150, || {
        audit(&s).contains("sent to webhook")
    });
    assert_eq!(hook.count(), 3, "two 5xx retried, then delivered");
    let reqs = hook.got.lock().unwrap();
    assert!(
        reqs.iter().all(|r| r.body == reqs[0].body),
        "the same alert each time"
    );
    drop(reqs);
    assert_eq!(hook.events(), vec![pair("t", "failed"); 3]);
    assert!(!audit(&s).contains("failed: webhook"));
}

#[test]
fn a_webhook_that_never_answers_is_an_audited_failure_and_holds_nothing_up() {
    let s = Strata::new();
    setup(&s, &["t"], &[]);
    let hook = Listener::start(&[Answer::Never; 8]);
    let log = s.path("alerts.jsonl");
    std::fs::write(
        s.home().join("strata.toml"),
        notify_config(&log, &hook.url()),
    )
    .unwrap();
    std::fs::rename(s.path("repo"), s.path("repo-away")).unwrap();
    let _d = s.serve_env(&[
        ("STRATA_TEST_WEBHOOK_TIMEOUT_SECS", "2"),
        ("STRATA_TEST_WEBHOOK_BACKOFF_MS", "50"),
    ]);
    wait_for("the webhook's first try", 150, || hook.count() >= 1);
    // The webhook hangs; the command and a backup go on regardless.
    wait_for("the command's alert", 30, || {
        !command_alerts(&log).is_empty()
    });
    std::fs::rename(s.path("repo-away"), s.path("repo")).unwrap();
    s.ok(&["backup", "run", "t"]);
    wait_for("the audited webhook failure", 150, || {
        audit(&s).contains("failed: webhook")
    });
    let a = audit(&s);
    let want = format!(
        "failed: webhook http://127.0.0.1:{}: timed out after 2 s, 4 attempt(s)",
        hook.port
    );
    assert!(a.contains(&want), "{a}");
    assert!(
        hook.count() >= 4,
        "each of the 4 attempts reached the listener"
    );
    assert_no_token(&s);
}

#[test]
fn a_tasks_own_notify_replaces_the_global_one() {
    let s = Strata::new();
    let own = Listener::start(&[]);
    let global = Listener::start(&[]);
    let file = private_file(&s.path("own-hook.url"), &format!("{}\n", own.url()));
    setup(&s, &["plain"], &[]);
    let log = s.path("alerts.jsonl");
    let src = s.path("src");
    s.ok(&[
        "task",
        "add",
        "own",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        "d",
        "--incremental",
        "* * * * *",
        "--notify-on",
        "failed",
        "--notify-webhook-file",
        file.to_str().unwrap(),
    ]);
    std::fs::write(
        s.home().join("strata.toml"),
        notify_config(&log, &global.url()),
    )
    .unwrap();
    let shown = s.ok(&["task", "show", "own"]);
    assert!(
        shown.contains("alerts        own: on failed; webhook from"),
        "{shown}"
    );
    std::fs::rename(s.path("repo"), s.path("repo-away")).unwrap();
    let _d = s.serve();
    wait_for("both tasks' failed alerts", 150, || {
        own.count() >= 1 && global.count() >= 1 && !command_alerts(&log).is_empty()
    });
    std::fs::rename(s.path("repo-away"), s.path("repo")).unwrap();
    s.ok(&["backup", "run", "plain"]);
    s.ok(&["backup", "run", "own"]);
    wait_for("plain's recovered alert", 150, || {
        global.count() >= 2 && command_alerts(&log).len() >= 2
    });
    wait_for("own's task row active", 30, || {
        let rows = s.json(&["task", "list"]);
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "active")
    });
    // `own` sends only `failed`, only to its own webhook; `plain` gets the global ones.
    assert_eq!(own.events(), vec![pair("own", "failed")]);
    let plain = vec![pair("plain", "failed"), pair("plain", "recovered")];
    assert_eq!(global.events(), plain);
    assert_eq!(command_alerts(&log), plain);
    assert_no_token(&s);
}

#[test]
fn notify_settings_are_checked_at_add_and_apply_and_round_trip_through_export() {
    let s = Strata::new();
    std::fs::create_dir_all(s.path("src")).unwrap();
    s.ok(&[
        "dest",
        "add",
        "d",
        "--local",
        s.path("repo").to_str().unwrap(),
    ]);
    let src = s.path("src");
    let add = |extra: &[&str]| {
        let mut a = vec![
            "task",
            "add",
            "t",
            "--dir",
            src.to_str().unwrap(),
            "--dest",
            "d",
        ];
        a.extend_from_slice(extra);
        s.run(&a)
    };
    let (code, _, err) = add(&["--notify-on", "failed,fialed"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--notify-on") && err.contains("\"fialed\" is not an event"),
        "{err}"
    );
    let shared = s.path("shared.url");
    std::fs::write(&shared, "https://hooks.example.com/secret-token").unwrap();
    let (code, _, err) = add(&["--notify-webhook-file", shared.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("readable by others") && err.contains("chmod go="),
        "{err}"
    );
    let bad = private_file(&s.path("bad.url"), "ftp://hooks.example.com/secret-token");
    let (code, _, err) = add(&["--notify-webhook-file", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("http:// or https://") && !err.contains("secret-token"),
        "{err}"
    );
    // An inline webhook would put its token into the catalog and exports.
    let inline = format!(
        "[[task]]\nname = \"t\"\nsource = {{ kind = \"dir\", path = {:?} }}\ndestinations = [\"d\"]\n\
         notify = {{ webhook = \"https://hooks.example.com/secret-token\" }}\n",
        src.to_str().unwrap()
    );
    std::fs::write(s.path("inline.toml"), inline).unwrap();
    let (code, _, err) = s.run(&["apply", "-f", s.path("inline.toml").to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("webhook_file") && !err.contains("secret-token"),
        "{err}"
    );

    let good = private_file(
        &s.path("good.url"),
        "https://hooks.example.com/secret-token\n",
    );
    let (code, _, err) = add(&[
        "--notify-on",
        "failed,recovered",
        "--notify-command",
        "logger strata",
        "--notify-webhook-file",
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let exported = s.ok(&["export"]);
    let want = format!(
        "notify = {{ on = [\"failed\", \"recovered\"], command = \"logger strata\", webhook_file = {:?} }}",
        good.to_str().unwrap()
    );
    assert!(exported.contains(&want), "{exported}");
    assert!(!exported.contains("secret-token"), "{exported}");
    std::fs::write(s.path("export.toml"), &exported).unwrap();
    let out = s.ok(&["apply", "-f", s.path("export.toml").to_str().unwrap()]);
    assert!(out.contains("= task t (unchanged)"), "{out}");
    // A task without notify loads and exports as before: no notify key.
    s.ok(&[
        "task",
        "add",
        "u",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        "d",
    ]);
    let t: Value = s.json(&["task", "show", "u"]);
    assert!(t.to_string().find("\"notify\"").is_none(), "{t}");
}
