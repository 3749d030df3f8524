//! The client side: when a daemon serves this home, a local command is sent to
//! it over the control socket and its output and exit code are replayed here.

use super::protocol::{self, Frame, Reply, Request};
use crate::core::access::Caller;
use crate::core::home::Home;
use crate::core::{Action, CoreError, Outcome};
use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;

/// Sends `argv` to the daemon of `home`. `None` when no daemon listens (then
/// the caller runs the command itself); `Some(code)` when the daemon ran it.
pub fn try_forward(
    home: &Home,
    argv: Vec<String>,
    caller: Caller,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Option<u8> {
    let path = super::socket_path(home);
    // A socket file without a listener is left over from a daemon that died;
    // connecting fails and the command runs locally (the catalog lock is free).
    let stream = UnixStream::connect(&path).ok()?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| home.root().to_path_buf());
    let req = Request {
        version: protocol::VERSION,
        argv,
        cwd,
        caller,
        action: None,
    };
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(e) => {
            return Some(fail(
                err,
                &format!("cannot use the daemon's socket {}: {e}", path.display()),
            ));
        }
    };
    if let Err(e) = protocol::send(&mut writer, &req) {
        return Some(fail(
            err,
            &format!(
                "cannot send the command to the daemon at {}: {e}",
                path.display()
            ),
        ));
    }
    let mut reader = BufReader::new(stream);
    loop {
        match protocol::recv::<Frame, _>(&mut reader) {
            Ok(Some(Frame::Out { s })) => {
                let _ = out.write_all(s.as_bytes());
            }
            Ok(Some(Frame::Data { b })) => {
                match base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &b) {
                    Ok(bytes) => {
                        let _ = out.write_all(&bytes);
                    }
                    Err(_) => {
                        return Some(fail(
                            err,
                            "the daemon sent damaged output; use the same strata version for the daemon and the client",
                        ));
                    }
                }
            }
            Ok(Some(Frame::Err { s })) => {
                let _ = err.write_all(s.as_bytes());
            }
            Ok(Some(Frame::Exit { code })) => return Some(code),
            Ok(None) => {
                return Some(fail(
                    err,
                    "the daemon closed the connection before the command finished; see its log (strata info shows where)",
                ));
            }
            Err(e) => {
                return Some(fail(
                    err,
                    &format!("the daemon's reply could not be read ({e}); see its log"),
                ));
            }
        }
    }
}

fn fail(err: &mut dyn Write, msg: &str) -> u8 {
    let _ = writeln!(err, "strata: {msg}");
    1
}

/// Performs a typed action in the daemon of `home`. `None` when no daemon
/// listens; otherwise its outcome or its error (with the daemon's exit code).
pub fn perform(home: &Home, action: Action, caller: Caller) -> Option<Result<Outcome, CoreError>> {
    let path = home.socket();
    let stream = UnixStream::connect(&path).ok()?;
    let failed =
        |why: String| CoreError::Failed(format!("the daemon at {}: {why}", path.display()));
    let run = || -> Result<Outcome, CoreError> {
        let mut writer = stream.try_clone().map_err(|e| failed(e.to_string()))?;
        let req = Request {
            version: protocol::VERSION,
            argv: Vec::new(),
            cwd: home.root().to_path_buf(),
            caller,
            action: Some(action),
        };
        protocol::send(&mut writer, &req)
            .map_err(|e| failed(format!("cannot send the action: {e}")))?;
        let mut reader = BufReader::new(&stream);
        match protocol::recv::<Reply, _>(&mut reader) {
            Ok(Some(Reply::Done { outcome })) => Ok(*outcome),
            Ok(Some(Reply::Failed { code, message })) => Err(CoreError::Remote { code, message }),
            Ok(None) => Err(failed(
                "it closed the connection before answering; see its log".into(),
            )),
            Err(e) => Err(failed(format!("its reply could not be read ({e})"))),
        }
    };
    Some(run())
}
