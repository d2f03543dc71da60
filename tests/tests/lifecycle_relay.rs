//! The device lifecycle against the real `houmon-relay` binary on loopback: tablets that
//! enroll on first start from a managed enrollment code (policy files read by the real Linux
//! reader from a temp dir) and sync through [`SyncRunner`]; back-office revocation wipes the
//! revoked tablet at its next step; a remote wipe by policy; the offline-data TTL purge; and
//! offline (relay stopped) then back, with nothing lost.

use chrono::{Duration as Days, Utc};
use houmon_device::DeviceLifecycle;
use houmon_device::lifecycle::{LifecycleEvent, LifecycleState, STATE_FILE, WipeReason};
use houmon_device::runner::{HeldStore, RelayEnrollment, StepOutcome, SyncRunner, SyncStatus};
use houmon_keys::DeviceKeystore;
use houmon_keys::FileFallback;
use houmon_model::{Actor, Demographics, StaffId};
use houmon_policy::resolve::{EffectiveSettings, PolicyEngine};
use houmon_policy::sources::LinuxPolicyDir;
use houmon_store::Store;
use houmon_sync_proto::Role;
use houmon_tests::bench_sync::{RelayProc, SyncDevice, count, create_clinic, relay_db_bytes};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Write a policy file as an administrator installs it (mode 0644).
fn write_policy(path: &Path, body: &serde_json::Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body.to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}

/// A tablet: its policy directory, app data directory, lifecycle, runner and held store.
struct Tablet {
    policies: PathBuf,
    app: PathBuf,
    lifecycle: Mutex<DeviceLifecycle>,
    runner: SyncRunner,
    held: HeldStore,
    relay: RelayEnrollment,
}

impl Tablet {
    fn start(root: &Path, name: &str, policy: serde_json::Value) -> Self {
        let policies = root.join(name).join("policies");
        write_policy(&policies.join("managed/houmon.json"), &policy);
        let app = root.join(name).join("app");
        let keystore: Box<dyn DeviceKeystore> = Box::new(FileFallback);
        let (lc, _) = DeviceLifecycle::open(&app, keystore).unwrap();
        Self {
            policies,
            app,
            lifecycle: Mutex::new(lc),
            runner: SyncRunner::new(),
            held: HeldStore(None),
            relay: RelayEnrollment::new(name),
        }
    }

    fn settings(&self) -> EffectiveSettings {
        let view = PolicyEngine::new(vec![Box::new(LinuxPolicyDir::new(&self.policies))], None).view();
        assert!(view.settings.iter().all(|s| s.problems.is_empty()), "{:?}", view.settings);
        view.effective()
    }

    fn set_policy(&self, policy: serde_json::Value) {
        write_policy(&self.policies.join("managed/houmon.json"), &policy);
    }

    fn step_at(&mut self, now: chrono::DateTime<Utc>) -> StepOutcome {
        let settings = self.settings();
        self.runner.retry_now();
        self.runner.step(&self.lifecycle, &settings, &mut self.held, &mut self.relay, now, &mut |_| {}).unwrap()
    }

    fn step(&mut self) -> StepOutcome {
        self.step_at(Utc::now())
    }

    fn actor(&self) -> Actor {
        let device = self.lifecycle.lock().unwrap().enrollment().expect("enrolled").device_id;
        Actor { staff: StaffId::new(), device }
    }

    fn store(&mut self) -> &mut Store {
        self.held.0.as_mut().expect("the shell holds the store")
    }

    fn patient_names(&mut self) -> Vec<String> {
        let mut v: Vec<String> = self.store().patient_list().unwrap().into_iter().map(|p| p.name).collect();
        v.sort();
        v
    }

    fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.app)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

fn register(t: &mut Tablet, name: &str) {
    let actor = t.actor();
    let d = Demographics { name: name.into(), name_kana: "テスト".into(), ..Default::default() };
    t.store().register_patient(&actor, &d).unwrap();
}

