//! Connections that never log in cannot lock others out of the SSH server:
//! one source address holds only a few of the pre-login slots (OpenSSH's
//! `PerSourceMaxStartups`), and an unauthenticated connection is dropped after
//! the login grace time. Real TCP connections from other loopback addresses
//! (all of 127/8 is local on Linux) against the real daemon and OpenSSH client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;

use common::Strata;
use common::sshkit::{keygen, serve, skip_without_ssh, ssh};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Opens a TCP connection from `from` to the server and reads what it says
/// first: `Some(banner)` when it was let in, `None` when it was closed at once.
async fn open(from: &str, port: u16) -> (Option<TcpStream>, bool) {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(format!("{from}:0").parse::<SocketAddr>().unwrap())
        .unwrap();
    let Ok(mut stream) = sock
        .connect(format!("127.0.0.1:{port}").parse().unwrap())
        .await
    else {
        return (None, false);
    };
    let mut buf = [0u8; 64];
    let admitted = matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await,
        Ok(Ok(n)) if n > 0 && buf.starts_with(b"SSH-2.0")
    );
    (Some(stream), admitted)
}

/// Whether the server has closed `stream` (a read returns end of file).
async fn closed(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

fn home_with_key(s: &Strata, grace: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(s.home()).unwrap();
    std::fs::write(
        s.home().join("strata.toml"),
        format!("[ssh]\nlogin_grace = \"{grace}\"\n"),
    )
    .unwrap();
    let keys = s.path("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let k = keygen(&keys, "vw");
    let public = k.with_extension("pub");
    s.ok(&[
        "keys",
        "add",
        public.to_str().unwrap(),
        "--role",
        "viewer",
        "--name",
        "vera",
    ]);
    k
}

#[test]
fn two_hundred_idle_connections_from_one_address_do_not_lock_out_a_login() {
    if skip_without_ssh("two_hundred_idle_connections_from_one_address_do_not_lock_out_a_login") {
        return;
    }
    let s = Strata::new();
    let k = home_with_key(&s, "60s");
    let d = serve(&s);
    let rt = rt();
    let held: Vec<(Option<TcpStream>, bool)> = rt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..200 {
            v.push(open("127.0.0.2", d.port).await);
        }
        v
    });
    let admitted = held.iter().filter(|h| h.1).count();
    assert_eq!(
        admitted,
        strata::ssh::startups::PER_SOURCE,
        "one address holds at most its share of the pre-login slots"
    );
    // Everyone else still logs in at once, while all 200 are open.
    let (code, out, err) = ssh(&s, d.port, &k, &["strata", "task", "list"]);
    assert_eq!(
        code, 0,
        "login refused while idle connections held slots: {err}"
    );
    assert!(out.contains("NAME") || out.contains("no tasks"), "{out}");
    drop(held);
}

#[test]
fn idle_unauthenticated_connections_are_dropped_after_the_login_grace() {
    if skip_without_ssh("idle_unauthenticated_connections_are_dropped_after_the_login_grace") {
        return;
    }
    let s = Strata::new();
    let k = home_with_key(&s, "2s");
    let d = serve(&s);
    let rt = rt();
    // Many addresses, enough to pass the hard limit of connections logging in.
    let mut held: Vec<(Option<TcpStream>, bool)> = rt.block_on(async {
        let mut v = Vec::new();
        for a in 2..22 {
            let from = format!("127.0.1.{a}");
            for _ in 0..strata::ssh::startups::PER_SOURCE {
                v.push(open(&from, d.port).await);
            }
        }
        v
    });
    let admitted = held.iter().filter(|h| h.1).count();
    assert!(
        admitted <= strata::ssh::startups::FULL,
        "{admitted} connections logging in at once"
    );
    assert!(admitted > 0);
    // Each admitted one is closed by the server once the grace time is over.
    rt.block_on(async {
        for (stream, ok) in held.iter_mut() {
            if let (Some(st), true) = (stream.as_mut(), *ok) {
                assert!(
                    closed(st, Duration::from_secs(20)).await,
                    "an idle connection outlived the login grace"
                );
            }
        }
    });
    let (code, _, err) = ssh(&s, d.port, &k, &["strata", "task", "list"]);
    assert_eq!(code, 0, "the slots are free again: {err}");
}
