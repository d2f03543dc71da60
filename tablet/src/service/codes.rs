use super::*;

pub(crate) fn role_code(r: m::StaffRole) -> &'static str {
    match r {
        m::StaffRole::Doctor => "doctor",
        m::StaffRole::Nurse => "nurse",
        m::StaffRole::Office => "office",
        m::StaffRole::Admin => "admin",
    }
}

pub(crate) fn kind_code(k: m::VisitKind) -> &'static str {
    match k {
        m::VisitKind::HomeMedical => "homeMedical",
        m::VisitKind::Emergency => "emergency",
        m::VisitKind::Nursing => "nursing",
    }
}

pub(crate) fn status_code(s: m::VisitStatus) -> &'static str {
    match s {
        m::VisitStatus::Planned => "planned",
        m::VisitStatus::InProgress => "inProgress",
        m::VisitStatus::Done => "done",
        m::VisitStatus::Cancelled => "cancelled",
    }
}

pub(crate) fn rules_kind(k: m::VisitKind) -> rules::VisitKind {
    match k {
        m::VisitKind::HomeMedical => rules::VisitKind::HomeMedical,
        m::VisitKind::Emergency => rules::VisitKind::UrgentCall,
        m::VisitKind::Nursing => rules::VisitKind::HomeNursing,
    }
}

pub(crate) fn validity_code(v: m::QualificationValidity) -> &'static str {
    match v {
        m::QualificationValidity::Valid => "valid",
        m::QualificationValidity::Invalid => "invalid",
        m::QualificationValidity::InvalidNewerExists => "invalidNewerExists",
        m::QualificationValidity::NotFound => "notFound",
        m::QualificationValidity::Unknown => "unknown",
    }
}

pub(crate) fn qualification_view(q: &m::QualificationSnapshot) -> QualificationView {
    QualificationView {
        id: q.id.to_string(),
        checked_at: iso(q.checked_at),
        insurer_number: q.insurer_number.clone(),
        symbol: q.symbol.clone(),
        number: q.number.clone(),
        branch: q.branch.clone(),
        copay_percent: q.copay_percent,
        validity: validity_code(q.validity).into(),
        consent_medication: q.consent_medication,
        consent_clinical: q.consent_clinical,
        consent_checkup: q.consent_checkup,
        consent_surgery: q.consent_surgery,
        consent_valid_until: q.consent_valid_until.map(|d| d.to_string()),
    }
}
