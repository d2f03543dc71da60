//! `houmon-gateway`: the clinic-side qualification gateway (ARCHITECTURE.md, *Qualification
//! travels over sync*), a sync participant holding the clinic key. Each round it catches up,
//! answers every unanswered qualification request in the charts (first visits with the signed
//! consent, 再照会 by insurance numbers) from a [`QualificationSource`] — the simulator or the
//! clinic's 資格確認端末 — writes the result, or a clear [`QualificationFailure`], back into the
//! chart, and syncs again.
//!
//! Idempotent: answered requests are skipped, the simulator's state (registered consents,
//! used nonces) is kept in the encrypted store and saved before the answer is written, and a
//! first visit asked twice with the same nonce gets the same answer. A source that cannot be
//! reached (terminal timeout, shared folder gone) leaves the request waiting for the next round.
//!
//! Must never: log patient data or numbers, keep simulator state outside the encrypted store,
//! or drop a request without an answer once the source has answered it.

use chrono::{DateTime, Utc};
use houmon_model::CoreError;
use houmon_model::check::RequestFailure;
use houmon_model::*;
use houmon_onshi::codes::{CodeTable, ConsentFlag};
use houmon_onshi::outcome::{QualificationOutcome, interpret};
use houmon_onshi::sim::{ReinquiryRequest, SimResultCode, SimSnapshot, Simulator};
use houmon_onshi::source::{QualificationSource, SourceError};
use houmon_onshi::types::{ConsentItem, QualificationConfirmSearchInfo};
use houmon_onshi::{InsurerNumber, MedicalInstitutionCode};
use houmon_store::Store;
use houmon_sync::{SyncClient, SyncError, SyncReport, SyncResult};
use std::sync::Arc;

/// What one gateway round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayReport {
    /// Requests answered with a result (資格確認結果).
    pub answered: usize,
    /// Requests answered with a refusal or error ([`QualificationFailure`]).
    pub failed: usize,
    /// Requests left waiting because the source could not be reached (retried next round).
    pub waiting: usize,
    /// Japanese reasons the source gave for waiting requests (no patient data).
    pub waiting_reasons: Vec<String>,
    /// Sync rounds (catch-up before, upload after).
    pub syncs: Vec<SyncReport>,
}

/// How one request was answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Result(Box<QualificationSnapshot>),
    Failure(QualificationFailure),
    /// The request was written by a newer app: left waiting for an updated gateway.
    Unreadable,
}

/// The gateway: a source and the actor it writes as.
#[derive(Debug)]
pub struct Gateway {
    source: QualificationSource,
    actor: Actor,
    /// The clinic's 医療機関コード, used when a plain request carries no query.
    institution: Option<MedicalInstitutionCode>,
}

impl Gateway {
    /// A gateway answering from `source`. With the simulator, its saved state is loaded from
    /// the store so consents registered before a restart are still known.
    pub fn new(store: &mut Store, source: QualificationSource, actor: Actor) -> SyncResult<Self> {
        store.prepare_device_state()?;
        if let QualificationSource::Simulator(sim) = &source {
            load_sim_state(store, sim)?;
        }
        Ok(Self { source, actor, institution: None })
    }

    /// The in-process simulator on the system clock (訓練モード), with saved state.
    pub fn simulator(store: &mut Store, actor: Actor) -> SyncResult<Self> {
        let sim = Arc::new(Simulator::new(Arc::new(houmon_onshi::clock::SystemClock)));
        Self::new(store, QualificationSource::Simulator(sim), actor)
    }

    /// Set the clinic's 医療機関コード for requests without a query.
    pub fn with_institution(mut self, code: MedicalInstitutionCode) -> Self {
        self.institution = Some(code);
        self
    }

