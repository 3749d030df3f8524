//! The daemon: `strata serve` owns the catalog, runs the scheduler and jobs,
//! and answers local commands on a Unix control socket, so `strata …` works
//! the same whether a daemon runs or not.

pub mod client;
pub mod protocol;
pub mod server;

use crate::core::home::Home;
use std::path::PathBuf;

/// The control socket of a home (owner-only, 0600).
pub fn socket_path(home: &Home) -> PathBuf {
    home.socket()
}
