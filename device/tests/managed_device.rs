//! The wired-up device as the Tauri shell holds it: a managed policy in a real policy
//! directory, a real store file, live reload. Turning `remoteWipe` on while the app runs wipes
//! the device.

use houmon_device::lifecycle::{
    EnrollmentError, EnrollmentExchange, EnrollmentGrant, EnrollmentRequest, LifecycleEvent, LifecycleState,
    STATE_FILE, STORE_DIR, TtlStatus, WipeReason,
};
use houmon_device::managed::{ManagedDevice, SharedExchange};
use houmon_keys::FileFallback;
use houmon_model::{Actor, ClinicId, Demographics, StaffId};
use houmon_policy::sources::LinuxPolicyDir;
use serde_json::json;
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct OneCode(Option<String>);

impl EnrollmentExchange for OneCode {
    fn redeem(
        &mut self,
        r: &EnrollmentRequest,
        _key: &houmon_keys::DeviceSigningKey,
    ) -> Result<EnrollmentGrant, EnrollmentError> {
        if self.0.as_deref() != Some(r.code.as_str()) {
            return Err(EnrollmentError::CodeRejected);
        }
        self.0 = None;
        Ok(EnrollmentGrant {
            device_id: r.device_id,
            sync: None,
            clinic_id: ClinicId::new(),
            clinic_name: "架空クリニック".into(),
            institution_code: None,
        })
    }
}

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

#[test]
fn managed_device_enrolls_then_a_live_remote_wipe_erases_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("policies");
    let app = tmp.path().join("app");
    std::fs::create_dir_all(root.join("managed")).unwrap();
    let policy = root.join("managed/houmon.json");
    let base = json!({"relayUrl": "https://relay.example-clinic.jp", "enrollmentCode": "ABCD-1234-EFGH",
        "trainingMode": "off", "autoLockMinutes": 3});
    write_policy(&policy, base.to_string());

    let exchange: SharedExchange = Arc::new(Mutex::new(OneCode(Some("ABCD-1234-EFGH".into()))));
    let (tx, rx) = channel();
    let (device, events) = ManagedDevice::start(
        &app,
        Box::new(FileFallback),
        vec![Box::new(LinuxPolicyDir::new(&root))],
        Some(exchange),
        Duration::from_secs(3600),
        Box::new(move |_view, events| {
            let _ = tx.send(events.to_vec());
        }),
    )
    .unwrap();
    assert!(matches!(events.as_slice(), [LifecycleEvent::Enrolled { .. }]), "{events:?}");
    let status = device.status();
    assert!(!status.training);
    assert!(matches!(status.ttl, TtlStatus::Counting { days_left: 29, .. }), "{:?}", status.ttl);
    assert_eq!(status.settings.auto_lock_minutes, 3);

    let staff = StaffId::new();
    let dev = device.lifecycle().lock().unwrap().enrollment().unwrap().device_id;
    device
        .with_store(|s| {
            let d =
                Demographics {
                    name: "訪問 花子".into(), name_kana: "ホウモン ハナコ".into(), ..Default::default()
                };
            s.register_patient(&Actor { staff, device: dev }, &d).unwrap();
        })
        .unwrap()
        .expect("enrolled: the store is open");

    // The policy page refuses to change a locked value; an unlocked one changes.
    assert!(device.set_user_value("autoLockMinutes", json!(10)).is_err());
    let view = device.set_user_value("logLevel", json!("debug")).unwrap();
    assert_eq!(view.get("logLevel").unwrap().value, houmon_policy::SettingValue::Text("debug".into()));

    // The administrator pushes remoteWipe while the app runs.
    let mut wiping = base.clone();
    wiping["remoteWipe"] = json!(true);
    write_policy(&policy, wiping.to_string());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "the remote wipe was not applied");
        if let Ok(events) = rx.recv_timeout(Duration::from_millis(200))
            && events.contains(&LifecycleEvent::Wiped { reason: WipeReason::Policy })
        {
            break;
        }
    }
    assert!(matches!(device.status().state, LifecycleState::Unenrolled { last_wipe: Some(_) }));
    assert!(!app.join(STORE_DIR).exists());
    let left: Vec<_> = std::fs::read_dir(&app).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from(STATE_FILE)]);
    assert!(device.with_store(|_| ()).unwrap().is_none());
    assert_eq!(device.enroll("ABCD-1234-EFGH"), Err(EnrollmentError::WipeRequested));
}
