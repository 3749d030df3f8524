//! A real `strata serve` with SSH on a free loopback port, keys made with
//! `ssh-keygen`, and the real OpenSSH client to talk to it.

use super::Strata;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether the OpenSSH client tools are installed.
pub fn have_ssh() -> bool {
    Command::new("ssh-keygen").arg("-?").output().is_ok()
        && Command::new("ssh")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// Skips (returns true) when OpenSSH is missing, except under CI where it fails.
pub fn skip_without_ssh(test: &str) -> bool {
    if have_ssh() {
        return false;
    }
    assert!(
        std::env::var("CI").is_err(),
        "the OpenSSH client (ssh, ssh-keygen) is required under CI for {test}"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: install openssh-client to run it"
    );
    true
}

/// A running daemon with its SSH port.
pub struct Served {
    child: Child,
    /// The SSH port.
    pub port: u16,
}

impl Served {
    /// Process id of the daemon.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `strata serve --listen 127.0.0.1:0` on the scratch home.
pub fn serve(s: &Strata) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(s.home())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("STRATA_HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start strata serve");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut port = None;
    let mut line = String::new();
    while !line.contains("serving") {
        assert!(Instant::now() < deadline, "the daemon did not start");
        line.clear();
        if err.read_line(&mut line).expect("read daemon stderr") == 0 {
            panic!("the daemon exited early");
        }
        if let Some(rest) = line.split("SSH on 127.0.0.1:").nth(1) {
            port = rest.split(' ').next().and_then(|p| p.parse().ok());
        }
    }
    std::thread::spawn(move || for _ in err.lines() {});
    Served {
        child,
        port: port.expect("the daemon printed its SSH port"),
    }
}

/// Makes an ed25519 key pair; returns the private key's path.
pub fn keygen(dir: &Path, name: &str) -> PathBuf {
    let key = dir.join(name);
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C"])
        .arg(format!("{name}@test"))
        .arg("-f")
        .arg(&key)
        .status()
        .expect("run ssh-keygen")
        .success();
    assert!(ok, "ssh-keygen failed");
    key
}

/// The OpenSSH client with a private known_hosts and only `key`.
pub fn ssh_cmd(s: &Strata, port: u16, key: &Path) -> Command {
    let mut c = Command::new("ssh");
    c.args(["-F", "/dev/null", "-p", &port.to_string(), "-i"])
        .arg(key)
        .args([
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-o",
        ])
        .arg(format!(
            "UserKnownHostsFile={}",
            s.path("known_hosts").display()
        ))
        .args(["-o", "LogLevel=ERROR"]);
    c
}

/// Runs `ssh … ops@127.0.0.1 ARGS…`; returns (exit code, stdout, stderr).
pub fn ssh(s: &Strata, port: u16, key: &Path, args: &[&str]) -> (i32, String, String) {
    let out = ssh_cmd(s, port, key)
        .arg("ops@127.0.0.1")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ssh");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
