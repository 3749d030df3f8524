//! Restoring a one-entry backup (a database snapshot or dump) as a stream:
//! every chunk of its file entry, checked against its hash, written in order
//! to a writer (a new database file, a restore command's stdin, stdout).

use super::error::EngineError;
use super::fetch::CopyReader;
use super::manifest::{EntryKind, Manifest};
use super::repository::Repository;
use crate::progress::{Phase, Progress};
use crate::source::display_path;
use std::io::Write;
use std::sync::atomic::Ordering;

/// Writes the data of the backup's one file entry to `out`; the bytes written.
/// A damaged chunk that no copy holds intact fails the stream (the caller's
/// sink then leaves nothing that looks restored).
pub fn stream_entry(
    m: &Manifest,
    repos: &[Repository],
    out: &mut dyn Write,
    progress: &Progress,
) -> Result<u64, EngineError> {
    super::restore::check_paths(m)?;
    let mut files = m
        .entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::File { .. }));
    let (Some(e), None) = (files.next(), files.next()) else {
        return Err(EngineError::Damaged {
            backup: m.backup_id.clone(),
            what: "is not a database backup (it does not hold exactly one file); restore it with --to DIR".into(),
        });
    };
    let EntryKind::File { chunks } = &e.kind else {
        return Ok(0);
    };
    progress.set_phase(Phase::Restore);
    progress.files_total.store(1, Ordering::Relaxed);
    progress.bytes_total.store(e.size, Ordering::Relaxed);
    let mut reader = CopyReader::new(repos);
    let mut written = 0u64;
    let damaged = |what: String| EngineError::Damaged {
        backup: m.backup_id.clone(),
        what,
    };
    // A write error or a cancel ends the stream; the chunk errors are damage.
    let mut stopped: Option<EngineError> = None;
    let fetched =
        super::prefetch::each_chunk(m, repos, &e.path, chunks, &mut reader, &mut |data| {
            if progress.cancelled() {
                stopped = Some(EngineError::Cancelled);
                return Err(String::new());
            }
            out.write_all(data).map_err(|err| {
                stopped = Some(EngineError::Io {
                    op: "write restored data of",
                    path: display_path(&e.path).into(),
                    source: err,
                });
                String::new()
            })?;
            written += data.len() as u64;
            Progress::add(&progress.bytes_done, data.len() as u64);
            Ok(())
        });
    if let Some(err) = stopped {
        return Err(err);
    }
    fetched.map_err(|why| damaged(format!("{}: {why}", display_path(&e.path))))?;
    out.flush().map_err(|err| EngineError::Io {
        op: "write restored data of",
        path: display_path(&e.path).into(),
        source: err,
    })?;
    if written != e.size {
        return Err(damaged(format!(
            "{}: restored {written} bytes but the manifest says {}",
            display_path(&e.path),
            e.size
        )));
    }
    Progress::add(&progress.files_done, 1);
    progress.set_phase(Phase::Done);
    Ok(written)
}
