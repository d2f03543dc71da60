//! The consent digest a patient's card signs at a first visit (ARCHITECTURE.md, *First visit
//! (居宅同意取得型)*).
//!
//! The tablet builds a [`ConsentRecord`] from the patient's choices, draws a fresh nonce, and
//! computes [`consent_message`] → [`consent_digest`] (SHA-256 of the message). In PIN mode the
//! card signs `DigestInfo(SHA-256, digest)` with RSA-2048 PKCS#1 v1.5 — exactly what
//! `ring`'s `RSA_PKCS1_SHA256` produces over the message, and what the simulator verifies with
//! `RSA_PKCS1_2048_8192_SHA256`. [`digest_info`] gives the 51 bytes the card layer pads.
//!
//! The message is UTF-8, one `key:value` line per field, LF-terminated, in this fixed order:
//!
//! ```text
//! houmon-consent-v1
//! institution:<医療機関コード 10 digits>
//! visit-kind:<home_medical|home_nursing|home_other|urgent_call>
//! identity:<pin|visual>
//! consent.PharmacistsInfo:<0|1>
//! consent.DiagnosisInfo:<0|1>
//! consent.SpecificHealthCheckupsInfo:<0|1>
//! consent.OperationInfo:<0|1>
//! consent.<later item>:<0|1>          (additional items, sorted by name, [A-Za-z0-9_]+)
//! limit-application:<0|1>
//! specific-diseases:<0|1>
//! prescription:<1 電子|2 紙>
//! certificate-sha256:<lower-case hex of the auth certificate DER>
//! nonce:<lower-case hex, 16–64 bytes>
//! time:<JST RFC 3339 to the second, e.g. 2024-04-01T10:15:00+09:00>
//! ```
//!
//! Changing anything here breaks signatures already stored: add a `houmon-consent-v2` instead.

use crate::codes::{CodeTable, PrescriptionIssueSelect};
use crate::consent::{VisitKind, jst};
use crate::numbers::MedicalInstitutionCode;
use chrono::{DateTime, FixedOffset, SecondsFormat, TimeZone};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How identity was established at the first visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityMode {
    /// The card signed with the 利用者証明用 PIN.
    Pin,
    /// 目視確認: staff compared the card's photo with the patient.
    Visual,
}

/// The consent choices made at a first visit (居宅同意取得型), in the order of ARCHITECTURE.md,
/// *First visit (居宅同意取得型)*.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// 医療機関コード of the clinic that obtains consent.
    pub medical_institution_code: MedicalInstitutionCode,
    pub visit_kind: VisitKind,
    pub identity_mode: IdentityMode,
    /// 薬剤情報.
    pub medication: bool,
    /// 診療情報.
    pub clinical: bool,
    /// 特定健診等情報.
    pub health_checkups: bool,
    /// 手術情報.
    pub operation: bool,
    /// Items added by later revisions, by XML prefix (e.g. `AllergyInfo`).
    #[serde(default)]
    pub additional: BTreeMap<String, bool>,
    /// 限度額適用認定証 提供同意.
    pub limit_application: bool,
    /// 特定疾病療養受療証 提供同意.
    pub specific_diseases: bool,
    /// 処方箋の発行方法.
    pub prescription_issue: PrescriptionIssueSelect,
    /// SHA-256 of the 利用者証明用 certificate (DER), lower-case hex.
    pub certificate_sha256: String,
}

/// A record or nonce that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("nonce must be 16 to 64 bytes (got {0})")]
    NonceLength(usize),
    #[error("additional consent item name {0:?} must be 1–64 characters of [A-Za-z0-9_]")]
    ItemName(String),
    #[error("certificate_sha256 must be 64 lower-case hex characters")]
    CertificateHash,
}

impl DigestError {
    pub fn message_ja(&self) -> String {
        match self {
            Self::NonceLength(_) => "同意データの作成に失敗しました（乱数の長さ）。もう一度操作してください。".into(),
            Self::ItemName(_) => "同意項目の名前が正しくありません。アプリを更新してください。".into(),
            Self::CertificateHash => "カードの証明書情報が正しくありません。カードを読み直してください。".into(),
        }
    }
}

