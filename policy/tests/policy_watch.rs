//! Live reload: policy files edited while the app runs take effect without a restart.
//! Waits are for events with a generous deadline, never timing assertions.

use houmon_policy::resolve::{PolicyEngine, PolicyView, SettingSource};
use houmon_policy::schema::SettingValue;
use houmon_policy::sources::{LinuxPolicyDir, PushedManagedConfig};
use houmon_policy::watch::PolicyWatcher;
use serde_json::json;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(20);

/// Write a policy file as an administrator installs it (mode 0644), whatever the umask:
/// a world-writable policy file is ignored by design.
fn write_policy(path: &std::path::Path, body: impl AsRef<[u8]>) {
    std::fs::write(path, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}
/// Wait for a view that satisfies `want`; every view received must differ from the one before.
fn wait_for(
    rx: &Receiver<PolicyView>,
    last: &mut Option<PolicyView>,
    want: impl Fn(&PolicyView) -> bool,
) -> PolicyView {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if let Ok(v) = rx.recv_timeout(Duration::from_millis(200)) {
            assert_ne!(last.as_ref(), Some(&v), "the callback ran although nothing changed");
            *last = Some(v.clone());
            if want(&v) {
                return v;
            }
        }
    }
    panic!("the policy change was not picked up within {DEADLINE:?}");
}

fn auto_lock(v: &PolicyView) -> (SettingValue, SettingSource) {
    let s = v.get("autoLockMinutes").unwrap();
    (s.value.clone(), s.source)
}

#[test]
fn file_changes_are_picked_up_by_the_file_watcher() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let engine = Arc::new(PolicyEngine::new(vec![Box::new(LinuxPolicyDir::new(&root))], None));
    let (tx, rx) = channel();
    // A poll interval far beyond the deadline: only the file-system watcher can be this quick.
    let watcher = PolicyWatcher::start(engine, Duration::from_secs(3600), move |v| {
        let _ = tx.send(v.clone());
    });
    let mut last = Some(watcher.view());
    assert_eq!(auto_lock(&watcher.view()).1, SettingSource::Default);

    std::fs::create_dir_all(root.join("managed")).unwrap();
    let file = root.join("managed/houmon.json");
    write_policy(&file, r#"{"autoLockMinutes": 2}"#);
    let v = wait_for(&rx, &mut last, |v| auto_lock(v) == (SettingValue::Integer(2), SettingSource::Managed));
    assert!(v.managed_by_organization);
    assert_eq!(auto_lock(&watcher.view()).0, SettingValue::Integer(2));

    // Same content again: no callback; then a real change.
    std::fs::write(&file, r#"{"autoLockMinutes": 2}"#).unwrap();
    std::fs::write(&file, r#"{"autoLockMinutes": 8}"#).unwrap();
    wait_for(&rx, &mut last, |v| auto_lock(v).0 == SettingValue::Integer(8));

    // An invalid edit is reported, and the setting falls back instead of breaking the app.
    std::fs::write(&file, r#"{"autoLockMinutes": 800}"#).unwrap();
    let v = wait_for(&rx, &mut last, |v| auto_lock(v).1 == SettingSource::Default);
    assert!(v.get("autoLockMinutes").unwrap().problems[0].message_ja.contains("範囲外"));

    std::fs::remove_file(&file).unwrap();
    wait_for(&rx, &mut last, |v| !v.managed_by_organization && v.get("autoLockMinutes").unwrap().problems.is_empty());
}

#[test]
fn a_policy_directory_created_later_is_found_by_polling() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("etc/houmon/policies");
    let engine = Arc::new(PolicyEngine::new(vec![Box::new(LinuxPolicyDir::new(&root))], None));
    let (tx, rx) = channel();
    let _watcher = PolicyWatcher::start(engine, Duration::from_millis(100), move |v| {
        let _ = tx.send(v.clone());
    });
    std::fs::create_dir_all(root.join("recommended")).unwrap();
    write_policy(&root.join("recommended/10.json"), r#"{"autoLockMinutes": 12}"#);
    let mut last = None;
    wait_for(&rx, &mut last, |v| auto_lock(v) == (SettingValue::Integer(12), SettingSource::Recommended));
}

#[test]
fn pushed_mobile_config_applies_on_reload_now() {
    let android = PushedManagedConfig::new("Android managed configuration");
    let engine = Arc::new(PolicyEngine::new(vec![Box::new(android.clone())], None));
    let (tx, rx) = channel();
    let watcher = PolicyWatcher::start(engine, Duration::from_secs(3600), move |v| {
        let _ = tx.send(v.clone());
    });
    // What the plugin does on ACTION_APPLICATION_RESTRICTIONS_CHANGED.
    android.set(Some(json!({"remoteWipe": true}).as_object().unwrap().clone()));
    watcher.reload_now();
    let mut last = None;
    let v = wait_for(&rx, &mut last, |v| v.effective().remote_wipe);
    assert!(v.get("remoteWipe").unwrap().locked);
    drop(watcher); // stops the thread promptly
}
