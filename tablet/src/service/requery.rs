use super::*;

/// The outcome code and any side information from the national side.
pub(crate) fn outcome_result(answer: &QualificationOutcome) -> (CheckOutcome, Option<String>) {
    let notice = match answer {
        QualificationOutcome::Valid { side_info: Some((_, msg)), .. } if !msg.is_empty() => Some(msg.clone()),
        _ => None,
    };
    (CheckOutcome::of(answer), notice)
}

impl Service {
    /// 再照会: allowed only with a valid consent and continuing care; otherwise the reason.
    pub fn requery(&mut self, patient: &str, visit: &str) -> Result<QualificationResult, UiError> {
        self.ensure_unlocked()?;
        let p = parse_patient(patient)?;
        let v = parse_visit(visit)?;
        let kind = self.visit_kind_of(v);
        let chart = self.store.read_chart(p)?;
        let t = timeline(&chart);
        let check = check_state(&self.policy, &t, chart.latest_qualification(), kind, Utc::now());
        if check.path != CheckPath::Requery {
            return Err(UiError::new(check.reason, check.ja, check.en));
        }
        let Some(last) = chart.latest_qualification().cloned() else {
            return Err(UiError::new(
                CheckReason::FirstVisit,
                "保険の情報がまだありません。マイナンバーカードで資格確認をしてください。",
                "No insurance details yet. Confirm with the My Number card first.",
            ));
        };
        let search = QualificationConfirmSearchInfo {
            insurer_number: InsurerNumber::parse(&last.insurer_number).ok(),
            insured_card_symbol: Some(last.symbol.clone()).filter(|s| !s.is_empty()),
            insured_identification_number: Some(last.number.clone()),
            insured_branch_number: Some(last.branch.clone()).filter(|s| !s.is_empty()),
            birthdate: chart.demographics.birth_date,
            ..Default::default()
        };
        let reinquiry = ReinquiryRequest {
            medical_institution_code: self.institution.clone(),
            search,
            visit_kind: kind.into(),
            arbitrary_file_identifier: None,
        };
        if self.gateway.is_some() {
            let query = m::QualificationQuery::Reinquiry(reinquiry);
            return self.ask_gateway(patient, visit, p, kind, &query, &mut |_| {});
        }
        let request = self.store.request_qualification(&self.actor, p)?;
        // Training mode: the in-process simulator answers as the gateway would (decision 5).
        let answer = interpret(&self.sim.reinquire(&reinquiry));
        let (code, notice) = outcome_result(&answer);
        let snapshot = snapshot_from(request, Utc::now(), &answer);
        if let Some(q) = &snapshot {
            self.store.record_qualification(&self.actor, p, q)?;
        }
        self.start_visit(patient, visit)?;
        let chart = self.store.read_chart(p)?;
        self.cache_chart(p, &chart);
        let check = self.chart_check(&chart, kind);
        Ok(QualificationResult {
            ja: answer.message_ja(),
            en: code.en().into(),
            outcome: code,
            qualification: snapshot.as_ref().map(qualification_view),
            check,
            notice_ja: notice,
        })
    }
}
