//! Shared test helpers: fixture cards, and first-visit requests signed with ring exactly as
//! the card signs (RSA PKCS#1 v1.5 over SHA-256).
#![allow(dead_code)]

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use houmon_onshi::MedicalInstitutionCode;
use houmon_onshi::clock::ManualClock;
use houmon_onshi::codes::*;
use houmon_onshi::consent::{VisitKind, jst};
use houmon_onshi::digest::{ConsentRecord, IdentityMode, certificate_sha256, consent_message};
use houmon_onshi::sim::*;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/jpki-test").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn cert(card: &str) -> Vec<u8> {
    fixture(&format!("card-{card}.cert.der"))
}

pub fn sign(card: &str, msg: &[u8]) -> Vec<u8> {
    let key = RsaKeyPair::from_pkcs8(&fixture(&format!("card-{card}.key.pk8"))).unwrap();
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig).unwrap();
    sig
}

pub fn clinic() -> MedicalInstitutionCode {
    MedicalInstitutionCode::parse_valid("3410712362").unwrap()
}

/// 2026-11-21 10:00 JST.
pub fn start() -> DateTime<FixedOffset> {
    jst().with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap()
}

pub fn setup(config: SimConfig) -> (Arc<ManualClock>, Simulator) {
    let clock = Arc::new(ManualClock::new(start().with_timezone(&Utc)));
    let sim = Simulator::with(Registry::synthetic(), TEST_CA_DER.to_vec(), config, clock.clone());
    (clock, sim)
}

pub fn record(card: &str, mode: IdentityMode) -> ConsentRecord {
    ConsentRecord {
        medical_institution_code: clinic(),
        visit_kind: VisitKind::HomeMedical,
        identity_mode: mode,
        medication: true,
        clinical: true,
        health_checkups: false,
        operation: false,
        additional: BTreeMap::new(),
        limit_application: true,
        specific_diseases: true,
        prescription_issue: PrescriptionIssueSelect::Electronic,
        certificate_sha256: certificate_sha256(&cert(card)),
    }
}

pub fn pin_request(card: &str, nonce_byte: u8, at: DateTime<FixedOffset>) -> FirstVisitRequest {
    let record = record(card, IdentityMode::Pin);
    let nonce = vec![nonce_byte; 32];
    let msg = consent_message(&record, &nonce, &at).unwrap();
    signature_for(card, record, nonce, at, &msg)
}

pub fn signature_for(
    card: &str,
    record: ConsentRecord,
    nonce: Vec<u8>,
    at: DateTime<FixedOffset>,
    msg: &[u8],
) -> FirstVisitRequest {
    FirstVisitRequest {
        record,
        nonce,
        signed_at: at,
        certificate_der: cert(card),
        proof: IdentityProof::Pin { signature: sign(card, msg) },
        arbitrary_file_identifier: Some("T1".into()),
    }
}
