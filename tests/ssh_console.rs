//! The console over SSH. In process: the real server with a russh client and
//! vt100 reading what it draws (twenty sessions watch one backup; keys, resize
//! and quit). End to end: the real OpenSSH client in a tmux pane.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;

use common::Strata;
use common::sshkit::{keygen, serve, skip_without_ssh, ssh_cmd};
use common::tmux::{Tmux, have_tmux};
use russh::ChannelMsg;
use russh::client;
use russh::keys::{Algorithm, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata::core::Core;
use strata::core::access::Role;
use strata::core::home::Home;
use strata::model::BackupKind;
use strata::progress::{Phase, Progress};

const DEADLINE: Duration = Duration::from_secs(30);

/// Accepts only the server's real host key.
struct Client {
    expect: String,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                key.fingerprint(HashAlg::Sha256).to_string() == self.expect
            }
            PublicKeyOrCertificate::Certificate(_) => false,
        })
    }
}

/// One console session and the screen it drew.
struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    exit: Arc<Mutex<Option<u32>>>,
    write: russh::ChannelWriteHalf<client::Msg>,
    _handle: client::Handle<Client>,
}

impl Screen {
    async fn open(
        port: u16,
        key: &Arc<PrivateKey>,
        fingerprint: &str,
        cols: u16,
        rows: u16,
    ) -> Screen {
        let config = Arc::new(client::Config::default());
        let handler = Client {
            expect: fingerprint.to_string(),
        };
        let mut h = client::connect(config, ("127.0.0.1", port), handler)
            .await
            .expect("connect");
        let auth = h
            .authenticate_publickey("ops", PrivateKeyWithHashAlg::new(key.clone(), None))
            .await
            .expect("authenticate");
        assert!(auth.success(), "the key was refused");
        let ch = h.channel_open_session().await.expect("open a session");
        ch.request_pty(
            true,
            "xterm-256color",
            u32::from(cols),
            u32::from(rows),
            0,
            0,
            &[],
        )
        .await
        .expect("pty");
        ch.request_shell(true).await.expect("shell");
        let (mut read, write) = ch.split();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(nz(rows), nz(cols), 0)));
        let exit = Arc::new(Mutex::new(None));
        let (p, e) = (parser.clone(), exit.clone());
        tokio::spawn(async move {
            while let Some(msg) = read.wait().await {
                match msg {
                    ChannelMsg::Data { data } => p.lock().unwrap().process(&data),
                    ChannelMsg::ExitStatus { exit_status } => {
                        *e.lock().unwrap() = Some(exit_status)
                    }
                    _ => {}
                }
            }
        });
        Screen {
            parser,
            exit,
            write,
            _handle: h,
        }
    }

    /// Waits for the session's exit status (`what` names the wait in failures).
    async fn wait_exit(&self, what: &str) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(code) = *self.exit.lock().unwrap() {
                return code;
            }
            assert!(start.elapsed() < DEADLINE, "no exit status: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    async fn keys(&self, bytes: &[u8]) {
        self.write
            .data_bytes(bytes.to_vec())
            .await
            .expect("send keys");
    }

    async fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let t = self.text();
            if ok(&t) {
                return t;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {what}; screen:\n{t}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The real SSH server in this process, over a core on the scratch home, with
/// one key authorized as `role`/`name` (write strata.toml before calling).
struct InProcess {
    core: Arc<Core>,
    server: strata::ssh::Running,
    key: Arc<PrivateKey>,
    port: u16,
    fp: String,
}

fn in_process(s: &Strata, role: Role, name: &str) -> InProcess {
    let mut key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).unwrap();
    key.set_comment(format!("{name}@test").as_str());
    let public = key.public_key().to_openssh().unwrap();
    strata::core::keys::add(&s.home().join("authorized_keys"), &public, role, name).unwrap();
    let core = Arc::new(Core::open(Home::at(s.home()), "ssh console test").expect("open core"));
    let server = strata::ssh::start(core.clone(), "127.0.0.1:0").expect("start ssh");
    InProcess {
        port: server.addr.port(),
        fp: server.fingerprint.clone(),
        core,
        server,
        key: Arc::new(key),
    }
}

impl InProcess {
    /// A console session on this server with a `cols`x`rows` terminal.
    async fn screen(&self, cols: u16, rows: u16) -> Screen {
        Screen::open(self.port, &self.key, &self.fp, cols, rows).await
    }
}

/// A scratch home with task `alpha` over a one-file tree.
fn alpha() -> Strata {
    let s = Strata::new();
    common::write(&s.path("src/a.txt"), b"alpha\n");
    s.setup("d", "alpha", &s.path("src"), &[]);
    s
}

fn nz(v: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(v).expect("a terminal has at least one row and column")
}

fn selected(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.starts_with('▶'))
        .unwrap_or("")
        .to_string()
}

