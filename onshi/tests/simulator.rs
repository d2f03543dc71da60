//! The simulator end to end with the workspace's test CA and synthetic cards: signatures are
//! made with ring over the consent message exactly as the card signs (PKCS#1 v1.5, SHA-256).

mod common;
use common::*;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use houmon_onshi::codes::*;
use houmon_onshi::consent::{ConsentStatus, VisitKind, jst};
use houmon_onshi::digest::{ConsentRecord, IdentityMode, certificate_sha256, consent_message};
use houmon_onshi::outcome::{QualificationOutcome, interpret};
use houmon_onshi::sim::*;
use houmon_onshi::types::*;
use houmon_onshi::{MedicalInstitutionCode, xml};

fn code_of(m: &XmlMsg) -> Option<&str> {
    m.message_body.processing_result_code.as_deref()
}

fn refused_with(o: &FirstVisitOutcome, code: SimResultCode) {
    assert_eq!(o.consent_id, None, "{o:?}");
    assert_eq!(o.answer.message_body.processing_result_status, Some(ProcessingResultStatus::Error));
    assert_eq!(code_of(&o.answer), Some(code.code()), "{o:?}");
    assert_eq!(o.answer.message_body.processing_result_message.as_deref(), Some(code.message_ja()));
}

#[test]
fn first_visit_with_pin_registers_consent_and_returns_qualification() {
    let (_clock, sim) = setup(SimConfig::default());
    let out = sim.first_visit(&pin_request("vc-01", 1, start()));
    let id = out.consent_id.clone().expect("consent registered");
    let h = &out.answer.message_header;
    assert_eq!(h.reference_classification, Some(ReferenceClassification::MyNumberCard));
    assert_eq!(h.arbitrary_file_identifier.as_deref(), Some("T1"));
    assert_eq!(h.qualification_confirmation_date, NaiveDate::from_ymd_opt(2026, 11, 21));
    let b = &out.answer.message_body;
    assert_eq!(b.processing_result_status, Some(ProcessingResultStatus::Normal));
    assert_eq!(b.qualification_validity, Some(QualificationValidity::Valid));
    assert_eq!(b.prescription_issue_select, Some(PrescriptionIssueSelect::Electronic));
    let r = &b.result_list[0];
    assert_eq!(r.name.as_deref(), Some("佐藤　ハナ"));
    assert_eq!(r.name_kana.as_deref(), Some("ｻﾄｳ ﾊﾅ"));
    assert!(r.insurer_number.as_ref().unwrap().is_late_elderly());
    assert!(r.consented_to(&ConsentItem::Pharmacists));
    assert!(r.consented_to(&ConsentItem::Diagnosis));
    assert_eq!(r.info_consent(&ConsentItem::SpecificHealthCheckups).unwrap().cons_flg, Some(ConsentFlag::NotConsented));
    // Consent valid to the end of the 3rd month after November 2026.
    let ph = r.info_consent(&ConsentItem::Pharmacists).unwrap();
    assert_eq!(ph.available_time.unwrap().to_string(), "2027-02-28 23:59:59");
    assert_eq!(ph.cons_time.unwrap().to_string(), "2026-11-21 10:00:00");
    assert_eq!(r.limit_application_certificate_related_cons_flg, Some(ConsentFlag::Consented));
    assert!(r.limit_application_certificate_related_info.is_some(), "vc-01 has 限度額");
    // The answer is a valid terminal XML.
    let bytes = xml::write(&out.answer, Default::default());
    assert_eq!(xml::parse(&bytes).unwrap(), out.answer);
    let view = sim.consent(&id).unwrap();
    assert_eq!(view.person_id, "vc-01");
    assert_eq!(view.status, ConsentStatus::Valid { valid_through: NaiveDate::from_ymd_opt(2027, 2, 28).unwrap() });
}

