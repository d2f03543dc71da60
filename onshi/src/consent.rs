//! 居宅同意取得型 continuing-consent rules (ARCHITECTURE.md, *Later visits (再照会)*), as pure
//! functions over dates in Japan time.
//!
//! - The first visit needs a card-based confirmation (PIN or 目視) that records consent.
//! - Later visits may use 再照会 (re-query by the insurance numbers) only while the consent is
//!   valid and care continues. Validity is a clinic policy ([`ConsentPolicy`]): by default to
//!   the end of the 3rd month after the month of the first confirmation, then extended one
//!   month at a time for every month (from that last valid month on) in which a visit happened.
//! - 往診 (an unscheduled call-out) is not continuing care: a fresh card check every time.
//! - The patient may revoke consent; from that instant 再照会 is refused.
//!
//! All month boundaries are in JST (UTC+9, no daylight saving): 2024-04-30T15:00Z is already
//! 1 May in Japan.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Japan Standard Time.
pub fn jst() -> FixedOffset {
    // 9 h is always in range.
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
}

/// The JST calendar date of an instant.
pub fn jst_date<Tz: TimeZone>(t: &DateTime<Tz>) -> NaiveDate {
    t.with_timezone(&jst()).date_naive()
}

/// The JST wall-clock time of an instant (as the XML writes times).
pub fn jst_naive<Tz: TimeZone>(t: &DateTime<Tz>) -> NaiveDateTime {
    t.with_timezone(&jst()).naive_local()
}

/// Kind of visit (訪問の種類).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    /// 訪問診療 (scheduled, continuing).
    HomeMedical,
    /// 訪問看護 (continuing).
    HomeNursing,
    /// 訪問薬剤管理指導・訪問歯科 etc. (continuing).
    HomeOther,
    /// 往診 (unscheduled call-out): always a fresh card check.
    UrgentCall,
}

impl VisitKind {
    /// True when the visit is part of continuing care (so 再照会 may apply).
    pub fn is_continuing_care(self) -> bool {
        !matches!(self, Self::UrgentCall)
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::HomeMedical => "訪問診療",
            Self::HomeNursing => "訪問看護",
            Self::HomeOther => "訪問（その他）",
            Self::UrgentCall => "往診",
        }
    }
}

/// The clinic's consent-validity policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsentPolicy {
    /// Valid to the end of this many months after the month of the first confirmation.
    pub initial_months: u32,
    /// Extend one month at a time while a visit happens in the last valid month.
    pub extend_while_visited: bool,
}

impl Default for ConsentPolicy {
    fn default() -> Self {
        Self { initial_months: 3, extend_while_visited: true }
    }
}

/// What is known about one patient's consent at one clinic.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsentTimeline {
    /// When the first card-based confirmation registered consent (None: never).
    pub first_confirmed_at: Option<DateTime<FixedOffset>>,
    /// When the patient revoked consent (すべての同意を取消す).
    pub revoked_at: Option<DateTime<FixedOffset>>,
    /// JST dates of continuing-care visits since the first confirmation.
    pub visits: Vec<NaiveDate>,
}

/// Consent state at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConsentStatus {
    /// No first confirmation yet.
    None,
    /// Valid through the end of this JST date.
    Valid { valid_through: NaiveDate },
    /// Lapsed after this JST date (consent flag 2 同意有効期限切れ).
    Expired { valid_through: NaiveDate },
    /// Revoked by the patient.
    Revoked { at: DateTime<FixedOffset> },
}

/// Why the next visit needs the card rather than 再照会.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum CardRequired {
    #[error("no consent has been registered yet (first visit)")]
    NoConsent,
    #[error("consent expired after {valid_through}")]
    Expired { valid_through: NaiveDate },
    #[error("the patient revoked consent at {at}")]
    Revoked { at: DateTime<FixedOffset> },
    #[error("an urgent call-out (往診) needs a fresh card check every time")]
    UrgentCall,
}

