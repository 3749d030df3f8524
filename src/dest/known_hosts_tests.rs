use super::*;
use proptest::prelude::*;

const KEY_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
const KEY_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

fn key(b64: &str) -> PublicKey {
    russh::keys::parse_public_key_base64(b64).unwrap()
}

#[test]
fn unknown_host_is_refused_with_its_fingerprint_then_recorded_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known_hosts");
    let e = verify(&file, "127.0.0.1", 2222, &key(KEY_A), false).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, HostKeyError::Unknown { .. }), "{msg}");
    let fp = key(KEY_A).fingerprint(HashAlg::Sha256).to_string();
    assert!(msg.contains("[127.0.0.1]:2222"), "{msg}");
    assert!(msg.contains("ssh-ed25519") && msg.contains(&fp), "{msg}");
    assert!(msg.contains("--accept-new-host-key"), "{msg}");
    assert!(!file.exists(), "nothing is recorded without the flag");

    verify(&file, "127.0.0.1", 2222, &key(KEY_A), true).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.trim_start()
            .starts_with("[127.0.0.1]:2222 ssh-ed25519 "),
        "{text}"
    );
    verify(&file, "127.0.0.1", 2222, &key(KEY_A), false).unwrap();
    // Another port is another host.
    assert!(verify(&file, "127.0.0.1", 2223, &key(KEY_A), false).is_err());
}

#[test]
fn a_changed_key_is_refused_even_with_accept_new_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known_hosts");
    std::fs::write(
        &file,
        format!("# comment\nsrv.example ssh-ed25519 {KEY_A}\n"),
    )
    .unwrap();
    let before = std::fs::read(&file).unwrap();
    for accept in [false, true] {
        let e = verify(&file, "srv.example", 22, &key(KEY_B), accept).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, HostKeyError::Changed { .. }), "{msg}");
        assert!(msg.contains("host key for srv.example changed"), "{msg}");
        assert!(msg.contains("man-in-the-middle"), "{msg}");
    }
    assert_eq!(std::fs::read(&file).unwrap(), before);
    verify(&file, "srv.example", 22, &key(KEY_A), false).unwrap();
}

#[test]
fn hashed_entries_written_by_ssh_keygen_are_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known_hosts");
    std::fs::write(&file, format!("[127.0.0.1]:2222 ssh-ed25519 {KEY_A}\n")).unwrap();
    let hashed = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&file)
        .output();
    match hashed {
        Ok(out) if out.status.success() => {}
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "ssh-keygen (openssh-client) is required under CI"
            );
            eprintln!("SKIPPED hashed known_hosts test: install openssh-client");
            return;
        }
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("|1|"), "{text}");
    verify(&file, "127.0.0.1", 2222, &key(KEY_A), false).unwrap();
    assert!(matches!(
        verify(&file, "127.0.0.1", 2222, &key(KEY_B), false),
        Err(HostKeyError::Changed { .. })
    ));
}

proptest! {
    /// Whatever the file holds, checking a key against it answers (accept or
    /// refuse) and never panics.
    #[test]
    fn any_known_hosts_content_never_panics(content in proptest::collection::vec(any::<u8>(), 0..400),
                                            line in "[ -~|]{0,120}") {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_hosts");
        let mut bytes = content;
        bytes.extend_from_slice(b"\n");
        bytes.extend_from_slice(line.as_bytes());
        std::fs::write(&file, &bytes).unwrap();
        let _ = verify(&file, "127.0.0.1", 2222, &key(KEY_A), false);
        let _ = verify(&file, "h", 22, &key(KEY_B), false);
    }
}