#[test]
fn identical_request_is_idempotent_and_nonce_reuse_is_refused() {
    let (clock, sim) = setup(SimConfig::default());
    let req = pin_request("vc-01", 2, start());
    let a = sim.first_visit(&req);
    clock.advance(Duration::minutes(10)); // a resend after a network drop
    let b = sim.first_visit(&req);
    assert_eq!(a, b);
    assert_eq!(a.consent_id.as_deref(), Some("C000001"));
    // The same nonce with different content (here: medication consent withdrawn).
    let mut other = record("vc-01", IdentityMode::Pin);
    other.medication = false;
    let msg = consent_message(&other, &req.nonce, &start()).unwrap();
    let forged = signature_for("vc-01", other, req.nonce.clone(), start(), &msg);
    refused_with(&sim.first_visit(&forged), SimResultCode::NonceReused);
    // A fresh nonce registers a second consent.
    let c = sim.first_visit(&pin_request("vc-01", 3, start()));
    assert_eq!(c.consent_id.as_deref(), Some("C000002"));
}

#[test]
fn signatures_that_do_not_match_are_refused() {
    let (_clock, sim) = setup(SimConfig::default());
    // Signed by another card's key.
    let record = record("vc-01", IdentityMode::Pin);
    let nonce = vec![4; 32];
    let msg = consent_message(&record, &nonce, &start()).unwrap();
    let mut req = signature_for("vc-01", record.clone(), nonce, start(), &msg);
    req.proof = IdentityProof::Pin { signature: sign("vc-02", &msg) };
    refused_with(&sim.first_visit(&req), SimResultCode::SignatureInvalid);
    // The record altered after signing.
    let mut req = pin_request("vc-01", 5, start());
    req.record.operation = true;
    refused_with(&sim.first_visit(&req), SimResultCode::SignatureInvalid);
    // The time altered after signing.
    let mut req = pin_request("vc-01", 6, start());
    req.signed_at = start() - Duration::minutes(1);
    refused_with(&sim.first_visit(&req), SimResultCode::SignatureInvalid);
    // Certificate swapped for another card's: the record's hash no longer matches.
    let mut req = pin_request("vc-01", 7, start());
    req.certificate_der = cert("vc-02");
    refused_with(&sim.first_visit(&req), SimResultCode::RequestInvalid);
}

#[test]
fn certificate_chain_validity_and_revocation() {
    let (_clock, sim) = setup(SimConfig::default());
    refused_with(&sim.first_visit(&pin_request("vc-04", 8, start())), SimResultCode::CertificateRevoked);
    refused_with(&sim.first_visit(&pin_request("vc-05", 9, start())), SimResultCode::CertificateExpired);
    // A certificate whose CA signature is broken (one byte of the signature flipped).
    let mut bad = cert("vc-01");
    let n = bad.len();
    bad[n - 10] ^= 0x55;
    let mut record = record("vc-01", IdentityMode::Pin);
    record.certificate_sha256 = certificate_sha256(&bad);
    let nonce = vec![10; 32];
    let msg = consent_message(&record, &nonce, &start()).unwrap();
    let mut req = signature_for("vc-01", record, nonce, start(), &msg);
    req.certificate_der = bad;
    refused_with(&sim.first_visit(&req), SimResultCode::CertificateUntrusted);
    // The CA itself is not a card certificate... and garbage is not a certificate.
    for (n, der) in [(11u8, TEST_CA_DER.to_vec()), (111, b"not a certificate".to_vec())] {
        let mut record = record_for_der(&der);
        record.identity_mode = IdentityMode::Visual;
        let req = FirstVisitRequest {
            record,
            nonce: vec![n; 16],
            signed_at: start(),
            certificate_der: der,
            proof: IdentityProof::Visual { staff_id: "N-01".into() },
            arbitrary_file_identifier: None,
        };
        let out = sim.first_visit(&req);
        assert_eq!(out.consent_id, None);
        assert_eq!(code_of(&out.answer), Some(SimResultCode::CertificateUntrusted.code()));
    }
    // With the revocation list emptied vc-04 is accepted.
    let (_c, lenient) = setup(SimConfig { revoked_serials: Default::default(), ..SimConfig::default() });
    assert!(lenient.first_visit(&pin_request("vc-04", 12, start())).consent_id.is_some());
}

fn record_for_der(der: &[u8]) -> ConsentRecord {
    ConsentRecord { certificate_sha256: certificate_sha256(der), ..record("vc-01", IdentityMode::Pin) }
}

