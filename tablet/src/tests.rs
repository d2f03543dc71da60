//! Service tests on a real encrypted store in a temp dir, the in-process simulator and the
//! virtual cards: no window, no mocks.

use crate::dto::*;
use crate::service::{CardSource, Service, ServiceOptions, check_vitals};
use houmon_model::{Actor, DeviceId, StaffId};

fn open(dir: &std::path::Path) -> Service {
    Service::open(&ServiceOptions { data_dir: dir.to_path_buf(), card: CardSource::TrainingOnly, ..Default::default() })
        .expect("service opens")
}

fn holder_row<'a>(rows: &'a [VisitRow], id: &str) -> &'a VisitRow {
    let h = houmon_nfc::synthetic_holders().into_iter().find(|h| h.id == id).expect("holder");
    let name = format!("{} {}", h.family_name, h.given_name);
    rows.iter().find(|r| r.patient_name == name).expect("training patient visits today")
}

fn input(row: &VisitRow, pin: Option<&str>) -> FirstVisitInput {
    FirstVisitInput {
        patient_id: row.patient_id.clone(),
        visit_id: row.visit_id.clone(),
        consent: ConsentChoices {
            medication: true,
            clinical: true,
            checkup: false,
            surgery: false,
            prescription: PrescriptionForm::Electronic,
        },
        mode: if pin.is_some() { IdentityMode::Pin } else { IdentityMode::Visual },
        pin: pin.map(str::to_string),
        confirm_last_try: false,
    }
}

#[test]
fn demo_day_lists_the_training_patients_with_their_check_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let info = s.app_info();
    assert!(info.training_mode);
    assert_eq!(info.staff_name, "訓練 医師");
    let rows = s.todays_visits().unwrap();
    assert_eq!(rows.len(), 5, "one visit per synthetic card holder");
    assert!(rows.windows(2).all(|w| w[0].start <= w[1].start), "in time order");
    assert_eq!(holder_row(&rows, "vc-01").check.reason, CheckReason::FirstVisit);
    assert_eq!(holder_row(&rows, "vc-03").check.reason, CheckReason::UrgentCall);
    assert_eq!(holder_row(&rows, "vc-03").kind, VisitKind::UrgentCall);
    // Re-opening does not plan the day twice.
    drop(s);
    let mut s = open(dir.path());
    assert_eq!(s.todays_visits().unwrap().len(), 5);
}

#[test]
fn first_visit_wrong_pin_then_right_pin_then_requery_also_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let rows = s.todays_visits().unwrap();
    let row = holder_row(&rows, "vc-01").clone();
    let mut steps = Vec::new();
    assert_eq!(s.card_check(&mut |p| steps.push(p.step)).unwrap().tries_left, Some(3));
    assert_eq!(steps.last(), Some(&CardStep::Done));

    // 再照会 before any consent is refused with the reason.
    let e = s.requery(&row.patient_id, &row.visit_id).unwrap_err();
    assert_eq!(e.code, CheckReason::FirstVisit);
    assert!(e.ja.contains("マイナンバーカード"));

    let e = s.confirm_with_card(input(&row, Some("9999")), &mut |_| {}).unwrap_err();
    assert_eq!((e.code, e.tries_left), (UiErrorCode::Card(CardErrorCode::WrongPin), Some(2)));
    assert!(e.ja.contains("残り2回"), "{}", e.ja);
    assert_eq!(s.card_check(&mut |_| {}).unwrap().tries_left, Some(2), "the card really counted it");

    let r = s.confirm_with_card(input(&row, Some("1234")), &mut |_| {}).unwrap();
    assert_eq!(r.outcome, CheckOutcome::Valid, "{}", r.ja);
    let q = r.qualification.expect("insurance returned");
    assert!(q.copay_percent.is_some(), "負担割合 known");
    assert_eq!(r.check.path, CheckPath::Requery);
    assert!(r.check.days_left.unwrap() > 28);

    let chart = s.patient_chart(&row.patient_id, None).unwrap();
    assert_eq!(chart.consents.len(), 1);
    assert!(chart.consents[0].signed_by_card);
    assert_eq!(chart.insurance.as_ref().map(|i| i.validity), Some(QualificationValidity::Valid));

    let rq = s.requery(&row.patient_id, &row.visit_id).unwrap();
    assert_eq!(rq.outcome, CheckOutcome::Valid, "{}", rq.ja);

    // After a restart the in-process simulator has forgotten; the signed consent is replayed.
    drop(s);
    let mut s = open(dir.path());
    let rq = s.requery(&row.patient_id, &row.visit_id).unwrap();
    assert_eq!(rq.outcome, CheckOutcome::Valid, "{}", rq.ja);
    let queue = s.qualification_queue().unwrap();
    assert!(queue.iter().any(|q| q.answered));
    assert!(s.audit_log(50).unwrap().chain_ok);
}

