//! Device lifecycle on a real encrypted store file: enrollment from a managed code, remote wipe
//! (by policy and by relay revocation, including a wipe interrupted by a crash), and the
//! offline-data TTL purge.
//!
//! The relay side of enrollment is the sync client's [`EnrollmentExchange`]; here a small
//! in-process code registry stands in for it (one-time codes, bound to a clinic). The end-to-end
//! test against the real relay belongs with the sync client.

use chrono::{DateTime, Duration, TimeZone, Utc};
use houmon_device::DeviceLifecycle;
use houmon_device::lifecycle::{
    DEVICE_KEY_FILE, EnrollmentError, EnrollmentExchange, EnrollmentGrant, EnrollmentRequest, LifecycleEvent,
    LifecycleState, RelayDeviceStatus, STATE_FILE, STORE_DIR, TtlStatus, WipeReason,
};
use houmon_keys::DeviceKeystore;
use houmon_keys::FileFallback;
use houmon_model::{Actor, ClinicId, Demographics, DeviceId, StaffId};
use houmon_policy::resolve::{EffectiveSettings, PolicyEngine};
use houmon_policy::sources::LinuxPolicyDir;
use houmon_store::Store;
use std::collections::HashMap;
use std::path::Path;

/// One-time codes as the relay keeps them.
struct CodeRegistry {
    codes: HashMap<String, (ClinicId, &'static str)>,
    enrolled: Vec<(DeviceId, [u8; 32])>,
}

impl CodeRegistry {
    fn with_code(code: &str) -> Self {
        let mut codes = HashMap::new();
        codes.insert(code.to_string(), (ClinicId::new(), "1312345679"));
        Self { codes, enrolled: Vec::new() }
    }
}

impl EnrollmentExchange for CodeRegistry {
    fn redeem(
        &mut self,
        r: &EnrollmentRequest,
        _key: &houmon_keys::DeviceSigningKey,
    ) -> Result<EnrollmentGrant, EnrollmentError> {
        let (clinic, inst) = self.codes.remove(&r.code).ok_or(EnrollmentError::CodeRejected)?;
        self.enrolled.push((r.device_id, r.device_public_key));
        Ok(EnrollmentGrant {
            device_id: r.device_id,
            sync: None,
            clinic_id: clinic,
            clinic_name: "さくら在宅クリニック(架空)".into(),
            institution_code: Some(inst.into()),
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

fn t(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap() + Duration::days(i64::from(day))
}

/// Settings as an administrator would push them, through the real Linux reader.
fn managed(tmp: &Path, json: &str) -> EffectiveSettings {
    let root = tmp.join("policies");
    std::fs::create_dir_all(root.join("managed")).unwrap();
    write_policy(&root.join("managed/houmon.json"), json);
    let view = PolicyEngine::new(vec![Box::new(LinuxPolicyDir::new(&root))], None).view();
    assert!(view.settings.iter().all(|s| s.problems.is_empty()), "{:?}", view.settings);
    view.effective()
}

const MDM: &str = r#"{"relayUrl": "https://relay.example-clinic.jp", "enrollmentCode": "hm7q-2k4d-9xwp",
    "medicalInstitutionCode": "1312345679", "offlineDataTtlDays": 14, "trainingMode": "off"}"#;

fn open(dir: &Path) -> DeviceLifecycle {
    let keystore: Box<dyn DeviceKeystore> = Box::new(FileFallback);
    DeviceLifecycle::open(dir, keystore).unwrap().0
}

/// Enroll from MDM and write two patients into the real store.
fn enrolled_with_patients(tmp: &Path) -> (DeviceLifecycle, EffectiveSettings) {
    let settings = managed(tmp, MDM);
    let app = tmp.join("app");
    let mut device = open(&app);
    let mut relay = CodeRegistry::with_code("HM7Q-2K4D-9XWP");
    let events = device.apply(&settings, Some(&mut relay), t(0)).unwrap();
    assert!(matches!(events.as_slice(), [LifecycleEvent::Enrolled { .. }]), "{events:?}");
    let device_id = device.enrollment().unwrap().device_id;
    let actor = Actor { staff: StaffId::new(), device: device_id };
    let store = device.store().unwrap().unwrap();
    for (name, kana) in [("訪問 花子", "ホウモン ハナコ"), ("在宅 太郎", "ザイタク タロウ")] {
        let d = Demographics { name: name.into(), name_kana: kana.into(), ..Default::default() };
        store.register_patient(&actor, &d).unwrap();
    }
    assert_eq!(store.patient_list().unwrap().len(), 2);
    (device, settings)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn first_start_enrolls_with_the_managed_code() {
    let tmp = tempfile::tempdir().unwrap();
    let settings = managed(tmp.path(), MDM);
    let app = tmp.path().join("app");
    let mut device = open(&app);
    assert_eq!(device.state(), &LifecycleState::Unenrolled { last_wipe: None });
    assert!(device.store().unwrap().is_none(), "no store before enrollment");

    let mut relay = CodeRegistry::with_code("HM7Q-2K4D-9XWP");
    let events = device.apply(&settings, Some(&mut relay), t(0)).unwrap();
    let e = device.enrollment().expect("enrolled").clone();
    assert_eq!(events, vec![LifecycleEvent::Enrolled { device_id: e.device_id, clinic_name: e.clinic_name.clone() }]);
    assert_eq!(e.relay_url, "https://relay.example-clinic.jp");
    assert_eq!(e.institution_code.as_deref(), Some("1312345679"));
    // The relay got this device's public key, and the key on disk signs for it.
    let key = device.device_signing_key().unwrap().unwrap();
    assert_eq!(relay.enrolled, vec![(e.device_id, key.public_key())]);
    assert!(app.join(STORE_DIR).join(houmon_store::DB_FILE).exists());

    // Restart: still enrolled, the (now used) code is not redeemed again, the store opens.
    drop(device);
    let mut device = open(&app);
    let events = device.apply(&settings, Some(&mut relay), t(1)).unwrap();
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(device.enrollment().unwrap().device_id, e.device_id);
    assert!(device.store().unwrap().is_some());
}

#[test]
fn a_rejected_code_leaves_the_device_unenrolled_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let settings = managed(tmp.path(), MDM);
    let app = tmp.path().join("app");
    let mut device = open(&app);
    let mut relay = CodeRegistry::with_code("SOME-OTHER-CODE");
    let events = device.apply(&settings, Some(&mut relay), t(0)).unwrap();
    assert_eq!(
        events,
        vec![
            LifecycleEvent::EnrollmentFailed { error: EnrollmentError::CodeRejected },
            LifecycleEvent::NeedsEnrollment
        ]
    );
    assert!(EnrollmentError::CodeRejected.message().0.contains("新しいコード"));
    assert!(matches!(device.state(), LifecycleState::Unenrolled { .. }));
    // Nothing half-made is left behind.
    assert_eq!(files_in(&app), Vec::<String>::new());

    // Without any configuration the app runs the training clinic instead (ARCHITECTURE.md,
    // *Embedded defaults*).
    let events = device.apply(&managed(tmp.path(), "{}"), None, t(0)).unwrap();
    assert_eq!(events, vec![LifecycleEvent::TrainingMode]);
}

#[test]
fn remote_wipe_by_policy_erases_data_and_keys_and_holds_enrollment() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut device, _) = enrolled_with_patients(tmp.path());
    let app = device.dir().to_path_buf();
    std::fs::write(app.join("user-settings.json"), "{}").unwrap();
    assert!(app.join(DEVICE_KEY_FILE).exists());

    // The administrator turns remoteWipe on (the live-reload callback calls apply()).
    let wipe = managed(tmp.path(), &MDM.replace("\"trainingMode\"", "\"remoteWipe\": true, \"trainingMode\""));
    let events = device.apply(&wipe, None, t(2)).unwrap();
    assert_eq!(events, vec![LifecycleEvent::Wiped { reason: WipeReason::Policy }, LifecycleEvent::WipeHeld]);
    assert_eq!(
        device.state(),
        &LifecycleState::Unenrolled {
            last_wipe: Some(houmon_device::lifecycle::WipeRecord { reason: WipeReason::Policy, at: t(2) })
        }
    );
    // Only the lifecycle state is left: no database, WAL, data key, device key or settings.
    assert_eq!(files_in(&app), vec![STATE_FILE.to_string()]);
    assert!(device.store().unwrap().is_none());
    assert!(device.device_signing_key().unwrap().is_none());

    // While the policy stays on, the device cannot enroll again — not even by hand.
    let mut relay = CodeRegistry::with_code("HM7Q-2K4D-9XWP");
    assert_eq!(device.apply(&wipe, Some(&mut relay), t(3)).unwrap(), vec![LifecycleEvent::WipeHeld]);
    assert_eq!(device.enroll(&wipe, "HM7Q-2K4D-9XWP", &mut relay, t(3)).unwrap_err(), EnrollmentError::WipeRequested);

    // Once it is off, a fresh enrollment starts from an empty store.
    let settings = managed(tmp.path(), MDM);
    device.apply(&settings, Some(&mut relay), t(4)).unwrap();
    assert_eq!(device.store().unwrap().unwrap().patient_list().unwrap().len(), 0);
}

#[test]
fn relay_revocation_wipes_and_returns_to_enrollment() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut device, settings) = enrolled_with_patients(tmp.path());
    let app = device.dir().to_path_buf();
    let db = app.join(STORE_DIR).join(houmon_store::DB_FILE);
    assert!(db.exists());

