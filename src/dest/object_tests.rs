use super::*;
use crate::dest::ErrorKind;
use object_store::memory::InMemory;

fn dest(prefix: &str) -> (Arc<InMemory>, ObjectDest) {
    let mem = Arc::new(InMemory::new());
    let d = ObjectDest::new(mem.clone(), prefix, "s3://b/p".into());
    (mem, d)
}

#[test]
fn the_destination_contract_holds_on_an_object_store() {
    for prefix in ["", "host1/strata"] {
        let (mem, d) = dest(prefix);
        d.put("backups/a/x", b"hello").unwrap();
        let e = d.put("backups/a/x", b"other").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Exists, "{e}");
        assert_eq!(d.get("backups/a/x").unwrap(), b"hello");
        assert_eq!(d.get_range("backups/a/x", 1, 3).unwrap(), b"ell");
        assert_eq!(d.get_range("backups/a/x", 5, 0).unwrap(), b"");
        assert!(d.get_range("backups/a/x", 3, 10).is_err());
        assert_eq!(d.size("backups/a/x").unwrap(), Some(5));
        assert_eq!(d.size("backups/a/none").unwrap(), None);
        assert_eq!(
            d.get("backups/a/none").unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            d.put("../escape", b"").unwrap_err().kind(),
            ErrorKind::BadKey
        );
        d.put("backups/b/y", b"").unwrap();
        d.put("backups/a/sub/z", b"z").unwrap();
        d.put("strata-repo.toml", b"v").unwrap();
        assert_eq!(d.list("backups").unwrap(), ["a", "b"]);
        assert_eq!(d.list("backups/a/").unwrap(), ["sub", "x"]);
        assert_eq!(d.list("").unwrap(), ["backups", "strata-repo.toml"]);
        assert!(d.list("nothing/here").unwrap().is_empty());
        d.delete("backups/b/y").unwrap();
        d.delete("backups/b/y").unwrap();
        d.delete_prefix("backups/a").unwrap();
        d.delete_prefix("backups/a").unwrap();
        assert!(d.list("backups").unwrap().is_empty());
        // The prefix is where the objects are, and nothing is outside it.
        let all: Vec<String> = runtime::run("t", async move {
            mem.list(None)
                .map_ok(|m| m.location.to_string())
                .try_collect::<Vec<_>>()
                .await
        })
        .unwrap()
        .unwrap();
        let want = if prefix.is_empty() {
            "strata-repo.toml".to_string()
        } else {
            format!("{prefix}/strata-repo.toml")
        };
        assert_eq!(all, [want]);
    }
}

#[test]
fn a_sibling_prefix_is_never_touched() {
    let (_, d) = dest("");
    d.put("backups/a/x", b"1").unwrap();
    d.put("backups/ab/x", b"2").unwrap();
    d.delete_prefix("backups/a").unwrap();
    assert_eq!(d.list("backups").unwrap(), ["ab"]);
}

fn boxed(msg: &str) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(std::io::Error::other(msg.to_string()))
}

#[test]
fn errors_are_classified_and_name_the_destination_operation_and_key() {
    use object_store::Error as E;
    let c = |e: E| classify("s3://b/p", "put", "backups/1/COMMIT", &e);
    let e = c(E::NotFound {
        path: "x".into(),
        source: boxed("no"),
    });
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = c(E::Precondition {
        path: "x".into(),
        source: boxed("412"),
    });
    assert_eq!(e.kind(), ErrorKind::Exists);
    let e = c(E::PermissionDenied {
        path: "x".into(),
        source: boxed(
            "Server returned non-2xx status code: 403 Forbidden: <Error><Code>SignatureDoesNotMatch</Code><StringToSign>AWS4 secret-ish</StringToSign></Error>",
        ),
    });
    assert_eq!(e.kind(), ErrorKind::Denied);
    let msg = e.to_string();
    assert!(msg.contains("s3://b/p") && msg.contains("put") && msg.contains("backups/1/COMMIT"));
    assert!(
        msg.contains("403 Forbidden (SignatureDoesNotMatch)"),
        "{msg}"
    );
    assert!(!msg.contains("secret-ish"), "{msg}");
    for (status, kind) in [
        ("503 Service Unavailable", ErrorKind::Transient),
        ("500 Internal Server Error", ErrorKind::Transient),
        ("429 Too Many Requests", ErrorKind::Transient),
        ("403 Forbidden", ErrorKind::Denied),
        ("400 Bad Request", ErrorKind::Permanent),
        ("409 Conflict", ErrorKind::Exists),
    ] {
        let e = c(E::Generic {
            store: "S3",
            source: boxed(&format!(
                "Error performing PUT http://h/b/k in 1ms - Server returned non-2xx status code: {status}: body"
            )),
        });
        assert_eq!(e.kind(), kind, "{status}: {e}");
    }
    let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    let e = c(E::Generic {
        store: "S3",
        source: Box::new(object_store::client::HttpError::new(
            object_store::client::HttpErrorKind::Connect,
            refused,
        )),
    });
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert!(e.to_string().contains("refused"), "{e}");
    let e = c(E::Generic {
        store: "S3",
        source: boxed("something odd"),
    });
    assert_eq!(e.kind(), ErrorKind::Permanent, "{e}");
}