    /// Answer every unanswered request in the local store (no network).
    pub fn answer_pending(&self, store: &mut Store, report: &mut GatewayReport) -> SyncResult<()> {
        for (chart, req) in store.unanswered_qualification_requests()? {
            let now = Utc::now();
            let answer = match self.ask(&chart, &req, now) {
                Ok(a) => a,
                Err(e) => {
                    report.waiting += 1;
                    report.waiting_reasons.push(e.message_ja());
                    continue;
                }
            };
            if answer == Answer::Unreadable {
                report.waiting += 1;
                report.waiting_reasons.push(
                    "このゲートウェイでは読めない照会があります。ゲートウェイを最新版に更新してください。".into(),
                );
                continue;
            }
            // The simulator's state first: a crash after this and before the answer is
            // written asks again next round and gets the same answer.
            if let QualificationSource::Simulator(sim) = &self.source {
                save_sim_state(store, sim)?;
            }
            match answer {
                Answer::Result(q) => {
                    // A first visit the national side accepted: the signed consent joins the
                    // chart (the tablet's consent timeline starts from it), once per nonce.
                    if q.validity == QualificationValidity::Valid
                        && let Some(QualificationQuery::FirstVisit(f)) = &req.query
                        && !chart.consents.iter().any(|x| x.nonce_hex == hex::encode(&f.nonce) && !x.revocation)
                    {
                        let c = ConsentRecord::from_first_visit(f, req.requested_by, self.actor.device);
                        store.record_consent(&self.actor, chart.patient, &c)?;
                    }
                    store.record_qualification(&self.actor, chart.patient, &q)?;
                    report.answered += 1;
                }
                Answer::Failure(f) => {
                    store.record_qualification_failure(&self.actor, chart.patient, req.id, &f)?;
                    report.failed += 1;
                }
                Answer::Unreadable => {}
            }
        }
        Ok(())
    }

    /// Ask the source one request. `Err`: the source could not be reached (retry later).
    pub fn ask(&self, chart: &Chart, req: &QualificationRequest, now: DateTime<Utc>) -> Result<Answer, SourceError> {
        let query = match &req.query {
            Some(q) => q.clone(),
            None => match self.reinquiry_from_chart(chart) {
                Some(r) => QualificationQuery::Reinquiry(r),
                None => {
                    return Ok(Answer::Failure(failure(
                        now,
                        RequestFailure::NoInsuranceNumbers,
                        "保険の情報がまだありません。マイナンバーカードで初回の資格確認をしてください。",
                        "No insurance details yet. Do the first confirmation with the My Number card.",
                    )));
                }
            },
        };
        let outcome = match &query {
            QualificationQuery::Unreadable => return Ok(Answer::Unreadable),
            QualificationQuery::Reinquiry(r) => interpret(&self.source.reinquire(r)?),
            QualificationQuery::FirstVisit(f) => match self.source.first_visit(f) {
                Ok(o) => interpret(&o.answer),
                Err(SourceError::FirstVisitUnsupported) => {
                    return Ok(Answer::Failure(QualificationFailure {
                        answered_at: now,
                        code: RequestFailure::FirstVisitUnsupported,
                        service_code: None,
                        message_ja: SourceError::FirstVisitUnsupported.message_ja(),
                        message_en: "The clinic's qualification terminal cannot take first-visit confirmations: use マイナ在宅受付Web or the マイナ資格確認アプリ; results arrive by bulk pull.".into(),
                    }));
                }
                Err(e) => return Err(e),
            },
        };
        Ok(answer_from(req.id, now, &outcome))
    }

    /// A 再照会 built from the latest result's numbers and the birth date (for requests that
    /// carry no query).
    fn reinquiry_from_chart(&self, chart: &Chart) -> Option<ReinquiryRequest> {
        let last = chart.qualifications.iter().rev().find(|q| !q.number.is_empty())?;
        let institution = self.institution.clone()?;
        Some(ReinquiryRequest {
            medical_institution_code: institution,
            search: QualificationConfirmSearchInfo {
                insurer_number: InsurerNumber::parse(&last.insurer_number).ok(),
                insured_card_symbol: Some(last.symbol.clone()).filter(|s| !s.is_empty()),
                insured_identification_number: Some(last.number.clone()),
                insured_branch_number: Some(last.branch.clone()).filter(|s| !s.is_empty()),
                birthdate: chart.demographics.birth_date.or(last.demographics.birth_date),
                ..Default::default()
            },
            visit_kind: houmon_onshi::consent::VisitKind::HomeMedical,
            arbitrary_file_identifier: None,
        })
    }

