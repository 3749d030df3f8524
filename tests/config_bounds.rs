//! Numbers, durations, schedules and paths at the edges: every value a user
//! can give is bounded where it enters (flags, `strata.toml`, `apply` TOML,
//! the environment), and out-of-range input is a one-sentence usage error
//! (exit 2) naming the key and the range — never a panic, an abort, or a
//! silent success. Each test drives the real binary in its own temporary home.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn code_is(&self, code: i32, what: &str) -> &Self {
        assert_eq!(
            self.code, code,
            "{what}: exit code {} (expected {code})\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Exit `code` with one stderr line mentioning every needle.
    fn one_line(&self, code: i32, needles: &[&str], what: &str) {
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
        assert!(
            !self.stderr.chars().any(|c| c.is_control() && c != '\n'),
            "{what}: raw control characters in stderr: {:?}",
            self.stderr
        );
    }
}

struct World {
    root: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let w = World {
            root: tempfile::Builder::new()
                .prefix("strata-bounds-")
                .tempdir()
                .unwrap(),
        };
        std::fs::create_dir_all(w.src()).unwrap();
        std::fs::write(w.src().join("a.txt"), "alpha\n").unwrap();
        w
    }
    fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }
    fn src(&self) -> PathBuf {
        self.root.path().join("src")
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }
    fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> Out {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(self.home())
            .args(args)
            .env_remove("STRATA_HOME")
            .env_remove("STRATA_LOG")
            .env_remove("STRATA_THREADS")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
    fn run(&self, args: &[&str]) -> Out {
        self.run_env(&[], args)
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        o.code_is(0, &args.join(" "));
        o.stdout
    }
    fn dest(&self, name: &str) {
        let p = self.path(name);
        self.ok(&["dest", "add", name, "--local", p.to_str().unwrap()]);
    }
    fn task(&self, name: &str, extra: &[&str]) -> Out {
        let src = self.src();
        let mut a = vec!["task", "add", name, "--dir", src.to_str().unwrap()];
        a.extend_from_slice(extra);
        self.run(&a)
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    fn apply_text(&self, text: &str, dry_run: bool) -> Out {
        let f = self.file("tasks.toml", text);
        let mut a = vec!["apply", "-f", f.to_str().unwrap()];
        if dry_run {
            a.push("--dry-run");
        }
        self.run(&a)
    }
    fn task_toml(&self, extra: &str) -> String {
        format!(
            "[[destination]]\nname = \"d\"\nkind = \"local\"\npath = {:?}\n\n[[task]]\nname = \"t\"\nsource = {{ kind = \"dir\", path = {:?} }}\ndestinations = [\"d\"]\n{extra}\n",
            self.path("d").display().to_string(),
            self.src().display().to_string()
        )
    }
    fn serve(&self, env: &[(&str, &str)]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--home")
            .arg(self.home())
            .args(["serve", "--listen", "off"])
            .env_remove("STRATA_THREADS")
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
            assert!(err.read_line(&mut line).unwrap() > 0, "daemon exited early");
        }
        std::thread::spawn(move || for _ in err.lines() {});
        Daemon(child)
    }
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---- item 10: duplicate destinations ----

#[test]
fn a_task_naming_a_destination_twice_is_refused() {
    let w = World::new();
    w.dest("nas");
    w.dest("usb");
    for dests in ["nas,nas", "nas,usb,nas", "usb,nas,nas"] {
        w.task("x", &["--dest", dests])
            .one_line(2, &["--dest", "\"nas\" twice"], dests);
    }
    assert!(!w.ok(&["task", "list"]).contains('x'), "nothing stored");
    let doc = w
        .task_toml("")
        .replace("destinations = [\"d\"]", "destinations = [\"d\", \"d\"]");
    w.apply_text(&doc, true)
        .one_line(2, &["task \"t\"", "\"d\" twice"], "apply --dry-run");
}

#[test]
fn an_old_catalog_with_a_repeated_destination_is_repaired_at_open() {
    let w = World::new();
    w.dest("nas");
    w.dest("usb");
    w.task("x", &["--dest", "nas,usb"]).code_is(0, "task add");
    {
        // What an older build stored for `--dest nas,usb,nas`.
        let cat =
            strata::core::catalog::Catalog::open(&w.home().join("catalog.redb"), "test").unwrap();
        let mut t = cat.get_task("x").unwrap().unwrap();
        t.destinations = vec!["nas".into(), "usb".into(), "nas".into()];
        cat.put_task(&t).unwrap();
    }
    let o = w.run(&["task", "show", "x", "--json"]);
    o.code_is(0, "task show");
    assert!(
        o.stderr
            .contains("task \"x\" listed a destination twice (nas,usb,nas)")
            && o.stderr.contains("nas,usb once each"),
        "a note says what was repaired: {}",
        o.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let text = v.to_string();
    assert!(!text.contains("\"nas\",\"usb\",\"nas\""), "{text}");
    // Repaired once: the next command is quiet, backups work, export re-applies.
    let o = w.run(&["task", "list"]);
    assert!(!o.stderr.contains("twice"), "{}", o.stderr);
    w.ok(&["backup", "run", "x", "--full"]);
    let exported = w.ok(&["export"]);
    w.apply_text(&exported, true)
        .code_is(0, "export re-applies");
}

// ---- item 11: durations ----

#[test]
fn audit_since_out_of_range_is_a_usage_error() {
    let w = World::new();
    w.dest("d");
    for d in [
        "292000y",
        "36501d",
        "101y",
        "99999999999999999999d",
        "9223372036854775807m",
        "15250000w",
    ] {
        w.run(&["audit", "--since", d])
            .one_line(2, &["--since", "out of range", "1m to 100y"], d);
    }
    w.run(&["audit", "--since", "100y"]).code_is(0, "100y");
    w.run(&["audit", "--since", "0d"])
        .one_line(2, &["--since", "zero"], "0d");
}

#[test]
fn retention_and_limits_out_of_range_are_usage_errors() {
    let w = World::new();
    w.dest("d");
    w.task("t", &["--dest", "d", "--keep-within", "292000y"])
        .one_line(2, &["--keep-within", "out of range"], "keep-within");
    w.task("t", &["--dest", "d", "--keep-daily", "4000000000"])
        .one_line(2, &["--keep-daily", "0 to 10000"], "keep-daily");
    w.task("t", &["--dest", "d", "--keep-last-full", "10001"])
        .one_line(2, &["--keep-last-full", "1 to 10000"], "keep-last-full");
    for n in ["0", "99999999999999999999999", "-1", "1000001"] {
        let flag = format!("--limit={n}");
        let o = w.run(&["audit", &flag]);
        o.code_is(2, n);
        assert!(o.stderr.contains("1 to 1000000"), "{}", o.stderr);
        w.run(&["runs", &flag]).code_is(2, n);
    }
    w.run(&["runs", "--limit", "1000000"])
        .code_is(0, "max limit");
}

#[test]
fn through_the_daemon_bad_input_is_an_error_reply_not_empty_success() {
    let w = World::new();
    w.dest("d");
    let _d = w.serve(&[]);
    w.run(&["audit", "--since", "292000y"]).one_line(
        2,
        &["--since", "out of range"],
        "daemon audit",
    );
    w.run(&["audit", "--since", "1d"])
        .code_is(0, "daemon alive");
}

#[test]
fn a_panic_in_a_daemon_command_is_a_failure_for_the_client() {
    let w = World::new();
    w.dest("d");
    let _d = w.serve(&[("STRATA_TEST_PANIC_IN", "dispatch")]);
    for _ in 0..2 {
        w.run(&["task", "list"])
            .one_line(1, &["internal error", "logged as a bug"], "panic");
    }
}

// ---- item 12: numeric config at load ----

#[test]
fn hook_timeouts_and_counts_are_bounded_in_apply() {
    let w = World::new();
    for (extra, needles) in [
        (
            "hooks = { before = \"true\", timeout_secs = 18446744073709551615 }",
            &["timeout_secs"][..],
        ),
        (
            "hooks = { before = \"true\", timeout_secs = 86401 }",
            &["hooks.timeout_secs", "1 to 86400"][..],
        ),
        (
            "hooks = { before = \"true\", timeout_secs = 0 }",
            &["hooks.timeout_secs", "1 to 86400"][..],
        ),
        (
            "retention = { keep_daily = 4000000000 }",
            &["retention.keep_daily", "0 to 10000"][..],
        ),
        (
            "retention = { keep_within = \"292000y\" }",
            &["retention.keep_within", "out of range"][..],
        ),
        (
            "compression_level = 2147483647",
            &["compression_level", "1 to 22"][..],
        ),
        (
            "hooks = { before = \"true\", timeout_secs = -5 }",
            &["timeout_secs", "1 to 86400"][..],
        ),
        (
            "retention = { keep_last_full = 1.5 }",
            &["keep_last_full", "1 to 10000"][..],
        ),
    ] {
        let doc = w.task_toml(extra);
        w.apply_text(&doc, true).one_line(2, needles, extra);
        w.apply_text(&doc, false).one_line(2, needles, extra);
    }
    let doc = w.task_toml("hooks = { before = \"true\", timeout_secs = 86400 }");
    w.apply_text(&doc, false).code_is(0, "the maximum applies");
    w.ok(&["backup", "run", "t", "--full"]);
}

#[test]
fn strata_toml_numbers_are_bounded_naming_the_key() {
    let w = World::new();
    std::fs::create_dir_all(w.home()).unwrap();
    for (text, needles) in [
        (
            "max_parallel_jobs = 100000\n",
            &["max_parallel_jobs", "1 to 256"][..],
        ),
        (
            "max_parallel_jobs = 0\n",
            &["max_parallel_jobs", "1 to 256"][..],
        ),
        (
            "[ssh]\nmax_sessions = 1000000\n",
            &["max_sessions", "1 to 1024"][..],
        ),
        (
            "[ssh]\nmax_auth_attempts = 1000\n",
            &["max_auth_attempts", "1 to 100"][..],
        ),
        (
            "max_parallel_jobs = -3\n",
            &["max_parallel_jobs", "1 to 256"][..],
        ),
        (
            "[ssh]\nmax_sessions = 99999999999999999999999\n",
            &["max_sessions", "1 to 1024"][..],
        ),
        (
            "[ssh]\nidle_timeout = \"292000y\"\n",
            &["idle_timeout", "1s to 30d"][..],
        ),
        (
            "[ssh]\nidle_timeout = \"99999999999999999999s\"\n",
            &["idle_timeout", "1s to 30d"][..],
        ),
    ] {
        std::fs::write(w.home().join("strata.toml"), text).unwrap();
        w.run(&["task", "list"]).one_line(2, needles, text);
    }
}

// ---- item 13: STRATA_THREADS ----

#[test]
fn strata_threads_is_validated_at_startup() {
    let w = World::new();
    for v in ["100000", "0", "abc", "-1", "", "257", " 4x"] {
        for args in [&["task", "list"][..], &["info"][..]] {
            w.run_env(&[("STRATA_THREADS", v)], args).one_line(
                2,
                &["STRATA_THREADS", "1 to 256"],
                &format!("STRATA_THREADS={v:?} {args:?}"),
            );
        }
    }
    w.dest("d");
    w.task("t", &["--dest", "d"]).code_is(0, "task add");
    let o = w.run_env(
        &[("STRATA_THREADS", "1")],
        &["backup", "run", "t", "--full"],
    );
    o.code_is(0, "STRATA_THREADS=1");
    w.run_env(&[("STRATA_THREADS", "256")], &["task", "list"])
        .code_is(0, "256");
}

// ---- messages ----

#[test]
fn cron_errors_are_ours_in_five_field_form() {
    let w = World::new();
    w.dest("d");
    let cases: &[(&str, &[&str])] = &[
        (
            "0 25 * * *",
            &["schedule \"0 25 * * *\": hour 25 is out of range 0-23"],
        ),
        ("60 3 * * *", &["minute 60 is out of range 0-59"]),
        ("0 3 32 * *", &["day-of-month 32 is out of range 1-31"]),
        ("0 3 * 13 *", &["month 13 is out of range 1-12"]),
        ("0 3 * * 8", &["day-of-week 8 is out of range 0-7"]),
        (
            "@dayly",
            &[
                "unknown schedule macro; did you mean @daily? use @hourly, @daily, @weekly, @monthly or @yearly",
            ],
        ),
        ("dayly", &["did you mean @daily?"]),
        ("0 3 30 2 *", &["can never fire", "February has no day 30"]),
        ("0 3 31 4,6,9,11 *", &["can never fire"]),
        ("*/0 * * * *", &["step"]),
    ];
    for (expr, needles) in cases {
        let o = w.task("t", &["--dest", "d", "--full", expr]);
        o.one_line(2, needles, expr);
        assert!(
            !o.stderr.contains("less than") && !o.stderr.contains(&format!("0 {expr}")),
            "no library wording or 6-field form: {}",
            o.stderr
        );
    }
    for expr in [
        "59 23 31 12 7",
        "0 3 29 2 *",
        "*/15 0-23/2 * jan-jun mon-fri",
    ] {
        w.task("ok", &["--dest", "d", "--full", expr])
            .code_is(0, expr);
        w.ok(&["task", "remove", "ok"]);
    }
    let doc = w.task_toml("full = \"0 3 30 2 *\"");
    w.apply_text(&doc, true)
        .one_line(2, &["task \"t\"", "full", "can never fire"], "apply");
}

#[test]
fn chunker_min_above_max_says_what_is_wrong() {
    let w = World::new();
    let repo = w.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join("strata-repo.toml"),
        "format = 1\nid = \"0123456789abcdef\"\ncreated = \"2026-01-01T00:00:00Z\"\ncompression = \"zstd\"\nencryption = \"none\"\n\n[chunker]\nmin = 1048576\navg = 262144\nmax = 65536\n",
    )
    .unwrap();
    let o = w.run(&["dest", "add", "d", "--local", repo.to_str().unwrap()]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr
            .contains("chunker min 1048576 is larger than max 65536")
            && !o.stderr.contains("unsupported repository settings"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_nul_in_a_path_is_refused_at_validation_and_printed_escaped() {
    let w = World::new();
    let doc = w.task_toml("").replace("/d\"", "/d\\u0000x\"");
    assert!(doc.contains("\\u0000"), "{doc}");
    for dry in [true, false] {
        let o = w.apply_text(&doc, dry);
        o.one_line(2, &["destination \"d\"", "NUL", "\\0"], "apply");
        assert!(!o.stderr.contains('\0'));
    }
    let doc = w
        .task_toml("")
        .replace("/src\"", "/src\\u0000\\u001b[31m\"");
    let o = w.apply_text(&doc, true);
    o.one_line(2, &["source.path", "NUL"], "source with NUL");
    assert!(!o.stderr.contains('\u{1b}'));
}

#[test]
fn never_an_abort_or_panic_on_hostile_numbers() {
    let w = World::new();
    w.dest("d");
    let src = w.src();
    let hostile = [
        "18446744073709551616",
        "-9223372036854775809",
        "4294967296",
        "99999999999999999999999999999",
    ];
    for n in hostile {
        for flag in [
            "--keep-last-full",
            "--keep-daily",
            "--keep-weekly",
            "--keep-monthly",
            "--keep-yearly",
            "--compression",
        ] {
            let o = w.run(&[
                "task",
                "add",
                "t",
                "--dir",
                src.to_str().unwrap(),
                "--dest",
                "d",
                flag,
                n,
            ]);
            o.code_is(2, &format!("{flag} {n}"));
        }
        for args in [
            &["jobs", "cancel", n][..],
            &["audit", "--limit", n][..],
            &["runs", "--limit", n][..],
        ] {
            let o = w.run(args);
            assert!(o.code == 2 || o.code == 3, "{args:?}: {}", o.code);
        }
    }
    assert!(Path::new(&w.home()).exists());
}

#[test]
fn over_ssh_a_viewer_gets_an_error_not_empty_success() {
    if common::sshkit::skip_without_ssh("over_ssh_a_viewer_gets_an_error_not_empty_success") {
        return;
    }
    let s = common::Strata::new();
    std::fs::create_dir_all(s.path("src")).unwrap();
    s.setup("d", "t", &s.path("src"), &[]);
    let keys = s.path("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let key = common::sshkit::keygen(&keys, "vw");
    let public = key.with_extension("pub");
    s.ok(&[
        "keys",
        "add",
        public.to_str().unwrap(),
        "--role",
        "viewer",
        "--name",
        "vera",
    ]);
    let d = common::sshkit::serve(&s);
    for since in ["292000y", "99999999999999999999d"] {
        let (code, out, err) =
            common::sshkit::ssh(&s, d.port, &key, &["strata", "audit", "--since", since]);
        assert_eq!(code, 2, "{since}: exit {code}\n{out}\n{err}");
        assert!(err.contains("out of range"), "{err}");
    }
    let (code, _, err) =
        common::sshkit::ssh(&s, d.port, &key, &["strata", "audit", "--since", "1d"]);
    assert_eq!(code, 0, "the server still answers: {err}");
}
