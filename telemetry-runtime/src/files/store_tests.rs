//! The state file and audit log under concurrent writers, crashes and corrupt files.

use super::*;
use crate::base::paths::LOCK_FILE;
use crate::files::lock::LOCK_TIMEOUT;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

fn today() -> Date {
    Date::new(2030, 4, 5).unwrap()
}

#[test]
fn missing_file_is_the_default_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path().join("conf"));
    assert_eq!(store.read().unwrap(), State::default());
    assert!(!dir.path().join("conf").exists(), "reading creates nothing");
}

#[test]
fn round_trips_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    let (_, new) = store
        .update(today(), How::Prompt, |s| {
            s.prompted = true;
            s.prompt_date = Some(today());
            s.last_sent = Some(today());
            s.decide(true, today())
        })
        .unwrap();
    assert_eq!(store.read().unwrap(), new);
    let text = fs::read_to_string(store.state_path()).unwrap();
    assert!(text.contains("prompt_date = \"2030-04-05\""), "{text}");
    // Dates only: no value holds a time (the header comment is not a value).
    let values: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(values.len(), 6, "{text}");
    assert!(values.iter().all(|l| !l.contains(':')), "no times: {text}");
}

#[cfg(unix)]
#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path().join("conf"));
    store
        .update(today(), How::Cli, |s| s.decide(true, today()))
        .unwrap();
    let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(store.state_path()), 0o600);
    assert_eq!(mode(store.audit_path()), 0o600);
    assert_eq!(mode(store.dir().to_owned()), 0o700);
}

#[test]
fn installation_id_only_once_consented() {
    let mut state = State::default();
    state.decide(false, today()).unwrap();
    assert_eq!(state.installation_id, None);
    state.decide(true, today()).unwrap();
    let id = state.installation_id.unwrap();
    assert_eq!(id.get_version_num(), 4);
    state.decide(false, today()).unwrap();
    state.decide(true, today()).unwrap();
    assert_eq!(state.installation_id, Some(id), "kept across decisions");
}

#[test]
fn one_audit_line_per_change_of_consent() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    store
        .update(today(), How::Cli, |s| s.decide(true, today()))
        .unwrap();
    store
        .update(today(), How::Cli, |s| s.decide(true, today()))
        .unwrap();
    store
        .update(today(), How::Api, |s| s.decide(false, today()))
        .unwrap();
    store
        .update(today(), How::Cli, |s| {
            s.prompted = true;
            Ok(())
        })
        .unwrap();
    store
        .update(today(), How::Reset, |s| {
            *s = State::default();
            Ok(())
        })
        .unwrap();
    assert_eq!(
        store.audit_lines().unwrap(),
        [
            "2030-04-05 unset -> enabled (cli)",
            "2030-04-05 enabled -> disabled (api)",
            "2030-04-05 disabled -> unset (reset)",
        ]
    );
}

#[test]
fn corrupt_file_is_set_aside_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    fs::write(store.state_path(), "garbage {{{").unwrap();
    assert!(matches!(
        store.read(),
        Err(StateError::Corrupt { kept_as: None })
    ));
    assert!(store.state_path().exists(), "read alone changes nothing");
    let err = store.read_or_set_aside(today()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the state file could not be read (kept as telemetry_state.toml.corrupt-2030-04-05)"
    );
    let kept = dir.path().join("telemetry_state.toml.corrupt-2030-04-05");
    assert_eq!(fs::read_to_string(&kept).unwrap(), "garbage {{{");
    // A second corrupt file gets its own name.
    fs::write(store.state_path(), "enabled = 'perhaps'").unwrap();
    store
        .update(today(), How::Cli, |s| s.decide(false, today()))
        .unwrap();
    let kept2 = dir.path().join("telemetry_state.toml.corrupt-2030-04-05-2");
    assert_eq!(fs::read_to_string(kept2).unwrap(), "enabled = 'perhaps'");
    assert_eq!(fs::read_to_string(kept).unwrap(), "garbage {{{");
    assert_eq!(store.read().unwrap().enabled, Some(false));
}

#[test]
fn concurrent_toggles_never_lose_or_tear_anything() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(StateStore::new(dir.path()));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                for i in 0..25 {
                    let on = (t + i) % 2 == 0;
                    store
                        .update(today(), How::Api, |s| s.decide(on, today()))
                        .unwrap();
                    store.read().expect("never a torn file");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_audit_chain_matches(&store);
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Every audit line starts where the previous one ended, and the last ends in the state.
pub(crate) fn assert_audit_chain_matches(store: &StateStore) {
    let lines = store.audit_lines().unwrap();
    let mut current = "unset".to_owned();
    for line in &lines {
        let words: Vec<_> = line.split(' ').collect();
        assert_eq!(words[1], current, "{lines:#?}");
        assert_eq!(words[2], "->");
        assert_ne!(words[1], words[3], "a line without a change: {line}");
        current = words[3].to_owned();
    }
    assert_eq!(store.read().unwrap().decision_word(), current);
}

#[test]
fn lock_timeout_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    let _held = Lock::acquire(dir.path()).unwrap();
    let start = Instant::now();
    let err = store.update(today(), How::Cli, |s| s.decide(true, today()));
    assert!(matches!(err, Err(StateError::Locked)));
    assert!(start.elapsed() < LOCK_TIMEOUT + Duration::from_secs(2));
}

