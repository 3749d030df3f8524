//! Task hooks: shell commands run before and after a backup, with a timeout.
//! A failing `before` aborts the run; a failing `after` is reported, never
//! turned into a failed backup (the data is already safe by then).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Default seconds a hook may run.
pub const DEFAULT_TIMEOUT: u64 = 300;

/// How a hook ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookFailure {
    /// One sentence: exit status or timeout, plus the tail of stderr.
    pub message: String,
}

/// Runs `cmd` with `sh -c`, the given environment, and a timeout.
pub fn run(
    which: &str,
    cmd: &str,
    env: &[(&str, String)],
    timeout: Duration,
) -> Result<(), HookFailure> {
    run_with_input(which, cmd, env, None, timeout)
}

/// [`run`], with `input` written to the command's stdin (then closed).
pub fn run_with_input(
    which: &str,
    cmd: &str,
    env: &[(&str, String)],
    input: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<(), HookFailure> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| HookFailure {
            message: format!("{which} hook {cmd:?} could not start: {e}"),
        })?;
    // Written on a thread: a command that never reads its stdin must not hang us.
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut stdin, &bytes);
        });
    }
    // Read stderr on a thread so a chatty hook cannot fill the pipe and hang.
    let mut pipe = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = pipe.as_mut() {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    });
    // A timeout stored before values were bounded must not overflow the clock.
    let cap = Duration::from_secs(*super::bounds::HOOK_TIMEOUT_SECS.end());
    let deadline = Instant::now() + timeout.min(cap);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                return Err(HookFailure {
                    message: format!("{which} hook {cmd:?}: cannot wait for it: {e}"),
                });
            }
        }
    };
    let stderr = reader.join().unwrap_or_default();
    let text = String::from_utf8_lossy(&stderr);
    let tail: String = text
        .trim()
        .chars()
        .rev()
        .take(2000)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let tail = if tail.is_empty() {
        String::new()
    } else {
        format!("; stderr: {tail}")
    };
    match status {
        Some(s) if s.success() => Ok(()),
        Some(s) => Err(HookFailure {
            message: format!("{which} hook {cmd:?} failed ({s}){tail}"),
        }),
        None => Err(HookFailure {
            message: format!(
                "{which} hook {cmd:?} timed out after {} s and was killed{tail}",
                timeout.as_secs()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_failure_timeout_and_environment() {
        let env = [("STRATA_TASK", "t1".to_string())];
        assert!(
            run(
                "before",
                "test \"$STRATA_TASK\" = t1",
                &env,
                Duration::from_secs(10)
            )
            .is_ok()
        );
        let e = run(
            "before",
            "echo disk not mounted >&2; exit 3",
            &env,
            Duration::from_secs(10),
        )
        .unwrap_err();
        assert!(
            e.message.contains("exit status: 3") && e.message.contains("disk not mounted"),
            "{}",
            e.message
        );
        let e = run("after", "sleep 5", &env, Duration::from_millis(200)).unwrap_err();
        assert!(e.message.contains("timed out"), "{}", e.message);
    }
}
