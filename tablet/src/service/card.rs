use super::*;

/// What the PC/SC readers offer right now.
pub(crate) enum PcscCard {
    /// pcscd is not running or no reader is connected.
    NoReader,
    /// Readers, but none holds a card.
    NoCard,
    Card(PcscReader),
}

/// The first PC/SC reader that holds a card, connected exclusively.
pub(crate) fn pcsc_card() -> Result<PcscCard, CardError> {
    let readers = houmon_nfc::list_readers().unwrap_or_default();
    if readers.is_empty() {
        return Ok(PcscCard::NoReader);
    }
    for name in readers {
        if houmon_nfc::reader_has_card(&name).unwrap_or(false) {
            return PcscReader::connect(Some(&name), std::time::Duration::ZERO).map(PcscCard::Card);
        }
    }
    Ok(PcscCard::NoCard)
}

impl Service {
    /// The card to talk to, by [`CardSource`]: a PC/SC reader's card first, else the training
    /// reader. Each call is a new session, so no verified PIN outlives the call that used it.
    pub(crate) fn card(&mut self) -> Result<(Box<dyn Transport + '_>, String), CardError> {
        if self.card_source != CardSource::TrainingOnly {
            match pcsc_card()? {
                PcscCard::Card(r) => {
                    let name = r.reader_name();
                    return Ok((Box::new(r), name));
                }
                PcscCard::NoReader if self.card_source == CardSource::PcscOnly => return Err(CardError::NoReader),
                PcscCard::NoCard if self.card_source == CardSource::PcscOnly => return Err(CardError::NoCard),
                _ => {}
            }
        }
        #[cfg(feature = "training")]
        return Ok((Box::new(self.reader.card()?), TRAINING_READER.into()));
        #[cfg(not(feature = "training"))]
        Err(CardError::NoReader)
    }

    /// "Place the card": read the certificate and the PIN tries left (no PIN is sent).
    pub fn card_check(&mut self, progress: &mut dyn FnMut(CardProgress)) -> Result<CardCheck, UiError> {
        self.ensure_unlocked()?;
        progress(CardProgress { step: CardStep::Connecting, percent: 5 });
        let (t, reader) = self.card()?;
        let mut card = Card::new(t);
        progress(CardProgress { step: CardStep::Certificate, percent: 30 });
        card.read_auth_certificate()?;
        progress(CardProgress { step: CardStep::Tries, percent: 80 });
        let tries = card.auth_pin_tries()?;
        progress(CardProgress { step: CardStep::Done, percent: 100 });
        Ok(CardCheck { tries_left: tries, apdus: card.apdu_count(), reader })
    }

