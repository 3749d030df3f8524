//! The russh server: public-key logins checked against `authorized_keys`,
//! one console per pty session, one command per exec request, nothing else.

use super::console::{self, Pty};
use super::input::KeyParser;
use super::output::{self, Out};
use super::state::{ConnState, Shared};
use crate::core::access::Caller;
use crate::tui::Input;
use russh::keys::{HashAlg, PublicKey};
use russh::server::{Auth, Handler, Msg, Session};
use russh::{Channel, ChannelId, Disconnect, MethodKind, MethodSet};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use tokio::sync::mpsc;

/// Channels one connection may open (a console and a few commands).
const MAX_CHANNELS: usize = 4;

/// Per channel: the client's terminal and, once started, the console's input.
#[derive(Default)]
struct Chan {
    pty: Option<Pty>,
    no_color: bool,
    started: bool,
    console: Option<Sender<Input>>,
    parser: KeyParser,
}

/// One connection.
pub struct Conn {
    shared: Arc<Shared>,
    addr: String,
    caller: Option<Caller>,
    /// The key that logged in (consoles re-check it while they run).
    key: Option<PublicKey>,
    counted: bool,
    refused: Vec<String>,
    channels: HashMap<ChannelId, Chan>,
    state: Arc<ConnState>,
}

impl Conn {
    /// A new connection from `addr`.
    pub fn new(shared: Arc<Shared>, addr: Option<SocketAddr>, state: Arc<ConnState>) -> Conn {
        Conn {
            shared,
            addr: addr.map_or_else(|| "unknown".into(), |a| a.to_string()),
            caller: None,
            key: None,
            counted: false,
            refused: Vec::new(),
            channels: HashMap::new(),
            state,
        }
    }

    fn reject() -> Auth {
        Auth::Reject {
            proceed_with_methods: Some(MethodSet::from(&[MethodKind::PublicKey][..])),
            partial_success: false,
        }
    }

    fn note_refused(&mut self, key: &PublicKey, why: &str) {
        let fp = key.fingerprint(HashAlg::Sha256).to_string();
        if self.refused.len() < 16 && !self.refused.iter().any(|r| r.starts_with(&fp)) {
            self.refused.push(format!("{fp} ({why})"));
        }
    }

