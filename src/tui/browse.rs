//! The file browser over one backup: its entries come once, in the
//! background (`ls --recursive` as a typed action on a worker thread), and
//! are indexed by directory on arrival, so a frame touches only the rows it
//! draws and a filter runs only when its text or the directory changes.

use super::app::{App, Request, idx, matches};
use super::keymap::View;
use super::output::{Failure, Note};
use super::source::Snapshot;
use crate::core::backups::BackupRow;
use crate::core::{Action as CoreAction, Outcome};
use crate::model::{BackupKind, ListedEntry};
use std::collections::HashMap;

/// A backup's entries indexed by directory.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    entries: Vec<ListedEntry>,
    /// Directory path (`""`: the root) → its entries, directories first,
    /// then by name.
    children: HashMap<String, Vec<usize>>,
}

/// The directory part of a `/`-separated path (`""` at the top).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

impl Listing {
    /// Indexes `entries` (any order; paths relative to the source root).
    pub fn new(entries: Vec<ListedEntry>) -> Listing {
        let mut children: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let dir = parent(&e.path);
            match children.get_mut(dir) {
                Some(v) => v.push(i),
                None => {
                    children.insert(dir.to_string(), vec![i]);
                }
            }
        }
        for v in children.values_mut() {
            v.sort_by(|&a, &b| {
                let (x, y) = (&entries[a], &entries[b]);
                y.is_dir()
                    .cmp(&x.is_dir())
                    .then_with(|| x.name().cmp(y.name()))
            });
        }
        Listing { entries, children }
    }

    /// The entries directly in `dir`, in display order.
    pub fn children(&self, dir: &str) -> &[usize] {
        self.children
            .get(dir)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Entry number `i`.
    pub fn get(&self, i: usize) -> Option<&ListedEntry> {
        self.entries.get(i)
    }

    /// Number of entries in the whole backup.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the backup has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Where the browser's entries are.
#[derive(Debug, Clone)]
pub enum Load {
    /// Asked for; not back yet.
    Loading,
    /// The core could not list them (e.g. no readable copy): its sentence.
    Failed(String),
    /// Indexed.
    Ready(Box<Listing>),
}

/// The file browser's state.
#[derive(Debug, Clone)]
pub struct Browser {
    /// Backup id.
    pub id: String,
    /// Its task.
    pub task: String,
    /// Its kind.
    pub kind: BackupKind,
    /// What its task backs up (`dir`, `sqlite · snapshot`, …).
    pub source: String,
    /// The view it was opened from (Esc returns there).
    pub from: View,
    /// The directory shown (`""`: the top).
    pub dir: String,
    /// The entries.
    pub load: Load,
    /// The current directory's entries that pass the filter.
    shown: Vec<usize>,
    /// The (directory, filter) `shown` was made for.
    shown_for: Option<(String, String)>,
}

impl Browser {
    fn new(row: &BackupRow, from: View) -> Browser {
        Browser {
            id: row.record.id.clone(),
            task: row.record.task.clone(),
            kind: row.record.kind,
            source: row.source.clone(),
            from,
            dir: String::new(),
            load: Load::Loading,
            shown: Vec::new(),
            shown_for: None,
        }
    }

    /// The action that loads the entries.
    pub fn request(&self) -> CoreAction {
        CoreAction::ListEntries {
            id: self.id.clone(),
            path: None,
            recursive: true,
        }
    }

    /// The listing, once loaded.
    pub fn listing(&self) -> Option<&Listing> {
        match &self.load {
            Load::Ready(l) => Some(&**l),
            _ => None,
        }
    }

    /// Rows on screen: `..`, then the shown entries (none until loaded).
    pub fn rows(&self) -> usize {
        if self.listing().is_some() {
            1 + self.shown.len()
        } else {
            0
        }
    }

    /// The entry on row `row` (`None` for `..`).
    pub fn entry_at(&self, row: usize) -> Option<&ListedEntry> {
        let i = *self.shown.get(row.checked_sub(1)?)?;
        self.listing()?.get(i)
    }

    /// The entry numbers of the rows after `..`: the current directory's
    /// entries that pass the filter, in display order.
    pub fn shown(&self) -> &[usize] {
        &self.shown
    }

    /// Refilters when the directory or the filter changed since last time.
    fn sync(&mut self, filter: &str) {
        let Load::Ready(listing) = &self.load else {
            return;
        };
        if self
            .shown_for
            .as_ref()
            .is_some_and(|(d, f)| *d == self.dir && f == filter)
        {
            return;
        }
        self.shown = listing
            .children(&self.dir)
            .iter()
            .copied()
            .filter(|&i| listing.get(i).is_some_and(|e| matches(filter, &[e.name()])))
            .collect();
        self.shown_for = Some((self.dir.clone(), filter.to_string()));
    }

    /// Whether `action` is this browser's load and it is still waited for.
    fn awaits(&self, action: &CoreAction) -> bool {
        matches!(self.load, Load::Loading) && *action == self.request()
    }
}

/// The note for a finished action. A listing is indexed here, on the worker
/// thread, so the screen never waits for 100,000 entries to be sorted.
pub fn note_of(action: CoreAction, result: Result<Outcome, Failure>) -> Note {
    match (action, result) {
        (action @ CoreAction::ListEntries { .. }, Ok(Outcome::Entries { entries, .. })) => {
            Note::Listed {
                action,
                listing: Box::new(Listing::new(entries)),
            }
        }
        (action, result) => Note::Acted { action, result },
    }
}

impl App {
    /// The open (or last) file browser.
    pub fn browser(&self) -> Option<&Browser> {
        self.browse.as_deref()
    }

    /// Opens the file browser of `row`; returns the load to run (none when
    /// the same backup's entries are already here or on their way).
    pub fn open_browser(&mut self, row: &BackupRow) -> Vec<Request> {
        let from = match self.view {
            View::Browse => self.browse.as_ref().map_or(View::Backups, |b| b.from),
            v => v,
        };
        self.view = View::Browse;
        self.selected[idx(View::Browse)] = 0;
        self.filter[idx(View::Browse)].clear();
        if let Some(b) = self.browse.as_deref_mut()
            && b.id == row.record.id
            && !matches!(b.load, Load::Failed(_))
        {
            b.from = from;
            b.dir.clear();
            self.sync_browser();
            return Vec::new();
        }
        let b = Browser::new(row, from);
        let load = b.request();
        self.browse = Some(Box::new(b));
        vec![Request::Act(load)]
    }

    /// Keeps the browser's shown rows in step with its directory and filter.
    pub(super) fn sync_browser(&mut self) {
        if let Some(b) = self.browse.as_deref_mut() {
            b.sync(&self.filter[idx(View::Browse)]);
        }
    }

    /// The path of the selected entry (`None` on `..`: the whole backup).
    pub fn browse_selected_path(&self, s: &Snapshot) -> Option<String> {
        let b = self.browse.as_deref()?;
        b.entry_at(self.selection(s)).map(|e| e.path.clone())
    }

    /// The backup the browser shows, as the snapshot has it.
    pub(super) fn browsed_backup<'a>(&self, s: &'a Snapshot) -> Option<&'a BackupRow> {
        let id = &self.browse.as_deref()?.id;
        s.backups.iter().find(|b| b.record.id == *id)
    }

    /// Back to the view the browser was opened from.
    pub(super) fn close_browser(&mut self) {
        self.view = self.browse.as_ref().map_or(View::Backups, |b| b.from);
    }

    /// Into the selected directory; on `..`, up.
    pub(super) fn browse_open(&mut self, s: &Snapshot) {
        let row = self.selection(s);
        let Some(b) = self.browse.as_deref() else {
            return;
        };
        if b.listing().is_none() {
            return;
        }
        let Some(e) = b.entry_at(row) else {
            return self.browse_parent();
        };
        if !e.is_dir() {
            let text = format!("{} is not a directory; r restores it", e.path);
            return self.notice(text, false);
        }
        let path = e.path.clone();
        if let Some(b) = self.browse.as_deref_mut() {
            b.dir = path;
        }
        self.filter[idx(View::Browse)].clear();
        self.selected[idx(View::Browse)] = 0;
        self.sync_browser();
    }

    /// Up one directory, the selection on the one left; at the top, closes.
    pub(super) fn browse_parent(&mut self) {
        let Some(b) = self.browse.as_deref_mut() else {
            return;
        };
        if b.dir.is_empty() || b.listing().is_none() {
            return self.close_browser();
        }
        let left = std::mem::take(&mut b.dir);
        b.dir = parent(&left).to_string();
        self.filter[idx(View::Browse)].clear();
        self.sync_browser();
        let row = self.browse.as_deref().and_then(|b| {
            let l = b.listing()?;
            b.shown
                .iter()
                .position(|&i| l.get(i).is_some_and(|e| e.path == left))
        });
        self.selected[idx(View::Browse)] = row.map_or(0, |r| r + 1);
    }

    /// Takes the browser's load if `action` is it; `false` otherwise.
    pub(super) fn took_listing(
        &mut self,
        action: &CoreAction,
        got: Result<Listing, String>,
    ) -> bool {
        let Some(b) = self.browse.as_deref_mut() else {
            return false;
        };
        if !b.awaits(action) {
            return false;
        }
        let id = b.id.clone();
        match got {
            Ok(l) => {
                let n = l.len();
                b.load = Load::Ready(Box::new(l));
                b.shown_for = None;
                self.sync_browser();
                let noun = if n == 1 { "entry" } else { "entries" };
                self.notice(format!("backup {id}: {n} {noun}"), false);
            }
            Err(e) => {
                b.load = Load::Failed(e.clone());
                self.notice(format!("cannot list backup {id}: {e}"), true);
            }
        }
        true
    }

    /// A finished action that may be the browser's load: taken (`None`), or
    /// handed back.
    pub(super) fn took_entries(
        &mut self,
        action: &CoreAction,
        result: Result<Outcome, Failure>,
    ) -> Option<Result<Outcome, Failure>> {
        if !self.browse.as_deref().is_some_and(|b| b.awaits(action)) {
            return Some(result);
        }
        let got = match result {
            Ok(Outcome::Entries { entries, .. }) => Ok(Listing::new(entries)),
            Ok(_) => Err("the core answered the listing with something else".into()),
            Err(f) => Err(f.message),
        };
        self.took_listing(action, got);
        None
    }
}
