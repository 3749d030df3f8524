//! The backup engine: scan → chunk → hash → compress → pack → manifest → commit,
//! and the reverse paths (restore, verify). No catalog or UI code lives here.

pub mod backup;
pub mod chunk;
pub mod codec;
pub mod copies;
pub mod crypto;
pub mod error;
pub mod fetch;
pub mod frame;
pub mod key_slot;
pub mod keyring;
pub mod manifest;
pub mod pack;
mod prefetch;
pub mod repo;
pub mod repository;
pub mod restore;
pub mod sealed;
mod shared_frames;
pub mod stop;
pub mod store;
pub mod stream;
pub mod sync;
pub mod table;
pub mod target;
pub mod validate;
pub mod verify;

pub use error::EngineError;
pub use repository::Repository;