    assert_eq!(device.relay_reports(RelayDeviceStatus::Active, t(1)).unwrap(), None);
    assert!(device.enrollment().is_some());
    let ev = device.relay_reports(RelayDeviceStatus::Revoked, t(1)).unwrap();
    assert_eq!(ev, Some(LifecycleEvent::Wiped { reason: WipeReason::RelayRevoked }));
    assert!(!db.exists());
    assert_eq!(files_in(&app), vec![STATE_FILE.to_string()]);
    assert!(WipeReason::RelayRevoked.message().0.contains("再登録"));

    // Back at enrollment after a restart: the used MDM code is refused, the user is asked.
    drop(device);
    let mut device = open(&app);
    let mut relay = CodeRegistry::with_code("NEW-CODE-0001");
    let events = device.apply(&settings, Some(&mut relay), t(2)).unwrap();
    assert_eq!(events.last(), Some(&LifecycleEvent::NeedsEnrollment));
    device.enroll(&settings, "new-code-0001", &mut relay, t(2)).unwrap();
    assert!(device.enrollment().is_some());
}

#[test]
fn a_wipe_interrupted_by_a_crash_finishes_on_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let (device, _) = enrolled_with_patients(tmp.path());
    let app = device.dir().to_path_buf();
    drop(device);
    // The process died right after recording that a wipe had started.
    let state = LifecycleState::Wiping { reason: WipeReason::RelayRevoked, started_at: t(5) };
    std::fs::write(app.join(STATE_FILE), serde_json::to_vec(&state).unwrap()).unwrap();

    let (device, events) = DeviceLifecycle::open(&app, Box::new(FileFallback)).unwrap();
    assert_eq!(events, vec![LifecycleEvent::FinishedInterruptedWipe { reason: WipeReason::RelayRevoked }]);
    assert!(matches!(device.state(), LifecycleState::Unenrolled { last_wipe: Some(_) }));
    assert_eq!(files_in(&app), vec![STATE_FILE.to_string()]);
}

