//! The SSH keys allowed to connect (`strata keys …`), through the core: the
//! home's `authorized_keys` file read and changed by `core::keys`, its errors
//! turned into the core's, and each key shown as a `KeyRow`.

use super::access::Role;
use super::error::CoreError;
use super::outcome::KeyRow;
use super::service::Core;

impl Core {
    fn keys_path(&self) -> std::path::PathBuf {
        self.home.root().join("authorized_keys")
    }

    pub(super) fn list_keys(&self) -> Result<Vec<KeyRow>, CoreError> {
        let all = super::keys::AuthorizedKeys::load(&self.keys_path()).map_err(keys_err)?;
        Ok(all.keys.iter().map(key_row).collect())
    }

    pub(super) fn add_key(
        &self,
        key: Option<String>,
        file: Option<std::path::PathBuf>,
        role: &str,
        name: &str,
    ) -> Result<KeyRow, CoreError> {
        let role = Role::parse(role).ok_or_else(|| {
            CoreError::Invalid(format!(
                "--role {role:?} is not a role; use viewer, operator or admin"
            ))
        })?;
        let text = match (key, file) {
            (Some(k), _) => k,
            (None, Some(f)) => std::fs::read_to_string(&f).map_err(|e| {
                CoreError::Invalid(format!(
                    "cannot read the public key {}: {e}; give the .pub file or --key",
                    f.display()
                ))
            })?,
            (None, None) => {
                return Err(CoreError::Invalid(
                    "give the public key file or --key".into(),
                ));
            }
        };
        let k = super::keys::add(&self.keys_path(), &text, role, name).map_err(keys_err)?;
        Ok(key_row(&k))
    }

    pub(super) fn remove_key(&self, name: &str) -> Result<KeyRow, CoreError> {
        let k = super::keys::remove(&self.keys_path(), name).map_err(keys_err)?;
        Ok(key_row(&k))
    }
}

fn keys_err(e: super::keys::KeysError) -> CoreError {
    use super::keys::KeysError;
    match e {
        KeysError::NotFound(name) => CoreError::NotFound {
            what: "SSH key",
            name,
            hint: "see 'strata keys list'".into(),
        },
        KeysError::Io { .. } => CoreError::Failed(e.to_string()),
        KeysError::Line { .. } | KeysError::BadKey(_) => CoreError::Invalid(e.to_string()),
        KeysError::Duplicate(_) => CoreError::Refused(e.to_string()),
    }
}

fn key_row(k: &super::keys::AuthorizedKey) -> KeyRow {
    KeyRow {
        name: k.name.clone(),
        role: k.role.as_str().into(),
        algorithm: k.key.algorithm().to_string(),
        fingerprint: k.fingerprint(),
        comment: k.comment(),
    }
}
