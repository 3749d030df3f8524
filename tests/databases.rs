//! Database sources through the real binary: SQLite snapshots taken while a
//! writer keeps committing (WAL and rollback journal), SQL-dump backups,
//! incrementals after scattered page changes, dump commands that fail, time
//! out or need secrets, and real PostgreSQL 15 and MariaDB servers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;
#[path = "databases/servers.rs"]
mod servers;

use common::Strata;
use common::sqlitekit::{check_committed, dump_of, insert_batch, make_db};
use rusqlite::Connection;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub(crate) fn dest_and_task(s: &Strata, task: &[&str]) {
    s.ok(&[
        "dest",
        "add",
        "d",
        "--local",
        s.path("repo").to_str().unwrap(),
    ]);
    let mut args = vec!["task", "add"];
    args.extend_from_slice(task);
    args.extend_from_slice(&["--dest", "d"]);
    s.ok(&args);
}

fn copy_while_writing(journal: &str, kind: &str) {
    let s = Strata::new();
    let db = s.path("app.db");
    make_db(&db, journal, 20_000);
    dest_and_task(
        &s,
        &["app", "--sqlite", db.to_str().unwrap(), "--type", kind],
    );
    let show = s.ok(&["task", "show", "app"]);
    assert!(show.contains(&format!("sqlite · {kind}")), "{show}");
    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, stop, committed) = (db.clone(), stop.clone(), committed.clone());
        std::thread::spawn(move || {
            let c = Connection::open(&db).unwrap();
            c.busy_timeout(std::time::Duration::from_secs(60)).unwrap();
            let mut next = 20_000;
            while !stop.load(Ordering::Relaxed) {
                insert_batch(&c, next, 97);
                next += 97;
                committed.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    // Let the writer get going, then back up twice while it writes.
    while committed.load(Ordering::Relaxed) < 5 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let before = committed.load(Ordering::Relaxed);
    let full = s.backup("app", "full");
    let incr = s.backup("app", "incremental");
    // The writer kept committing while the backups ran.
    assert!(committed.load(Ordering::Relaxed) > before);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(committed.load(Ordering::Relaxed) > 5);
    for (b, name) in [(&full, "full.db"), (&incr, "incr.db")] {
        let to = s.path(name);
        s.ok(&["restore", common::id_of(b), "--to", to.to_str().unwrap()]);
        let rows = check_committed(&to);
        assert!(rows >= 20_000);
        // Never over an existing file.
        let (code, _, err) = s.run(&["restore", common::id_of(b), "--to", to.to_str().unwrap()]);
        assert_eq!(code, 4, "{err}");
        assert!(err.contains("already exists"), "{err}");
    }
    let list = s.ok(&["backup", "list"]);
    assert!(list.contains(&format!("sqlite · {kind}")), "{list}");
}

#[test]
fn sqlite_snapshot_of_a_wal_database_being_written() {
    copy_while_writing("WAL", "snapshot");
}

#[test]
fn sqlite_snapshot_of_a_journal_database_being_written() {
    copy_while_writing("DELETE", "snapshot");
}

#[test]
fn sqlite_dump_of_a_database_being_written() {
    copy_while_writing("WAL", "backup");
    copy_while_writing("DELETE", "backup");
}

#[test]
fn sqlite_backup_type_rebuilds_an_equal_database() {
    let s = Strata::new();
    let db = s.path("app.sqlite");
    make_db(&db, "WAL", 3_000);
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT, raw BLOB, score REAL);
             CREATE INDEX notes_body ON notes(body);
             CREATE VIEW recent AS SELECT * FROM notes WHERE id > 1;
             CREATE TRIGGER bump AFTER INSERT ON notes BEGIN UPDATE counter SET n = n; END;
             INSERT INTO notes (body, raw, score) VALUES ('it''s; -- here', x'00ff10', 2.5),
               ('two
lines', NULL, -1e300), (NULL, x'', 0.1);",
        )
        .unwrap();
    dest_and_task(
        &s,
        &["app", "--sqlite", db.to_str().unwrap(), "--type", "backup"],
    );
    let full = s.backup("app", "full");
    assert!(s.ok(&["task", "list"]).contains("sqlite · backup"));
    let to = s.path("restored/app.sqlite");
    s.ok(&[
        "restore",
        common::id_of(&full),
        "--to",
        to.to_str().unwrap(),
    ]);
    assert_eq!(dump_of(&db), dump_of(&to));
    // Without --to: a new file next to the original, named and printed.
    let out = s.ok(&["restore", common::id_of(&full)]);
    let made: Vec<_> = std::fs::read_dir(s.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("app-restore-") && n.ends_with(".sqlite"))
        .collect();
    assert_eq!(made.len(), 1, "{out}");
    assert!(out.contains(&made[0]), "{out}");
    assert_eq!(dump_of(&db), dump_of(&s.root().join(&made[0])));
    // The export names the kind and type, and applying it back changes nothing.
    let export = s.ok(&["export"]);
    assert!(
        export.contains("kind = \"sqlite\"") && export.contains("type = \"backup\""),
        "{export}"
    );
    std::fs::write(s.path("tasks.toml"), &export).unwrap();
    let plan = s.ok(&[
        "apply",
        "-f",
        s.path("tasks.toml").to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(!plan.contains('~') && !plan.contains('+'), "{plan}");
}

#[test]
fn sqlite_incremental_after_one_percent_page_change_stores_little() {
    let s = Strata::new();
    let db = s.path("big.db");
    let c = Connection::open(&db).unwrap();
    c.execute_batch("CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB NOT NULL)")
        .unwrap();
    let mut rng = common::Rng::new(7);
    c.execute_batch("BEGIN").unwrap();
    // ~16 MiB of incompressible rows, four to a page.
    for i in 0..16_000i64 {
        c.execute(
            "INSERT INTO blobs VALUES (?1, ?2)",
            rusqlite::params![i, rng.bytes(1000)],
        )
        .unwrap();
    }
    c.execute_batch("COMMIT").unwrap();
    let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    dest_and_task(&s, &["big", "--sqlite", db.to_str().unwrap()]);
    let full = s.backup("big", "full");
    // Rewrite 1 % of the pages, scattered: one row in place per page.
    c.execute_batch("BEGIN").unwrap();
    for _ in 0..pages / 100 {
        let id = rng.below(16_000) as i64;
        c.execute(
            "UPDATE blobs SET b = ?1 WHERE id = ?2",
            rusqlite::params![rng.bytes(1000), id],
        )
        .unwrap();
    }
    c.execute_batch("COMMIT").unwrap();
    drop(c);
    let incr = s.backup("big", "incremental");
    let size = std::fs::metadata(&db).unwrap().len();
    let stored = common::u64_of(&incr, "stored_bytes");
    let ratio = stored as f64 / size as f64;
    eprintln!(
        "FIGURE sqlite 1% pages: database {size} B, full stored {} B, incremental stored {stored} B = {:.2} % of the file",
        common::u64_of(&full, "stored_bytes"),
        ratio * 100.0
    );
    assert!(ratio < 0.05, "incremental stored {stored} of {size} bytes");
    let to = s.path("back.db");
    s.ok(&[
        "restore",
        common::id_of(&incr),
        "--to",
        to.to_str().unwrap(),
    ]);
    let a = Connection::open(&db).unwrap();
    let b = Connection::open(&to).unwrap();
    let sum = |c: &Connection| -> String {
        c.query_row(
            "SELECT group_concat(hex(b), '') FROM (SELECT b FROM blobs ORDER BY id)",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert!(sum(&a) == sum(&b), "restored rows differ");
}

fn private(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub(crate) fn last_run(s: &Strata, task: &str) -> Value {
    let runs = s.json(&["runs", "--task", task]);
    runs.as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn command_source_streams_fails_times_out_and_keeps_secrets() {
    let s = Strata::new();
    let out = s.path("out");
    std::fs::create_dir_all(&out).unwrap();
    let restore = format!("cat > {}/{{target}}", out.display());
    dest_and_task(
        &s,
        &[
            "ok",
            "--command",
            "printf strata-dump-data",
            "--restore-command",
            &restore,
        ],
    );
    let full = s.backup("ok", "full");
    let (_, text, _) = s.run(&["restore", common::id_of(&full), "--to", "copy; touch pwned"]);
    assert_eq!(
        std::fs::read(out.join("copy; touch pwned")).unwrap(),
        b"strata-dump-data",
        "{text}"
    );
    assert!(!Path::new("pwned").exists() && !out.join("pwned").exists());
    let printed = s.ok(&["restore", common::id_of(&full)]);
    assert!(printed.contains("ok-restore-"), "{printed}");
    // Operators restore only into names restore_databases allows.
    let (code, _, err) = s.run(&[
        "--role",
        "operator",
        "restore",
        common::id_of(&full),
        "--to",
        "prod",
    ]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("restore_databases"), "{err}");
    std::fs::write(
        s.home().join("strata.toml"),
        "restore_databases = [\"*-restore-*\"]\n",
    )
    .unwrap();
    let (code, _, err) = s.run(&[
        "--role",
        "operator",
        "restore",
        common::id_of(&full),
        "--to",
        "prod",
    ]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("*-restore-*"), "{err}");
    s.ok(&["--role", "operator", "restore", common::id_of(&full)]);
    // --stdout streams the dump itself.
    let (code, data, _) = s.run(&["restore", common::id_of(&full), "--stdout"]);
    assert_eq!((code, data.as_str()), (0, "strata-dump-data"));

    // A dump that fails: exit 1, the stderr tail in the run, no backup kept.
    let fail =
        "sh -c 'printf partial; echo \"pg_dump: error: connection to server failed\" >&2; exit 2'";
    s.ok(&["task", "add", "bad", "--command", fail, "--dest", "d"]);
    let (code, _, err) = s.run(&["backup", "run", "bad"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("connection to server failed"), "{err}");
    let run = last_run(&s, "bad");
    assert_eq!(run["status"], "failed", "{run:#}");
    let msg = run["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("status 2") && msg.contains("connection to server failed"),
        "{run:#}"
    );
    assert!(s.backups().values().all(|b| b["task"] != "bad"));
    // A dump that hangs is killed at its timeout.
    s.ok(&[
        "task",
        "add",
        "slow",
        "--command",
        "sleep 60",
        "--dump-timeout",
        "2s",
        "--dest",
        "d",
    ]);
    let t0 = std::time::Instant::now();
    let (code, _, err) = s.run(&["backup", "run", "slow"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("timed out"), "{err}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(30));
    assert!(s.backups().values().all(|b| b["task"] != "slow"));

    // Secrets: an env file readable by others is refused; a private one works
    // and its value is in no record, log or export.
    let env = s.path("app.env");
    let secret = "s3cr3t-Hunter2-value";
    private(&env, &format!("# db password\nAPP_TOKEN={secret}\n"), 0o644);
    // The dump proves it sees the secret by its length, without printing it.
    let dump = "sh -c 'printf \"len=%s\" \"${#APP_TOKEN}\"'";
    let (code, _, err) = s.run(&[
        "task",
        "add",
        "sec",
        "--command",
        dump,
        "--env-file",
        env.to_str().unwrap(),
        "--dest",
        "d",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("readable by others"), "{err}");
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600)).unwrap();
    s.ok(&[
        "task",
        "add",
        "sec",
        "--command",
        dump,
        "--env-file",
        env.to_str().unwrap(),
        "--dest",
        "d",
    ]);
    let b = s.backup("sec", "full");
    let (_, data, _) = s.run(&["restore", common::id_of(&b), "--stdout"]);
    assert_eq!(data, format!("len={}", secret.len()));
    // The TOML form round-trips, and apply refuses a shared env file too.
    let export = s.ok(&["export"]);
    assert!(
        export.contains("kind = \"command\"") && export.contains("env_file = "),
        "{export}"
    );
    std::fs::write(s.path("tasks.toml"), &export).unwrap();
    let plan = s.ok(&[
        "apply",
        "-f",
        s.path("tasks.toml").to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(!plan.contains('~') && !plan.contains('+'), "{plan}");
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code, _, err) = s.run(&[
        "apply",
        "-f",
        s.path("tasks.toml").to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("readable by others") && !err.contains(secret),
        "{err}"
    );
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut seen = String::new();
    for args in [
        vec!["runs", "--json"],
        vec!["audit", "--json"],
        vec!["export"],
        vec!["task", "show", "sec", "--json"],
        vec!["backup", "list", "--json"],
    ] {
        seen.push_str(&s.ok(&args));
    }
    assert!(
        !seen.contains(secret),
        "the secret leaked into command output"
    );
    for e in walk(&s.home()) {
        let bytes = std::fs::read(&e).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "the secret is in {}",
            e.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn damaged_dump_stops_the_restore_command_and_names_the_target() {
    let s = Strata::new();
    let out = s.path("out");
    std::fs::create_dir_all(&out).unwrap();
    let restore = format!("cat > {}/{{target}}", out.display());
    dest_and_task(
        &s,
        &[
            "d1",
            "--command",
            "head -c 300000 /dev/urandom",
            "--restore-command",
            &restore,
        ],
    );
    let b = s.backup("d1", "full");
    let packs = s
        .path("repo")
        .join("backups")
        .join(common::id_of(&b))
        .join("packs");
    for p in std::fs::read_dir(&packs).unwrap() {
        let p = p.unwrap().path();
        let len = std::fs::metadata(&p).unwrap().len();
        common::overwrite_at(&p, len / 2, &[0xAA; 64]);
    }
    let (code, _, err) = s.run(&["restore", common::id_of(&b), "--to", "copy"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("restore command was stopped") && err.contains("copy"),
        "{err}"
    );
    let (code, _, err) = s.run(&["restore", common::id_of(&b), "--stdout"]);
    assert_eq!(code, 1, "{err}");
}

/// `restore --stdout`'s bytes, exactly as they reach the caller's stdout.
fn stdout_bytes(mut c: std::process::Command) -> Vec<u8> {
    let out = c.stdin(std::process::Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn restore_to_stdout_streams_the_same_bytes_locally_through_the_daemon_and_over_ssh() {
    if common::sshkit::skip_without_ssh("restore_to_stdout_streams_the_same_bytes") {
        return;
    }
    let s = Strata::new();
    let db = s.path("app.sqlite");
    make_db(&db, "WAL", 4_000);
    dest_and_task(&s, &["app", "--sqlite", db.to_str().unwrap()]);
    let full = s.backup("app", "full");
    let id = common::id_of(&full).to_string();
    let strata = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_strata"));
        c.envs(s.envs())
            .arg("--home")
            .arg(s.home())
            .args(["restore", &id, "--stdout"])
            .env_remove("STRATA_HOME");
        c
    };
    let local = stdout_bytes(strata());
    assert!(local.starts_with(b"SQLite format 3\0"), "a database file");
    assert!(std::str::from_utf8(&local).is_err(), "binary, not text");
    let restored = s.path("from-stdout.sqlite");
    std::fs::write(&restored, &local).unwrap();
    let ok: String = Connection::open(&restored)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");

    let keys = s.path("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let key = common::sshkit::keygen(&keys, "op");
    s.ok(&[
        "keys",
        "add",
        key.with_extension("pub").to_str().unwrap(),
        "--role",
        "operator",
        "--name",
        "olga",
    ]);
    let d = common::sshkit::serve(&s);
    // The command line hands the command to the running daemon.
    assert!(
        stdout_bytes(strata()) == local,
        "the daemon's client wrote other bytes"
    );
    let mut ssh = common::sshkit::ssh_cmd(&s, d.port, &key);
    ssh.args(["ops@127.0.0.1", "strata", "restore", &id, "--stdout"]);
    assert!(stdout_bytes(ssh) == local, "SSH carried other bytes");
}
