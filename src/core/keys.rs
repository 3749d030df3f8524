//! `<home>/authorized_keys`: who may connect over SSH and with which role.
//!
//! OpenSSH's format with two options Strata requires on every key:
//!
//! ```text
//! role=operator,name=alice ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… alice@laptop
//! ```
//!
//! The file is read at every login, so changes apply to new connections at
//! once. Anything Strata cannot honour (a missing role, an OpenSSH option such
//! as `from=`) is an error rather than ignored: ignoring a restriction would
//! grant more than the file says.

use crate::core::access::Role;
use russh::keys::{HashAlg, PublicKey};
use std::path::{Path, PathBuf};

/// Why the keys file could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// Reading or writing the file failed.
    #[error("cannot {what} {path}: {source}")]
    Io {
        /// `read`, `write`, …
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not a valid entry.
    #[error("{path} line {line}: {why}")]
    Line {
        /// The file (or `input`).
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong and how to fix it.
        why: String,
    },
    /// A public key given to `keys add` is not one.
    #[error("{0}")]
    BadKey(String),
    /// The name or key is already present.
    #[error("{0}")]
    Duplicate(String),
    /// No key has this name.
    #[error("no SSH key is named {0:?}; see 'strata keys list'")]
    NotFound(String),
}

/// One allowed key.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizedKey {
    /// Name shown in the audit log.
    pub name: String,
    /// What the key may do.
    pub role: Role,
    /// The public key.
    pub key: PublicKey,
}

impl AuthorizedKey {
    /// `SHA256:…`, as `ssh-keygen -lf` prints it.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint(HashAlg::Sha256).to_string()
    }

    /// The key's comment (often user@host).
    pub fn comment(&self) -> String {
        self.key.comment().to_string()
    }

    /// The entry as a line of the file.
    pub fn to_line(&self) -> Result<String, KeysError> {
        let key = self.key.to_openssh().map_err(|e| {
            KeysError::BadKey(format!("cannot encode the key of {}: {e}", self.name))
        })?;
        Ok(format!(
            "role={},name={} {}",
            self.role.as_str(),
            self.name,
            key
        ))
    }
}

/// The parsed file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthorizedKeys {
    /// Entries in file order.
    pub keys: Vec<AuthorizedKey>,
}

/// Whether `name` is acceptable as a key name (it appears in audit lines).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c))
}

fn parse_options(opts: &str) -> Result<(Role, String), String> {
    let (mut role, mut name) = (None, None);
    for part in opts.split(',') {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let v = v.trim_matches('"');
        match k {
            "role" => {
                role = Some(
                    Role::parse(v)
                        .ok_or_else(|| format!("role {v:?} is not viewer, operator or admin"))?,
                )
            }
            "name" if valid_name(v) => name = Some(v.to_string()),
            "name" => {
                return Err(format!(
                    "name {v:?} must be 1-64 letters, digits or . _ @ -"
                ));
            }
            other => {
                return Err(format!(
                    "option {other:?} is not supported by Strata (only role= and name=); remove it or restrict access another way"
                ));
            }
        }
    }
    match (role, name) {
        (Some(r), Some(n)) => Ok((r, n)),
        (None, _) => Err("the key has no role=viewer|operator|admin option".into()),
        (_, None) => Err("the key has no name=NAME option".into()),
    }
}

fn parse_line(line: &str) -> Result<AuthorizedKey, String> {
    let Some((opts, rest)) = line.split_once(char::is_whitespace) else {
        return Err("expected 'role=R,name=N KEYTYPE BASE64 [comment]'".into());
    };
    if !opts.contains('=') {
        return Err(
            "the key has no options; write 'role=viewer|operator|admin,name=NAME' before the key type (or use 'strata keys add')"
                .into(),
        );
    }
    let (role, name) = parse_options(opts)?;
    let key = PublicKey::from_openssh(rest.trim())
        .map_err(|e| format!("not an OpenSSH public key: {e}"))?;
    Ok(AuthorizedKey { name, role, key })
}

