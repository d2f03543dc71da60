//! A deterministic simulator of the national side of オンライン資格確認 (demo, training, tests).
//!
//! It trusts the workspace's test JPKI CA, keeps a revocation list, verifies first-visit
//! confirmations (certificate chain, validity, revocation and, in PIN mode, the card's
//! signature over the [consent digest](crate::digest)), registers consents, answers 再照会
//! under the [consent rules](crate::consent), serves synthetic 薬剤情報 where consented and
//! answers the bulk 訪問診療等 pull. Every answer is an [`XmlMsg`] with the codes a terminal
//! would use. Processing result codes are clearly fake (`HSIM-…`, see [`SimResultCode`])
//! because the official 別紙6-1 list is not public.
//!
//! Time comes only from the injected [`Clock`]; the same calls give the same answers.

pub mod registry;

pub use registry::{CardHolder, Registry, SimPerson};

use crate::clock::Clock;
use crate::codes::*;
use crate::consent::{
    ConsentPolicy, ConsentStatus, ConsentTimeline, VisitKind, available_time, consent_status, jst, jst_date, jst_naive,
    may_reinquire,
};
use crate::digest::{ConsentRecord, IdentityMode, canonical_instant, certificate_sha256, consent_message};
use crate::numbers::MedicalInstitutionCode;
use crate::types::*;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// The workspace's test JPKI 利用者証明用 CA certificate (DER).
pub const TEST_CA_DER: &[u8] = include_bytes!("../../../fixtures/jpki-test/ca.cert.der");

/// Processing result codes used by the simulator (処理結果コード). Fake by design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimResultCode {
    CertificateUntrusted,
    CertificateExpired,
    CertificateRevoked,
    SignatureInvalid,
    NonceReused,
    TimeOutOfRange,
    RequestInvalid,
    VisualCheckNotAllowed,
    ConsentMissing,
    ConsentExpired,
    ConsentRevoked,
    ReceptionUnknown,
    MedicationNotConsented,
    /// Side information on success: the card's certificate expires within 3 months.
    CertificateExpiresSoon,
}

