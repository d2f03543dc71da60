//! The visit plan (訪問計画): plan visits once or on a recurring pattern until a date, edit,
//! reassign and cancel them, and the month views per clinic, staff member and patient. The
//! back office and `houmon-clinic` run the same functions; callers check the lock first.

use super::*;
use chrono::NaiveTime;
use houmon_model::RosterVisit;

fn invalid(ja: &str, en: &str) -> UiError {
    UiError::new(AppErrorCode::InvalidInput, ja, en)
}

fn parse_date(s: &str) -> Result<NaiveDate, UiError> {
    s.trim().parse().map_err(|_| invalid("日付を YYYY-MM-DD の形で入力してください。", "Enter the date as YYYY-MM-DD."))
}

fn parse_window(start: &str, end: &str) -> Result<(NaiveTime, NaiveTime), UiError> {
    let t = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
    match (t(start), t(end)) {
        (Some(a), Some(b)) if a < b => Ok((a, b)),
        (Some(_), Some(_)) => {
            Err(invalid("終了時刻は開始時刻より後にしてください。", "The end time must be after the start time."))
        }
        _ => Err(invalid("時刻を HH:MM の形で入力してください(例: 10:00)。", "Enter times as HH:MM (e.g. 10:00).")),
    }
}

/// Assigned staff must be active doctors or nurses of the clinic (the people who visit).
fn visiting_staff(store: &mut Store, ids: &[String]) -> Result<Vec<StaffId>, UiError> {
    let clinic = store.clinic()?;
    if ids.is_empty() {
        return Err(invalid("担当者を1人以上選んでください。", "Choose at least one staff member."));
    }
    ids.iter()
        .map(|s| {
            let id = StaffId::parse(s).ok_or_else(|| bad_id("職員"))?;
            match clinic.staff.iter().find(|x| x.id == id) {
                Some(x) if x.active && matches!(x.role, m::StaffRole::Doctor | m::StaffRole::Nurse) => Ok(id),
                Some(_) => Err(invalid(
                    "訪問の担当者は在職中の医師か看護師にしてください。",
                    "Visits are assigned to active doctors or nurses.",
                )),
                None => Err(bad_id("職員")),
            }
        })
        .collect()
}

/// The patient must be registered here and still in care.
fn patient_in_care(store: &mut Store, patient: &str) -> Result<PatientId, UiError> {
    let id = parse_patient(patient)?;
    match store.patient_list()?.into_iter().find(|p| p.id == id) {
        Some(p) if p.care_ended.is_none() => Ok(id),
        Some(_) => Err(invalid(
            "訪問が終了した患者には予定を作れません。再開する場合は患者情報から「訪問の再開」をしてください。",
            "Care has ended for this patient. Resume care from the patient's details first.",
        )),
        None => Err(bad_id("患者")),
    }
}

/// Plan a visit, or every visit of a recurring pattern up to `until` (one change per month).
pub fn plan(store: &mut Store, actor: &Actor, input: &PlanInput) -> Result<Planned, UiError> {
    let patient = patient_in_care(store, &input.patient)?;
    let staff = visiting_staff(store, &input.staff)?;
    let first = parse_date(&input.date)?;
    let (start, end) = parse_window(&input.start, &input.end)?;
    let (dates, series) = match &input.repeat {
        None => (vec![first], None),
        Some(rule) => {
            let until = parse_date(input.until.as_deref().unwrap_or_default())?;
            let dates = rule.dates(first, until).filter(|d| !d.is_empty()).ok_or_else(|| {
                UiError::new(
                    AppErrorCode::InvalidRecurrence,
                    format!(
                        "繰り返し({})で予定になる日がありません。開始日と終了日(最長{}日)を確認してください。",
                        rule.label_ja(),
                        m::plan::MAX_PLAN_DAYS
                    ),
                    format!(
                        "The pattern gives no visit. Check the first and last dates (at most {} days apart).",
                        m::plan::MAX_PLAN_DAYS
                    ),
                )
            })?;
            (dates, Some(uuid::Uuid::new_v4().to_string()))
        }
    };
    let visits: Vec<RosterVisit> = dates
        .into_iter()
        .map(|date| RosterVisit {
            id: VisitId::new(),
            date,
            start,
            end,
            patient,
            staff: staff.clone(),
            kind: input.kind,
            status: m::VisitStatus::Planned,
            cancel_reason: String::new(),
            series: series.clone(),
        })
        .collect();
    store.plan_visits(actor, &visits)?;
    Ok(Planned { visits: visits.iter().map(|v| v.id.to_string()).collect(), series })
}

fn find_visit(store: &mut Store, visit: VisitId) -> Result<RosterVisit, UiError> {
    let month = store.visit_month(visit)?;
    store
        .planned_visits(&month)?
        .into_iter()
        .find(|v| v.id == visit)
        .ok_or_else(|| CoreError::NotFound { what: "visit" }.into())
}

