//! Qualification on an enrolled device (decision 5): the tablet never talks to the national
//! system. 再照会 and first-visit card checks are written into the chart as requests; the
//! sync runner carries them to the clinic's gateway, whose answer (a result, or a failure
//! with the reason) comes back the same way. Until then the UI shows 照会中.
//!
//! A child module of `service` so the hooks in `service.rs` stay one-liners. Training mode
//! never comes here: its simulator answers in-process, as before.

use super::{Service, iso};
use crate::dto::UiError;
use crate::dto::{CardProgress, CardStep, CheckOutcome, CheckState, QualificationResult, RequestState, RequestView};
use houmon_model::{self as m, PatientId};
use houmon_onshi::MedicalInstitutionCode;
use houmon_sync::SyncClient;
use std::collections::HashMap;

/// What the UI shows while the gateway has not answered.
pub const PENDING_JA: &str = "照会中です。事務所の資格確認端末が回答すると表示されます。";
pub const PENDING_EN: &str =
    "Query sent. The answer appears here when the office's qualification terminal replies (after the next sync).";

/// The enrolled device's view of its gateway requests (absent in training mode).
#[derive(Debug, Default)]
pub(super) struct GatewayState {
    /// The latest request per patient, refreshed with the consent cache.
    requests: HashMap<PatientId, RequestView>,
    /// The sync cursor the caches were built at: a sync that moved it may have brought
    /// answers, so the caches are rebuilt.
    seen_cursor: Option<u64>,
}

/// One request as the UI shows it: waiting, the answer's validity, or the gateway's reason.
pub fn request_view(chart: &m::Chart, r: &m::QualificationRequest) -> RequestView {
    let answer = chart.qualifications.iter().find(|q| q.id == r.id);
    let mut view = RequestView {
        id: r.id.to_string(),
        state: RequestState::Pending,
        kind: r.kind(),
        requested_at: iso(r.requested_at),
        answered_at: None,
        validity: None,
        failure: None,
        service_code: None,
        ja: PENDING_JA.into(),
        en: PENDING_EN.into(),
    };
    match (&r.failure, answer) {
        (Some(f), _) => {
            view.state = RequestState::Failed;
            view.answered_at = Some(iso(f.answered_at));
            view.failure = Some(f.code);
            view.service_code = f.service_code.clone();
            view.ja = f.message_ja.clone();
            view.en = f.message_en.clone();
        }
        (None, Some(q)) => {
            let (ja, en) = match q.validity {
                m::QualificationValidity::Valid => ("資格を確認しました(有効)。", "Qualification confirmed (valid)."),
                m::QualificationValidity::Invalid => (
                    "資格が無効です。資格確認書や新しい保険の情報を確認してください。",
                    "The qualification is not valid. Check the patient's 資格確認書 or new insurance details.",
                ),
                m::QualificationValidity::InvalidNewerExists => (
                    "この資格は無効ですが、新しい資格があります。患者さんに新しい保険の資格確認書などを見せてもらい、その番号で再照会してください。",
                    "This qualification is no longer valid, but a newer one exists. Ask the patient for the new insurance details and re-query with those numbers.",
                ),
                m::QualificationValidity::NotFound => (
                    "該当する資格が見つかりません。保険者番号・記号・番号・生年月日を確認してください。",
                    "No matching qualification. Check insurer number, symbol, number and birth date.",
                ),
                m::QualificationValidity::Unknown => (
                    "回答の資格状態が不明です。事務所に確認してください。",
                    "The answer did not say whether the qualification is valid. Ask the office.",
                ),
            };
            view.state = RequestState::Answered;
            view.answered_at = Some(iso(q.checked_at));
            view.validity = Some(q.validity);
            view.ja = ja.into();
            view.en = en.into();
        }
        (None, None) => {}
    }
    view
}

/// The chart's most recent request, if any.
pub fn latest_request(chart: &m::Chart) -> Option<RequestView> {
    chart.qualification_requests.iter().max_by_key(|r| r.requested_at).map(|r| request_view(chart, r))
}

impl Service {
    /// Keep the latest request of a freshly read chart (enrolled devices only).
    pub(super) fn note_request(&mut self, p: PatientId, chart: &m::Chart) {
        if let Some(g) = &mut self.gateway {
            match latest_request(chart) {
                Some(r) => g.requests.insert(p, r),
                None => g.requests.remove(&p),
            };
        }
    }