    /// Where the output of `channel` goes; starts the task that sends it,
    /// which also marks the connection busy until the channel ends.
    fn output(&self, session: &Session, channel: ChannelId) -> mpsc::Sender<Out> {
        let (tx, rx) = mpsc::channel(output::QUEUE);
        let (handle, state) = (session.handle(), self.state.clone());
        state.running.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            output::pump(handle, channel, rx).await;
            state.touch();
            state.running.fetch_sub(1, Ordering::SeqCst);
        });
        tx
    }

    /// Claims `channel` for one console or command; false if it has one.
    fn claim(&mut self, channel: ChannelId) -> bool {
        match self.channels.get_mut(&channel) {
            Some(c) if !c.started => {
                c.started = true;
                true
            }
            _ => false,
        }
    }

    /// Claims `channel` for a shell or exec request of a logged-in caller:
    /// replies to the request and returns the caller and the channel's output.
    fn begin(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<Option<(Caller, mpsc::Sender<Out>)>, russh::Error> {
        let Some(caller) = self.caller.clone() else {
            session.channel_failure(channel)?;
            return Ok(None);
        };
        if !self.claim(channel) {
            session.channel_failure(channel)?;
            return Ok(None);
        }
        session.channel_success(channel)?;
        Ok(Some((caller, self.output(session, channel))))
    }

    /// Starts a console on a claimed channel that has a pty.
    fn start_console(&mut self, channel: ChannelId, caller: Caller, out: mpsc::Sender<Out>) {
        let (Some(c), Some(key)) = (self.channels.get_mut(&channel), self.key.clone()) else {
            return end_with(
                out,
                Out::Err(b"strata: no terminal for the console\n".to_vec()),
                2,
            );
        };
        let Some(mut pty) = c.pty.clone() else {
            return end_with(
                out,
                Out::Err(b"strata: no terminal for the console\n".to_vec()),
                2,
            );
        };
        pty.no_color = c.no_color;
        let feed = match self.shared.feed() {
            Ok(f) => f,
            Err(e) => {
                let msg = format!("strata: the console cannot read the catalog: {e}\r\n");
                return end_with(out, Out::Data(msg.into_bytes()), 1);
            }
        };
        let (tx, rx) = std::sync::mpsc::channel();
        c.console = Some(tx.clone());
        let id = self.shared.add_console(tx.clone());
        let s = console::Session {
            shared: self.shared.clone(),
            feed,
            caller,
            key,
            pty,
        };
        let shared = self.shared.clone();
        std::thread::spawn(move || {
            console::run(s, rx, tx, out);
            shared.remove_console(id);
        });
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.counted {
            self.shared.sessions.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some(c) = &self.caller {
            tracing::info!(who = %c.name, addr = %self.addr, "ssh connection closed");
        } else if !self.refused.is_empty() {
            self.shared.core.record_unknown_access(
                "unknown key",
                None,
                &format!("ssh {}", self.addr),
                "ssh login",
                &self.refused.join(", "),
                if self.refused.iter().any(|r| r.contains("authorized_keys invalid")) {
                    "refused: authorized_keys is invalid, every login is refused; see 'strata keys list'"
                } else {
                    "refused: key not in authorized_keys"
                },
            );
        }
    }
}

impl Handler for Conn {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        // Checked here too: the default would let any key through to signing.
        match self.shared.keys() {
            Ok(k) if k.find(offer.public_key).is_some() => Ok(Auth::Accept),
            Ok(_) => {
                self.note_refused(offer.public_key, "unknown key");
                Ok(Self::reject())
            }
            Err(e) => {
                tracing::error!("ssh: cannot use authorized_keys, refusing logins: {e}");
                self.note_refused(offer.public_key, "authorized_keys invalid");
                Ok(Self::reject())
            }
        }
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let keys = match self.shared.keys() {
            Ok(k) => k,
            Err(e) => {
                tracing::error!("ssh: cannot use authorized_keys, refusing logins: {e}");
                return Ok(Self::reject());
            }
        };
        match keys.find(key.public_key) {
            Some(k) => {
                tracing::info!(key = %k.name, user, addr = %self.addr, "ssh key accepted");
                self.caller = Some(Caller {
                    name: k.name.clone(),
                    role: k.role,
                    origin: format!("ssh {}", self.addr),
                });
                self.key = Some(key.public_key.clone());
                Ok(Auth::Accept)
            }
            None => {
                self.note_refused(key.public_key, "unknown key");
                Ok(Self::reject())
            }
        }
    }

    async fn auth_succeeded(&mut self, session: &mut Session) -> Result<(), Self::Error> {
        let Some(caller) = self.caller.clone() else {
            return Ok(());
        };
        let max = self.shared.limits.max_sessions;
        let open = self.shared.sessions.fetch_add(1, Ordering::SeqCst);
        if open >= max {
            self.shared.sessions.fetch_sub(1, Ordering::SeqCst);
            let why = format!("refused: {open} sessions are open, the limit is {max}");
            self.shared
                .core
                .record_access(&caller, "ssh login", &caller.name, &why);
            session.disconnect(
                Disconnect::TooManyConnections,
                &format!(
                    "strata: too many sessions ({open} open, max_sessions = {max} in strata.toml); try again later"
                ),
                "en",
            )?;
            return Ok(());
        }
        self.counted = true;
        self.state.touch();
        self.state.authed.store(true, Ordering::SeqCst);
        self.shared
            .core
            .record_access(&caller, "ssh login", &caller.name, "ok");
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.caller.is_none() || self.channels.len() >= MAX_CHANNELS {
            return Ok(()); // dropping `reply` refuses the channel
        }
        self.channels.insert(channel.id(), Chan::default());
        reply.accept().await;
        // Everything arrives through the handler callbacks; holding the
        // channel without reading it would stall the connection.
        drop(channel);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        cols: u32,
        rows: u32,
        _px: u32,
        _py: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.channels.get_mut(&channel) {
            Some(c) if !c.started => {
                c.pty = Some(Pty {
                    term: term.chars().take(64).collect(),
                    cols: clamp(cols, 80),
                    rows: clamp(rows, 24),
                    no_color: false,
                });
                session.channel_success(channel)
            }
            _ => session.channel_failure(channel),
        }
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.channels.get_mut(&channel) {
            Some(c) if name == "NO_COLOR" => {
                c.no_color = !value.is_empty();
                session.channel_success(channel)
            }
            _ => session.channel_failure(channel),
        }
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        cols: u32,
        rows: u32,
        _px: u32,
        _py: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(c) = self.channels.get_mut(&channel) {
            if let Some(p) = &mut c.pty {
                p.cols = clamp(cols, 80);
                p.rows = clamp(rows, 24);
            }
            if let Some(tx) = &c.console {
                let _ = tx.send(Input::Resize(clamp(cols, 80), clamp(rows, 24)));
            }
        }
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some((caller, out)) = self.begin(channel, session)? else {
            return Ok(());
        };
        if self.channels.get(&channel).is_some_and(|c| c.pty.is_none()) {
            let msg = "strata: there is no shell here. Use 'ssh -t' for the console, or give a command, e.g. 'ssh HOST strata backup list'\n";
            end_with(out, Out::Err(msg.as_bytes().to_vec()), 2);
            return Ok(());
        }
        self.start_console(channel, caller, out);
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some((caller, out)) = self.begin(channel, session)? else {
            return Ok(());
        };
        let line = String::from_utf8_lossy(data).into_owned();
        let pty = self.channels.get(&channel).is_some_and(|c| c.pty.is_some());
        // `ssh -t HOST strata tui` is the console too.
        if pty && super::exec::is_console(&line) {
            self.start_console(channel, caller, out);
            return Ok(());
        }
        let core = self.shared.core.clone();
        std::thread::spawn(move || super::exec::run(core, caller, line, pty, out));
        Ok(())
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single: bool,
        _protocol: &str,
        _cookie: &str,
        _screen: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(c) = self.channels.get_mut(&channel)
            && let Some(tx) = &c.console
        {
            for k in c.parser.feed(data) {
                let _ = tx.send(Input::Key(k));
            }
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(tx) = self.channels.get(&channel).and_then(|c| c.console.as_ref()) {
            let _ = tx.send(Input::End);
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(c) = self.channels.remove(&channel)
            && let Some(tx) = c.console
        {
            let _ = tx.send(Input::End);
        }
        Ok(())
    }
}

/// Sends one message and ends the channel with `code`.
fn end_with(out: mpsc::Sender<Out>, msg: Out, code: u32) {
    tokio::spawn(async move {
        let _ = out.send(msg).await;
        let _ = out.send(Out::Exit(code)).await;
    });
}

/// Terminal sizes as the console's u16, within reason; a client that does not
/// know its size (0, e.g. `ssh -tt` from a pipe) gets the classic default.
fn clamp(v: u32, unknown: u16) -> u16 {
    if v == 0 {
        return unknown;
    }
    v.min(1000) as u16
}
