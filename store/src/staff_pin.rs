//! Staff sign-in PINs (職員PIN). The enrolled device is the first factor, the PIN the second
//! (ARCHITECTURE.md, *Devices and trust*). Only a salted PBKDF2-HMAC-SHA256 verifier is kept,
//! in the clinic document, so a staff member can sign in on any of the clinic's tablets.
//!
//! Must never: keep or log the PIN itself, or compare verifiers in variable time.

use houmon_model::error::{CoreError, Result};
use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};
use std::num::NonZeroU32;

const ITERATIONS: u32 = 210_000;
const SCHEME: &str = "pbkdf2-sha256";

/// Checks the PIN's shape: 4 to 8 digits.
pub fn validate(pin: &str) -> Result<()> {
    if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(CoreError::InvalidInput { field: "staff_pin", reason: "4 to 8 digits" })
    }
}

/// A new verifier for `pin`: `pbkdf2-sha256$iterations$salt$hash` (hex).
pub fn make_verifier(pin: &str) -> Result<String> {
    validate(pin)?;
    let mut salt = [0u8; 16];
    SystemRandom::new().fill(&mut salt).map_err(|_| CoreError::Crypto)?;
    let mut hash = [0u8; 32];
    let iterations = NonZeroU32::new(ITERATIONS).ok_or(CoreError::Crypto)?;
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, &salt, pin.as_bytes(), &mut hash);
    Ok(format!("{SCHEME}${ITERATIONS}${}${}", hex::encode(salt), hex::encode(hash)))
}

/// Whether `pin` matches `verifier` (constant time; a malformed verifier matches nothing).
pub fn verify(verifier: &str, pin: &str) -> bool {
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
    pbkdf2::verify(pbkdf2::PBKDF2_HMAC_SHA256, iter, &salt, pin.as_bytes(), &hash).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_pin_verifies_a_wrong_one_does_not_and_the_pin_is_not_stored() {
        let v = make_verifier("482913").unwrap();
        assert!(verify(&v, "482913"));
        assert!(!verify(&v, "482914"));
        assert!(!v.contains("482913"));
        assert_ne!(v, make_verifier("482913").unwrap(), "salted");
    }

    #[test]
    fn bad_pins_and_bad_verifiers_are_refused() {
        for bad in ["123", "123456789", "12a4", ""] {
            assert!(make_verifier(bad).is_err(), "{bad}");
        }
        assert!(!verify("", "1234"));
        assert!(!verify("pbkdf2-sha256$0$00$00", "1234"));
        assert!(!verify("md5$1$00$00", "1234"));
    }
}
