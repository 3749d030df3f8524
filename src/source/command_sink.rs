//! The restore side of a `command` source: the task's restore command run
//! with `{target}` replaced, fed the backup's stream on its stdin.

use super::SourceError;
use super::command::{Running, env_of, invocation, kill_group, widen_pipe};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

/// A restore command being fed the stream on its stdin.
pub struct CommandSink {
    running: Running,
    stdin: Option<std::process::ChildStdin>,
    target: String,
}

impl CommandSink {
    /// Starts `restore` with `{target}` replaced by `target`.
    pub fn start(
        restore: &str,
        target: &str,
        env_file: Option<&Path>,
    ) -> Result<CommandSink, SourceError> {
        let what = format!("restore command {restore:?}");
        let fail = |detail: String| SourceError::Failed {
            what: what.clone(),
            detail,
        };
        let env = env_of(env_file).map_err(fail)?;
        let inv = invocation(restore, Some(target)).map_err(fail)?;
        let mut running = Running::spawn(&what, &inv, &env, Stdio::piped(), Stdio::null(), None)?;
        let stdin = running.child.stdin.take();
        if let Some(p) = &stdin {
            widen_pipe(p);
        }
        Ok(CommandSink {
            running,
            stdin,
            target: target.to_string(),
        })
    }

    /// Closes stdin and waits; a failure carries the stderr tail and the target.
    pub fn finish(mut self) -> Result<(), SourceError> {
        drop(self.stdin.take());
        let target = self.target.clone();
        self.running.wait().map_err(|e| match e {
            SourceError::Failed { what, detail } => SourceError::Failed {
                what,
                detail: format!(
                    "{detail} (target {target:?}: check it and clean up what was created)"
                ),
            },
            other => other,
        })
    }
}

impl CommandSink {
    /// Stops the restore command at once (its process group killed, before
    /// it sees the end of its input, so it cannot take a cut stream for a
    /// whole one) and waits for it.
    pub fn abort(mut self) {
        kill_group(self.running.child.id());
        drop(self.stdin.take());
        let _ = self.running.child.wait();
        self.running.finished = true;
        self.running.watchdog.stop();
    }
}

impl Write for CommandSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.stdin.as_mut() {
            Some(s) => s.write(buf),
            None => Err(std::io::Error::other(
                "the restore command's input is closed",
            )),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stdin.as_mut().map_or(Ok(()), |s| s.flush())
    }
}
