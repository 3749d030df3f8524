//! The home directory: where the catalog, configuration and logs live.

use std::path::{Path, PathBuf};

/// Environment variable selecting the home.
pub const ENV: &str = "STRATA_HOME";

/// Resolved home directory and the paths inside it.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `--home`, else `$STRATA_HOME`, else the XDG data directory.
    pub fn resolve(flag: Option<PathBuf>) -> Home {
        let root = flag
            .or_else(|| {
                std::env::var_os(ENV)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(|| {
                directories::ProjectDirs::from("", "", "strata").map(|d| d.data_dir().to_path_buf())
            })
            .unwrap_or_else(|| PathBuf::from(".strata"));
        let root = std::path::absolute(&root).unwrap_or(root);
        Home { root }
    }

    /// Uses `root` as is.
    pub fn at(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    /// The home directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `catalog.redb`.
    pub fn catalog(&self) -> PathBuf {
        self.root.join("catalog.redb")
    }

    /// `strata.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join("strata.toml")
    }

    /// `logs/`.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The daemon's control socket, `strata.sock`.
    pub fn socket(&self) -> PathBuf {
        self.root.join("strata.sock")
    }

    /// The SSH server's host key.
    pub fn host_key(&self) -> PathBuf {
        self.root.join("ssh_host_ed25519_key")
    }

    /// Creates the home (owner-only) if needed, and makes Strata's files in it
    /// private: ones an older build created 0644, or a user copied in, are
    /// tightened too. Only Strata's own names are touched, and the home
    /// directory itself unless it is a shared, sticky one such as `/tmp`.
    pub fn ensure(&self) -> std::io::Result<()> {
        let existed = self.root.exists();
        super::private::create_dir(&self.root).or_else(|e| {
            // An existing directory we may not chmod still works as a home.
            if existed { Ok(()) } else { Err(e) }
        })?;
        let mut names: Vec<PathBuf> = OWN_FILES.iter().map(|n| self.root.join(n)).collect();
        names.push(self.logs());
        if let Ok(entries) = std::fs::read_dir(self.logs()) {
            names.extend(entries.flatten().map(|e| e.path()));
        }
        for p in names {
            if let Err(err) = super::private::tighten(&p) {
                tracing::warn!("could not make {} private: {err}", p.display());
            }
        }
        Ok(())
    }
}

/// The files Strata keeps directly in a home.
const OWN_FILES: &[&str] = &[
    "catalog.redb",
    "catalog.redb.owner",
    "strata.toml",
    "scheduler-state.json",
    "ssh_host_ed25519_key",
    "ssh_host_ed25519_key.pub",
    "authorized_keys",
    "strata.sock",
    "demo_ed25519",
    "demo_ed25519.pub",
];

/// Settings of a home, from `strata.toml` (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeConfig {
    /// Jobs that may run at once (default 2).
    pub max_parallel_jobs: Option<usize>,
    /// Directories operators may restore into (admins may restore anywhere).
    #[serde(default)]
    pub restore_roots: Vec<std::path::PathBuf>,
    /// Names (glob patterns such as `"*-restore-*"`) operators may restore
    /// command-source databases into; admins may use any name.
    #[serde(default)]
    pub restore_databases: Vec<String>,
    /// The SSH server's limits (`[ssh]`).
    #[serde(default)]
    pub ssh: SshSettings,
    /// Alerts on task state changes (`[notify]`).
    #[serde(default)]
    pub notify: NotifySettings,
}

pub use crate::model::{NOTIFY_EVENTS, NotifySettings};

/// `[ssh]` in `strata.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshSettings {
    /// Authenticated connections open at once (default 32).
    pub max_sessions: Option<usize>,
    /// Keys a client may try per connection (default 6).
    pub max_auth_attempts: Option<usize>,
    /// A console with no key press for this long is closed (default 30m; `90s` also works).
    pub idle_timeout: Option<String>,
    /// A connection that has not logged in this long is closed (default 30s).
    pub login_grace: Option<String>,
}

