//! The `snapshot` source through the real binary, with create and clear
//! commands that build and remove a hard-link farm the way Cassandra's
//! `nodetool snapshot` does (`cp -al` into `snapshots/{tag}`): full →
//! compaction-like rewrites → incremental → byte-for-byte restore, clearing
//! after success, `keep_local`, `snapshot list`'s exclusive bytes, a failing
//! create, a failing clear, and `snapshot clear --older-than`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;

use common::Strata;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// A fake Cassandra: `data/ks/<table>/*.db` and the two scripts.
struct Farm {
    data: PathBuf,
    create: String,
    clear: String,
    glob: String,
}

fn farm(s: &Strata) -> Farm {
    let data = s.path("data");
    write(&data.join("ks/t1/a.db"), &vec![b'a'; 40_000]);
    write(&data.join("ks/t1/b.db"), &vec![b'b'; 30_000]);
    write(&data.join("ks/t2/c.db"), &vec![b'c'; 20_000]);
    let create = s.path("create.sh");
    let d = data.display();
    fs::write(
        &create,
        format!(
            "set -e\nfor t in {d}/ks/*; do\n  mkdir -p \"$t/snapshots/$1\"\n  cp -al \"$t\"/*.db \"$t/snapshots/$1/\"\ndone\n[ ! -e {d}/../FAIL_CREATE ] || {{ echo 'nodetool: keyspace ks is unavailable' >&2; exit 2; }}\n"
        ),
    )
    .unwrap();
    let clear = s.path("clear.sh");
    fs::write(
        &clear,
        format!(
            "set -e\n[ ! -e {d}/../FAIL_CLEAR ] || {{ echo 'nodetool: clearsnapshot refused' >&2; exit 1; }}\necho \"clear $1\" >> {d}/../clear.log\nls {d}/../repo/backups/*/COMMIT >> {d}/../clear.log 2>&1 || true\nrm -rf {d}/ks/*/snapshots/\"$1\"\n"
        ),
    )
    .unwrap();
    Farm {
        create: format!("sh {} {{tag}}", create.display()),
        clear: format!("sh {} {{tag}}", clear.display()),
        glob: format!("{d}/*/*/snapshots/{{tag}}"),
        data,
    }
}

fn write(p: &Path, data: &[u8]) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
}

/// A compaction: a new file written beside the live one and renamed over it.
fn rewrite(p: &Path, data: &[u8]) {
    let tmp = p.with_extension("tmp");
    fs::write(&tmp, data).unwrap();
    fs::rename(&tmp, p).unwrap();
}

fn add_task(s: &Strata, f: &Farm, name: &str, extra: &[&str]) {
    if !s.home().join("catalog.redb").exists() {
        s.ok(&[
            "dest",
            "add",
            "d",
            "--local",
            s.path("repo").to_str().unwrap(),
        ]);
    }
    let mut args = vec![
        "task",
        "add",
        name,
        "--snapshot-create",
        &f.create,
        "--snapshot-path",
        &f.glob,
        "--snapshot-clear",
        &f.clear,
        "--dest",
        "d",
    ];
    args.extend_from_slice(extra);
    s.ok(&args);
}