    /// One gateway round against the relay: catch up, answer, and upload the answers.
    pub fn run_once(&self, store: &mut Store, client: &mut SyncClient) -> SyncResult<GatewayReport> {
        let mut report = GatewayReport::default();
        report.syncs.push(client.sync_once(store)?);
        self.answer_pending(store, &mut report)?;
        if report.answered + report.failed > 0 {
            report.syncs.push(client.sync_once(store)?);
        }
        Ok(report)
    }
}

fn failure(at: DateTime<Utc>, code: RequestFailure, ja: &str, en: &str) -> QualificationFailure {
    QualificationFailure { answered_at: at, code, service_code: None, message_ja: ja.into(), message_en: en.into() }
}

/// Turn an interpreted answer into what the chart keeps: a result, or a failure that says
/// what to do next.
pub fn answer_from(id: QualificationId, at: DateTime<Utc>, outcome: &QualificationOutcome) -> Answer {
    let ja = outcome.message_ja();
    let (code, service_code, en): (RequestFailure, Option<String>, String) = match outcome {
        QualificationOutcome::Valid { result, .. } => {
            return Answer::Result(Box::new(qualification_snapshot(
                id,
                at,
                Some(result),
                QualificationValidity::Valid,
            )));
        }
        QualificationOutcome::NotValid { result: Some(result), validity } => {
            return Answer::Result(Box::new(qualification_snapshot(
                id,
                at,
                Some(result),
                QualificationValidity::from(*validity),
            )));
        }
        QualificationOutcome::NotValid { result: None, .. } => (
            RequestFailure::NotValid,
            None,
            "The qualification is no longer valid. Check the new insurance details.".into(),
        ),
        QualificationOutcome::NotFound => (
            RequestFailure::NotFound,
            None,
            "No matching qualification. Check the insurer number, symbol, number and birth date.".into(),
        ),
        QualificationOutcome::MultipleMatches => (
            RequestFailure::MultipleMatches,
            None,
            "Several qualifications matched. Check the branch number and ask the insurer.".into(),
        ),
        QualificationOutcome::ConsentExpired => {
            (RequestFailure::ConsentExpired, None, SimResultCode::ConsentExpired.message_en().into())
        }
        QualificationOutcome::ConsentRevoked => {
            (RequestFailure::ConsentRevoked, None, SimResultCode::ConsentRevoked.message_en().into())
        }
        QualificationOutcome::NoConsent => {
            (RequestFailure::NoConsent, None, SimResultCode::ConsentMissing.message_en().into())
        }
        QualificationOutcome::InProgress { .. } => {
            (RequestFailure::InProgress, None, "Still being processed. Ask again later.".into())
        }
        QualificationOutcome::Error { code, message } => {
            let en = SimResultCode::ALL
                .iter()
                .find(|c| c.code() == code)
                .map(|c| c.message_en().to_string())
                .unwrap_or_else(|| format!("The qualification service refused the request ({code} {message}). Check the request and try again."));
            (RequestFailure::ServiceError, Some(code.clone()), en)
        }
    };
    Answer::Failure(QualificationFailure { answered_at: at, code, service_code, message_ja: ja, message_en: en })
}

