//! Storing new data: a pool of workers reads, chunks, hashes and compresses
//! files into frames; one pack writer appends frames to packs; one uploader
//! per destination (`copies.rs`) puts the finished packs there. Bounded
//! channels between them are the back-pressure that keeps memory flat
//! whatever the data size.
//!
//! With fewer files to read than threads — a database snapshot or a dump is
//! one stream — a worker per file only reads, chunks and hashes, and hands
//! its raw frames to a pool of compressors (one per thread), so one stream
//! uses every core instead of one.

use super::backup::BackupPlan;
use super::chunk::{ChunkerParams, stream_chunks};
use super::copies::{Copies, MAX_PARALLEL_WRITES, PackMsg, QUEUE};
use super::error::EngineError;
use super::frame;
use super::manifest::ChunkId;
use super::pack::PackBuilder;
use super::repo::PackInfo;
use super::sealed::{Layout, PackData};
use crate::progress::Progress;
use crate::source::{SourceEntry, SourceError, SourceRun};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// Raw bytes gathered into one compression frame before it is sealed.
const FRAME_TARGET: usize = 1 << 20;
/// Files a worker claims at once, so one frame holds neighbouring files.
const BATCH: usize = 32;

/// Encoded frame and the chunks inside it (id, offset, length).
struct FrameMsg {
    bytes: Vec<u8>,
    chunks: Vec<(ChunkId, u32, u32)>,
}

/// A frame's raw bytes and chunks on their way to a compressor.
struct RawFrame {
    raw: Vec<u8>,
    chunks: Vec<(ChunkId, u32, u32)>,
}

/// Where a worker's filled frames go.
enum FrameOut {
    /// Compressed by the worker itself, then to the pack writer.
    Inline(SyncSender<FrameMsg>),
    /// Raw, to the compressor pool (fewer files than threads).
    Pool(SyncSender<RawFrame>),
}

/// Where a chunk written by this backup landed.
#[derive(Clone, Copy)]
pub(super) struct NewLoc {
    pub(super) pack: u32,
    pub(super) frame_offset: u64,
    pub(super) frame_len: u32,
    pub(super) offset: u32,
    pub(super) len: u32,
}

/// What happened to one file that had to be read.
pub(super) enum FileResult {
    Stored {
        chunks: Vec<ChunkId>,
        size: u64,
        changed: bool,
    },
    Failed(String),
}

struct Shared<'a> {
    plan: &'a BackupPlan<'a>,
    source: &'a dyn SourceRun,
    chunker: ChunkerParams,
    root: &'a Path,
    entries: &'a [SourceEntry],
    jobs: &'a [usize],
    next: AtomicUsize,
    parent_chunks: &'a FxHashMap<ChunkId, usize>,
    layout: &'a Layout,
    claimed: Mutex<FxHashSet<ChunkId>>,
    abort: AtomicBool,
    progress: &'a Progress,
}

/// What storing produced: per-file results (by scan index), where each new
/// chunk lives, and the packs written.
pub(super) struct StoreOutput {
    pub(super) files: HashMap<usize, FileResult>,
    pub(super) locs: FxHashMap<ChunkId, NewLoc>,
    pub(super) packs: Vec<PackInfo>,
}