impl CardRequired {
    /// Japanese message with the next step, for the visiting staff.
    pub fn message_ja(&self) -> String {
        match self {
            Self::NoConsent => "初回の訪問です。マイナンバーカードで資格確認と同意の登録をしてください。".into(),
            Self::Expired { valid_through } => format!(
                "同意の有効期限（{}）が切れています。マイナンバーカードで資格確認と同意の登録をやり直してください。",
                valid_through.format("%Y年%-m月%-d日")
            ),
            Self::Revoked { .. } => "患者さんが同意を取り消しています。再照会はできません。マイナンバーカードで確認するか、資格確認書で確認してください。".into(),
            Self::UrgentCall => "往診ではその都度マイナンバーカードでの資格確認が必要です。".into(),
        }
    }
}

/// How to confirm qualification at this visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "path", rename_all = "snake_case")]
pub enum ConfirmationPath {
    /// 再照会 is allowed; consent is valid through this date (and may extend further).
    Reinquiry { valid_through: NaiveDate },
    /// A card-based confirmation (居宅同意取得型 first confirmation) is needed.
    Card { because: CardRequired },
}

fn month_index(d: NaiveDate) -> i32 {
    d.year() * 12 + d.month0() as i32
}

/// Last day of the month with this index.
fn month_end(idx: i32) -> NaiveDate {
    let (y, m0) = (idx.div_euclid(12), idx.rem_euclid(12) as u32);
    let first_next =
        if m0 == 11 { NaiveDate::from_ymd_opt(y + 1, 1, 1) } else { NaiveDate::from_ymd_opt(y, m0 + 2, 1) };
    first_next.and_then(|d| d.pred_opt()).unwrap_or(NaiveDate::MAX)
}

/// The last JST date on which a consent first confirmed on `first` is valid, as known on
/// `as_of` (visits after `as_of` are ignored, so the answer never depends on the future).
pub fn valid_through(policy: &ConsentPolicy, first: NaiveDate, visits: &[NaiveDate], as_of: NaiveDate) -> NaiveDate {
    let mut end = month_index(first).saturating_add(policy.initial_months.min(1200) as i32);
    if policy.extend_while_visited {
        let visited: BTreeSet<i32> =
            visits.iter().filter(|v| **v >= first && **v <= as_of).map(|v| month_index(*v)).collect();
        let today = month_index(as_of);
        while end < today && visited.contains(&end) {
            end += 1;
        }
    }
    month_end(end)
}

/// The consent state at `now`.
pub fn consent_status<Tz: TimeZone>(policy: &ConsentPolicy, t: &ConsentTimeline, now: &DateTime<Tz>) -> ConsentStatus {
    let Some(first) = t.first_confirmed_at else { return ConsentStatus::None };
    if let Some(at) = t.revoked_at
        && at <= now.fixed_offset()
    {
        return ConsentStatus::Revoked { at };
    }
    let today = jst_date(now);
    let first_day = jst_date(&first);
    if today < first_day {
        // A clock earlier than the confirmation: treat as not yet confirmed.
        return ConsentStatus::None;
    }
    let through = valid_through(policy, first_day, &t.visits, today);
    if today <= through {
        ConsentStatus::Valid { valid_through: through }
    } else {
        ConsentStatus::Expired { valid_through: through }
    }
}

/// Decides whether this visit may use 再照会 or needs the card.
pub fn confirmation_path<Tz: TimeZone>(
    policy: &ConsentPolicy,
    t: &ConsentTimeline,
    kind: VisitKind,
    now: &DateTime<Tz>,
) -> ConfirmationPath {
    if !kind.is_continuing_care() {
        return ConfirmationPath::Card { because: CardRequired::UrgentCall };
    }
    match consent_status(policy, t, now) {
        ConsentStatus::Valid { valid_through } => ConfirmationPath::Reinquiry { valid_through },
        ConsentStatus::None => ConfirmationPath::Card { because: CardRequired::NoConsent },
        ConsentStatus::Expired { valid_through } => {
            ConfirmationPath::Card { because: CardRequired::Expired { valid_through } }
        }
        ConsentStatus::Revoked { at } => ConfirmationPath::Card { because: CardRequired::Revoked { at } },
    }
}