/// The chart's view of a qualification answer: insurance numbers, 負担割合, consent flags and
/// dates, demographics (never the 個人番号). Shared by the gateway and the app's training mode.
pub fn qualification_snapshot(
    id: QualificationId,
    at: DateTime<Utc>,
    r: Option<&houmon_onshi::types::ResultOfQualificationConfirmation>,
    validity: QualificationValidity,
) -> QualificationSnapshot {
    let mut s = QualificationSnapshot {
        id,
        checked_at: at,
        insurer_number: String::new(),
        symbol: String::new(),
        number: String::new(),
        branch: String::new(),
        copay_percent: None,
        validity,
        consent_medication: false,
        consent_clinical: false,
        consent_checkup: false,
        consent_surgery: false,
        consent_date: None,
        consent_valid_until: None,
        demographics: Demographics::default(),
    };
    let Some(r) = r else { return s };
    s.insurer_number = r.insurer_number.as_ref().map(|n| n.as_str().to_string()).unwrap_or_default();
    s.symbol = r.insured_card_symbol.clone().unwrap_or_default();
    s.number = r.insured_identification_number.clone().unwrap_or_default();
    s.branch = r.insured_branch_number.clone().unwrap_or_default();
    s.copay_percent = r.insured_partial_contribution_ratio.map(|c| c.0);
    let flag = |item: ConsentItem| r.info_consent(&item).is_some_and(|c| c.cons_flg == Some(ConsentFlag::Consented));
    s.consent_medication = flag(ConsentItem::Pharmacists);
    s.consent_clinical = flag(ConsentItem::Diagnosis);
    s.consent_checkup = flag(ConsentItem::SpecificHealthCheckups);
    s.consent_surgery = flag(ConsentItem::Operation);
    let first = r.info_consents.iter().find(|c| c.cons_flg == Some(ConsentFlag::Consented));
    s.consent_date = first.and_then(|c| c.cons_time).map(|t| t.date());
    s.consent_valid_until = first.and_then(|c| c.available_time).map(|t| t.date());
    s.demographics = Demographics {
        name: r.name.clone().unwrap_or_default(),
        name_kana: r.name_kana.clone().unwrap_or_default(),
        birth_date: r.birthdate,
        sex: r.sex1.map(|x| x.code().to_string()).unwrap_or_default(),
        address: r.address.clone().unwrap_or_default(),
    };
    s
}

fn load_sim_state(store: &mut Store, sim: &Simulator) -> SyncResult<()> {
    let v = store.local_value("gateway.sim_state")?;
    if let Some(v) = v {
        let snap: SimSnapshot =
            serde_json::from_slice(&v).map_err(|_| SyncError::Core(CoreError::Corrupt { what: "gateway state" }))?;
        sim.import_state(snap);
    }
    Ok(())
}

fn save_sim_state(store: &mut Store, sim: &Simulator) -> SyncResult<()> {
    let v = serde_json::to_vec(&sim.export_state()).map_err(|_| SyncError::Crypto)?;
    store.set_local_value("gateway.sim_state", &v)?;
    Ok(())
}

