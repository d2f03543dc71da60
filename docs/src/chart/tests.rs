use super::*;
use chrono::TimeZone;

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap() + chrono::Duration::minutes(min)
}

fn body(s: &str) -> SoapNote {
    SoapNote {
        subjective: s.into(),
        objective: "血圧 128/76".into(),
        assessment: "著変なし".into(),
        plan: "継続".into(),
    }
}

fn chart_with_visit() -> (ChartDoc, VisitId, StaffId) {
    let mut c = ChartDoc::create(PatientId::new()).unwrap();
    let v = VisitId::new();
    let nurse = StaffId::new();
    c.start_visit(v, VisitKind::HomeNursing, nurse, t(0)).unwrap();
    (c, v, nurse)
}

/// Fork the document as another device would hold it after a sync.
fn fork(c: &mut ChartDoc) -> ChartDoc {
    ChartDoc::from_automerge(c.automerge().fork())
}

fn merge(a: &mut ChartDoc, b: &mut ChartDoc) {
    a.automerge().merge(b.automerge()).unwrap();
}

#[test]
fn signed_note_cannot_be_changed() {
    let (mut c, v, nurse) = chart_with_visit();
    let id = c.save_note(nurse, v, None, &body("初稿"), t(1)).unwrap();
    c.save_note(nurse, v, Some(id), &body("二稿"), t(2)).unwrap();
    c.sign_note(nurse, id, t(3)).unwrap();
    let err = c.save_note(nurse, v, Some(id), &body("改ざん"), t(4)).unwrap_err();
    assert!(matches!(err, CoreError::NoteSigned));
    assert!(err.user_message().ja.contains("訂正"));
    assert!(matches!(c.sign_note(nurse, id, t(5)), Err(CoreError::NoteSigned)));
    let chart = c.read().unwrap();
    let n = chart.note(id).unwrap();
    assert_eq!(n.body.subjective, "二稿");
    assert_eq!(n.status, NoteStatus::Signed);
    assert_eq!(n.signed_by, Some(nurse));
    assert_eq!(n.signed_at, Some(t(3)));
    assert!(n.intact);
}

#[test]
fn correction_is_a_new_version_naming_the_old_one() {
    let (mut c, v, nurse) = chart_with_visit();
    let doctor = StaffId::new();
    let v1 = c.save_note(nurse, v, None, &body("初版"), t(1)).unwrap();
    assert!(matches!(c.correct_note(doctor, v1, &body("x"), "誤記", t(2)), Err(CoreError::CorrectionOfDraft)));
    c.sign_note(nurse, v1, t(2)).unwrap();
    assert!(matches!(
        c.correct_note(doctor, v1, &body("x"), "  ", t(3)),
        Err(CoreError::InvalidInput { field: "reason", .. })
    ));
    let v2 = c.correct_note(doctor, v1, &body("訂正版"), "誤記の訂正", t(3)).unwrap();
    c.sign_note(doctor, v2, t(4)).unwrap();
    // The old version is corrected already: correct the latest one instead.
    assert!(matches!(c.correct_note(doctor, v1, &body("y"), "再訂正", t(5)), Err(CoreError::NoteAlreadyCorrected)));
    let chart = c.read().unwrap();
    let hist = chart.note_history(v1);
    assert_eq!(hist.len(), 2, "nothing is deleted");
    assert_eq!(hist[0].body.subjective, "初版");
    assert_eq!(hist[1].replaces, Some(v1));
    assert_eq!(hist[1].author, doctor);
    assert_eq!(hist[1].created_at, t(3));
    assert_eq!(hist[1].correction_reason, "誤記の訂正");
    assert_eq!(hist[1].version, 2);
    assert_eq!(hist[1].thread, v1);
    let current = chart.current_versions(v1);
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].id, v2);
    assert!(chart.conflicts.is_empty());
}

#[test]
fn concurrent_edits_to_one_field_are_kept_as_a_conflict() {
    let (mut a, v, nurse) = chart_with_visit();
    let mut b = fork(&mut a);
    a.record_vitals(v, &Vitals { pulse: Some(72), ..Default::default() }, t(1)).unwrap();
    b.record_vitals(v, &Vitals { pulse: Some(88), spo2: Some(97), ..Default::default() }, t(1)).unwrap();
    merge(&mut a, &mut b);
    let chart = a.read().unwrap();
    let path = format!("visits/{v}/vitals/pulse");
    let conflict = chart.conflicts.iter().find(|c| c.path == path).expect("conflict surfaced");
    let mut values = conflict.values.clone();
    values.sort();
    assert_eq!(values, vec!["72".to_string(), "88".to_string()]);
    assert_eq!(chart.visits[0].vitals.spo2, Some(97), "non-conflicting edit merged");
    // Resolving writes a value that supersedes both; it then syncs like any edit.
    a.resolve_conflict(&path, "88", t(2)).unwrap();
    let chart = a.read().unwrap();
    assert!(chart.conflicts.is_empty());
    assert_eq!(chart.visits[0].vitals.pulse, Some(88));
    let _ = nurse;
}

