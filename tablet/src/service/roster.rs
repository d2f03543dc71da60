use super::*;

impl Service {
    pub fn roster(&mut self, month: Option<&str>) -> Result<RosterView, UiError> {
        self.ensure_unlocked()?;
        let month = month.map(str::to_string).unwrap_or_else(|| houmon_docs::month_key(self.today()));
        let (visits, conflicts) = match self.store.roster_month(&month) {
            Ok(x) => x,
            Err(CoreError::NotFound { .. }) => (vec![], vec![]),
            Err(e) => return Err(e.into()),
        };
        let clinic = self.store.clinic()?;
        let names: HashMap<PatientId, String> =
            self.store.patient_list()?.into_iter().map(|p| (p.id, p.name)).collect();
        let mut days: Vec<String> = visits.iter().map(|v| v.date.to_string()).collect();
        days.sort();
        days.dedup();
        Ok(RosterView {
            month,
            days,
            staff: clinic
                .staff
                .iter()
                .filter(|s| matches!(s.role, m::StaffRole::Doctor | m::StaffRole::Nurse))
                .map(|s| StaffView { id: s.id.to_string(), name: s.name.clone(), role: s.role })
                .collect(),
            visits: visits
                .iter()
                .map(|v| RosterEntry {
                    visit_id: v.id.to_string(),
                    date: v.date.to_string(),
                    start: v.start.format("%H:%M").to_string(),
                    patient_id: v.patient.to_string(),
                    patient_name: names.get(&v.patient).cloned().unwrap_or_default(),
                    staff: v.staff.iter().map(|s| s.to_string()).collect(),
                    kind: v.kind,
                    status: v.status,
                })
                .collect(),
            conflicts: conflicts.len() as u32,
        })
    }

    /// Assign a planned visit to one staff member and/or another day (roster planner).
    pub fn assign_visit(&mut self, visit: &str, staff: &str, date: Option<&str>) -> Result<(), UiError> {
        self.ensure_unlocked()?;
        plan::reassign(&mut self.store, &self.actor, visit, &[staff.to_string()])?;
        if let Some(date) = date {
            let v = self.store.planned_visits(&self.store.visit_month(parse_visit(visit)?)?)?;
            let v = v.into_iter().find(|x| x.id.to_string() == visit).ok_or(CoreError::NotFound { what: "visit" })?;
            let e = VisitEdit {
                id: visit.to_string(),
                date: date.to_string(),
                start: v.start.format("%H:%M").to_string(),
                end: v.end.format("%H:%M").to_string(),
                kind: v.kind,
            };
            plan::edit(&mut self.store, &self.actor, &e)?;
        }
        Ok(())
    }
}