/// The gateway's own actor (staff and device ids it writes and audits as), created once and
/// kept in the store so a restarted gateway writes as the same participant.
pub fn saved_actor(store: &mut Store) -> SyncResult<Actor> {
    store.prepare_device_state()?;
    let v = store.local_value("gateway.actor")?;
    if let Some(a) = v.and_then(|v| serde_json::from_slice::<Actor>(&v).ok()) {
        return Ok(a);
    }
    let a = Actor { staff: StaffId::new(), device: DeviceId::new() };
    let v = serde_json::to_vec(&a).map_err(|_| SyncError::Crypto)?;
    store.set_local_value("gateway.actor", &v)?;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use houmon_keys::FileFallback;
    use houmon_onshi::clock::{Clock, ManualClock};
    use houmon_onshi::codes::PrescriptionIssueSelect;
    use houmon_onshi::consent::{VisitKind, jst};
    use houmon_onshi::digest::{ConsentRecord as SignedConsent, IdentityMode, certificate_sha256, consent_message};
    use houmon_onshi::sim::{FirstVisitRequest, IdentityProof};

    const INSTITUTION: &str = "3410712362";

    fn card(id: &str) -> (Vec<u8>, Vec<u8>) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/jpki-test");
        let cert = std::fs::read(format!("{dir}/card-{id}.cert.der")).expect("fixture certificate");
        let key = std::fs::read(format!("{dir}/card-{id}.key.pk8")).expect("fixture key");
        (cert, key)
    }

    /// A first visit signed the way the card signs (RSA PKCS#1 v1.5 SHA-256 over the message).
    fn first_visit(card_id: &str, at: DateTime<Utc>) -> QualificationQuery {
        let (cert, key) = card(card_id);
        let record = SignedConsent {
            medical_institution_code: MedicalInstitutionCode::parse_valid(INSTITUTION).expect("code"),
            visit_kind: VisitKind::HomeMedical,
            identity_mode: IdentityMode::Pin,
            medication: true,
            clinical: true,
            health_checkups: false,
            operation: false,
            additional: Default::default(),
            limit_application: false,
            specific_diseases: false,
            prescription_issue: PrescriptionIssueSelect::Electronic,
            certificate_sha256: certificate_sha256(&cert),
        };
        let nonce: [u8; 16] = rand::random();
        let signed_at = at.with_timezone(&jst());
        let msg = consent_message(&record, &nonce, &signed_at).expect("message");
        let kp = ring::signature::RsaKeyPair::from_pkcs8(&key).expect("rsa key");
        let mut sig = vec![0u8; kp.public().modulus_len()];
        kp.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), &msg, &mut sig).expect("sign");
        QualificationQuery::FirstVisit(Box::new(FirstVisitRequest {
            record,
            nonce: nonce.to_vec(),
            signed_at,
            certificate_der: cert,
            proof: IdentityProof::Pin { signature: sig },
            arbitrary_file_identifier: None,
        }))
    }

    fn reinquiry(q: &QualificationSnapshot) -> QualificationQuery {
        QualificationQuery::Reinquiry(ReinquiryRequest {
            medical_institution_code: MedicalInstitutionCode::parse_valid(INSTITUTION).expect("code"),
            search: QualificationConfirmSearchInfo {
                insurer_number: InsurerNumber::parse(&q.insurer_number).ok(),
                insured_card_symbol: Some(q.symbol.clone()).filter(|s| !s.is_empty()),
                insured_identification_number: Some(q.number.clone()),
                insured_branch_number: Some(q.branch.clone()).filter(|s| !s.is_empty()),
                birthdate: q.demographics.birth_date,
                ..Default::default()
            },
            visit_kind: VisitKind::HomeMedical,
            arbitrary_file_identifier: None,
        })
    }

    fn setup() -> (tempfile::TempDir, Store, Actor, Arc<ManualClock>, Arc<Simulator>) {
        let dir = tempfile::tempdir().expect("tmp");
        let mut store = Store::open(dir.path(), &FileFallback).expect("store");
        let a = Actor { staff: StaffId::new(), device: DeviceId::new() };
        store.init_clinic(&a, ClinicId::new(), "試験クリニック", INSTITUTION).expect("clinic");
        let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap()));
        let sim = Arc::new(Simulator::new(clock.clone()));
        (dir, store, a, clock, sim)
    }

    fn request(store: &mut Store, chart: PatientId, id: QualificationId) -> QualificationRequest {
        let a = Actor { staff: StaffId::new(), device: DeviceId::new() };
        let c = store.open_chart(&a, chart).expect("chart");
        c.qualification_requests.into_iter().find(|r| r.id == id).expect("request")
    }

    #[test]
    fn first_visit_then_requery_are_answered_once_and_survive_a_restart() {
        let (_dir, mut store, nurse, clock, sim) = setup();
        let p = store.register_patient(&nurse, &Demographics { name: "仮登録".into(), ..Default::default() }).unwrap();
        let fv = store.request_qualification_query(&nurse, p, &first_visit("vc-01", clock.now())).unwrap();
        // Waiting until the gateway answers.
        assert!(!request(&mut store, p, fv).answered);
        assert_eq!(store.unanswered_qualification_requests().unwrap().len(), 1);

        let gw_actor = saved_actor(&mut store).unwrap();
        assert_eq!(saved_actor(&mut store).unwrap(), gw_actor, "the gateway keeps its identity");
        let gw = Gateway::new(&mut store, QualificationSource::Simulator(sim.clone()), gw_actor).unwrap();
        let mut r = GatewayReport::default();
        gw.answer_pending(&mut store, &mut r).unwrap();
        assert_eq!((r.answered, r.failed, r.waiting), (1, 0, 0), "{r:?}");
        let chart = store.open_chart(&nurse, p).unwrap();
        let q = chart.latest_qualification().expect("result").clone();
        assert_eq!(q.id, fv);
        assert_eq!(q.validity, QualificationValidity::Valid);
        assert!(!q.number.is_empty() && q.consent_medication && !q.consent_surgery);
        assert_ne!(chart.demographics.name, "仮登録", "demographics come from the answer");
        assert!(chart.qualification_requests[0].answered && chart.qualification_requests[0].failure.is_none());
        // The accepted first visit's signed consent is in the chart, for the nurse who asked.
        assert_eq!(chart.consents.len(), 1, "{:?}", chart.consents);
        let c = &chart.consents[0];
        assert_eq!((c.recorded_by, c.identity), (nurse.staff, houmon_model::IdentityMode::Pin));
        assert!(c.medication && c.clinical && !c.surgery && c.signature_hex.is_some() && !c.revocation);

        // Run twice: nothing more to do.
        let mut again = GatewayReport::default();
        gw.answer_pending(&mut store, &mut again).unwrap();
        assert_eq!((again.answered, again.failed), (0, 0));

        // Restart with a fresh simulator: the consent registered before is still known.
        let rq = store.request_qualification_query(&nurse, p, &reinquiry(&q)).unwrap();
        let sim2 = Arc::new(Simulator::new(clock.clone()));
        let gw2 = Gateway::new(&mut store, QualificationSource::Simulator(sim2), gw_actor).unwrap();
        let mut r2 = GatewayReport::default();
        gw2.answer_pending(&mut store, &mut r2).unwrap();
        assert_eq!((r2.answered, r2.failed), (1, 0), "{r2:?}");
        let chart = store.open_chart(&nurse, p).unwrap();
        let q2 = chart.qualifications.iter().find(|x| x.id == rq).expect("requery result");
        assert_eq!(q2.validity, QualificationValidity::Valid);
        assert_eq!(q2.number, q.number);
        assert!(request(&mut store, p, rq).answered);

        // Half a year without visits: the consent has lapsed, and the request says so.
        clock.advance(Duration::days(200));
        let late = store.request_qualification_query(&nurse, p, &reinquiry(&q)).unwrap();
        let mut r3 = GatewayReport::default();
        gw2.answer_pending(&mut store, &mut r3).unwrap();
        assert_eq!((r3.answered, r3.failed), (0, 1));
        let f = request(&mut store, p, late).failure.expect("failure");
        assert_eq!(f.code, RequestFailure::ConsentExpired);
        assert!(f.message_ja.contains("同意") && !f.message_en.is_empty(), "{f:?}");
    }

    #[test]
    fn refusals_are_answered_with_a_clear_reason() {
        let (_dir, mut store, nurse, clock, sim) = setup();
        let p = store.register_patient(&nurse, &Demographics { name: "患者".into(), ..Default::default() }).unwrap();
        let revoked = store.request_qualification_query(&nurse, p, &first_visit("vc-04", clock.now())).unwrap();
        // A signature that does not match the consent (the record was changed after signing).
        let mut tampered = first_visit("vc-01", clock.now());
        if let QualificationQuery::FirstVisit(f) = &mut tampered {
            f.record.operation = true;
        }
        let bad_sig = store.request_qualification_query(&nurse, p, &tampered).unwrap();
        // A plain request with no numbers on the chart yet.
        let plain = store.request_qualification(&nurse, p).unwrap();
        let gw = Gateway::new(&mut store, QualificationSource::Simulator(sim), nurse).unwrap();
        let mut r = GatewayReport::default();
        gw.answer_pending(&mut store, &mut r).unwrap();
        assert_eq!((r.answered, r.failed), (0, 3), "{r:?}");
        let code = |store: &mut Store, id| {
            let f = request(store, p, id).failure.expect("failure");
            f.code.stored(f.service_code.as_deref())
        };
        assert_eq!(code(&mut store, revoked), format!("error:{}", SimResultCode::CertificateRevoked.code()));
        assert_eq!(code(&mut store, bad_sig), format!("error:{}", SimResultCode::SignatureInvalid.code()));
        assert_eq!(code(&mut store, plain), "no_insurance_numbers");
        assert!(store.unanswered_qualification_requests().unwrap().is_empty());
        // A revoked card left no result and no consent behind.
        let chart = store.open_chart(&nurse, p).unwrap();
        assert!(chart.qualifications.is_empty() && chart.consents.is_empty());
    }

    #[test]
    fn an_unreachable_terminal_leaves_the_request_waiting() {
        let (dir, mut store, nurse, _clock, _sim) = setup();
        let p = store.register_patient(&nurse, &Demographics { name: "患者".into(), ..Default::default() }).unwrap();
        let q = QualificationSnapshot {
            id: QualificationId::new(),
            checked_at: Utc::now(),
            insurer_number: "06139936".into(),
            symbol: "1".into(),
            number: "2".into(),
            branch: String::new(),
            copay_percent: None,
            validity: QualificationValidity::Valid,
            consent_medication: false,
            consent_clinical: false,
            consent_checkup: false,
            consent_surgery: false,
            consent_date: None,
            consent_valid_until: None,
            demographics: Demographics::default(),
        };
        let id = store.request_qualification_query(&nurse, p, &reinquiry(&q)).unwrap();
        let folder = houmon_onshi::bridge::TerminalFolder::new(dir.path().join("no-terminal"));
        folder.ensure().unwrap();
        let source = QualificationSource::Terminal {
            bridge: Arc::new(houmon_onshi::bridge::Bridge::new(
                folder,
                Arc::new(houmon_onshi::clock::SystemClock),
                Default::default(),
            )),
            poll_interval: std::time::Duration::from_millis(10),
            timeout: std::time::Duration::from_millis(100),
        };
        let gw = Gateway::new(&mut store, source, nurse).unwrap();
        let mut r = GatewayReport::default();
        gw.answer_pending(&mut store, &mut r).unwrap();
        assert_eq!((r.answered, r.failed, r.waiting), (0, 0, 1));
        assert!(r.waiting_reasons[0].contains("資格確認端末"), "{:?}", r.waiting_reasons);
        assert!(!request(&mut store, p, id).answered);
    }

    #[test]
    fn a_terminal_folder_answers_with_real_xml_files() {
        use houmon_onshi::bridge::{Bridge, TerminalEmulator, TerminalFolder};
        let (dir, mut store, nurse, clock, sim) = setup();
        let p = store.register_patient(&nurse, &Demographics { name: "患者".into(), ..Default::default() }).unwrap();
        // The first visit went through マイナ在宅受付Web: the national side knows the consent.
        let QualificationQuery::FirstVisit(fv) = first_visit("vc-01", clock.now()) else { unreachable!() };
        let answered = sim.first_visit(&fv);
        let Answer::Result(q) = answer_from(QualificationId::new(), Utc::now(), &interpret(&answered.answer)) else {
            panic!("first visit refused: {:?}", interpret(&answered.answer));
        };
        let rq = store.request_qualification_query(&nurse, p, &reinquiry(&q)).unwrap();
        let fv_req = store.request_qualification_query(&nurse, p, &first_visit("vc-01", clock.now())).unwrap();

        // The emulated 資格確認端末 watches the folder in its own thread, like the real one.
        let root = dir.path().join("oqs");
        let mut emulator = TerminalEmulator::new(TerminalFolder::new(&root), sim, Default::default()).unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let terminal = std::thread::spawn(move || {
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = emulator.step();
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        let source = QualificationSource::Terminal {
            bridge: Arc::new(Bridge::new(
                TerminalFolder::new(&root),
                Arc::new(houmon_onshi::clock::SystemClock),
                Default::default(),
            )),
            poll_interval: std::time::Duration::from_millis(20),
            timeout: std::time::Duration::from_secs(20),
        };
        let gw = Gateway::new(&mut store, source, nurse).unwrap();
        let mut r = GatewayReport::default();
        let result = gw.answer_pending(&mut store, &mut r);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        terminal.join().unwrap();
        result.unwrap();
        assert_eq!((r.answered, r.failed, r.waiting), (1, 1, 0), "{r:?}");
        let chart = store.open_chart(&nurse, p).unwrap();
        let got = chart.qualifications.iter().find(|x| x.id == rq).expect("requery result");
        assert_eq!(got.validity, QualificationValidity::Valid);
        assert_eq!(got.number, q.number);
        // A terminal cannot take first visits: answered, saying where to do them instead.
        let f = request(&mut store, p, fv_req).failure.expect("failure");
        assert_eq!(f.code, RequestFailure::FirstVisitUnsupported);
        assert!(f.message_ja.contains("マイナ在宅受付Web"), "{f:?}");
    }

    #[test]
    fn a_newer_qualification_is_told_apart_from_a_plain_invalid_one() {
        use houmon_onshi::codes::QualificationValidity as Wire;
        let (_dir, mut store, nurse, _clock, _sim) = setup();
        let p = store.register_patient(&nurse, &Demographics::default()).expect("patient");
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap();
        let result = houmon_onshi::types::ResultOfQualificationConfirmation {
            insured_identification_number: Some("1234".into()),
            ..Default::default()
        };
        for (wire, kept) in [
            (Wire::Invalid, QualificationValidity::Invalid),
            (Wire::InvalidNewerExists, QualificationValidity::InvalidNewerExists),
        ] {
            let outcome = QualificationOutcome::NotValid { validity: wire, result: Some(Box::new(result.clone())) };
            let Answer::Result(q) = answer_from(QualificationId::new(), at, &outcome) else {
                panic!("a result with numbers is recorded, not refused");
            };
            assert_eq!(q.validity, kept);
            // Kept through the chart document, so the tablet shows the right next step.
            store.record_qualification(&nurse, p, &q).expect("record");
            let chart = store.open_chart(&nurse, p).expect("chart");
            assert_eq!(chart.qualifications.iter().find(|x| x.id == q.id).map(|x| x.validity), Some(kept));
        }
    }

    #[test]
    fn a_failure_needs_its_request() {
        let (_dir, mut store, nurse, _clock, _sim) = setup();
        let p = store.register_patient(&nurse, &Demographics { name: "患者".into(), ..Default::default() }).unwrap();
        let f = failure(Utc::now(), RequestFailure::NoConsent, "同意がありません。", "No consent.");
        let e = store.record_qualification_failure(&nurse, p, QualificationId::new(), &f).unwrap_err();
        assert!(matches!(e, CoreError::NotFound { .. }), "{e:?}");
        assert!(store.open_chart(&nurse, p).unwrap().qualification_requests.is_empty());
    }

    #[test]
    fn a_query_from_a_newer_app_waits_instead_of_being_misread() {
        let (_dir, mut store, nurse, _clock, sim) = setup();
        let p = store.register_patient(&nurse, &Demographics { name: "患者".into(), ..Default::default() }).unwrap();
        let id = store.request_qualification(&nurse, p).unwrap();
        // A newer app's request kind, written straight into the chart document.
        let chart_id = houmon_store::chart_doc_id(p);
        let mut doc = automerge::AutoCommit::load(&store.changes_since(&chart_id, &[]).unwrap()).unwrap();
        {
            use automerge::ReadDoc;
            use automerge::transaction::Transactable;
            use houmon_docs::keys::chart as key;
            let (_, reqs) = doc.get(automerge::ROOT, key::QREQS).unwrap().unwrap();
            let (_, r) = doc.get(&reqs, id.to_string()).unwrap().unwrap();
            doc.put(&r, key::QUERY, r#"{"kind":"video_visit","request":{}}"#).unwrap();
        }
        let change = doc.save_after(&store.doc_heads(&chart_id).unwrap());
        store.apply_remote(&nurse, &chart_id, houmon_store::DocKind::Chart, &change).unwrap();
        assert_eq!(request(&mut store, p, id).query, Some(QualificationQuery::Unreadable));
        let gw = Gateway::new(&mut store, QualificationSource::Simulator(sim), nurse).unwrap();
        let mut r = GatewayReport::default();
        gw.answer_pending(&mut store, &mut r).unwrap();
        assert_eq!((r.answered, r.failed, r.waiting), (0, 0, 1), "{r:?}");
        assert!(!request(&mut store, p, id).answered);
    }
}