#[test]
fn last_try_needs_confirmation_and_a_blocked_pin_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let rows = s.todays_visits().unwrap();
    let row = holder_row(&rows, "vc-01").clone();
    for left in [2, 1] {
        let e = s.confirm_with_card(input(&row, Some("0000")), &mut |_| {}).unwrap_err();
        assert_eq!(e.tries_left, Some(left));
    }
    // One try left: nothing is sent without the confirmation.
    let e = s.confirm_with_card(input(&row, Some("1234")), &mut |_| {}).unwrap_err();
    assert_eq!(e.code, CardErrorCode::LastTryNeedsConfirmation);
    assert_eq!(s.card_check(&mut |_| {}).unwrap().tries_left, Some(1), "no PIN was sent");
    let mut i = input(&row, Some("0000"));
    i.confirm_last_try = true;
    let e = s.confirm_with_card(i, &mut |_| {}).unwrap_err();
    assert_eq!(e.tries_left, Some(0));
    let e = s.confirm_with_card(input(&row, Some("1234")), &mut |_| {}).unwrap_err();
    assert_eq!(e.code, CardErrorCode::PinBlocked);
    assert!(e.ja.contains("市区町村"));
    // 目視 still works when the clinic allows it, but only after the card's photo was shown.
    let e = s.confirm_with_card(input(&row, None), &mut |_| {}).unwrap_err();
    assert_eq!(e.code, AppErrorCode::FaceNotShown);
    let holder = houmon_nfc::synthetic_holders().into_iter().find(|h| h.id == "vc-01").unwrap();
    let e = s.card_face(&row.patient_id, "0".repeat(14)).unwrap_err();
    assert_eq!(e.code, CardErrorCode::WrongCodeB);
    assert!(e.ja.contains("残り9回"), "照合番号B has 10 tries, one spent: {}", e.ja);
    let face = s.card_face(&row.patient_id, holder.verification_code_b()).unwrap();
    assert!(face.png_data_url.starts_with("data:image/png;base64,"));
    assert!(face.width > 0 && face.height > 0);
    assert_eq!(face.authenticity, FaceAuthenticity::Verified, "the training issuer signed the virtual card");
    assert!(face.visual_allowed);
    let audit = s.audit_log(20).unwrap();
    assert!(audit.rows.iter().any(|e| e.detail.contains("検証済み")), "the photo view is audited");
    let r = s.confirm_with_card(input(&row, None), &mut |_| {}).unwrap();
    assert_eq!(r.outcome, CheckOutcome::Valid, "{}", r.ja);
    // The next visual check needs the photo again.
    let e = s.confirm_with_card(input(&row, None), &mut |_| {}).unwrap_err();
    assert_eq!(e.code, AppErrorCode::FaceNotShown);
}

#[test]
fn visual_check_without_a_verified_chip_photo_needs_the_clinic_policy_and_is_audited_so() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(policies.join("managed")).unwrap();
    let opts = ServiceOptions {
        data_dir: dir.path().join("app"),
        card: CardSource::TrainingOnly,
        policy_dir: Some(policies.clone()),
        ..Default::default()
    };
    let mut s = Service::open(&opts).unwrap();
    assert!(!s.app_info().allow_unverified_visual_check, "off by default");
    let row = holder_row(&s.todays_visits().unwrap(), "vc-02").clone();
    // 照合番号B blocked after 10 wrong codes: only the printed photo is left.
    for _ in 0..10 {
        let _ = s.card_face(&row.patient_id, "0".repeat(14));
    }
    let e = s.card_face(&row.patient_id, "0".repeat(14)).unwrap_err();
    assert_eq!(e.code, CardErrorCode::CodeBBlocked);
    assert!(e.ja.contains("暗証番号で確認"), "default policy: no 目視 on the printed photo: {}", e.ja);
    let e = s.confirm_with_card(input(&row, None), &mut |_| {}).unwrap_err();
    assert_eq!(e.code, AppErrorCode::FaceUnverified, "{}", e.ja);
    // The clinic allows it: the same printed photo now carries a visual check, audited as such.
    std::fs::write(policies.join("managed/houmon.json"), r#"{"visualCheckUnverifiedPhoto": true}"#).unwrap();
    s.lock();
    s.unlock(None, "0000".into()).unwrap();
    assert!(s.app_info().allow_unverified_visual_check);
    let e = s.card_face(&row.patient_id, "0".repeat(14)).unwrap_err();
    assert_eq!(e.code, CardErrorCode::CodeBBlocked);
    assert!(e.ja.contains("カード表面の写真で目視確認"), "{}", e.ja);
    let r = s.confirm_with_card(input(&row, None), &mut |_| {}).unwrap();
    assert_eq!(r.outcome, CheckOutcome::Valid, "{}", r.ja);
    let audit = s.audit_log(50).unwrap();
    assert!(audit.rows.iter().any(|e| e.detail == "目視確認を拒否: 検証済みの顔写真なし"));
    assert!(audit.rows.iter().any(|e| e.detail.contains("カード表面の写真のみと照合(クリニックの方針で許可)")));
}

#[test]
fn card_errors_are_clear_no_card_removed_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let rows = s.todays_visits().unwrap();
    s.demo_place_card(None, None).unwrap();
    let e = s.card_check(&mut |_| {}).unwrap_err();
    assert_eq!(e.code, CardErrorCode::NoCard);
    assert!(e.ja.contains("置いてください"));
    s.demo_place_card(Some("vc-01"), Some(2)).unwrap();
    let e = s.card_check(&mut |_| {}).unwrap_err();
    assert_eq!(e.code, CardErrorCode::CardRemoved);
    // vc-04's certificate is revoked: refused, and no consent is recorded.
    let row = holder_row(&rows, "vc-04").clone();
    s.demo_place_card(Some("vc-04"), None).unwrap();
    let r = s.confirm_with_card(input(&row, Some("1111")), &mut |_| {}).unwrap();
    assert_eq!(r.outcome, CheckOutcome::Error);
    assert!(r.ja.contains("失効"), "{}", r.ja);
    assert!(s.patient_chart(&row.patient_id, None).unwrap().consents.is_empty());
}

#[test]
fn urgent_call_needs_the_card_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let rows = s.todays_visits().unwrap();
    let row = holder_row(&rows, "vc-03").clone();
    s.demo_place_card(Some("vc-03"), None).unwrap();
    let r = s.confirm_with_card(input(&row, Some("7391")), &mut |_| {}).unwrap();
    assert_eq!(r.outcome, CheckOutcome::Valid, "{}", r.ja);
    assert_eq!(r.check.reason, CheckReason::UrgentCall, "still a card check next time");
    let e = s.requery(&row.patient_id, &row.visit_id).unwrap_err();
    assert_eq!(e.code, CheckReason::UrgentCall);
}

