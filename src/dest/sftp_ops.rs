//! The SFTP requests behind each destination operation, and how their
//! failures are classified.

use super::Inner;
use crate::dest::DestError;
use crate::dest::sftp_session::Connection;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::{FileAttributes, OpenFlags, StatusCode};
use std::io::{ErrorKind, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Sequence number of temporary files written by this process.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

fn is_missing(e: &SftpError) -> bool {
    matches!(e, SftpError::Status(s) if s.status_code == StatusCode::NoSuchFile)
}

/// An SFTP failure as an I/O error whose kind carries the classification:
/// a broken channel or a timeout is transient, a status is what it says.
fn to_io(e: SftpError) -> std::io::Error {
    let kind = match &e {
        SftpError::Status(s) => match s.status_code {
            StatusCode::NoSuchFile => ErrorKind::NotFound,
            StatusCode::PermissionDenied => ErrorKind::PermissionDenied,
            StatusCode::NoConnection | StatusCode::ConnectionLost => ErrorKind::ConnectionAborted,
            _ => ErrorKind::Other,
        },
        SftpError::Timeout => ErrorKind::TimedOut,
        SftpError::Limited(_) => ErrorKind::Other,
        // An I/O error, an unexpected packet or a vanished reply: the channel broke.
        _ => ErrorKind::ConnectionAborted,
    };
    std::io::Error::new(kind, e.to_string())
}

fn fail(i: &Inner, op: &'static str, path: &str, e: SftpError) -> DestError {
    i.fail(op, path, to_io(e))
}

/// A read or write of an open file failed: the file API flattens every cause
/// into an I/O error, so whether the connection is still there decides
/// between a transient loss and a real refusal.
async fn file_fail(
    i: &Inner,
    c: &Connection,
    op: &'static str,
    path: &str,
    e: std::io::Error,
) -> DestError {
    let lost = e.kind() == ErrorKind::TimedOut || c.is_closed() || !alive(i, c).await;
    if lost && e.kind() != ErrorKind::TimedOut {
        return i.fail(
            op,
            path,
            std::io::Error::new(ErrorKind::ConnectionAborted, e.to_string()),
        );
    }
    i.fail(op, path, e)
}

/// Whether the server still answers a request.
async fn alive(i: &Inner, c: &Connection) -> bool {
    let probe = c.sftp.metadata(i.root.clone());
    matches!(
        tokio::time::timeout(Duration::from_secs(5), probe).await,
        Ok(Ok(_)) | Ok(Err(SftpError::Status(_)))
    )
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(n) => &path[..n],
        None => ".",
    }
}

/// Creates `dir` and whichever of its parents are missing.
async fn mkdirs(i: &Inner, c: &Connection, dir: &str) -> Result<(), DestError> {
    let mut missing = Vec::new();
    let mut d = dir;
    // Climb to the deepest directory that exists, remembering what is missing.
    loop {
        match c.sftp.create_dir(d).await {
            Ok(()) => break,
            Err(e) if is_missing(&e) && d != "/" => {
                missing.push(d);
                d = parent(d);
            }
            Err(e) => match c.sftp.metadata(d).await {
                Ok(m) if m.is_dir() => break,
                _ => return Err(fail(i, "create directory", d, e)),
            },
        }
    }
    for d in missing.into_iter().rev() {
        if let Err(e) = c.sftp.create_dir(d).await {
            match c.sftp.metadata(d).await {
                // Another writer made it in the meantime.
                Ok(m) if m.is_dir() => {}
                _ => return Err(fail(i, "create directory", d, e)),
            }
        }
    }
    Ok(())
}

