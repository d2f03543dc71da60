use super::*;

pub(crate) fn qualification_view(q: &m::QualificationSnapshot) -> QualificationView {
    QualificationView {
        id: q.id.to_string(),
        checked_at: iso(q.checked_at),
        insurer_number: q.insurer_number.clone(),
        symbol: q.symbol.clone(),
        number: q.number.clone(),
        branch: q.branch.clone(),
        copay_percent: q.copay_percent,
        validity: q.validity,
        consent_medication: q.consent_medication,
        consent_clinical: q.consent_clinical,
        consent_checkup: q.consent_checkup,
        consent_surgery: q.consent_surgery,
        consent_valid_until: q.consent_valid_until.map(|d| d.to_string()),
    }
}
