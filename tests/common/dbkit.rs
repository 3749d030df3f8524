//! Real database servers for the database-source tests, started in a
//! scratch directory on a private Unix socket (no TCP): PostgreSQL 15 from
//! Debian (run as the `postgres` user, since it refuses root) and MariaDB.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's PostgreSQL 15 server binaries.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Skips (true) when `what` is missing, except under CI where that fails.
pub fn skip_without(test: &str, what: &str, present: bool) -> bool {
    if present {
        return false;
    }
    assert!(
        std::env::var("CI").is_err(),
        "{what} is required under CI for {test} (.ci/run installs it)"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: install {what} to run it (apt-get install -y postgresql mariadb-server)"
    );
    true
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A PostgreSQL cluster in `<dir>/pg`, socket in `<dir>/pg/sock`.
pub struct Postgres {
    data: PathBuf,
    /// The socket directory (`-h` of every client).
    pub sock: PathBuf,
}

impl Postgres {
    /// Whether the server and the `postgres` user are there.
    pub fn available() -> bool {
        Path::new(PG_BIN).join("initdb").exists()
            && Command::new("id")
                .arg("postgres")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    }

    /// initdb and start, as `postgres`; `dir` must be traversable by it.
    pub fn start(dir: &Path) -> Postgres {
        let base = dir.join("pg");
        std::fs::create_dir_all(&base).unwrap();
        let mut p = Some(dir);
        while let Some(d) = p {
            // Every ancestor must be traversable by the postgres user.
            let mode = std::fs::metadata(d).unwrap().permissions().mode();
            if mode & 0o001 == 0 {
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode | 0o011)).unwrap();
            }
            p = d.parent();
        }
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&base));
        let data = base.join("data");
        let sock = base.join("sock");
        std::fs::create_dir_all(&sock).unwrap();
        run(Command::new("chown").arg("postgres:postgres").arg(&sock));
        let as_pg = |bin: &str| {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(Path::new(PG_BIN).join(bin));
            c
        };
        run(as_pg("initdb")
            .args(["--username=postgres", "--auth=trust", "-D"])
            .arg(&data));
        let opts = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c fsync=off",
            sock.display()
        );
        run(as_pg("pg_ctl")
            .args(["-w", "-D"])
            .arg(&data)
            .args(["-o", &opts, "-l"])
            .arg(base.join("log"))
            .arg("start"));
        Postgres { data, sock }
    }

    /// `psql` as postgres on `db`, one command; its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        run(Command::new("psql").arg("-h").arg(&self.sock).args([
            "-U",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-Atq",
            "-d",
            db,
            "-c",
            sql,
        ]))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(Path::new(PG_BIN).join("pg_ctl"))
            .args(["-D"])
            .arg(&self.data)
            .args(["stop", "-m", "immediate"])
            .output();
    }
}

/// A MariaDB server with its data and socket in `<dir>/maria`.
pub struct Maria {
    child: Child,
    /// The socket.
    pub sock: PathBuf,
}

impl Maria {
    /// Whether the server binaries are there.
    pub fn available() -> bool {
        Path::new("/usr/sbin/mariadbd").exists()
            && Command::new("mariadb-install-db")
                .arg("--help")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok()
    }

    /// Installs a data directory and starts the server on a private socket.
    pub fn start(dir: &Path) -> Maria {
        let base = dir.join("maria");
        let data = base.join("data");
        std::fs::create_dir_all(&data).unwrap();
        run(Command::new("mariadb-install-db")
            .arg(format!("--datadir={}", data.display()))
            .args(["--user=root", "--auth-root-authentication-method=normal"]));
        let sock = base.join("sock");
        let child = Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", sock.display()))
            .arg(format!("--pid-file={}", base.join("pid").display()))
            .args([
                "--skip-networking",
                "--user=root",
                "--innodb-flush-log-at-trx-commit=0",
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(base.join("log")).unwrap())
            .spawn()
            .unwrap();
        let m = Maria { child, sock };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = Command::new("mariadb")
                .arg("--no-defaults")
                .arg(format!("--socket={}", m.sock.display()))
                .args(["-uroot", "-e", "SELECT 1"])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                break;
            }
            assert!(Instant::now() < deadline, "mariadbd did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        m
    }

    /// The client on `db` (empty: none), one statement; tab-separated output.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults")
            .arg(format!("--socket={}", self.sock.display()))
            .args(["-uroot", "-N", "-B", "-e", sql]);
        if !db.is_empty() {
            c.arg(db);
        }
        run(&mut c)
    }
}

impl Drop for Maria {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