/// Writes `data` under a temporary name next to `path`, then renames it into
/// place. SFTP v3 rename refuses an existing target (OpenSSH links, then
/// unlinks), which makes the put create-only; readers never see a partial
/// object.
pub(super) async fn put(
    i: &Inner,
    c: &Connection,
    key: &str,
    path: &str,
    data: Vec<u8>,
) -> Result<(), DestError> {
    let dir = parent(path);
    let name = path.rsplit('/').next().unwrap_or("obj");
    let tmp = format!(
        "{dir}/.tmp-{}-{}-{:016x}-{name}",
        std::process::id(),
        TMP_SEQ.fetch_add(1, Ordering::Relaxed),
        rand::random::<u64>()
    );
    let flags = OpenFlags::CREATE | OpenFlags::EXCLUDE | OpenFlags::WRITE;
    let mut file = match c.sftp.open_with_flags(tmp.clone(), flags).await {
        Ok(f) => f,
        Err(e) if is_missing(&e) => {
            mkdirs(i, c, dir).await?;
            c.sftp
                .open_with_flags(tmp.clone(), flags)
                .await
                .map_err(|e| fail(i, "create", &tmp, e))?
        }
        Err(e) => return Err(fail(i, "create", &tmp, e)),
    };
    let written = async {
        file.write_all(&data).await?;
        file.sync_all().await.map_err(std::io::Error::from)?;
        file.shutdown().await
    }
    .await;
    if let Err(e) = written {
        let err = file_fail(i, c, "write", &tmp, e).await;
        if !err.is_transient() {
            let _ = c.sftp.remove_file(tmp.clone()).await;
        }
        return Err(err);
    }
    drop(file);
    let renamed = c.sftp.rename(tmp.clone(), path.to_string()).await;
    let Err(rename_err) = renamed else {
        return Ok(());
    };
    if matches!(
        to_io(rename_err.clone()).kind(),
        ErrorKind::ConnectionAborted | ErrorKind::TimedOut
    ) {
        // Whether the rename landed is unknown; the retry will find out.
        return Err(fail(i, "rename", path, rename_err));
    }
    // The name is taken, or the rename failed for another reason. A taken name
    // is `Exists` even when the bytes are ours: a put is an exclusive create,
    // and the retry wrapper tells a lost reply of our own from another writer.
    let outcome = match c.sftp.metadata(path.to_string()).await {
        Ok(_) => Err(exists(i, key)),
        Err(e) if is_missing(&e) => Err(fail(i, "rename", path, rename_err)),
        Err(e) => Err(fail(i, "stat", path, e)),
    };
    let _ = c.sftp.remove_file(tmp).await;
    outcome
}

fn exists(i: &Inner, key: &str) -> DestError {
    DestError::Exists {
        dest: i.describe.clone(),
        key: key.to_string(),
    }
}

/// The largest read OpenSSH's sftp-server answers in one reply
/// (`limits@openssh.com` read-length), which also fits our packet size.
const READ_MAX: u64 = 261_120;

/// Requests of one range in flight at once.
const READS_IN_FLIGHT: u64 = 16;

/// Reads exactly `len` bytes at `offset` with up to [`READS_IN_FLIGHT`]
/// requests of at most [`READ_MAX`] in flight, nothing beyond the range.
pub(super) async fn read_range(
    i: &Inner,
    c: &Connection,
    path: &str,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, DestError> {
    let handle = match c
        .raw
        .open(path.to_string(), OpenFlags::READ, FileAttributes::empty())
        .await
    {
        Ok(h) => h.handle,
        Err(e) if is_missing(&e) => return Err(i.not_found(path)),
        Err(e) => return Err(fail(i, "open", path, e)),
    };
    let mut buf = Vec::with_capacity(len.min(64 << 20) as usize);
    let got: Result<(), SftpError> = 'outer: loop {
        let have = buf.len() as u64;
        if have >= len {
            break Ok(());
        }
        let mut pieces = Vec::new();
        let mut at = have;
        while at < len && (pieces.len() as u64) < READS_IN_FLIGHT {
            let want = (len - at).min(READ_MAX);
            let (raw, h) = (c.raw.clone(), handle.clone());
            let from = offset + at;
            pieces.push((
                want,
                tokio::spawn(async move { raw.read(h, from, want as u32).await }),
            ));
            at += want;
        }
        // In order; a short or failed piece ends this round, and what follows
        // it is asked for again from where the data stopped.
        for (want, piece) in pieces {
            let answer = piece
                .await
                .map_err(|e| SftpError::UnexpectedBehavior(e.to_string()));
            match answer.and_then(|r| r) {
                Ok(d) if d.data.is_empty() => break 'outer Ok(()),
                Ok(d) => {
                    let short = (d.data.len() as u64) < want;
                    buf.extend_from_slice(&d.data);
                    if short {
                        continue 'outer;
                    }
                }
                Err(SftpError::Status(s)) if s.status_code == StatusCode::Eof => {
                    break 'outer Ok(());
                }
                Err(e) => break 'outer Err(e),
            }
        }
    };
    let _ = c.raw.close(handle).await;
    got.map_err(|e| fail(i, "read", path, e))?;
    if (buf.len() as u64) < len {
        return Err(i.fail(
            "read",
            path,
            std::io::Error::new(
                ErrorKind::UnexpectedEof,
                format!("wanted {len} bytes at offset {offset}, file is shorter"),
            ),
        ));
    }
    Ok(buf)
}

