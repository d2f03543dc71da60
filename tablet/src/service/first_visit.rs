use super::*;

pub(crate) fn snapshot_from(
    id: m::QualificationId,
    at: DateTime<Utc>,
    answer: &QualificationOutcome,
) -> Option<m::QualificationSnapshot> {
    let (r, validity) = match answer {
        QualificationOutcome::Valid { result, .. } => (Some(result.as_ref()), m::QualificationValidity::Valid),
        QualificationOutcome::NotValid { result, validity } => {
            (result.as_deref(), m::QualificationValidity::from(*validity))
        }
        QualificationOutcome::NotFound => (None, m::QualificationValidity::NotFound),
        _ => return None,
    };
    Some(houmon_gateway::qualification_snapshot(id, at, r, validity))
}

impl Service {
    pub(crate) fn onshi_record(
        &self,
        c: &ConsentChoices,
        kind: rules::VisitKind,
        mode: digest::IdentityMode,
        cert: &[u8],
    ) -> digest::ConsentRecord {
        digest::ConsentRecord {
            medical_institution_code: self.institution.clone(),
            visit_kind: kind,
            identity_mode: mode,
            medication: c.medication,
            clinical: c.clinical,
            health_checkups: c.checkup,
            operation: c.surgery,
            additional: Default::default(),
            limit_application: false,
            specific_diseases: false,
            prescription_issue: c.prescription.into(),
            certificate_sha256: digest::certificate_sha256(cert),
        }
    }