#[test]
fn signed_offline_then_submitted_later() {
    let (clock, sim) = setup(SimConfig::default());
    let req = pin_request("vc-02", 13, start());
    clock.advance(Duration::days(3));
    let out = sim.first_visit(&req);
    assert!(out.consent_id.is_some(), "{out:?}");
    let r = &out.answer.message_body.result_list[0];
    // The consent time is when the patient signed, not when the gateway got online.
    assert_eq!(
        r.info_consent(&ConsentItem::Pharmacists).unwrap().cons_time.unwrap().to_string(),
        "2026-11-21 10:00:00"
    );
    // Too old, or from the future.
    clock.set(start().with_timezone(&Utc) + Duration::days(31));
    refused_with(&sim.first_visit(&pin_request("vc-02", 14, start())), SimResultCode::TimeOutOfRange);
    clock.set(start().with_timezone(&Utc));
    refused_with(
        &sim.first_visit(&pin_request("vc-02", 15, start() + Duration::minutes(30))),
        SimResultCode::TimeOutOfRange,
    );
}

#[test]
fn visual_check_mode() {
    let (_clock, sim) = setup(SimConfig::default());
    let visual = |nonce: u8, staff: &str| FirstVisitRequest {
        record: record("vc-03", IdentityMode::Visual),
        nonce: vec![nonce; 16],
        signed_at: start(),
        certificate_der: cert("vc-03"),
        proof: IdentityProof::Visual { staff_id: staff.into() },
        arbitrary_file_identifier: None,
    };
    assert!(sim.first_visit(&visual(20, "N-07")).consent_id.is_some());
    refused_with(&sim.first_visit(&visual(21, " ")), SimResultCode::RequestInvalid);
    // PIN proof on a record that says 目視 (or the reverse) is refused.
    let mut mixed = visual(22, "N-07");
    mixed.proof = IdentityProof::Pin { signature: vec![0; 256] };
    refused_with(&sim.first_visit(&mixed), SimResultCode::RequestInvalid);
    let (_c, strict) = setup(SimConfig { allow_visual_check: false, ..SimConfig::default() });
    refused_with(&strict.first_visit(&visual(23, "N-07")), SimResultCode::VisualCheckNotAllowed);
}

fn reinquiry_for(sim: &Simulator, person: &str, kind: VisitKind) -> ReinquiryRequest {
    let p = sim.registry().person(person).unwrap();
    let q = p.valid_on(start().date_naive()).unwrap();
    ReinquiryRequest {
        medical_institution_code: clinic(),
        search: Registry::search_info_for(q),
        visit_kind: kind,
        arbitrary_file_identifier: Some("RQ".into()),
    }
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    jst().with_ymd_and_hms(y, m, d, 9, 30, 0).unwrap().with_timezone(&Utc)
}

#[test]
fn reinquiry_follows_the_consent_rules() {
    let (clock, sim) = setup(SimConfig::default());
    let rq = reinquiry_for(&sim, "vc-01", VisitKind::HomeMedical);
    // Before any first visit: no consent.
    let m = sim.reinquire(&rq);
    assert_eq!(code_of(&m), Some(SimResultCode::ConsentMissing.code()));
    assert!(m.message_body.result_list.is_empty(), "nothing disclosed without consent");
    let id = sim.first_visit(&pin_request("vc-01", 30, start())).consent_id.unwrap();

    clock.set(at(2026, 12, 10));
    let m = sim.reinquire(&rq);
    assert_eq!(m.message_header.reference_classification, Some(ReferenceClassification::InsuranceNumbers));
    assert_eq!(m.message_body.qualification_validity, Some(QualificationValidity::Valid));
    assert_eq!(m.message_body.result_list[0].name.as_deref(), Some("佐藤　ハナ"));
    // Last day of the initial period (February 2027), and a visit in it extends into March.
    clock.set(at(2027, 2, 28));
    assert_eq!(sim.reinquire(&rq).message_body.qualification_validity, Some(QualificationValidity::Valid));
    clock.set(at(2027, 3, 20));
    let m = sim.reinquire(&rq);
    let ph = m.message_body.result_list[0].info_consent(&ConsentItem::Pharmacists).unwrap().clone();
    assert_eq!(ph.available_time.unwrap().to_string(), "2027-03-31 23:59:59");
    // No visit in April → lapsed on 1 May: flag 2, no qualification disclosed.
    clock.set(at(2027, 5, 1));
    let m = sim.reinquire(&rq);
    assert_eq!(code_of(&m), Some(SimResultCode::ConsentExpired.code()));
    let r = &m.message_body.result_list[0];
    assert_eq!(r.name, None);
    assert_eq!(r.info_consent(&ConsentItem::Pharmacists).unwrap().cons_flg, Some(ConsentFlag::Expired));
    assert_eq!(r.info_consent(&ConsentItem::SpecificHealthCheckups).unwrap().cons_flg, Some(ConsentFlag::NotConsented));
    assert!(matches!(sim.consent(&id).unwrap().status, ConsentStatus::Expired { .. }));
    // A new first visit restores 再照会.
    let req = pin_request("vc-01", 31, jst().with_ymd_and_hms(2027, 5, 1, 9, 0, 0).unwrap());
    assert!(sim.first_visit(&req).consent_id.is_some());
    assert_eq!(sim.reinquire(&rq).message_body.qualification_validity, Some(QualificationValidity::Valid));
}

