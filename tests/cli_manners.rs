//! CLI manners (issue 15): a closed pipe ends quietly with exit 0, as
//! ripgrep does; near-miss errors stay one sentence that says what to write.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;
use common::Strata;
use std::process::{Command, Stdio};

/// Runs strata with a stdout pipe whose reading end is already closed
/// (`strata … | head -0`); returns exit code and stderr.
fn into_closed_pipe(s: &Strata, args: &[&str]) -> (i32, String) {
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .envs(s.envs())
        .arg("--home")
        .arg(s.home())
        .args(args)
        .env_remove("STRATA_HOME")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_ends_quietly_with_exit_0_locally_and_through_the_daemon() {
    let s = Strata::new();
    let src = s.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), "a\n").unwrap();
    s.setup("d", "t", &src, &[]);
    s.backup("t", "full");
    for args in [
        &["backup", "list", "--json"][..],
        &["backup", "list"],
        &["task", "list"],
        &["audit"],
        &["runs", "--json"],
    ] {
        let (code, err) = into_closed_pipe(&s, args);
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
    }
    let _daemon = s.serve();
    let (code, err) = into_closed_pipe(&s, &["backup", "list", "--json"]);
    assert_eq!((code, err.as_str()), (0, ""), "through the daemon");
}
