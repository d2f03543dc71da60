//! Staff sign-in, the lock, and staff administration (職員の管理). PINs are chosen per device
//! and never sync (`houmon_store::staff_pin`); an administrator issues one-time set-up codes.

use super::*;
use houmon_store::staff_pin::{PinCheck, SetupScope};

fn staff_locked_out() -> UiError {
    UiError::new(
        AppErrorCode::StaffPinLocked,
        "職員PINを続けて間違えたため、5分間この職員ではサインインできません。時間をおいてから入力してください。",
        "Too many wrong staff PINs: sign-in for this person is locked for 5 minutes. Try again later.",
    )
}

impl Service {
    pub fn lock(&mut self) {
        self.locked = true;
        self.viewing = None;
    }

    /// Fewest digits of a new staff PIN (policy `staffPinMinLength`).
    fn pin_min_digits(&self) -> usize {
        self.effective_settings().staff_pin_min_length
    }

    fn invalid_pin(&self) -> UiError {
        let n = self.pin_min_digits();
        let max = houmon_store::staff_pin::MAX_PIN_DIGITS;
        UiError::new(
            AppErrorCode::InvalidStaffPin,
            format!("職員PINは数字{n}〜{max}桁です。入力し直してください。"),
            format!("A staff PIN is {n} to {max} digits. Enter it again."),
        )
    }

    /// The answer to a PIN check that did not let the person in.
    fn refused(&mut self, who: &m::Staff, check: PinCheck) -> UiError {
        let attempt = Actor { staff: who.id, device: self.actor.device };
        let _ = self.store.record_access(&attempt, AuditAction::Open, "session", "unlock refused");
        match check {
            PinCheck::Wrong { left } => UiError::new(
                AppErrorCode::WrongStaffPin,
                format!("職員PINまたは設定コードが違います。あと{left}回間違えると5分間サインインできなくなります。"),
                format!("Wrong staff PIN or set-up code. {left} more wrong tries lock sign-in for 5 minutes."),
            ),
            PinCheck::LockedOut { .. } => staff_locked_out(),
            PinCheck::NeedsSetup => UiError::new(
                AppErrorCode::StaffPinSetupNeeded,
                "この端末ではまだ職員PINが設定されていません。管理者から受け取った設定コードを入力し、新しいPINを決めてください。",
                "No staff PIN has been chosen on this device yet. Enter the set-up code from your administrator and choose a new PIN.",
            ),
            PinCheck::NoSetupIssued => UiError::new(
                AppErrorCode::StaffPinNotSet,
                "この職員の設定コードがまだ発行されていません。管理者に「PINの設定コード」の発行を依頼してください。",
                "No set-up code has been issued for this person yet. Ask an administrator to issue a PIN set-up code.",
            ),
            PinCheck::SetupExpired => UiError::new(
                AppErrorCode::StaffPinSetupExpired,
                "設定コードの有効期限が切れています。管理者に新しい設定コードの発行を依頼してください。",
                "The set-up code has expired. Ask an administrator for a new one.",
            ),
            PinCheck::Accepted => UiError::new(AppErrorCode::Internal, "内部エラーです。", "Internal error."),
        }
    }

    fn active_staff(&mut self, staff: Option<&str>) -> Result<m::Staff, UiError> {
        let id = match staff {
            Some(s) => StaffId::parse(s).ok_or_else(|| bad_id("職員"))?,
            None => self.actor.staff,
        };
        self.store.clinic()?.staff.into_iter().find(|s| s.id == id && s.active).ok_or_else(|| bad_id("職員"))
    }

    /// The staff who can sign in on this device (active clinic staff, the signed-in one first),
    /// each with whether this device already holds their PIN.
    pub fn sign_in_staff(&mut self) -> Result<Vec<SignInRow>, UiError> {
        let mut staff: Vec<m::Staff> = self.store.clinic()?.staff.into_iter().filter(|s| s.active).collect();
        staff.sort_by_key(|s| (s.id != self.actor.staff, s.kana.clone(), s.name.clone()));
        let mut out = Vec::with_capacity(staff.len());
        for s in staff {
            let pin_on_device = self.store.has_staff_pin(s.id)?;
            out.push(SignInRow { id: s.id.to_string(), name: s.name, role: s.role, pin_on_device });
        }
        Ok(out)
    }

    fn signed_in(&mut self, who: m::Staff) -> Result<(), UiError> {
        self.apply_settings();
        if who.id != self.actor.staff {
            self.actor.staff = who.id;
            self.staff_name = who.name.clone();
            self.staff_role = who.role;
            self.checks.clear();
        }
        self.locked = false;
        self.viewing = None;
        self.last_activity = std::time::Instant::now();
        self.store.session_started(&self.actor)?;
        Ok(())
    }

