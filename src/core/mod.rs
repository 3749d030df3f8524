//! The core: data model, catalog and the service API every front end uses.
//! Nothing here imports UI code.

pub mod access;
pub mod backups;
pub mod bounds;
pub mod catalog;
pub mod clock;
pub mod declarative;
pub mod error;
pub mod events;
pub mod holds;
pub mod home;
pub mod hooks;
pub mod ids;
pub mod jobs;
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
pub mod service;

pub use error::CoreError;
pub use service::Core;
