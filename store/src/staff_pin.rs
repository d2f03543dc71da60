//! Staff sign-in PINs (職員PIN). The enrolled device is the first factor, the PIN the second
//! (ARCHITECTURE.md, *Devices and trust*).
//!
//! A PIN is chosen on each device and its salted PBKDF2 verifier stays in that device's
//! encrypted store, with the wrong-PIN count and the lock-out end (so the lock-out survives a
//! restart). Nothing a member device syncs lets it guess a PIN offline: the clinic document
//! holds only the *set-up* ([`PinSetup`]): a verifier of a long random one-time code (~60 bits)
//! that an administrator hands to the staff member, who redeems it on a device by choosing a
//! PIN there. A reset writes a new set-up, which voids every PIN chosen before it on every
//! device. The administrator never learns the PIN.
//!
//! Must never: keep or log a PIN or a set-up code, sync a PIN verifier, or compare verifiers in
//! variable time.

use super::{Audit, CLINIC_DOC_ID, DocKind, Store};
use crate::audit::AuditAction;
use chrono::{DateTime, Duration, Utc};
use houmon_docs::ClinicDoc;
use houmon_model::error::{CoreError, Result};
use houmon_model::{Actor, PinSetup, Staff, StaffId};
use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{OptionalExtension, params};
use std::num::NonZeroU32;
use zeroize::{Zeroize, Zeroizing};

const ITERATIONS: u32 = 210_000;
const SCHEME: &str = "pbkdf2-sha256";
/// The longest PIN (the shortest is the policy's `staffPinMinLength`).
pub const MAX_PIN_DIGITS: usize = 12;
/// Wrong PINs or set-up codes in a row before sign-in for that person locks.
pub const TRIES: u32 = 5;
/// How long the lock-out lasts.
pub const LOCKOUT: Duration = Duration::minutes(5);
/// How long a set-up code can be redeemed.
pub const SETUP_VALID: Duration = Duration::days(7);
/// Crockford base32 (no I, L, O, U): 12 characters are 60 random bits.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_CHARS: usize = 12;

/// Checks the PIN's shape: `min_digits` to [`MAX_PIN_DIGITS`] digits.
pub fn validate(pin: &str, min_digits: usize) -> Result<()> {
    if (min_digits..=MAX_PIN_DIGITS).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(CoreError::InvalidInput { field: "staff_pin", reason: "digits, policy length" })
    }
}

/// A new verifier for a secret: `pbkdf2-sha256$iterations$salt$hash` (hex).
fn make_verifier(secret: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    SystemRandom::new().fill(&mut salt).map_err(|_| CoreError::Crypto)?;
    let mut hash = [0u8; 32];
    let iterations = NonZeroU32::new(ITERATIONS).ok_or(CoreError::Crypto)?;
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, &salt, secret.as_bytes(), &mut hash);
    Ok(format!("{SCHEME}${ITERATIONS}${}${}", hex::encode(salt), hex::encode(hash)))
}

/// Whether `secret` matches `verifier` (constant time; a malformed or empty verifier matches
/// nothing).
fn verify(verifier: &str, secret: &str) -> bool {
    let mut parts = verifier.split('$');
    let (Some(SCHEME), Some(iter), Some(salt), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(iter), Ok(salt), Ok(hash)) =
        (iter.parse().ok().and_then(NonZeroU32::new), hex::decode(salt), hex::decode(hash))
    else {
        return false;
    };
    pbkdf2::verify(pbkdf2::PBKDF2_HMAC_SHA256, iter, &salt, secret.as_bytes(), &hash).is_ok()
}

/// A fresh one-time set-up code, shown as `XXXX-XXXX-XXXX`.
fn new_setup_code() -> Result<Zeroizing<String>> {
    let mut bytes = [0u8; CODE_CHARS];
    SystemRandom::new().fill(&mut bytes).map_err(|_| CoreError::Crypto)?;
    let mut code = Zeroizing::new(String::with_capacity(CODE_CHARS + 2));
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i.is_multiple_of(4) {
            code.push('-');
        }
        code.push(CODE_ALPHABET[usize::from(b & 31)] as char);
    }
    bytes.zeroize();
    Ok(code)
}

/// A typed code as it was issued: case, spaces and hyphens ignored, and the letters people
/// misread (O, I, L) read as the digits Crockford base32 means.
fn normalise_code(typed: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(CODE_CHARS + 2));
    for c in typed.chars().filter(|c| c.is_ascii_alphanumeric()) {
        if !out.is_empty() && (out.len() + 1).is_multiple_of(5) {
            out.push('-');
        }
        out.push(match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        });
    }
    out
}

/// A set-up code as issued: shown once to the administrator, never stored.
pub struct SetupCode {
    pub code: Zeroizing<String>,
    pub until: DateTime<Utc>,
}

impl std::fmt::Debug for SetupCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupCode").field("until", &self.until).finish_non_exhaustive()
    }
}