    /// `check` with the patient's latest gateway request attached (from the cache).
    pub(super) fn with_request(&self, p: PatientId, mut check: CheckState) -> CheckState {
        check.request = self.gateway.as_ref().and_then(|g| g.requests.get(&p).cloned());
        check
    }

    /// After a sync brought something (the cursor moved), drop the cached consent and request
    /// states so lists show the gateway's answers, and take the clinic's name and 医療機関コード
    /// from the clinic document (the store is lent before the first sync brings it).
    pub fn refresh_after_sync(&mut self) {
        if self.gateway.is_none() {
            return;
        }
        let cursor = SyncClient::cursor(&mut self.store).ok();
        if let Some(g) = &mut self.gateway
            && g.seen_cursor != cursor
        {
            g.seen_cursor = cursor;
            g.requests.clear();
            self.checks.clear();
            if let Ok(c) = self.store.clinic() {
                if let Ok(code) = MedicalInstitutionCode::parse(&c.institution_code) {
                    self.institution = code;
                }
                if !c.name.is_empty() {
                    self.clinic_name = c.name;
                }
            }
        }
    }

    /// Write the request into the chart for the gateway and answer 照会中 (nothing is asked of
    /// the national system from the tablet). The sync runner sends it at its next step.
    pub(super) fn ask_gateway(
        &mut self,
        patient: &str,
        visit: &str,
        p: PatientId,
        kind: m::VisitKind,
        query: &m::QualificationQuery,
        progress: &mut dyn FnMut(CardProgress),
    ) -> Result<QualificationResult, UiError> {
        progress(CardProgress { step: CardStep::Saving, percent: 85 });
        self.start_visit(patient, visit)?;
        self.store.request_qualification_query(&self.actor, p, query)?;
        let chart = self.store.read_chart(p)?;
        self.cache_chart(p, &chart);
        let check = self.chart_check(&chart, kind);
        progress(CardProgress { step: CardStep::Done, percent: 100 });
        Ok(QualificationResult {
            outcome: CheckOutcome::Requested,
            ja: PENDING_JA.into(),
            en: PENDING_EN.into(),
            qualification: None,
            check: self.with_request(p, check),
            notice_ja: None,
        })
    }

    /// Queue rows' state and message for an enrolled device (empty in training mode).
    pub(super) fn queue_state(
        &self,
        chart: &m::Chart,
        r: &m::QualificationRequest,
    ) -> (Option<RequestState>, String, String) {
        if self.gateway.is_none() {
            return (None, String::new(), String::new());
        }
        let v = request_view(chart, r);
        (Some(v.state), v.ja, v.en)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    /// A chart with one answered 再照会 whose result has `validity`.
    fn answered(validity: m::QualificationValidity) -> (m::Chart, m::QualificationRequest) {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap();
        let id = m::QualificationId::new();
        let request = m::QualificationRequest {
            id,
            requested_at: at,
            requested_by: m::StaffId::new(),
            answered: true,
            query: None,
            failure: None,
        };
        let result = houmon_gateway::qualification_snapshot(id, at, None, validity);
        let chart = m::Chart {
            patient: PatientId::new(),
            demographics: m::Demographics::default(),
            profile: m::PatientProfile::default(),
            care_end: None,
            qualifications: vec![result],
            qualification_requests: vec![request.clone()],
            consents: Vec::new(),
            visits: Vec::new(),
            notes: Vec::new(),
            conflicts: Vec::new(),
        };
        (chart, request)
    }

    #[test]
    fn a_newer_qualification_asks_for_the_new_numbers() {
        let (chart, r) = answered(m::QualificationValidity::InvalidNewerExists);
        let v = request_view(&chart, &r);
        assert_eq!((v.state, v.validity), (RequestState::Answered, Some(m::QualificationValidity::InvalidNewerExists)));
        assert!(v.ja.contains("新しい資格があります") && v.ja.contains("再照会"), "{}", v.ja);
        assert!(v.en.contains("newer one exists"), "{}", v.en);
        // A plain 無効 keeps its own wording.
        let (chart, r) = answered(m::QualificationValidity::Invalid);
        let plain = request_view(&chart, &r);
        assert_eq!(plain.validity, Some(m::QualificationValidity::Invalid));
        assert_ne!(plain.ja, v.ja);
    }
}
