//! `strata demo`: a self-contained tour on an embedded default. It makes a demo
//! home with sample data, a destination and a task, takes a full and an
//! incremental backup, and prints the backup table and what to try next.

use super::exec::Io;
use super::{BackupCmd, Cli, Command};
use crate::core::home::Home;
use crate::core::model::{
    DestinationConfig, DestinationKind, RetentionPolicy, SourceConfig, TaskConfig,
};
use crate::core::{Core, CoreError};
use crate::engine::progress::Progress;
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
    {
        let core = Core::open(Home::at(&root), "strata demo")?;
        core.add_destination(DestinationConfig {
            name: "demo-local".into(),
            kind: DestinationKind::Local {
                path: root.join("repository"),
            },
            repo_id: None,
        })?;
        core.add_task(TaskConfig {
            name: "demo-files".into(),
            source: SourceConfig::Dir {
                path: data.clone(),
                exclude: vec!["*.tmp".into()],
            },
            destinations: vec!["demo-local".into()],
            full: Some("0 3 * * 0".into()),
            incremental: Some("0 * * * *".into()),
            differential: None,
            timezone: None,
            catch_up: Default::default(),
            retention: RetentionPolicy {
                keep_within: Some("14d".into()),
                keep_last_full: Some(2),
                ..Default::default()
            },
            hooks: Default::default(),
            compression_level: 3,
            paused: false,
            created: chrono::Utc::now(),
        })?;
        let p = Progress::default();
        let full = core.run_backup("demo-files", crate::core::model::BackupKind::Full, true, &p)?;
        let _ = writeln!(io.err, "took full backup {}", full.backup.id);
        mutate_sample(&data).map_err(|e| fail("change sample data in", &data, e))?;
        let inc = core.run_backup(
            "demo-files",
            crate::core::model::BackupKind::Incremental,
            true,
            &p,
        )?;
        let _ = writeln!(
            io.err,
            "changed a few files, took incremental backup {}",
            inc.backup.id
        );
    }
    let code = super::exec::execute(
        Cli {
            role: None,
            home: Some(root.clone()),
            json,
            command: Command::Backup(BackupCmd::List {
                task: None,
                chain: true,
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
