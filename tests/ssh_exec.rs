//! SSH exec requests through the real OpenSSH client against a real
//! `strata serve` on a loopback port: commands run with the key's role, exit
//! codes come back as the SSH exit status, keys apply without a restart,
//! limits refuse with a message, and logins and refusals land in the audit log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

mod common;

use common::sshkit::{keygen, serve, skip_without_ssh, ssh, ssh_cmd};
use common::{Strata, id_of};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

struct Keys {
    admin: PathBuf,
    operator: PathBuf,
    viewer: PathBuf,
    stranger: PathBuf,
}

/// A home with one task, one full backup and three authorized keys.
fn setup(s: &Strata) -> (Keys, String) {
    common::write(&s.path("src/a.txt"), b"alpha\n");
    common::write(
        &s.path("src/dir/b.bin"),
        &common::Rng::new(7).bytes(100_000),
    );
    s.setup("d", "t", &s.path("src"), &[]);
    let id = id_of(&s.backup("t", "full")).to_string();
    let keys_dir = s.path("keys");
    std::fs::create_dir_all(&keys_dir).unwrap();
    let keys = Keys {
        admin: keygen(&keys_dir, "adm"),
        operator: keygen(&keys_dir, "op"),
        viewer: keygen(&keys_dir, "vw"),
        stranger: keygen(&keys_dir, "stranger"),
    };
    for (k, role, name) in [
        (&keys.admin, "admin", "ada"),
        (&keys.operator, "operator", "otto"),
        (&keys.viewer, "viewer", "vera"),
    ] {
        let public = k.with_extension("pub");
        s.ok(&[
            "keys",
            "add",
            public.to_str().unwrap(),
            "--role",
            role,
            "--name",
            name,
        ]);
    }
    (keys, id)
}

/// The audit log, oldest first.
fn audit(s: &Strata) -> Vec<Value> {
    s.json(&["audit", "--reverse"])
        .as_array()
        .expect("audit is a list")
        .clone()
}

