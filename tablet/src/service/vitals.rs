use super::*;

/// Range checks for vitals: impossible values are refused (nothing saved), abnormal ones are
/// saved and highlighted.
pub fn check_vitals(v: &VitalsInput) -> Vec<VitalsIssue> {
    let mut out = Vec::new();
    let mut check = |field: &str, label: &str, value: Option<f64>, possible: (f64, f64), normal: (f64, f64)| {
        let Some(x) = value else { return };
        if x < possible.0 || x > possible.1 {
            out.push(VitalsIssue {
                field: field.into(),
                level: "error".into(),
                ja: format!("{label}の値 {x} は測定値としてありえません。入力し直してください。"),
                en: format!("{field} {x} is not a possible reading. Enter it again."),
            });
        } else if x < normal.0 || x > normal.1 {
            out.push(VitalsIssue {
                field: field.into(),
                level: "warning".into(),
                ja: format!("{label}が基準範囲({}〜{})の外です。再測定と報告を検討してください。", normal.0, normal.1),
                en: format!(
                    "{field} is outside the usual range ({}–{}). Consider re-measuring and reporting.",
                    normal.0, normal.1
                ),
            });
        }
    };
    let f = |x: Option<i32>| x.map(f64::from);
    check("systolic", "収縮期血圧", f(v.systolic), (40.0, 300.0), (90.0, 160.0));
    check("diastolic", "拡張期血圧", f(v.diastolic), (20.0, 200.0), (50.0, 100.0));
    check("pulse", "脈拍", f(v.pulse), (20.0, 250.0), (50.0, 110.0));
    check("spo2", "SpO2", f(v.spo2), (50.0, 100.0), (93.0, 100.0));
    check("temperature", "体温", v.temperature, (30.0, 43.0), (35.5, 37.5));
    check("respiration", "呼吸数", f(v.respiration), (4.0, 80.0), (10.0, 24.0));
    check("weight", "体重", v.weight, (10.0, 300.0), (25.0, 150.0));
    if let (Some(s), Some(d)) = (v.systolic, v.diastolic)
        && d >= s
    {
        out.push(VitalsIssue {
            field: "diastolic".into(),
            level: "error".into(),
            ja: "拡張期血圧が収縮期血圧以上です。上下を入れ違えていないか確認してください。".into(),
            en: "Diastolic is not below systolic. Check the two values were not swapped.".into(),
        });
    }
    out
}

impl Service {
    /// Record vitals. Impossible values are refused (returned as errors, nothing saved);
    /// abnormal ones are saved and returned as warnings.
    pub fn record_vitals(&mut self, patient: &str, visit: &str, v: &VitalsInput) -> Result<Vec<VitalsIssue>, UiError> {
        self.ensure_unlocked()?;
        let issues = check_vitals(v);
        if issues.iter().any(|i| i.level == "error") {
            return Ok(issues);
        }
        self.start_visit(patient, visit)?;
        let p = parse_patient(patient)?;
        let visit = parse_visit(visit)?;
        let vitals = m::Vitals {
            systolic: v.systolic.map(i64::from),
            diastolic: v.diastolic.map(i64::from),
            pulse: v.pulse.map(i64::from),
            spo2: v.spo2.map(i64::from),
            temperature: v.temperature,
            respiration: v.respiration.map(i64::from),
            weight: v.weight,
        };
        self.store.record_vitals(&self.actor, p, visit, &vitals)?;
        Ok(issues)
    }
}
