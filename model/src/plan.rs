//! The visit plan's rules (訪問計画): recurring patterns and the dates they give. Sans-IO and
//! deterministic: the same pattern and dates give the same visits on every device.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How far ahead one recurring plan may reach (a year and a little), so a mistyped end date
/// cannot fill the roster for decades.
pub const MAX_PLAN_DAYS: i64 = 400;

/// A recurring pattern (繰り返し), e.g. 毎週火・金, 隔週火, 第1・第3火曜 (月2回).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Recurrence {
    /// 毎週 on the given weekdays (0 = 月 … 6 = 日).
    Weekly { days: Vec<u8> },
    /// 隔週: every other week on the given weekdays, counted from the first date's week.
    Biweekly { days: Vec<u8> },
    /// 月N回: the given (week of the month 1–5, weekday) pairs, e.g. 第1火・第3火.
    Monthly { nth: Vec<(u8, u8)> },
}

const DAY_CODES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_JA: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

fn day_code(s: &str) -> Option<u8> {
    DAY_CODES.iter().position(|d| *d == s.trim().to_ascii_lowercase()).map(|i| i as u8)
}

fn weekday(d: u8) -> Weekday {
    Weekday::try_from(d).unwrap_or(Weekday::Mon)
}

impl Recurrence {
    /// Parse the terminal form: `weekly:tue,fri`, `biweekly:tue`, `monthly:1tue,3tue`.
    pub fn parse(s: &str) -> Option<Self> {
        let (kind, rest) = s.split_once(':')?;
        let parts: Vec<&str> = rest.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            return None;
        }
        let r = match kind.trim() {
            "weekly" => Self::Weekly { days: parts.iter().map(|p| day_code(p)).collect::<Option<_>>()? },
            "biweekly" => Self::Biweekly { days: parts.iter().map(|p| day_code(p)).collect::<Option<_>>()? },
            "monthly" => Self::Monthly {
                nth: parts
                    .iter()
                    .map(|p| {
                        let (n, d) = p.split_at(1);
                        let n: u8 = n.parse().ok().filter(|n| (1..=5).contains(n))?;
                        Some((n, day_code(d)?))
                    })
                    .collect::<Option<_>>()?,
            },
            _ => return None,
        };
        r.is_valid().then_some(r)
    }

    fn is_valid(&self) -> bool {
        match self {
            Self::Weekly { days } | Self::Biweekly { days } => !days.is_empty() && days.iter().all(|d| *d < 7),
            Self::Monthly { nth } => !nth.is_empty() && nth.iter().all(|(n, d)| (1..=5).contains(n) && *d < 7),
        }
    }

    /// 毎週火・金 / 隔週火 / 毎月第1火・第3火.
    pub fn label_ja(&self) -> String {
        let days = |v: &[u8]| v.iter().map(|d| DAY_JA[*d as usize % 7]).collect::<Vec<_>>().join("・");
        match self {
            Self::Weekly { days: d } => format!("毎週{}", days(d)),
            Self::Biweekly { days: d } => format!("隔週{}", days(d)),
            Self::Monthly { nth } => format!(
                "毎月{}",
                nth.iter().map(|(n, d)| format!("第{n}{}", DAY_JA[*d as usize % 7])).collect::<Vec<_>>().join("・")
            ),
        }
    }

    /// Every date from `first` to `until` (both included) the pattern gives, in order. `None`
    /// when the pattern is invalid, `until` is before `first`, or the span exceeds
    /// [`MAX_PLAN_DAYS`].
    pub fn dates(&self, first: NaiveDate, until: NaiveDate) -> Option<Vec<NaiveDate>> {
        if !self.is_valid() || until < first || (until - first).num_days() > MAX_PLAN_DAYS {
            return None;
        }
        let week_start = |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
        let first_week = week_start(first);
        let mut out = Vec::new();
        let mut d = first;
        while d <= until {
            let wd = d.weekday().num_days_from_monday() as u8;
            let hit = match self {
                Self::Weekly { days } => days.contains(&wd),
                Self::Biweekly { days } => days.contains(&wd) && ((week_start(d) - first_week).num_days() / 7) % 2 == 0,
                Self::Monthly { nth } => {
                    let n = ((d.day() - 1) / 7 + 1) as u8;
                    nth.iter().any(|(k, day)| *k == n && weekday(*day) == d.weekday())
                }
            };
            if hit {
                out.push(d);
            }
            d += Duration::days(1);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn weekly_tuesday_and_friday_until_a_date() {
        let r = Recurrence::parse("weekly:tue,fri").expect("parse");
        assert_eq!(r.label_ja(), "毎週火・金");
        // 2026-12-01 is a Tuesday.
        let got = r.dates(d("2026-12-01"), d("2026-12-15")).expect("dates");
        assert_eq!(got, ["2026-12-01", "2026-12-04", "2026-12-08", "2026-12-11", "2026-12-15"].map(d));
    }

    #[test]
    fn biweekly_counts_weeks_from_the_first_date() {
        let r = Recurrence::parse("biweekly:tue").expect("parse");
        let got = r.dates(d("2026-12-03"), d("2027-01-01")).expect("dates");
        // The first week (of Thu 3 Dec) has Tue 1 Dec before the start; then every other week.
        assert_eq!(got, ["2026-12-15", "2026-12-29"].map(d));
    }

    #[test]
    fn twice_a_month_on_the_first_and_third_tuesday() {
        let r = Recurrence::parse("monthly:1tue,3tue").expect("parse");
        assert_eq!(r.label_ja(), "毎月第1火・第3火");
        let got = r.dates(d("2026-12-01"), d("2027-01-31")).expect("dates");
        assert_eq!(got, ["2026-12-01", "2026-12-15", "2027-01-05", "2027-01-19"].map(d));
    }

    #[test]
    fn bad_patterns_and_spans_are_refused() {
        for bad in ["weekly:", "weekly:xyz", "daily:mon", "monthly:6tue", "monthly:tue", "tue"] {
            assert_eq!(Recurrence::parse(bad), None, "{bad}");
        }
        let r = Recurrence::parse("weekly:mon").expect("parse");
        assert_eq!(r.dates(d("2026-12-10"), d("2026-12-01")), None, "until before first");
        assert_eq!(r.dates(d("2026-01-01"), d("2028-01-01")), None, "more than MAX_PLAN_DAYS");
        // A year of Tuesdays and Fridays is within the limit (2027 has 53 Fridays).
        let year = Recurrence::parse("weekly:tue,fri").expect("p").dates(d("2027-01-01"), d("2027-12-31"));
        assert_eq!(year.map(|v| v.len()), Some(105));
    }
}
