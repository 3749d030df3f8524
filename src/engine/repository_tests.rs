use super::*;
use crate::dest::local::LocalDest;

fn claim(id: &str, run: u64) -> Claim {
    Claim {
        format: REPO_FORMAT,
        backup: id.into(),
        task: "t".into(),
        run,
        started: chrono::DateTime::UNIX_EPOCH,
    }
}

#[test]
fn open_finds_what_open_or_init_created() {
    let dir = tempfile::tempdir().unwrap();
    let dest: Arc<dyn Destination> = Arc::new(LocalDest::new(dir.path()));
    assert!(matches!(
        Repository::open("d", dest.clone()),
        Err(EngineError::Dest(DestError::NotFound { .. }))
    ));
    let made = Repository::open_or_init("d", dest.clone()).unwrap();
    let again = Repository::open("d", dest).unwrap();
    assert_eq!(made.config(), again.config());
    assert_eq!(again.name(), "d");
}

#[test]
fn claims_release_only_their_own_directory() {
    let dir = tempfile::tempdir().unwrap();
    let r = Repository::attach("d", Arc::new(LocalDest::new(dir.path())));
    let mine = claim("b1", 1);
    assert_eq!(r.claim(&mine).unwrap(), ClaimOutcome::Claimed);
    assert_eq!(r.claim(&claim("b1", 2)).unwrap(), ClaimOutcome::Taken);
    r.put_stored_pack("b1", 0, b"pack").unwrap();
    assert!(r.owned_by(&mine).unwrap());
    assert!(!r.owned_by(&claim("b1", 2)).unwrap());
    assert!(!r.release(&claim("b1", 2)).unwrap());
    assert_eq!(r.list_backups().unwrap(), ["b1"]);
    assert!(r.release(&mine).unwrap());
    assert!(r.list_backups().unwrap().is_empty());
}

#[test]
fn discard_partial_removes_an_unclaimed_directory_of_an_earlier_release() {
    let dir = tempfile::tempdir().unwrap();
    let r = Repository::attach("d", Arc::new(LocalDest::new(dir.path())));
    r.put_manifest("b1", b"m").unwrap();
    let c = claim("b1", 1);
    assert!(r.owned_by(&c).unwrap(), "no claim and no commit: the run's");
    r.discard_partial(&c).unwrap();
    assert!(r.list_backups().unwrap().is_empty());
}

#[test]
fn delete_backup_removes_the_commit_marker_and_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let r = Repository::attach("d", Arc::new(LocalDest::new(dir.path())));
    r.put_stored_pack("b1", 0, b"pack").unwrap();
    r.put_commit("b1", b"{}").unwrap();
    r.retire("b1").unwrap();
    assert!(!dir.path().join("backups/b1/COMMIT").exists());
    assert!(dir.path().join("backups/b1/packs/000000.pack").exists());
    r.delete_backup("b1").unwrap();
    assert!(r.list_backups().unwrap().is_empty());
}
