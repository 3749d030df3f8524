//! The kill -9 loop: a backup killed with SIGKILL at every stop point of the
//! engine (`STRATA_TEST_STOP_AT`) and at pseudo-random moments of a larger store
//! phase, each followed by the next command's recovery; in the end every
//! backup `backup list` shows verifies with `--read-data` and restores, byte
//! for byte, the source state it claims. Nothing here asserts on timings: a
//! kill that lands after the commit only means that run is adopted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod faultkit;

use faultkit::{Rng, World, random_file, snapshot, text_file};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

type State = BTreeMap<String, Vec<u8>>;

/// Every stop point of src/engine/stop.rs, in run order.
const POINTS: [&str; 5] = [
    "after-run-record",
    "after-scan",
    "after-pack",
    "after-manifest",
    "after-commit-marker",
];

/// What the recovering command must leave: the interrupted run is either
/// adopted (committed before the kill) and claims `state`, or gone without a
/// trace in the repository; no run stays `running` or `queued`.
fn settle(
    w: &World,
    claims: &mut BTreeMap<String, State>,
    before: &BTreeSet<String>,
    state: &State,
    what: &str,
) {
    let listed: BTreeSet<String> = w.ids().into_iter().collect();
    assert!(
        listed.is_superset(before),
        "{what}: a committed backup vanished"
    );
    let new: Vec<&String> = listed.difference(before).collect();
    assert!(
        new.len() <= 1,
        "{what}: one run makes at most one backup: {new:?}"
    );
    for id in new {
        claims.insert(id.clone(), state.clone());
    }
    assert_eq!(
        w.backup_dirs(),
        listed,
        "{what}: the repository holds exactly the listed backups (partial data removed)"
    );
    let runs = w.ok(&["runs", "--json"]).json();
    for r in runs.as_array().expect("runs array") {
        assert!(
            r["status"] != "running" && r["status"] != "queued",
            "{what}: a run is left {} after recovery: {r}",
            r["status"]
        );
    }
}

fn backup_ok(w: &World, flags: &[&str], claims: &mut BTreeMap<String, State>) {
    let state = snapshot(&w.src);
    let j = w.backup(flags, 0);
    let id = j["backup"]["id"].as_str().expect("backup id").to_string();
    claims.insert(id, state);
}

#[test]
fn kill9_at_every_stop_point_and_at_random_moments_leaves_only_restorable_backups() {
    let w = World::new();
    random_file(&w.src, "base/one.bin", 700_000, 1);
    text_file(&w.src, "base/config.toml", "round = 0\n");
    w.setup();
    let mut claims: BTreeMap<String, State> = BTreeMap::new();
    backup_ok(&w, &["--full"], &mut claims);

    let mut round = 0u64;
    for point in POINTS {
        for flags in [
            &["--full"][..],
            &["--incremental"][..],
            &["--differential"][..],
        ] {
            round += 1;
            random_file(&w.src, "data/changing.bin", 1_200_000, round);
            random_file(&w.src, &format!("data/r{round}.bin"), 50_000, 1000 + round);
            text_file(&w.src, "base/config.toml", &format!("round = {round}\n"));
            let state = snapshot(&w.src);
            let before: BTreeSet<String> = w.ids().into_iter().collect();
            let mut args = vec!["backup", "run", "t"];
            args.extend_from_slice(flags);
            let mut child = w.spawn(&args, point);
            child.wait_line(&format!("test stop point {point} reached"));
            child.kill9();
            settle(
                &w,
                &mut claims,
                &before,
                &state,
                &format!("{point} {flags:?}"),
            );
        }
        // Life goes on between crashes: an ordinary incremental on top.
        backup_ok(&w, &[], &mut claims);
    }

    // A larger store phase, killed at pseudo-random moments within the time
    // a clean full of the same size takes here (only to aim the kills: a
    // kill that lands late is a run that committed, also checked).
    random_file(&w.src, "big/current.bin", 12_000_000, 499);
    let t0 = std::time::Instant::now();
    backup_ok(&w, &["--full"], &mut claims);
    let span = t0.elapsed().as_millis().max(20) as u64;
    let mut rng = Rng::new(0x5eed);
    for i in 0..6u64 {
        random_file(&w.src, "big/current.bin", 12_000_000, 500 + i);
        let state = snapshot(&w.src);
        let before: BTreeSet<String> = w.ids().into_iter().collect();
        let flags: &[&str] = if i % 2 == 0 { &["--full"] } else { &[] };
        let mut args = vec!["backup", "run", "t"];
        args.extend_from_slice(flags);
        let mut child = w.spawn_free(&args);
        let delay = Duration::from_millis(rng.next_u64() % span);
        child.kill9_after(delay);
        eprintln!("random kill after {delay:?}");
        settle(
            &w,
            &mut claims,
            &before,
            &state,
            &format!("random kill after {delay:?}"),
        );
    }

    backup_ok(&w, &[], &mut claims);
    eprintln!(
        "{} backups listed after {round} stop-point crashes and 6 random kills",
        w.ids().len()
    );
    w.check_listed_restore(&claims);
}
