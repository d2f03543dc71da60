//! The JPKI AP: the 利用者証明用 certificate, its PIN, and signing with its key.
//! The 署名用 certificate and key are never used (they carry the 基本4情報).

use zeroize::Zeroizing;

use crate::ap::jpki;
use crate::apdu::commands;
use crate::firewall::Ap;
use crate::{AuthPin, Card, CardError, Transport};

/// DER prefix of a SHA-256 DigestInfo; followed by the 32-byte hash it makes 51 bytes.
pub const SHA256_DIGEST_INFO_PREFIX: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];

/// The SHA-256 DigestInfo the card pads (PKCS#1 v1.5 type 1) and signs.
pub fn sha256_digest_info(digest: &[u8; 32]) -> [u8; 51] {
    let mut out = [0u8; 51];
    out[..19].copy_from_slice(&SHA256_DIGEST_INFO_PREFIX);
    out[19..].copy_from_slice(digest);
    out
}

impl<T: Transport> Card<T> {
    /// Selects the JPKI AP; a card without it is not a My Number card.
    pub fn select_jpki(&mut self) -> Result<(), CardError> {
        if self.select_ap(Ap::Jpki)? { Ok(()) } else { Err(CardError::NotMyNumberCard) }
    }

    /// Reads the 利用者証明用 certificate (DER). Needs no PIN.
    pub fn read_auth_certificate(&mut self) -> Result<Vec<u8>, CardError> {
        self.select_jpki()?;
        self.select_ef(jpki::AUTH_CERT, "selecting the certificate")?;
        Ok(self.read_tlv_file("reading the certificate")?.to_vec())
    }

    /// Reads the CA certificate that issued the 利用者証明用 certificate (DER).
    pub fn read_auth_ca_certificate(&mut self) -> Result<Vec<u8>, CardError> {
        self.select_jpki()?;
        self.select_ef(jpki::AUTH_CA_CERT, "selecting the CA certificate")?;
        Ok(self.read_tlv_file("reading the CA certificate")?.to_vec())
    }

    /// Tries left for the 利用者証明用 PIN, without consuming one (0 = blocked; `None` = the
    /// card did not say, which callers treat like the last try: ask before sending).
    pub fn auth_pin_tries(&mut self) -> Result<Option<u8>, CardError> {
        self.select_jpki()?;
        self.select_ef(jpki::AUTH_PIN, "selecting the PIN")?;
        self.tries_left()
    }

    /// VERIFY the 利用者証明用 PIN. One call is one try: never call this in a retry loop.
    pub fn verify_auth_pin(&mut self, pin: &AuthPin) -> Result<(), CardError> {
        self.select_jpki()?;
        self.select_ef(jpki::AUTH_PIN, "selecting the PIN")?;
        let resp = self.exchange(&commands::verify(Some(pin.as_bytes())))?;
        match resp.tries_left() {
            _ if resp.is_ok() => Ok(()),
            Some(0) => Err(CardError::PinBlocked),
            Some(remaining) => Err(CardError::WrongPin { remaining }),
            None if resp.is_blocked() => Err(CardError::PinBlocked),
            None => Err(CardError::UnexpectedStatus { sw: resp.sw, during: "verifying the PIN" }),
        }
    }

    /// Signs a DigestInfo with the 利用者証明用 key (after [`Card::verify_auth_pin`]).
    /// Returns the 256-byte RSA-2048 PKCS#1 v1.5 signature.
    pub fn sign_with_auth_key(&mut self, digest_info: &[u8]) -> Result<Vec<u8>, CardError> {
        self.select_jpki()?;
        self.select_ef(jpki::AUTH_KEY, "selecting the signing key")?;
        let resp = self.exchange(&commands::compute_signature(digest_info))?;
        match resp.sw {
            0x9000 if resp.data.len() == 256 => Ok(resp.data),
            0x9000 => Err(CardError::Malformed("signature is not 256 bytes")),
            sw => Err(CardError::UnexpectedStatus { sw, during: "signing" }),
        }
    }
}

/// What PIN mode produces for a first visit: the certificate and the card's signature.
#[derive(Clone, PartialEq, Eq)]
pub struct PinModeSignature {
    /// 利用者証明用 certificate (DER).
    pub certificate: Vec<u8>,
    /// RSA-2048 PKCS#1 v1.5 signature over the SHA-256 DigestInfo of the digest.
    pub signature: Vec<u8>,
    /// APDUs the sequence took.
    pub apdus: u32,
}

impl std::fmt::Debug for PinModeSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PinModeSignature(cert {} B, sig {} B, {} APDUs)",
            self.certificate.len(),
            self.signature.len(),
            self.apdus
        )
    }
}

/// The PIN-mode sequence (ARCHITECTURE.md, *PIN safety*): certificate, tries left, VERIFY, sign.
///
/// Refuses to send the PIN when it is blocked, or when one try is left (or the card does not
/// say how many) and `confirmed` is false. Never retries: a wrong PIN is returned to the caller.
/// 14 APDUs for a 1.6 KB certificate: SELECT AP, SELECT EF, 7 × READ BINARY,
/// SELECT PIN, VERIFY (tries), VERIFY (PIN), SELECT key, COMPUTE DIGITAL SIGNATURE.
pub fn pin_mode_sign<T: Transport>(
    card: &mut Card<T>,
    pin: &AuthPin,
    digest: &[u8; 32],
    confirmed: bool,
) -> Result<PinModeSignature, CardError> {
    let start = card.apdu_count();
    let certificate = card.read_auth_certificate()?;
    match card.auth_pin_tries()? {
        Some(0) => return Err(CardError::PinBlocked),
        Some(1) if !confirmed => return Err(CardError::LastTryNeedsConfirmation),
        None if !confirmed => return Err(CardError::TriesUnknownNeedsConfirmation),
        _ => {}
    }
    card.verify_auth_pin(pin)?;
    let digest_info = Zeroizing::new(sha256_digest_info(digest));
    let signature = card.sign_with_auth_key(digest_info.as_slice())?;
    Ok(PinModeSignature { certificate, signature, apdus: card.apdu_count() - start })
}
