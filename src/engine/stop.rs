//! Named points where crash tests stop a run (`STRATA_TEST_STOP_AT=POINT`): the
//! process announces the point on stderr and waits to be killed with SIGKILL,
//! so tests can kill -9 it at an exact moment. Unset, this does nothing.

/// Name of the environment variable.
pub const ENV: &str = "STRATA_TEST_STOP_AT";

/// Blocks forever if the test asked to stop at `point`.
pub fn point(point: &str) {
    if let Ok(want) = std::env::var(ENV)
        && want == point
    {
        eprintln!("strata: test stop point {point} reached; waiting for SIGKILL");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