#[test]
fn note_draft_is_durable_and_signing_freezes_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let rows = s.todays_visits().unwrap();
    let row = holder_row(&rows, "vc-02").clone();
    let soap = Soap { s: "よく眠れた".into(), o: "浮腫なし".into(), a: String::new(), p: String::new() };
    let first = s.save_note(&row.patient_id, &row.visit_id, None, &soap).unwrap();
    let soap2 = Soap { a: "安定".into(), ..soap.clone() };
    let again = s.save_note(&row.patient_id, &row.visit_id, Some(&first.note_id), &soap2).unwrap();
    assert_eq!(first.note_id, again.note_id, "the draft is updated in place");
    drop(s);
    let mut s = open(dir.path());
    let chart = s.patient_chart(&row.patient_id, None).unwrap();
    let visit = chart.visits.iter().find(|v| v.id == row.visit_id).expect("visit started");
    assert_eq!(visit.notes.len(), 1);
    assert_eq!(visit.notes[0].soap, soap2);
    s.sign_note(&row.patient_id, &first.note_id).unwrap();
    let e = s.save_note(&row.patient_id, &row.visit_id, Some(&first.note_id), &soap).unwrap_err();
    assert_eq!(e.code, AppErrorCode::NoteSigned);
    let fixed = s.correct_note(&row.patient_id, &first.note_id, &soap, "誤記訂正").unwrap();
    let chart = s.patient_chart(&row.patient_id, None).unwrap();
    let notes = &chart.visits.iter().find(|v| v.id == row.visit_id).unwrap().notes;
    assert_eq!(notes.len(), 2, "both versions kept");
    assert!(notes.iter().any(|n| n.id == fixed.note_id && n.replaces.as_deref() == Some(&first.note_id)));
}

#[test]
fn vitals_range_checks() {
    let ok = VitalsInput {
        systolic: Some(128),
        diastolic: Some(76),
        pulse: Some(72),
        spo2: Some(97),
        temperature: Some(36.5),
        respiration: Some(16),
        weight: Some(52.0),
    };
    assert!(check_vitals(&ok).is_empty());
    let abnormal = VitalsInput { spo2: Some(89), temperature: Some(38.4), ..ok.clone() };
    let issues = check_vitals(&abnormal);
    assert_eq!(issues.len(), 2);
    assert!(issues.iter().all(|i| i.level == VitalsLevel::Warning));
    let impossible = VitalsInput { systolic: Some(700), ..ok.clone() };
    assert!(check_vitals(&impossible).iter().any(|i| i.field == VitalSign::Systolic && i.level == VitalsLevel::Error));
    let swapped = VitalsInput { systolic: Some(70), diastolic: Some(120), ..ok };
    assert!(check_vitals(&swapped).iter().any(|i| i.ja.contains("入れ違え")));

    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let rows = s.todays_visits().unwrap();
    let row = holder_row(&rows, "vc-02").clone();
    let issues = s.record_vitals(&row.patient_id, &row.visit_id, &impossible_vitals()).unwrap();
    assert!(issues.iter().any(|i| i.level == VitalsLevel::Error));
    let chart = s.patient_chart(&row.patient_id, None).unwrap();
    assert!(chart.visits.iter().all(|v| v.id != row.visit_id), "nothing saved for impossible values");
}

/// The tablet and the document share one range table: an infant's weight is saved (it used to
/// be refused under 10 kg on the tablet while the document accepted 0.3 kg).
#[test]
fn an_infants_vitals_are_saved_on_the_tablet() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let rows = s.todays_visits().unwrap();
    let row = holder_row(&rows, "vc-02").clone();
    let infant = VitalsInput { weight: Some(3.2), pulse: Some(140), ..Default::default() };
    let issues = s.record_vitals(&row.patient_id, &row.visit_id, &infant).unwrap();
    assert!(issues.iter().all(|i| i.level == VitalsLevel::Warning), "{issues:?}");
    let chart = s.patient_chart(&row.patient_id, None).unwrap();
    let visit = chart.visits.iter().find(|v| v.id == row.visit_id).expect("the visit was saved");
    assert_eq!(visit.vitals.weight, Some(3.2));
}

fn impossible_vitals() -> VitalsInput {
    VitalsInput { pulse: Some(900), ..Default::default() }
}

#[test]
fn lock_blocks_everything_until_the_staff_pin() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    s.lock();
    assert_eq!(s.todays_visits().unwrap_err().code, AppErrorCode::Locked);
    assert_eq!(s.unlock(None, "1111".into()).unwrap_err().code, AppErrorCode::WrongStaffPin);
    s.unlock(None, "0000".into()).unwrap();
    assert!(s.todays_visits().is_ok());
}

/// An administrator's act on the training clinic's store: a set-up code for `staff`.
fn issue_code(s: &mut Service, staff: &str) -> String {
    let admin = Actor { staff: StaffId::new(), device: DeviceId::new() };
    let id = StaffId::parse(staff).unwrap();
    s.store_mut().issue_pin_setup(&admin, id, houmon_store::staff_pin::SetupScope::Reset).unwrap().code.to_string()
}

