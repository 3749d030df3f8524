//! A loopback TCP proxy that cuts connections at chosen byte counts, so tests
//! can drop a client's connection in the middle of its traffic without timing.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Forwards `127.0.0.1:port` to a target port; connection number `k`
/// (counting from 1) is cut once it has carried `step * k` bytes from the
/// client, so each retry gets further than the one before and a long transfer
/// meets several drops. `step = 0` never cuts.
pub struct TcpProxy {
    /// The port clients connect to.
    pub port: u16,
    stop: Arc<AtomicBool>,
    cuts: Arc<AtomicU64>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl TcpProxy {
    /// Starts forwarding to `127.0.0.1:target`.
    pub fn start(target: u16, step: u64) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicU64::new(0));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (stop2, cuts2, open2) = (stop.clone(), cuts.clone(), open.clone());
        let accept = std::thread::spawn(move || {
            let mut number = 0u64;
            for client in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                number += 1;
                let budget = if step == 0 { u64::MAX } else { step * number };
                if let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone()) {
                    open2.lock().unwrap().extend([c, s]);
                }
                pipe(client, server, budget, cuts2.clone());
            }
        });
        TcpProxy {
            port,
            stop,
            cuts,
            open,
            accept: Some(accept),
        }
    }

    /// How many connections were cut so far.
    pub fn cuts(&self) -> u64 {
        self.cuts.load(Ordering::SeqCst)
    }
}

/// Copies both ways; the client-to-server side stops and cuts both sockets
/// once `budget` bytes went through.
fn pipe(client: TcpStream, server: TcpStream, budget: u64, cuts: Arc<AtomicU64>) {
    let (Ok(mut c_read), Ok(mut s_write)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let (mut s_read, mut c_write) = (server, client);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 << 10];
        let mut sent = 0u64;
        loop {
            let n = match c_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let allowed = (budget - sent).min(n as u64) as usize;
            if s_write.write_all(&buf[..allowed]).is_err() {
                break;
            }
            sent += allowed as u64;
            if sent >= budget {
                cuts.fetch_add(1, Ordering::SeqCst);
                break;
            }
        }
        let _ = c_read.shutdown(Shutdown::Both);
        let _ = s_write.shutdown(Shutdown::Both);
    });
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut s_read, &mut c_write);
        let _ = s_read.shutdown(Shutdown::Both);
        let _ = c_write.shutdown(Shutdown::Both);
    });
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}