    /// 目視確認: open the card face with 照合番号B (typed from the front of the card) and show
    /// its photo, with whether the issuer's signature over it verified. The photo is kept only
    /// in the reply, never on disk; the view is audited with what it showed.
    pub fn card_face(&mut self, patient: &str, mut code_b: String) -> Result<CardFace, UiError> {
        let code = VerificationCodeB::parse(&code_b);
        code_b.zeroize();
        let code = code?;
        self.require(m::Permission::WriteClinical)?;
        let p = parse_patient(patient)?;
        self.face_shown_for = None;
        let issuers = self.face_issuers.clone();
        let read = {
            let (t, _) = self.card()?;
            Card::new(t).read_face_photo(&code, &issuers)
        };
        drop(code);
        let target = chart_doc_id(p);
        let face = match read {
            Ok(face) => face,
            Err(CardError::VerificationCodeBBlocked) => {
                // The chip photo is out of reach: only the printed photo is left, which proves
                // nothing about the chip, so it counts only where the clinic allows that.
                let evidence = FaceEvidence::PrintedOnly;
                let allowed = self.visual_evidence_allowed(evidence);
                self.store.record_access(&self.actor, AuditAction::View, &target, evidence.audit_detail(allowed))?;
                self.face_shown_for = Some((p, evidence));
                if allowed {
                    return Err(CardError::VerificationCodeBBlocked.into());
                }
                return Err(UiError::new(
                    CardErrorCode::CodeBBlocked,
                    "照合番号Bがロックされているため、ICチップの顔写真を表示できません。このクリニックでは検証済みの顔写真がない目視確認は認められていません。暗証番号で確認してください。",
                    "Verification code B is blocked, so the chip photo cannot be shown. This clinic does not allow a visual check without a verified chip photo. Use the PIN.",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let evidence = FaceEvidence::of(face.authenticity);
        let allowed = self.visual_evidence_allowed(evidence);
        self.store.record_access(&self.actor, AuditAction::View, &target, evidence.audit_detail(allowed))?;
        self.face_shown_for = Some((p, evidence));
        use base64::Engine;
        Ok(CardFace {
            png_data_url: format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&face.photo.png)
            ),
            width: face.photo.width,
            height: face.photo.height,
            authenticity: face.authenticity.into(),
            visual_allowed: allowed,
        })
    }

    /// Whether a visual check may rest on `evidence`: a verified chip photo always; an
    /// unverifiable one only by the clinic's policy; a chip whose signature fails never.
    pub(crate) fn visual_evidence_allowed(&self, evidence: FaceEvidence) -> bool {
        match evidence {
            FaceEvidence::VerifiedChip => true,
            FaceEvidence::UnverifiedChip | FaceEvidence::PrintedOnly => self.visual_unverified_allowed,
            FaceEvidence::ForgedChip => false,
        }
    }

    /// The issuer keys card faces are verified with: the clinic's configured keys and, in
    /// training, the synthetic issuer that signs the virtual cards.
    pub(crate) fn trusted_face_issuers(&self, configured: &[Vec<u8>]) -> FaceIssuers {
        let mut issuers = FaceIssuers::none();
        for der in configured {
            // Checked by the policy engine; one that does not parse is left out (fail closed).
            let _ = issuers.add_spki_der(der);
        }
        #[cfg(feature = "training")]
        if self.training {
            let _ = issuers.add_spki_der(&houmon_nfc::synthetic_face_issuer_spki());
        }
        issuers
    }
}

/// What a visual check compares the patient with (目視確認の根拠).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaceEvidence {
    /// The chip photo, its issuer signature verified (検証済み).
    VerifiedChip,
    /// The chip photo, with no issuer key to verify it on this device (未検証).
    UnverifiedChip,
    /// Only the photo printed on the card (照合番号B blocked).
    PrintedOnly,
    /// A chip photo whose signature fails: the chip may be forged.
    ForgedChip,
}

impl FaceEvidence {
    fn of(a: houmon_nfc::FaceAuthenticity) -> Self {
        match a {
            houmon_nfc::FaceAuthenticity::Verified => Self::VerifiedChip,
            houmon_nfc::FaceAuthenticity::NoIssuerKey => Self::UnverifiedChip,
            houmon_nfc::FaceAuthenticity::SignatureInvalid => Self::ForgedChip,
        }
    }

    /// The audit detail of a visual check that rested on it.
    pub(crate) fn visual_check_detail(self) -> &'static str {
        match self {
            Self::VerifiedChip => "目視確認: 検証済みのICチップ顔写真と照合",
            Self::UnverifiedChip => "目視確認: 未検証のICチップ顔写真と照合(クリニックの方針で許可)",
            Self::PrintedOnly => "目視確認: カード表面の写真のみと照合(クリニックの方針で許可)",
            Self::ForgedChip => "目視確認: 署名が一致しない顔写真",
        }
    }

    /// The audit detail of showing it (and whether a visual check may rest on it).
    pub(crate) fn audit_detail(self, allowed: bool) -> &'static str {
        match (self, allowed) {
            (Self::VerifiedChip, _) => "カードの顔写真を表示(発行者の署名を検証済み)",
            (Self::UnverifiedChip, true) => {
                "カードの顔写真を表示(未検証: 発行者の鍵が未設定。クリニックの方針で目視確認を許可)"
            }
            (Self::UnverifiedChip, false) => "カードの顔写真を表示(未検証: 発行者の鍵が未設定。目視確認は不可)",
            (Self::PrintedOnly, true) => "照合番号Bがロック: カード表面の写真で目視確認(クリニックの方針で許可)",
            (Self::PrintedOnly, false) => "照合番号Bがロック: 検証済みの顔写真がなく目視確認は不可",
            (Self::ForgedChip, _) => "券面データの署名が一致しません(偽造カードの疑い): 目視確認は不可",
        }
    }
}