/// Reads `len` bytes at `offset` (everything from `offset` when `None`).
pub(super) async fn read(
    i: &Inner,
    c: &Connection,
    path: &str,
    offset: u64,
    len: Option<u64>,
) -> Result<Vec<u8>, DestError> {
    let mut f = match c.sftp.open(path.to_string()).await {
        Ok(f) => f,
        Err(e) if is_missing(&e) => return Err(i.not_found(path)),
        Err(e) => return Err(fail(i, "open", path, e)),
    };
    let mut buf = Vec::with_capacity(len.unwrap_or(0).min(64 << 20) as usize);
    let got = async {
        if offset > 0 {
            f.seek(SeekFrom::Start(offset)).await?;
        }
        match len {
            Some(n) => (&mut f).take(n).read_to_end(&mut buf).await,
            None => f.read_to_end(&mut buf).await,
        }
    }
    .await;
    if let Err(e) = got {
        return Err(file_fail(i, c, "read", path, e).await);
    }
    let _ = f.shutdown().await;
    if let Some(n) = len
        && (buf.len() as u64) < n
    {
        return Err(i.fail(
            "read",
            path,
            std::io::Error::new(
                ErrorKind::UnexpectedEof,
                format!("wanted {n} bytes at offset {offset}, file is shorter"),
            ),
        ));
    }
    Ok(buf)
}

/// Size of the file at `path`, `None` when there is none.
pub(super) async fn size(i: &Inner, c: &Connection, path: &str) -> Result<Option<u64>, DestError> {
    match c.sftp.metadata(path.to_string()).await {
        Ok(m) => Ok(Some(m.len())),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(fail(i, "stat", path, e)),
    }
}

/// Sorted names in `dir`, without `.`/`..` and temporary files; none when
/// the directory does not exist.
pub(super) async fn list(i: &Inner, c: &Connection, dir: &str) -> Result<Vec<String>, DestError> {
    let rd = match c.sftp.read_dir(dir.to_string()).await {
        Ok(rd) => rd,
        Err(e) if is_missing(&e) => return Ok(Vec::new()),
        Err(e) => return Err(fail(i, "list", dir, e)),
    };
    let mut names: Vec<String> = rd
        .map(|e| e.file_name())
        .filter(|n| n != "." && n != ".." && !n.starts_with(".tmp-"))
        .collect();
    names.sort();
    Ok(names)
}

/// Removes one file; missing is fine.
pub(super) async fn remove_file(i: &Inner, c: &Connection, path: &str) -> Result<(), DestError> {
    match c.sftp.remove_file(path.to_string()).await {
        Ok(()) => Ok(()),
        Err(e) if is_missing(&e) => Ok(()),
        Err(e) => Err(fail(i, "delete", path, e)),
    }
}

/// Removes `top` and everything under it; missing is fine.
pub(super) async fn remove_tree(i: &Inner, c: &Connection, top: &str) -> Result<(), DestError> {
    let mut pending = vec![top.to_string()];
    let mut dirs = Vec::new();
    while let Some(dir) = pending.pop() {
        let rd = match c.sftp.read_dir(dir.clone()).await {
            Ok(rd) => rd,
            Err(e) if is_missing(&e) => continue,
            Err(e) => return Err(fail(i, "list", &dir, e)),
        };
        for entry in rd {
            let name = entry.file_name();
            if name == "." || name == ".." {
                continue;
            }
            let path = format!("{dir}/{name}");
            if entry.file_type().is_dir() {
                pending.push(path);
            } else {
                remove_file(i, c, &path).await?;
            }
        }
        dirs.push(dir);
    }
    for dir in dirs.iter().rev() {
        match c.sftp.remove_dir(dir.clone()).await {
            Ok(()) => {}
            Err(e) if is_missing(&e) => {}
            Err(e) => return Err(fail(i, "delete", dir, e)),
        }
    }
    Ok(())
}