impl SimResultCode {
    pub const ALL: [SimResultCode; 14] = [
        Self::CertificateUntrusted,
        Self::CertificateExpired,
        Self::CertificateRevoked,
        Self::SignatureInvalid,
        Self::NonceReused,
        Self::TimeOutOfRange,
        Self::RequestInvalid,
        Self::VisualCheckNotAllowed,
        Self::ConsentMissing,
        Self::ConsentExpired,
        Self::ConsentRevoked,
        Self::ReceptionUnknown,
        Self::MedicationNotConsented,
        Self::CertificateExpiresSoon,
    ];
    /// The wire code.
    pub fn code(self) -> &'static str {
        match self {
            Self::CertificateUntrusted => "HSIM-E101",
            Self::CertificateExpired => "HSIM-E102",
            Self::CertificateRevoked => "HSIM-E103",
            Self::SignatureInvalid => "HSIM-E104",
            Self::NonceReused => "HSIM-E105",
            Self::TimeOutOfRange => "HSIM-E106",
            Self::RequestInvalid => "HSIM-E107",
            Self::VisualCheckNotAllowed => "HSIM-E108",
            Self::ConsentMissing => "HSIM-E201",
            Self::ConsentExpired => "HSIM-E202",
            Self::ConsentRevoked => "HSIM-E203",
            Self::ReceptionUnknown => "HSIM-E301",
            Self::MedicationNotConsented => "HSIM-E401",
            Self::CertificateExpiresSoon => "HSIM-W001",
        }
    }
    /// English message (second UI language).
    pub fn message_en(self) -> &'static str {
        match self {
            Self::CertificateUntrusted => "The card's certificate could not be verified. Read the card again.",
            Self::CertificateExpired => {
                "The card's certificate has expired. Ask the patient to renew it at the city office; check the 資格確認書 instead."
            }
            Self::CertificateRevoked => {
                "The card's certificate has been revoked. Confirm qualification another way (e.g. 資格確認書)."
            }
            Self::SignatureInvalid => "The signature could not be verified. Read the card again and re-enter the PIN.",
            Self::NonceReused => "The same request id arrived with different content. Start the confirmation again.",
            Self::TimeOutOfRange => {
                "The confirmation time is not acceptable. Check the tablet's clock and start again."
            }
            Self::RequestInvalid => "The request is not valid. Update the app and start again.",
            Self::VisualCheckNotAllowed => "This clinic does not allow visual checks. Use the PIN.",
            Self::ConsentMissing => "No consent is registered for this patient. Do a first confirmation with the card.",
            Self::ConsentExpired => "The consent has expired. Confirm with the card and register consent again.",
            Self::ConsentRevoked => "The patient has revoked consent. Re-query is not possible.",
            Self::ReceptionUnknown => "Unknown reception number. Start the bulk request again.",
            Self::MedicationNotConsented => "No consent to view medication information.",
            Self::CertificateExpiresSoon => "The card's certificate expires within 3 months. Suggest renewal.",
        }
    }
    /// 処理結果メッセージ (displayed as-is), with what to do next.
    pub fn message_ja(self) -> &'static str {
        match self {
            Self::CertificateUntrusted => {
                "マイナンバーカードの電子証明書を確認できませんでした。カードを読み直してください。"
            }
            Self::CertificateExpired => {
                "マイナンバーカードの電子証明書の有効期限が切れています。市区町村窓口での更新を案内し、資格確認書で確認してください。"
            }
            Self::CertificateRevoked => {
                "マイナンバーカードの電子証明書は失効しています。資格確認書など別の方法で確認してください。"
            }
            Self::SignatureInvalid => {
                "電子署名を確認できませんでした。もう一度カードを読み取り、暗証番号を入力してください。"
            }
            Self::NonceReused => "同じ受付データが別の内容で送られました。最初から確認をやり直してください。",
            Self::TimeOutOfRange => "確認日時が正しくありません。端末の時刻を確認し、最初からやり直してください。",
            Self::RequestInvalid => "要求の内容が正しくありません。アプリを最新にして、最初からやり直してください。",
            Self::VisualCheckNotAllowed => "この医療機関では目視確認が許可されていません。暗証番号で確認してください。",
            Self::ConsentMissing => {
                "この患者さんの同意が登録されていません。マイナンバーカードで初回の確認をしてください。"
            }
            Self::ConsentExpired => {
                "同意の有効期限が切れています。マイナンバーカードで確認と同意の登録をやり直してください。"
            }
            Self::ConsentRevoked => "患者さんが同意を取り消しています。再照会はできません。",
            Self::ReceptionUnknown => "受付番号が見つかりません。一括照会を最初からやり直してください。",
            Self::MedicationNotConsented => "薬剤情報の閲覧に同意がないため表示できません。",
            Self::CertificateExpiresSoon => {
                "マイナンバーカードの電子証明書の有効期限が3か月以内です。更新を案内してください。"
            }
        }
    }
}

/// Simulator settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// The continuing-consent policy applied to 再照会.
    pub policy: ConsentPolicy,
    /// Revoked certificate serials (lower-case hex, no leading zeros).
    pub revoked_serials: BTreeSet<String>,
    /// Whether 目視確認 (no PIN) is accepted.
    pub allow_visual_check: bool,
    /// How long a record signed offline may wait before it is submitted.
    pub max_offline_days: i64,
    /// Tolerated clock skew of the tablet (seconds).
    pub max_clock_skew_secs: i64,
    /// How many `OQSmuhvq02` fetches answer 処理中 before the result (slow terminal).
    pub bulk_pending_fetches: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        // vc-04's card is the revoked one (its note in people.json says so).
        let revoked = registry::parse_card_holders(registry::FIXTURE_PEOPLE_JSON)
            .unwrap_or_default()
            .into_iter()
            .filter(|h| h.id == "vc-04")
            .map(|h| normalise_serial(&h.cert_serial))
            .collect();
        Self {
            policy: ConsentPolicy::default(),
            revoked_serials: revoked,
            allow_visual_check: true,
            max_offline_days: 30,
            max_clock_skew_secs: 300,
            bulk_pending_fetches: 0,
        }
    }
}

fn normalise_serial(s: &str) -> String {
    let t = s.trim().to_ascii_lowercase().replace(':', "");
    let t = t.trim_start_matches('0');
    if t.is_empty() { "0".into() } else { t.to_owned() }
}

/// How the patient's identity was proven at the first visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum IdentityProof {
    /// The card's RSA PKCS#1 v1.5 SHA-256 signature over the consent message.
    Pin {
        #[serde(with = "b64")]
        signature: Vec<u8>,
    },
    /// 目視確認 attested by a staff member (no PIN).
    Visual { staff_id: String },
}

