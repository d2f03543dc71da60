//! What a tablet writes for the gateway at a first visit in PIN mode, made the real way: the
//! consent choices, a fresh nonce and the time, signed by a synthetic card's 利用者証明用 key
//! through the card layer's PIN-mode sequence (certificate, tries left, VERIFY, COMPUTE DIGITAL
//! SIGNATURE), with its certificate. Shared by the gateway tests and the app end-to-end tests.

use houmon_model::QualificationQuery;
use houmon_onshi::MedicalInstitutionCode;
use houmon_onshi::codes::PrescriptionIssueSelect;
use houmon_onshi::consent::{VisitKind, jst};
use houmon_onshi::digest::{ConsentRecord, IdentityMode, canonical_instant, certificate_sha256, consent_digest};
use houmon_onshi::sim::{FirstVisitRequest, IdentityProof};

/// The synthetic card's test PIN, from the fixture (never a real person's).
pub fn fixture_pin(card_id: &str) -> houmon_nfc::AuthPin {
    let people: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/jpki-test/people.json"))
            .expect("people.json"),
    )
    .expect("people.json parses");
    let pin = people
        .as_array()
        .and_then(|a| a.iter().find(|p| p["id"] == card_id))
        .and_then(|p| p["pin"].as_str())
        .expect("fixture card has a PIN");
    houmon_nfc::AuthPin::parse(pin).expect("pin")
}

/// A 訪問診療 first visit at `institution` (医療機関コード), signed by the virtual card `card_id`.
pub fn signed_first_visit(card_id: &str, institution: &str) -> QualificationQuery {
    let vc = houmon_nfc::VirtualCard::new(card_id).expect("virtual card");
    let mut card = houmon_nfc::Card::new(houmon_nfc::VirtualTransport::new(vc));
    let cert = card.read_auth_certificate().expect("certificate");
    let record = ConsentRecord {
        medical_institution_code: MedicalInstitutionCode::parse_valid(institution).expect("code"),
        visit_kind: VisitKind::HomeMedical,
        identity_mode: IdentityMode::Pin,
        medication: true,
        clinical: true,
        health_checkups: true,
        operation: false,
        additional: Default::default(),
        limit_application: false,
        specific_diseases: false,
        prescription_issue: PrescriptionIssueSelect::Electronic,
        certificate_sha256: certificate_sha256(&cert),
    };
    let nonce: [u8; 32] = rand::random();
    let signed_at = canonical_instant(&chrono::Utc::now().with_timezone(&jst()));
    let digest = consent_digest(&record, &nonce, &signed_at).expect("digest");
    let signed = houmon_nfc::jpki::pin_mode_sign(&mut card, &fixture_pin(card_id), &digest, false).expect("card signs");
    assert_eq!(signed.certificate, cert);
    QualificationQuery::FirstVisit(Box::new(FirstVisitRequest {
        record,
        nonce: nonce.to_vec(),
        signed_at,
        certificate_der: cert,
        proof: IdentityProof::Pin { signature: signed.signature },
        arbitrary_file_identifier: None,
    }))
}