/// A relay with a clinic, its back office (admin device) and codes for `n` tablets.
fn clinic(tmp: &Path, n: usize) -> (RelayProc, SyncDevice, Vec<String>) {
    let db = tmp.join("relay.db");
    let admin_code = create_clinic(&db, "さくら在宅クリニック").unwrap();
    let relay = RelayProc::start(&db, &[]).unwrap();
    let office = SyncDevice::enroll(&tmp.join("office"), relay.http(), &admin_code, "事務所PC").unwrap();
    let codes = (0..n).map(|_| office.sync.create_enrollment_code(Role::Member, 3600).unwrap()).collect();
    (relay, office, codes)
}

fn policy(relay: &RelayProc, code: &str) -> serde_json::Value {
    json!({"relayUrl": relay.base(), "enrollmentCode": code, "trainingMode": "off", "offlineDataTtlDays": 14})
}

#[test]
fn managed_code_enrolls_on_first_start_and_two_tablets_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let (relay, _office, codes) = clinic(tmp.path(), 2);
    let mut a = Tablet::start(tmp.path(), "a", policy(&relay, &codes[0]));
    let mut b = Tablet::start(tmp.path(), "b", policy(&relay, &codes[1]));

    // First start: the managed code is redeemed at the relay, the store is lent to the shell,
    // and the first round completes.
    let out = a.step();
    assert!(matches!(out.events.as_slice(), [LifecycleEvent::Enrolled { .. }]), "{:?}", out.events);
    assert!(matches!(out.status, SyncStatus::UpToDate { pending: 0, .. }), "{:?}", out.status);
    assert!(out.status.text().label_ja.starts_with("最新("), "{:?}", out.status.text());
    assert!(matches!(b.step().status, SyncStatus::UpToDate { .. }));

    // The device key the lifecycle wrapped is the one the relay verifies (a wrong key would
    // be refused as unauthenticated), and the store holds the content key.
    assert!(a.files().contains(&"device-key.json".to_string()));

    register(&mut a, "訪問 花子");
    register(&mut b, "在宅 太郎");
    a.step();
    b.step();
    a.step();
    assert_eq!(a.patient_names(), vec!["在宅 太郎", "訪問 花子"]);
    assert_eq!(b.patient_names(), vec!["在宅 太郎", "訪問 花子"]);
    // The relay never saw a name.
    assert_eq!(count(&relay_db_bytes(&relay.db), "訪問 花子".as_bytes()), 0);

    // A restart: the same device, no second enrollment (the used code is not redeemed again).
    drop(a);
    let mut a = Tablet::start(tmp.path(), "a", policy(&relay, &codes[0]));
    let out = a.step();
    assert!(out.events.is_empty(), "{:?}", out.events);
    assert!(matches!(out.status, SyncStatus::UpToDate { .. }), "{:?}", out.status);
    assert_eq!(a.patient_names().len(), 2);
}

#[test]
fn back_office_revocation_wipes_the_tablet_at_its_next_step() {
    let tmp = tempfile::tempdir().unwrap();
    let (relay, office, codes) = clinic(tmp.path(), 1);
    let mut a = Tablet::start(tmp.path(), "a", policy(&relay, &codes[0]));
    a.step();
    register(&mut a, "訪問 花子");
    a.step();
    let device = a.lifecycle.lock().unwrap().enrollment().unwrap().device_id;

    office.sync.revoke(houmon_sync_proto::DeviceId(*device.0.as_bytes())).unwrap();
    let out = a.step();
    assert_eq!(out.events, vec![LifecycleEvent::Wiped { reason: WipeReason::RelayRevoked }]);
    assert_eq!(out.status, SyncStatus::NotEnrolled { wiped: Some(WipeReason::RelayRevoked), enrollment_error: None });
    let text = out.status.text();
    assert_eq!(text.label_ja, "拒否—端末が失効");
    assert!(text.next_ja.contains("再登録"), "{text:?}");
    // Data and keys are gone; only the lifecycle state remains, saying why.
    assert!(a.held.0.is_none());
    assert_eq!(a.files(), vec![STATE_FILE.to_string()]);
    assert!(matches!(
        a.lifecycle.lock().unwrap().state(),
        LifecycleState::Unenrolled { last_wipe: Some(w) } if w.reason == WipeReason::RelayRevoked
    ));
    // The used code is not redeemed again: the device stays 未登録 until a new code.
    let out = a.step();
    assert!(out.events.is_empty(), "{:?}", out.events);
    assert!(matches!(out.status, SyncStatus::NotEnrolled { .. }));

    // A new code from the back office enrolls it again (typed on the enrollment screen).
    let code = office.sync.create_enrollment_code(Role::Member, 3600).unwrap();
    let settings = a.settings();
    a.runner.enroll(&a.lifecycle, &settings, &code, &mut a.relay, Utc::now()).unwrap();
    let out = a.step();
    assert!(matches!(out.status, SyncStatus::UpToDate { .. }), "{:?}", out.status);
    assert_eq!(a.patient_names(), vec!["訪問 花子"], "synced back from the relay");
}