/// 再照会 permission: `Ok(valid_through)` or the reason the card is needed.
pub fn may_reinquire<Tz: TimeZone>(
    policy: &ConsentPolicy,
    t: &ConsentTimeline,
    kind: VisitKind,
    now: &DateTime<Tz>,
) -> Result<NaiveDate, CardRequired> {
    match confirmation_path(policy, t, kind, now) {
        ConfirmationPath::Reinquiry { valid_through } => Ok(valid_through),
        ConfirmationPath::Card { because } => Err(because),
    }
}

/// `…AvailableTime` for a consent valid through `date`: 23:59:59 JST of that day.
pub fn available_time(valid_through: NaiveDate) -> NaiveDateTime {
    valid_through.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn at_jst(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<FixedOffset> {
        jst().with_ymd_and_hms(y, m, day, h, min, 0).unwrap()
    }
    fn timeline(first: DateTime<FixedOffset>, visits: &[NaiveDate]) -> ConsentTimeline {
        ConsentTimeline { first_confirmed_at: Some(first), revoked_at: None, visits: visits.to_vec() }
    }

    #[test]
    fn initial_validity_across_month_year_ends_and_leap_days() {
        let p = ConsentPolicy::default();
        // (first confirmation, valid through) with no further visits.
        let table = [
            (d(2024, 1, 31), d(2024, 4, 30)),
            (d(2024, 1, 1), d(2024, 4, 30)),
            (d(2023, 11, 15), d(2024, 2, 29)), // leap February
            (d(2022, 11, 30), d(2023, 2, 28)), // common February
            (d(2023, 10, 31), d(2024, 1, 31)), // over the year end
            (d(2024, 12, 1), d(2025, 3, 31)),
            (d(2024, 12, 31), d(2025, 3, 31)),
            (d(2024, 2, 29), d(2024, 5, 31)),  // confirmed on a leap day
            (d(2099, 11, 30), d(2100, 2, 28)), // 2100 is not a leap year
        ];
        for (first, expect) in table {
            assert_eq!(valid_through(&p, first, &[], first), expect, "first {first}");
            let far = d(2200, 1, 1);
            assert_eq!(valid_through(&p, first, &[], far), expect, "first {first} seen later");
        }
        let two = ConsentPolicy { initial_months: 0, extend_while_visited: false };
        assert_eq!(valid_through(&two, d(2024, 2, 10), &[], d(2024, 2, 10)), d(2024, 2, 29));
    }

    #[test]
    fn extension_month_by_month_while_visits_continue() {
        let p = ConsentPolicy::default();
        let first = d(2023, 11, 15); // initially through 2024-02-29
        // (visits, as_of, valid through)
        let table: &[(&[NaiveDate], NaiveDate, NaiveDate)] = &[
            // Visits in Dec/Jan do not matter: only the last valid month extends.
            (&[d(2023, 12, 1), d(2024, 1, 5)], d(2024, 3, 1), d(2024, 2, 29)),
            // A visit on the leap day extends to the end of March.
            (&[d(2024, 2, 29)], d(2024, 3, 1), d(2024, 3, 31)),
            // …and continues while every month has a visit.
            (&[d(2024, 2, 29), d(2024, 3, 31), d(2024, 4, 1)], d(2024, 5, 2), d(2024, 5, 31)),
            // A gap (no visit in April) lets it lapse after April.
            (&[d(2024, 2, 2), d(2024, 3, 3)], d(2024, 5, 2), d(2024, 4, 30)),
            // A visit after the lapse does not revive it.
            (&[d(2024, 2, 2), d(2024, 5, 20)], d(2024, 6, 1), d(2024, 3, 31)),
            // Visits in the future (after as_of) are ignored.
            (&[d(2024, 2, 2), d(2024, 3, 3)], d(2024, 3, 1), d(2024, 3, 31)),
            // A visit before the first confirmation does not count.
            (&[d(2023, 11, 1)], d(2024, 3, 1), d(2024, 2, 29)),
        ];
        for (visits, as_of, expect) in table {
            assert_eq!(valid_through(&p, first, visits, *as_of), *expect, "visits {visits:?} as of {as_of}");
        }
        // Over a year end.
        let first = d(2024, 9, 10); // through 2024-12-31
        let visits = [d(2024, 12, 31), d(2025, 1, 31)];
        assert_eq!(valid_through(&p, first, &visits, d(2025, 2, 1)), d(2025, 2, 28));
        assert_eq!(valid_through(&p, first, &visits[..1], d(2025, 2, 1)), d(2025, 1, 31));
        // Policy without extension.
        let strict = ConsentPolicy { extend_while_visited: false, ..p };
        assert_eq!(valid_through(&strict, first, &visits, d(2025, 2, 1)), d(2024, 12, 31));
    }

    #[test]
    fn month_boundary_is_japan_midnight() {
        let p = ConsentPolicy::default();
        let t = timeline(at_jst(2024, 1, 31, 10, 0), &[]);
        // Last minute of 30 April JST: valid.
        let last = at_jst(2024, 4, 30, 23, 59);
        assert_eq!(consent_status(&p, &t, &last), ConsentStatus::Valid { valid_through: d(2024, 4, 30) });
        // 2024-04-30T15:00Z is 1 May 00:00 JST: expired, although it is still 30 April in UTC.
        let utc = Utc.with_ymd_and_hms(2024, 4, 30, 15, 0, 0).unwrap();
        assert_eq!(consent_status(&p, &t, &utc), ConsentStatus::Expired { valid_through: d(2024, 4, 30) });
        let before = Utc.with_ymd_and_hms(2024, 4, 30, 14, 59, 59).unwrap();
        assert!(matches!(consent_status(&p, &t, &before), ConsentStatus::Valid { .. }));
        // First confirmation at 00:30 JST on 1 Feb (still 31 Jan in UTC) counts as February.
        let t = timeline(jst().with_ymd_and_hms(2024, 2, 1, 0, 30, 0).unwrap(), &[]);
        assert_eq!(
            consent_status(&p, &t, &at_jst(2024, 2, 1, 1, 0)),
            ConsentStatus::Valid { valid_through: d(2024, 5, 31) }
        );
    }

    #[test]
    fn reinquiry_decisions() {
        let p = ConsentPolicy::default();
        let first = at_jst(2024, 1, 10, 14, 0);
        let t = timeline(first, &[d(2024, 4, 2)]);
        let now = at_jst(2024, 5, 9, 9, 0);
        assert_eq!(may_reinquire(&p, &t, VisitKind::HomeMedical, &now), Ok(d(2024, 5, 31)));
        assert_eq!(may_reinquire(&p, &t, VisitKind::HomeNursing, &now), Ok(d(2024, 5, 31)));
        // 往診 always needs the card, even with a valid consent.
        assert_eq!(may_reinquire(&p, &t, VisitKind::UrgentCall, &now), Err(CardRequired::UrgentCall));
        // No consent at all.
        assert_eq!(
            may_reinquire(&p, &ConsentTimeline::default(), VisitKind::HomeMedical, &now),
            Err(CardRequired::NoConsent)
        );
        // Expired.
        let later = at_jst(2024, 7, 1, 0, 0);
        let e = may_reinquire(&p, &t, VisitKind::HomeMedical, &later).unwrap_err();
        assert_eq!(e, CardRequired::Expired { valid_through: d(2024, 5, 31) });
        assert!(e.message_ja().contains("2024年5月31日"), "{}", e.message_ja());
        // Revoked: refused from that instant, not before.
        let revoked_at = at_jst(2024, 3, 3, 12, 0);
        let t = ConsentTimeline { revoked_at: Some(revoked_at), ..t };
        assert!(may_reinquire(&p, &t, VisitKind::HomeMedical, &at_jst(2024, 3, 3, 11, 59)).is_ok());
        assert_eq!(
            may_reinquire(&p, &t, VisitKind::HomeMedical, &at_jst(2024, 3, 3, 12, 0)),
            Err(CardRequired::Revoked { at: revoked_at })
        );
        // A clock before the first confirmation never grants 再照会.
        assert_eq!(
            may_reinquire(&p, &timeline(first, &[]), VisitKind::HomeMedical, &at_jst(2024, 1, 9, 0, 0)),
            Err(CardRequired::NoConsent)
        );
    }

    #[test]
    fn available_time_is_end_of_day() {
        assert_eq!(available_time(d(2024, 2, 29)).to_string(), "2024-02-29 23:59:59");
    }
}