#[test]
fn staff_choose_their_pin_with_a_set_up_code_and_lock_out_after_five_wrong_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let me = s.app_info().staff_id;
    let staff = s.sign_in_staff().unwrap();
    assert_eq!(staff[0].id, me, "the signed-in person is offered first");
    let nurse = staff.iter().find(|x| x.role == StaffRole::Nurse).expect("a nurse in the demo clinic").clone();
    assert!(!nurse.pin_on_device);
    // The training doctor is no administrator: no PIN reset, no staff list.
    assert_eq!(s.reset_staff_pin(&nurse.id).unwrap_err().code, AppErrorCode::NotAllowed);
    assert_eq!(s.staff_list().unwrap_err().code, AppErrorCode::NotAllowed);
    let code = issue_code(&mut s, &nurse.id);
    s.lock();
    // A PIN shorter than the policy's 6 digits costs no try; a wrong code does.
    let e = s.choose_staff_pin(&nurse.id, code.clone(), "4829".into()).unwrap_err();
    assert_eq!(e.code, AppErrorCode::InvalidStaffPin);
    assert!(e.ja.contains("6〜12桁"), "{}", e.ja);
    let e = s.choose_staff_pin(&nurse.id, "AAAA-AAAA-AAAA".into(), "482913".into()).unwrap_err();
    assert_eq!(e.code, AppErrorCode::WrongStaffPin);
    assert!(e.ja.contains("あと4回"), "{}", e.ja);
    // Typed loosely (lower case, spaces): accepted, and she is signed in.
    s.choose_staff_pin(&nurse.id, code.to_lowercase().replace('-', " "), "482913".into()).unwrap();
    assert_eq!(s.app_info().staff_name, nurse.name);
    assert!(s.sign_in_staff().unwrap().iter().any(|x| x.id == nurse.id && x.pin_on_device));
    s.lock();
    let e = s.unlock(Some(&nurse.id), "0000".into()).unwrap_err();
    assert_eq!(e.code, AppErrorCode::WrongStaffPin, "her own PIN replaces 0000");
    s.unlock(Some(&nurse.id), "482913".into()).unwrap();
    // The nurse's own visits today, not the training doctor's.
    let holders: Vec<String> =
        houmon_nfc::synthetic_holders().iter().map(|h| format!("{} {}", h.family_name, h.given_name)).collect();
    let rows = s.todays_visits().unwrap();
    assert!(rows.iter().all(|r| !holders.contains(&r.patient_name)), "not the training doctor's card-holder visits");
    s.lock();
    for _ in 0..4 {
        assert_eq!(s.unlock(Some(&nurse.id), "000000".into()).unwrap_err().code, AppErrorCode::WrongStaffPin);
    }
    assert_eq!(s.unlock(Some(&nurse.id), "000000".into()).unwrap_err().code, AppErrorCode::StaffPinLocked);
    assert_eq!(
        s.unlock(Some(&nurse.id), "482913".into()).unwrap_err().code,
        AppErrorCode::StaffPinLocked,
        "even the right PIN waits"
    );
    // The lock-out survives a restart of the app.
    drop(s);
    let mut s = open(dir.path());
    s.lock();
    assert_eq!(s.unlock(Some(&nurse.id), "482913".into()).unwrap_err().code, AppErrorCode::StaffPinLocked);
    // Another person can still sign in, and every attempt is in the audit log without the PIN.
    s.unlock(Some(&me), "0000".into()).unwrap();
    let audit = s.audit_log(80).unwrap();
    assert!(audit.rows.iter().filter(|r| r.detail.contains("unlock refused")).count() >= 6);
    assert!(audit.rows.iter().any(|r| r.detail == "staff pin chosen on this device"));
    let secrets = ["482913", code.as_str(), &code.replace('-', "")];
    assert!(audit.rows.iter().all(|r| secrets.iter().all(|x| !r.detail.contains(x) && !r.target.contains(x))));
}

#[test]
fn a_pin_reset_voids_the_old_pin_and_gives_the_administrator_no_way_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let staff = s.sign_in_staff().unwrap();
    let nurse = staff.iter().find(|x| x.role == StaffRole::Nurse).unwrap().clone();
    let admin = staff.iter().find(|x| x.role == StaffRole::Admin).expect("an admin in the demo clinic").clone();
    let code = issue_code(&mut s, &nurse.id);
    s.choose_staff_pin(&nurse.id, code.clone(), "482913".into()).unwrap();
    // The administrator resets the nurse's PIN: a new code, never a PIN.
    s.lock();
    s.unlock(Some(&admin.id), "0000".into()).unwrap();
    let reset = s.reset_staff_pin(&nurse.id).unwrap();
    assert_ne!(reset.code, code);
    s.lock();
    // Her old PIN is void on this device (and on every other: the set-up id changed).
    assert_eq!(s.unlock(Some(&nurse.id), "482913".into()).unwrap_err().code, AppErrorCode::StaffPinSetupNeeded);
    // The administrator's own PIN, the old code, or any guess do not sign in as her.
    for (code, pin) in [(code.as_str(), "111111"), ("0000-0000-0000", "222222")] {
        assert_eq!(
            s.choose_staff_pin(&nurse.id, code.into(), pin.into()).unwrap_err().code,
            AppErrorCode::WrongStaffPin
        );
    }
    assert_eq!(s.unlock(Some(&nurse.id), "0000".into()).unwrap_err().code, AppErrorCode::StaffPinSetupNeeded);
    s.choose_staff_pin(&nurse.id, reset.code, "739155".into()).unwrap();
    assert_eq!(s.app_info().staff_name, nurse.name);
}