/// Polls the audit log until an entry matches (some are written as the
/// connection closes, just after the client has exited).
fn wait_audit(s: &Strata, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = audit(s);
        if let Some(e) = all.iter().find(|e| ok(e)) {
            return e.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no audit entry for {what}: {all:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn public(k: &Path) -> String {
    std::fs::read_to_string(k.with_extension("pub")).unwrap()
}

#[test]
fn exec_runs_one_command_with_the_keys_role_and_audits_it() {
    if skip_without_ssh("exec_runs_one_command_with_the_keys_role_and_audits_it") {
        return;
    }
    let s = Strata::new();
    let (k, id) = setup(&s);
    let d = serve(&s);
    let p = d.port;

    // A listing is valid JSON, as from the local CLI.
    let (code, out, err) = ssh(&s, p, &k.viewer, &["strata", "backup", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let list: Value = serde_json::from_str(&out).expect("backup list over ssh is JSON");
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id.as_str());

    // Usage errors exit 2; no shell, no home switching.
    let (code, _, err) = ssh(&s, p, &k.viewer, &["strata", "frobnicate"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = ssh(
        &s,
        p,
        &k.admin,
        &["strata", "--home", "/tmp", "task", "list"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--home cannot be used over SSH"), "{err}");
    let (code, _, err) = ssh(&s, p, &k.viewer, &["-T"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no shell"), "{err}");

    // No forwarding of any kind: a remote forward is refused.
    let (code, _, err) = ssh(
        &s,
        p,
        &k.admin,
        &[
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            "0:127.0.0.1:9",
            "strata",
            "task",
            "list",
        ],
    );
    assert_eq!(code, 255, "{err}");
    assert!(err.contains("forwarding failed"), "{err}");
    let (code, out, err) = ssh(&s, p, &k.admin, &["-X", "-A", "strata", "task", "list"]);
    assert_eq!(
        code, 0,
        "X11/agent requests are declined, the command still runs: {err}"
    );
    assert!(out.contains('t'));

    // A viewer's delete is refused (4) and audited with the key's name.
    let (code, _, err) = ssh(&s, p, &k.viewer, &["strata", "backup", "delete", &id]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("requires the admin role"), "{err}");
    // --role only lowers.
    let (code, _, _) = ssh(
        &s,
        p,
        &k.viewer,
        &["strata", "--role", "admin", "backup", "delete", &id],
    );
    assert_eq!(code, 4);
    let (code, _, _) = ssh(
        &s,
        p,
        &k.operator,
        &["strata", "--role", "viewer", "backup", "run", "t"],
    );
    assert_eq!(code, 4);
    let e = wait_audit(&s, "vera's refused delete", |e| {
        e["action"] == "backup delete" && e["who"] == "vera"
    });
    assert!(e["outcome"].as_str().unwrap().starts_with("refused"), "{e}");
    assert!(
        e["origin"].as_str().unwrap().starts_with("ssh 127.0.0.1"),
        "{e}"
    );
    assert_eq!(s.backups().len(), 1, "nothing was deleted");

    // An operator runs a backup; it is audited as otto's.
    let (code, out, err) = ssh(
        &s,
        p,
        &k.operator,
        &["strata", "backup", "run", "t", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let run: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["backup"]["status"], "complete");
    wait_audit(&s, "otto's backup", |e| {
        e["action"] == "backup run" && e["who"] == "otto" && e["outcome"] == "ok"
    });
    wait_audit(&s, "otto's login", |e| {
        e["action"] == "ssh login" && e["who"] == "otto" && e["outcome"] == "ok"
    });

    // An unknown key is refused by ssh (255) and audited by fingerprint.
    let (code, _, err) = ssh(&s, p, &k.stranger, &["strata", "backup", "list"]);
    assert_eq!(code, 255, "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    wait_audit(&s, "the stranger's refused login", |e| {
        e["action"] == "ssh login"
            && e["who"] == "unknown key"
            && e["outcome"].as_str().unwrap_or("").starts_with("refused")
    });

    // Keys are an admin matter, and changes apply without a restart.
    let (code, _, _) = ssh(&s, p, &k.operator, &["strata", "keys", "list"]);
    assert_eq!(code, 4);
    let stranger_pub = public(&k.stranger);
    let (code, _, err) = ssh(
        &s,
        p,
        &k.admin,
        &[
            "strata",
            "keys",
            "add",
            "--key",
            &format!("'{}'", stranger_pub.trim()),
            "--role",
            "viewer",
            "--name",
            "late",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = ssh(&s, p, &k.stranger, &["strata", "task", "list"]);
    assert_eq!(code, 0, "the new key works at once: {err}");
    let (code, _, err) = ssh(&s, p, &k.admin, &["strata", "keys", "remove", "late"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = ssh(&s, p, &k.stranger, &["strata", "task", "list"]);
    assert_eq!(code, 255, "a removed key is refused at once");
    let (code, _, _) = ssh(&s, p, &k.admin, &["strata", "keys", "remove", "late"]);
    assert_eq!(code, 3, "removing an unknown key is 'not found'");
}

#[test]
fn host_key_is_private_stable_and_shown_by_info() {
    if skip_without_ssh("host_key_is_private_stable_and_shown_by_info") {
        return;
    }
    let s = Strata::new();
    let (k, _) = setup(&s);
    let fp = {
        let d = serve(&s);
        let (code, _, err) = ssh(&s, d.port, &k.viewer, &["strata", "task", "list"]);
        assert_eq!(code, 0, "{err}");
        let info = s.json(&["info"]);
        info["host_key_fingerprint"]
            .as_str()
            .expect("fingerprint")
            .to_string()
    };
    let key = s.home().join("ssh_host_ed25519_key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "host key must be owner-only");
    let shown = std::process::Command::new("ssh-keygen")
        .arg("-lf")
        .arg(key.with_extension("pub"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains(&fp), "{fp}");
    // A restart keeps the key: strict host checking against the recorded key passes.
    let d = serve(&s);
    let out = ssh_cmd(&s, d.port, &k.viewer)
        .args([
            "-o",
            "StrictHostKeyChecking=yes",
            "ops@127.0.0.1",
            "strata",
            "info",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&fp),
        "info over ssh shows the fingerprint: {text}"
    );
}

#[test]
fn session_limit_refuses_new_logins_with_a_message() {
    if skip_without_ssh("session_limit_refuses_new_logins_with_a_message") {
        return;
    }
    let s = Strata::new();
    let (k, _) = setup(&s);
    std::fs::write(s.home().join("strata.toml"), "[ssh]\nmax_sessions = 1\n").unwrap();
    let d = serve(&s);
    // A console session holds the only slot (stdin stays open, so it lasts).
    let mut first = ssh_cmd(&s, d.port, &k.operator)
        .args(["-tt", "ops@127.0.0.1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_audit(&s, "the console login", |e| {
        e["action"] == "ssh login" && e["who"] == "otto" && e["outcome"] == "ok"
    });
    let (code, _, err) = ssh(&s, d.port, &k.viewer, &["strata", "task", "list"]);
    assert_eq!(code, 255, "{err}");
    assert!(err.contains("too many sessions"), "{err}");
    wait_audit(&s, "the refused login", |e| {
        e["who"] == "vera" && e["outcome"].as_str().unwrap_or("").contains("limit is 1")
    });
    let _ = first.kill();
    let _ = first.wait();
    // The slot frees when the console's connection ends.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, _, err) = ssh(&s, d.port, &k.viewer, &["strata", "task", "list"]);
        if code == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "slot never freed: {err}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn limits_and_edges_behave_as_openssh_users_expect() {
    if skip_without_ssh("limits_and_edges_behave_as_openssh_users_expect") {
        return;
    }
    let s = Strata::new();
    let (k, _) = setup(&s);
    std::fs::write(
        s.home().join("strata.toml"),
        "[ssh]\nmax_auth_attempts = 2\nidle_timeout = \"3s\"\n",
    )
    .unwrap();
    // A typo in --listen is a usage error, not "busy".
    for bad in ["bogus", "127.0.0.1:99999"] {
        let (code, _, err) = s.run(&["serve", "--listen", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("--listen"), "{err}");
    }
    let d = serve(&s);
    let p = d.port;

    // max_auth_attempts = 2 means two keys may be tried, as in OpenSSH.
    let out = ssh_cmd(&s, p, &k.stranger)
        .arg("-i")
        .arg(&k.viewer)
        .args(["ops@127.0.0.1", "strata", "task", "list"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // With -t the client's terminal is raw: output lines end in CRLF.
    let (code, out, err) = ssh(&s, p, &k.viewer, &["-tt", "strata", "task", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("NAME") && out.contains("\r\n"), "{out:?}");

    // A viewer may not make the server read a file, even for a dry run.
    let (code, _, err) = ssh(
        &s,
        p,
        &k.viewer,
        &["strata", "apply", "-f", "/etc/hostname", "--dry-run"],
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("admin"), "{err}");
    wait_audit(&s, "the refused file read", |e| {
        e["who"] == "vera" && e["action"] == "read a server file"
    });

    // A connection that runs nothing does not keep a session slot.
    let start = Instant::now();
    let out = ssh_cmd(&s, p, &k.viewer)
        .args(["-N", "ops@127.0.0.1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "ssh -N was never closed"
    );
    assert!(!out.status.success());

    // A hand-edited line Strata cannot honour refuses everyone, and says why.
    let keys = s.home().join("authorized_keys");
    let text = std::fs::read_to_string(&keys).unwrap();
    std::fs::write(
        &keys,
        format!(
            "{text}from=\"10.0.0.1\",role=admin,name=x {}",
            public(&k.stranger)
        ),
    )
    .unwrap();
    let (code, _, _) = ssh(&s, p, &k.viewer, &["strata", "task", "list"]);
    assert_eq!(code, 255);
    wait_audit(&s, "the invalid keys file", |e| {
        e["outcome"]
            .as_str()
            .unwrap_or("")
            .contains("authorized_keys is invalid")
    });
}

#[test]
fn ssh_t_with_tui_opens_the_console() {
    if skip_without_ssh("ssh_t_with_tui_opens_the_console") {
        return;
    }
    use std::io::{Read, Write};
    let s = Strata::new();
    let (k, _) = setup(&s);
    let d = serve(&s);
    let mut child = ssh_cmd(&s, d.port, &k.viewer)
        .args(["-tt", "ops@127.0.0.1", "strata", "tui"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&seen.lock().unwrap()).contains("Tasks") {
        assert!(Instant::now() < deadline, "no console drawn");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.stdin.as_mut().unwrap().write_all(b"q").unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    assert!(status.success(), "q ends the console with 0");
    let all = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    assert!(all.contains("\x1b[?1049l"), "the alternate screen is left");
}

#[test]
fn serve_and_demo_refused_over_ssh_are_audited_with_the_keys_name() {
    if skip_without_ssh("serve_and_demo_refused_over_ssh_are_audited_with_the_keys_name") {
        return;
    }
    let s = Strata::new();
    let (k, _) = setup(&s);
    let d = serve(&s);
    for (key, who, cmd) in [(&k.admin, "ada", "serve"), (&k.viewer, "vera", "demo")] {
        let (code, _, err) = ssh(&s, d.port, key, &["strata", cmd]);
        assert_eq!(code, 4, "{cmd}: {err}");
        assert!(err.contains("already serves"), "{err}");
        let e = wait_audit(&s, cmd, |e| e["action"] == cmd && e["who"] == who);
        assert!(
            e["outcome"].as_str().unwrap_or("").contains("refused"),
            "{e}"
        );
    }
}