/// Reads the files `jobs` (indexes into `entries`) and stores every chunk not
/// already in the parent's chunk table.
#[allow(clippy::too_many_arguments)] // the stages' shared inputs, each borrowed from the run
pub(super) fn store(
    plan: &BackupPlan<'_>,
    copies: &Copies<'_>,
    source: &dyn SourceRun,
    what: &str,
    entries: &[SourceEntry],
    jobs: &[usize],
    parent_chunks: &FxHashMap<ChunkId, usize>,
    layout: &Layout,
    progress: &Progress,
) -> Result<StoreOutput, EngineError> {
    let root = PathBuf::from(what);
    let root = root.as_path();
    // A source that changes in place block by block gets chunks aligned to its blocks.
    let chunker = source
        .block_size()
        .map_or(plan.chunker, ChunkerParams::fixed);
    let shared = Shared {
        plan,
        source,
        chunker,
        root,
        entries,
        jobs,
        next: AtomicUsize::new(0),
        parent_chunks,
        layout,
        claimed: Mutex::new(FxHashSet::default()),
        abort: AtomicBool::new(false),
        progress,
    };
    let threads = plan.threads.max(1);
    // Fewer files than threads: one reader per file, every thread compresses.
    let pooled = !jobs.is_empty() && jobs.len() < threads;
    let readers = if pooled { jobs.len() } else { threads };
    let (tx, rx) = sync_channel::<FrameMsg>(threads * 2);
    let (file_results, pack_result) = std::thread::scope(|s| {
        let packer = s.spawn(|| pack_writer(plan, copies, layout, rx, progress, &shared.abort));
        let mut compressors = Vec::new();
        let raw_tx = if pooled {
            let (raw_tx, raw_rx) = sync_channel::<RawFrame>(threads * 2);
            // Owned by the compressors only: when the last one stops, a
            // reader's send fails instead of blocking on a full queue.
            let raw_rx = Arc::new(Mutex::new(raw_rx));
            for _ in 0..threads {
                let (tx, raw_rx, shared) = (tx.clone(), raw_rx.clone(), &shared);
                compressors.push(s.spawn(move || compressor(shared, &raw_rx, tx)));
            }
            Some(raw_tx)
        } else {
            None
        };
        let mut workers = Vec::new();
        for _ in 0..readers {
            let out = match &raw_tx {
                Some(r) => FrameOut::Pool(r.clone()),
                None => FrameOut::Inline(tx.clone()),
            };
            let shared = &shared;
            workers.push(s.spawn(move || worker(shared, out)));
        }
        drop(tx);
        drop(raw_tx);
        let mut results: Vec<(usize, FileResult)> = Vec::new();
        let mut worker_err = None;
        for w in workers {
            match w.join() {
                Ok(Ok(r)) => results.extend(r),
                Ok(Err(e)) => worker_err = Some(e),
                Err(_) => {
                    worker_err = Some(EngineError::Io {
                        op: "run worker for",
                        path: root.to_path_buf(),
                        source: std::io::Error::other("worker thread panicked"),
                    })
                }
            }
        }
        // The workers are gone, so the compressors drain the queue and stop.
        for c in compressors {
            match c.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => worker_err = Some(e),
                Err(_) => {
                    worker_err = Some(EngineError::Io {
                        op: "run compressor for",
                        path: root.to_path_buf(),
                        source: std::io::Error::other("compressor thread panicked"),
                    })
                }
            }
        }
        let packed = packer.join().unwrap_or_else(|_| {
            Err(EngineError::Io {
                op: "write packs for",
                path: root.to_path_buf(),
                source: std::io::Error::other("pack writer panicked"),
            })
        });
        match worker_err {
            Some(e) => (Err(e), packed),
            None => (Ok(results), packed),
        }
    });
    let (locs, packs) = pack_result?;
    let files: HashMap<usize, FileResult> = file_results?.into_iter().collect();
    Ok(StoreOutput { files, locs, packs })
}

fn new_encoder(sh: &Shared<'_>) -> Result<frame::Encoder, EngineError> {
    frame::Encoder::new(sh.plan.compression_level).map_err(|e| EngineError::Io {
        op: "set up compression for",
        path: sh.root.to_path_buf(),
        source: e,
    })
}

fn encode(
    sh: &Shared<'_>,
    encoder: &mut frame::Encoder,
    raw: &[u8],
) -> Result<Vec<u8>, EngineError> {
    let mut bytes = Vec::with_capacity(raw.len() / 2 + 64);
    encoder
        .encode(raw, &mut bytes)
        .map_err(|e| EngineError::Io {
            op: "compress data of",
            path: sh.root.to_path_buf(),
            source: e,
        })?;
    Ok(bytes)
}

/// Compresses the raw frames of the pool's queue for the pack writer, until
/// the workers are done (or the pack writer stops taking frames).
fn compressor(
    sh: &Shared<'_>,
    queue: &Mutex<Receiver<RawFrame>>,
    tx: SyncSender<FrameMsg>,
) -> Result<(), EngineError> {
    let mut encoder = new_encoder(sh).inspect_err(|_| sh.abort.store(true, Ordering::Relaxed))?;
    loop {
        let next = match queue.lock() {
            Ok(q) => q.recv(),
            Err(p) => p.into_inner().recv(),
        };
        let Ok(RawFrame { raw, chunks }) = next else {
            return Ok(());
        };
        let bytes = encode(sh, &mut encoder, &raw)
            .inspect_err(|_| sh.abort.store(true, Ordering::Relaxed))?;
        if tx.send(FrameMsg { bytes, chunks }).is_err() {
            sh.abort.store(true, Ordering::Relaxed);
            return Ok(());
        }
    }
}