impl Home {
    /// Reads `strata.toml`; a missing file means defaults, a malformed one is an
    /// error naming the file, line and key.
    pub fn settings(&self) -> Result<HomeConfig, String> {
        let path = self.config();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HomeConfig::default()),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut cfg: HomeConfig = toml::from_str(&text).map_err(|e| {
            let mut msg = e.to_string().replace('\n', " ");
            if let Some(span) = e.span() {
                let line = text.get(..span.start).unwrap_or("").matches('\n').count() + 1;
                let hint = super::bounds::toml_value_hint(&text, span.start, e.message().trim());
                if hint != e.message().trim() {
                    msg = format!("line {line}: {hint}");
                }
            }
            format!("{}: {}", path.display(), msg)
        })?;
        use super::bounds::{MAX_PARALLEL_JOBS, SSH_MAX_AUTH_ATTEMPTS, SSH_MAX_SESSIONS, check};
        let file = path.display();
        if let Some(n) = cfg.max_parallel_jobs {
            check("max_parallel_jobs", n, &MAX_PARALLEL_JOBS)
                .map_err(|e| format!("{file}: {e}"))?;
        }
        if let Some(n) = cfg.ssh.max_sessions {
            check("[ssh] max_sessions", n, &SSH_MAX_SESSIONS)
                .map_err(|e| format!("{file}: {e}"))?;
        }
        if let Some(n) = cfg.ssh.max_auth_attempts {
            check("[ssh] max_auth_attempts", n, &SSH_MAX_AUTH_ATTEMPTS)
                .map_err(|e| format!("{file}: {e}"))?;
        }
        if let Some(t) = &cfg.ssh.idle_timeout {
            super::bounds::parse_idle(t)
                .map_err(|e| format!("{}: [ssh] idle_timeout: {e}", path.display()))?;
        }
        cfg.notify.check().map_err(|(key, why)| match key {
            "on" => format!("{file}: [notify] on: {why}"),
            _ => format!("{file}: [notify] {key} {why}"),
        })?;
        if let Some(t) = &cfg.ssh.login_grace {
            super::bounds::parse_idle(t)
                .map_err(|e| format!("{}: [ssh] login_grace: {e}", path.display()))?;
        }
        cfg.restore_roots = canonical_roots(&path, &cfg.restore_roots)?;
        for p in &cfg.restore_databases {
            globset::Glob::new(p).map_err(|e| {
                format!(
                    "{}: restore_databases entry {p:?} is not a valid pattern ({e}); write patterns such as \"*-restore-*\"",
                    path.display()
                )
            })?;
        }
        Ok(cfg)
    }
}

/// Each restore root must be an absolute, existing directory other than `/`;
/// its canonical form is kept, so containment is decided on resolved paths.
fn canonical_roots(file: &Path, roots: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let fix = "list existing absolute directories such as \"/srv/restore\"";
    let bad = |root: &Path, why: String| {
        format!(
            "{}: restore_roots entry {:?} {why}; {fix}",
            file.display(),
            root.display().to_string()
        )
    };
    let mut out: Vec<PathBuf> = Vec::new();
    for root in roots {
        if root.as_os_str().is_empty() {
            return Err(bad(root, "is empty".into()));
        }
        if !root.is_absolute() {
            return Err(bad(root, "is not an absolute path".into()));
        }
        let canon = std::fs::canonicalize(root).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => bad(root, "does not exist (create it first)".into()),
            _ => bad(root, format!("cannot be used ({e})")),
        })?;
        if !canon.is_dir() {
            return Err(bad(root, "is not a directory".into()));
        }
        // An operator root of `/` would be no restriction at all, and is far
        // more often an accident (`"/srv/$EMPTY"`, `"/.."`) than a wish:
        // whoever may restore anywhere should have the admin role instead.
        if canon.parent().is_none() {
            return Err(bad(
                root,
                "is the filesystem root /, which would let operators restore anywhere (give such users the admin role instead)".into(),
            ));
        }
        if !out.contains(&canon) {
            out.push(canon);
        }
    }
    Ok(out)
}
