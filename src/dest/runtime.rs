//! The one async runtime of destinations. The [`super::Destination`] trait is
//! sync (the engine runs on plain threads); remote clients are async, so their
//! calls run here and the calling thread waits. Owning the runtime in `dest/`
//! keeps storage traffic off the SSH server's runtime, and waiting on a
//! channel rather than `block_on` works from any thread, including a worker of
//! another tokio runtime.

use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

fn runtime() -> std::io::Result<&'static Runtime> {
    let rt = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("strata-dest")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    rt.as_ref().map_err(|e| {
        std::io::Error::other(format!(
            "cannot start the destinations' async runtime: {e}; check the process's thread limit"
        ))
    })
}

/// Runs `f` (doing `what`, for errors) on the destinations' runtime and waits
/// for its output.
pub(crate) fn run<F, T>(what: &str, f: F) -> std::io::Result<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let rt = runtime()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv().map_err(|_| {
        std::io::Error::other(format!(
            "{what}: the destination task ended without an answer (it panicked; this is a bug, please report it)"
        ))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_from_plain_threads_and_from_another_runtime() {
        assert_eq!(super::run("t", async { 2 + 2 }).unwrap(), 4);
        let other = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let got = other.block_on(async { super::run("t", async { 7 }).unwrap() });
        assert_eq!(got, 7);
    }
}