#[test]
fn concurrent_draft_edits_conflict_and_concurrent_corrections_both_kept() {
    let (mut a, v, nurse) = chart_with_visit();
    let n = a.save_note(nurse, v, None, &body("共通"), t(1)).unwrap();
    let mut b = fork(&mut a);
    a.save_note(nurse, v, Some(n), &body("端末A"), t(2)).unwrap();
    b.save_note(nurse, v, Some(n), &body("端末B"), t(2)).unwrap();
    merge(&mut a, &mut b);
    let chart = a.read().unwrap();
    let c = chart.conflicts.iter().find(|c| c.path == format!("notes/{n}/s")).unwrap();
    assert_eq!(c.values.len(), 2);
    a.resolve_conflict(&format!("notes/{n}/s"), "端末A", t(3)).unwrap();
    a.sign_note(nurse, n, t(4)).unwrap();

    // Two devices correct the same signed version while offline.
    let mut b = fork(&mut a);
    let ca = a.correct_note(nurse, n, &body("訂正A"), "理由A", t(5)).unwrap();
    let cb = b.correct_note(StaffId::new(), n, &body("訂正B"), "理由B", t(5)).unwrap();
    merge(&mut a, &mut b);
    let chart = a.read().unwrap();
    let mut current: Vec<_> = chart.current_versions(n).iter().map(|x| x.id).collect();
    current.sort();
    let mut expected = vec![ca, cb];
    expected.sort();
    assert_eq!(current, expected, "both corrections kept");
    assert!(chart.conflicts.iter().any(|c| c.path == format!("notes/{n}/corrections")));
    assert_eq!(chart.note_history(n).len(), 3);
}

#[test]
fn edit_racing_a_signature_is_flagged_not_hidden() {
    let (mut a, v, nurse) = chart_with_visit();
    let n = a.save_note(nurse, v, None, &body("署名する内容"), t(1)).unwrap();
    let mut b = fork(&mut a);
    a.sign_note(nurse, n, t(2)).unwrap();
    b.save_note(nurse, v, Some(n), &body("署名と同時の編集"), t(2)).unwrap();
    merge(&mut a, &mut b);
    let chart = a.read().unwrap();
    let note = chart.note(n).unwrap();
    assert_eq!(note.status, NoteStatus::Signed);
    assert!(!note.intact, "body differs from what was signed");
    // It cannot be fixed in place; a correction is the way.
    assert!(matches!(a.resolve_conflict(&format!("notes/{n}/s"), "x", t(3)), Err(CoreError::NoteSigned)));
    a.correct_note(nurse, n, &body("署名する内容"), "同時編集の整理", t(3)).unwrap();
}

#[test]
fn charts_created_on_two_devices_merge_without_losing_either() {
    let p = PatientId::new();
    let mut a = ChartDoc::create(p).unwrap();
    let mut b = ChartDoc::create(p).unwrap();
    a.set_demographics(&Demographics { name: "試験 花子".into(), ..Default::default() }, t(0)).unwrap();
    let v = VisitId::new();
    b.start_visit(v, VisitKind::HomeMedical, StaffId::new(), t(1)).unwrap();
    merge(&mut a, &mut b);
    let chart = a.read().unwrap();
    assert_eq!(chart.demographics.name, "試験 花子");
    assert_eq!(chart.visits.len(), 1);
    assert!(chart.conflicts.is_empty(), "{:?}", chart.conflicts);
}

#[test]
fn individual_number_is_refused_and_nothing_changes() {
    let (mut c, v, nurse) = chart_with_visit();
    let n = c.save_note(nurse, v, None, &body("安全な内容"), t(1)).unwrap();
    // 123456789018 has a valid check digit.
    let err = c.save_note(nurse, v, Some(n), &body("番号 123456789018 を控えた"), t(2)).unwrap_err();
    assert!(matches!(err, CoreError::LooksLikeIndividualNumber));
    assert_eq!(c.read().unwrap().note(n).unwrap().body.subjective, "安全な内容");
}

#[test]
fn bad_vitals_are_refused_with_the_field_named() {
    let (mut c, v, _) = chart_with_visit();
    let err = c.record_vitals(v, &Vitals { spo2: Some(140), ..Default::default() }, t(1)).unwrap_err();
    assert!(matches!(err, CoreError::InvalidInput { field: "spo2", .. }));
    assert!(!err.user_message().en.is_empty());
}

#[test]
fn consent_and_qualification_round_trip() {
    let (mut c, _, nurse) = chart_with_visit();
    let req = c.request_qualification(nurse, t(1)).unwrap();
    let consent = ConsentRecord {
        id: ConsentId::new(),
        recorded_at: t(1),
        recorded_by: nurse,
        device: DeviceId::new(),
        medication: true,
        clinical: true,
        checkup: false,
        surgery: true,
        prescription: PrescriptionForm::Electronic,
        identity: IdentityMode::Visual,
        signature_hex: None,
        certificate_hex: Some("3082".into()),
        nonce_hex: "00ff".into(),
        revocation: false,
    };
    c.record_consent(&consent).unwrap();
    c.record_consent(&consent).unwrap(); // replay is a no-op
    let q = QualificationSnapshot {
        id: req,
        checked_at: t(2),
        insurer_number: "06130013".into(),
        symbol: "記号".into(),
        number: "1234".into(),
        branch: "01".into(),
        copay_percent: Some(10),
        validity: QualificationValidity::Valid,
        consent_medication: true,
        consent_clinical: true,
        consent_checkup: false,
        consent_surgery: true,
        consent_date: Some(t(1).date_naive()),
        consent_valid_until: chrono::NaiveDate::from_ymd_opt(2027, 2, 28),
        demographics: Demographics { name: "試験 太郎".into(), ..Default::default() },
    };
    c.record_qualification(&q).unwrap();
    let chart = c.read().unwrap();
    assert_eq!(chart.consents, vec![consent]);
    assert_eq!(chart.latest_qualification(), Some(&q));
    assert!(chart.qualification_requests[0].answered);
    assert_eq!(chart.demographics.name, "試験 太郎");
}

#[test]
fn stored_codes_match_the_model() {
    // The list codes and SOAP keys written here are the ones the model names.
    for l in ClinicalList::ALL {
        assert_eq!(list_code(l), l.key());
        assert_eq!(list_from(l.key()), Some(l));
    }
    assert_eq!(list_from("unknown"), None);
    let b = body("主訴");
    assert_eq!(body_fields(&b), b.fields());
}
