//! `cargo bench --bench s3-server -- ROOT`: the tests' S3 server (s3s-fs,
//! SigV4 checked) as a process for `just bench-s3`, where Strata and restic
//! write to the same server. Prints its endpoint, then serves until killed,
//! keeping the number of requests answered in `ROOT.requests`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench tool: a failed step should stop it

#[path = "../common/s3server.rs"]
#[allow(dead_code)]
mod s3server;

use std::io::Write;
use std::path::PathBuf;

fn main() {
    // `cargo bench` appends `--bench`: the root is the first other argument.
    let root = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .expect("usage: cargo bench --bench s3-server -- ROOT");
    let server = s3server::S3Server::start(&root);
    println!(
        "{} {} {} {}",
        server.endpoint(),
        s3server::BUCKET,
        s3server::ACCESS_KEY,
        s3server::SECRET_KEY
    );
    std::io::stdout().flush().unwrap();
    let counter = root.with_extension("requests");
    loop {
        std::fs::write(&counter, server.requests().to_string()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
