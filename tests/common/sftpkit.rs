//! A real OpenSSH `sshd` serving SFTP on a free loopback port, with its own
//! host key, config and authorized_keys in a scratch directory.

use super::{Rng, Strata, write};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Where Debian's openssh-server puts the daemon.
pub const SSHD: &str = "/usr/sbin/sshd";

/// Skips (returns true) when sshd or ssh-keygen is missing, except under CI
/// where that fails the test.
pub fn skip_without_sshd(test: &str) -> bool {
    let have = Path::new(SSHD).exists() && super::sshkit::have_ssh();
    if have {
        return false;
    }
    assert!(
        std::env::var("CI").is_err(),
        "OpenSSH sshd ({SSHD}, package openssh-server) and ssh-keygen are required under CI for {test}"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: install openssh-server to run it"
    );
    true
}

/// A free TCP port on 127.0.0.1 (bound, then released for the server).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

/// A running sshd, stopped (with every session it forked) when dropped.
pub struct Sshd {
    dir: PathBuf,
    /// The port it listens on.
    pub port: u16,
    child: Option<Child>,
}

impl Sshd {
    /// Starts sshd in `dir` (created) with a fresh ed25519 host key, letting
    /// in the holder of `client_key` (a private key; its `.pub` is authorized).
    pub fn start(dir: &Path, client_key: &Path) -> Sshd {
        std::fs::create_dir_all(dir).expect("create the sshd directory");
        let pubkey =
            std::fs::read(client_key.with_extension("pub")).expect("read the client's public key");
        std::fs::write(dir.join("authorized_keys"), pubkey).expect("write authorized_keys");
        let mut s = Sshd {
            dir: dir.to_path_buf(),
            port: free_port(),
            child: None,
        };
        s.new_host_key();
        // Another test may take the free port before sshd binds it: try others.
        let mut last = String::new();
        for _ in 0..5 {
            match s.launch() {
                Ok(()) => return s,
                Err(log) => last = log,
            }
            s.port = free_port();
        }
        panic!("sshd exited before listening:\n{last}");
    }

    /// The server's public host key file.
    pub fn host_key_pub(&self) -> PathBuf {
        self.dir.join("host_key.pub")
    }

    /// The `SHA256:…` fingerprint of the server's host key.
    pub fn fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen")
            .args(["-E", "sha256", "-l", "-f"])
            .arg(self.host_key_pub())
            .output()
            .expect("run ssh-keygen -l");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("no fingerprint in {text:?}"))
            .to_string()
    }

    fn new_host_key(&self) {
        let key = self.dir.join("host_key");
        let _ = std::fs::remove_file(&key);
        let _ = std::fs::remove_file(key.with_extension("pub"));
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .expect("run ssh-keygen")
            .success();
        assert!(ok, "ssh-keygen of the host key failed");
    }

    /// Starts sshd; `Err` with its log when it exits before listening.
    fn launch(&mut self) -> Result<(), String> {
        let d = self.dir.display();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
             UsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\nPidFile {d}/sshd.pid\n",
            port = self.port
        );
        let conf = self.dir.join("sshd_config");
        std::fs::write(&conf, config).expect("write sshd_config");
        std::fs::create_dir_all("/run/sshd")
            .expect("create /run/sshd (privilege separation directory)");
        // -D keeps it in the foreground; -e logs to stderr, where it says when it listens.
        let mut child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sshd");
        let mut err = BufReader::new(child.stderr.take().expect("sshd stderr"));
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            if err.read_line(&mut line).expect("read sshd stderr") == 0 {
                let _ = child.wait();
                return Err(seen);
            }
            seen.push_str(&line);
            if line.contains("Server listening on") {
                break;
            }
        }
        std::thread::spawn(move || for _ in err.lines() {});
        self.child = Some(child);
        Ok(())
    }

    /// Stops the server and every session process it forked, as a crash of
    /// the machine would cut them.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let mut pids = descendants(child.id());
        pids.push(child.id());
        for pid in pids {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = child.wait();
    }

    /// Starts it again on the same port with the same host key.
    pub fn restart(&mut self) {
        self.stop();
        self.launch()
            .unwrap_or_else(|log| panic!("sshd did not start again:\n{log}"));
    }

    /// Starts it again on the same port with a new host key (a reinstalled
    /// server, or someone in the middle).
    pub fn restart_with_new_host_key(&mut self) {
        self.stop();
        self.new_host_key();
        self.launch()
            .unwrap_or_else(|log| panic!("sshd did not start again:\n{log}"));
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every process below `pid`, from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // The fields after the parenthesised command name: state, ppid, …
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse::<u32>().ok());
            if let Some(pp) = ppid {
                parent_of.push((p, pp));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(c, pp) in &parent_of {
            if pp == p && !out.contains(&c) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

/// A home, a client key and a running sshd letting that key in as root.
pub struct Remote {
    /// The home and scratch directory.
    pub s: Strata,
    /// The server.
    pub sshd: Sshd,
    /// The client's private key.
    pub key: PathBuf,
}

pub fn remote() -> Remote {
    let s = Strata::new();
    let key = super::sshkit::keygen(s.root(), "id_test");
    let sshd = Sshd::start(&s.path("sshd"), &key);
    Remote { s, sshd, key }
}

impl Remote {
    /// `sftp://root@127.0.0.1:PORT/<root>/<rel>`.
    pub fn url(&self, port: u16, rel: &str) -> String {
        format!("sftp://root@127.0.0.1:{port}{}", self.s.path(rel).display())
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.s.path("known_hosts")
    }

    /// `dest add NAME --sftp URL --identity KEY --known-hosts FILE [--accept-new-host-key]`.
    pub fn add(&self, name: &str, url: &str, accept: bool) -> (i32, String, String) {
        let key = self.key.to_str().unwrap().to_string();
        let kh = self.known_hosts().to_str().unwrap().to_string();
        let mut args = vec![
            "dest",
            "add",
            name,
            "--sftp",
            url,
            "--identity",
            &key,
            "--known-hosts",
            &kh,
        ];
        if accept {
            args.push("--accept-new-host-key");
        }
        self.s.run(&args)
    }
}

/// Deterministic source files: a few small ones and `big` random bytes.
pub fn source(s: &Strata, big: usize) -> PathBuf {
    let src = s.path("src");
    let mut rng = Rng::new(12);
    write(&src.join("notes.txt"), b"off-site\n");
    write(&src.join("sub/small.bin"), &rng.bytes(70_000));
    write(&src.join("sub/big.bin"), &rng.bytes(big));
    src
}

/// Every file under `dir`, as bytes.
pub fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p, b));
            }
        }
    }
    out
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
