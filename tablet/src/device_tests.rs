//! The shell's device module against the real `houmon-relay` binary on loopback and a
//! policy directory read by the real Linux reader: the default stays the training clinic;
//! trainingMode off shows the enrollment screen; a typed code enrolls and syncs; a back-office
//! revocation wipes data and keys and returns to the enrollment screen with the reason.

use super::*;
use crate::dto::{
    AppErrorCode, CheckOutcome, CheckPath, CheckReason, EnrollmentError, IdentityMode, PrescriptionForm,
    RequestFailure, RequestKind, RequestState, SyncState,
};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// `HOUMON_RELAY_BIN`, or `houmon-relay` in this target dir (built on demand into a side dir).
fn relay_bin() -> PathBuf {
    if let Ok(p) = std::env::var("HOUMON_RELAY_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("houmon-relay");
    if bin.exists() {
        return bin;
    }
    let side = dir.join("houmon-relay-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let _ = Command::new(cargo).args(["build", "-p", "houmon-relay"]).env("CARGO_TARGET_DIR", &side).status();
    side.join("debug").join("houmon-relay")
}

struct Relay(Child, String);

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn admin(db: &Path, args: &[&str]) -> String {
    let out = Command::new(relay_bin()).args(["admin", "--db"]).arg(db).args(args).output().expect("relay admin");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A new clinic at the relay; its founding code (the admin command prints one JSON object).
fn founding_code(db: &Path) -> String {
    let out = admin(db, &["create-clinic", "--name", "架空在宅クリニック"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    v["code"].as_str().expect("code").to_string()
}

fn start_relay(db: &Path) -> Relay {
    start_relay_cmd(Command::new(relay_bin()), db, &[])
}

/// The relay with its clock two hours ahead (libfaketime), so every request of this machine's
/// tablet is outside the replay window: what a tablet with its clock off sees. `None` (with the
/// reason printed) where faketime is missing; under CI that fails.
fn start_relay_clock_ahead(db: &Path) -> Option<Relay> {
    if Command::new("faketime").arg("-f").arg("+0").arg("true").status().is_err() {
        assert!(std::env::var_os("CI").is_none(), "faketime is missing (Debian package faketime)");
        eprintln!("skipped: faketime is not installed (apt install faketime)");
        return None;
    }
    let mut cmd = Command::new("faketime");
    cmd.args(["-f", "+2h"]).arg(relay_bin());
    Some(start_relay_cmd(cmd, db, &[]))
}

/// `cmd` (the relay, or a wrapper around it) serving `db` on loopback, with `extra` options.
fn start_relay_cmd(mut cmd: Command, db: &Path, extra: &[&str]) -> Relay {
    let mut child = cmd
        .args(["serve", "--db"])
        .arg(db)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("houmon-relay starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("://").next().unwrap().to_string();
    Relay(child, format!("http://{addr}"))
}

fn write_policy(root: &Path, body: serde_json::Value) {
    let p = root.join("managed/houmon.json");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body.to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}

fn sources(root: &Path) -> Vec<Box<dyn PolicySource>> {
    vec![Box::new(LinuxPolicyDir::new(root))]
}

#[test]
fn no_policy_is_the_training_clinic() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = ServiceOptions { data_dir: tmp.path().join("app"), ..Default::default() };
    let mode = Mode::decide(&opts, sources(&tmp.path().join("policies"))).unwrap();
    assert!(matches!(mode, Mode::Training));
    let s = training_status();
    assert_eq!((s.state, s.label_ja.as_str()), (SyncState::Training, "訓練モード"));
    assert!(!s.needs_enrollment);
}

/// A clinic founded at a real relay on loopback, and a managed tablet pointed at it (not yet
/// enrolled).
struct Founded {
    db: PathBuf,
    code: String,
    _relay: Relay,
    policies: PathBuf,
    policy: serde_json::Value,
    opts: ServiceOptions,
    dev: Arc<ManagedDevice>,
}

fn founded(tmp: &Path) -> Founded {
    let db = tmp.join("relay.db");
    let code = founding_code(&db);
    let relay = start_relay(&db);
    founded_at(tmp, db, code, relay)
}

fn founded_at(tmp: &Path, db: PathBuf, code: String, relay: Relay) -> Founded {
    let policies = tmp.join("policies");
    let policy = serde_json::json!({"relayUrl": relay.1, "trainingMode": "off"});
    write_policy(&policies, policy.clone());
    let opts = ServiceOptions { data_dir: tmp.join("app"), ..Default::default() };
    let Mode::Managed(dev) = Mode::decide(&opts, sources(&policies)).unwrap() else {
        panic!("trainingMode off is a managed device")
    };
    Founded { db, code, _relay: relay, policies, policy, opts, dev }
}

#[test]
fn enroll_then_sync_then_revocation_wipes_and_returns_to_enrollment() {
    let tmp = tempfile::tempdir().unwrap();
    let Founded { db, code, _relay, opts, dev, .. } = founded(tmp.path());
    let cell: ServiceCell = Mutex::new(None);
    let ready = Condvar::new();

    // Not enrolled: the enrollment screen, and commands get a clear reason instead of data.
    dev.step(&cell, &ready);
    let s = dev.status();
    assert!(s.needs_enrollment && !s.managed_code);
    assert_eq!((s.state, s.label_ja.as_str()), (SyncState::Unenrolled, "未登録"));
    assert!(matches!(lock(&cell).as_ref(), Some(Err(e)) if e.code == AppErrorCode::NotEnrolled));

    // A mistyped code is refused with the next step.
    let e = dev.enroll("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG", &cell, &ready).unwrap_err();
    assert_eq!(e.code, EnrollmentError::CodeRejected);
    assert!(e.ja.contains("新しいコード"), "{e:?}");

    // The right code: enrolled, the store lent to a non-training service, first round done.
    let s = dev.enroll(&code, &cell, &ready).unwrap();
    assert_eq!(s.state, SyncState::Online, "{s:?}");
    assert!(s.label_ja.starts_with("最新("), "{s:?}");
    assert!(!s.needs_enrollment);
    {
        let mut g = lock(&cell);
        let svc = g.as_mut().unwrap().as_mut().expect("service on the lifecycle's store");
        assert!(!svc.app_info().training_mode);
        assert!(svc.store_dir().starts_with(device_dir(&opts.data_dir)));
    }
    let dir = device_dir(&opts.data_dir);
    assert!(dir.join("device-key.json").exists());

    // The back office revokes the tablet (the relay applies it within a second).
    let device = lock(&dev.lifecycle).enrollment().unwrap().device_id;
    admin(&db, &["revoke", "--device", &device.0.simple().to_string()]);
    let mut s = dev.status();
    for _ in 0..100 {
        dev.step(&cell, &ready);
        s = dev.status();
        if s.needs_enrollment {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!((s.state, s.label_ja.as_str()), (SyncState::Refused, "拒否—端末が失効"), "{s:?}");
    assert!(s.needs_enrollment && s.next_ja.contains("再登録"), "{s:?}");
    assert!(matches!(lock(&cell).as_ref(), Some(Err(e)) if e.code == AppErrorCode::NotEnrolled));
    let left: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, vec!["device.json".to_string()], "data and keys erased");
}

#[test]
fn a_user_cannot_switch_an_enrolled_device_to_training() {
    let tmp = tempfile::tempdir().unwrap();
    let Founded { code, _relay, policies, mut policy, opts, dev, .. } = founded(tmp.path());
    let (cell, ready): (ServiceCell, _) = (Mutex::new(None), Condvar::new());
    dev.step(&cell, &ready);
    dev.enroll(&code, &cell, &ready).unwrap();
    drop((dev, cell));
    // The app starts again with trainingMode left to the device (not managed), so the user's
    // value is what would count.
    policy.as_object_mut().unwrap().remove("trainingMode");
    write_policy(&policies, policy);
    let Mode::Managed(dev) = Mode::decide(&opts, sources(&policies)).unwrap() else { panic!("enrolled: managed") };
    let cell: ServiceCell = Mutex::new(None);
    dev.step(&cell, &ready);
    {
        let mut g = lock(&cell);
        let svc = g.as_mut().unwrap().as_mut().expect("enrolled service");
        // Locked (fail closed): no setting changes before someone signs in.
        let e = svc.set_user_setting("autoLockMinutes", Some("10")).unwrap_err();
        assert_eq!(e.code, AppErrorCode::Locked);
        // The clinic founded from this device has no clinic document: 医療機関の設定 first (its
        // code's check digit verified, nothing written otherwise), then the first administrator
        // on this admin device, who is signed in.
        assert!(svc.app_info().needs_clinic_setup && !svc.app_info().can_found_admin);
        let e = svc.set_up_clinic("架空在宅クリニック", "3410712363", "", "").unwrap_err();
        assert_eq!(e.code, AppErrorCode::InvalidInstitutionCode);
        assert!(svc.app_info().needs_clinic_setup, "nothing written");
        svc.set_up_clinic("架空在宅クリニック", "3410712362", "東京都架空区1-1", "03-0000-0000").unwrap();
        let info = svc.app_info();
        assert!(!info.needs_clinic_setup && info.can_found_admin, "{info:?}");
        assert_eq!(info.clinic_name, "架空在宅クリニック");
        // Once it exists, the clinic document changes only with an administrator signed in.
        let e = svc.set_up_clinic("別の名前", "3410712362", "", "").unwrap_err();
        assert_eq!(e.code, AppErrorCode::Locked);
        let e = svc.found_first_admin("管理 花子", "カンリ ハナコ", "4829".into()).unwrap_err();
        assert_eq!(e.code, AppErrorCode::InvalidStaffPin, "the policy's 6 digits");
        svc.found_first_admin("管理 花子", "カンリ ハナコ", "482913".into()).unwrap();
        assert!(!svc.app_info().locked && !svc.app_info().can_found_admin);
        assert_eq!(svc.staff_list().unwrap().len(), 1);
        let e = svc.found_first_admin("別 人", "ベツ ヒト", "739155".into()).unwrap_err();
        assert_eq!(e.code, AppErrorCode::NotAllowed, "only while the clinic has no staff");
        // Control: another user-settable setting is accepted on the same device.
        svc.set_user_setting("autoLockMinutes", Some("10")).unwrap();
        let e = svc.set_user_setting("trainingMode", Some("on")).unwrap_err();
        assert_eq!(e.code, AppErrorCode::SettingRefused);
        assert!(e.ja.contains("訓練モードには切り替えられません"), "{}", e.ja);
        svc.set_user_setting("trainingMode", Some("off")).expect("switching it off stays allowed");
    }
    let Mode::Managed(_) = Mode::decide(&opts, sources(&policies)).unwrap() else {
        panic!("the next start is still the clinic's device")
    };
}

/// A tablet holding another content key than the clinic's (what a keyless code used to give)
/// shows an error, never 最新; the control with the clinic's key shows 最新 on the same data.
#[test]
fn a_tablet_that_cannot_open_other_devices_entries_says_so_instead_of_up_to_date() {
    use houmon_keys::DeviceSigningKey;
    use houmon_model::{Actor, ClinicId, DeviceId, Staff, StaffId, StaffRole};
    use houmon_sync::SyncClient;
    use houmon_sync::seal::ContentKey;
    use houmon_sync_proto::Role;
    use houmon_sync_proto::http::RelayHttp;

    let tmp = tempfile::tempdir().unwrap();
    let Founded { code, _relay, opts, policies, dev, .. } = founded(tmp.path());
    // The office founds the clinic (its content key) and writes the clinic document.
    let mut office = Store::open(&tmp.path().join("office"), &houmon_keys::FileFallback).unwrap();
    let actor = Actor { staff: StaffId::new(), device: DeviceId::new() };
    let key = DeviceSigningKey::generate().unwrap().0;
    let mut client = SyncClient::enroll(&mut office, RelayHttp::new(&_relay.1), key, &code, "事務所", actor).unwrap();
    office.init_clinic(&actor, ClinicId::new(), "架空在宅クリニック", "3410712362").unwrap();
    client.sync_once(&mut office).unwrap();
    let tablet_code = client.create_enrollment_code(Role::Member, 3600).unwrap();
    let staff = |name: &str| Staff {
        id: StaffId::new(),
        name: name.into(),
        kana: "ホウモン イチロウ".into(),
        role: StaffRole::Nurse,
        qualifications: String::new(),
        active: true,
    };
    let mut office_writes = |name: &str| {
        office.put_staff(&actor, &staff(name)).unwrap();
        client.sync_once(&mut office).unwrap();
    };

    // Control: enrolled with the office's code, the tablet opens the office's entries: 最新.
    let cell: ServiceCell = Mutex::new(None);
    let ready = Condvar::new();
    assert_eq!(dev.enroll(&tablet_code, &cell, &ready).unwrap().state, SyncState::Online);
    office_writes("訪問 一郎");
    dev.step(&cell, &ready);
    let s = dev.status();
    assert_eq!(s.state, SyncState::Online, "{s:?}");
    assert!(s.label_ja.starts_with("最新("), "{s:?}");
    assert!(with_svc(&cell, |svc| svc.store_mut().clinic().unwrap().staff.iter().any(|m| m.name == "訪問 一郎")));

    // The same tablet with another content key: the office's next entry cannot be opened.
    drop(dev);
    drop(cell);
    {
        let dir = device_dir(&opts.data_dir);
        let (mut lc, _) = DeviceLifecycle::open(&dir, os_keystore(&opts.data_dir)).unwrap();
        let store = lc.store().unwrap().unwrap();
        let mut id = SyncIdentity::load(store).unwrap().unwrap();
        id.content = ContentKey::random().unwrap();
        id.save(store).unwrap();
    }
    office_writes("訪問 二郎");
    let Mode::Managed(dev) = Mode::decide(&opts, sources(&policies)).unwrap() else { panic!("managed") };
    let cell: ServiceCell = Mutex::new(None);
    dev.step(&cell, &ready);
    let s = dev.status();
    assert_eq!(s.state, SyncState::Unreadable, "{s:?}");
    assert_eq!(s.label_ja, "他の端末のデータを読めません。端末を登録し直してください");
    assert!(s.next_ja.contains("登録し直して") && s.next_ja.contains("1件"), "{s:?}");
    // It stays an error at the next round (the count is persisted), not 最新 again.
    dev.step(&cell, &ready);
    assert_eq!(dev.status().state, SyncState::Unreadable);
}

/// A relay that refuses the tablet's clock: the header says so and what to do, never
/// オフライン (which would send a nurse looking for a network that works). Control: the same
/// enrollment with the relay's clock right is 最新.
#[test]
fn a_wrong_clock_is_shown_with_the_next_step_not_as_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("relay.db");
    let code = founding_code(&db);
    let Some(relay) = start_relay_clock_ahead(&db) else { return };
    let Founded { code, dev, _relay, .. } = founded_at(tmp.path(), db, code, relay);
    let cell: ServiceCell = Mutex::new(None);
    let ready = Condvar::new();
    let s = dev.enroll(&code, &cell, &ready).unwrap();
    assert_eq!(s.state, SyncState::ClockSkew, "{s:?}");
    assert_eq!(s.label_ja, "端末の時刻がずれています。時刻を合わせてください");
    assert!(s.next_ja.contains("「自動」") && s.next_ja.contains("保存されて"), "{s:?}");
    // Still retried: the next round says the same, not offline.
    dev.step(&cell, &ready);
    assert_eq!(dev.status().state, SyncState::ClockSkew);

    let control = tempfile::tempdir().unwrap();
    let Founded { code, dev, _relay, .. } = founded(control.path());
    assert_eq!(dev.enroll(&code, &Mutex::new(None), &ready).unwrap().state, SyncState::Online);
}

/// A change the relay refuses for good (over its entry limit) is set aside: the header shows
/// it as an error with the next step, never 最新, and the tablet keeps syncing. Control: 最新
/// on the same tablet before the change.
#[test]
fn a_change_the_relay_refuses_for_good_is_shown_not_up_to_date() {
    use houmon_model::{Actor, Demographics, SoapNote, StaffId, VisitId, VisitKind};
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("relay.db");
    let code = founding_code(&db);
    let relay = start_relay_cmd(Command::new(relay_bin()), &db, &["--max-entry-bytes", "65536"]);
    let Founded { code, dev, _relay, .. } = founded_at(tmp.path(), db, code, relay);
    let cell: ServiceCell = Mutex::new(None);
    let ready = Condvar::new();
    assert_eq!(dev.enroll(&code, &cell, &ready).unwrap().state, SyncState::Online);
    dev.step(&cell, &ready);
    with_svc(&cell, |svc| {
        let st = svc.store_mut();
        let actor = Actor { staff: StaffId::new(), device: houmon_model::DeviceId::new() };
        let p =
            st.register_patient(&actor, &Demographics { name: "大きな 記録".into(), ..Default::default() }).unwrap();
        let v = VisitId::new();
        st.start_visit(&actor, p, v, VisitKind::HomeNursing).unwrap();
        // 160 KB of text that does not compress (xorshift, fixed seed): one change over the
        // 64 KiB limit.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut part = || -> String {
            (0..40_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    char::from(b'0' + (x % 75) as u8)
                })
                .collect()
        };
        let note = SoapNote { subjective: part(), objective: part(), assessment: part(), plan: part() };
        st.save_note(&actor, p, v, None, &note).unwrap();
    });
    dev.step(&cell, &ready);
    let s = dev.status();
    assert_eq!(s.state, SyncState::SetAside, "{s:?}");
    assert_eq!(s.label_ja, "送信できない変更があります(1件)");
    assert!(s.next_ja.contains("保存されて"), "{s:?}");
    assert_eq!(s.pending, 0, "nothing left stuck in the queue");
}

/// The administrator turns `remoteWipe` on while the app runs: the next runner step erases the
/// store and keys, the app shows the enrollment screen with the reason, and no code enrolls the
/// device while the policy stands.
#[test]
fn a_remote_wipe_pushed_while_the_app_runs_erases_the_device() {
    let tmp = tempfile::tempdir().unwrap();
    let Founded { code, _relay, policies, policy: base, opts, dev, .. } = founded(tmp.path());
    let cell: ServiceCell = Mutex::new(None);
    let ready = Condvar::new();
    assert_eq!(dev.enroll(&code, &cell, &ready).unwrap().state, SyncState::Online);
    let dir = device_dir(&opts.data_dir);
    assert!(with_svc(&cell, |s| s.store_dir().exists()));

    let mut wiping = base;
    wiping["remoteWipe"] = serde_json::json!(true);
    write_policy(&policies, wiping);
    let mut s = dev.status();
    for _ in 0..50 {
        dev.step(&cell, &ready);
        s = dev.status();
        if s.needs_enrollment {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!((s.state, s.label_ja.as_str()), (SyncState::Unenrolled, "未登録"), "{s:?}");
    assert!(s.next_ja.contains("リモート消去"), "{s:?}");
    assert!(matches!(lock(&cell).as_ref(), Some(Err(e)) if e.code == AppErrorCode::NotEnrolled));
    let left: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, vec!["device.json".to_string()], "data and keys erased");
    let e = dev.enroll(&code, &cell, &ready).unwrap_err();
    assert!(e.ja.contains("リモート消去"), "no enrollment while the wipe stands: {e:?}");
}

/// The clinic side of the qualification test: an admin device that set up the clinic and
/// answers qualification requests as the gateway does (`Gateway::simulator`, in-process).
struct ClinicGateway {
    store: Store,
    client: houmon_sync::SyncClient,
    gateway: houmon_gateway::Gateway,
}

impl ClinicGateway {
    /// One gateway round: catch up, answer, upload. Returns (answered, failed).
    fn round(&mut self) -> (usize, usize) {
        let r = self.gateway.run_once(&mut self.store, &mut self.client).expect("gateway round");
        (r.answered, r.failed)
    }
}

/// The row of today's list for `patient` (by id: names change once the answer arrives).
fn row_of(cell: &ServiceCell, patient: &str) -> crate::dto::VisitRow {
    let mut g = lock(cell);
    let svc = g.as_mut().unwrap().as_mut().expect("service");
    svc.todays_visits().unwrap().into_iter().find(|r| r.patient_id == patient).expect("visit today")
}

fn with_svc<R>(cell: &ServiceCell, f: impl FnOnce(&mut Service) -> R) -> R {
    let mut g = lock(cell);
    f(g.as_mut().unwrap().as_mut().expect("service"))
}

fn first_visit(row: &crate::dto::VisitRow, pin: &str) -> crate::dto::FirstVisitInput {
    crate::dto::FirstVisitInput {
        patient_id: row.patient_id.clone(),
        visit_id: row.visit_id.clone(),
        consent: crate::dto::ConsentChoices {
            medication: true,
            clinical: true,
            checkup: false,
            surgery: false,
            prescription: PrescriptionForm::Electronic,
        },
        mode: IdentityMode::Pin,
        pin: Some(pin.into()),
        confirm_last_try: false,
    }
}

#[test]
fn enrolled_qualification_goes_through_the_gateway_and_the_answer_syncs_back() {
    use crate::service::CardSource;
    use houmon_gateway::{Gateway, saved_actor};
    use houmon_keys::DeviceSigningKey;
    use houmon_model::*;
    use houmon_sync::SyncClient;
    use houmon_sync_proto::Role;
    use houmon_sync_proto::http::RelayHttp;

    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("relay.db");
    let code = founding_code(&db);
    let relay = start_relay(&db);

    // The office sets up the clinic, a nurse with her staff PIN, and today's two visits; the
    // same participant then runs as the clinic's gateway.
    let gdir = tmp.path().join("gateway");
    let mut store = Store::open(&gdir, &houmon_keys::FileFallback).unwrap();
    let actor = saved_actor(&mut store).unwrap();
    let key = DeviceSigningKey::generate().unwrap().0;
    let mut client =
        SyncClient::enroll(&mut store, RelayHttp::new(&relay.1), key, &code, "houmon-gateway", actor).unwrap();
    client.set_subscription(&mut store, None).unwrap();
    store.init_clinic(&actor, ClinicId::new(), "架空在宅クリニック", "3410712362").unwrap();
    let nurse = Staff {
        id: StaffId::new(),
        name: "訪問 看護師".into(),
        kana: "ホウモン カンゴシ".into(),
        role: StaffRole::Nurse,
        qualifications: String::new(),
        active: true,
    };
    store.put_staff(&actor, &nurse).unwrap();
    let setup = store.issue_pin_setup(&actor, nurse.id, houmon_store::staff_pin::SetupScope::Reset).unwrap();
    let today = crate::service::jst_today();
    let mut patient = |name: &str, hour: u32| {
        let p = store.register_patient(&actor, &Demographics { name: name.into(), ..Default::default() }).unwrap();
        let at = |m| chrono::NaiveTime::from_hms_opt(hour, m, 0).unwrap();
        store
            .plan_visit(
                &actor,
                &RosterVisit {
                    id: VisitId::new(),
                    date: today,
                    start: at(0),
                    end: at(45),
                    patient: p,
                    staff: vec![nurse.id],
                    kind: VisitKind::HomeMedical,
                    status: VisitStatus::Planned,
                    cancel_reason: String::new(),
                    series: None,
                },
            )
            .unwrap();
        p.to_string()
    };
    let first = patient("初診 患者", 9);
    let revoked = patient("失効カード 患者", 11);
    client.sync_once(&mut store).unwrap();
    let tablet_code = client.create_enrollment_code(Role::Member, 3600).unwrap();
    let gateway = Gateway::simulator(&mut store, actor).unwrap();
    let mut clinic = ClinicGateway { store, client, gateway };

    // The tablet: trainingMode off, the relay and a managed code; the training cards stand
    // in for the PC/SC reader (tests only).
    let policies = tmp.path().join("policies");
    write_policy(
        &policies,
        serde_json::json!({"relayUrl": relay.1, "trainingMode": "off", "enrollmentCode": tablet_code}),
    );
    let opts =
        ServiceOptions { data_dir: tmp.path().join("app"), card: CardSource::TrainingOnly, ..Default::default() };
    let Mode::Managed(dev) = Mode::decide(&opts, sources(&policies)).unwrap() else { panic!("managed device") };
    let cell: ServiceCell = Mutex::new(None);
    let ready = Condvar::new();
    dev.step(&cell, &ready);
    dev.step(&cell, &ready);
    assert_eq!(dev.status().state, SyncState::Online, "{:?}", dev.status());
    with_svc(&cell, |s| {
        // The store was lent before the first sync: the clinic document's name (and 医療機関
        // コード) are taken up once it has arrived.
        s.refresh_after_sync();
        let info = s.app_info();
        assert!(!info.training_mode);
        assert_eq!(info.clinic_name, "架空在宅クリニック");
        assert!(info.locked, "an enrolled device starts locked");
        assert_eq!(s.todays_visits().unwrap_err().code, AppErrorCode::Locked);
        let e = s.unlock(Some(&nurse.id.to_string()), "482913".into()).unwrap_err();
        assert_eq!(e.code, AppErrorCode::StaffPinSetupNeeded, "no PIN synced from the office");
        s.choose_staff_pin(&nurse.id.to_string(), setup.code.to_string(), "482913".into()).unwrap();
    });
    // The nurse now uses this tablet: the next round (woken by the shell) brings her charts.
    dev.step(&cell, &ready);

    // First visit with the card and PIN: nothing is asked of the national system here; the
    // request waits for the gateway and the screen says so.
    let row = row_of(&cell, &first);
    assert_eq!(row.check.reason, CheckReason::FirstVisit);
    let r = with_svc(&cell, |s| {
        s.demo_place_card(Some("vc-01"), None).unwrap();
        s.confirm_with_card(first_visit(&row, "1234"), &mut |_| {}).unwrap()
    });
    assert_eq!(r.outcome, CheckOutcome::Requested);
    assert!(r.ja.starts_with("照会中です。事務所の資格確認端末が回答すると表示されます"), "{r:?}");
    assert!(r.qualification.is_none());
    let req = r.check.request.clone().expect("request shown");
    assert_eq!((req.state, req.kind), (RequestState::Pending, RequestKind::FirstVisit));
    let row = row_of(&cell, &first);
    assert_eq!(row.check.request.as_ref().map(|q| q.state), Some(RequestState::Pending));
    let chart = with_svc(&cell, |s| s.patient_chart(&first, None).unwrap());
    assert!(chart.qualifications.is_empty() && chart.consents.is_empty(), "no answer yet: {chart:?}");

    // Sync carries it at once (the command wakes the runner); the gateway answers; the next
    // sync brings the answer back. Until it comes, the runner looks every few seconds instead
    // of at its 30-second round.
    let idle = (0..5).map(|_| dev.step(&cell, &ready)).find(|d| !d.is_zero());
    assert_eq!(idle, Some(Duration::from_secs(30)), "nothing asked of the gateway yet: the normal round");
    dev.await_gateway_answer();
    dev.step(&cell, &ready); // sends the request
    assert_eq!(dev.step(&cell, &ready), Duration::from_secs(5), "no answer yet: look again in 5 s, not 30 s");
    assert_eq!(clinic.round(), (1, 0));
    dev.step(&cell, &ready);
    let row = row_of(&cell, &first);
    let req = row.check.request.clone().expect("request");
    assert_eq!((req.state, req.validity), (RequestState::Answered, Some(QualificationValidity::Valid)), "{req:?}");
    assert!(req.ja.contains("有効"), "{req:?}");
    assert_eq!(row.check.path, CheckPath::Requery, "the gateway's consent record starts the timeline: {row:?}");
    assert_ne!(row.patient_name, "初診 患者", "demographics from the answer");
    let chart = with_svc(&cell, |s| s.patient_chart(&first, None).unwrap());
    assert_eq!(chart.insurance.as_ref().map(|q| q.validity), Some(QualificationValidity::Valid));
    assert_eq!(chart.consents.len(), 1);
    assert!(chart.consents[0].signed_by_card && chart.consents[0].identity == IdentityMode::Pin);
    assert_eq!(chart.check.request.as_ref().map(|q| q.state), Some(RequestState::Answered));

    // A later 再照会: pending, then valid.
    let r = with_svc(&cell, |s| s.requery(&first, &row.visit_id).unwrap());
    assert_eq!(r.outcome, CheckOutcome::Requested);
    assert_eq!(
        r.check.request.as_ref().map(|q| (q.state, q.kind)),
        Some((RequestState::Pending, RequestKind::Requery))
    );
    dev.step(&cell, &ready);
    assert_eq!(clinic.round(), (1, 0));
    dev.step(&cell, &ready);
    let req = row_of(&cell, &first).check.request.expect("request");
    assert_eq!(
        (req.state, req.kind, req.validity),
        (RequestState::Answered, RequestKind::Requery, Some(QualificationValidity::Valid))
    );
    assert_eq!(with_svc(&cell, |s| s.patient_chart(&first, None).unwrap()).qualifications.len(), 2);

    // The revoked card vc-04: the gateway's refusal comes back with the reason and next step.
    let row = row_of(&cell, &revoked);
    let r = with_svc(&cell, |s| {
        s.demo_place_card(Some("vc-04"), None).unwrap();
        s.confirm_with_card(first_visit(&row, "1111"), &mut |_| {}).unwrap()
    });
    assert_eq!(r.outcome, CheckOutcome::Requested);
    dev.step(&cell, &ready);
    assert_eq!(clinic.round(), (0, 1));
    dev.step(&cell, &ready);
    let row = row_of(&cell, &revoked);
    let req = row.check.request.clone().expect("request");
    assert_eq!(req.state, RequestState::Failed, "{req:?}");
    assert_eq!(req.failure, Some(RequestFailure::ServiceError), "{req:?}");
    assert!(req.ja.contains("失効") && !req.en.is_empty(), "{req:?}");
    assert_eq!(row.check.path, CheckPath::Card, "no consent from a refused card");
    let chart = with_svc(&cell, |s| s.patient_chart(&revoked, None).unwrap());
    assert!(chart.consents.is_empty() && chart.insurance.is_none());
    assert_eq!(chart.check.request.as_ref().map(|q| q.state), Some(RequestState::Failed));

    // The back office queue shows both answers and the refusal's text.
    let queue = with_svc(&cell, |s| s.qualification_queue().unwrap());
    assert_eq!(queue.len(), 3, "{queue:?}");
    assert!(queue.iter().all(|q| q.answered || q.state == Some(RequestState::Failed)), "{queue:?}");
    let failed = queue.iter().find(|q| q.patient_id == revoked).expect("queue row");
    assert_eq!(failed.state, Some(RequestState::Failed));
    assert_eq!(failed.ja, req.ja);
}
