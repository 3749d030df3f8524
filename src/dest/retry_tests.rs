use super::*;
use crate::dest::{ErrorKind, Failure};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What the flaky destination does on its next calls.
#[derive(Clone, Copy)]
enum Fault {
    /// Fails transiently without doing anything.
    Drop,
    /// Does the operation, then reports a transient failure (a lost reply).
    LoseReply,
    /// Fails for good.
    Deny,
}

/// An in-memory destination that fails as scripted.
#[derive(Default)]
struct Flaky {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    faults: Mutex<Vec<Fault>>,
    calls: Mutex<u32>,
}

impl Flaky {
    fn scripted(faults: &[Fault]) -> Arc<Flaky> {
        let f = Flaky::default();
        *f.faults.lock().unwrap() = faults.iter().rev().copied().collect();
        Arc::new(f)
    }

    fn failure(&self, kind: std::io::ErrorKind) -> DestError {
        DestError::io(
            self.describe(),
            "test",
            "x".into(),
            std::io::Error::from(kind),
        )
    }

    /// Applies the next fault around `op`.
    fn call<T>(&self, op: impl FnOnce() -> Result<T, DestError>) -> Result<T, DestError> {
        *self.calls.lock().unwrap() += 1;
        let fault = self.faults.lock().unwrap().pop();
        match fault {
            None => op(),
            Some(Fault::Drop) => Err(self.failure(std::io::ErrorKind::TimedOut)),
            Some(Fault::LoseReply) => {
                op()?;
                Err(self.failure(std::io::ErrorKind::ConnectionReset))
            }
            Some(Fault::Deny) => Err(self.failure(std::io::ErrorKind::PermissionDenied)),
        }
    }

    fn calls(&self) -> u32 {
        *self.calls.lock().unwrap()
    }
}

impl Destination for Flaky {
    fn describe(&self) -> String {
        "flaky:".into()
    }
    fn put(&self, key: &str, data: &[u8]) -> Result<(), DestError> {
        self.call(|| {
            let mut objects = self.objects.lock().unwrap();
            if objects.contains_key(key) {
                return Err(DestError::Exists {
                    dest: self.describe(),
                    key: key.into(),
                });
            }
            objects.insert(key.into(), data.to_vec());
            Ok(())
        })
    }
    fn get(&self, key: &str) -> Result<Vec<u8>, DestError> {
        self.call(|| {
            self.objects
                .lock()
                .unwrap()
                .get(key)
                .cloned()
                .ok_or(DestError::NotFound {
                    dest: self.describe(),
                    key: key.into(),
                })
        })
    }
    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>, DestError> {
        let all = self.get(key)?;
        Ok(all[offset as usize..(offset + len) as usize].to_vec())
    }
    fn size(&self, key: &str) -> Result<Option<u64>, DestError> {
        self.call(|| {
            Ok(self
                .objects
                .lock()
                .unwrap()
                .get(key)
                .map(|o| o.len() as u64))
        })
    }
    fn list(&self, _prefix: &str) -> Result<Vec<String>, DestError> {
        self.call(|| Ok(self.objects.lock().unwrap().keys().cloned().collect()))
    }
    fn delete(&self, key: &str) -> Result<(), DestError> {
        self.call(|| {
            self.objects.lock().unwrap().remove(key);
            Ok(())
        })
    }
    fn delete_prefix(&self, _prefix: &str) -> Result<(), DestError> {
        self.call(|| Ok(()))
    }
}

/// A retry wrapper that records its pauses instead of sleeping.
fn wrap(inner: Arc<Flaky>) -> (Retry, Arc<Mutex<Vec<Duration>>>) {
    let pauses = Arc::new(Mutex::new(Vec::new()));
    let seen = pauses.clone();
    let backoff = Backoff {
        attempts: 4,
        base: Duration::from_millis(100),
        cap: Duration::from_millis(250),
    };
    let sleep: Sleeper = Arc::new(move |d| seen.lock().unwrap().push(d));
    (Retry::with(inner, backoff, sleep), pauses)
}

