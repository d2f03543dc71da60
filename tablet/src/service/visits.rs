use super::*;

impl Service {
    pub(crate) fn cache_chart(&mut self, p: PatientId, chart: &m::Chart) {
        self.checks.insert(p, (chart.latest_qualification().cloned(), timeline(chart)));
        self.note_request(p, chart);
    }

    pub(crate) fn check_for(&mut self, p: PatientId, kind: m::VisitKind) -> Result<CheckState, UiError> {
        if !self.checks.contains_key(&p) {
            let chart = self.store.read_chart(p)?;
            self.cache_chart(p, &chart);
        }
        let (q, t) = self.checks.get(&p).cloned().unwrap_or_default();
        Ok(self.with_request(p, check_state(&self.policy, &t, q.as_ref(), kind, Utc::now())))
    }

    pub fn todays_visits(&mut self) -> Result<Vec<VisitRow>, UiError> {
        self.ensure_unlocked()?;
        self.viewing = None;
        self.refresh_after_sync();
        #[cfg(feature = "training")]
        if self.training {
            // "Today" follows the clock: after midnight the training day is set up again.
            self.ensure_demo_day()?;
        }
        let rows: Vec<TodayVisit> = self.store.todays_roster(self.actor.staff, self.today())?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let check = self.check_for(r.patient, r.kind)?;
            out.push(VisitRow {
                visit_id: r.visit.to_string(),
                patient_id: r.patient.to_string(),
                patient_name: r.patient_name,
                patient_kana: r.patient_kana,
                start: r.start,
                end: r.end,
                kind: r.kind,
                status: r.status,
                check,
            });
        }
        Ok(out)
    }

    pub(crate) fn staff_names(&mut self) -> HashMap<StaffId, String> {
        self.store.clinic().map(|c| c.staff.into_iter().map(|s| (s.id, s.name)).collect()).unwrap_or_default()
    }

    pub fn patient_chart(&mut self, patient: &str, kind: Option<m::VisitKind>) -> Result<ChartView, UiError> {
        self.ensure_unlocked()?;
        let p = parse_patient(patient)?;
        let chart = if self.viewing == Some(p) {
            self.store.read_chart(p)?
        } else {
            let c = self.store.open_chart(&self.actor, p)?;
            self.viewing = Some(p);
            c
        };
        self.cache_chart(p, &chart);
        let names = self.staff_names();
        let name_of = |s: StaffId| names.get(&s).cloned().unwrap_or_else(|| s.to_string()[..8].to_string());
        let kind = kind.unwrap_or(m::VisitKind::HomeMedical);
        let check = self.chart_check(&chart, kind);
        let check = self.with_request(p, check);
        let mut quals: Vec<_> = chart.qualifications.iter().collect();
        quals.sort_by_key(|q| std::cmp::Reverse(q.checked_at));
        let mut visits: Vec<_> = chart.visits.iter().collect();
        visits.sort_by_key(|v| std::cmp::Reverse(v.arrival));
        let note_view = |n: &m::NoteVersion| NoteView {
            id: n.id.to_string(),
            thread: n.thread.to_string(),
            version: n.version,
            visit_id: n.visit.to_string(),
            status: n.status,
            author: name_of(n.author),
            created_at: iso(n.created_at),
            signed_at: n.signed_at.map(iso),
            replaces: n.replaces.map(|r| r.to_string()),
            correction_reason: n.correction_reason.clone(),
            soap: Soap {
                s: n.body.subjective.clone(),
                o: n.body.objective.clone(),
                a: n.body.assessment.clone(),
                p: n.body.plan.clone(),
            },
            intact: n.intact,
        };
        let to_i32 = |x: Option<i64>| x.and_then(|v| i32::try_from(v).ok());
        // Office and admin staff see demographics and qualification; notes and vitals only
        // when the clinic's policy allows (`officeReadsNotes`).
        let clinical = self.reads_clinical();
        Ok(ChartView {
            patient_id: p.to_string(),
            name: chart.demographics.name.clone(),
            kana: chart.demographics.name_kana.clone(),
            birth_date: chart.demographics.birth_date.map(|d| d.to_string()),
            sex: chart.demographics.sex.clone(),
            address: chart.demographics.address.clone(),
            insurance: chart.latest_qualification().map(qualification_view),
            check,
            consents: chart
                .consents
                .iter()
                .rev()
                .map(|c| ConsentView {
                    id: c.id.to_string(),
                    recorded_at: iso(c.recorded_at),
                    recorded_by: name_of(c.recorded_by),
                    identity: c.identity,
                    medication: c.medication,
                    clinical: c.clinical,
                    checkup: c.checkup,
                    surgery: c.surgery,
                    prescription: c.prescription,
                    signed_by_card: c.signature_hex.is_some(),
                    revocation: c.revocation,
                })
                .collect(),
            qualifications: quals.into_iter().map(qualification_view).collect(),
            visits: visits
                .into_iter()
                .map(|v| VisitView {
                    id: v.id.to_string(),
                    kind: v.kind,
                    staff: name_of(v.staff),
                    arrival: v.arrival.map(iso),
                    departure: v.departure.map(iso),
                    vitals: if !clinical {
                        VitalsInput::default()
                    } else {
                        VitalsInput {
                            systolic: to_i32(v.vitals.systolic),
                            diastolic: to_i32(v.vitals.diastolic),
                            pulse: to_i32(v.vitals.pulse),
                            spo2: to_i32(v.vitals.spo2),
                            temperature: v.vitals.temperature,
                            respiration: to_i32(v.vitals.respiration),
                            weight: v.vitals.weight,
                        }
                    },
                    notes: if clinical {
                        chart.notes.iter().filter(|n| n.visit == v.id).map(note_view).collect()
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
            conflicts: chart.conflicts.len() as u32,
            clinical_hidden: !clinical,
        })
    }

    pub fn patient_list(&mut self) -> Result<Vec<PatientRow>, UiError> {
        self.ensure_unlocked()?;
        Ok(self
            .store
            .patient_list()?
            .into_iter()
            .map(|p| PatientRow {
                id: p.id.to_string(),
                name: p.name,
                kana: p.name_kana,
                birth_date: p.birth_date.map(|d| d.to_string()),
                last_visit: p.last_visit.map(iso),
                care_ended: p.care_ended,
            })
            .collect())
    }

    pub(crate) fn visit_kind_of(&self, visit: VisitId) -> m::VisitKind {
        self.store
            .todays_roster(self.actor.staff, self.today())
            .ok()
            .and_then(|r| r.into_iter().find(|v| v.visit == visit))
            .map(|v| v.kind)
            .unwrap_or(m::VisitKind::HomeMedical)
    }

    /// Opens the visit record (訪問開始) once; later calls do nothing.
    pub fn start_visit(&mut self, patient: &str, visit: &str) -> Result<(), UiError> {
        self.require(m::Permission::WriteClinical)?;
        let (p, v) = (parse_patient(patient)?, parse_visit(visit)?);
        let chart = self.store.read_chart(p)?;
        if chart.visits.iter().any(|r| r.id == v) {
            return Ok(());
        }
        let kind = self.visit_kind_of(v);
        self.store.start_visit(&self.actor, p, v, kind)?;
        let _ = self.store.set_visit_status(&self.actor, v, m::VisitStatus::InProgress);
        let chart = self.store.read_chart(p)?;
        self.cache_chart(p, &chart);
        Ok(())
    }
}