#[test]
fn twenty_consoles_see_one_backup_and_each_follows_its_own_keys_and_size() {
    let s = alpha();
    let src = s.path("src");
    s.ok(&[
        "task",
        "add",
        "beta",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        "d",
    ]);
    std::fs::write(s.home().join("strata.toml"), "[ssh]\nmax_sessions = 40\n").unwrap();
    let ip = in_process(&s, Role::Operator, "watcher");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut screens = Vec::new();
        for _ in 0..20 {
            screens.push(ip.screen(120, 30).await);
        }
        for sc in &screens {
            let t = sc
                .wait_for("the Tasks view", |t| {
                    t.contains("alpha") && t.contains("beta")
                })
                .await;
            assert!(
                t.contains("as watcher") && t.contains("operator"),
                "header names the key and role:\n{t}"
            );
        }

        // A job in the daemon's registry shows its gauge in every session.
        let progress = Arc::new(Progress::default());
        progress.bytes_total.store(1000, Ordering::Relaxed);
        progress.bytes_done.store(500, Ordering::Relaxed);
        progress.set_phase(Phase::Store);
        let job = ip
            .core
            .register_test_job("alpha", BackupKind::Full, progress.clone())
            .expect("register a job");
        for sc in &screens {
            sc.wait_for("the gauge at 50%", |t| t.contains("50%")).await;
        }
        progress.bytes_done.store(900, Ordering::Relaxed);
        for sc in &screens {
            sc.wait_for("the gauge at 90%", |t| t.contains("90%")).await;
        }
        drop(job);

        // Keys move only this session's selection.
        let (one, two) = (&screens[0], &screens[1]);
        assert!(selected(&one.text()).contains("alpha"));
        one.keys(b"j").await;
        one.wait_for("beta selected", |t| selected(t).contains("beta"))
            .await;
        one.keys(b"\x1b[A").await;
        one.wait_for("alpha selected again", |t| selected(t).contains("alpha"))
            .await;
        one.keys(b"j").await;
        one.wait_for("beta selected", |t| selected(t).contains("beta"))
            .await;
        assert!(
            selected(&two.text()).contains("alpha"),
            "other sessions keep their own selection"
        );

        // A resize re-lays out that session only.
        one.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(nz(24), nz(80));
        one.write.window_change(80, 24, 0, 0).await.unwrap();
        one.wait_for("the footer on row 24 of 80 columns", |t| {
            let lines: Vec<&str> = t.lines().collect();
            lines.len() == 24
                && lines[23].contains("q quit")
                && lines.iter().all(|l| l.chars().count() <= 80)
        })
        .await;

        // q ends the session with exit status 0 and leaves the alternate screen.
        one.keys(b"q").await;
        assert_eq!(one.wait_exit("no exit status after q").await, 0);
        assert!(!one.parser.lock().unwrap().screen().alternate_screen());
        assert!(two.text().contains("Tasks"), "other sessions keep drawing");
    });
    drop(rt);
    ip.server.stop();
}

#[test]
fn console_over_openssh_in_tmux_backs_up_resizes_and_quits() {
    let name = "console_over_openssh_in_tmux_backs_up_resizes_and_quits";
    if skip_without_ssh(name) {
        return;
    }
    if !have_tmux() {
        assert!(
            std::env::var("CI").is_err(),
            "tmux is required under CI for {name}"
        );
        eprintln!("SKIPPED {name}: install tmux to run it");
        return;
    }
    let s = alpha();
    // The hook keeps the job running long enough to see its gauge.
    let src = s.path("src");
    s.ok(&[
        "task",
        "add",
        "slow",
        "--dir",
        src.to_str().unwrap(),
        "--dest",
        "d",
        "--before",
        "sleep 3",
    ]);
    let keys = s.path("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let key = keygen(&keys, "op");
    let public = key.with_extension("pub");
    s.ok(&[
        "keys",
        "add",
        public.to_str().unwrap(),
        "--role",
        "operator",
        "--name",
        "otto",
    ]);
    let d = serve(&s);
    let cmd = ssh_cmd(&s, d.port, &key);
    let mut line: Vec<String> = vec![cmd.get_program().to_string_lossy().into_owned()];
    line.extend(cmd.get_args().map(|a| format!("'{}'", a.to_string_lossy())));
    line.push("-tt".into());
    line.push("ops@127.0.0.1".into());
    let t = Tmux::new();
    t.run(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "120",
        "-y",
        "35",
        &format!("{}; echo SSH-EXIT=$?; sleep 60", line.join(" ")),
    ]);
    let screen = t.wait_for("the console over ssh", |sc| {
        sc.contains("as otto") && sc.contains("slow")
    });
    assert!(screen.contains("operator"), "{screen}");
    // Select the slow task and back it up (b, then f for full).
    t.keys(&["j"]);
    t.wait_for("slow selected", |sc| selected(sc).contains("slow"));
    t.keys(&["b"]);
    t.wait_for("the kind question", |sc| sc.to_lowercase().contains("full"));
    t.keys(&["f"]);
    t.wait_for("the gauge in slow's row", |sc| {
        selected(sc).contains('%') || selected(sc).contains("queued")
    });
    let done = t.wait_for("the backup in slow's row", |sc| {
        !selected(sc).contains('%') && s.backups().values().any(|b| b["task"] == "slow")
    });
    assert!(!done.contains("cannot"), "{done}");
    // A resize re-lays out the screen at the new size.
    t.resize(80, 24);
    t.wait_for("the footer at the bottom of 80x24", |sc| {
        let l: Vec<&str> = sc.lines().collect();
        l.len() == 24 && l[23].contains("q quit")
    });
    // q ends the session with 0 and gives the terminal back.
    t.keys(&["q"]);
    t.wait_for("ssh's exit status", |sc| sc.contains("SSH-EXIT=0"));
    assert_eq!(
        t.var("alternate_on"),
        "0",
        "the client's terminal left the alternate screen"
    );
}