#[test]
fn remote_wipe_by_policy_erases_and_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let (relay, _office, codes) = clinic(tmp.path(), 1);
    let mut a = Tablet::start(tmp.path(), "a", policy(&relay, &codes[0]));
    a.step();
    register(&mut a, "訪問 花子");
    a.step();

    let mut p = policy(&relay, &codes[0]);
    p["remoteWipe"] = json!(true);
    a.set_policy(p);
    let out = a.step();
    assert_eq!(out.events, vec![LifecycleEvent::Wiped { reason: WipeReason::Policy }]);
    assert_eq!(out.status.text().label_ja, "未登録");
    assert!(out.status.text().next_ja.contains("リモート消去"), "{:?}", out.status.text());
    assert_eq!(a.files(), vec![STATE_FILE.to_string()]);
    // While the policy stays on, nothing enrolls.
    assert!(a.step().events.is_empty());
}

#[test]
fn ttl_purge_removes_patient_data_and_the_next_sync_brings_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut relay, _office, codes) = clinic(tmp.path(), 1);
    let mut a = Tablet::start(tmp.path(), "a", policy(&relay, &codes[0]));
    let t0 = Utc::now();
    a.step_at(t0);
    register(&mut a, "訪問 花子");
    a.step_at(t0);

    // 15 days later, without the relay: the 14-day TTL is due, the charts go.
    relay.kill();
    let out = a.step_at(t0 + Days::days(15));
    assert!(
        out.events.iter().any(|e| matches!(e, LifecycleEvent::PurgedStaleData { charts: 1, .. })),
        "{:?}",
        out.events
    );
    assert!(a.patient_names().is_empty());
    assert!(matches!(out.status, SyncStatus::Offline { .. }), "{:?}", out.status);

    // The relay is back: the next round fetches the charts again.
    let relay2 = RelayProc::start_on(&relay.db, &relay.addr, &[]).unwrap();
    let out = a.step_at(t0 + Days::days(15));
    assert!(matches!(out.status, SyncStatus::UpToDate { .. }), "{:?}", out.status);
    assert_eq!(a.patient_names(), vec!["訪問 花子"]);
    drop(relay2);
}

#[test]
fn offline_shows_the_pending_count_and_nothing_is_lost_when_the_relay_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut relay, _office, codes) = clinic(tmp.path(), 2);
    let mut a = Tablet::start(tmp.path(), "a", policy(&relay, &codes[0]));
    let mut b = Tablet::start(tmp.path(), "b", policy(&relay, &codes[1]));
    a.step();
    b.step();

    relay.kill();
    register(&mut a, "訪問 花子");
    register(&mut a, "在宅 太郎");
    let out = a.step();
    assert_eq!(out.status.pending(), 2, "{:?}", out.status);
    assert!(matches!(out.status, SyncStatus::Offline { pending: 2, .. }), "{:?}", out.status);
    assert_eq!(out.status.text().label_ja, "オフライン(未送信2件)");

    let _relay = RelayProc::start_on(&relay.db, &relay.addr, &[]).unwrap();
    let out = a.step();
    assert!(matches!(out.status, SyncStatus::UpToDate { pending: 0, .. }), "{:?}", out.status);
    // The two charts, and the tablet's access history (registering them) with them.
    assert_eq!(out.report.as_ref().map(|r| r.uploaded), Some(3));
    b.step();
    assert_eq!(b.patient_names(), vec!["在宅 太郎", "訪問 花子"]);
}
