use super::*;

/// The vitals as the domain keeps them.
pub(crate) fn vitals_of(v: &VitalsInput) -> m::Vitals {
    m::Vitals {
        systolic: v.systolic.map(i64::from),
        diastolic: v.diastolic.map(i64::from),
        pulse: v.pulse.map(i64::from),
        spo2: v.spo2.map(i64::from),
        temperature: v.temperature,
        respiration: v.respiration.map(i64::from),
        weight: v.weight,
    }
}

/// Range checks for vitals (the one table in `houmon_model::vitals`): impossible values are
/// refused (nothing saved), abnormal ones are saved and highlighted.
pub fn check_vitals(v: &VitalsInput) -> Vec<VitalsIssue> {
    m::vitals::check(&vitals_of(v))
}

impl Service {
    /// Record vitals. Impossible values are refused (returned as errors, nothing saved);
    /// abnormal ones are saved and returned as warnings.
    pub fn record_vitals(&mut self, patient: &str, visit: &str, v: &VitalsInput) -> Result<Vec<VitalsIssue>, UiError> {
        self.require(m::Permission::WriteClinical)?;
        let issues = check_vitals(v);
        if issues.iter().any(|i| i.level == m::vitals::VitalsLevel::Error) {
            return Ok(issues);
        }
        self.start_visit(patient, visit)?;
        let p = parse_patient(patient)?;
        let visit = parse_visit(visit)?;
        let vitals = vitals_of(v);
        self.store.record_vitals(&self.actor, p, visit, &vitals)?;
        Ok(issues)
    }
}