fn visit_kind_key(k: VisitKind) -> &'static str {
    match k {
        VisitKind::HomeMedical => "home_medical",
        VisitKind::HomeNursing => "home_nursing",
        VisitKind::HomeOther => "home_other",
        VisitKind::UrgentCall => "urgent_call",
    }
}

fn flag(b: bool) -> char {
    if b { '1' } else { '0' }
}

/// The canonical bytes of (record, nonce, time). See the module doc for the layout.
pub fn consent_message<Tz: TimeZone>(
    record: &ConsentRecord,
    nonce: &[u8],
    time: &DateTime<Tz>,
) -> Result<Vec<u8>, DigestError> {
    if !(16..=64).contains(&nonce.len()) {
        return Err(DigestError::NonceLength(nonce.len()));
    }
    let h = &record.certificate_sha256;
    if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(DigestError::CertificateHash);
    }
    for name in record.additional.keys() {
        let ok = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let base = ["PharmacistsInfo", "DiagnosisInfo", "SpecificHealthCheckupsInfo", "OperationInfo"];
        if !ok || base.contains(&name.as_str()) {
            return Err(DigestError::ItemName(name.clone()));
        }
    }
    let mut m = String::with_capacity(512);
    m.push_str("houmon-consent-v1\n");
    m.push_str(&format!("institution:{}\n", record.medical_institution_code.as_str()));
    m.push_str(&format!("visit-kind:{}\n", visit_kind_key(record.visit_kind)));
    m.push_str(match record.identity_mode {
        IdentityMode::Pin => "identity:pin\n",
        IdentityMode::Visual => "identity:visual\n",
    });
    m.push_str(&format!("consent.PharmacistsInfo:{}\n", flag(record.medication)));
    m.push_str(&format!("consent.DiagnosisInfo:{}\n", flag(record.clinical)));
    m.push_str(&format!("consent.SpecificHealthCheckupsInfo:{}\n", flag(record.health_checkups)));
    m.push_str(&format!("consent.OperationInfo:{}\n", flag(record.operation)));
    for (name, v) in &record.additional {
        m.push_str(&format!("consent.{name}:{}\n", flag(*v)));
    }
    m.push_str(&format!("limit-application:{}\n", flag(record.limit_application)));
    m.push_str(&format!("specific-diseases:{}\n", flag(record.specific_diseases)));
    m.push_str(&format!("prescription:{}\n", record.prescription_issue.code()));
    m.push_str(&format!("certificate-sha256:{h}\n"));
    m.push_str(&format!("nonce:{}\n", hex::encode(nonce)));
    m.push_str(&format!("time:{}\n", canonical_time(time)));
    Ok(m.into_bytes())
}

/// The time as it appears in the message: JST, whole seconds.
pub fn canonical_time<Tz: TimeZone>(time: &DateTime<Tz>) -> String {
    time.with_timezone(&jst()).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Truncates to whole seconds in JST (what the message binds).
pub fn canonical_instant<Tz: TimeZone>(time: &DateTime<Tz>) -> DateTime<FixedOffset> {
    let t = time.with_timezone(&jst());
    DateTime::from_timestamp(t.timestamp(), 0).map(|u| u.with_timezone(&jst())).unwrap_or(t)
}

/// SHA-256 of [`consent_message`]: the value the card is asked to sign.
pub fn consent_digest<Tz: TimeZone>(
    record: &ConsentRecord,
    nonce: &[u8],
    time: &DateTime<Tz>,
) -> Result<[u8; 32], DigestError> {
    let m = consent_message(record, nonce, time)?;
    let d = ring::digest::digest(&ring::digest::SHA256, &m);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    Ok(out)
}

/// DER `DigestInfo` prefix for SHA-256 (RFC 8017 §9.2 note 1).
pub const SHA256_DIGEST_INFO_PREFIX: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];

/// `DigestInfo(SHA-256, digest)`: the 51 bytes the card wraps in PKCS#1 v1.5 padding.
pub fn digest_info(digest: &[u8; 32]) -> [u8; 51] {
    let mut out = [0u8; 51];
    out[..19].copy_from_slice(&SHA256_DIGEST_INFO_PREFIX);
    out[19..].copy_from_slice(digest);
    out
}

