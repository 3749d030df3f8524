//! Control-socket protocol: one JSON request line from the client, then JSON
//! frame lines from the daemon (output, errors, and finally the exit code),
//! or for a typed action one reply line with its outcome.

use crate::core::access::Caller;
use crate::core::{Action, Outcome};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Protocol version; a daemon refuses other versions with a clear message.
pub const VERSION: u32 = 2;

/// What the client asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// Protocol version.
    pub version: u32,
    /// The command line, without the program name.
    pub argv: Vec<String>,
    /// Client's working directory (relative paths are resolved against it).
    pub cwd: PathBuf,
    /// Who asks.
    pub caller: Caller,
    /// A typed action instead of a command line (the console does this);
    /// the daemon then answers with one [`Reply`] instead of frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// The daemon's answer to an `action` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub enum Reply {
    /// What the action produced.
    Done {
        /// The outcome.
        outcome: Box<Outcome>,
    },
    /// Why it failed.
    Failed {
        /// Exit code of the error.
        code: u8,
        /// Its message.
        message: String,
    },
}

/// One message from the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub enum Frame {
    /// Text for stdout.
    Out {
        /// Text.
        s: String,
    },
    /// Bytes for stdout that are not UTF-8 (a database backup streamed by
    /// `restore --stdout`), base64-encoded.
    Data {
        /// Standard base64 of the bytes.
        b: String,
    },
    /// Text for stderr.
    Err {
        /// Text.
        s: String,
    },
    /// The command finished with this exit code.
    Exit {
        /// Exit code.
        code: u8,
    },
}

/// Writes one value as a JSON line.
pub fn send<T: Serialize>(w: &mut impl Write, v: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(v).map_err(std::io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()
}

/// Reads one JSON line; `Ok(None)` at end of stream. Lines are capped so a
/// broken peer cannot make us buffer without bound.
pub fn recv<T: for<'de> Deserialize<'de>, R: BufRead>(r: &mut R) -> std::io::Result<Option<T>> {
    let mut line = Vec::new();
    let n = std::io::Read::take(&mut *r, 16 << 20).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// A writer that turns everything written into frames of one kind.
pub struct FrameWriter<W: Write> {
    /// Where frames go.
    pub inner: W,
    /// Stdout (`true`) or stderr frames.
    pub stdout: bool,
}

/// Most bytes one frame carries, well under the line cap of [`recv`] once base64-encoded.
const MAX_FRAME_DATA: usize = 1 << 20;

impl<W: Write> Write for FrameWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let buf = &buf[..buf.len().min(MAX_FRAME_DATA)];
        // Stdout arrives exactly as written: text as text, anything else
        // (a multi-byte character cut between two writes included) as bytes.
        let f = match (self.stdout, std::str::from_utf8(buf)) {
            (true, Ok(s)) => Frame::Out { s: s.to_string() },
            (true, Err(_)) => Frame::Data {
                b: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, buf),
            },
            (false, _) => Frame::Err {
                s: String::from_utf8_lossy(buf).into_owned(),
            },
        };
        send(&mut self.inner, &f)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn frames_round_trip(s in ".*", code in any::<u8>()) {
            let mut buf = Vec::new();
            for f in [Frame::Out { s: s.clone() }, Frame::Err { s: s.clone() }, Frame::Exit { code }] {
                send(&mut buf, &f).unwrap();
            }
            let mut r = std::io::Cursor::new(buf);
            prop_assert_eq!(recv::<Frame, _>(&mut r).unwrap(), Some(Frame::Out { s: s.clone() }));
            prop_assert_eq!(recv::<Frame, _>(&mut r).unwrap(), Some(Frame::Err { s }));
            prop_assert_eq!(recv::<Frame, _>(&mut r).unwrap(), Some(Frame::Exit { code }));
            prop_assert_eq!(recv::<Frame, _>(&mut r).unwrap(), None);
        }

        #[test]
        fn stdout_bytes_arrive_exactly_however_they_are_cut(
            data in proptest::collection::vec(any::<u8>(), 0..4000),
            cuts in proptest::collection::vec(1usize..700, 1..12),
        ) {
            let mut w = FrameWriter { inner: Vec::new(), stdout: true };
            let (mut at, mut i) = (0, 0);
            while at < data.len() {
                let n = cuts[i % cuts.len()].min(data.len() - at);
                w.write_all(&data[at..at + n]).unwrap();
                at += n;
                i += 1;
            }
            let mut r = std::io::Cursor::new(w.inner);
            let mut got = Vec::new();
            while let Some(f) = recv::<Frame, _>(&mut r).unwrap() {
                match f {
                    Frame::Out { s } => got.extend_from_slice(s.as_bytes()),
                    Frame::Data { b } => got.extend(
                        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).unwrap(),
                    ),
                    other => prop_assert!(false, "unexpected {other:?}"),
                }
            }
            prop_assert_eq!(got, data);
        }

        #[test]
        fn garbage_is_an_error_not_a_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut r = std::io::Cursor::new(data);
            let _ = recv::<Request, _>(&mut r);
            let _ = recv::<Frame, _>(&mut r);
        }
    }
}
