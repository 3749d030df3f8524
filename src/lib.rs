//! Strata: a backup console for operations engineers.
//!
//! Layout: `core` (typed actions, catalog, scheduler, jobs), `engine` (scan,
//! chunk, pack, restore, verify), `dest` (where repositories live), `source`
//! (what is backed up), front ends `command`, `tui`, `ssh`, `daemon`, and the
//! leaf modules `model` and `progress` (plain data shared by all); `demo`
//! composes core and console for `strata demo`.
#![forbid(unsafe_code)]

pub mod command;
pub mod core;
pub mod daemon;
pub mod demo;
pub mod dest;
pub mod engine;
pub mod model;
pub mod progress;
pub mod source;
pub mod spelling;
pub mod ssh;
pub mod tui;
pub mod units;
