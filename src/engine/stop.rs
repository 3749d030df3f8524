//! Named points where tests stop or pause a run (`STRATA_TEST_STOP_AT`):
//! * `POINT` — announce the point on stderr and wait for SIGKILL, so crash tests
//!   can kill -9 the process at an exact moment;
//! * `POINT:FILE` — announce it and wait until FILE exists, then carry on, so a
//!   test can change the source mid-run (e.g. delete a file after the scan).
//!
//! Points: `after-run-record`, `after-claim`, `after-scan`, `after-pack`,
//! `after-manifest`, `after-commit-marker`, `restore-after-check` (a restore
//! whose target was checked, before it opens anything), `sync-after-pack` and
//! `sync-after-commit` (a sync's copy, before the catalog records it),
//! `passwd-after-new-slot` (`dest key passwd`: the new key slot is written,
//! the old one not yet deleted). Unset,
//! this does nothing.

use std::path::Path;
use std::time::Duration;

/// Name of the environment variable.
pub const ENV: &str = "STRATA_TEST_STOP_AT";

/// Blocks if the test asked to stop or pause at `point`.
pub fn point(point: &str) {
    let Ok(want) = std::env::var(ENV) else { return };
    let (name, go) = match want.split_once(':') {
        Some((n, f)) => (n, Some(f)),
        None => (want.as_str(), None),
    };
    if name != point {
        return;
    }
    eprintln!("strata: test stop point {point} reached");
    match go {
        Some(file) => {
            while !Path::new(file).exists() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        None => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
}