/// The snapshot directories on disk (any tag).
fn snapshot_dirs(f: &Farm) -> Vec<String> {
    let mut out = Vec::new();
    for t in ["t1", "t2"] {
        if let Ok(rd) = fs::read_dir(f.data.join("ks").join(t).join("snapshots")) {
            for e in rd {
                out.push(format!("{t}/{}", e.unwrap().file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    out
}

fn list(s: &Strata, task: &str) -> Vec<Value> {
    s.json(&["snapshot", "list", "--task", task])
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn full_incremental_restore_and_clear_after_success() {
    let s = Strata::new();
    let f = farm(&s);
    add_task(&s, &f, "cass", &[]);
    let show = s.ok(&["task", "show", "cass"]);
    assert!(
        show.contains("snapshot") && show.contains("create        sh "),
        "{show}"
    );
    assert!(show.contains("keep local    none"), "{show}");
    let full = s.backup("cass", "full");
    assert_eq!(common::u64_of(&full, "file_count"), 3);
    // Cleared once the backup is stored: nothing of it stays on disk, and
    // when clear ran, the backup's commit marker was already written.
    assert_eq!(snapshot_dirs(&f), Vec::<String>::new());
    let log = fs::read_to_string(s.path("clear.log")).unwrap();
    let id = common::id_of(&full);
    assert!(
        log.starts_with(&format!("clear strata-cass_{id}\n")),
        "{log}"
    );
    assert!(log.contains(&format!("backups/{id}/COMMIT")), "{log}");
    assert!(list(&s, "cass").is_empty());

    // Compaction rewrites a.db, a new table file appears; b.db and c.db stay.
    rewrite(&f.data.join("ks/t1/a.db"), &vec![b'A'; 41_000]);
    write(&f.data.join("ks/t2/d.db"), &vec![b'd'; 5_000]);
    let incr = s.backup("cass", "incremental");
    // Unchanged hard links are reused without being read, though their ctime moved.
    assert_eq!(common::u64_of(&incr, "changed_files"), 2, "{incr:#}");
    assert_eq!(snapshot_dirs(&f), Vec::<String>::new());

    let to = s.path("restored");
    s.restore(common::id_of(&incr), &to, None);
    for rel in ["ks/t1/a.db", "ks/t1/b.db", "ks/t2/c.db", "ks/t2/d.db"] {
        assert_eq!(
            fs::read(to.join(rel)).unwrap(),
            fs::read(f.data.join(rel)).unwrap(),
            "{rel}"
        );
    }
    // Only what the snapshot held: no `snapshots/` directories, no tag in the paths.
    let mut top: Vec<_> = fs::read_dir(to.join("ks/t1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    top.sort();
    assert_eq!(top, ["a.db", "b.db"]);
    let rows = s.ok(&["backup", "list", "--task", "cass"]);
    assert!(rows.contains("snapshot"), "{rows}");
}

#[test]
fn keep_local_keeps_the_newest_and_list_shows_exclusive_bytes() {
    let s = Strata::new();
    let f = farm(&s);
    add_task(&s, &f, "cass", &["--keep-local", "2"]);
    let first = s.backup("cass", "full");
    let rows = list(&s, "cass");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let tag = rows[0]["tag"].as_str().unwrap().to_string();
    assert_eq!(tag, format!("strata-cass_{}", common::id_of(&first)));
    assert_eq!(rows[0]["backup"], common::id_of(&first));
    assert_eq!(common::u64_of(&rows[0], "apparent_bytes"), 90_000);
    // Right after create every file is shared with the live data.
    assert_eq!(common::u64_of(&rows[0], "exclusive_bytes"), 0);
    assert_eq!(rows[0]["paths"].as_array().unwrap().len(), 2);

    // The live a.db is compacted away: the snapshot's copy is now its own.
    rewrite(&f.data.join("ks/t1/a.db"), &vec![b'A'; 1_000]);
    let rows = list(&s, "cass");
    assert_eq!(common::u64_of(&rows[0], "exclusive_bytes"), 40_000);
    let human = s.ok(&["snapshot", "list"]);
    assert!(
        human.contains(&tag) && human.contains("39.1 KiB"),
        "{human}"
    );

    let second = s.backup("cass", "incremental");
    let third = s.backup("cass", "incremental");
    let tags: Vec<String> = list(&s, "cass")
        .iter()
        .map(|r| r["tag"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        tags,
        [
            format!("strata-cass_{}", common::id_of(&second)),
            format!("strata-cass_{}", common::id_of(&third)),
        ]
    );
    // A failed backup keeps its snapshot under keep_local, and says so.
    fs::write(s.path("FAIL_CREATE"), b"").unwrap();
    let (code, _, err) = s.run(&["backup", "run", "cass", "--incremental"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is kept (keep_local)"), "{err}");
    assert_eq!(list(&s, "cass").len(), 3);
    fs::remove_file(s.path("FAIL_CREATE")).unwrap();
    // The next success applies the rule to it as well.
    let fourth = s.backup("cass", "incremental");
    let tags: Vec<String> = list(&s, "cass")
        .iter()
        .map(|r| r["tag"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tags.len(), 2, "{tags:?}");
    assert_eq!(tags[1], format!("strata-cass_{}", common::id_of(&fourth)));
    // Another task over the same data never sees or clears these.
    add_task(&s, &f, "other", &[]);
    assert!(list(&s, "other").is_empty());
    s.backup("other", "full");
    assert_eq!(list(&s, "cass").len(), 2);
    // The console's detail view data: task show names the rule.
    assert!(
        s.ok(&["task", "show", "cass"])
            .contains("keep local    newest 2")
    );
}

#[test]
fn a_failing_create_fails_the_backup_with_its_stderr_and_still_clears() {
    let s = Strata::new();
    let f = farm(&s);
    add_task(&s, &f, "cass", &[]);
    fs::write(s.path("FAIL_CREATE"), b"").unwrap();
    let (code, _, err) = s.run(&["backup", "run", "cass", "--full"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("keyspace ks is unavailable"), "{err}");
    assert!(s.backups().is_empty());
    // It failed after making part of its snapshot: clear ran all the same.
    assert_eq!(snapshot_dirs(&f), Vec::<String>::new());
    assert!(
        fs::read_to_string(s.path("clear.log"))
            .unwrap()
            .starts_with("clear strata-cass_")
    );
    let runs = s.json(&["runs", "--task", "cass"]);
    assert_eq!(runs[0]["status"], "failed", "{runs:#}");

    // A create that makes nothing where path points fails with that sentence.
    fs::remove_file(s.path("FAIL_CREATE")).unwrap();
    s.ok(&["task", "remove", "cass"]);
    let empty = Farm {
        create: "true".into(),
        ..farm(&s)
    };
    add_task(&s, &empty, "cass", &[]);
    let (code, _, err) = s.run(&["backup", "run", "cass", "--full"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("create ran but produced nothing at"), "{err}");
}

#[test]
fn a_failing_clear_is_a_visible_warning_and_snapshot_clear_removes_it_later() {
    let s = Strata::new();
    let f = farm(&s);
    add_task(&s, &f, "cass", &[]);
    fs::write(s.path("FAIL_CLEAR"), b"").unwrap();
    let (code, out, err) = s.run(&["backup", "run", "cass", "--full"]);
    // The backup itself is safe: it succeeds, with the warning.
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("strata: warning: local snapshot strata-cass_"),
        "{err}"
    );
    assert!(err.contains("clearsnapshot refused"), "{err}");
    let runs = s.json(&["runs", "--task", "cass"]);
    assert!(
        runs[0]["message"]
            .as_str()
            .unwrap()
            .contains("was not cleared"),
        "{runs:#}"
    );
    let audit = s.ok(&["audit"]);
    assert!(
        audit.contains("snapshot clear") && audit.contains("failed"),
        "{audit}"
    );
    assert_eq!(list(&s, "cass").len(), 1);
    assert_eq!(snapshot_dirs(&f).len(), 2);

    // A viewer may list but not clear.
    let (code, _, err) = s.run(&["--role", "viewer", "snapshot", "clear", "--task", "cass"]);
    assert_eq!(code, 4, "{err}");
    // Still failing: exit 1 and the snapshot stays.
    let (code, _, err) = s.run(&["snapshot", "clear", "--task", "cass"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cleared 0 of 1"), "{err}");
    fs::remove_file(s.path("FAIL_CLEAR")).unwrap();
    // --older-than spares the young one.
    let kept = s.json(&["snapshot", "clear", "--task", "cass", "--older-than", "1h"]);
    assert!(kept.as_array().unwrap().is_empty(), "{kept:#}");
    assert_eq!(list(&s, "cass").len(), 1);
    // Through the daemon (as over SSH): the same typed actions, run there.
    let daemon = s.serve();
    assert_eq!(list(&s, "cass").len(), 1);
    let cleared = s.json(&["snapshot", "clear", "--task", "cass"]);
    assert_eq!(cleared.as_array().unwrap().len(), 1, "{cleared:#}");
    assert!(list(&s, "cass").is_empty());
    drop(daemon);
    assert_eq!(snapshot_dirs(&f), Vec::<String>::new());
    let audit = s.ok(&["audit"]);
    assert!(
        audit.contains("snapshot clear") && audit.contains("cass"),
        "{audit}"
    );
}

#[test]
fn definitions_are_checked_and_round_trip_through_apply_and_export() {
    let s = Strata::new();
    let f = farm(&s);
    s.ok(&[
        "dest",
        "add",
        "d",
        "--local",
        s.path("repo").to_str().unwrap(),
    ]);
    let no_tag = f.glob.replace("{tag}", "x");
    let (code, _, err) = s.run(&[
        "task",
        "add",
        "cass",
        "--snapshot-create",
        &f.create,
        "--snapshot-path",
        &no_tag,
        "--snapshot-clear",
        &f.clear,
        "--dest",
        "d",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--snapshot-path") && err.contains("cannot tell its snapshots apart"),
        "{err}"
    );
    let (code, _, err) = s.run(&[
        "task",
        "add",
        "cass",
        "--snapshot-create",
        &f.create,
        "--snapshot-path",
        &f.glob,
        "--dest",
        "d",
    ]);
    assert_eq!(code, 2, "{err}");

    let file = s.path("tasks.toml");
    fs::write(
        &file,
        format!(
            "[[destination]]\nname = \"d\"\nkind = \"local\"\npath = \"{}\"\n\n[[task]]\nname = \"cass\"\nsource = {{ kind = \"snapshot\", create = \"{}\", path = \"{}\", clear = \"{}\", keep_local = 2, keep_local_within = \"1d\", timeout = \"10m\" }}\ndestinations = [\"d\"]\n",
            s.path("repo").display(),
            f.create,
            f.glob,
            f.clear
        ),
    )
    .unwrap();
    s.ok(&["apply", "-f", file.to_str().unwrap()]);
    let exported = s.ok(&["export"]);
    assert!(exported.contains("kind = \"snapshot\""), "{exported}");
    assert!(
        exported.contains("keep_local = 2") && exported.contains("keep_local_within = \"1d\""),
        "{exported}"
    );
    let again = s.path("again.toml");
    fs::write(&again, &exported).unwrap();
    let plan = s.ok(&["apply", "-f", again.to_str().unwrap(), "--dry-run"]);
    assert!(!plan.contains('~') && !plan.contains('+'), "{plan}");
    let show = s.ok(&["task", "show", "cass"]);
    assert!(show.contains("newest 2, younger than 1d"), "{show}");
    // The path must contain {tag} in apply too.
    fs::write(
        &file,
        fs::read_to_string(&file).unwrap().replace("{tag}", "x"),
    )
    .unwrap();
    let (code, _, err) = s.run(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot tell its snapshots apart"), "{err}");
}