/// Reads, chunks and hashes files; new chunks go into frames sent to the
/// pack writer (compressed here) or to the compressor pool (raw).
fn worker(sh: &Shared<'_>, out: FrameOut) -> Result<Vec<(usize, FileResult)>, EngineError> {
    let mut encoder = match out {
        FrameOut::Inline(_) => Some(new_encoder(sh)?),
        FrameOut::Pool(_) => None,
    };
    let mut results = Vec::new();
    let mut buf = Vec::new();
    let mut frame_raw: Vec<u8> = Vec::with_capacity(FRAME_TARGET + (1 << 20));
    let mut frame_chunks: Vec<(ChunkId, u32, u32)> = Vec::new();
    // The bounded channels are the back-pressure: workers wait while the
    // compressors or the pack writer are behind, so memory stays bounded
    // whatever the data size.
    let mut send =
        |raw: &mut Vec<u8>, chunks: &mut Vec<(ChunkId, u32, u32)>| -> Result<bool, EngineError> {
            if raw.is_empty() {
                return Ok(true);
            }
            let chunks = std::mem::take(chunks);
            Ok(match (&out, encoder.as_mut()) {
                (FrameOut::Inline(tx), Some(enc)) => {
                    let bytes = encode(sh, enc, raw)?;
                    raw.clear();
                    tx.send(FrameMsg { bytes, chunks }).is_ok()
                }
                (FrameOut::Pool(tx), _) => {
                    let raw = std::mem::replace(raw, Vec::with_capacity(FRAME_TARGET + (1 << 20)));
                    tx.send(RawFrame { raw, chunks }).is_ok()
                }
                (FrameOut::Inline(_), None) => false,
            })
        };
    loop {
        if sh.abort.load(Ordering::Relaxed) || sh.progress.cancelled() {
            break;
        }
        let start = sh.next.fetch_add(BATCH, Ordering::Relaxed);
        if start >= sh.jobs.len() {
            break;
        }
        let end = (start + BATCH).min(sh.jobs.len());
        for &idx in &sh.jobs[start..end] {
            let e = &sh.entries[idx];
            let mut ids = Vec::new();
            let outcome = sh.source.open(e).and_then(|mut f| {
                let n = stream_chunks(&sh.chunker, &mut f, &mut buf, |chunk| {
                    let id = sh.layout.ids.of(chunk);
                    ids.push(id);
                    Progress::add(&sh.progress.bytes_done, chunk.len() as u64);
                    if sh.parent_chunks.contains_key(&id) {
                        return Ok(());
                    }
                    let fresh = match sh.claimed.lock() {
                        Ok(mut set) => set.insert(id),
                        Err(p) => p.into_inner().insert(id),
                    };
                    if fresh {
                        let off = frame_raw.len() as u32;
                        frame_raw.extend_from_slice(chunk);
                        frame_chunks.push((id, off, chunk.len() as u32));
                        if frame_raw.len() >= FRAME_TARGET {
                            match send(&mut frame_raw, &mut frame_chunks) {
                                Ok(true) => {}
                                Ok(false) => {
                                    return Err(std::io::Error::other("pack writer stopped"));
                                }
                                Err(e) => return Err(std::io::Error::other(e.to_string())),
                            }
                        }
                    }
                    Ok(())
                })
                .map_err(SourceError::read)?;
                // Compare with the listing: an entry written to while we
                // read it may be stored torn, and the operator must hear of it.
                let changed = f.changed(e, n).map_err(SourceError::read)?;
                Ok((n, changed))
            });
            Progress::add(&sh.progress.files_done, 1);
            let r = match outcome {
                Ok((size, changed)) => FileResult::Stored {
                    chunks: ids,
                    size,
                    changed,
                },
                Err(err) => FileResult::Failed(err.to_string()),
            };
            results.push((idx, r));
        }
    }
    if !send(&mut frame_raw, &mut frame_chunks)? {
        sh.abort.store(true, Ordering::Relaxed);
    }
    Ok(results)
}