#[test]
fn roles_are_enforced_in_rust() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let staff = s.sign_in_staff().unwrap();
    let nurse = staff.iter().find(|x| x.role == StaffRole::Nurse).unwrap().clone();
    let office = staff.iter().find(|x| x.role == StaffRole::Office).expect("office staff in the demo clinic").clone();
    // The training doctor writes a draft.
    let row = s.todays_visits().unwrap()[0].clone();
    let soap = Soap { s: "頭痛".into(), ..Default::default() };
    let draft = s.save_note(&row.patient_id, &row.visit_id, None, &soap).unwrap().note_id;
    // A nurse may write notes, but not save over or sign the doctor's draft.
    s.lock();
    s.unlock(Some(&nurse.id), "0000".into()).unwrap();
    let e = s.sign_note(&row.patient_id, &draft).unwrap_err();
    assert_eq!(e.code, AppErrorCode::NotAllowed);
    assert!(e.ja.contains("他の職員の下書き"), "{}", e.ja);
    let e = s.save_note(&row.patient_id, &row.visit_id, Some(&draft), &soap).unwrap_err();
    assert_eq!(e.code, AppErrorCode::NotAllowed);
    // Office staff write no notes, record no vitals, and see no notes by default.
    s.lock();
    s.unlock(Some(&office.id), "0000".into()).unwrap();
    assert_eq!(s.save_note(&row.patient_id, &row.visit_id, None, &soap).unwrap_err().code, AppErrorCode::NotAllowed);
    let vitals = VitalsInput { pulse: Some(70), ..Default::default() };
    assert_eq!(s.record_vitals(&row.patient_id, &row.visit_id, &vitals).unwrap_err().code, AppErrorCode::NotAllowed);
    let chart = s.patient_chart(&row.patient_id, None).unwrap();
    assert!(chart.clinical_hidden);
    assert!(chart.visits.iter().all(|v| v.notes.is_empty()), "notes hidden from office staff");
    assert!(!chart.name.is_empty(), "demographics stay visible");
    // Control: the doctor who wrote it sees and signs it.
    s.lock();
    let doctor = staff[0].id.clone();
    s.unlock(Some(&doctor), "0000".into()).unwrap();
    let chart = s.patient_chart(&row.patient_id, None).unwrap();
    assert!(!chart.clinical_hidden && chart.visits.iter().any(|v| v.notes.iter().any(|n| n.id == draft)));
    s.sign_note(&row.patient_id, &draft).unwrap();
}

#[test]
fn an_office_policy_lets_office_staff_read_notes_but_not_write_them() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(policies.join("managed")).unwrap();
    std::fs::write(policies.join("managed/houmon.json"), r#"{"officeReadsNotes": true}"#).unwrap();
    let mut s = Service::open(&ServiceOptions {
        data_dir: dir.path().join("app"),
        card: CardSource::TrainingOnly,
        policy_dir: Some(policies),
        ..Default::default()
    })
    .unwrap();
    let row = s.todays_visits().unwrap()[0].clone();
    let soap = Soap { s: "腹痛".into(), ..Default::default() };
    let draft = s.save_note(&row.patient_id, &row.visit_id, None, &soap).unwrap().note_id;
    let office = s.sign_in_staff().unwrap().into_iter().find(|x| x.role == StaffRole::Office).unwrap();
    s.lock();
    s.unlock(Some(&office.id), "0000".into()).unwrap();
    let chart = s.patient_chart(&row.patient_id, None).unwrap();
    assert!(!chart.clinical_hidden && chart.visits.iter().any(|v| v.notes.iter().any(|n| n.id == draft)));
    assert_eq!(s.save_note(&row.patient_id, &row.visit_id, None, &soap).unwrap_err().code, AppErrorCode::NotAllowed);
}

#[test]
fn idle_past_auto_lock_locks_in_rust_and_every_command_then_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    assert!(s.todays_visits().is_ok());
    s.pretend_idle(std::time::Duration::from_secs(4 * 60));
    assert!(s.todays_visits().is_ok(), "4 of 5 minutes idle: still open");
    s.pretend_idle(std::time::Duration::from_secs(5 * 60 + 1));
    assert_eq!(s.set_user_setting("largeText", Some("true")).unwrap_err().code, AppErrorCode::Locked);
    assert!(s.app_info().locked);
    let row_err = s.todays_visits().unwrap_err().code;
    assert_eq!(row_err, AppErrorCode::Locked);
    assert_eq!(s.patient_list().unwrap_err().code, AppErrorCode::Locked);
    assert_eq!(s.audit_log(5).unwrap_err().code, AppErrorCode::Locked);
    s.unlock(None, "0000".into()).unwrap();
    assert!(s.todays_visits().is_ok());
    let audit = s.audit_log(20).unwrap();
    assert!(audit.rows.iter().any(|r| r.detail == "auto-lock after idle"));
}

#[test]
fn roster_assignment_moves_a_visit() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let r = s.roster(None).unwrap();
    assert!(!r.visits.is_empty() && !r.staff.is_empty());
    let v = &r.visits[0];
    let other = r.staff.iter().find(|st| !v.staff.contains(&st.id)).expect("another clinician");
    s.assign_visit(&v.visit_id, &other.id, Some(&v.date)).unwrap();
    let r2 = s.roster(None).unwrap();
    let moved = r2.visits.iter().find(|x| x.visit_id == v.visit_id).unwrap();
    assert_eq!(moved.staff, vec![other.id.clone()]);
}

