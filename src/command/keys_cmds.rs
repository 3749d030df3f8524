//! `strata keys …`: who may connect over SSH, with which role.

use super::KeysCmd;
use super::exec::{Io, json, write_err};
use super::render::Table;
use crate::core::access::Role;
use crate::core::{Core, CoreError};
use crate::ssh::authorized::{self, AuthorizedKeys, KeysError};

fn core_err(e: KeysError) -> CoreError {
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

#[derive(serde::Serialize)]
struct KeyRow {
    name: String,
    role: &'static str,
    algorithm: String,
    fingerprint: String,
    comment: String,
}

fn row(k: &authorized::AuthorizedKey) -> KeyRow {
    KeyRow {
        name: k.name.clone(),
        role: k.role.as_str(),
        algorithm: k.key.algorithm().to_string(),
        fingerprint: k.fingerprint(),
        comment: k.comment(),
    }
}

pub(super) fn keys(core: &Core, c: KeysCmd, j: bool, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let path = core.home().root().join("authorized_keys");
    match c {
        KeysCmd::Add {
            file,
            key,
            role,
            name,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
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
            let k = authorized::add(&path, &text, role, &name).map_err(core_err)?;
            if j {
                json(io, &row(&k))?;
            } else {
                say!(
                    io,
                    "authorized SSH key {} ({}, {}); it can connect now",
                    k.name,
                    k.role.as_str(),
                    k.fingerprint()
                );
            }
        }
        KeysCmd::List => {
            let all = AuthorizedKeys::load(&path).map_err(core_err)?;
            let rows: Vec<KeyRow> = all.keys.iter().map(row).collect();
            if j {
                json(io, &rows)?;
            } else if rows.is_empty() {
                say!(
                    io,
                    "no SSH keys yet; add one with 'strata keys add ~/.ssh/id_ed25519.pub --role operator --name NAME'"
                );
            } else {
                let mut t = Table::new(&["NAME", "ROLE", "TYPE", "FINGERPRINT", "COMMENT"]);
                for r in rows {
                    t.row(vec![
                        r.name,
                        r.role.into(),
                        r.algorithm,
                        r.fingerprint,
                        r.comment,
                    ]);
                }
                write!(io.out, "{}", t.render()).map_err(write_err)?;
            }
        }
        KeysCmd::Remove { name } => {
            let k = authorized::remove(&path, &name).map_err(core_err)?;
            if j {
                json(io, &row(&k))?;
            } else {
                say!(
                    io,
                    "removed SSH key {} ({}); new connections with it are refused",
                    k.name,
                    k.fingerprint()
                );
            }
        }
    }
    Ok(0)
}