#[test]
fn a_lock_file_left_by_a_crash_blocks_nobody_and_is_never_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    // What a crashed holder leaves: the file, but no OS lock (the OS released it).
    fs::write(dir.path().join(LOCK_FILE), "").unwrap();
    let start = Instant::now();
    store
        .update(today(), How::Cli, |s| s.decide(true, today()))
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(1), "no waiting");
    assert!(dir.path().join(LOCK_FILE).exists(), "never deleted by path");
    // Released when the holder goes away.
    drop(Lock::acquire(dir.path()).unwrap());
    let _again = Lock::acquire(dir.path()).unwrap();
}

#[test]
fn reading_never_waits_for_the_lock_nor_creates_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    fs::write(store.state_path(), "garbage {{{").unwrap();
    let held = Lock::acquire(dir.path()).unwrap();
    let start = Instant::now();
    assert!(matches!(
        store.read_or_set_aside(today()),
        Err(StateError::Locked)
    ));
    assert!(start.elapsed() < Duration::from_secs(1), "no waiting");
    assert!(store.state_path().exists(), "left for later");
    drop(held);
    fs::remove_file(dir.path().join(LOCK_FILE)).unwrap();
    assert!(store.read_or_set_aside(today()).is_err());
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["telemetry_state.toml.corrupt-2030-04-05"]);
}

#[test]
fn a_kept_corrupt_copy_decides_until_a_new_decision() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    fs::write(store.state_path(), "garbage {{{").unwrap();
    let first = store.read_or_set_aside(today()).unwrap_err().to_string();
    // The next run finds no state file, but still the kept copy.
    let next = store.read_or_set_aside(today()).unwrap_err().to_string();
    assert_eq!(first, next);
    store
        .update(today(), How::Cli, |s| {
            s.prompted = true;
            Ok(())
        })
        .unwrap();
    assert!(store.read_or_set_aside(today()).is_err(), "no decision yet");
    store
        .update(today(), How::Cli, |s| s.decide(false, today()))
        .unwrap();
    assert_eq!(
        store.read_or_set_aside(today()).unwrap().enabled,
        Some(false)
    );
    store.delete_corrupt_copies();
    assert!(store.corrupt_copies().is_empty());
}

#[test]
fn corrupt_copies_are_ordered_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    for name in ["2030-04-05-10", "2030-04-05-2", "2030-04-06", "2030-04-05"] {
        fs::write(dir.path().join(format!("{CORRUPT_PREFIX}{name}")), "").unwrap();
    }
    let names: Vec<_> = store
        .corrupt_copies()
        .into_iter()
        .map(|n| n[CORRUPT_PREFIX.len()..].to_owned())
        .collect();
    assert_eq!(
        names,
        ["2030-04-05", "2030-04-05-2", "2030-04-05-10", "2030-04-06"]
    );
}

#[test]
fn a_bad_installation_id_makes_the_file_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    fs::write(
        store.state_path(),
        "enabled = true\ninstallation_id = \"Jane Doe's laptop\"\n",
    )
    .unwrap();
    assert!(matches!(store.read(), Err(StateError::Corrupt { .. })));
    let id = "0b6c1a52-3b8e-4b8a-9c39-3f1f0f4e2a77";
    fs::write(store.state_path(), format!("installation_id = \"{id}\"\n")).unwrap();
    assert_eq!(
        store.read().unwrap().installation_id.unwrap().to_string(),
        id
    );
}

#[test]
fn reset_without_a_change_of_consent_writes_no_audit_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    store
        .update(today(), How::Prompt, |s| {
            s.prompted = true;
            Ok(())
        })
        .unwrap();
    store
        .update(today(), How::Reset, |s| {
            *s = State::default();
            Ok(())
        })
        .unwrap();
    assert!(store.audit_lines().unwrap().is_empty());
}

#[test]
fn a_failed_audit_line_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    fs::create_dir(store.audit_path()).unwrap(); // cannot be appended to
    let err = store.update(today(), How::Cli, |s| s.decide(true, today()));
    assert!(matches!(err, Err(StateError::Io(_))), "{err:?}");
    assert!(
        !store.state_path().exists(),
        "the decision is not half made"
    );
}

#[test]
fn a_failed_change_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    let err = store.update(today(), How::Cli, |s| {
        s.prompted = true;
        Err(StateError::NoRandomness)
    });
    assert!(matches!(err, Err(StateError::NoRandomness)));
    assert!(!store.state_path().exists());
}

#[test]
fn debug_never_shows_the_path() {
    let store = StateStore::new("/home/jane.doe/.config/acme");
    let text = format!("{store:?}");
    assert!(!text.contains("jane"), "{text}");
}