type PackOutput = (FxHashMap<ChunkId, NewLoc>, Vec<PackInfo>);

/// Appends frames to bounded packs; each finished pack goes to one uploader
/// thread per healthy copy, so compression keeps running while packs are
/// written and synced, and one destination's failure never stops the others.
fn pack_writer(
    plan: &BackupPlan<'_>,
    copies: &Copies<'_>,
    layout: &Layout,
    rx: Receiver<FrameMsg>,
    progress: &Progress,
    abort: &AtomicBool,
) -> Result<PackOutput, EngineError> {
    let counted = Mutex::new(HashSet::new());
    progress.begin_uploads(plan.repos.iter().map(|r| r.name().to_string()));
    // One queue per copy, taken from by as many uploaders as its destination
    // writes in parallel (object stores: several; a local disk: one).
    let mut senders: Vec<Option<SyncSender<PackMsg>>> = Vec::new();
    let mut queues = Vec::new();
    for r in plan.repos {
        let (tx, rx) = sync_channel::<PackMsg>(QUEUE);
        senders.push(Some(tx));
        queues.push((
            Mutex::new(rx),
            r.parallel_writes().clamp(1, MAX_PARALLEL_WRITES),
        ));
    }
    std::thread::scope(|s| {
        let mut uploaders = Vec::new();
        for (i, (rx, parallel)) in queues.iter().enumerate() {
            for _ in 0..*parallel {
                let counted = &counted;
                uploaders.push((
                    i,
                    s.spawn(move || copies.upload(i, &plan.backup_id, rx, progress, counted)),
                ));
            }
        }
        // Hands a pack to every copy still taking them; false when too few are left.
        let mut hand_over = |number: u32, stored: u64, pack: PackData| -> bool {
            Progress::add(&progress.produced, stored);
            let bytes = Arc::new(pack);
            for tx in senders.iter_mut() {
                // A failed uploader dropped its queue: that copy gets nothing more.
                if tx
                    .as_ref()
                    .is_some_and(|t| t.send((number, bytes.clone())).is_err())
                {
                    *tx = None;
                }
            }
            !copies.short()
        };
        let mut locs = FxHashMap::default();
        let mut packs = Vec::new();
        let mut pack = PackBuilder::sealed(layout.overhead);
        let mut number = 0u32;
        let mut failed = false;
        for msg in rx.iter() {
            if progress.cancelled() {
                failed = true;
                break;
            }
            let off = pack.push(&msg.bytes);
            for (id, o, l) in msg.chunks {
                locs.insert(
                    id,
                    NewLoc {
                        pack: number,
                        frame_offset: off,
                        frame_len: (msg.bytes.len() + layout.overhead) as u32,
                        offset: o,
                        len: l,
                    },
                );
            }
            if pack.is_full() {
                let full = std::mem::replace(&mut pack, PackBuilder::sealed(layout.overhead));
                let size = full.stored_len();
                packs.push(PackInfo { number, size });
                if !hand_over(number, size, full.into_data()) {
                    failed = true;
                    break;
                }
                number += 1;
            }
        }
        if !failed && !pack.is_empty() {
            let size = pack.stored_len();
            packs.push(PackInfo { number, size });
            failed = !hand_over(number, size, pack.into_data());
        }
        // Closing the queues lets each uploader finish what it holds and stop.
        drop(senders);
        if failed {
            // Dropping the receiver makes every blocked worker's send fail, so they stop.
            abort.store(true, Ordering::Relaxed);
            drop(rx);
        }
        for (i, u) in uploaders {
            if u.join().is_err() {
                let e = std::io::Error::other("pack uploader panicked");
                copies.fail(
                    i,
                    &EngineError::Io {
                        op: "write packs of",
                        path: PathBuf::from(&plan.backup_id),
                        source: e,
                    },
                );
            }
        }
        // Every uploader is joined: the healthy copies now hold every pack.
        if let Err(e) = copies.check() {
            abort.store(true, Ordering::Relaxed);
            return Err(e);
        }
        if progress.cancelled() {
            return Err(EngineError::Cancelled);
        }
        Ok((locs, packs))
    })
}
