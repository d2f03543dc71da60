use super::*;

impl Service {
    /// Save the note draft (durable when this returns). `draft` None starts a new note.
    pub fn save_note(
        &mut self,
        patient: &str,
        visit: &str,
        draft: Option<&str>,
        soap: &Soap,
    ) -> Result<SavedNote, UiError> {
        self.require(m::Permission::WriteClinical)?;
        self.start_visit(patient, visit)?;
        let p = parse_patient(patient)?;
        let v = parse_visit(visit)?;
        let draft = match draft {
            Some(d) => Some(m::NoteId::parse(d).ok_or_else(|| bad_id("記録"))?),
            None => None,
        };
        let body = m::SoapNote {
            subjective: soap.s.clone(),
            objective: soap.o.clone(),
            assessment: soap.a.clone(),
            plan: soap.p.clone(),
        };
        let id = self.store.save_note(&self.actor, p, v, draft, &body)?;
        Ok(SavedNote { note_id: id.to_string(), saved_at: iso(Utc::now()) })
    }

    pub fn sign_note(&mut self, patient: &str, note: &str) -> Result<(), UiError> {
        self.require(m::Permission::WriteClinical)?;
        let p = parse_patient(patient)?;
        let n = m::NoteId::parse(note).ok_or_else(|| bad_id("記録"))?;
        self.store.sign_note(&self.actor, p, n)?;
        Ok(())
    }

    pub fn correct_note(&mut self, patient: &str, note: &str, soap: &Soap, reason: &str) -> Result<SavedNote, UiError> {
        self.require(m::Permission::WriteClinical)?;
        let p = parse_patient(patient)?;
        let n = m::NoteId::parse(note).ok_or_else(|| bad_id("記録"))?;
        let body = m::SoapNote {
            subjective: soap.s.clone(),
            objective: soap.o.clone(),
            assessment: soap.a.clone(),
            plan: soap.p.clone(),
        };
        let id = self.store.correct_note(&self.actor, p, n, &body, reason)?;
        Ok(SavedNote { note_id: id.to_string(), saved_at: iso(Utc::now()) })
    }
}
