//! Vital signs (バイタルサイン): the one range table every layer checks against. A value
//! outside the *possible* range is refused (nothing saved); one outside the *usual* adult range
//! is saved and highlighted. The possible ranges admit infants (a 3 kg newborn, a pulse of 180).

use crate::Vitals;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Which vital sign (バイタル項目). The serde name is the field name in `Vitals` and the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum VitalSign {
    /// 収縮期血圧
    Systolic,
    /// 拡張期血圧
    Diastolic,
    /// 脈拍
    Pulse,
    /// SpO2
    Spo2,
    /// 体温
    Temperature,
    /// 呼吸数
    Respiration,
    /// 体重
    Weight,
}

/// How far out of range a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum VitalsLevel {
    /// 測定値としてありえない: refused, nothing saved.
    Error,
    /// 基準範囲外: saved and highlighted.
    Warning,
}

/// One row of the range table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VitalRange {
    pub sign: VitalSign,
    pub label_ja: &'static str,
    /// Outside this the reading cannot be real (a typo or a misplaced decimal point).
    pub possible: (f64, f64),
    /// The usual adult range; outside it the value is saved and highlighted.
    pub usual: (f64, f64),
}

/// The range table.
pub const VITAL_RANGES: [VitalRange; 7] = [
    VitalRange {
        sign: VitalSign::Systolic, label_ja: "収縮期血圧", possible: (20.0, 300.0), usual: (90.0, 160.0)
    },
    VitalRange {
        sign: VitalSign::Diastolic, label_ja: "拡張期血圧", possible: (10.0, 250.0), usual: (50.0, 100.0)
    },
    VitalRange { sign: VitalSign::Pulse, label_ja: "脈拍", possible: (10.0, 300.0), usual: (50.0, 110.0) },
    VitalRange { sign: VitalSign::Spo2, label_ja: "SpO2", possible: (30.0, 100.0), usual: (93.0, 100.0) },
    VitalRange { sign: VitalSign::Temperature, label_ja: "体温", possible: (25.0, 45.0), usual: (35.5, 37.5) },
    VitalRange { sign: VitalSign::Respiration, label_ja: "呼吸数", possible: (1.0, 100.0), usual: (10.0, 24.0) },
    VitalRange { sign: VitalSign::Weight, label_ja: "体重", possible: (0.3, 400.0), usual: (25.0, 150.0) },
];

impl VitalSign {
    /// The field name (`systolic`, `spo2` …), as in documents, errors and the UI.
    pub fn key(self) -> &'static str {
        match self {
            Self::Systolic => "systolic",
            Self::Diastolic => "diastolic",
            Self::Pulse => "pulse",
            Self::Spo2 => "spo2",
            Self::Temperature => "temperature",
            Self::Respiration => "respiration",
            Self::Weight => "weight",
        }
    }

    pub fn value(self, v: &Vitals) -> Option<f64> {
        let i = |x: Option<i64>| x.map(|x| x as f64);
        match self {
            Self::Systolic => i(v.systolic),
            Self::Diastolic => i(v.diastolic),
            Self::Pulse => i(v.pulse),
            Self::Spo2 => i(v.spo2),
            Self::Temperature => v.temperature,
            Self::Respiration => i(v.respiration),
            Self::Weight => v.weight,
        }
    }
}

/// A value out of range, with what to do in both languages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VitalsIssue {
    pub field: VitalSign,
    pub level: VitalsLevel,
    pub ja: String,
    pub en: String,
}

/// Every range problem in `v`: impossible values (and a diastolic not below the systolic) as
/// errors, unusual ones as warnings.
pub fn check(v: &Vitals) -> Vec<VitalsIssue> {
    let mut out = Vec::new();
    for r in VITAL_RANGES {
        let Some(x) = r.sign.value(v) else { continue };
        let (field, label) = (r.sign.key(), r.label_ja);
        if x < r.possible.0 || x > r.possible.1 {
            out.push(VitalsIssue {
                field: r.sign,
                level: VitalsLevel::Error,
                ja: format!("{label}の値 {x} は測定値としてありえません。入力し直してください。"),
                en: format!("{field} {x} is not a possible reading. Enter it again."),
            });
        } else if x < r.usual.0 || x > r.usual.1 {
            let (lo, hi) = r.usual;
            out.push(VitalsIssue {
                field: r.sign,
                level: VitalsLevel::Warning,
                ja: format!("{label}が基準範囲({lo}〜{hi})の外です。再測定と報告を検討してください。"),
                en: format!("{field} is outside the usual range ({lo}–{hi}). Consider re-measuring and reporting."),
            });
        }
    }
    if let (Some(s), Some(d)) = (v.systolic, v.diastolic)
        && d >= s
    {
        out.push(VitalsIssue {
            field: VitalSign::Diastolic,
            level: VitalsLevel::Error,
            ja: "拡張期血圧が収縮期血圧以上です。上下を入れ違えていないか確認してください。".into(),
            en: "Diastolic is not below systolic. Check the two values were not swapped.".into(),
        });
    }
    out
}

/// The first impossible value, if any: what a document refuses to store.
pub fn first_impossible(v: &Vitals) -> Option<VitalSign> {
    VITAL_RANGES.iter().find(|r| r.sign.value(v).is_some_and(|x| x < r.possible.0 || x > r.possible.1)).map(|r| r.sign)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_infant_is_admitted_and_a_misplaced_decimal_is_not() {
        let infant = Vitals { weight: Some(3.2), pulse: Some(150), respiration: Some(45), ..Default::default() };
        assert!(check(&infant).iter().all(|i| i.level == VitalsLevel::Warning), "{:?}", check(&infant));
        assert_eq!(first_impossible(&infant), None);
        let typo = Vitals { weight: Some(520.0), ..Default::default() };
        assert_eq!(first_impossible(&typo), Some(VitalSign::Weight));
        assert!(check(&typo).iter().any(|i| i.field == VitalSign::Weight && i.level == VitalsLevel::Error));
    }
}
