//! `strata demo`: a self-contained tour on an embedded default. It makes a demo
//! home with sample data, a destination and a task, takes a full and an
//! incremental backup, and prints the backup table and what to try next.

use crate::command::exec::Io;
use crate::command::{BackupCmd, Cli, Command};
use crate::core::access::Caller;
use crate::core::home::Home;
use crate::core::{Action, Core, CoreError, Outcome};
use crate::model::{DestinationConfig, DestinationKind, RetentionPolicy, SourceConfig, TaskConfig};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Marker that says a directory is a demo home we may recreate.
const MARKER: &str = ".strata-demo";

fn fail(what: &str, path: &Path, e: std::io::Error) -> CoreError {
    CoreError::Failed(format!("demo: cannot {what} {}: {e}", path.display()))
}

/// Deterministic sample tree: source files, docs, a log that grows, a small
/// "database" of pages, a symlink, an empty file and a hard link.
pub fn make_sample(root: &Path) -> std::io::Result<()> {
    let words = [
        "backup",
        "restore",
        "chain",
        "chunk",
        "manifest",
        "retention",
        "verify",
        "pack",
        "catalog",
        "schedule",
    ];
    for d in ["app/src", "app/docs", "var/log", "srv/db", "etc"] {
        fs::create_dir_all(root.join(d))?;
    }
    let mut x: u64 = 42;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..120 {
        let mut s = format!("// module {i}\n");
        for l in 0..(20 + next() % 200) {
            s.push_str(&format!(
                "fn {}_{l}() {{ {} }}\n",
                words[(next() % 10) as usize],
                words[(next() % 10) as usize]
            ));
        }
        fs::write(root.join(format!("app/src/mod_{i:03}.rs")), s)?;
    }
    for i in 0..40 {
        let text: Vec<&str> = (0..(200 + next() % 800))
            .map(|_| words[(next() % 10) as usize])
            .collect();
        fs::write(root.join(format!("app/docs/note {i}.md")), text.join(" "))?;
    }
    let mut log = String::new();
    for i in 0..20_000 {
        log.push_str(&format!(
            "2026-11-22T03:{:02}:{:02}Z INFO job={} {}\n",
            (i / 60) % 60,
            i % 60,
            next() % 97,
            words[(next() % 10) as usize]
        ));
    }
    fs::write(root.join("var/log/app.log"), log)?;
    let db: Vec<u8> = (0..(4 << 20)).map(|_| (next() % 16) as u8).collect();
    fs::write(root.join("srv/db/main.db"), db)?;
    fs::write(
        root.join("etc/app.toml"),
        "listen = \"127.0.0.1:8080\"\nworkers = 4\n",
    )?;
    fs::write(root.join("etc/empty"), "")?;
    std::os::unix::fs::symlink("../app/docs", root.join("etc/docs-link"))?;
    fs::hard_link(root.join("etc/app.toml"), root.join("etc/app.toml.bak"))?;
    Ok(())
}

/// Appends to the log and rewrites a few database pages, like a day of use.
pub fn mutate_sample(root: &Path) -> std::io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(root.join("var/log/app.log"))?;
    for i in 0..500 {
        writeln!(f, "2026-11-22T04:00:{:02}Z WARN job={i} retry", i % 60)?;
    }
    let db = root.join("srv/db/main.db");
    let mut data = fs::read(&db)?;
    for page in [3usize, 200, 777] {
        let off = page * 4096;
        if off + 4096 <= data.len() {
            data[off..off + 4096].fill(0xEE);
        }
    }
    fs::write(&db, data)?;
    fs::write(root.join("app/src/new_feature.rs"), "fn new_feature() {}\n")?;
    Ok(())
}

