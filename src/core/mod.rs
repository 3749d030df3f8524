//! The core: data model, catalog and the service API every front end uses.
//! Nothing here imports UI code.

pub mod backups;
pub mod catalog;
pub mod error;
pub mod home;
pub mod ids;
pub mod jobs;
pub mod model;
pub mod schedule;
pub mod service;

pub use error::CoreError;
pub use service::Core;
