//! What a session sends to its client, and the task that sends it.
//!
//! Producers (the console thread, an exec command) never await the network:
//! the console drops a frame when its client is slow and repaints later, an
//! exec command waits only on its own bounded queue. The sender task owns a
//! `russh` handle, so the session's event loop is never blocked by our writes.

use russh::ChannelId;
use russh::server::Handle;
use std::io::Write;
use std::sync::mpsc::Sender;
use tokio::sync::mpsc;

/// One message for the client.
#[derive(Debug)]
pub enum Out {
    /// Bytes for stdout (or the terminal).
    Data(Vec<u8>),
    /// Bytes for stderr.
    Err(Vec<u8>),
    /// The end: the exit status, then EOF and close.
    Exit(u32),
}

/// Frames a session may have in flight before the console drops one.
pub const QUEUE: usize = 8;

/// Sends a session's output in order; ends the channel after `Exit`.
pub async fn pump(handle: Handle, channel: ChannelId, mut rx: mpsc::Receiver<Out>) {
    let mut status = 0;
    while let Some(out) = rx.recv().await {
        let sent = match out {
            Out::Data(b) => handle.data(channel, b).await.is_ok(),
            Out::Err(b) => handle.extended_data(channel, 1, b).await.is_ok(),
            Out::Exit(code) => {
                status = code;
                break;
            }
        };
        if !sent {
            return;
        }
    }
    // This order is what OpenSSH expects; otherwise it waits or exits 255.
    let _ = handle.exit_status_request(channel, status).await;
    let _ = handle.eof(channel).await;
    let _ = handle.close(channel).await;
}

/// The console's terminal output: a frame is collected until flush, then
/// queued whole; a full queue drops the frame and asks for a full repaint.
pub struct FrameOut {
    buf: Vec<u8>,
    tx: mpsc::Sender<Out>,
    repaint: Sender<crate::tui::Input>,
    /// A frame was dropped and the repaint has not been drawn yet.
    dropped: bool,
}

impl FrameOut {
    /// Output to `tx`; repaint requests go to the console's input.
    pub fn new(tx: mpsc::Sender<Out>, repaint: Sender<crate::tui::Input>) -> FrameOut {
        FrameOut {
            buf: Vec::with_capacity(16 * 1024),
            tx,
            repaint,
            dropped: false,
        }
    }
}

impl Write for FrameOut {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let frame = std::mem::take(&mut self.buf);
        match self.tx.try_send(Out::Data(frame)) {
            Ok(()) => {
                self.dropped = false;
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                // The screen now differs from what ratatui believes it drew;
                // one full repaint (once the queue drains) puts it right.
                if !self.dropped {
                    self.dropped = true;
                    let _ = self.repaint.send(crate::tui::Input::Redraw);
                }
                Ok(())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the SSH client went away",
            )),
        }
    }
}

/// An exec command's stdout or stderr: waits for room (only this command
/// waits; the core and other sessions do not).
pub struct StreamOut {
    tx: mpsc::Sender<Out>,
    stderr: bool,
    crlf: bool,
}

impl StreamOut {
    /// Stdout (`stderr == false`) or stderr of a command.
    pub fn new(tx: mpsc::Sender<Out>, stderr: bool) -> StreamOut {
        StreamOut {
            tx,
            stderr,
            crlf: false,
        }
    }

    /// Ends lines with CRLF (for a client terminal in raw mode).
    pub fn crlf(mut self, on: bool) -> StreamOut {
        self.crlf = on;
        self
    }
}

impl Write for StreamOut {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let bytes = if self.crlf {
            let mut v = Vec::with_capacity(b.len() + b.len() / 16);
            for &c in b {
                if c == b'\n' {
                    v.push(b'\r');
                }
                v.push(c);
            }
            v
        } else {
            b.to_vec()
        };
        let msg = if self.stderr {
            Out::Err(bytes)
        } else {
            Out::Data(bytes)
        };
        self.tx
            .blocking_send(msg)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::Input;

    #[test]
    fn a_slow_client_drops_frames_and_asks_for_one_repaint() {
        let (tx, mut rx) = mpsc::channel(QUEUE);
        let (rtx, rrx) = std::sync::mpsc::channel();
        let mut out = FrameOut::new(tx, rtx);
        // Nobody reads: flushing must still return at once, every time.
        for i in 0..(QUEUE * 3) {
            write!(out, "frame {i}").unwrap();
            out.flush().unwrap();
        }
        assert_eq!(rrx.try_iter().collect::<Vec<_>>(), vec![Input::Redraw]);
        let mut got = 0;
        while rx.try_recv().is_ok() {
            got += 1;
        }
        assert_eq!(got, QUEUE, "the queue holds at most {QUEUE} frames");
        // Once it drains, frames flow again and a later stall asks again.
        write!(out, "repaint").unwrap();
        out.flush().unwrap();
        assert!(matches!(rx.try_recv(), Ok(Out::Data(b)) if b == b"repaint"));
        for _ in 0..=QUEUE {
            write!(out, "x").unwrap();
            out.flush().unwrap();
        }
        assert_eq!(rrx.try_iter().count(), 1);
        drop(rx);
        write!(out, "gone").unwrap();
        assert!(out.flush().is_err(), "a closed session is an error");
    }
}