    /// The first visit (居宅同意取得型) or a 往診 card check: consent choices, identity by PIN
    /// (the card signs the consent digest) or 目視, the qualification answer, all recorded.
    pub fn confirm_with_card(
        &mut self,
        mut input: FirstVisitInput,
        progress: &mut dyn FnMut(CardProgress),
    ) -> Result<QualificationResult, UiError> {
        // Move the PIN into a zeroized buffer at once; the String is wiped whatever happens.
        let pin = match input.pin.take() {
            Some(mut typed) => {
                let parsed = AuthPin::parse(&typed);
                typed.zeroize();
                Some(parsed?)
            }
            None => None,
        };
        self.require(m::Permission::WriteClinical)?;
        let p = parse_patient(&input.patient_id)?;
        let visit = parse_visit(&input.visit_id)?;
        let kind = self.visit_kind_of(visit);
        let mode = match input.mode {
            m::IdentityMode::Pin if self.identity_modes.contains(&m::IdentityMode::Pin) => digest::IdentityMode::Pin,
            m::IdentityMode::Pin => {
                return Err(UiError::new(
                    AppErrorCode::PinNotAllowed,
                    "このクリニックでは暗証番号での確認が許可されていません。目視確認で確認してください。",
                    "This clinic does not allow the PIN check. Use a visual check.",
                ));
            }
            m::IdentityMode::Visual if self.visual_allowed() => digest::IdentityMode::Visual,
            m::IdentityMode::Visual => {
                return Err(UiError::new(
                    AppErrorCode::VisualNotAllowed,
                    "このクリニックでは目視確認が許可されていません。暗証番号で確認してください。",
                    "This clinic does not allow visual checks. Use the PIN.",
                ));
            }
        };
        if mode == digest::IdentityMode::Pin && pin.is_none() {
            return Err(CardError::InvalidPinFormat.into());
        }
        let evidence = match self.face_shown_for {
            Some((shown, evidence)) if shown == p => Some(evidence),
            _ => None,
        };
        if mode == digest::IdentityMode::Visual {
            match evidence {
                None => {
                    return Err(UiError::new(
                        AppErrorCode::FaceNotShown,
                        "目視確認の前に、照合番号Bでカードの顔写真を表示してください。",
                        "Show the card's photo with verification code B before the visual check.",
                    ));
                }
                Some(e) if !self.visual_evidence_allowed(e) => {
                    self.face_shown_for = None;
                    self.store.record_access(
                        &self.actor,
                        AuditAction::QualificationCheck,
                        &chart_doc_id(p),
                        "目視確認を拒否: 検証済みの顔写真なし",
                    )?;
                    return Err(if e == FaceEvidence::ForgedChip {
                        UiError::new(
                            AppErrorCode::FaceSignatureInvalid,
                            "ICチップの券面データの署名が一致しません。偽造カードの可能性があるため、目視確認では続けられません。カードをご本人に確認し、暗証番号で確認してください。",
                            "The signature over the chip's face data does not match: the card may be forged, so the visual check cannot continue. Check the card with the patient and use the PIN.",
                        )
                    } else {
                        UiError::new(
                            AppErrorCode::FaceUnverified,
                            "検証済みの顔写真がないため、このクリニックでは目視確認を使えません。暗証番号で確認してください(許可するには管理者が設定「検証できない顔写真での目視確認を許可する」をオンにします)。",
                            "Without a verified chip photo this clinic does not allow the visual check. Use the PIN (an administrator can allow it with the setting \"Allow visual checks without a verified chip photo\").",
                        )
                    });
                }
                Some(_) => {}
            }
        }
        progress(CardProgress { step: CardStep::Connecting, percent: 5 });
        let nonce: [u8; 32] = rand::random();
        let signed_at: DateTime<FixedOffset> = digest::canonical_instant(&Utc::now());
        let cert = {
            let mut card = Card::new(self.card()?.0);
            progress(CardProgress { step: CardStep::Certificate, percent: 20 });
            card.read_auth_certificate()?
        };
        let record = self.onshi_record(&input.consent, kind.into(), mode, &cert);
        let proof = match (&pin, mode) {
            (Some(pin), digest::IdentityMode::Pin) => {
                let d = digest::consent_digest(&record, &nonce, &signed_at)
                    .map_err(|e| UiError::new(AppErrorCode::Digest, e.message_ja(), e.to_string()))?;
                progress(CardProgress { step: CardStep::Signing, percent: 45 });
                let mut card = Card::new(self.card()?.0);
                let s = houmon_nfc::jpki::pin_mode_sign(&mut card, pin, &d, input.confirm_last_try)?;
                IdentityProof::Pin { signature: s.signature }
            }
            _ => IdentityProof::Visual { staff_id: self.actor.staff.to_string() },
        };
        drop(pin);
        // One photo comparison per confirmation; the audit says what it rested on.
        self.face_shown_for = None;
        if let (digest::IdentityMode::Visual, Some(evidence)) = (mode, evidence) {
            self.store.record_access(
                &self.actor,
                AuditAction::QualificationCheck,
                &chart_doc_id(p),
                evidence.visual_check_detail(),
            )?;
        }
        progress(CardProgress { step: CardStep::Qualifying, percent: 70 });
        let request = FirstVisitRequest {
            record,
            nonce: nonce.to_vec(),
            signed_at,
            certificate_der: cert,
            proof,
            arbitrary_file_identifier: None,
        };
        if self.gateway.is_some() {
            let query = m::QualificationQuery::FirstVisit(Box::new(request));
            return self.ask_gateway(&input.patient_id, &input.visit_id, p, kind, &query, progress);
        }
        let outcome = self.sim.first_visit(&request);
        let answer = interpret(&outcome.answer);
        let (code, notice) = outcome_result(&answer);
        progress(CardProgress { step: CardStep::Saving, percent: 85 });
        let at = signed_at.with_timezone(&Utc);
        self.start_visit(&input.patient_id, &input.visit_id)?;
        let qualification = snapshot_from(m::QualificationId::new(), at, &answer);
        if outcome.consent_id.is_some() || qualification.is_some() {
            // The consent is recorded once the national side accepted the card; a refused
            // card (revoked, expired certificate) leaves no consent behind.
            if outcome.consent_id.is_some() {
                self.store.record_consent(
                    &self.actor,
                    p,
                    &m::ConsentRecord::from_first_visit(&request, self.actor.staff, self.actor.device),
                )?;
            }
            if let Some(q) = &qualification {
                self.store.record_qualification(&self.actor, p, q)?;
            }
        }
        let chart = self.store.read_chart(p)?;
        self.cache_chart(p, &chart);
        let check = self.chart_check(&chart, kind);
        progress(CardProgress { step: CardStep::Done, percent: 100 });
        let ja = answer.message_ja();
        let refusal = matches!(answer, QualificationOutcome::Error { .. });
        Ok(QualificationResult {
            en: if refusal { format!("Refused by the qualification service: {}", code.en()) } else { code.en().into() },
            outcome: code,
            ja,
            qualification: qualification.as_ref().map(qualification_view),
            check,
            notice_ja: notice,
        })
    }
}
