//! Secrets typed by a person: the JPKI 利用者証明用 PIN and 照合番号B. Both are zeroized on
//! drop and never appear in Debug output, logs or error text.

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::CardError;

/// The 4-digit 利用者証明用 暗証番号.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AuthPin([u8; 4]);

impl AuthPin {
    /// Accepts exactly 4 ASCII digits (surrounding whitespace, e.g. a newline, is ignored).
    pub fn parse(typed: &str) -> Result<Self, CardError> {
        let t = typed.trim();
        let bytes: [u8; 4] = t.as_bytes().try_into().map_err(|_| CardError::InvalidPinFormat)?;
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(CardError::InvalidPinFormat);
        }
        Ok(Self(bytes))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for AuthPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthPin(****)")
    }
}

/// 照合番号B: 和暦 birth date YYMMDD + card expiry year (西暦 YYYY) + 4-digit security code.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct VerificationCodeB([u8; 14]);

impl VerificationCodeB {
    /// Accepts exactly 14 ASCII digits (whitespace and hyphens between groups are ignored).
    pub fn parse(typed: &str) -> Result<Self, CardError> {
        let digits: Zeroizing<Vec<u8>> =
            Zeroizing::new(typed.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'-').collect());
        let bytes: [u8; 14] = digits.as_slice().try_into().map_err(|_| CardError::InvalidVerificationCodeBFormat)?;
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(CardError::InvalidVerificationCodeBFormat);
        }
        Ok(Self(bytes))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for VerificationCodeB {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerificationCodeB(**************)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_is_four_digits_and_never_printed() {
        let pin = AuthPin::parse("4821\n").unwrap();
        assert_eq!(pin.as_bytes(), b"4821");
        assert!(!format!("{pin:?}").contains("4821"));
        for bad in ["", "123", "12345", "12a4", "１２３４"] {
            assert_eq!(AuthPin::parse(bad).unwrap_err(), CardError::InvalidPinFormat, "{bad:?}");
        }
    }

    #[test]
    fn code_b_accepts_grouped_input_and_is_never_printed() {
        // Reference vector: born 1980-02-17 (昭和55), expiry 2035, code 2285.
        let b = VerificationCodeB::parse("550217-2035-2285").unwrap();
        assert_eq!(b.as_bytes(), b"55021720352285");
        assert!(!format!("{b:?}").contains("5502"));
        assert!(VerificationCodeB::parse("5502172035228").is_err());
    }
}