/// Edit a visit's date, time window and kind. Into another month: cancelled here (理由
/// 「別の月へ移動」) and planned anew there, so each month's document keeps its own visits.
pub fn edit(store: &mut Store, actor: &Actor, e: &VisitEdit) -> Result<String, UiError> {
    let mut v = find_visit(store, parse_visit(&e.id)?)?;
    let date = parse_date(&e.date)?;
    let (start, end) = parse_window(&e.start, &e.end)?;
    let moved_month = houmon_docs::month_key(date) != houmon_docs::month_key(v.date);
    (v.date, v.start, v.end, v.kind) = (date, start, end, e.kind);
    if moved_month {
        store.cancel_visit(actor, v.id, "別の月へ移動")?;
        v.id = VisitId::new();
        v.status = m::VisitStatus::Planned;
        store.plan_visits(actor, std::slice::from_ref(&v))?;
    } else {
        store.edit_visit(actor, &v)?;
    }
    Ok(v.id.to_string())
}

/// Hand a visit to other staff (担当の変更).
pub fn reassign(store: &mut Store, actor: &Actor, visit: &str, staff: &[String]) -> Result<(), UiError> {
    let visit = parse_visit(visit)?;
    let to = visiting_staff(store, staff)?;
    store.reassign_visit(actor, visit, &to)?;
    Ok(())
}

/// Cancel a visit (中止) with its reason; the entry stays, shown as 中止.
pub fn cancel(store: &mut Store, actor: &Actor, visit: &str, reason: &str) -> Result<(), UiError> {
    let visit = parse_visit(visit)?;
    if reason.trim().is_empty() {
        return Err(invalid("中止の理由を入力してください。", "Enter why the visit is cancelled."));
    }
    store.cancel_visit(actor, visit, reason.trim())?;
    Ok(())
}

/// A month of the plan (from the projection: no document is loaded), for the clinic, one staff
/// member or one patient.
pub fn month(store: &mut Store, month: &str, staff: Option<&str>, patient: Option<&str>) -> Result<PlanMonth, UiError> {
    if NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_err() {
        return Err(invalid("月を YYYY-MM の形で指定してください。", "Give the month as YYYY-MM."));
    }
    let staff_id = staff.map(|s| StaffId::parse(s).ok_or_else(|| bad_id("職員"))).transpose()?;
    let patient_id = patient.map(parse_patient).transpose()?;
    let names: HashMap<PatientId, String> = store.patient_list()?.into_iter().map(|p| (p.id, p.name)).collect();
    let people: HashMap<StaffId, m::Staff> =
        store.clinic().map(|c| c.staff.into_iter().map(|s| (s.id, s)).collect()).unwrap_or_default();
    let visits = store
        .planned_visits(month)?
        .into_iter()
        .filter(|v| staff_id.is_none_or(|s| v.staff.contains(&s)) && patient_id.is_none_or(|p| v.patient == p))
        .map(|v| PlanRow {
            id: v.id.to_string(),
            date: v.date.to_string(),
            start: v.start.format("%H:%M").to_string(),
            end: v.end.format("%H:%M").to_string(),
            patient_id: v.patient.to_string(),
            patient_name: names.get(&v.patient).cloned().unwrap_or_default(),
            staff: v
                .staff
                .iter()
                .filter_map(|s| people.get(s))
                .map(|s| StaffView { id: s.id.to_string(), name: s.name.clone(), role: s.role })
                .collect(),
            kind: v.kind,
            status: v.status,
        })
        .collect();
    Ok(PlanMonth {
        month: month.to_string(),
        staff_id: staff_id.map(|s| s.to_string()),
        patient_id: patient_id.map(|p| p.to_string()),
        visits,
    })
}

impl Service {
    /// Plan visits (every signed-in staff member may: office staff plan, clinicians adjust).
    pub fn plan_visits(&mut self, input: &PlanInput) -> Result<Planned, UiError> {
        self.ensure_unlocked()?;
        plan(&mut self.store, &self.actor, input)
    }

    pub fn edit_visit(&mut self, e: &VisitEdit) -> Result<String, UiError> {
        self.ensure_unlocked()?;
        edit(&mut self.store, &self.actor, e)
    }

    pub fn reassign_visit(&mut self, visit: &str, staff: &[String]) -> Result<(), UiError> {
        self.ensure_unlocked()?;
        reassign(&mut self.store, &self.actor, visit, staff)
    }

    pub fn cancel_visit(&mut self, visit: &str, reason: &str) -> Result<(), UiError> {
        self.ensure_unlocked()?;
        cancel(&mut self.store, &self.actor, visit, reason)
    }

    pub fn plan_month(
        &mut self,
        month: Option<&str>,
        staff: Option<&str>,
        patient: Option<&str>,
    ) -> Result<PlanMonth, UiError> {
        self.ensure_unlocked()?;
        let month = month.map(str::to_string).unwrap_or_else(|| houmon_docs::month_key(self.today()));
        self::month(&mut self.store, &month, staff, patient)
    }
}
