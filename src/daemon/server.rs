//! `strata serve`: owns the catalog, runs scheduled backups (and retention after
//! each), and executes commands sent over the control socket.

use super::protocol::{self, Frame, FrameWriter, Reply, Request};
use crate::command::exec::Io;
use crate::command::line::{Origin, run_words};
use crate::core::home::Home;
use crate::core::{Core, CoreError};
use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long shutdown waits for cancelled jobs to clean up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(120);

/// Runs the daemon in the foreground until SIGINT or SIGTERM.
pub fn serve(home: Home, listen: &str, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let core = Arc::new(Core::open(
        home.clone(),
        &format!("strata serve (pid {})", std::process::id()),
    )?);
    core.start_serving();
    crate::command::exec::recovery_notes(&core, io);
    let ssh = if listen == "off" {
        None
    } else {
        let running = crate::ssh::start(core.clone(), listen).map_err(|e| match e {
            crate::ssh::SshError::Listen { .. } => CoreError::Busy(e.to_string()),
            _ => CoreError::Invalid(e.to_string()),
        })?;
        let host = if running.addr.ip().is_unspecified() {
            "HOST".to_string()
        } else {
            running.addr.ip().to_string()
        };
        let _ = writeln!(
            io.err,
            "strata: SSH on {} (host key {}); connect with 'ssh -p {} {host}'",
            running.addr,
            running.fingerprint,
            running.addr.port(),
        );
        Some(running)
    };
    let sock = super::socket_path(&home);
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| CoreError::Failed(format!("cannot handle signals: {e}")))?;
    }
    let control = control_socket(core.clone(), &home, stop.clone())?;
    let _ = writeln!(
        io.err,
        "strata: serving {} (control socket {}); stop with Ctrl-C or SIGTERM",
        home.root().display(),
        sock.display()
    );
    tracing::info!(home = %home.root().display(), pid = std::process::id(), "daemon started");

    let sched = {
        let (core, stop) = (core.clone(), stop.clone());
        std::thread::spawn(move || core.run_scheduler(&stop))
    };
    let _ = control.join();
    tracing::info!("shutting down: cancelling {} job(s)", core.job_count());
    let _ = writeln!(
        io.err,
        "strata: stopping; cancelling {} job(s), partial data is removed",
        core.job_count()
    );
    let left = core.stop_jobs(SHUTDOWN_GRACE);
    if left > 0 {
        tracing::warn!(
            "{left} job(s) still running after {SHUTDOWN_GRACE:?}; their partial data is cleaned up at the next start"
        );
    }
    if let Some(s) = ssh {
        s.stop();
    }
    let _ = sched.join();
    tracing::info!("daemon stopped");
    Ok(0)
}

/// Serves `core` on the home's control socket (owner only) until `stop` is
/// set: commands of `strata` in other terminals run here. The thread removes
/// the socket when it ends. The caller holds the catalog lock, so no live
/// daemon owns a socket file left at that path.
pub fn control_socket(
    core: Arc<Core>,
    home: &Home,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, CoreError> {
    let sock = super::socket_path(home);
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock)
        .map_err(|e| CoreError::Failed(format!("cannot listen on {}: {e}", sock.display())))?;
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
        CoreError::Failed(format!(
            "cannot restrict {} to its owner: {e}",
            sock.display()
        ))
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| CoreError::Failed(format!("socket {}: {e}", sock.display())))?;
    Ok(std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let core = core.clone();
                    std::thread::spawn(move || {
                        if let Err(e) = handle(&core, stream) {
                            tracing::warn!("control connection: {e}");
                        }
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => {
                    tracing::warn!("accept on {}: {e}", sock.display());
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        let _ = std::fs::remove_file(&sock);
    }))
}

/// Executes one client's command and streams its output back.
fn handle(core: &Arc<Core>, stream: UnixStream) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut tx = stream.try_clone()?;
    let Some(req) = protocol::recv::<Request, _>(&mut reader)? else {
        return Ok(());
    };
    if req.version != protocol::VERSION {
        protocol::send(
            &mut tx,
            &Frame::Err {
                s: format!(
                    "strata: this daemon speaks protocol {}, the client {}; use the same strata version\n",
                    protocol::VERSION,
                    req.version
                ),
            },
        )?;
        return protocol::send(&mut tx, &Frame::Exit { code: 2 });
    }
    if let Some(action) = req.action {
        tracing::info!(who = %req.caller.name, origin = %req.caller.origin, action = action.requirement().action, "action");
        let reply = match core.perform(&req.caller, action) {
            Ok(o) => Reply::Done {
                outcome: Box::new(o),
            },
            Err(e) => Reply::Failed {
                code: e.exit_code(),
                message: crate::core::bounds::escape_controls(&e.to_string()),
            },
        };
        return protocol::send(&mut tx, &reply);
    }
    let mut out = FrameWriter {
        inner: stream.try_clone()?,
        stdout: true,
    };
    let mut err = FrameWriter {
        inner: stream.try_clone()?,
        stdout: false,
    };
    let mut io = Io {
        local: false,
        binary: true,
        out: &mut out,
        err: &mut err,
    };
    let origin = Origin::Client { cwd: req.cwd };
    let code = run_words(core, &req.argv, &req.caller, &origin, &mut io);
    protocol::send(&mut tx, &Frame::Exit { code })
}
