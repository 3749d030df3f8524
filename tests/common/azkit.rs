//! Azurite (the Azure Storage emulator, `npm install -g azurite`) serving
//! Blob storage on a free loopback port from a scratch directory, with one
//! container made for the tests.
//!
//! Azurite creates no container by itself and `object_store` cannot create
//! one, so the kit does the one REST call it needs (`PUT ?restype=container`)
//! signed with SharedKey for the published development account.
//!
//! Included by `tests/remote_azure.rs` only (`#[path]`).

use crate::common::Strata;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Azurite's development account and its published key.
pub const ACCOUNT: &str = "devstoreaccount1";
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The container every test uses.
pub const CONTAINER: &str = "backups";

/// The `azurite-blob` program, when installed.
pub fn azurite() -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join("azurite-blob"))
        .find(|p| p.is_file())
}

/// Skips (returns true) when azurite-blob is missing, except under CI where
/// that fails the test.
pub fn skip_without_azurite(test: &str) -> bool {
    if azurite().is_some() {
        return false;
    }
    assert!(
        std::env::var("CI").is_err(),
        "azurite-blob (npm install -g azurite) is required under CI for {test}"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: install Azurite (npm install -g azurite) to run it"
    );
    true
}

/// A running Azurite, stopped when dropped.
pub struct Azurite {
    /// The blob port.
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Azurite {
    /// Starts Azurite with its data in `dir` and creates [`CONTAINER`].
    pub fn start(dir: &Path) -> Azurite {
        std::fs::create_dir_all(dir).expect("create the azurite directory");
        let mut a = Azurite {
            port: crate::common::sftpkit::free_port(),
            dir: dir.to_path_buf(),
            child: None,
        };
        let mut last = String::new();
        for _ in 0..5 {
            match a.launch() {
                Ok(()) => {
                    a.create_container(CONTAINER);
                    return a;
                }
                Err(why) => last = why,
            }
            a.port = crate::common::sftpkit::free_port();
        }
        panic!("azurite did not start: {last}");
    }

    /// `http://127.0.0.1:PORT/devstoreaccount1`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    fn launch(&mut self) -> Result<(), String> {
        let program = azurite().ok_or("azurite-blob is not installed")?;
        let log = std::fs::File::create(self.dir.join("azurite.log")).map_err(|e| e.to_string())?;
        let mut child = Command::new(program)
            .args(["--blobHost", "127.0.0.1", "--blobPort"])
            .arg(self.port.to_string())
            .arg("--location")
            .arg(&self.dir)
            .args(["--silent", "--skipApiVersionCheck"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join("azurite.log")).unwrap_or_default();
                return Err(format!("azurite exited with {status}: {log}"));
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err("azurite did not listen within 30 s".into())
    }

    /// Stops the emulator (its data stays in the directory): SIGINT, so it
    /// saves its metadata database, which a SIGKILL would lose.
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
    }

    /// Starts it again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.launch()
            .unwrap_or_else(|why| panic!("azurite did not start again: {why}"));
    }

    /// `PUT /ACCOUNT/NAME?restype=container`, signed with SharedKey.
    fn create_container(&self, name: &str) {
        use base64::Engine;
        use hmac::{KeyInit, Mac};
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let version = "2021-08-06";
        let to_sign = format!(
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{ACCOUNT}/{ACCOUNT}/{name}\nrestype:container"
        );
        let key = base64::engine::general_purpose::STANDARD
            .decode(KEY)
            .expect("the dev key is base64");
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("an HMAC key");
        mac.update(to_sign.as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let url = format!("{}/{name}?restype=container", self.endpoint());
        let resp = reqwest::blocking::Client::new()
            .put(&url)
            .header("x-ms-date", &date)
            .header("x-ms-version", version)
            .header("Content-Length", "0")
            .header("Authorization", format!("SharedKey {ACCOUNT}:{sig}"))
            .send()
            .expect("create the container");
        let status = resp.status();
        assert!(
            status.is_success() || status.as_u16() == 409,
            "creating container {name}: {status} {}",
            resp.text().unwrap_or_default()
        );
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes an Azure credentials file (mode `mode`) holding `key`.
pub fn credentials_file(s: &Strata, name: &str, key: &str, mode: u32) -> PathBuf {
    let p = s.path(name);
    std::fs::write(&p, format!("account = \"{ACCOUNT}\"\nkey = \"{key}\"\n"))
        .expect("write the credentials file");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    p
}
