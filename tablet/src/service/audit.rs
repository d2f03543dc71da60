use super::*;

impl Service {
    pub fn audit_log(&self, limit: i64) -> Result<AuditLogView, UiError> {
        self.ensure_unlocked()?;
        let chain_ok = self.store.verify_audit()?.ok();
        let rows = self
            .store
            .recent_audit(limit.clamp(1, 1000))?
            .into_iter()
            .map(|e| AuditRow {
                seq: e.seq,
                at: iso(e.at),
                staff: e.staff,
                action: e.action,
                target: e.target,
                detail: e.detail,
            })
            .collect();
        Ok(AuditLogView { chain_ok, rows })
    }

    /// The back office queue: patients whose 再照会 or check is waiting for an answer.
    pub fn qualification_queue(&mut self) -> Result<Vec<QueueRow>, UiError> {
        self.ensure_unlocked()?;
        let mut out = Vec::new();
        let ids: Vec<PatientId> = self.checks.keys().copied().collect();
        self.refresh_after_sync();
        for p in ids {
            let chart = self.store.open_chart(&self.actor, p)?;
            self.cache_chart(p, &chart);
            for r in &chart.qualification_requests {
                let answered = r.answered || chart.qualifications.iter().any(|q| q.id == r.id);
                let (state, ja, en) = self.queue_state(&chart, r);
                out.push(QueueRow {
                    patient_id: p.to_string(),
                    patient_name: chart.demographics.name.clone(),
                    requested_at: iso(r.requested_at),
                    answered,
                    state,
                    ja,
                    en,
                });
            }
        }
        out.sort_by(|a, b| b.requested_at.cmp(&a.requested_at));
        Ok(out)
    }
}