#[test]
fn managed_identity_modes_and_auto_lock_apply_to_the_visit_flow() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(policies.join("managed")).unwrap();
    std::fs::write(
        policies.join("managed/houmon.json"),
        r#"{"allowedIdentityModes": ["visual"], "autoLockMinutes": 2, "screenshotProtection": false}"#,
    )
    .unwrap();
    let opts = ServiceOptions {
        data_dir: dir.path().join("app"),
        card: CardSource::TrainingOnly,
        policy_dir: Some(policies.clone()),
        ..Default::default()
    };
    let mut s = Service::open(&opts).unwrap();
    let info = s.app_info();
    assert!(!info.allow_pin_check && info.allow_visual_check);
    assert_eq!(info.auto_lock_minutes, 2);
    assert!(!info.screenshot_protection, "the shell is told to lift the protection");
    let rows = s.todays_visits().unwrap();
    let row = holder_row(&rows, "vc-01").clone();
    let e = s.confirm_with_card(input(&row, Some("1234")), &mut |_| {}).unwrap_err();
    assert_eq!(e.code, AppErrorCode::PinNotAllowed);
    assert!(e.ja.contains("目視"), "{}", e.ja);
    // The settings page shows the managed value as locked.
    let row = s.settings().settings.into_iter().find(|r| r.key == "allowedIdentityModes").unwrap();
    assert!(row.locked && row.source == SettingSource::Managed, "{row:?}");
    // The administrator allows the PIN again: it applies at the next sign-in.
    std::fs::write(policies.join("managed/houmon.json"), r#"{"allowedIdentityModes": ["pin"]}"#).unwrap();
    s.lock();
    s.unlock(None, "0000".into()).unwrap();
    let info = s.app_info();
    assert!(info.allow_pin_check && !info.allow_visual_check);
    assert_eq!(info.auto_lock_minutes, 5, "back to the default");
    assert!(info.screenshot_protection, "protected by default");
}

#[test]
fn policy_page_lists_ignored_values_and_the_user_changes_unlocked_settings() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(policies.join("managed")).unwrap();
    std::fs::write(
        policies.join("managed/houmon.json"),
        r#"{"uiLanguage": "en", "autoLockMinutes": 999, "noSuchKey": 1}"#,
    )
    .unwrap();
    let opts = ServiceOptions {
        data_dir: dir.path().join("app"),
        card: CardSource::TrainingOnly,
        policy_dir: Some(policies),
        ..Default::default()
    };
    let mut s = Service::open(&opts).unwrap();
    let page = s.settings();
    assert!(page.managed_by_organization);
    let lock = page.settings.iter().find(|r| r.key == "autoLockMinutes").unwrap();
    assert!(!lock.locked && lock.source == SettingSource::Default, "an invalid managed value is ignored: {lock:?}");
    assert!(lock.problems.iter().any(|p| p.ignored && p.origin.ends_with("houmon.json")), "{lock:?}");
    assert!(
        page.problems.iter().any(|p| p.ja.contains("noSuchKey") || p.en.contains("noSuchKey")),
        "{:?}",
        page.problems
    );
    let level = page.settings.iter().find(|r| r.key == "uiLanguage").unwrap();
    assert!(level.locked && !level.user_editable && level.input == SettingInput::Choice && !level.choices.is_empty());

    // Unlocked and user-settable: the user's value applies at once; locked ones are refused.
    let page = s.set_user_setting("autoLockMinutes", Some("10")).unwrap();
    let lock = page.settings.iter().find(|r| r.key == "autoLockMinutes").unwrap();
    assert_eq!((lock.value.as_str(), lock.source), ("10", SettingSource::User));
    assert_eq!(s.app_info().auto_lock_minutes, 10);
    let e = s.set_user_setting("autoLockMinutes", Some("0")).unwrap_err();
    assert_eq!(e.code, AppErrorCode::SettingRefused);
    let e = s.set_user_setting("uiLanguage", Some("ja")).unwrap_err();
    assert!(e.ja.contains("管理者"), "{}", e.ja);
    s.set_user_setting("autoLockMinutes", None).unwrap();
    assert_eq!(s.app_info().auto_lock_minutes, 5);
}

#[test]
fn the_chosen_language_and_text_size_are_kept_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let info = s.app_info();
    assert_eq!((info.ui_language, info.large_text), (UiLanguage::Ja, false), "Japanese, normal text by default");
    s.set_user_setting("uiLanguage", Some("en")).unwrap();
    let page = s.set_user_setting("largeText", Some("true")).unwrap();
    let large = page.settings.iter().find(|r| r.key == "largeText").unwrap();
    assert!(large.user_editable && large.source == SettingSource::User, "{large:?}");
    // A language the app does not have is refused, and the choice stays.
    let e = s.set_user_setting("uiLanguage", Some("fr")).unwrap_err();
    assert_eq!(e.code, AppErrorCode::SettingRefused);
    drop(s);

    let mut s = open(dir.path());
    let info = s.app_info();
    assert_eq!((info.ui_language, info.large_text), (UiLanguage::En, true), "still applied after a restart");
    // Back to Japanese and normal text: also kept.
    s.set_user_setting("uiLanguage", Some("ja")).unwrap();
    s.set_user_setting("largeText", Some("false")).unwrap();
    drop(s);
    let info = open(dir.path()).app_info();
    assert_eq!((info.ui_language, info.large_text), (UiLanguage::Ja, false));
}

#[test]
fn an_administrator_can_fix_the_language_and_the_user_cannot_change_it() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(policies.join("managed")).unwrap();
    std::fs::write(policies.join("managed/houmon.json"), r#"{"uiLanguage": "en", "largeText": true}"#).unwrap();
    let opts = ServiceOptions {
        data_dir: dir.path().join("app"),
        card: CardSource::TrainingOnly,
        policy_dir: Some(policies),
        ..Default::default()
    };
    let mut s = Service::open(&opts).unwrap();
    let info = s.app_info();
    assert_eq!((info.ui_language, info.large_text), (UiLanguage::En, true));
    let e = s.set_user_setting("uiLanguage", Some("ja")).unwrap_err();
    assert!(e.ja.contains("管理者"), "{}", e.ja);
    assert_eq!(s.app_info().ui_language, UiLanguage::En);
}

