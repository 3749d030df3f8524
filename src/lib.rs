//! Strata: a backup console for operations engineers.
//!
//! Layout: `core` (model, catalog, service API), `engine` (scan, chunk, pack,
//! restore, verify), `dest` (where repositories live), `source` (what is backed
//! up), `command` (the one command grammar and its rendering).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod command;
pub mod core;
pub mod daemon;
pub mod dest;
pub mod engine;
pub mod source;
pub mod ssh;
pub mod tui;
