use super::*;

pub(crate) fn staff_locked_out() -> UiError {
    UiError::new(
        AppErrorCode::StaffPinLocked,
        "職員PINを続けて間違えたため、5分間この職員ではサインインできません。時間をおいてから入力してください。",
        "Too many wrong staff PINs: sign-in for this person is locked for 5 minutes. Try again later.",
    )
}

pub(crate) fn validate_staff_pin(pin: &str) -> Result<(), UiError> {
    houmon_store::staff_pin::validate(pin).map_err(|_| {
        UiError::new(
            AppErrorCode::InvalidStaffPin,
            "職員PINは数字4〜8桁です。入力し直してください。",
            "A staff PIN is 4 to 8 digits. Enter it again.",
        )
    })
}

impl Service {
    pub fn lock(&mut self) {
        self.locked = true;
    }

    /// The staff who can sign in on this device (active clinic staff, the signed-in one first).
    pub fn sign_in_staff(&mut self) -> Result<Vec<StaffView>, UiError> {
        let mut staff: Vec<m::Staff> = self.store.clinic()?.staff.into_iter().filter(|s| s.active).collect();
        staff.sort_by_key(|s| (s.id != self.actor.staff, s.name.clone()));
        Ok(staff.into_iter().map(|s| StaffView { id: s.id.to_string(), name: s.name, role: s.role }).collect())
    }

    /// Staff sign-in with a PIN (the enrolled device is the other factor). `staff` None means
    /// the staff member who was signed in. Training mode: a staff member without a PIN of their
    /// own signs in with 0000 (shown on screen). Five wrong PINs lock that staff member out for
    /// five minutes. Every attempt is audited, never with the PIN.
    pub fn unlock(&mut self, staff: Option<&str>, mut pin: String) -> Result<(), UiError> {
        let r = self.check_sign_in(staff, &pin);
        pin.zeroize();
        let (who, ok) = r?;
        let attempt = Actor { staff: who.id, device: self.actor.device };
        if !ok {
            self.store.record_access(&attempt, AuditAction::Open, "session", "unlock refused: wrong staff PIN")?;
            let n = self.pin_failures.entry(who.id).or_insert((0, None));
            n.0 += 1;
            if n.0 >= STAFF_PIN_TRIES {
                *n = (0, Some(std::time::Instant::now() + STAFF_PIN_LOCKOUT));
                return Err(staff_locked_out());
            }
            let left = STAFF_PIN_TRIES - n.0;
            return Err(UiError::new(
                AppErrorCode::WrongStaffPin,
                format!("職員PINが違います。あと{left}回間違えると5分間サインインできなくなります。"),
                format!("Wrong staff PIN. {left} more wrong tries lock sign-in for 5 minutes."),
            ));
        }
        self.pin_failures.remove(&who.id);
        self.apply_settings();
        if who.id != self.actor.staff {
            self.actor.staff = who.id;
            self.staff_name = who.name.clone();
            self.staff_role = who.role;
            self.checks.clear();
        }
        self.locked = false;
        self.store.session_started(&self.actor)?;
        Ok(())
    }

    pub(crate) fn check_sign_in(&mut self, staff: Option<&str>, pin: &str) -> Result<(m::Staff, bool), UiError> {
        let id = match staff {
            Some(s) => StaffId::parse(s).ok_or_else(|| bad_id("職員"))?,
            None => self.actor.staff,
        };
        let who =
            self.store.clinic()?.staff.into_iter().find(|s| s.id == id && s.active).ok_or_else(|| bad_id("職員"))?;
        if let Some((_, Some(until))) = self.pin_failures.get(&id) {
            if std::time::Instant::now() < *until {
                return Err(staff_locked_out());
            }
            self.pin_failures.remove(&id);
        }
        let ok = match self.store.check_staff_pin(id, pin)? {
            Some(ok) => ok,
            None if self.training => pin == TRAINING_STAFF_PIN,
            None => {
                return Err(UiError::new(
                    AppErrorCode::StaffPinNotSet,
                    "この職員の職員PINがまだ設定されていません。事務室(管理者)に設定を依頼してください。",
                    "No staff PIN is set for this person yet. Ask the office (an administrator) to set one.",
                ));
            }
        };
        Ok((who, ok))
    }

    /// Set a staff member's PIN: their own, or anyone's for office and admin staff.
    pub fn set_staff_pin(&mut self, staff: &str, mut pin: String) -> Result<(), UiError> {
        let r = (|| {
            self.ensure_unlocked()?;
            let id = StaffId::parse(staff).ok_or_else(|| bad_id("職員"))?;
            if id != self.actor.staff && !matches!(self.staff_role, m::StaffRole::Office | m::StaffRole::Admin) {
                return Err(UiError::new(
                    AppErrorCode::NotAllowed,
                    "他の職員のPINを設定できるのは事務・管理者だけです。",
                    "Only office staff and administrators can set another person's PIN.",
                ));
            }
            validate_staff_pin(&pin)?;
            self.store.set_staff_pin(&self.actor, id, &pin)?;
            Ok(())
        })();
        pin.zeroize();
        r
    }
}