/// Whether a text has any Japanese (kana or kanji) in it.
fn has_japanese(s: &str) -> bool {
    s.chars().any(|c| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}'))
}

#[test]
fn every_audit_entry_of_a_working_day_reads_in_japanese() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let rows = s.todays_visits().unwrap();
    let row = holder_row(&rows, "vc-01").clone();
    s.confirm_with_card(input(&row, Some("1234")), &mut |_| {}).unwrap();
    s.requery(&row.patient_id, &row.visit_id).unwrap();
    s.patient_chart(&row.patient_id, None).unwrap();
    let soap = Soap { s: "よく眠れた".into(), o: String::new(), a: String::new(), p: String::new() };
    let note = s.save_note(&row.patient_id, &row.visit_id, None, &soap).unwrap();
    s.sign_note(&row.patient_id, &note.note_id).unwrap();
    s.correct_note(&row.patient_id, &note.note_id, &soap, "誤記").unwrap();
    s.record_vitals(&row.patient_id, &row.visit_id, &VitalsInput { pulse: Some(72), ..Default::default() }).unwrap();
    s.set_user_setting("uiLanguage", Some("en")).unwrap();
    s.lock();
    s.unlock(None, "9999".into()).unwrap_err();
    s.unlock(None, "0000".into()).unwrap();

    let log = s.audit_log(1000).unwrap();
    assert!(log.rows.len() > 10, "{:?}", log.rows);
    for r in &log.rows {
        assert_ne!(r.kind, AuditKind::Other, "an action code without a label: {r:?}");
        assert!(has_japanese(&r.detail_ja), "an audit detail shown in English only: {r:?}");
        assert!(!r.detail_en.is_empty() && !r.target_en.is_empty(), "{r:?}");
        assert!(has_japanese(&r.target_ja), "a raw target: {r:?}");
    }
    let setting = log.rows.iter().find(|r| r.target == "setting:uiLanguage").expect("the setting change is audited");
    assert_eq!(setting.target_ja, "設定「表示言語」");
    // The control: a detail this version does not know is shown as stored, so the check
    // above would catch a detail missing from the table.
    assert_eq!(crate::service::audit::audit_detail("something new"), ("something new".into(), "something new".into()));
}

fn patient(name: &str, kana: &str) -> PatientInput {
    PatientInput {
        id: None,
        name: name.into(),
        kana: kana.into(),
        birth_date: "1938-02-03".into(),
        sex: Sex::Female,
        address: "東京都架空区5-5".into(),
        phone: "03-5555-0000".into(),
        key_person: "架空 長男".into(),
        key_person_phone: "090-0000-0000".into(),
        care_manager: "介護 花子".into(),
        care_office: "架空ケアプラン".into(),
        primary_doctor: "在宅 医師".into(),
        id_document: IdDocument::QualificationCertificate,
    }
}

#[test]
fn a_patient_is_registered_edited_with_history_and_ended_without_deleting_anything() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let id = s.save_patient(&patient("架空 ミドリ", "カクウ ミドリ")).unwrap();
    let mut edit = s.patient_detail(&id).unwrap().patient;
    assert_eq!((edit.care_office.as_str(), edit.id_document), ("架空ケアプラン", IdDocument::QualificationCertificate));
    edit.address = "東京都架空区6-6".into();
    edit.key_person = "架空 長女".into();
    s.save_patient(&edit).unwrap();
    let d = s.patient_detail(&id).unwrap();
    assert_eq!(d.patient.address, "東京都架空区6-6");
    assert_eq!(d.history.len(), 2, "registration, then the edit (newest first)");
    let changed: Vec<(&str, &str, &str)> =
        d.history[0].fields.iter().map(|f| (f.label_ja.as_str(), f.before.as_str(), f.after.as_str())).collect();
    assert_eq!(changed, [("住所", "東京都架空区5-5", "東京都架空区6-6"), ("キーパーソン", "架空 長男", "架空 長女")]);
    assert_eq!(d.history[0].by_name, "訓練 医師");
    // A 個人番号 in any field is refused, and nothing changes (a valid check digit: 123456789018).
    let mut bad = edit.clone();
    bad.care_office = "番号 1234 5678 9018".into();
    assert!(houmon_docs::contains_individual_number(&bad.care_office), "the control is a 個人番号");
    assert_eq!(s.save_patient(&bad).unwrap_err().code, AppErrorCode::IndividualNumber);
    assert_eq!(s.patient_detail(&id).unwrap().history.len(), 2, "nothing written");

    s.end_care(&id, Some(CareEndReason::Death), Some("2026-12-01")).unwrap();
    let row = s.patient_list().unwrap().into_iter().find(|p| p.id == id).expect("still listed");
    assert_eq!(row.care_ended, Some(CareEndReason::Death));
    let d = s.patient_detail(&id).unwrap();
    assert_eq!((d.care_ended, d.care_end_date.as_deref()), (Some(CareEndReason::Death), Some("2026-12-01")));
    assert_eq!(d.patient.address, "東京都架空区6-6", "ending care deleted nothing");
    assert!(d.history[0].fields.iter().any(|f| f.label_ja == "終了理由" && f.after == "死亡"), "{:?}", d.history[0]);
    // Resumed.
    s.end_care(&id, None, None).unwrap();
    assert_eq!(s.patient_list().unwrap().into_iter().find(|p| p.id == id).unwrap().care_ended, None);
}