#[test]
fn revoked_consent_and_urgent_calls() {
    let (clock, sim) = setup(SimConfig::default());
    let id = sim.first_visit(&pin_request("vc-02", 40, start())).consent_id.unwrap();
    clock.set(at(2026, 12, 1));
    let urgent = reinquiry_for(&sim, "vc-02", VisitKind::UrgentCall);
    assert_eq!(code_of(&sim.reinquire(&urgent)), Some(SimResultCode::ConsentMissing.code()));
    let rq = reinquiry_for(&sim, "vc-02", VisitKind::HomeNursing);
    assert_eq!(sim.reinquire(&rq).message_body.qualification_validity, Some(QualificationValidity::Valid));
    sim.revoke_consent(&id).unwrap();
    assert_eq!(code_of(&sim.reinquire(&rq)), Some(SimResultCode::ConsentRevoked.code()));
    assert_eq!(sim.revoke_consent("C999999"), Err(SimResultCode::ConsentMissing));
    // Another clinic never sees this clinic's consent.
    let mut other = rq.clone();
    other.medical_institution_code = MedicalInstitutionCode::parse_valid("0110113719").unwrap();
    assert_eq!(code_of(&sim.reinquire(&other)), Some(SimResultCode::ConsentMissing.code()));
    // Incomplete or invalid requests are refused, not guessed at.
    let mut no_birth = rq.clone();
    no_birth.search.birthdate = None;
    assert_eq!(code_of(&sim.reinquire(&no_birth)), Some(SimResultCode::RequestInvalid.code()));
    let mut bad_inst = rq.clone();
    bad_inst.medical_institution_code = MedicalInstitutionCode::parse("3410712363").unwrap();
    assert_eq!(code_of(&sim.reinquire(&bad_inst)), Some(SimResultCode::RequestInvalid.code()));
}

#[test]
fn validity_codes_a_terminal_would_give() {
    let (clock, sim) = setup(SimConfig::default());
    // Unknown numbers → 4; two people under one set of numbers → 5.
    let mut rq = reinquiry_for(&sim, "sp-120", VisitKind::HomeMedical);
    assert_eq!(sim.reinquire(&rq).message_body.qualification_validity, Some(QualificationValidity::MultipleMatches));
    rq.search.insured_identification_number = Some("99999999".into());
    assert_eq!(sim.reinquire(&rq).message_body.qualification_validity, Some(QualificationValidity::NotFound));
    // vc-02's old 国保 numbers → 3 (a newer qualification exists).
    sim.first_visit(&pin_request("vc-02", 50, start())).consent_id.unwrap();
    let old = sim.registry().person("vc-02").unwrap().qualifications[0].clone();
    let rq_old = ReinquiryRequest {
        search: Registry::search_info_for(&old),
        ..reinquiry_for(&sim, "vc-02", VisitKind::HomeMedical)
    };
    assert_eq!(
        sim.reinquire(&rq_old).message_body.qualification_validity,
        Some(QualificationValidity::InvalidNewerExists)
    );
    // vc-03 loses the qualification on 2027-01-01 → 2.
    sim.first_visit(&pin_request("vc-03", 51, start())).consent_id.unwrap();
    let rq3 = reinquiry_for(&sim, "vc-03", VisitKind::HomeMedical);
    clock.set(at(2026, 12, 31));
    assert_eq!(sim.reinquire(&rq3).message_body.qualification_validity, Some(QualificationValidity::Valid));
    clock.set(at(2027, 1, 5));
    let m = sim.reinquire(&rq3);
    assert_eq!(m.message_body.qualification_validity, Some(QualificationValidity::Invalid));
    assert_eq!(m.message_body.result_list[0].reason_of_loss, Some(ReasonOfLoss::PublicAssistance));
}

