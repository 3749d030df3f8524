//! The file browser tests' fixture: hand-made listings, keys that open a
//! browser on the hand-made catalog, and a real core in a temporary home.
#![allow(dead_code)]

use super::console_kit::*;
use strata::model::ListedEntry;
use strata::tui::browse::note_of;

pub fn entry(path: &str, kind: &str, size: u64, mode: u32, target: Option<&str>) -> ListedEntry {
    ListedEntry {
        path: path.into(),
        kind: kind.into(),
        size,
        mode,
        uid: 0,
        gid: 0,
        mtime: at(2026, 11, 19, 17, 45),
        target: target.map(Into::into),
    }
}

/// A small web server tree, in manifest (not display) order.
pub fn web_entries() -> Vec<ListedEntry> {
    vec![
        entry("srv", "dir", 0, 0o755, None),
        entry("srv/www", "dir", 0, 0o755, None),
        entry("srv/www/index.html", "file", 5_120, 0o644, None),
        entry("etc", "dir", 0, 0o755, None),
        entry("etc/nginx", "dir", 0, 0o755, None),
        entry("etc/nginx/nginx.conf", "file", 2_150, 0o644, None),
        entry("etc/nginx/sites", "dir", 0, 0o755, None),
        entry("etc/nginx/sites/default", "file", 880, 0o644, None),
        entry(
            "etc/nginx/current",
            "symlink",
            0,
            0o777,
            Some("sites/default"),
        ),
        entry("etc/nginx/mime.types", "file", 5_231, 0o644, None),
        entry("run.sh", "file", 310, 0o755, None),
        entry("README.md", "file", 12 * 1024, 0o644, None),
        entry("logs", "symlink", 0, 0o777, Some("/var/log/web")),
    ]
}

pub fn record(snap: &Snapshot, id: &str) -> BackupRecord {
    snap.backups
        .iter()
        .find(|b| b.record.id == id)
        .unwrap()
        .record
        .clone()
}

/// The console on the Backups view with `id` selected.
pub fn on_backup(snap: &Snapshot, id: &str) -> App {
    let mut app = admin();
    press(&mut app, snap, &[key('2')]);
    let row = app
        .backups(snap)
        .iter()
        .position(|b| b.record.id == id)
        .unwrap();
    for _ in 0..row {
        press(&mut app, snap, &[key('j')]);
    }
    app
}

pub fn list_of(id: &str) -> Action {
    Action::ListEntries {
        id: id.into(),
        path: None,
        recursive: true,
    }
}

/// Enter on `id` in the Backups view, and the core's answer arriving.
pub fn browsing(snap: &Snapshot, id: &str, entries: Vec<ListedEntry>) -> App {
    let mut app = on_backup(snap, id);
    assert_eq!(
        press(&mut app, snap, &[code(KeyCode::Enter)]),
        [act(list_of(id))]
    );
    app.receive(Note::Acted {
        action: list_of(id),
        result: Ok(Outcome::Entries {
            backup: Box::new(record(snap, id)),
            path: String::new(),
            entries,
        }),
    });
    app
}

pub fn screen(app: &App, snap: &Snapshot, w: u16, h: u16) -> String {
    screen_text(draw(app, snap, &theme("default"), w, h).backend().buffer())
}

/// The names of the browser's rows, `..` first.
pub fn rows_of_browser(app: &App) -> Vec<String> {
    let b = app.browser().unwrap();
    (0..b.rows())
        .map(|i| b.entry_at(i).map_or("..".into(), |e| e.name().to_string()))
        .collect()
}

/// The path of the selected row (`..` for the row going up).
pub fn selected_name(app: &App, snap: &Snapshot) -> String {
    app.browse_selected_path(snap)
        .unwrap_or_else(|| "..".into())
}

/// 100,000 entries: 100 directories of 998 files, and 100 files at the top.
pub fn big_listing() -> Vec<ListedEntry> {
    let mut v = Vec::with_capacity(100_000);
    for d in (0..100).rev() {
        v.push(entry(&format!("d{d:03}"), "dir", 0, 0o755, None));
        for f in 0..998 {
            v.push(entry(
                &format!("d{d:03}/f{f:04}.dat"),
                "file",
                f * 1000,
                0o644,
                None,
            ));
        }
        v.push(entry(&format!("top{d:03}.log"), "file", d, 0o600, None));
    }
    v
}

pub struct Kit {
    _dir: tempfile::TempDir,
    pub repo: PathBuf,
    pub root: PathBuf,
    pub source: LocalSource,
    pub app: App,
}

impl Kit {
    pub fn start() -> Kit {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("restores");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::write(
            dir.path().join("home/strata.toml"),
            format!("restore_roots = [{:?}]\n", root.display().to_string()),
        )
        .unwrap();
        let core = real_core(dir.path());
        Kit {
            repo: dir.path().join("repo"),
            root,
            source: LocalSource::new(core, admin_caller()),
            app: App::new(Role::Admin, Keymap::default()),
            _dir: dir,
        }
    }

    pub fn snap(&mut self) -> Snapshot {
        let s = self.source.snapshot().unwrap();
        self.app.follow(&s);
        s
    }

    /// Presses keys; returns what they asked for.
    pub fn keys(&mut self, keys: &[KeyEvent]) -> Vec<Request> {
        let snap = self.snap();
        press(&mut self.app, &snap, keys)
    }

    /// Runs one request as the console's worker does (the note it sends).
    pub fn work(&mut self, r: &Request) {
        let Request::Act(a) = r else { panic!("{r:?}") };
        let result = self
            .source
            .perform(a.clone())
            .map_err(|e| Failure::from(&e));
        self.app.receive(note_of(a.clone(), result));
    }
}

pub fn walk(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}
