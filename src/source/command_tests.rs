use super::*;
use proptest::prelude::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn shell_only_when_needed() {
    assert_eq!(
        invocation("pg_dump -Fc app", None).unwrap(),
        Invocation::Direct(vec!["pg_dump".into(), "-Fc".into(), "app".into()])
    );
    for c in [
        "a | b", "a > f", "a && b", "echo $X", "a --x=1", "echo 'q'", "ls *", "a\nb",
    ] {
        assert!(
            matches!(invocation(c, None).unwrap(), Invocation::Shell(_)),
            "{c}"
        );
    }
    assert!(invocation("   ", None).is_err());
}

#[test]
fn target_is_one_argument_or_quoted() {
    let t = "x; rm -rf /";
    assert_eq!(
        invocation("createdb {target}", Some(t)).unwrap(),
        Invocation::Direct(vec!["createdb".into(), t.into()])
    );
    let Invocation::Shell(s) = invocation("createdb {target} && echo ok", Some(t)).unwrap() else {
        panic!("a shell command")
    };
    assert_eq!(s, "createdb 'x; rm -rf /' && echo ok");
}

fn word() -> impl Strategy<Value = String> {
    // Anything but whitespace and the shell characters.
    proptest::string::string_regex("[A-Za-z0-9_./,:+@{}^!-]{1,12}").unwrap()
}

proptest! {
    #[test]
    fn plain_words_run_without_a_shell(words in proptest::collection::vec(word(), 1..6), sep in "[ \t]{1,3}") {
        let cmd = words.join(&sep);
        prop_assert_eq!(invocation(&cmd, None).unwrap(), Invocation::Direct(words.clone()));
    }

    #[test]
    fn any_shell_character_means_sh(a in word(), b in word(), i in 0usize..SHELL_CHARS.len()) {
        let c = SHELL_CHARS.chars().nth(i).unwrap();
        let cmd = format!("{a}{c}{b}");
        prop_assert_eq!(invocation(&cmd, None).unwrap(), Invocation::Shell(cmd.clone()));
    }

    #[test]
    fn shell_target_round_trips(t in "[^\u{0}]{0,20}") {
        let Invocation::Shell(s) = invocation("printf %s {target}", Some(&t)).unwrap() else {
            panic!("a shell command")
        };
        let out = std::process::Command::new("sh").arg("-c").arg(&s).output().unwrap();
        prop_assert_eq!(String::from_utf8_lossy(&out.stdout), t);
    }
}

#[test]
fn timeouts_parse() {
    assert_eq!(parse_timeout("90m").unwrap(), Duration::from_secs(5400));
    assert_eq!(parse_timeout("2s").unwrap(), Duration::from_secs(2));
    assert!(parse_timeout("2").is_err());
    assert!(parse_timeout("0s").is_err());
    assert!(parse_timeout("1w").is_err());
}

#[test]
fn env_file_private_and_parsed() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("env");
    std::fs::write(&f, "# c\nexport A=1\nB=\"two words\"\n\nC='x=y'\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(
        read_env_file(&f)
            .unwrap_err()
            .contains("readable by others")
    );
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    let env = read_env_file(&f).unwrap();
    assert_eq!(
        env,
        vec![
            ("A".into(), "1".into()),
            ("B".into(), "two words".into()),
            ("C".into(), "x=y".into())
        ]
    );
    std::fs::write(&f, "SECRET\n").unwrap();
    let e = read_env_file(&f).unwrap_err();
    assert!(e.contains("line 1"), "{e}");
}

fn read_all(src: &CommandSource) -> (Vec<u8>, Result<SourceReport, SourceError>) {
    let mut run = src.begin().unwrap();
    let l = run.entries().unwrap();
    let mut out = Vec::new();
    run.open(&l.entries[0])
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    (out, run.finish())
}

#[test]
fn dump_streams_and_failures_carry_stderr() {
    let ok = CommandSource::new("printf hello", None, None);
    let (out, r) = read_all(&ok);
    assert_eq!(out, b"hello");
    assert!(r.is_ok());
    let bad = CommandSource::new("sh -c 'printf part; echo boom >&2; exit 3'", None, None);
    let (out, r) = read_all(&bad);
    assert_eq!(out, b"part");
    let e = r.unwrap_err().to_string();
    assert!(e.contains("status 3") && e.contains("boom"), "{e}");
    let slow = CommandSource::new("sleep 30", Some("1s"), None);
    let t0 = std::time::Instant::now();
    let (_, r) = read_all(&slow);
    assert!(r.unwrap_err().to_string().contains("timed out"));
    assert!(t0.elapsed() < Duration::from_secs(20));
}

#[test]
fn env_values_are_masked_in_the_stderr_tail() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("env");
    std::fs::write(&f, "PW=hunter2-secret\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    let src = CommandSource::new(
        "sh -c 'echo \"auth failed for $PW\" >&2; exit 1'",
        None,
        Some(&f),
    );
    let (_, r) = read_all(&src);
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains("auth failed for ***") && !e.contains("hunter2"),
        "{e}"
    );
}