#[test]
fn a_recurring_plan_its_month_views_reassignment_and_cancellation() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let p = s.save_patient(&patient("架空 ソラ", "カクウ ソラ")).unwrap();
    let clinicians = s.roster(None).unwrap().staff;
    let (a, b) = (clinicians[0].id.clone(), clinicians[1].id.clone());
    let input = PlanInput {
        patient: p.clone(),
        staff: vec![a.clone()],
        date: "2027-02-01".into(),
        start: "10:00".into(),
        end: "10:30".into(),
        kind: VisitKind::HomeNursing,
        repeat: Some(Recurrence::parse("weekly:tue,fri").unwrap()),
        until: Some("2027-03-31".into()),
    };
    let planned = s.plan_visits(&input).unwrap();
    // February 2027: Tue 2,9,16,23 and Fri 5,12,19,26; March: Tue 2,9,16,23,30 and Fri 5,12,19,26.
    assert_eq!(planned.visits.len(), 17);
    let feb = s.plan_month(Some("2027-02"), Some(a.as_str()), None).unwrap();
    assert_eq!(feb.visits.len(), 8);
    assert!(feb.visits.iter().all(|v| v.patient_name == "架空 ソラ" && v.start == "10:00" && v.end == "10:30"));
    let mar = s.plan_month(Some("2027-03"), None, Some(p.as_str())).unwrap();
    assert_eq!(mar.visits.len(), 9);

    // Reassign, cancel with a reason, move within the month and into the next one.
    let (v1, v2, v3, v4) = (&feb.visits[0].id, &feb.visits[1].id, &feb.visits[2].id, &feb.visits[7].id);
    s.reassign_visit(v1, std::slice::from_ref(&b)).unwrap();
    s.cancel_visit(v2, "入院のため").unwrap();
    assert_eq!(s.cancel_visit(v3, " ").unwrap_err().code, AppErrorCode::InvalidInput, "a reason is needed");
    let e = VisitEdit {
        id: v3.clone(),
        date: "2027-02-10".into(),
        start: "13:00".into(),
        end: "13:30".into(),
        kind: VisitKind::HomeNursing,
    };
    assert_eq!(&s.edit_visit(&e).unwrap(), v3, "same month: the same visit");
    let e = VisitEdit {
        id: v4.clone(),
        date: "2027-03-01".into(),
        start: "09:00".into(),
        end: "09:30".into(),
        kind: VisitKind::HomeNursing,
    };
    let moved = s.edit_visit(&e).unwrap();
    assert_ne!(&moved, v4, "another month: a new visit there");
    let feb = s.plan_month(Some("2027-02"), None, Some(p.as_str())).unwrap();
    let get = |id: &str| feb.visits.iter().find(|v| v.id == id).cloned().expect("kept");
    assert_eq!(get(v1).staff.iter().map(|x| x.id.clone()).collect::<Vec<_>>(), vec![b.clone()]);
    assert_eq!(get(v2).status, VisitStatus::Cancelled);
    assert_eq!((get(v3).date.as_str(), get(v3).start.as_str()), ("2027-02-10", "13:00"));
    assert_eq!(get(v4).status, VisitStatus::Cancelled, "moved out of February");
    assert!(s.plan_month(Some("2027-03"), None, Some(p.as_str())).unwrap().visits.iter().any(|v| v.id == moved));
    // The projection follows the reassignment: `a` no longer has v1.
    assert!(s.plan_month(Some("2027-02"), Some(a.as_str()), None).unwrap().visits.iter().all(|v| &v.id != v1));

    // Bad plans are refused with the reason; the plan is unchanged.
    let mut bad = input.clone();
    bad.until = Some("2029-01-01".into());
    assert_eq!(s.plan_visits(&bad).unwrap_err().code, AppErrorCode::InvalidRecurrence);
    let mut bad = input.clone();
    bad.end = "09:00".into();
    assert_eq!(s.plan_visits(&bad).unwrap_err().code, AppErrorCode::InvalidInput);
    s.end_care(&p, Some(CareEndReason::Moved), None).unwrap();
    assert_eq!(s.plan_visits(&input).unwrap_err().code, AppErrorCode::InvalidInput, "care ended");
    assert_eq!(s.plan_month(Some("2027-02"), None, Some(p.as_str())).unwrap().visits.len(), 8);

    // Locked: every plan and patient command refuses.
    s.lock();
    assert_eq!(s.plan_visits(&input).unwrap_err().code, AppErrorCode::Locked);
    assert_eq!(s.plan_month(None, None, None).unwrap_err().code, AppErrorCode::Locked);
    assert_eq!(s.save_patient(&patient("x", "カ")).unwrap_err().code, AppErrorCode::Locked);
    assert_eq!(s.patient_detail(&p).unwrap_err().code, AppErrorCode::Locked);
}

#[test]
fn only_what_a_person_opens_is_audited_as_a_view() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path());
    let views = |s: &mut Service| s.audit_log(1000).unwrap().rows.iter().filter(|r| r.detail == "open chart").count();
    let before = views(&mut s);
    // The day list computes every patient's check state: nobody viewed those charts.
    let rows = s.todays_visits().unwrap();
    assert!(rows.len() >= 5);
    s.todays_visits().unwrap();
    assert_eq!(views(&mut s), before, "loading the day list is not a view");
    // Opening one chart is; reloading it while it stays open (after a sync) is the same view.
    s.patient_chart(&rows[0].patient_id, None).unwrap();
    assert_eq!(views(&mut s), before + 1);
    s.patient_chart(&rows[0].patient_id, None).unwrap();
    assert_eq!(views(&mut s), before + 1, "a reload is not another view");
    // Back to the list and in again, or another chart: a new view each.
    s.todays_visits().unwrap();
    s.patient_chart(&rows[0].patient_id, None).unwrap();
    s.patient_chart(&rows[1].patient_id, None).unwrap();
    assert_eq!(views(&mut s), before + 3);
}