#[test]
fn patient_data_is_purged_after_the_ttl_without_sync_and_sync_resets_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut device, settings) = enrolled_with_patients(tmp.path());
    assert_eq!(settings.offline_data_ttl_days, 14);
    let app = device.dir().to_path_buf();

    // Day 10: a sync; the 14 days now count from here.
    device.sync_succeeded(t(10)).unwrap();
    assert_eq!(device.ttl_status(14, t(20)), TtlStatus::Counting { purge_at: t(24), days_left: 4 });
    assert!(device.apply(&settings, None, t(23)).unwrap().is_empty());
    assert_eq!(device.store().unwrap().unwrap().patient_list().unwrap().len(), 2);

    // Day 24: 14 days without a sync.
    assert_eq!(device.ttl_status(14, t(24)), TtlStatus::Due);
    let events = device.apply(&settings, None, t(24)).unwrap();
    assert_eq!(events, vec![LifecycleEvent::PurgedStaleData { charts: 2, rosters: 0, days_without_sync: 14 }]);
    assert_eq!(device.enrollment().unwrap().purged_at, Some(t(24)));

    // Still enrolled; the clinic's patients are gone from the real file (reopen to be sure),
    // the audit chain is intact and records the purge.
    let device_id = device.enrollment().unwrap().device_id;
    drop(device);
    let mut store = Store::open(&app.join(STORE_DIR), &FileFallback).unwrap();
    assert!(store.patient_list().unwrap().is_empty());
    assert!(store.document_ids().unwrap().is_empty());
    store.check_integrity().unwrap();
    assert!(store.verify_audit().unwrap().ok(), "audit chain broken by the purge");
    let last = store.recent_audit(1).unwrap();
    assert!(last[0].detail.contains("ttl purge"), "{last:?}");
    assert_eq!(last[0].device, device_id.to_string());
    drop(store);

    // Purging again finds nothing and reports nothing; a later sync stops the countdown.
    let mut device = open(&app);
    assert!(device.apply(&settings, None, t(25)).unwrap().is_empty());
    device.sync_succeeded(t(25)).unwrap();
    assert!(matches!(device.ttl_status(14, t(26)), TtlStatus::Counting { .. }));
    assert_eq!(device.ttl_status(0, t(400)), TtlStatus::Disabled);
}

#[test]
fn enrollment_checks_the_managed_institution_code_and_needs_a_relay() {
    let tmp = tempfile::tempdir().unwrap();
    // The administrator pinned a different clinic than the one the code belongs to.
    let settings = managed(tmp.path(), &MDM.replace("1312345679", "0110000015"));
    let app = tmp.path().join("app");
    let mut device = open(&app);
    let mut relay = CodeRegistry::with_code("HM7Q-2K4D-9XWP");
    let events = device.apply(&settings, Some(&mut relay), t(0)).unwrap();
    assert_eq!(events[0], LifecycleEvent::EnrollmentFailed { error: EnrollmentError::InstitutionMismatch });
    assert!(matches!(device.state(), LifecycleState::Unenrolled { .. }));
    assert_eq!(files_in(&app), Vec::<String>::new());

    let no_relay = managed(tmp.path(), r#"{"enrollmentCode": "HM7Q-2K4D-9XWP"}"#);
    let err = device.enroll(&no_relay, "HM7Q-2K4D-9XWP", &mut relay, t(0)).unwrap_err();
    assert_eq!(err, EnrollmentError::NoRelayUrl);
    assert!(err.message().0.contains("URL"));
}
