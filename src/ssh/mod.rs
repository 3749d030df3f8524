//! SSH access (`strata serve`): the console for sessions with a pty, one
//! headless command for exec requests, each with the role of the key that
//! logged in. Public-key logins only; no shell, no forwarding, no subsystems.

pub mod console;
pub mod exec;
pub mod hostkey;
pub mod input;
pub mod output;
pub mod server;
pub mod startups;
pub mod state;

use crate::core::Core;
use crate::core::bounds::parse_idle;
use russh::server::Config;
use russh::{Disconnect, MethodKind, MethodSet};
use server::Conn;
use state::{Limits, Shared};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Why the SSH server could not start.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// The host key is unusable.
    #[error(transparent)]
    HostKey(#[from] hostkey::HostKeyError),
    /// The address is taken or invalid.
    #[error(
        "cannot listen for SSH on {addr}: {why}; pass another address with --listen (e.g. 127.0.0.1:2223) or stop what uses it"
    )]
    Listen {
        /// The address asked for.
        addr: String,
        /// The cause.
        why: String,
    },
    /// Settings in `strata.toml` are wrong.
    #[error("{0}")]
    Settings(String),
}

/// Time a client has to log in before it is disconnected (OpenSSH's
/// `LoginGraceTime`, shorter: a key login takes well under a second).
const LOGIN_GRACE: Duration = Duration::from_secs(30);
/// A logged-in connection with no console or command is closed after this
/// (or after the idle timeout, if that is shorter).
const NOTHING_RUNNING: Duration = Duration::from_secs(60);

/// A running SSH server; dropping it stops it.
pub struct Running {
    /// The address it listens on (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// The host key's `SHA256:` fingerprint.
    pub fingerprint: String,
    stop: watch::Sender<bool>,
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
}

impl Running {
    /// Disconnects every client with a reason and stops listening.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        let Some(rt) = self.runtime.take() else {
            return;
        };
        // Consoles first, so each client's terminal leaves the alternate
        // screen with a reason before its connection goes.
        self.shared.end_consoles();
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while self.shared.consoles_running() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.stop.send(true);
        // Give sessions a moment to send their disconnect message.
        std::thread::sleep(Duration::from_millis(200));
        rt.shutdown_timeout(Duration::from_secs(2));
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The server's limits from `strata.toml` (`[ssh]`).
pub fn limits(core: &Core) -> Result<Limits, SshError> {
    let s = &core.settings.ssh;
    let idle = match &s.idle_timeout {
        Some(t) => {
            parse_idle(t).map_err(|e| SshError::Settings(format!("[ssh] idle_timeout: {e}")))?
        }
        None => Duration::from_secs(30 * 60),
    };
    let login_grace = match &s.login_grace {
        Some(t) => {
            parse_idle(t).map_err(|e| SshError::Settings(format!("[ssh] login_grace: {e}")))?
        }
        None => LOGIN_GRACE,
    };
    Ok(Limits {
        max_sessions: s.max_sessions.unwrap_or(32),
        max_auth_attempts: s.max_auth_attempts.unwrap_or(6),
        idle,
        login_grace,
    })
}

