//! State the SSH server shares: limits, the session count, the consoles'
//! snapshot feed, and what the accept loop watches on each connection.

use crate::core::Core;
use crate::core::access::Caller;
use crate::core::keys::AuthorizedKeys;
use crate::tui::{Feed, Input};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Limits of the SSH server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Authenticated connections at once.
    pub max_sessions: usize,
    /// Keys a client may try per connection.
    pub max_auth_attempts: usize,
    /// Console sessions close after this long without a key.
    pub idle: Duration,
    /// A connection that has not logged in this long after it was accepted is closed.
    pub login_grace: Duration,
}

/// State shared by every connection.
pub struct Shared {
    /// The daemon's core.
    pub core: Arc<Core>,
    /// Limits.
    pub limits: Limits,
    /// Authenticated connections now.
    pub sessions: AtomicUsize,
    /// One snapshot feed for every console; it stops when the last one ends.
    feed: Mutex<Weak<Feed>>,
    /// Inputs of the consoles, to end them cleanly when the server stops.
    consoles: Mutex<HashMap<u64, Sender<Input>>>,
    next_console: AtomicU64,
    /// Set when the server stops.
    pub stopping: Arc<AtomicBool>,
    keys_cache: Mutex<Option<(KeysStamp, Arc<AuthorizedKeys>)>>,
}

impl Shared {
    /// Ends every console cleanly (terminal restored, a reason shown).
    pub fn end_consoles(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Ok(all) = self.consoles.lock() {
            for tx in all.values() {
                let _ = tx.send(Input::End);
            }
        }
    }

    /// Registers a running console's input; returns its id.
    pub fn add_console(&self, input: Sender<Input>) -> u64 {
        let id = self.next_console.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut all) = self.consoles.lock() {
            all.insert(id, input);
        }
        id
    }

    /// Forgets a console that ended.
    pub fn remove_console(&self, id: u64) {
        if let Ok(mut all) = self.consoles.lock() {
            all.remove(&id);
        }
    }

    /// Whether any console is still running.
    pub fn consoles_running(&self) -> bool {
        self.consoles.lock().is_ok_and(|c| !c.is_empty())
    }

    /// Shares `core` with these limits.
    pub fn new(core: Arc<Core>, limits: Limits) -> Shared {
        Shared {
            core,
            limits,
            sessions: AtomicUsize::new(0),
            feed: Mutex::new(Weak::new()),
            consoles: Mutex::new(HashMap::new()),
            next_console: AtomicU64::new(0),
            stopping: Arc::new(AtomicBool::new(false)),
            keys_cache: Mutex::new(None),
        }
    }

    /// The consoles' shared feed, started when the first console needs it.
    pub fn feed(&self) -> Result<Arc<Feed>, String> {
        let mut slot = self
            .feed
            .lock()
            .map_err(|_| "feed lock poisoned".to_string())?;
        if let Some(f) = slot.upgrade() {
            return Ok(f);
        }
        let source = Arc::new(crate::tui::source::LocalSource::in_daemon(
            self.core.clone(),
            Caller::local(None),
        ));
        let f = Feed::start(source).map_err(|e| e.to_string())?;
        *slot = Arc::downgrade(&f);
        Ok(f)
    }

    /// `authorized_keys` as it is now. Logins and every console's revocation
    /// check ask often, so it is parsed again only when the file changed
    /// (inode, size or modification time; `keys` rewrites it by rename).
    pub fn keys(&self) -> Result<Arc<AuthorizedKeys>, String> {
        use std::os::unix::fs::MetadataExt;
        let path = self.core.home().root().join("authorized_keys");
        let stamp = match std::fs::metadata(&path) {
            Ok(m) => Some((m.ino(), m.len(), m.mtime(), m.mtime_nsec())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut cache = self
            .keys_cache
            .lock()
            .map_err(|_| "keys cache poisoned".to_string())?;
        if let Some((s, k)) = cache.as_ref()
            && *s == stamp
        {
            return Ok(k.clone());
        }
        let keys = Arc::new(AuthorizedKeys::load(&path).map_err(|e| e.to_string())?);
        *cache = Some((stamp, keys.clone()));
        Ok(keys)
    }
}

/// What identifies one version of `authorized_keys` (None: no file).
type KeysStamp = Option<(u64, u64, i64, i64)>;

/// What the accept loop watches on a connection.
#[derive(Debug)]
pub struct ConnState {
    /// The key was accepted and a session slot taken.
    pub authed: AtomicBool,
    /// Consoles and commands running on it now.
    pub running: AtomicUsize,
    /// When it last had something running (or logged in).
    pub last_busy: Mutex<Instant>,
}

impl Default for ConnState {
    fn default() -> Self {
        ConnState {
            authed: AtomicBool::new(false),
            running: AtomicUsize::new(0),
            last_busy: Mutex::new(Instant::now()),
        }
    }
}

impl ConnState {
    /// How long it has had nothing running.
    pub fn idle_for(&self) -> Duration {
        if self.running.load(Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        self.last_busy
            .lock()
            .map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// Marks the connection busy now.
    pub fn touch(&self) {
        if let Ok(mut t) = self.last_busy.lock() {
            *t = Instant::now();
        }
    }
}