impl AuthorizedKeys {
    /// Parses the file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<AuthorizedKeys, KeysError> {
        let mut keys: Vec<AuthorizedKey> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |why: String| KeysError::Line {
                path: origin.to_string(),
                line: i + 1,
                why,
            };
            let k = parse_line(line).map_err(err)?;
            if keys.iter().any(|o| o.name == k.name) {
                return Err(err(format!("the name {:?} is used twice", k.name)));
            }
            if let Some(o) = keys.iter().find(|o| o.key.key_data() == k.key.key_data()) {
                return Err(err(format!(
                    "this key is already listed as {:?}; one key has one role",
                    o.name
                )));
            }
            keys.push(k);
        }
        Ok(AuthorizedKeys { keys })
    }

    /// Reads the file; a missing file means nobody may connect yet.
    pub fn load(path: &Path) -> Result<AuthorizedKeys, KeysError> {
        match std::fs::read_to_string(path) {
            Ok(text) => AuthorizedKeys::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AuthorizedKeys::default()),
            Err(source) => Err(KeysError::Io {
                what: "read",
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The entry for a key offered by a client.
    pub fn find(&self, key: &PublicKey) -> Option<&AuthorizedKey> {
        self.keys
            .iter()
            .find(|k| k.key.key_data() == key.key_data())
    }
}

/// Replaces the file's text atomically, owner-only.
fn write_file(path: &Path, text: &str) -> Result<(), KeysError> {
    super::private::replace(path, text.as_bytes()).map_err(|source| KeysError::Io {
        what: "replace",
        path: path.to_path_buf(),
        source,
    })
}

fn read_text(path: &Path) -> Result<String, KeysError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(KeysError::Io {
            what: "read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Adds a key (the text of a `.pub` file) under `name` with `role`.
pub fn add(path: &Path, public: &str, role: Role, name: &str) -> Result<AuthorizedKey, KeysError> {
    if !valid_name(name) {
        return Err(KeysError::BadKey(format!(
            "the key name {name:?} must be 1-64 letters, digits or . _ @ -"
        )));
    }
    let line = public
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| KeysError::BadKey("the public key is empty".into()))?;
    let key = PublicKey::from_openssh(line).map_err(|e| {
        KeysError::BadKey(format!(
            "that is not an OpenSSH public key ({e}); give the .pub file, e.g. ~/.ssh/id_ed25519.pub"
        ))
    })?;
    let text = read_text(path)?;
    let current = AuthorizedKeys::parse(&text, &path.display().to_string())?;
    if current.keys.iter().any(|k| k.name == name) {
        return Err(KeysError::Duplicate(format!(
            "an SSH key named {name:?} already exists; remove it first or pick another name"
        )));
    }
    if let Some(o) = current.find(&key) {
        return Err(KeysError::Duplicate(format!(
            "this key is already authorized as {:?} ({}); remove that entry to change its role",
            o.name,
            o.role.as_str()
        )));
    }
    let entry = AuthorizedKey {
        name: name.to_string(),
        role,
        key,
    };
    let mut out = text;
    if out.is_empty() {
        out.push_str("# Strata SSH access: one key per line, each with its role and name.\n");
        out.push_str("# Manage with 'strata keys add|list|remove'.\n");
    } else if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&entry.to_line()?);
    out.push('\n');
    write_file(path, &out)?;
    Ok(entry)
}

/// Removes the key named `name`, keeping every other line as it was.
pub fn remove(path: &Path, name: &str) -> Result<AuthorizedKey, KeysError> {
    let text = read_text(path)?;
    let mut removed = None;
    let mut out = String::with_capacity(text.len());
    for raw in text.lines() {
        let line = raw.trim();
        if removed.is_none()
            && !line.is_empty()
            && !line.starts_with('#')
            && let Ok(k) = parse_line(line)
            && k.name == name
        {
            removed = Some(k);
            continue;
        }
        out.push_str(raw);
        out.push('\n');
    }
    let removed = removed.ok_or_else(|| KeysError::NotFound(name.to_string()))?;
    write_file(path, &out)?;
    Ok(removed)
}

/// The fingerprint of an existing host key file, without creating one.
pub fn host_key_fingerprint(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    russh::keys::PrivateKey::from_openssh(&text)
        .ok()
        .map(|k| k.public_key().fingerprint(HashAlg::Sha256).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::fs::PermissionsExt;

    fn fresh(comment: &str) -> String {
        let mut k =
            russh::keys::PrivateKey::random(&mut rand::rng(), russh::keys::Algorithm::Ed25519)
                .unwrap();
        k.set_comment(comment);
        k.public_key().to_openssh().unwrap()
    }

    #[test]
    fn parses_roles_names_and_comments() {
        let (ed, ed2) = (fresh("alice@laptop"), fresh("bob@desk"));
        let text =
            format!("# c\n\nrole=operator,name=alice {ed}\nrole=\"viewer\",name=bob {ed2}\n");
        let k = AuthorizedKeys::parse(&text, "f").unwrap();
        assert_eq!(k.keys.len(), 2);
        assert_eq!(
            (k.keys[0].name.as_str(), k.keys[0].role),
            ("alice", Role::Operator)
        );
        assert_eq!(k.keys[0].comment(), "alice@laptop");
        assert!(k.keys[0].fingerprint().starts_with("SHA256:"));
        assert_eq!(k.find(&k.keys[1].key).unwrap().name, "bob");
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        let ed = fresh("x");
        for (line, needle) in [
            (ed.clone(), "no options"),
            (format!("role=root,name=a {ed}"), "not viewer"),
            (format!("name=a {ed}"), "no role"),
            (format!("role=admin {ed}"), "no name"),
            (
                format!("from=\"10.0.0.1\",role=admin,name=a {ed}"),
                "not supported",
            ),
            (
                "role=admin,name=a ssh-ed25519 AAAA!!".into(),
                "not an OpenSSH public key",
            ),
            (format!("role=admin,name=a b {ed}"), "not an OpenSSH"),
        ] {
            let e = AuthorizedKeys::parse(&line, "f").unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains("line 1"), "{line}: {e}");
        }
        let dup = format!("role=admin,name=a {ed}\nrole=viewer,name=b {ed}\n");
        assert!(
            AuthorizedKeys::parse(&dup, "f")
                .unwrap_err()
                .to_string()
                .contains("line 2")
        );
    }

    #[test]
    fn add_and_remove_keep_other_lines() {
        let (ed, ed2) = (fresh("alice@laptop"), fresh("bob@desk"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("authorized_keys");
        add(&p, &ed, Role::Admin, "alice").unwrap();
        add(&p, &format!("\n{ed2}\n"), Role::Viewer, "bob").unwrap();
        assert!(matches!(
            add(&p, &ed2, Role::Admin, "carol"),
            Err(KeysError::Duplicate(_))
        ));
        assert!(matches!(
            add(&p, &ed2, Role::Admin, "alice"),
            Err(KeysError::Duplicate(_))
        ));
        assert!(matches!(
            add(&p, "nonsense", Role::Admin, "x"),
            Err(KeysError::BadKey(_))
        ));
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let k = AuthorizedKeys::load(&p).unwrap();
        assert_eq!(k.keys.len(), 2);
        assert_eq!(remove(&p, "alice").unwrap().role, Role::Admin);
        assert!(matches!(remove(&p, "alice"), Err(KeysError::NotFound(_))));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("# Strata SSH access"), "{text}");
        assert_eq!(AuthorizedKeys::load(&p).unwrap().keys[0].name, "bob");
    }

    proptest! {
        // The file comes from disk and may hold anything: parsing must never
        // panic, and whatever it accepts must have a role and a valid name.
        #[test]
        fn parser_never_panics(text in "(.{0,80}\n){0,6}") {
            if let Ok(k) = AuthorizedKeys::parse(&text, "p") {
                for e in k.keys {
                    prop_assert!(valid_name(&e.name));
                }
            }
        }

        #[test]
        fn options_round_trip(name in "[a-z0-9._@-]{1,20}", r in 0usize..3) {
            let ed = fresh("c");
            let role = [Role::Viewer, Role::Operator, Role::Admin][r];
            let k = AuthorizedKeys::parse(&format!("role={},name={name} {ed}", role.as_str()), "p").unwrap();
            let line = k.keys[0].to_line().unwrap();
            prop_assert_eq!(AuthorizedKeys::parse(&line, "p").unwrap(), k);
        }
    }
}