    /// Staff sign-in with the PIN chosen on this device (the enrolled device is the other
    /// factor). `staff` None means the staff member who was signed in. Training mode: a staff
    /// member without a PIN on this device signs in with 0000 (shown on screen). Five wrong
    /// PINs lock that person out for five minutes, across restarts. Every attempt is audited,
    /// never with the PIN.
    pub fn unlock(&mut self, staff: Option<&str>, mut pin: String) -> Result<(), UiError> {
        let r = (|| {
            let who = self.active_staff(staff)?;
            let check = match self.store.check_staff_pin(who.id, &pin)? {
                // Training: whoever was never given a set-up code signs in with 0000 (on
                // screen); once a code was issued, training behaves as a real clinic.
                PinCheck::NoSetupIssued if self.training => {
                    if pin == TRAINING_STAFF_PIN {
                        PinCheck::Accepted
                    } else {
                        PinCheck::Wrong { left: houmon_store::staff_pin::TRIES }
                    }
                }
                c => c,
            };
            Ok::<_, UiError>((who, check))
        })();
        pin.zeroize();
        let (who, check) = r?;
        if check != PinCheck::Accepted {
            return Err(self.refused(&who, check));
        }
        self.signed_in(who)
    }

    /// Choose a PIN on this device with a set-up code from an administrator, and sign in.
    pub fn choose_staff_pin(&mut self, staff: &str, mut code: String, mut pin: String) -> Result<(), UiError> {
        let r = (|| {
            let who = self.active_staff(Some(staff))?;
            let min = self.pin_min_digits();
            let attempt = Actor { staff: who.id, device: self.actor.device };
            let check = match self.store.choose_staff_pin(&attempt, &code, &pin, min) {
                Err(CoreError::InvalidInput { field: "staff_pin", .. }) => return Err(self.invalid_pin()),
                r => r?,
            };
            Ok((who, check))
        })();
        code.zeroize();
        pin.zeroize();
        let (who, check) = r?;
        if check != PinCheck::Accepted {
            return Err(self.refused(&who, check));
        }
        self.signed_in(who)
    }

    /// On the clinic's admin device while the clinic has no staff: list the first
    /// administrator and choose their PIN here, then sign in as them.
    pub fn found_first_admin(&mut self, name: &str, kana: &str, mut pin: String) -> Result<(), UiError> {
        let r = (|| {
            if !self.is_admin_device()? {
                return Err(not_allowed(m::Permission::ManageClinic));
            }
            let admin = m::Staff {
                id: StaffId::new(),
                name: name.trim().into(),
                kana: kana.trim().into(),
                role: m::StaffRole::Admin,
                qualifications: String::new(),
                active: true,
            };
            let min = self.pin_min_digits();
            match self.store.found_first_admin(self.actor.device, &admin, &pin, min) {
                Err(CoreError::InvalidInput { field: "staff_pin", .. }) => Err(self.invalid_pin()),
                Err(CoreError::InvalidInput { field: "staff", .. }) => Err(UiError::new(
                    AppErrorCode::NotAllowed,
                    "この医療機関にはすでに職員が登録されています。一覧から選んでサインインしてください。",
                    "This clinic already has staff. Choose yourself from the list and sign in.",
                )),
                r => Ok(r.map(|()| admin)?),
            }
        })();
        pin.zeroize();
        self.signed_in(r?)
    }

    /// Whether this is the clinic's admin device (its relay role), and the clinic has no staff yet.
    /// A clinic founded from this device has no clinic document yet: before anyone can sign
    /// in, the person setting it up writes 医療機関名 and 医療機関コード here (then registers
    /// the first administrator). Only on the admin device, only while there is no clinic
    /// document; afterwards changes need an administrator signed in.
    pub fn set_up_clinic(&mut self, name: &str, institution: &str, address: &str, phone: &str) -> Result<(), UiError> {
        let founding = self.store.clinic().is_err();
        if founding {
            if !self.is_admin_device()? {
                return Err(not_allowed(m::Permission::ManageClinic));
            }
        } else {
            self.require(m::Permission::ManageClinic)?;
        }
        let id = self.store.sync_identity()?.ok_or_else(|| {
            UiError::new(AppErrorCode::NotEnrolled, "この端末は未登録です。", "This device is not enrolled.")
        })?;
        let details = crate::admin::ClinicDetails { name, institution, address, phone };
        let clinic = m::ClinicId(uuid::Uuid::from_bytes(id.clinic));
        crate::admin::write_clinic(&mut self.store, &self.actor, clinic, self.actor.device, &details)?;
        let c = self.store.clinic()?;
        self.clinic_name = c.name.clone();
        if let Ok(code) = MedicalInstitutionCode::parse(&c.institution_code) {
            self.institution = code;
        }
        Ok(())
    }

