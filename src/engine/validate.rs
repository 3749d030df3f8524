//! The one structural check of a decoded manifest, shared by restore (which
//! refuses on the first finding) and verify (which reports them all), so verify
//! can never pass a manifest that restore would refuse.

use super::frame::{FRAME_HEADER, MAX_RAW_FRAME};
use super::manifest::{EntryKind, Manifest};
use super::pack::PACK_HEADER;
use crate::model::BackupKind;
use crate::source::display_path;
use std::collections::{HashMap, HashSet};

/// Longest symlink target a restore will create (Linux `PATH_MAX`).
const MAX_LINK_TARGET: usize = 4096;
/// Findings listed per manifest; a hostile manifest could otherwise produce millions.
const MAX_FINDINGS: usize = 100;

/// One thing wrong with a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Whether a restore following it could write outside its target (an unsafe path).
    pub unsafe_path: bool,
    /// The entry path concerned, if any (lossy, for messages).
    pub path: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "entry {p:?} {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

fn valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn path_problem(p: &[u8]) -> Option<&'static str> {
    if p.is_empty() || p[0] == b'/' {
        return Some("is empty or absolute");
    }
    if p.contains(&0) {
        return Some("contains a NUL byte");
    }
    if p.split(|&b| b == b'/')
        .any(|c| c.is_empty() || c == b"." || c == b"..")
    {
        return Some("contains an empty, '.' or '..' component");
    }
    None
}

fn parent_of(p: &[u8]) -> Option<&[u8]> {
    p.iter().rposition(|&b| b == b'/').map(|i| &p[..i])
}

/// Every structural problem of `m` (at most 100), checked against the id of the
/// backup it was read for. Empty means a restore may proceed.
pub fn check(m: &Manifest, expected_id: &str) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut add = |unsafe_path: bool, path: Option<&[u8]>, reason: String| {
        if out.len() < MAX_FINDINGS {
            out.push(Finding {
                unsafe_path,
                path: path.map(display_path),
                reason,
            });
        }
    };
    if m.backup_id != expected_id {
        add(
            false,
            None,
            format!("names backup {:?}, not {expected_id}", m.backup_id),
        );
    }
    match (m.kind, &m.parent) {
        (BackupKind::Full, Some(p)) => add(false, None, format!("is a full with a parent {p:?}")),
        (BackupKind::Full, None) if m.chain != m.backup_id => add(
            false,
            None,
            format!("is a full whose chain is {:?}, not itself", m.chain),
        ),
        (BackupKind::Incremental | BackupKind::Differential, None) => {
            add(false, None, format!("is {} without a parent", m.kind))
        }
        (_, Some(p)) if !valid_id(p) => add(false, None, format!("has an invalid parent {p:?}")),
        _ => {}
    }
    let mut seen_packs = HashSet::new();
    for (i, p) in m.packs.iter().enumerate() {
        if !valid_id(&p.backup) {
            add(
                false,
                None,
                format!("pack record {i} has an invalid owner {:?}", p.backup),
            );
        }
        if !seen_packs.insert((p.backup.as_str(), p.number)) {
            add(
                false,
                None,
                format!(
                    "pack record {i} ({}/{}) is listed twice",
                    p.backup, p.number
                ),
            );
        }
        if p.size < PACK_HEADER as u64 {
            add(
                false,
                None,
                format!("pack record {i} has an impossible size {}", p.size),
            );
        }
    }
    for (i, c) in m.chunks.iter().enumerate() {
        let Some(p) = m.packs.get(c.pack as usize) else {
            add(
                false,
                None,
                format!(
                    "chunk {i} refers to pack record {} of {}",
                    c.pack,
                    m.packs.len()
                ),
            );
            continue;
        };
        let end = c.frame_offset.checked_add(u64::from(c.frame_len));
        if c.frame_offset < PACK_HEADER as u64 || end.is_none_or(|e| e > p.size) {
            add(
                false,
                None,
                format!(
                    "chunk {i} lies outside pack {}/{:06} ({} bytes)",
                    p.backup, p.number, p.size
                ),
            );
        }
        let stored = (c.frame_len as usize).checked_sub(FRAME_HEADER);
        let chunk_end = u64::from(c.offset) + u64::from(c.len);
        if stored.is_none() || c.len == 0 || chunk_end > u64::from(MAX_RAW_FRAME) {
            add(
                false,
                None,
                format!(
                    "chunk {i} has an impossible frame or slice (frame {} bytes, slice {}+{})",
                    c.frame_len, c.offset, c.len
                ),
            );
        }
    }
    let kinds: HashMap<&[u8], &EntryKind> = m
        .entries
        .iter()
        .map(|e| (e.path.as_slice(), &e.kind))
        .collect();
    let mut prev: Option<&[u8]> = None;
    for e in &m.entries {
        let p = e.path.as_slice();
        if let Some(why) = path_problem(p) {
            add(true, Some(p), why.to_string());
            continue;
        }
        match prev {
            Some(q) if q == p => add(true, Some(p), "is listed twice".into()),
            Some(q) if q > p => add(true, Some(p), "is out of order".into()),
            _ => {}
        }
        prev = Some(p);
        if let Some(parent) = parent_of(p)
            && !matches!(kinds.get(parent), Some(EntryKind::Dir))
        {
            add(
                true,
                Some(p),
                "has a parent that is not a directory of this backup".into(),
            );
        }
        if e.mode > 0o7777 {
            add(false, Some(p), format!("has an invalid mode {:o}", e.mode));
        }
        match &e.kind {
            EntryKind::File { chunks } => {
                let mut total: Option<u64> = Some(0);
                for &ci in chunks {
                    match m.chunks.get(ci as usize) {
                        Some(c) => total = total.and_then(|t| t.checked_add(u64::from(c.len))),
                        None => {
                            total = None;
                            add(
                                false,
                                Some(p),
                                format!("refers to chunk {ci} of {}", m.chunks.len()),
                            );
                        }
                    }
                }
                if let Some(t) = total
                    && t != e.size
                {
                    add(
                        false,
                        Some(p),
                        format!("says {} bytes but its chunks hold {t}", e.size),
                    );
                }
            }
            other => {
                if e.size != 0 {
                    add(
                        false,
                        Some(p),
                        format!("is not a file but has size {}", e.size),
                    );
                }
                match other {
                    EntryKind::Symlink { target }
                        if target.is_empty()
                            || target.contains(&0)
                            || target.len() > MAX_LINK_TARGET =>
                    {
                        add(
                            false,
                            Some(p),
                            "is a symlink with an empty, NUL-containing or overlong target".into(),
                        );
                    }
                    EntryKind::HardLink { target }
                        if path_problem(target).is_some()
                            || target.as_slice() >= p
                            || !matches!(
                                kinds.get(target.as_slice()),
                                Some(EntryKind::File { .. })
                            ) =>
                    {
                        add(
                            true,
                            Some(p),
                            "is a hard link to something that is not an earlier file of this backup"
                                .into(),
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
