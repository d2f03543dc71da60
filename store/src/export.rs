//! Encrypted exports (書き出し). An export file is
//! `HOUMONX1 | salt(16) | nonce(12) | AES-256-GCM(ciphertext+tag)` with the key derived from a
//! passphrase by PBKDF2-HMAC-SHA256. Nothing is ever written in plaintext, not even a temp file.

use houmon_model::error::{CoreError, Result};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use std::num::NonZeroU32;
use zeroize::Zeroize;

const MAGIC: &[u8; 8] = b"HOUMONX1";
const PBKDF2_ROUNDS: u32 = 600_000;

fn derive(passphrase: &str, salt: &[u8]) -> Result<LessSafeKey> {
    let mut k = [0u8; 32];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(PBKDF2_ROUNDS).ok_or(CoreError::Crypto)?,
        salt,
        passphrase.as_bytes(),
        &mut k,
    );
    let key = UnboundKey::new(&AES_256_GCM, &k).map_err(|_| CoreError::Crypto);
    k.zeroize();
    Ok(LessSafeKey::new(key?))
}

/// Encrypt `plaintext` under a passphrase (at least 12 characters).
pub fn seal_with_passphrase(plaintext: &[u8], passphrase: &str) -> Result<Vec<u8>> {
    if passphrase.chars().count() < 12 {
        return Err(CoreError::InvalidInput { field: "passphrase", reason: "shorter than 12 characters" });
    }
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    rng.fill(&mut salt).map_err(|_| CoreError::Crypto)?;
    rng.fill(&mut nonce).map_err(|_| CoreError::Crypto)?;
    let key = derive(passphrase, &salt)?;
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(MAGIC), &mut buf)
        .map_err(|_| CoreError::Crypto)?;
    let mut out = Vec::with_capacity(8 + 16 + 12 + buf.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    buf.zeroize();
    Ok(out)
}

/// Decrypt an export. A wrong passphrase or a damaged file is [`CoreError::Crypto`].
pub fn open_with_passphrase(sealed: &[u8], passphrase: &str) -> Result<Vec<u8>> {
    if sealed.len() < 8 + 16 + 12 + 16 || &sealed[..8] != MAGIC {
        return Err(CoreError::Crypto);
    }
    let key = derive(passphrase, &sealed[8..24])?;
    let nonce = Nonce::try_assume_unique_for_key(&sealed[24..36]).map_err(|_| CoreError::Crypto)?;
    let mut buf = sealed[36..].to_vec();
    let plain = key.open_in_place(nonce, Aad::from(MAGIC), &mut buf).map_err(|_| CoreError::Crypto)?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let sealed = seal_with_passphrase("カルテ本文".as_bytes(), "correct horse battery").unwrap();
        assert!(!sealed.windows(5).any(|w| w == &"カルテ".as_bytes()[..5]));
        assert_eq!(open_with_passphrase(&sealed, "correct horse battery").unwrap(), "カルテ本文".as_bytes());
        assert!(matches!(open_with_passphrase(&sealed, "wrong horse battery"), Err(CoreError::Crypto)));
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert!(open_with_passphrase(&damaged, "correct horse battery").is_err());
        assert!(seal_with_passphrase(b"x", "short").is_err());
    }
}