/// A first-visit confirmation as the tablet sends it (through the gateway).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstVisitRequest {
    pub record: ConsentRecord,
    #[serde(with = "hexbytes")]
    pub nonce: Vec<u8>,
    /// When the consent was given and signed (the time bound into the digest).
    pub signed_at: DateTime<FixedOffset>,
    /// The 利用者証明用 certificate read from the card.
    #[serde(with = "b64")]
    pub certificate_der: Vec<u8>,
    pub proof: IdentityProof,
    /// Echoed in the answer header.
    #[serde(default)]
    pub arbitrary_file_identifier: Option<String>,
}

/// The answer to a first-visit confirmation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstVisitOutcome {
    /// The registered consent (None when refused or no valid qualification).
    pub consent_id: Option<String>,
    /// The result as a terminal would give it.
    pub answer: XmlMsg,
}

/// A 再照会 (or single check) by insurance numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReinquiryRequest {
    pub medical_institution_code: MedicalInstitutionCode,
    pub search: QualificationConfirmSearchInfo,
    pub visit_kind: VisitKind,
    #[serde(default)]
    pub arbitrary_file_identifier: Option<String>,
}

/// One synthetic dispensing (薬剤情報) entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispensingRecord {
    /// 調剤年月日.
    pub dispensed_on: NaiveDate,
    /// 薬局名.
    pub pharmacy: String,
    /// 薬剤名.
    pub drug: String,
    /// 用法.
    pub usage: String,
    /// 1日量.
    pub daily_quantity: String,
    /// 日数.
    pub days: u32,
}

