//! Figures, not tests: run them on purpose with
//! `cargo test --test remote_s3 figures -- --ignored --nocapture`.

use super::task;
use crate::common::*;
use crate::s3kit::{BUCKET, remote};

/// Figures, not a test (`cargo test --test remote_s3 -- --ignored --nocapture`):
/// 100 MB in one file plus 2000 small files, backed up, backed up again
/// unchanged, and restored, against the in-process server; prints the times
/// and the requests of each step.
#[test]
#[ignore = "a measurement: run it on purpose"]
fn figures_of_a_100_mb_and_2000_file_backup() {
    let r = remote();
    let s = &r.s;
    let src = s.path("src");
    let mut rng = Rng::new(7);
    write(&src.join("big.bin"), &rng.bytes(100 << 20));
    for i in 0..2000 {
        write(
            &src.join(format!("d{}/f{i:04}.txt", i % 20)),
            &rng.bytes(1 + (i % 7) * 300),
        );
    }
    assert_eq!(r.add("off", "bench").0, 0);
    task(s, &src, "off", &[]);
    let step = |what: &str, f: &dyn Fn()| {
        let (t, n) = (std::time::Instant::now(), r.server.requests());
        f();
        eprintln!(
            "FIGURE {what}: {:.2} s, {} requests",
            t.elapsed().as_secs_f64(),
            r.server.requests() - n
        );
    };
    let id = std::cell::RefCell::new(String::new());
    step("full backup", &|| {
        *id.borrow_mut() = id_of(&s.backup("t", "full")).to_string()
    });
    step("no-change incremental", &|| {
        s.backup("t", "incremental");
    });
    let to = s.path("restored");
    step("restore", &|| s.restore(&id.borrow(), &to, None));
    assert_same_tree("restore", &snapshot(&src), &snapshot(&to));
}

/// Figures of the destination alone: 50 ranged reads of 1 MiB.
#[test]
#[ignore = "a measurement: run it on purpose"]
fn figures_of_ranged_reads() {
    use strata::model::{DestinationConfig, DestinationKind, S3Spec};
    let r = remote();
    let cfg = DestinationConfig {
        name: "off".into(),
        kind: DestinationKind::S3(S3Spec {
            url: format!("s3://{BUCKET}/m"),
            endpoint: Some(r.server.endpoint()),
            region: None,
            storage_class: None,
            credentials: Some(r.creds.clone()),
        }),
        repo_id: None,
        rate_limit: None,
    };
    let d = strata::dest::open(&cfg).unwrap();
    d.put("pack", &Rng::new(3).bytes(16 << 20)).unwrap();
    let t = std::time::Instant::now();
    for i in 0..50u64 {
        d.get_range("pack", (i % 15) << 20, 1 << 20).unwrap();
    }
    eprintln!(
        "FIGURE 50 ranged reads of 1 MiB: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = std::time::Instant::now();
    d.get("pack").unwrap();
    eprintln!("FIGURE one 16 MiB read: {:.3} s", t.elapsed().as_secs_f64());
}
