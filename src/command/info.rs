//! `strata info`: every path Strata uses, its mode, the daemon and the host key.

use super::exec::{Io, json};
use crate::core::CoreError;
use crate::core::home::Home;

/// Prints the paths of `home`, their modes and whether a daemon serves it.
pub fn info(home: &Home, j: bool, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let sock = home.socket();
    let daemon = std::os::unix::net::UnixStream::connect(&sock).is_ok();
    let paths = [
        ("home", home.root().to_path_buf()),
        ("config", home.config()),
        ("catalog", home.catalog()),
        ("socket", sock),
        ("logs", home.logs()),
        ("log file", home.logs().join("strata.log")),
        ("scheduler", home.root().join("scheduler-state.json")),
        ("host key", home.host_key()),
        ("ssh keys", home.root().join("authorized_keys")),
    ];
    let fingerprint = crate::core::keys::host_key_fingerprint(&home.host_key());
    let tz = crate::core::scheduler::host_tz();
    use crate::core::private;
    let modes: Vec<Option<u32>> = paths.iter().map(|(_, p)| private::mode(p)).collect();
    let exposed: Vec<(&str, &std::path::PathBuf, u32)> = paths
        .iter()
        .zip(&modes)
        .filter_map(|((k, p), m)| m.filter(|m| !private::is_private(*m)).map(|m| (*k, p, m)))
        .collect();
    if j {
        let mut m = serde_json::Map::new();
        m.insert("version".into(), env!("CARGO_PKG_VERSION").into());
        for (k, p) in &paths {
            m.insert(
                k.replace(' ', "_"),
                serde_json::Value::String(p.display().to_string()),
            );
        }
        let mut mm = serde_json::Map::new();
        for ((k, _), mode) in paths.iter().zip(&modes) {
            if let Some(mode) = mode {
                mm.insert(k.replace(' ', "_"), format!("{mode:04o}").into());
            }
        }
        m.insert("modes".into(), mm.into());
        m.insert("private".into(), exposed.is_empty().into());
        m.insert("daemon_running".into(), daemon.into());
        m.insert("host_timezone".into(), tz.name().into());
        m.insert(
            "host_key_fingerprint".into(),
            fingerprint
                .clone()
                .map_or(serde_json::Value::Null, Into::into),
        );
        json(io, &m)?;
    } else {
        say!(io, "strata {}", env!("CARGO_PKG_VERSION"));
        for ((k, p), mode) in paths.iter().zip(&modes) {
            match mode {
                Some(m) => say!(io, "{k:<10} {}  ({m:04o})", p.display()),
                None => say!(io, "{k:<10} {}", p.display()),
            }
        }
        if exposed.is_empty() {
            say!(
                io,
                "{:<10} private: the home is 0700 and its files 0600 (only this user can read them)",
                "access"
            );
        }
        for (k, p, m) in &exposed {
            say!(
                io,
                "{:<10} WARNING: the {k} {} is {m:04o}, readable by others; run 'chmod go= {}' (Strata also tightens it at the next command)",
                "access",
                p.display(),
                p.display()
            );
        }
        say!(
            io,
            "{:<10} {}",
            "daemon",
            if daemon {
                "running (commands go through it)"
            } else {
                "not running (commands open the catalog themselves)"
            }
        );
        say!(io, "{:<10} {}", "time zone", tz.name());
        say!(
            io,
            "{:<10} {}",
            "host fp",
            fingerprint
                .as_deref()
                .unwrap_or("not created yet ('strata serve' creates it)")
        );
    }
    Ok(0)
}
