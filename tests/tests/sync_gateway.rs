//! Qualification over sync (ARCHITECTURE.md, *Qualification travels over sync*), end to end:
//! the real `houmon-relay` and the real `houmon-gateway` binaries on loopback. A tablet writes
//! qualification requests into charts (a first visit signed with a synthetic card's key,
//! exactly as the card signs; a 再照会), the gateway answers them from the simulator, and the
//! tablet sees the answers after a sync.
//! Refusals (revoked card, no consent) come back as answered requests with a clear reason.

use houmon_model::check::RequestFailure;
use houmon_model::*;
use houmon_onshi::consent::VisitKind as OnshiVisitKind;
use houmon_onshi::sim::{Registry, ReinquiryRequest, SimResultCode};
use houmon_onshi::{InsurerNumber, MedicalInstitutionCode, QualificationConfirmSearchInfo};
use houmon_sync_proto::Role;
use houmon_tests::bench_sync::*;
use houmon_tests::first_visit::signed_first_visit;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTITUTION: &str = "3410712362";

/// Path of `houmon-gateway`: `HOUMON_GATEWAY_BIN`, next to this test (same target dir, as
/// `cargo test --workspace` builds it), or built on demand into a side target dir.
fn gateway_bin() -> PathBuf {
    if let Ok(p) = std::env::var("HOUMON_GATEWAY_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("houmon-gateway");
    if bin.exists() {
        return bin;
    }
    // The running cargo holds the lock on our target dir: build into a side one.
    let side = dir.join("houmon-gateway-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let _ = Command::new(cargo)
        .args(["build", "-p", "houmon-gateway", "--bin", "houmon-gateway"])
        .env("CARGO_TARGET_DIR", &side)
        .status();
    side.join("debug").join("houmon-gateway")
}

/// A running gateway process (killed on drop); its output goes to files for diagnosis.
struct GatewayProc {
    child: Child,
    log: PathBuf,
}

impl GatewayProc {
    fn start(relay: &RelayProc, dir: &Path, code: Option<&str>) -> Self {
        let log = dir.with_extension("log");
        let out = std::fs::File::create(&log).expect("log");
        let mut c = Command::new(gateway_bin());
        c.args(["--relay", &relay.base(), "--data-dir"]).arg(dir).arg("--simulator");
        if let Some(code) = code {
            c.args(["--enroll-code", code]);
        }
        let child = c
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("start houmon-gateway (see gateway_bin)");
        Self { child, log }
    }
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for GatewayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn reinquiry(search: QualificationConfirmSearchInfo) -> QualificationQuery {
    QualificationQuery::Reinquiry(ReinquiryRequest {
        medical_institution_code: MedicalInstitutionCode::parse_valid(INSTITUTION).expect("code"),
        search,
        visit_kind: OnshiVisitKind::HomeMedical,
        arbitrary_file_identifier: None,
    })
}

fn search_from(q: &QualificationSnapshot) -> QualificationConfirmSearchInfo {
    QualificationConfirmSearchInfo {
        insurer_number: InsurerNumber::parse(&q.insurer_number).ok(),
        insured_card_symbol: Some(q.symbol.clone()).filter(|s| !s.is_empty()),
        insured_identification_number: Some(q.number.clone()),
        insured_branch_number: Some(q.branch.clone()).filter(|s| !s.is_empty()),
        birthdate: q.demographics.birth_date,
        ..Default::default()
    }
}

/// Sync the tablet until every listed request is answered (or fail after a minute).
fn sync_until_answered(tablet: &mut SyncDevice, wanted: &[(PatientId, QualificationId)], gw: &GatewayProc) {
    let start = Instant::now();
    loop {
        tablet.sync().expect("tablet sync");
        let done = wanted.iter().all(|(p, id)| {
            let c = tablet.store.open_chart(&tablet.actor, *p).expect("chart");
            c.qualification_requests.iter().any(|r| r.id == *id && r.answered)
        });
        if done {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no answer within a minute; gateway said:\n{}", gw.output());
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn request(tablet: &mut SyncDevice, p: PatientId, id: QualificationId) -> QualificationRequest {
    let c = tablet.store.open_chart(&tablet.actor, p).expect("chart");
    c.qualification_requests.into_iter().find(|r| r.id == id).expect("request")
}

#[test]
fn the_gateway_answers_a_tablets_requests_over_the_relay() {
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("relay.db");
    let code = create_clinic(&db, "ゲートウェイ診療所").expect("clinic");
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let mut office = SyncDevice::enroll(&tmp.path().join("office"), relay.http(), &code, "事務所PC").expect("office");
    office.store.init_clinic(&office.actor, ClinicId::new(), "ゲートウェイ診療所", INSTITUTION).expect("init");
    let placeholder = |n: &str| Demographics { name: n.into(), ..Default::default() };
    let new_patient = office.store.register_patient(&office.actor, &placeholder("初診 患者")).expect("patient");
    let revoked_card = office.store.register_patient(&office.actor, &placeholder("失効 患者")).expect("patient");
    let no_consent = office.store.register_patient(&office.actor, &placeholder("同意なし 患者")).expect("patient");
    office.sync().expect("office sync");
    let tablet_code = office.sync.create_enrollment_code(Role::Member, 3600).expect("code");
    let gateway_code = office.sync.create_enrollment_code(Role::Member, 3600).expect("code");
    let mut tablet =
        SyncDevice::enroll(&tmp.path().join("tablet"), relay.http(), &tablet_code, "タブレット").expect("tab");
    tablet.sync().expect("tablet sync");

    // At the bedside, offline: a first visit signed with the card, one with the revoked
    // card vc-04, and a 再照会 for a person who never consented to this clinic.
    let fv = tablet
        .store
        .request_qualification_query(&tablet.actor, new_patient, &signed_first_visit("vc-01", INSTITUTION))
        .unwrap();
    let rv = tablet
        .store
        .request_qualification_query(&tablet.actor, revoked_card, &signed_first_visit("vc-04", INSTITUTION))
        .unwrap();
    let registry = Registry::synthetic();
    let stranger = registry.persons.last().and_then(|p| p.qualifications.first()).expect("synthetic person");
    let nc = tablet
        .store
        .request_qualification_query(&tablet.actor, no_consent, &reinquiry(Registry::search_info_for(stranger)))
        .unwrap();
    tablet.sync().expect("tablet uploads the requests");

    let gw_dir = tmp.path().join("gateway");
    let gw = GatewayProc::start(&relay, &gw_dir, Some(&gateway_code));
    sync_until_answered(&mut tablet, &[(new_patient, fv), (revoked_card, rv), (no_consent, nc)], &gw);

    // The first visit came back as a result: valid, with the insurance numbers and consents.
    let chart = tablet.store.read_chart(new_patient).expect("chart");
    let q = chart.qualifications.iter().find(|q| q.id == fv).expect("result").clone();
    assert_eq!(q.validity, QualificationValidity::Valid);
    assert!(!q.insurer_number.is_empty() && !q.number.is_empty(), "{q:?}");
    assert!(q.consent_medication && q.consent_clinical && !q.consent_surgery);
    assert_ne!(chart.demographics.name, "初診 患者", "demographics were filled from the answer");
    let patient_name = chart.demographics.name.clone();

    // The refusals are answered too, each with a reason and what to do next.
    let f = request(&mut tablet, revoked_card, rv).failure.expect("revoked card answered as a failure");
    assert_eq!(
        (f.code, f.service_code.as_deref()),
        (RequestFailure::ServiceError, Some(SimResultCode::CertificateRevoked.code()))
    );
    assert!(!f.message_ja.is_empty() && !f.message_en.is_empty(), "{f:?}");
    assert!(tablet.store.open_chart(&tablet.actor, revoked_card).unwrap().qualifications.is_empty());
    let f = request(&mut tablet, no_consent, nc).failure.expect("no consent answered as a failure");
    assert_eq!(f.code, RequestFailure::NoConsent);
    assert!(f.message_ja.contains("同意"), "{f:?}");

    // A later visit: 再照会 with the numbers from the first visit, answered by the running
    // gateway as soon as the relay pushes the request to it.
    let rq = tablet.store.request_qualification_query(&tablet.actor, new_patient, &reinquiry(search_from(&q))).unwrap();
    sync_until_answered(&mut tablet, &[(new_patient, rq)], &gw);
    let chart = tablet.store.read_chart(new_patient).expect("chart");
    let q2 = chart.qualifications.iter().find(|x| x.id == rq).expect("requery result");
    assert_eq!(q2.validity, QualificationValidity::Valid);
    assert_eq!((q2.insurer_number.as_str(), q2.number.as_str()), (q.insurer_number.as_str(), q.number.as_str()));

    // Restart the gateway (no code needed any more): it answers nothing twice.
    drop(gw);
    let out = Command::new(gateway_bin())
        .args(["--relay", &relay.base(), "--data-dir"])
        .arg(&gw_dir)
        .args(["--simulator", "--once"])
        .stdin(Stdio::null())
        .output()
        .expect("gateway --once");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("round answered 0 failed 0 waiting 0"), "{stdout}");
    tablet.sync().expect("sync");
    let chart = tablet.store.read_chart(new_patient).expect("chart");
    assert_eq!(chart.qualifications.len(), 2, "one result per request");
    assert!(chart.qualification_requests.iter().all(|r| r.answered));

    // The gateway and the tablet hold identical documents.
    let mut gw_store = SyncDevice::reopen(&gw_dir, Some(relay.http()), actor()).expect("gateway store");
    gw_store.sync().expect("gateway sync");
    tablet.sync().expect("tablet sync");
    assert_eq!(gw_store.heads(), tablet.heads(), "gateway and tablet converged");

    // The answers crossed the relay encrypted: no name from the simulator in its database.
    let bytes = relay_db_bytes(&relay.db);
    assert!(!patient_name.is_empty());
    assert_eq!(count(&bytes, patient_name.as_bytes()), 0, "patient name in the relay database");
}

#[test]
fn the_gateway_explains_bad_starts_in_japanese_and_english() {
    let tmp = tempfile::tempdir().expect("tmp");
    let run = |args: &[&str]| {
        let out = Command::new(gateway_bin()).args(args).output().expect("run houmon-gateway");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let dir = tmp.path().join("gw");
    let d = dir.to_str().expect("utf-8 path");
    // Not enrolled and no code.
    let (status, err) = run(&["--relay", "http://127.0.0.1:9", "--data-dir", d, "--simulator"]);
    assert_eq!(status, Some(1));
    assert!(err.contains("未登録") && err.contains("not enrolled"), "{err}");
    // No answer source chosen.
    let (status, err) = run(&["--relay", "http://127.0.0.1:9", "--data-dir", d]);
    assert_eq!(status, Some(1));
    assert!(err.contains("--simulator") && err.contains("資格確認端末") && err.contains("Choose one"), "{err}");
    // A malformed enrollment code is refused before anything is sent.
    let (status, err) =
        run(&["--relay", "http://127.0.0.1:9", "--data-dir", d, "--simulator", "--enroll-code", "nonsense"]);
    assert_eq!(status, Some(2));
    assert!(err.contains("登録コード") && err.contains("enrollment code"), "{err}");
}
