//! How `strata keys …` shows who may connect over SSH, with which role.

use super::exec::{Io, json, write_err};
use super::render::Table;
use crate::core::{CoreError, Outcome};

pub(super) fn keys(o: &Outcome, j: bool, io: &mut Io<'_>) -> Result<(), CoreError> {
    match o {
        Outcome::KeyAdded(k) => {
            if j {
                json(io, k)?;
            } else {
                say!(
                    io,
                    "authorized SSH key {} ({}, {}); it can connect now",
                    k.name,
                    k.role,
                    k.fingerprint
                );
            }
        }
        Outcome::Keys(rows) => {
            if j {
                json(io, rows)?;
            } else if rows.is_empty() {
                say!(
                    io,
                    "no SSH keys yet; add one with 'strata keys add ~/.ssh/id_ed25519.pub --role operator --name NAME'"
                );
            } else {
                let mut t = Table::new(&["NAME", "ROLE", "TYPE", "FINGERPRINT", "COMMENT"]);
                for r in rows {
                    t.row(vec![
                        r.name.clone(),
                        r.role.clone(),
                        r.algorithm.clone(),
                        r.fingerprint.clone(),
                        r.comment.clone(),
                    ]);
                }
                write!(io.out, "{}", t.render()).map_err(write_err)?;
            }
        }
        Outcome::KeyRemoved(k) => {
            if j {
                json(io, k)?;
            } else {
                say!(
                    io,
                    "removed SSH key {} ({}); new connections with it are refused",
                    k.name,
                    k.fingerprint
                );
            }
        }
        _ => {}
    }
    Ok(())
}

/// How `strata dest key …` shows the key slots of an encrypted destination.
pub(super) fn dest_keys(o: &Outcome, j: bool, io: &mut Io<'_>) -> Result<(), CoreError> {
    match o {
        Outcome::DestKeys(rows) => {
            if j {
                json(io, rows)?;
            } else {
                let mut t = Table::new(&["", "KEYID", "CREATED", "HOST", "LABEL", "ARGON2ID"]);
                for r in rows {
                    t.row(vec![
                        if r.current { "*" } else { "" }.into(),
                        r.id.clone(),
                        super::render::time(&r.created),
                        r.host.clone(),
                        r.label.clone(),
                        format!("m={} MiB t={} p={}", r.m_kib / 1024, r.t, r.p),
                    ]);
                }
                write!(io.out, "{}", t.render()).map_err(write_err)?;
            }
        }
        Outcome::DestKeyAdded(r) => {
            if j {
                json(io, r)?;
            } else {
                say!(io, "added key slot {} (host {})", r.id, r.host);
            }
        }
        Outcome::DestKeyRemoved(r) => {
            if j {
                json(io, r)?;
            } else {
                say!(
                    io,
                    "removed key slot {}; its passphrase no longer opens the repository",
                    r.id
                );
            }
        }
        _ => {}
    }
    Ok(())
}