#[test]
fn an_idle_console_is_closed_with_a_reason() {
    let s = alpha();
    std::fs::write(
        s.home().join("strata.toml"),
        "[ssh]\nidle_timeout = \"2s\"\n",
    )
    .unwrap();
    let ip = in_process(&s, Role::Viewer, "idler");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sc = ip.screen(100, 30).await;
        sc.wait_for("the console", |t| t.contains("alpha")).await;
        assert_eq!(sc.wait_exit("the idle session was not closed").await, 0);
        let t = sc.text();
        assert!(
            t.contains("no key pressed for 2 s") && t.contains("idle_timeout"),
            "{t}"
        );
    });
    drop(rt);
    ip.server.stop();
}

#[test]
fn an_operator_restores_from_the_ssh_console_under_the_restore_root() {
    let s = Strata::new();
    common::write(&s.path("src/a.txt"), b"alpha\n");
    common::write(
        &s.path("src/deep/b.bin"),
        &common::Rng::new(3).bytes(50_000),
    );
    s.setup("d", "alpha", &s.path("src"), &[]);
    s.backup("alpha", "full");
    let roots = s.path("restores");
    std::fs::create_dir_all(&roots).unwrap();
    std::fs::write(
        s.home().join("strata.toml"),
        format!("restore_roots = [{:?}]\n", roots.display().to_string()),
    )
    .unwrap();
    let ip = in_process(&s, Role::Operator, "otto");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sc = ip.screen(120, 40).await;
        sc.wait_for("the console", |t| t.contains("alpha")).await;
        sc.keys(b"2").await;
        sc.wait_for("the Backups view", |t| selected(t).contains("alpha"))
            .await;
        sc.keys(b"r").await;
        let form = sc
            .wait_for("the restore dialog", |t| t.contains("alpha-restore-"))
            .await;
        assert!(
            form.contains(&roots.display().to_string()),
            "the target is under the restore root:\n{form}"
        );
        sc.keys(b"\r").await;
        sc.wait_for("the confirmation", |t| t.contains("y ")).await;
        sc.keys(b"y").await;
        let start = Instant::now();
        let restored = loop {
            let found = std::fs::read_dir(&roots)
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.join("deep/b.bin").exists());
            if let Some(p) = found {
                break p;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "nothing restored; screen:\n{}",
                sc.text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        sc.wait_for("the result", |t| t.to_lowercase().contains("restored"))
            .await;
        common::assert_same_tree(
            "ssh console restore",
            &common::snapshot(&s.path("src")),
            &common::snapshot(&restored),
        );
    });
    drop(rt);
    ip.server.stop();
    let audit = ip.core.audit_tail(50).unwrap();
    assert!(
        audit.iter().any(|e| e.action == "restore"
            && e.who == "otto"
            && e.outcome == "ok"
            && e.origin.starts_with("ssh ")),
        "{audit:#?}"
    );
}

#[test]
fn stopping_the_server_gives_each_client_its_terminal_back() {
    let s = alpha();
    let ip = in_process(&s, Role::Viewer, "v");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let a = ip.screen(100, 30).await;
        let b = ip.screen(100, 30).await;
        a.wait_for("the console", |t| t.contains("alpha")).await;
        b.wait_for("the console", |t| t.contains("alpha")).await;
        tokio::task::spawn_blocking(move || ip.server.stop())
            .await
            .unwrap();
        for sc in [&a, &b] {
            let t = sc
                .wait_for("the stop message", |t| t.contains("server is stopping"))
                .await;
            let p = sc.parser.lock().unwrap();
            assert!(
                !p.screen().alternate_screen(),
                "left the alternate screen:\n{t}"
            );
            assert!(!p.screen().hide_cursor(), "the cursor is shown again");
        }
    });
}

#[test]
fn removing_a_key_ends_its_open_consoles() {
    let s = alpha();
    let ip = in_process(&s, Role::Operator, "leaver");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sc = ip.screen(100, 30).await;
        sc.wait_for("the console", |t| t.contains("alpha")).await;
        strata::core::keys::remove(&s.home().join("authorized_keys"), "leaver").unwrap();
        let t = sc
            .wait_for("the revocation message", |t| t.contains("key was removed"))
            .await;
        assert!(
            !sc.parser.lock().unwrap().screen().alternate_screen(),
            "{t}"
        );
        assert_eq!(sc.wait_exit("no exit status").await, 1);
    });
    drop(rt);
    ip.server.stop();
}
