//! Shared by the encryption tests: a marked source tree and an encrypted
//! destination, commands run with exactly the passphrase environment given,
//! and a search of every byte of a directory.

use super::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Written into names and contents; must never be found in a repository.
pub const MARK: &str = "ZEBRAMARK-41c9";
/// Written into hook commands; must never be found in a repository.
pub const HOOK: &str = "HOOKMARK-93d1";
/// The passphrase of the destination `setup` makes.
pub const PASS: &str = "correct horse battery staple";

/// A private passphrase file holding `pass`.
pub fn pass_file(s: &Strata, name: &str, pass: &str) -> PathBuf {
    let p = s.path(name);
    std::fs::write(&p, format!("{pass}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

/// Runs strata with exactly `env` added (and no STRATA_PASSPHRASE unless given).
pub fn run_env(s: &Strata, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--home")
        .arg(s.home())
        .args(args)
        .env_remove("STRATA_HOME")
        .env_remove("STRATA_LOG")
        .env_remove("STRATA_PASSPHRASE")
        .env_remove("STRATA_NEW_PASSPHRASE")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn ok_env(s: &Strata, env: &[(&str, &str)], args: &[&str]) -> String {
    let (code, out, err) = run_env(s, env, args);
    assert_eq!(code, 0, "strata {args:?} exited {code}\n{out}\n{err}");
    out
}

/// Every file under `dir` whose name or bytes contain `needle`.
pub fn grep_all(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.as_bytes().windows(needle.len()).any(|w| w == needle) {
                hits.push(format!("name {}", p.display()));
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(format!("content {}", p.display()));
                }
            }
        }
    }
    hits
}

/// Source tree with the marker in names and contents; an encrypted
/// destination `e` (passphrase file) and tasks `files` (with hooks) and
/// `dump` (a command source) applied from TOML.
pub fn setup(s: &Strata) -> (PathBuf, PathBuf, PathBuf) {
    let src = s.path("src");
    write(
        &src.join(format!("dir-{MARK}/notes-{MARK}.txt")),
        MARK.repeat(3000).as_bytes(),
    );
    write(&src.join("big.bin"), &Rng::new(7).bytes(3 << 20));
    let pf = pass_file(s, "pass", PASS);
    let repo = s.path("repo");
    let toml = format!(
        r#"
[[destination]]
name = "e"
kind = "local"
path = "{repo}"
encryption = {{ passphrase_file = "{pf}" }}

[[task]]
name = "files"
source = {{ kind = "dir", path = "{src}" }}
destinations = ["e"]
hooks = {{ before = "echo {HOOK}-before", after = "echo {HOOK}-after" }}

[[task]]
name = "dump"
source = {{ kind = "command", dump = "printf {MARK}-stream-{MARK}", restore = "cat > {{target}}" }}
destinations = ["e"]
"#,
        repo = repo.display(),
        pf = pf.display(),
        src = src.display()
    );
    let f = s.path("strata.toml");
    std::fs::write(&f, toml).unwrap();
    s.ok(&["apply", "-f", f.to_str().unwrap()]);
    (src, repo, pf)
}