#[test]
fn medication_history_only_where_consented() {
    let (clock, sim) = setup(SimConfig::default());
    sim.first_visit(&pin_request("vc-01", 60, start())).consent_id.unwrap();
    let rq = reinquiry_for(&sim, "vc-01", VisitKind::HomeMedical);
    let meds = sim.medication_history(&clinic(), &rq.search).unwrap();
    assert!(meds.len() >= 8);
    let months: std::collections::BTreeSet<_> =
        meds.iter().map(|m| m.dispensed_on.format("%Y-%m").to_string()).collect();
    assert!(months.len() >= 3, "a few months of history: {months:?}");
    assert!(meds.iter().all(|m| m.dispensed_on < start().date_naive()));
    // Same answer for the same day (deterministic).
    assert_eq!(sim.medication_history(&clinic(), &rq.search).unwrap(), meds);

    // vc-02 consents to everything except 薬剤情報.
    let mut record = record("vc-02", IdentityMode::Pin);
    record.medication = false;
    let nonce = vec![61; 32];
    let msg = consent_message(&record, &nonce, &start()).unwrap();
    sim.first_visit(&signature_for("vc-02", record, nonce, start(), &msg)).consent_id.unwrap();
    let rq2 = reinquiry_for(&sim, "vc-02", VisitKind::HomeMedical);
    assert_eq!(sim.medication_history(&clinic(), &rq2.search), Err(SimResultCode::MedicationNotConsented));
    clock.set(at(2027, 6, 1));
    assert_eq!(sim.medication_history(&clinic(), &rq.search), Err(SimResultCode::ConsentExpired));
}

#[test]
fn bulk_pull_by_consent_date_with_a_slow_terminal() {
    let (clock, sim) = setup(SimConfig { bulk_pending_fetches: 2, ..SimConfig::default() });
    sim.first_visit(&pin_request("vc-01", 70, start()));
    clock.advance(Duration::days(2));
    sim.first_visit(&pin_request("vc-02", 71, start() + Duration::days(2)));
    let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
    let accepted = sim.bulk_visit_request(&clinic(), d(20), d(22), None);
    assert_eq!(accepted.message_header.segment_of_result, Some(SegmentOfResult::InProgress));
    let reception = accepted.message_header.reception_number.clone().unwrap();
    for _ in 0..2 {
        let m = sim.bulk_visit_fetch(&clinic(), &reception, None);
        assert_eq!(m.message_header.segment_of_result, Some(SegmentOfResult::InProgress));
    }
    let done = sim.bulk_visit_fetch(&clinic(), &reception, None);
    assert_eq!(done.message_header.segment_of_result, Some(SegmentOfResult::Completed));
    assert_eq!(done.message_header.number_of_processing_result, Some(1));
    let unit = &done.message_body.bulk_confirm_units[0];
    assert_eq!(unit.result_of_qualification_confirmation.as_ref().unwrap().name.as_deref(), Some("佐藤　ハナ"));
    assert_eq!(xml::parse(&xml::write(&done, Default::default())).unwrap(), done);
    let unknown = sim.bulk_visit_fetch(&clinic(), "R-NOPE", None);
    assert_eq!(code_of(&unknown), Some(SimResultCode::ReceptionUnknown.code()));
    let wide = sim.bulk_visit_request(&clinic(), d(1), d(30), None);
    let r = wide.message_header.reception_number.unwrap();
    let _ = sim.bulk_visit_fetch(&clinic(), &r, None);
    let _ = sim.bulk_visit_fetch(&clinic(), &r, None);
    assert_eq!(sim.bulk_visit_fetch(&clinic(), &r, None).message_body.bulk_confirm_units.len(), 2);
}

