//! A real S3 protocol server in the test process: `s3s-fs` (buckets are
//! directories under a root, SigV4 signatures checked) on a free loopback
//! port, in a thread with its own tokio runtime. It counts the requests it
//! gets, can answer the next N with `503 SlowDown`, and can be stopped and
//! started again on the same port, cutting every open connection.
//!
//! Included by `tests/common/s3kit.rs` (for `tests/remote_s3.rs`) and by the
//! `s3-server` bench binary (`just bench-s3`), never by the other test
//! binaries, so they do not build an HTTP server.

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The access key id the server accepts.
pub const ACCESS_KEY: &str = "AKIASTRATATESTKEY01";
/// Its secret: tests grep everything Strata writes for it.
pub const SECRET_KEY: &str = "strataTestSecret-q8Zw1x7Lm3Vb9Kd2";
/// The bucket every test uses.
pub const BUCKET: &str = "backups";

/// A running server, stopped when dropped.
pub struct S3Server {
    /// The port it listens on.
    pub port: u16,
    /// Directory holding the buckets.
    pub root: PathBuf,
    requests: Arc<AtomicU64>,
    fail: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl S3Server {
    /// Serves `root` (created, with the bucket [`BUCKET`] in it).
    pub fn start(root: &Path) -> S3Server {
        std::fs::create_dir_all(root.join(BUCKET)).expect("create the bucket directory");
        let mut s = S3Server {
            port: 0,
            root: root.to_path_buf(),
            requests: Arc::new(AtomicU64::new(0)),
            fail: Arc::new(AtomicU64::new(0)),
            stop: None,
            thread: None,
        };
        s.launch();
        s
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// The next `n` requests get `503 SlowDown` without being served.
    pub fn fail_next(&self, n: u64) {
        self.fail.store(n, Ordering::SeqCst);
    }

    /// How many of the injected failures are still to come.
    pub fn failures_left(&self) -> u64 {
        self.fail.load(Ordering::SeqCst)
    }

    /// The object `key` of the bucket on disk.
    pub fn object(&self, key: &str) -> PathBuf {
        self.root.join(BUCKET).join(key)
    }

    fn launch(&mut self) {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<u16>>();
        let (root, port) = (self.root.clone(), self.port);
        let (requests, fail) = (self.requests.clone(), self.fail.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("the S3 server's runtime");
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let port = listener.local_addr().map(|a| a.port());
                let _ = ready_tx.send(port);
                let fs = s3s_fs::FileSystem::new(&root).expect("s3s-fs over the root");
                let mut b = S3ServiceBuilder::new(fs);
                b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
                let service = Faulty {
                    inner: b.build(),
                    requests,
                    fail,
                };
                let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let mut stop_rx = stop_rx;
                loop {
                    tokio::select! {
                        r = listener.accept() => {
                            let Ok((sock, _)) = r else { continue };
                            // As real servers do: no Nagle delay on small answers.
                            let _ = sock.set_nodelay(true);
                            let conn = http
                                .serve_connection(TokioIo::new(sock), service.clone())
                                .into_owned();
                            tokio::spawn(async move {
                                let _ = conn.await;
                            });
                        }
                        _ = &mut stop_rx => break,
                    }
                }
            });
            // Every connection task dies with the runtime: clients see resets.
            rt.shutdown_background();
        });
        let port = ready_rx
            .recv()
            .expect("the S3 server thread answers")
            .expect("the S3 server binds its port");
        self.port = port;
        self.stop = Some(stop_tx);
        self.thread = Some(thread);
    }

    /// Stops listening and cuts every open connection.
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Serves again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The S3 service, counting requests and failing the ones it was told to.
#[derive(Clone)]
struct Faulty {
    inner: S3Service,
    requests: Arc<AtomicU64>,
    fail: Arc<AtomicU64>,
}

type Answer = Result<s3s::HttpResponse, s3s::HttpError>;

impl hyper::service::Service<hyper::Request<Incoming>> for Faulty {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = Pin<Box<dyn Future<Output = Answer> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if std::env::var_os("S3KIT_TRACE").is_some() {
            eprintln!("S3KIT {} {}", req.method(), req.uri());
        }
        let failing = self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>injected by the test</Message></Error>";
            let resp = hyper::Response::builder()
                .status(503)
                .header("content-type", "application/xml")
                .body(s3s::Body::from(body.to_string()))
                .expect("a 503 response");
            return Box::pin(async move { Ok(resp) });
        }
        hyper::service::Service::call(&self.inner, req)
    }
}
