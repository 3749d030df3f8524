use super::*;
use std::fs;
use std::path::Path;

fn write(p: &Path, data: &[u8]) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
}

#[test]
fn exclusive_bytes_count_links_inside_the_snapshot() {
    let d = tempfile::tempdir().unwrap();
    let live = d.path().join("ks/t1");
    let snap = live.join("snapshots/strata-t_1");
    write(&live.join("a.db"), &[1u8; 1000]);
    write(&live.join("b.db"), &[2u8; 300]);
    fs::create_dir_all(&snap).unwrap();
    fs::hard_link(live.join("a.db"), snap.join("a.db")).unwrap();
    fs::hard_link(live.join("b.db"), snap.join("b.db")).unwrap();
    // A file only the snapshot has, linked twice inside it: exclusive, counted once.
    write(&snap.join("manifest.json"), &[3u8; 50]);
    fs::hard_link(snap.join("manifest.json"), snap.join("manifest.copy")).unwrap();
    assert_eq!(sizes(std::slice::from_ref(&snap)), (3, 1350, 50));
    // Compaction: a new a.db renamed over the live one; the snapshot's is now its own.
    write(&live.join("a.db.tmp"), &[9u8; 700]);
    fs::rename(live.join("a.db.tmp"), live.join("a.db")).unwrap();
    assert_eq!(sizes(std::slice::from_ref(&snap)), (3, 1350, 1050));
    // Deleting the live b.db makes it exclusive too.
    fs::remove_file(live.join("b.db")).unwrap();
    assert_eq!(sizes(&[snap]), (3, 1350, 1350));
}

#[test]
fn local_snapshots_group_matches_by_tag() {
    let d = tempfile::tempdir().unwrap();
    for (p, n) in [
        ("ks/t1/snapshots/strata-c_1/a", 10usize),
        ("ks/t2/snapshots/strata-c_1/b", 20),
        ("ks/t2/snapshots/strata-c_2/c", 5),
        ("ks/t2/snapshots/strata-other_3/c", 6),
        ("ks/t2/snapshots/theirs/d", 7),
    ] {
        write(&d.path().join(p), &vec![0u8; n]);
    }
    let tpl = format!("{}/*/*/snapshots/{{tag}}", d.path().display());
    let found = local_snapshots(&tpl, "c").unwrap();
    let got: Vec<_> = found
        .iter()
        .map(|s| {
            (
                s.tag.as_str(),
                s.paths.len(),
                s.apparent_bytes,
                s.exclusive_bytes,
            )
        })
        .collect();
    assert_eq!(got, [("strata-c_1", 2, 30, 30), ("strata-c_2", 1, 5, 5)]);
    assert_eq!(local_snapshots(&tpl, "other").unwrap().len(), 1);
}

#[test]
fn a_run_lists_every_match_under_its_varying_part() {
    let d = tempfile::tempdir().unwrap();
    let script = d.path().join("create.sh");
    let data = d.path().join("data");
    write(&data.join("ks/t1/x.db"), b"one");
    write(&data.join("ks/t2/x.db"), b"two");
    fs::write(
        &script,
        format!(
            "set -e\nfor t in {0}/ks/*; do mkdir -p $t/snapshots/$1 && cp -al $t/x.db $t/snapshots/$1/; done\n",
            data.display()
        ),
    )
    .unwrap();
    let spec = SnapshotSpec {
        create: format!("sh {} {{tag}}", script.display()),
        path: format!("{}/*/*/snapshots/{{tag}}", data.display()),
        clear: "true".into(),
        timeout: Some("1m".into()),
        env_file: None,
    };
    let src = SnapshotSource::new(spec.clone(), "strata-t_7");
    assert!(!src.began());
    let mut run = src.begin().unwrap();
    assert!(src.began());
    let listing = run.entries().unwrap();
    let paths: Vec<_> = listing
        .entries
        .iter()
        .map(|e| crate::source::display_path(&e.path))
        .collect();
    assert_eq!(paths, ["ks", "ks/t1", "ks/t1/x.db", "ks/t2", "ks/t2/x.db"]);
    assert!(listing.entries.iter().all(|e| e.ctime_ns == 0));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut *run.open(&listing.entries[4]).unwrap(), &mut text).unwrap();
    assert_eq!(text, "two");

    // A create that makes nothing where path points fails with that sentence.
    let empty = SnapshotSource::new(
        SnapshotSpec {
            create: "true".into(),
            ..spec.clone()
        },
        "strata-t_8",
    );
    let e = empty.begin().err().unwrap().to_string();
    assert!(e.contains("create ran but produced nothing at"), "{e}");
    // A failing create carries its stderr.
    let bad = SnapshotSource::new(
        SnapshotSpec {
            create: "sh -c 'echo no space left >&2; exit 3'".into(),
            ..spec
        },
        "strata-t_9",
    );
    let e = bad.begin().err().unwrap().to_string();
    assert!(
        e.contains("exited with status 3") && e.contains("no space left"),
        "{e}"
    );
    assert!(bad.began());
}