/// What a new set-up does to PINs already chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupScope {
    /// PINリセット: every PIN chosen before is void on every device.
    Reset,
    /// ほかの端末用: PINs already chosen stay valid; the code sets one up on another device.
    AnotherDevice,
}

/// What a sign-in or PIN choice found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCheck {
    Accepted,
    /// Wrong PIN (or set-up code); `left` more tries before the lock-out.
    Wrong {
        left: u32,
    },
    LockedOut {
        until: DateTime<Utc>,
    },
    /// No PIN chosen on this device for the set-up in force: redeem a set-up code here.
    NeedsSetup,
    /// No set-up code has been issued for this person (an administrator issues one).
    NoSetupIssued,
    /// The set-up code has expired (an administrator issues a new one).
    SetupExpired,
}

/// The device-local sign-in record of one staff member.
#[derive(Default)]
struct Local {
    setup_id: String,
    verifier: String,
    failures: u32,
    locked_until: i64,
}

impl Store {
    fn sign_in_record(&self, staff: StaffId) -> Result<Local> {
        Ok(self
            .conn
            .query_row(
                "SELECT setup_id, verifier, failures, locked_until FROM staff_sign_in WHERE staff = ?1",
                [staff.to_string()],
                |r| {
                    Ok(Local { setup_id: r.get(0)?, verifier: r.get(1)?, failures: r.get(2)?, locked_until: r.get(3)? })
                },
            )
            .optional()?
            .unwrap_or_default())
    }

