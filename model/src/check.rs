//! The consent/check state of a visit (同意と資格確認の状態): whether this visit may use 再照会
//! or needs the card, and why, from what the chart knows. The rules themselves (validity
//! windows, continuing care, 往診) are onshi's `consent` module; this applies them to a chart.

use crate::{Chart, VisitKind};
use chrono::{DateTime, NaiveDate, Utc};
use houmon_onshi::consent::{self as rules, CardRequired, ConfirmationPath, ConsentPolicy, ConsentTimeline};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How this visit confirms qualification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum CheckPath {
    /// 再照会: by the insurance numbers, without the card.
    Requery,
    /// マイナンバーカードで確認.
    Card,
}

/// Why the visit takes that path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CheckReason {
    /// 同意が有効: 再照会 allowed.
    Ok,
    /// 初回: no consent yet.
    FirstVisit,
    /// 同意の期限切れ.
    ConsentExpired,
    /// 同意の撤回.
    ConsentRevoked,
    /// 往診: a fresh card check every time.
    UrgentCall,
}

/// Where a qualification request written by a tablet stands (照会の状態).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum RequestState {
    /// 照会中: waiting for the clinic's gateway.
    Pending,
    /// A result arrived.
    Answered,
    /// The gateway refused or failed, with the reason.
    Failed,
}

/// What a qualification request asks (照会の種類).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum RequestKind {
    /// 初回 (居宅同意取得型).
    FirstVisit,
    /// 再照会.
    Requery,
}

/// Why the gateway answered a request without a result (照会できなかった理由).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RequestFailure {
    /// 同意の期限切れ.
    ConsentExpired,
    /// 同意の撤回.
    ConsentRevoked,
    /// 同意なし.
    NoConsent,
    /// 資格が無効 (no result to show).
    NotValid,
    /// 該当する資格なし.
    NotFound,
    /// 複数該当.
    MultipleMatches,
    /// 処理中: ask again later.
    InProgress,
    /// No insurance numbers yet to 再照会 with.
    NoInsuranceNumbers,
    /// The clinic's 資格確認端末 takes no first visits (results come by the bulk query).
    FirstVisitUnsupported,
    /// The qualification service answered with an error code of its own (kept beside it).
    ServiceError,
    /// A code this build does not know (written by a newer gateway): shown with its message.
    Unknown,
}

impl RequestFailure {
    /// The form kept in the chart document: the serde name, or `error:<code>` for a service
    /// error (the form documents written before this enum use).
    pub fn stored(self, service_code: Option<&str>) -> String {
        match (self, service_code) {
            (Self::ServiceError, Some(c)) => format!("error:{c}"),
            _ => serde_json::to_value(self).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
        }
    }

    /// Read the stored form back: the failure and, for a service error, its code.
    pub fn from_stored(s: &str) -> (Self, Option<String>) {
        if let Some(c) = s.strip_prefix("error:") {
            return (Self::ServiceError, Some(c.to_string()));
        }
        (serde_json::from_value(serde_json::Value::String(s.into())).unwrap_or(Self::Unknown), None)
    }
}

impl crate::QualificationRequest {
    pub fn kind(&self) -> RequestKind {
        match self.query {
            Some(crate::QualificationQuery::FirstVisit(_)) => RequestKind::FirstVisit,
            _ => RequestKind::Requery,
        }
    }
}

/// The outcome of a qualification check as the visit shows it (資格確認の結果).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum CheckOutcome {
    /// 有効
    Valid,
    /// 無効
    Invalid,
    /// 該当資格なし
    NotFound,
    /// 複数該当
    Multiple,
    /// 同意の期限切れ
    ConsentExpired,
    /// 同意の撤回
    ConsentRevoked,
    /// 同意なし
    NoConsent,
    /// 処理中 (the national side is still working on it)
    Pending,
    /// Sent to the clinic's gateway; the answer comes by sync.
    Requested,
    /// エラー
    Error,
}

impl CheckOutcome {
    /// The outcome of an answer from the national side (or the simulator).
    pub fn of(answer: &houmon_onshi::outcome::QualificationOutcome) -> Self {
        use houmon_onshi::outcome::QualificationOutcome as O;
        match answer {
            O::Valid { .. } => Self::Valid,
            O::NotValid { .. } => Self::Invalid,
            O::NotFound => Self::NotFound,
            O::MultipleMatches => Self::Multiple,
            O::ConsentExpired => Self::ConsentExpired,
            O::ConsentRevoked => Self::ConsentRevoked,
            O::NoConsent => Self::NoConsent,
            O::InProgress { .. } => Self::Pending,
            O::Error { .. } => Self::Error,
        }
    }