#[test]
fn transient_failures_are_retried_with_bounded_jittered_pauses() {
    let flaky = Flaky::scripted(&[Fault::Drop, Fault::Drop, Fault::Drop]);
    let (d, pauses) = wrap(flaky.clone());
    d.put("k", b"v").unwrap();
    assert_eq!(flaky.calls(), 4);
    let pauses = pauses.lock().unwrap();
    let ceilings = [100, 200, 250];
    assert_eq!(pauses.len(), 3);
    for (p, c) in pauses.iter().zip(ceilings) {
        assert!(*p <= Duration::from_millis(c), "{p:?} > {c} ms");
    }
    assert_eq!(d.get("k").unwrap(), b"v");
}

#[test]
fn attempts_are_bounded() {
    let flaky = Flaky::scripted(&[Fault::Drop; 6]);
    let (d, pauses) = wrap(flaky.clone());
    let e = d.get("k").unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert_eq!(flaky.calls(), 4);
    assert_eq!(pauses.lock().unwrap().len(), 3);
}

#[test]
fn permanent_failures_and_missing_objects_are_not_retried() {
    let flaky = Flaky::scripted(&[Fault::Deny]);
    let (d, pauses) = wrap(flaky.clone());
    assert_eq!(d.get("k").unwrap_err().kind(), ErrorKind::Denied);
    assert_eq!(d.get("k").unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(flaky.calls(), 2);
    assert!(pauses.lock().unwrap().is_empty());
}

#[test]
fn a_put_whose_lost_reply_landed_is_a_success() {
    let flaky = Flaky::scripted(&[Fault::LoseReply]);
    let (d, _) = wrap(flaky.clone());
    d.put("CLAIM", b"mine").unwrap();
    assert_eq!(d.get("CLAIM").unwrap(), b"mine");
}

#[test]
fn a_retried_put_finding_other_bytes_is_exists() {
    // The first try fails before writing; meanwhile another writer wins the key.
    let flaky = Flaky::scripted(&[Fault::Drop]);
    flaky
        .objects
        .lock()
        .unwrap()
        .insert("CLAIM".into(), b"theirs".to_vec());
    let (d, _) = wrap(flaky.clone());
    assert_eq!(
        d.put("CLAIM", b"mine").unwrap_err().kind(),
        ErrorKind::Exists
    );
    assert_eq!(d.get("CLAIM").unwrap(), b"theirs");
}

#[test]
fn a_first_put_finding_the_key_is_exists_even_with_equal_bytes() {
    // Nothing of ours can have landed before the first try.
    let flaky = Flaky::scripted(&[]);
    flaky
        .objects
        .lock()
        .unwrap()
        .insert("CLAIM".into(), b"same".to_vec());
    let (d, _) = wrap(flaky);
    assert_eq!(
        d.put("CLAIM", b"same").unwrap_err().kind(),
        ErrorKind::Exists
    );
}

#[test]
fn io_errors_are_classified() {
    use std::io::ErrorKind as K;
    let kind = |k| DestError::io("d".into(), "read", "p".into(), std::io::Error::from(k)).kind();
    assert_eq!(kind(K::PermissionDenied), ErrorKind::Denied);
    assert_eq!(kind(K::TimedOut), ErrorKind::Transient);
    assert_eq!(kind(K::Interrupted), ErrorKind::Transient);
    assert_eq!(kind(K::ConnectionReset), ErrorKind::Transient);
    assert_eq!(kind(K::WouldBlock), ErrorKind::Transient);
    assert_eq!(kind(K::StorageFull), ErrorKind::Permanent);
    assert_eq!(kind(K::NotADirectory), ErrorKind::Permanent);
    let e = DestError::Permanent(Failure {
        dest: "local:/r".into(),
        op: "read",
        at: "/r/x".into(),
        source: std::io::Error::other("boom"),
    });
    assert_eq!(
        e.to_string(),
        "local:/r: read /r/x failed: boom; check the path, its permissions and free space"
    );
}