    fn save_sign_in_record(&self, staff: StaffId, l: &Local) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO staff_sign_in(staff, setup_id, verifier, failures, locked_until)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![staff.to_string(), l.setup_id, l.verifier, l.failures, l.locked_until],
        )?;
        Ok(())
    }

    fn pin_setup(&mut self, staff: StaffId) -> Result<Option<PinSetup>> {
        self.read_doc::<ClinicDoc, _>(CLINIC_DOC_ID, "clinic", |c| c.pin_setup(staff))
    }

    /// A wrong PIN or code: count it, and lock out at [`TRIES`] (durably, before answering).
    fn failed_try(&self, staff: StaffId, mut l: Local) -> Result<PinCheck> {
        l.failures += 1;
        let answer = if l.failures >= TRIES {
            let until = self.now() + LOCKOUT;
            l.failures = 0;
            l.locked_until = until.timestamp_millis();
            PinCheck::LockedOut { until }
        } else {
            PinCheck::Wrong { left: TRIES - l.failures }
        };
        self.save_sign_in_record(staff, &l)?;
        Ok(answer)
    }

    fn locked_out(&self, l: &Local) -> Option<PinCheck> {
        let until = DateTime::from_timestamp_millis(l.locked_until)?;
        (self.now() < until).then_some(PinCheck::LockedOut { until })
    }

    /// Check a staff member's PIN on this device.
    pub fn check_staff_pin(&mut self, staff: StaffId, pin: &str) -> Result<PinCheck> {
        let l = self.sign_in_record(staff)?;
        if let Some(locked) = self.locked_out(&l) {
            return Ok(locked);
        }
        let Some(setup) = self.pin_setup(staff)? else {
            return Ok(PinCheck::NoSetupIssued);
        };
        if l.verifier.is_empty() || l.setup_id != setup.id {
            return Ok(PinCheck::NeedsSetup);
        }
        if verify(&l.verifier, pin) {
            if l.failures > 0 || l.locked_until > 0 {
                self.save_sign_in_record(staff, &Local { failures: 0, locked_until: 0, ..l })?;
            }
            Ok(PinCheck::Accepted)
        } else {
            self.failed_try(staff, l)
        }
    }

    /// Whether this device holds a valid PIN for the staff member (no key stretching).
    /// The staff who chose a PIN on this device (whatever its state): the people this device
    /// is used by, which is what partial replication (部分同期) follows.
    pub fn staff_on_device(&self) -> Result<Vec<StaffId>> {
        let mut stmt = self.conn.prepare("SELECT staff FROM staff_sign_in WHERE verifier <> '' ORDER BY staff")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(id) = StaffId::parse(&r?) {
                out.push(id);
            }
        }
        Ok(out)
    }

    pub fn has_staff_pin(&mut self, staff: StaffId) -> Result<bool> {
        let l = self.sign_in_record(staff)?;
        Ok(!l.verifier.is_empty() && self.pin_setup(staff)?.is_some_and(|s| s.id == l.setup_id))
    }

    /// Issue a set-up code for a staff member (an administrator's act, audited without the
    /// code). [`SetupScope::Reset`] voids every PIN chosen before.
    pub fn issue_pin_setup(&mut self, actor: &Actor, staff: StaffId, scope: SetupScope) -> Result<SetupCode> {
        let now = self.now();
        let code = new_setup_code()?;
        let id = match (scope, self.pin_setup(staff)?) {
            (SetupScope::AnotherDevice, Some(current)) => current.id,
            _ => uuid::Uuid::new_v4().to_string(),
        };
        let setup = PinSetup { id, code_verifier: make_verifier(&code)?, until: now + SETUP_VALID, by: actor.staff };
        let detail = match scope {
            SetupScope::Reset => "staff pin reset",
            SetupScope::AnotherDevice => "staff pin code for another device",
        };
        self.doc_op::<ClinicDoc, ()>(
            CLINIC_DOC_ID,
            DocKind::Clinic,
            None,
            |c| c.set_pin_setup(staff, &setup, now),
            Audit { actor, action: AuditAction::Edit, target: format!("staff:{staff}"), detail },
            |_, _, _| Ok(()),
        )?;
        Ok(SetupCode { code, until: setup.until })
    }

    /// Redeem a set-up code on this device by choosing a PIN. A wrong code counts as a wrong
    /// PIN; the PIN's shape is checked first (a typo there costs no try).
    /// `actor` is the staff member on this device.
    pub fn choose_staff_pin(&mut self, actor: &Actor, code: &str, pin: &str, min_digits: usize) -> Result<PinCheck> {
        validate(pin, min_digits)?;
        let staff = actor.staff;
        let l = self.sign_in_record(staff)?;
        if let Some(locked) = self.locked_out(&l) {
            return Ok(locked);
        }
        let Some(setup) = self.pin_setup(staff)? else {
            return Ok(PinCheck::NoSetupIssued);
        };
        if !verify(&setup.code_verifier, &normalise_code(code)) {
            return self.failed_try(staff, l);
        }
        if self.now() > setup.until {
            return Ok(PinCheck::SetupExpired);
        }
        let record = Local { setup_id: setup.id, verifier: make_verifier(pin)?, failures: 0, locked_until: 0 };
        self.save_sign_in_record(staff, &record)?;
        self.record_access(actor, AuditAction::Edit, &format!("staff:{staff}"), "staff pin chosen on this device")?;
        Ok(PinCheck::Accepted)
    }

    /// The founding administrator (最初の管理者): listed, with a PIN chosen on this device, in
    /// one transaction. Only while the clinic has no staff at all (the caller checks that this
    /// is the clinic's admin device); no set-up code exists for it, so no other device can
    /// choose this person's PIN.
    pub fn found_first_admin(
        &mut self,
        device: houmon_model::DeviceId,
        admin: &Staff,
        pin: &str,
        min_digits: usize,
    ) -> Result<()> {
        validate(pin, min_digits)?;
        if !self.clinic()?.staff.is_empty() {
            return Err(CoreError::InvalidInput { field: "staff", reason: "the clinic already has staff" });
        }
        let now = self.now();
        let setup =
            PinSetup { id: uuid::Uuid::new_v4().to_string(), code_verifier: String::new(), until: now, by: admin.id };
        let record = Local { setup_id: setup.id.clone(), verifier: make_verifier(pin)?, failures: 0, locked_until: 0 };
        let actor = Actor { staff: admin.id, device };
        self.doc_op::<ClinicDoc, ()>(
            CLINIC_DOC_ID,
            DocKind::Clinic,
            None,
            |c| {
                c.put_staff(admin, now)?;
                c.set_pin_setup(admin.id, &setup, now)
            },
            Audit {
                actor: &actor,
                action: AuditAction::Edit,
                target: format!("staff:{}", admin.id),
                detail: "first administrator",
            },
            |tx, _, _| {
                tx.execute(
                    "INSERT OR REPLACE INTO staff_sign_in(staff, setup_id, verifier, failures, locked_until)
                     VALUES (?1, ?2, ?3, 0, 0)",
                    params![admin.id.to_string(), record.setup_id, record.verifier],
                )?;
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_secret_verifies_a_wrong_one_does_not_and_the_secret_is_not_stored() {
        let v = make_verifier("482913").unwrap();
        assert!(verify(&v, "482913"));
        assert!(!verify(&v, "482914"));
        assert!(!v.contains("482913"));
        assert_ne!(v, make_verifier("482913").unwrap(), "salted");
    }

    #[test]
    fn pins_follow_the_length_policy_and_bad_verifiers_match_nothing() {
        for bad in ["12345", "1234567890123", "12a456", ""] {
            assert!(validate(bad, 6).is_err(), "{bad}");
        }
        validate("123456", 6).unwrap();
        validate("1234", 4).unwrap();
        assert!(validate("1234", 6).is_err(), "the policy's minimum, not the old 4");
        for v in ["", "pbkdf2-sha256$0$00$00", "md5$1$00$00"] {
            assert!(!verify(v, "1234"));
            assert!(!verify(v, ""));
        }
    }

    #[test]
    fn set_up_codes_are_long_random_and_typed_loosely() {
        let a = new_setup_code().unwrap();
        assert_eq!(a.len(), 14, "{}", *a);
        assert!(a.chars().all(|c| c == '-' || CODE_ALPHABET.contains(&(c as u8))));
        assert_ne!(*a, *new_setup_code().unwrap());
        assert_eq!(*normalise_code(&a.to_lowercase().replace('-', " ")), *a);
        assert_eq!(*normalise_code("o1il-0000-abcd"), "0111-0000-ABCD");
    }
}