/// SHA-256 of a certificate, lower-case hex (for [`ConsentRecord::certificate_sha256`]).
pub fn certificate_sha256(der: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, der))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record() -> ConsentRecord {
        ConsentRecord {
            medical_institution_code: MedicalInstitutionCode::parse("3410712362").unwrap(),
            visit_kind: VisitKind::HomeMedical,
            identity_mode: IdentityMode::Pin,
            medication: true,
            clinical: false,
            health_checkups: true,
            operation: false,
            additional: BTreeMap::new(),
            limit_application: true,
            specific_diseases: false,
            prescription_issue: PrescriptionIssueSelect::Electronic,
            certificate_sha256: "ab".repeat(32),
        }
    }

    #[test]
    fn message_layout_is_stable() {
        let t = jst().with_ymd_and_hms(2024, 4, 1, 10, 15, 0).unwrap();
        let m = consent_message(&record(), &[7u8; 16], &t).unwrap();
        let expected = format!(
            "houmon-consent-v1\ninstitution:3410712362\nvisit-kind:home_medical\nidentity:pin\n\
             consent.PharmacistsInfo:1\nconsent.DiagnosisInfo:0\nconsent.SpecificHealthCheckupsInfo:1\n\
             consent.OperationInfo:0\nlimit-application:1\nspecific-diseases:0\nprescription:1\n\
             certificate-sha256:{}\nnonce:{}\ntime:2024-04-01T10:15:00+09:00\n",
            "ab".repeat(32),
            "07".repeat(16)
        );
        assert_eq!(String::from_utf8(m).unwrap(), expected);
    }

    #[test]
    fn same_instant_in_any_zone_gives_the_same_digest() {
        let t = jst().with_ymd_and_hms(2024, 4, 1, 0, 15, 0).unwrap();
        let utc = t.with_timezone(&chrono::Utc);
        assert_eq!(consent_digest(&record(), &[1; 32], &t), consent_digest(&record(), &[1; 32], &utc));
    }

    #[test]
    fn every_field_changes_the_digest() {
        let t = jst().with_ymd_and_hms(2024, 4, 1, 10, 15, 0).unwrap();
        let base = consent_digest(&record(), &[1; 16], &t).unwrap();
        let mut variants = vec![];
        let mut r = record();
        r.medication = false;
        variants.push(r);
        let mut r = record();
        r.prescription_issue = PrescriptionIssueSelect::Paper;
        variants.push(r);
        let mut r = record();
        r.identity_mode = IdentityMode::Visual;
        variants.push(r);
        let mut r = record();
        r.additional.insert("AllergyInfo".into(), false);
        variants.push(r);
        let mut r = record();
        r.medical_institution_code = MedicalInstitutionCode::parse("0110113719").unwrap();
        variants.push(r);
        for v in variants {
            assert_ne!(consent_digest(&v, &[1; 16], &t).unwrap(), base, "{v:?}");
        }
        assert_ne!(consent_digest(&record(), &[2; 16], &t).unwrap(), base);
        assert_ne!(consent_digest(&record(), &[1; 16], &(t + chrono::Duration::seconds(1))).unwrap(), base);
    }

    #[test]
    fn bad_inputs_are_refused() {
        let t = jst().with_ymd_and_hms(2024, 4, 1, 10, 15, 0).unwrap();
        assert_eq!(consent_message(&record(), &[1; 8], &t), Err(DigestError::NonceLength(8)));
        let mut r = record();
        r.additional.insert("bad\nname".into(), true);
        assert!(matches!(consent_message(&r, &[1; 16], &t), Err(DigestError::ItemName(_))));
        let mut r = record();
        r.additional.insert("PharmacistsInfo".into(), true);
        assert!(matches!(consent_message(&r, &[1; 16], &t), Err(DigestError::ItemName(_))));
        let mut r = record();
        r.certificate_sha256 = "AB".repeat(32);
        assert_eq!(consent_message(&r, &[1; 16], &t), Err(DigestError::CertificateHash));
    }

    #[test]
    fn digest_info_layout() {
        // (The equivalence with ring's PKCS#1 signatures is checked end to end in the simulator
        // tests, which verify card signatures made by ring over the message.)
        let d = [9u8; 32];
        let di = digest_info(&d);
        assert_eq!(&di[..2], &[0x30, 0x31]);
        assert_eq!(di.len(), 51);
        assert_eq!(&di[19..], &d);
    }
}