#[test]
fn same_calls_same_answers() {
    let run = || {
        let (clock, sim) = setup(SimConfig::default());
        let mut out = vec![];
        out.push(xml::write(&sim.first_visit(&pin_request("vc-01", 80, start())).answer, Default::default()));
        clock.set(at(2027, 1, 10));
        out.push(xml::write(&sim.reinquire(&reinquiry_for(&sim, "vc-01", VisitKind::HomeMedical)), Default::default()));
        out
    };
    assert_eq!(run(), run());
}

#[test]
fn result_codes_are_distinct_and_explained() {
    let mut seen = std::collections::HashSet::new();
    for c in SimResultCode::ALL {
        assert!(seen.insert(c.code()));
        assert!(c.code().starts_with("HSIM-"));
        assert!(c.message_ja().ends_with('。'));
        assert!(c.message_en().ends_with('.'));
    }
}

#[test]
fn answers_read_as_clear_outcomes() {
    let (clock, sim) = setup(SimConfig::default());
    let rq = reinquiry_for(&sim, "vc-01", VisitKind::HomeMedical);
    assert_eq!(interpret(&sim.reinquire(&rq)), QualificationOutcome::NoConsent);
    let first = sim.first_visit(&pin_request("vc-01", 90, start()));
    assert!(matches!(interpret(&first.answer), QualificationOutcome::Valid { .. }));
    clock.set(at(2027, 6, 1));
    let expired = interpret(&sim.reinquire(&rq));
    assert_eq!(expired, QualificationOutcome::ConsentExpired);
    assert!(expired.message_ja().contains("やり直してください"));
    let mut unknown = rq.clone();
    unknown.search.insured_identification_number = Some("1".into());
    assert_eq!(interpret(&sim.reinquire(&unknown)), QualificationOutcome::NotFound);
    assert_eq!(
        interpret(&sim.reinquire(&reinquiry_for(&sim, "sp-120", VisitKind::HomeMedical))),
        QualificationOutcome::MultipleMatches
    );
    match interpret(&sim.first_visit(&pin_request("vc-05", 91, at(2027, 6, 1).with_timezone(&jst()))).answer) {
        QualificationOutcome::Error { code, message } => {
            assert_eq!(code, "HSIM-E102");
            assert!(message.contains("有効期限"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn card_style_signature_over_digest_info_equals_ring_signature() {
    // The card is given DigestInfo(SHA-256, consent_digest) and applies raw PKCS#1 v1.5 with
    // its key; ring hashes the message itself. Both are deterministic, so they must be equal.
    use houmon_onshi::digest::{consent_digest, digest_info};
    use rsa::pkcs8::DecodePrivateKey;
    let record = record("vc-01", houmon_onshi::digest::IdentityMode::Pin);
    let nonce = [42u8; 32];
    let digest = consent_digest(&record, &nonce, &start()).unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs8_der(&fixture("card-vc-01.key.pk8")).unwrap();
    let card_sig = key.sign(rsa::Pkcs1v15Sign::new_unprefixed(), &digest_info(&digest)).unwrap();
    let msg = houmon_onshi::digest::consent_message(&record, &nonce, &start()).unwrap();
    assert_eq!(card_sig, sign("vc-01", &msg));
    // And the simulator accepts the card-style signature.
    let (_clock, sim) = setup(SimConfig::default());
    let req = FirstVisitRequest {
        record,
        nonce: nonce.to_vec(),
        signed_at: start(),
        certificate_der: cert("vc-01"),
        proof: IdentityProof::Pin { signature: card_sig },
        arbitrary_file_identifier: None,
    };
    assert!(sim.first_visit(&req).consent_id.is_some());
}

#[test]
fn state_survives_a_restart() {
    let (clock, sim) = setup(SimConfig::default());
    let req = pin_request("vc-01", 100, start());
    let first = sim.first_visit(&req);
    let json = serde_json::to_string(&sim.export_state()).unwrap();
    // A new process: same clock, state restored from JSON.
    let (c2, again) = setup(SimConfig::default());
    again.import_state(serde_json::from_str(&json).unwrap());
    assert_eq!(again.first_visit(&req), first, "idempotency survives");
    clock.set(at(2026, 12, 5));
    c2.set(at(2026, 12, 5));
    let rq = reinquiry_for(&again, "vc-01", VisitKind::HomeMedical);
    assert_eq!(again.reinquire(&rq).message_body.result_list, sim.reinquire(&rq).message_body.result_list);
}