/// Runs the demo; `home` defaults to a `strata-demo` directory in the system temp dir.
pub fn run(home: Option<PathBuf>, json: bool, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let root = home.unwrap_or_else(|| std::env::temp_dir().join("strata-demo"));
    if root.exists() {
        if !root.join(MARKER).exists() {
            return Err(CoreError::Refused(format!(
                "demo: {} exists and is not a demo home; pass --home with a new directory",
                root.display()
            )));
        }
        fs::remove_dir_all(&root).map_err(|e| fail("reset", &root, e))?;
    }
    fs::create_dir_all(&root).map_err(|e| fail("create", &root, e))?;
    fs::write(root.join(MARKER), "made by strata demo; safe to delete\n")
        .map_err(|e| fail("write", &root, e))?;
    let data = root.join("sample-data");
    make_sample(&data).map_err(|e| fail("create sample data in", &data, e))?;
    let _ = writeln!(
        io.err,
        "demo home: {} (sample data in {})",
        root.display(),
        data.display()
    );
    let home = Home::at(&root);
    let core = std::sync::Arc::new(Core::open(home.clone(), "strata demo")?);
    // The demo is set up through the same door as every front end.
    let me = Caller::local(None);
    core.perform(
        &me,
        Action::AddDestination {
            config: Box::new(DestinationConfig {
                name: "demo-local".into(),
                kind: DestinationKind::Local {
                    path: root.join("repository"),
                },
                repo_id: None,
                rate_limit: None,
                encryption: None,
                parallel_uploads: None,
            }),
            accept_new_host_key: false,
            key_of: None,
        },
    )?;
    let task = |name: &str, path: PathBuf, full: &str, incr: Option<&str>, diff: Option<&str>| {
        TaskConfig {
            name: name.into(),
            source: SourceConfig::Dir {
                path,
                exclude: vec!["*.tmp".into()],
            },
            destinations: vec!["demo-local".into()],
            full: Some(full.into()),
            incremental: incr.map(Into::into),
            differential: diff.map(Into::into),
            timezone: Some("UTC".into()),
            catch_up: Default::default(),
            // Short rules, so retention visibly expires old chains within minutes.
            retention: RetentionPolicy {
                keep_last_full: Some(2),
                ..Default::default()
            },
            hooks: Default::default(),
            compression_level: 3,
            paused: false,
            created: chrono::Utc::now(),
            require: Default::default(),
            alert_after: None,
            notify: None,
            // A sampled check every quarter hour, so verify runs show up too.
            verify: Some("*/15 * * * *".into()),
            verify_read_data: Some(20),
        }
    };
    // Schedules of a minute or so, so a newcomer sees gauges move and backups appear.
    for config in [
        task(
            "demo-files",
            data.clone(),
            "*/3 * * * *",
            Some("* * * * *"),
            None,
        ),
        task(
            "demo-docs",
            data.join("app/docs"),
            "*/5 * * * *",
            None,
            Some("*/2 * * * *"),
        ),
    ] {
        let config = Box::new(config);
        core.perform(&me, Action::AddTask { config })?;
    }
    let backup = |task: &str, kind| -> Result<String, CoreError> {
        let action = Action::RunBackup {
            task: task.into(),
            kind,
            detach: false,
        };
        match core.perform(&me, action)? {
            Outcome::BackedUp(o) => Ok(o.backup.id),
            _ => Ok(String::new()),
        }
    };
    let full = backup("demo-files", crate::model::BackupKind::Full)?;
    let _ = writeln!(io.err, "took full backup {full}");
    mutate_sample(&data).map_err(|e| fail("change sample data in", &data, e))?;
    let inc = backup("demo-files", crate::model::BackupKind::Incremental)?;
    let _ = writeln!(io.err, "changed a few files, took incremental backup {inc}");
    backup("demo-docs", crate::model::BackupKind::Full)?;

    use std::io::IsTerminal;
    if !json && std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        return tour(core, &home, &data, io);
    }
    drop(core);
    let code = crate::command::exec::execute(
        Cli {
            role: None,
            home: Some(root.clone()),
            json,
            command: Command::Backup(BackupCmd::List {
                task: None,
                chain: true,
                order: Default::default(),
            }),
        },
        io,
    );
    if !json {
        let h = root.display();
        let _ = writeln!(io.err, "\nnext: strata --home {h} backup show <ID>");
        let _ = writeln!(
            io.err,
            "      strata --home {h} restore <ID> --to /tmp/restored"
        );
        let _ = writeln!(io.err, "      strata --home {h} verify --all --read-data");
    }
    Ok(code)
}

