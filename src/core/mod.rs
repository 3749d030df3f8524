//! The core: typed actions (`action`, `outcome`, `perform`), the catalog, the
//! scheduler, jobs and retention. Front ends reach it only through
//! `Core::perform`; nothing here imports a front end.

pub mod access;
pub mod action;
pub mod backup_names;
pub mod backups;
pub mod bounds;
pub mod browse;
pub mod catalog;
mod claiming;
pub mod clock;
mod copy_plan;
pub mod database;
pub mod declarative;
pub(crate) mod dest_keys;
mod dest_spec;
pub mod error;
pub mod events;
pub mod health;
pub mod holds;
pub mod home;
pub mod hooks;
pub mod ids;
pub mod jobs;
mod key_admin;
pub mod keys;
pub mod notify;
pub mod outcome;
pub mod passphrase;
pub mod perform;
pub mod planning;
pub mod preview;
pub mod private;
pub mod prune;
pub mod recovery;
pub mod registry;
pub mod retention;
pub mod rows;
pub mod schedule;
pub mod scheduler;
pub mod scheduler_loop;
pub mod service;
mod snapshot_life;
pub mod snapshot_rows;
pub mod sync;
mod task_check;
#[cfg(test)]
mod test_support;
pub mod verify_schedule;
mod verifying;
pub mod webhook;

pub use action::Action;
pub use error::CoreError;
pub use outcome::Outcome;
pub use service::Core;