/// Starts the SSH server on `listen` in its own runtime.
pub fn start(core: Arc<Core>, listen: &str) -> Result<Running, SshError> {
    // A typo is a usage error (exit 2), not a busy port.
    let resolved = std::net::ToSocketAddrs::to_socket_addrs(listen).map_err(|e| {
        SshError::Settings(format!(
            "--listen {listen:?} is not an address and port ({e}); use e.g. 127.0.0.1:2222, or off"
        ))
    })?;
    if resolved.len() == 0 {
        return Err(SshError::Settings(format!(
            "--listen {listen:?} resolves to no address"
        )));
    }
    let key = hostkey::load_or_create(core.home().root())?;
    let fingerprint = hostkey::fingerprint(&key);
    let limits = limits(&core)?;
    let listen_err = |why: String| SshError::Listen {
        addr: listen.to_string(),
        why,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("strata-ssh")
        .enable_all()
        .build()
        .map_err(|e| listen_err(format!("cannot start the SSH runtime: {e}")))?;
    let listener = runtime
        .block_on(TcpListener::bind(listen))
        .map_err(|e| listen_err(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| listen_err(e.to_string()))?;
    let config = Arc::new(Config {
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        auth_rejection_time: Duration::from_millis(300),
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![key],
        // russh counts the client's first "none" probe as an attempt; OpenSSH's
        // MaxAuthTries does not, and ours means what OpenSSH's means.
        max_auth_attempts: limits.max_auth_attempts + 1,
        // Our own checks handle idle consoles; this only reaps dead peers.
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 4,
        nodelay: true,
        ..Default::default()
    });
    let shared = Arc::new(Shared::new(core, limits));
    let (stop, stopped) = watch::channel(false);
    runtime.spawn(accept_loop(listener, config, shared.clone(), stopped));
    tracing::info!(%addr, %fingerprint, "ssh server listening");
    Ok(Running {
        addr,
        fingerprint,
        stop,
        runtime: Some(runtime),
        shared,
    })
}

async fn accept_loop(
    listener: TcpListener,
    config: Arc<Config>,
    shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
) {
    let startups = startups::Startups::default();
    loop {
        let mut stop = stopped.clone();
        let (socket, peer) = tokio::select! {
            _ = stop.changed() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors and the like: wait, don't die.
                    tracing::warn!("ssh accept: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
        };
        let mut startup = match startups.admit(peer.ip()) {
            Ok(g) => g,
            Err(why) => {
                tracing::warn!(%peer, ?why, logging_in = startups.total(), "ssh: too many connections logging in; refused one");
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let state = Arc::new(state::ConnState::default());
        let handler = Conn::new(shared.clone(), Some(peer), state.clone());
        let (config, mut stop) = (config.clone(), stopped.clone());
        let nothing_running = NOTHING_RUNNING.min(shared.limits.idle);
        // One deadline from accept: the handshake and the login share it.
        let grace = tokio::time::Instant::now() + shared.limits.login_grace;
        tokio::spawn(async move {
            let started =
                tokio::time::timeout_at(grace, russh::server::run_stream(config, socket, handler))
                    .await;
            let Ok(Ok(session)) = started else {
                return;
            };
            let handle = session.handle();
            let mut session = std::pin::pin!(session);
            while !state.authed.load(Ordering::SeqCst) && tokio::time::Instant::now() < grace {
                tokio::select! {
                    _ = &mut session => return,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = stop.changed() => break,
                }
            }
            startup.release();
            let why = if *stop.borrow() {
                Some("strata: the server is stopping")
            } else if !state.authed.load(Ordering::SeqCst) {
                Some("strata: login took too long")
            } else {
                None
            };
            if let Some(why) = why {
                let _ = handle
                    .disconnect(Disconnect::ByApplication, why.into(), "en".into())
                    .await;
                return;
            }
            // A logged-in connection must be doing something: one with no
            // console or command (e.g. `ssh -N`) would hold a session slot.
            let why = loop {
                tokio::select! {
                    _ = &mut session => return,
                    _ = stop.changed() => break "strata: the server is stopping",
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {
                        if state.idle_for() >= nothing_running {
                            break "strata: nothing ran on this connection; closed";
                        }
                    }
                }
            };
            let _ = handle
                .disconnect(Disconnect::ByApplication, why.into(), "en".into())
                .await;
        });
    }
}

#[cfg(test)]
mod idle_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn idle_timeout_range() {
        assert_eq!(parse_idle("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_idle("30d"), Ok(Duration::from_secs(30 * 86_400)));
        for bad in ["0s", "31d", "292000y", "99999999999999999999999s"] {
            assert!(parse_idle(bad).unwrap_err().contains("1s to 30d"), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn idle_never_panics_and_is_bounded(s in "[0-9]{0,25}[smhdwy]?|\\PC{0,10}") {
            if let Ok(d) = parse_idle(&s) {
                prop_assert!(crate::core::bounds::SSH_IDLE_SECS.contains(&d.as_secs()));
            }
        }
    }
}
