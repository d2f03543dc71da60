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
    /// its photo. The photo is kept only in the reply, never on disk; the view is audited.
    pub fn card_face(&mut self, patient: &str, mut code_b: String) -> Result<CardFace, UiError> {
        let code = VerificationCodeB::parse(&code_b);
        code_b.zeroize();
        let code = code?;
        self.ensure_unlocked()?;
        let p = parse_patient(patient)?;
        let photo = {
            let (t, _) = self.card()?;
            Card::new(t).read_face_photo(&code)
        };
        drop(code);
        let photo = match photo {
            Ok(p) => p,
            Err(CardError::VerificationCodeBBlocked) => {
                // The chip photo is out of reach; staff compare with the photo printed on the
                // card instead (the error says so), which the visual check then allows.
                let target = chart_doc_id(p);
                self.store.record_access(
                    &self.actor,
                    AuditAction::View,
                    &target,
                    "card face locked (目視, printed photo)",
                )?;
                self.face_shown_for = Some(p);
                return Err(CardError::VerificationCodeBBlocked.into());
            }
            Err(e) => return Err(e.into()),
        };
        self.store.record_access(&self.actor, AuditAction::View, &chart_doc_id(p), "card face photo (目視)")?;
        self.face_shown_for = Some(p);
        use base64::Engine;
        Ok(CardFace {
            png_data_url: format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&photo.png)
            ),
            width: photo.width,
            height: photo.height,
        })
    }
}