    /// What it means and what to do next, in English (the Japanese comes from onshi's answer).
    pub fn en(self) -> &'static str {
        match self {
            Self::Valid => "Qualification confirmed.",
            Self::Invalid => "The qualification is not valid. Check the patient's 資格確認書 or new insurance details.",
            Self::NotFound => "No matching qualification. Check insurer number, symbol, number and birth date.",
            Self::Multiple => "Several qualifications matched. Check the branch number and ask the insurer.",
            Self::ConsentExpired => "Consent has expired. Confirm again with the My Number card.",
            Self::ConsentRevoked => "The patient revoked consent. Re-query is not possible.",
            Self::NoConsent => "No consent is registered. Do a first confirmation with the My Number card.",
            Self::Pending => "Still being processed. Fetch the result again shortly.",
            Self::Requested => "Sent to the clinic's gateway. The answer arrives when the tablet syncs.",
            Self::Error => "The qualification check failed. Try again later.",
        }
    }
}

/// The check state of one visit, with what to do in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentCheck {
    pub path: CheckPath,
    pub reason: CheckReason,
    /// Consent valid through (JST).
    pub valid_through: Option<NaiveDate>,
    /// Days until the consent lapses (0 = last day); negative once expired.
    pub days_left: Option<i64>,
    pub ja: String,
    pub en: String,
}

/// The consent timeline as the chart knows it: the latest card confirmation starts it, a
/// later revocation ends it, continuing-care visits (not 往診) extend it.
pub fn timeline(chart: &Chart) -> ConsentTimeline {
    let jst = rules::jst();
    let latest = chart.consents.iter().filter(|c| !c.revocation).max_by_key(|c| c.recorded_at);
    let Some(first) = latest else { return ConsentTimeline::default() };
    let revoked_at = chart
        .consents
        .iter()
        .filter(|c| c.revocation && c.recorded_at >= first.recorded_at)
        .map(|c| c.recorded_at.with_timezone(&jst))
        .min();
    let visits = chart
        .visits
        .iter()
        .filter(|v| v.kind != VisitKind::UrgentCall)
        .filter_map(|v| v.arrival)
        .filter(|a| *a >= first.recorded_at)
        .map(|a| rules::jst_date(&a))
        .collect();
    ConsentTimeline { first_confirmed_at: Some(first.recorded_at.with_timezone(&jst)), revoked_at, visits }
}

/// Whether a visit of `kind` may use 再照会 now, and why not.
pub fn consent_check(policy: &ConsentPolicy, t: &ConsentTimeline, kind: VisitKind, now: DateTime<Utc>) -> ConsentCheck {
    let today = rules::jst_date(&now);
    let days = |d: NaiveDate| (d - today).num_days();
    match rules::confirmation_path(policy, t, kind.into(), &now) {
        ConfirmationPath::Reinquiry { valid_through } => ConsentCheck {
            path: CheckPath::Requery,
            reason: CheckReason::Ok,
            valid_through: Some(valid_through),
            days_left: Some(days(valid_through)),
            ja: format!(
                "同意は{}まで有効です(あと{}日)。カードなしで再照会できます。",
                valid_through.format("%Y年%-m月%-d日"),
                days(valid_through)
            ),
            en: format!(
                "Consent is valid through {valid_through} ({} days left). Re-query without the card.",
                days(valid_through)
            ),
        },
        ConfirmationPath::Card { because } => {
            let (reason, vt, en) = match because {
                CardRequired::NoConsent => (
                    CheckReason::FirstVisit,
                    None,
                    "First visit: confirm qualification and register consent with the My Number card.".to_string(),
                ),
                CardRequired::Expired { valid_through } => (
                    CheckReason::ConsentExpired,
                    Some(valid_through),
                    format!("Consent expired after {valid_through}. Confirm again with the My Number card."),
                ),
                CardRequired::Revoked { .. } => (
                    CheckReason::ConsentRevoked,
                    None,
                    "The patient revoked consent. Re-query is not possible; use the card or a 資格確認書.".to_string(),
                ),
                CardRequired::UrgentCall => (
                    CheckReason::UrgentCall,
                    None,
                    "往診 (urgent call-out) needs a fresh card check every time.".to_string(),
                ),
            };
            ConsentCheck {
                path: CheckPath::Card,
                reason,
                valid_through: vt,
                days_left: vt.map(days),
                ja: because.message_ja(),
                en,
            }
        }
    }
}