/// A registered consent as the simulator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentView {
    pub consent_id: String,
    pub person_id: String,
    pub medical_institution_code: MedicalInstitutionCode,
    pub record: ConsentRecord,
    pub timeline: ConsentTimeline,
    pub status: ConsentStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ConsentEntry {
    id: String,
    person_id: String,
    institution: MedicalInstitutionCode,
    record: ConsentRecord,
    timeline: ConsentTimeline,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Bulk {
    institution: MedicalInstitutionCode,
    from: NaiveDate,
    to: NaiveDate,
    fetches: u32,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    consents: Vec<ConsentEntry>,
    #[serde(with = "nonce_map")]
    nonces: HashMap<Vec<u8>, ([u8; 32], FirstVisitOutcome)>,
    bulks: HashMap<String, Bulk>,
    next_reception: u32,
}

/// The simulator. Cheap to share (`Arc`) between the gateway and a terminal emulator.
#[derive(Debug)]
pub struct Simulator {
    registry: Registry,
    ca_der: Vec<u8>,
    config: SimConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

/// Time in the XML (JST wall clock).
fn now_fixed(clock: &dyn Clock) -> DateTime<FixedOffset> {
    clock.now().with_timezone(&jst())
}

impl Simulator {
    /// The standard simulator: synthetic registry, test CA, default config.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with(Registry::synthetic(), TEST_CA_DER.to_vec(), SimConfig::default(), clock)
    }

    pub fn with(registry: Registry, ca_der: Vec<u8>, config: SimConfig, clock: Arc<dyn Clock>) -> Self {
        Self { registry, ca_der, config, clock, state: Mutex::new(State::default()) }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }
    pub fn config(&self) -> &SimConfig {
        &self.config
    }
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere must not wedge the simulator.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn header(
        &self,
        inst: Option<&MedicalInstitutionCode>,
        afi: Option<&str>,
        reference: ReferenceClassification,
    ) -> MessageHeader {
        let now = now_fixed(&*self.clock);
        MessageHeader {
            process_execution_time: Some(jst_naive(&now)),
            qualification_confirmation_date: Some(jst_date(&now)),
            medical_institution_code: inst.cloned(),
            arbitrary_file_identifier: afi.map(str::to_owned),
            reference_classification: Some(reference),
            segment_of_result: Some(SegmentOfResult::Completed),
            character_code_identifier: Some(CharacterCodeIdentifier::Utf8),
            ..Default::default()
        }
    }

    fn refusal(&self, header: MessageHeader, code: SimResultCode) -> XmlMsg {
        XmlMsg {
            message_header: header,
            message_body: MessageBody {
                processing_result_status: Some(ProcessingResultStatus::Error),
                processing_result_code: Some(code.code().into()),
                processing_result_message: Some(code.message_ja().into()),
                ..Default::default()
            },
        }
    }

    /// The simulator's state (registered consents, used nonces, pending bulk requests), so a
    /// training gateway can keep it across restarts. It describes synthetic people only, but
    /// store it like patient data all the same (encrypted).
    pub fn export_state(&self) -> SimSnapshot {
        SimSnapshot(self.state().clone())
    }

    /// Replaces the state with one from [`Self::export_state`].
    pub fn import_state(&self, snapshot: SimSnapshot) {
        *self.state() = snapshot.0;
    }

    // ------------------------------------------------------------ first visit

    /// 居宅同意取得型 first confirmation. Identical requests are idempotent; a nonce reused with
    /// different content is refused.
    pub fn first_visit(&self, req: &FirstVisitRequest) -> FirstVisitOutcome {
        let header = self.header(
            Some(&req.record.medical_institution_code),
            req.arbitrary_file_identifier.as_deref(),
            ReferenceClassification::MyNumberCard,
        );
        let refuse = |code| FirstVisitOutcome { consent_id: None, answer: self.refusal(header.clone(), code) };
        let Ok(message) = consent_message(&req.record, &req.nonce, &req.signed_at) else {
            return refuse(SimResultCode::RequestInvalid);
        };
        if certificate_sha256(&req.certificate_der) != req.record.certificate_sha256
            || req.record.medical_institution_code.validate().is_err()
        {
            return refuse(SimResultCode::RequestInvalid);
        }
        let fingerprint = {
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            ctx.update(&message);
            ctx.update(&req.certificate_der);
            match &req.proof {
                IdentityProof::Pin { signature } => {
                    ctx.update(b"pin");
                    ctx.update(signature);
                }
                IdentityProof::Visual { staff_id } => {
                    ctx.update(b"visual");
                    ctx.update(staff_id.as_bytes());
                }
            }
            let mut f = [0u8; 32];
            f.copy_from_slice(ctx.finish().as_ref());
            f
        };
        if let Some((fp, outcome)) = self.state().nonces.get(&req.nonce) {
            return if *fp == fingerprint { outcome.clone() } else { refuse(SimResultCode::NonceReused) };
        }
        let outcome = self.verify_and_register(req, &message, header.clone());
        self.state().nonces.insert(req.nonce.clone(), (fingerprint, outcome.clone()));
        outcome
    }

    fn verify_and_register(&self, req: &FirstVisitRequest, message: &[u8], header: MessageHeader) -> FirstVisitOutcome {
        let refuse = |code| FirstVisitOutcome { consent_id: None, answer: self.refusal(header.clone(), code) };
        let now = self.clock.now();
        let signed_at = canonical_instant(&req.signed_at);
        if signed_at > now + Duration::seconds(self.config.max_clock_skew_secs)
            || signed_at < now - Duration::days(self.config.max_offline_days)
        {
            return refuse(SimResultCode::TimeOutOfRange);
        }
        let cert = match verify_certificate(&self.ca_der, &req.certificate_der, signed_at.timestamp()) {
            Ok(c) => c,
            Err(code) => return refuse(code),
        };
        if self.config.revoked_serials.contains(&cert.serial) {
            return refuse(SimResultCode::CertificateRevoked);
        }
        match (&req.proof, req.record.identity_mode) {
            (IdentityProof::Pin { signature }, IdentityMode::Pin) => {
                let key = ring::signature::UnparsedPublicKey::new(
                    &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                    &cert.rsa_public_key,
                );
                if key.verify(message, signature).is_err() {
                    return refuse(SimResultCode::SignatureInvalid);
                }
            }
            (IdentityProof::Visual { staff_id }, IdentityMode::Visual) => {
                if !self.config.allow_visual_check {
                    return refuse(SimResultCode::VisualCheckNotAllowed);
                }
                if staff_id.trim().is_empty() {
                    return refuse(SimResultCode::RequestInvalid);
                }
            }
            _ => return refuse(SimResultCode::RequestInvalid),
        }
        let mut answer = XmlMsg { message_header: header, message_body: MessageBody::default() };
        let body = &mut answer.message_body;
        body.processing_result_status = Some(ProcessingResultStatus::Normal);
        if cert.not_after - now.timestamp() < 90 * 86_400 {
            body.processing_result_code = Some(SimResultCode::CertificateExpiresSoon.code().into());
            body.processing_result_message = Some(SimResultCode::CertificateExpiresSoon.message_ja().into());
        }
        let Some(person) = self.registry.by_certificate(&req.record.certificate_sha256) else {
            // The card is genuine but not registered for 保険証利用.
            body.qualification_validity = Some(QualificationValidity::NotFound);
            return FirstVisitOutcome { consent_id: None, answer };
        };
        let day = jst_date(&signed_at);
        let Some(q) = person.valid_on(day) else {
            body.qualification_validity = Some(QualificationValidity::Invalid);
            return FirstVisitOutcome { consent_id: None, answer };
        };
        let mut state = self.state();
        let id = format!("C{:06}", state.consents.len() + 1);
        let entry = ConsentEntry {
            id: id.clone(),
            person_id: person.id.clone(),
            institution: req.record.medical_institution_code.clone(),
            record: req.record.clone(),
            timeline: ConsentTimeline { first_confirmed_at: Some(signed_at), revoked_at: None, visits: vec![day] },
        };
        let status = consent_status(&self.config.policy, &entry.timeline, &now);
        body.qualification_validity = Some(QualificationValidity::Valid);
        body.prescription_issue_select = Some(req.record.prescription_issue);
        body.result_list.push(with_consents(q, &entry, status));
        state.consents.push(entry);
        FirstVisitOutcome { consent_id: Some(id), answer }
    }

    // ------------------------------------------------------------ 再照会

    /// The latest consent this institution holds for this person.
    fn consent_index(state: &State, inst: &MedicalInstitutionCode, person_id: &str) -> Option<usize> {
        state.consents.iter().rposition(|c| &c.institution == inst && c.person_id == person_id)
    }

    /// 再照会 by the numbers obtained at the first visit, under the consent rules. A successful
    /// 再照会 records today's visit (which extends the consent month by month).
    pub fn reinquire(&self, req: &ReinquiryRequest) -> XmlMsg {
        let header = self.header(
            Some(&req.medical_institution_code),
            req.arbitrary_file_identifier.as_deref(),
            ReferenceClassification::InsuranceNumbers,
        );
        let now = self.clock.now();
        let today = jst_date(&now);
        let echo = Some(req.search.clone());
        let s = &req.search;
        if req.medical_institution_code.validate().is_err()
            || s.insurer_number.is_none()
            || s.insured_identification_number.is_none()
            || s.birthdate.is_none()
        {
            let mut m = self.refusal(header, SimResultCode::RequestInvalid);
            m.message_body.qualification_confirm_search_info = echo;
            return m;
        }
        let hits = self.registry.by_numbers(&req.search);
        let plain = |validity| XmlMsg {
            message_header: header.clone(),
            message_body: MessageBody {
                processing_result_status: Some(ProcessingResultStatus::Normal),
                qualification_validity: Some(validity),
                qualification_confirm_search_info: echo.clone(),
                ..Default::default()
            },
        };
        let persons: BTreeSet<&str> = hits.iter().map(|h| h.person.id.as_str()).collect();
        if persons.is_empty() {
            return plain(QualificationValidity::NotFound);
        }
        if persons.len() > 1 {
            return plain(QualificationValidity::MultipleMatches);
        }
        let hit = hits[0];
        let mut state = self.state();
        let Some(ci) = Self::consent_index(&state, &req.medical_institution_code, &hit.person.id) else {
            let mut m = self.refusal(header, SimResultCode::ConsentMissing);
            m.message_body.qualification_confirm_search_info = echo;
            return m;
        };
        let entry = &mut state.consents[ci];
        match may_reinquire(&self.config.policy, &entry.timeline, req.visit_kind, &now) {
            Ok(_) => {}
            Err(why) => {
                let (code, status) = match why {
                    crate::consent::CardRequired::Revoked { at } => {
                        (SimResultCode::ConsentRevoked, ConsentStatus::Revoked { at })
                    }
                    crate::consent::CardRequired::Expired { valid_through } => {
                        (SimResultCode::ConsentExpired, ConsentStatus::Expired { valid_through })
                    }
                    // 往診 is refused by the tablet's rules; the national side sees no consent for it.
                    _ => (SimResultCode::ConsentMissing, ConsentStatus::None),
                };
                let mut m = self.refusal(header, code);
                m.message_body.qualification_confirm_search_info = echo;
                // Tell which consents lapsed (flag 2) without disclosing the qualification.
                if matches!(status, ConsentStatus::Expired { .. }) {
                    let mut r = ResultOfQualificationConfirmation::default();
                    set_consent_flags(&mut r, entry, status);
                    m.message_body.result_list.push(r);
                }
                return m;
            }
        }
        if !entry.timeline.visits.contains(&today) {
            entry.timeline.visits.push(today);
        }
        let status = consent_status(&self.config.policy, &entry.timeline, &now);
        let person = hit.person;
        let (validity, q) = match person.valid_on(today) {
            Some(q) if std::ptr::eq(q, hit.qualification) => (QualificationValidity::Valid, q),
            Some(_) => (QualificationValidity::InvalidNewerExists, hit.qualification),
            None => (QualificationValidity::Invalid, hit.qualification),
        };
        XmlMsg {
            message_header: header,
            message_body: MessageBody {
                processing_result_status: Some(ProcessingResultStatus::Normal),
                qualification_validity: Some(validity),
                prescription_issue_select: Some(entry.record.prescription_issue),
                qualification_confirm_search_info: echo,
                result_list: vec![with_consents(q, entry, status)],
                ..Default::default()
            },
        }
    }

    /// The patient revokes every consent given to this clinic (すべての同意を取消す).
    pub fn revoke_consent(&self, consent_id: &str) -> Result<(), SimResultCode> {
        let now = now_fixed(&*self.clock);
        let mut state = self.state();
        let c = state.consents.iter_mut().find(|c| c.id == consent_id).ok_or(SimResultCode::ConsentMissing)?;
        c.timeline.revoked_at.get_or_insert(now);
        Ok(())
    }

    /// Snapshot of a registered consent.
    pub fn consent(&self, consent_id: &str) -> Option<ConsentView> {
        let now = self.clock.now();
        let state = self.state();
        state.consents.iter().find(|c| c.id == consent_id).map(|c| ConsentView {
            consent_id: c.id.clone(),
            person_id: c.person_id.clone(),
            medical_institution_code: c.institution.clone(),
            record: c.record.clone(),
            timeline: c.timeline.clone(),
            status: consent_status(&self.config.policy, &c.timeline, &now),
        })
    }

    /// 薬剤情報: a few months of synthetic dispensing history, only under a valid consent that
    /// includes 薬剤情報.
    pub fn medication_history(
        &self,
        inst: &MedicalInstitutionCode,
        search: &QualificationConfirmSearchInfo,
    ) -> Result<Vec<DispensingRecord>, SimResultCode> {
        let now = self.clock.now();
        let hits = self.registry.by_numbers(search);
        let persons: BTreeSet<&str> = hits.iter().map(|h| h.person.id.as_str()).collect();
        if persons.len() != 1 {
            return Err(SimResultCode::ConsentMissing);
        }
        let person = hits[0].person;
        let state = self.state();
        let ci = Self::consent_index(&state, inst, &person.id).ok_or(SimResultCode::ConsentMissing)?;
        let entry = &state.consents[ci];
        match consent_status(&self.config.policy, &entry.timeline, &now) {
            ConsentStatus::Valid { .. } => {}
            ConsentStatus::Expired { .. } => return Err(SimResultCode::ConsentExpired),
            ConsentStatus::Revoked { .. } => return Err(SimResultCode::ConsentRevoked),
            ConsentStatus::None => return Err(SimResultCode::ConsentMissing),
        }
        if !entry.record.medication {
            return Err(SimResultCode::MedicationNotConsented);
        }
        Ok(synthetic_dispensing(&person.id, jst_date(&now)))
    }

    // ------------------------------------------------------------ bulk 訪問診療等

    /// `OQSmuhvq01`: accept a bulk pull of 居宅同意取得型 results by consent date; answers
    /// 処理中 with a 受付番号.
    pub fn bulk_visit_request(
        &self,
        inst: &MedicalInstitutionCode,
        from: NaiveDate,
        to: NaiveDate,
        afi: Option<&str>,
    ) -> XmlMsg {
        let mut header = self.header(Some(inst), afi, ReferenceClassification::MyNumberCard);
        if from > to || inst.validate().is_err() {
            return self.refusal(header, SimResultCode::RequestInvalid);
        }
        let mut state = self.state();
        state.next_reception += 1;
        let reception = format!("R{:08}", state.next_reception);
        state.bulks.insert(reception.clone(), Bulk { institution: inst.clone(), from, to, fetches: 0 });
        header.segment_of_result = Some(SegmentOfResult::InProgress);
        header.reception_number = Some(reception);
        XmlMsg { message_header: header, message_body: MessageBody::default() }
    }

    /// `OQSmuhvq02`: fetch a bulk result by 受付番号 (処理中 again while the terminal is slow).
    pub fn bulk_visit_fetch(&self, inst: &MedicalInstitutionCode, reception: &str, afi: Option<&str>) -> XmlMsg {
        let now = self.clock.now();
        let mut header = self.header(Some(inst), afi, ReferenceClassification::MyNumberCard);
        header.reception_number = Some(reception.to_owned());
        let mut state = self.state();
        let Some(bulk) = state.bulks.get_mut(reception).filter(|b| &b.institution == inst) else {
            return self.refusal(header, SimResultCode::ReceptionUnknown);
        };
        if bulk.fetches < self.config.bulk_pending_fetches {
            bulk.fetches += 1;
            header.segment_of_result = Some(SegmentOfResult::InProgress);
            return XmlMsg { message_header: header, message_body: MessageBody::default() };
        }
        let (from, to) = (bulk.from, bulk.to);
        // The latest consent per person, first confirmed within the date range.
        let mut latest: Vec<&ConsentEntry> = vec![];
        for c in state.consents.iter().rev() {
            if &c.institution == inst && !latest.iter().any(|l| l.person_id == c.person_id) {
                latest.push(c);
            }
        }
        latest.retain(|c| c.timeline.first_confirmed_at.map(|t| jst_date(&t)).is_some_and(|d| from <= d && d <= to));
        latest.sort_by(|a, b| a.id.cmp(&b.id));
        let today = jst_date(&now);
        let mut units = vec![];
        for c in latest {
            let Some(person) = self.registry.person(&c.person_id) else { continue };
            let status = consent_status(&self.config.policy, &c.timeline, &now);
            let q = person.valid_on(today).or_else(|| person.qualifications.last());
            let Some(q) = q else { continue };
            units.push(BulkConfirmUnit {
                qualification_confirm_search_info: Some(Registry::search_info_for(q)),
                processing_result_status: Some(ProcessingResultStatus::Normal),
                qualification_validity: Some(if person.valid_on(today).is_some() {
                    QualificationValidity::Valid
                } else {
                    QualificationValidity::Invalid
                }),
                prescription_issue_select: Some(c.record.prescription_issue),
                result_of_qualification_confirmation: Some(with_consents(q, c, status)),
                reference_number: None,
                ..Default::default()
            });
        }
        let n = units.len() as u32;
        header.number_of_processing_result = Some(n);
        header.number_of_normal_processing = Some(n);
        header.number_of_error = Some(0);
        XmlMsg {
            message_header: header,
            message_body: MessageBody {
                processing_result_status: Some(ProcessingResultStatus::Normal),
                bulk_confirm_units: units,
                ..Default::default()
            },
        }
    }
}

/// The qualification with the consent flags of this consent in this state.
fn with_consents(
    q: &ResultOfQualificationConfirmation,
    c: &ConsentEntry,
    status: ConsentStatus,
) -> ResultOfQualificationConfirmation {
    let mut r = q.clone();
    set_consent_flags(&mut r, c, status);
    if !c.record.limit_application {
        r.limit_application_certificate_related_info = None;
    }
    if !c.record.specific_diseases {
        r.specific_diseases_certificate_list.clear();
    }
    r
}

fn set_consent_flags(r: &mut ResultOfQualificationConfirmation, c: &ConsentEntry, status: ConsentStatus) {
    let cons_time = c.timeline.first_confirmed_at.map(|t| jst_naive(&t));
    let (yes, until) = match status {
        ConsentStatus::Valid { valid_through } => (ConsentFlag::Consented, Some(available_time(valid_through))),
        ConsentStatus::Expired { valid_through } => (ConsentFlag::Expired, Some(available_time(valid_through))),
        ConsentStatus::Revoked { .. } | ConsentStatus::None => (ConsentFlag::NotConsented, None),
    };
    let flag = |given: bool| if given { yes } else { ConsentFlag::NotConsented };
    let rec = &c.record;
    r.limit_application_certificate_related_cons_flg = Some(flag(rec.limit_application));
    r.limit_application_certificate_related_cons_time = rec.limit_application.then_some(cons_time).flatten();
    r.specific_diseases_certificate_related_cons_flg = Some(flag(rec.specific_diseases));
    r.specific_diseases_certificate_related_cons_time = rec.specific_diseases.then_some(cons_time).flatten();
    let mut items: Vec<(ConsentItem, bool)> = vec![
        (ConsentItem::SpecificHealthCheckups, rec.health_checkups),
        (ConsentItem::Pharmacists, rec.medication),
        (ConsentItem::Diagnosis, rec.clinical),
        (ConsentItem::Operation, rec.operation),
    ];
    items.extend(rec.additional.iter().map(|(k, v)| (ConsentItem::from_prefix(k), *v)));
    r.info_consents = items
        .into_iter()
        .map(|(item, given)| InfoConsent {
            item,
            cons_flg: Some(flag(given)),
            cons_time: given.then_some(cons_time).flatten(),
            available_time: given.then_some(until).flatten(),
        })
        .collect();
    r.info_consents.sort_by(|a, b| a.item.cmp(&b.item));
}

const DRUGS: [(&str, &str, &str); 8] = [
    ("アムロジピン錠5mg", "1日1回朝食後", "1錠"),
    ("ランソプラゾールOD錠15mg", "1日1回朝食後", "1錠"),
    ("酸化マグネシウム錠330mg", "1日3回毎食後", "3錠"),
    ("ドネペジル塩酸塩OD錠5mg", "1日1回朝食後", "1錠"),
    ("メトホルミン塩酸塩錠250mg", "1日2回朝夕食後", "2錠"),
    ("エルデカルシトールカプセル0.75μg", "1日1回朝食後", "1カプセル"),
    ("フロセミド錠20mg", "1日1回朝食後", "1錠"),
    ("ロキソプロフェンナトリウム錠60mg", "疼痛時頓用", "1錠"),
];

fn synthetic_dispensing(person_id: &str, today: NaiveDate) -> Vec<DispensingRecord> {
    let seed: usize = person_id.bytes().map(usize::from).sum();
    let n_drugs = 2 + seed % 3;
    let mut out = vec![];
    for k in 0..4i64 {
        let on = today - Duration::days(14 + 28 * k);
        for j in 0..n_drugs {
            let (drug, usage, qty) = DRUGS[(seed + j * 3) % DRUGS.len()];
            out.push(DispensingRecord {
                dispensed_on: on,
                pharmacy: "訪問台薬局（模擬）".into(),
                drug: drug.into(),
                usage: usage.into(),
                daily_quantity: qty.into(),
                days: 28,
            });
        }
    }
    out
}

/// Opaque, serialisable simulator state (see [`Simulator::export_state`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimSnapshot(State);

mod nonce_map {
    use super::FirstVisitOutcome;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::HashMap;
    type Map = HashMap<Vec<u8>, ([u8; 32], FirstVisitOutcome)>;
    pub fn serialize<S: Serializer>(m: &Map, s: S) -> Result<S::Ok, S::Error> {
        // Sorted, so the same state always serialises the same way.
        let mut v: Vec<(String, String, &FirstVisitOutcome)> =
            m.iter().map(|(k, (fp, o))| (hex::encode(k), hex::encode(fp), o)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Map, D::Error> {
        let v: Vec<(String, String, FirstVisitOutcome)> = Vec::deserialize(d)?;
        v.into_iter()
            .map(|(k, fp, o)| {
                let k = hex::decode(k).map_err(serde::de::Error::custom)?;
                let fp: [u8; 32] = hex::decode(fp)
                    .map_err(serde::de::Error::custom)?
                    .try_into()
                    .map_err(|_| serde::de::Error::custom("fingerprint must be 32 bytes"))?;
                Ok((k, (fp, o)))
            })
            .collect()
    }
}

/// What the simulator needs from a verified certificate.
struct VerifiedCert {
    serial: String,
    rsa_public_key: Vec<u8>,
    not_after: i64,
}

/// Verifies `cert_der` was issued by the CA and is valid at `at` (Unix seconds).
fn verify_certificate(ca_der: &[u8], cert_der: &[u8], at: i64) -> Result<VerifiedCert, SimResultCode> {
    use x509_parser::prelude::*;
    let (_, ca) = X509Certificate::from_der(ca_der).map_err(|_| SimResultCode::CertificateUntrusted)?;
    let (rest, cert) = X509Certificate::from_der(cert_der).map_err(|_| SimResultCode::CertificateUntrusted)?;
    // The CA (or any CA) presented as a card certificate is not a card.
    if !rest.is_empty() || cert.issuer() != ca.subject() || cert.is_ca() || cert_der == ca_der {
        return Err(SimResultCode::CertificateUntrusted);
    }
    cert.verify_signature(Some(ca.public_key())).map_err(|_| SimResultCode::CertificateUntrusted)?;
    let t = ASN1Time::from_timestamp(at).map_err(|_| SimResultCode::TimeOutOfRange)?;
    if !cert.validity().is_valid_at(t) {
        return Err(SimResultCode::CertificateExpired);
    }
    let spki = cert.public_key();
    if spki.algorithm.algorithm != x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION {
        return Err(SimResultCode::CertificateUntrusted);
    }
    Ok(VerifiedCert {
        serial: normalise_serial(&hex::encode(cert.raw_serial())),
        rsa_public_key: spki.subject_public_key.data.to_vec(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(s.trim()).map_err(serde::de::Error::custom)
    }
}

mod hexbytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?.trim()).map_err(serde::de::Error::custom)
    }
}