    pub(crate) fn is_admin_device(&mut self) -> Result<bool, UiError> {
        if self.training {
            return Ok(false);
        }
        self.store.prepare_device_state()?;
        Ok(self.store.sync_identity()?.is_some_and(|id| id.role == "admin"))
    }

    /// The clinic's staff for the back office (admins only).
    pub fn staff_list(&mut self) -> Result<Vec<StaffRow>, UiError> {
        self.require(m::Permission::ManageClinic)?;
        let mut staff = self.store.clinic()?.staff;
        staff.sort_by_key(|s| (!s.active, s.kana.clone(), s.name.clone()));
        Ok(staff.into_iter().map(StaffRow::from).collect())
    }

    /// Run a device-management step (端末の管理: codes, the device list, revocation) for an
    /// administrator, on this device's store; audited.
    pub fn manage_devices<T>(
        &mut self,
        detail: &'static str,
        f: impl FnOnce(&mut Store, &Actor) -> Result<T, UiError>,
    ) -> Result<T, UiError> {
        self.require(m::Permission::ManageClinic)?;
        let out = f(&mut self.store, &self.actor)?;
        if !detail.is_empty() {
            let _ = self.store.record_access(&self.actor, AuditAction::Edit, "device", detail);
        }
        Ok(out)
    }

    /// Add a staff member, or edit one (`input.id`). A new member gets a set-up code for their
    /// first PIN, shown once.
    pub fn save_staff(&mut self, input: &StaffInput) -> Result<StaffSaved, UiError> {
        self.require(m::Permission::ManageClinic)?;
        save_staff(&mut self.store, &self.actor, input)
    }

    /// Reset a staff member's PIN (admins only): every PIN they chose before stops working on
    /// every device, and they choose a new one with the code shown here. The administrator
    /// never sets or learns the PIN.
    pub fn reset_staff_pin(&mut self, staff: &str) -> Result<PinSetupView, UiError> {
        self.require(m::Permission::ManageClinic)?;
        reset_staff_pin(&mut self.store, &self.actor, staff)
    }
}

fn find_staff(store: &mut Store, id: &str) -> Result<m::Staff, UiError> {
    let id = StaffId::parse(id).ok_or_else(|| bad_id("職員"))?;
    store.clinic()?.staff.into_iter().find(|s| s.id == id).ok_or_else(|| bad_id("職員"))
}

/// The staff use cases shared by the back office and `houmon-clinic` (callers check the role).
pub(crate) fn save_staff(store: &mut Store, actor: &Actor, input: &StaffInput) -> Result<StaffSaved, UiError> {
    let (name, kana) = (input.name.trim(), input.kana.trim());
    if name.is_empty() || !m::is_katakana_name(kana) {
        return Err(UiError::new(
            AppErrorCode::InvalidInput,
            "氏名とカナ(全角カタカナ)を入力してください。",
            "Enter the name and its reading in katakana.",
        ));
    }
    let existing = match input.id.as_deref() {
        Some(id) => Some(find_staff(store, id)?),
        None => None,
    };
    let staff = m::Staff {
        id: existing.as_ref().map(|s| s.id).unwrap_or_default(),
        name: name.into(),
        kana: kana.into(),
        role: input.role,
        qualifications: input.qualifications.trim().into(),
        active: input.active,
    };
    if staff.id == actor.staff && (!staff.active || staff.role != m::StaffRole::Admin) {
        return Err(UiError::new(
            AppErrorCode::NotAllowed,
            "自分自身の管理者権限や在職を外すことはできません。ほかの管理者に依頼してください。",
            "You cannot remove your own administrator role or deactivate yourself. Ask another administrator.",
        ));
    }
    store.put_staff(actor, &staff)?;
    let setup = match existing {
        None => Some(issue(store, actor, staff.id, SetupScope::Reset)?),
        Some(_) => None,
    };
    Ok(StaffSaved { id: staff.id.to_string(), setup })
}

pub(crate) fn reset_staff_pin(store: &mut Store, actor: &Actor, staff: &str) -> Result<PinSetupView, UiError> {
    let who = find_staff(store, staff)?;
    issue(store, actor, who.id, SetupScope::Reset)
}

fn issue(store: &mut Store, actor: &Actor, staff: StaffId, scope: SetupScope) -> Result<PinSetupView, UiError> {
    let c = store.issue_pin_setup(actor, staff, scope)?;
    Ok(PinSetupView { code: c.code.to_string(), valid_until: iso(c.until) })
}