/// Creates the tour's SSH key (`demo_ed25519` in the demo home, 0600) and
/// authorizes it as operator through the core, so the change is audited
/// like any other; returns the private key's path. An existing key is kept.
pub fn demo_key(core: &std::sync::Arc<Core>, home: &Home) -> Result<PathBuf, String> {
    use russh::keys::{Algorithm, PrivateKey};
    use std::os::unix::fs::OpenOptionsExt;
    let key_path = home.root().join("demo_ed25519");
    if key_path.exists() {
        return Ok(key_path);
    }
    let mut key =
        PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).map_err(|e| e.to_string())?;
    key.set_comment("strata-demo");
    let text = key
        .to_openssh(russh::keys::ssh_key::LineEnding::LF)
        .map_err(|e| e.to_string())?;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&key_path)
        .map_err(|e| format!("cannot create {}: {e}", key_path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", key_path.display()))?;
    let public = key.public_key().to_openssh().map_err(|e| e.to_string())?;
    core.perform(
        &Caller::local(None),
        Action::AddKey {
            key: Some(public),
            file: None,
            role: "operator".into(),
            name: "demo".into(),
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(key_path)
}

/// Starts SSH for the tour (port 2222, or any free port when it is taken)
/// with a demo key authorized as operator; returns how to connect.
fn demo_ssh(
    core: &std::sync::Arc<Core>,
    home: &Home,
) -> Result<(crate::ssh::Running, String), String> {
    let key_path = demo_key(core, home)?;
    let running = crate::ssh::start(core.clone(), "127.0.0.1:2222")
        .or_else(|_| crate::ssh::start(core.clone(), "127.0.0.1:0"))
        .map_err(|e| e.to_string())?;
    let line = format!(
        "from another terminal: ssh -t -i {} -p {} -o StrictHostKeyChecking=accept-new demo@127.0.0.1",
        key_path.display(),
        running.addr.port()
    );
    Ok((running, line))
}

/// The interactive part: the scheduler runs in this process, a thread keeps
/// changing the sample data, and the console opens on the same core.
fn tour(
    core: std::sync::Arc<Core>,
    home: &Home,
    data: &Path,
    io: &mut Io<'_>,
) -> Result<u8, CoreError> {
    use std::sync::atomic::{AtomicBool, Ordering};
    // Like `strata serve`: the scheduler runs here and SSH consoles start
    // detached backups in this process.
    core.start_serving();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let sched = {
        let (c, s) = (core.clone(), stop.clone());
        std::thread::spawn(move || c.run_scheduler(&s))
    };
    let changer = {
        let (s, d) = (stop.clone(), data.to_path_buf());
        std::thread::spawn(move || {
            let mut ticks = 0u32;
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(250));
                ticks += 1;
                if ticks.is_multiple_of(80) {
                    let _ = mutate_sample(&d);
                }
            }
        })
    };
    // SSH on loopback, with a demo key, so the tour shows the remote console too.
    let (ssh, mut greeting) = match demo_ssh(&core, home) {
        Ok((running, line)) => (Some(running), vec![line]),
        Err(e) => (None, vec![format!("SSH is off in this demo: {e}")]),
    };
    // The control socket too, so `strata --home … task list` in a second
    // terminal talks to this process instead of finding the catalog locked.
    let control = match crate::daemon::server::control_socket(core.clone(), home, stop.clone()) {
        Ok(t) => {
            greeting.push(format!(
                "in another terminal: strata --home {} task list",
                home.root().display()
            ));
            Some(t)
        }
        Err(e) => {
            greeting.push(format!("the control socket is off in this demo: {e}"));
            None
        }
    };
    let caller = crate::core::access::Caller::local(None);
    let source = std::sync::Arc::new(crate::tui::source::LocalSource::new(core, caller));
    let r = crate::tui::run_on(source, false, home, None, greeting);
    if let Some(s) = ssh {
        s.stop();
    }
    stop.store(true, Ordering::Relaxed);
    let _ = sched.join();
    let _ = changer.join();
    if let Some(t) = control {
        let _ = t.join();
    }
    let h = home.root().display();
    let _ = writeln!(
        io.err,
        "demo home kept at {h}: 'strata --home {h} tui' reopens the console, 'strata --home {h} serve' keeps the schedules running"
    );
    r
}
