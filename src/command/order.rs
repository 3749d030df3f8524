//! The one order of listings (`backup list`, `runs`, `audit`, text and JSON
//! alike): newest first, as the console shows them; `--reverse` lists
//! oldest first, the newest at the bottom (like `journalctl`).

use super::{BackupCmd, Command};

/// `--reverse`, shared by every listing.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct OrderArgs {
    /// Oldest first (the newest at the bottom) instead of newest first.
    #[arg(long)]
    pub reverse: bool,
}

/// The order a listing is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Newest first (the default).
    #[default]
    NewestFirst,
    /// Oldest first (`--reverse`).
    OldestFirst,
}

impl Order {
    /// The order `cmd` asks for (newest first for commands without `--reverse`).
    pub fn of(cmd: &Command) -> Order {
        let reverse = match cmd {
            Command::Runs { order, .. }
            | Command::Audit { order, .. }
            | Command::Backup(BackupCmd::List { order, .. }) => order.reverse,
            _ => false,
        };
        if reverse {
            Order::OldestFirst
        } else {
            Order::NewestFirst
        }
    }

    /// `items`, given oldest first, in this order.
    pub fn given_oldest_first<T>(self, items: &[T]) -> Vec<&T> {
        let mut v: Vec<&T> = items.iter().collect();
        if self == Order::NewestFirst {
            v.reverse();
        }
        v
    }

    /// `items`, given newest first, in this order.
    pub fn given_newest_first<T>(self, items: &[T]) -> Vec<&T> {
        let mut v: Vec<&T> = items.iter().collect();
        if self == Order::OldestFirst {
            v.reverse();
        }
        v
    }
}
