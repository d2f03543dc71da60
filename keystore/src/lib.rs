//! `houmon-keystore`: the platform keystore behind one small trait, [`PlatformKeystore`], which
//! seals the app's keys with a secret the OS keeps.
//!
//! The keystore holds (or, for DPAPI, seals) one random 32-byte *wrapping secret* per app
//! profile. Keys the app keeps on disk — the store's data key, the device's signing seed — are
//! sealed with it ([`PlatformKeystore::wrap`], AES-256-GCM) so a copy of the app's files alone
//! opens nothing. [`PlatformKeystore::erase`] deletes the wrapping secret from the keystore,
//! which makes every blob wrapped so far useless (a remote wipe relies on this).
//!
//! | Platform | Keystore | Here |
//! |---|---|---|
//! | Linux desktop | Secret Service (GNOME Keyring, KWallet) over D-Bus | [`SecretServiceKeystore`] |
//! | Windows | DPAPI (user scope); the sealed secret lives in a file | `DpapiKeystore` (cfg(windows)) |
//! | macOS / iOS | Keychain | seam: implement [`PlatformKeystore`] in the shell (see below) |
//! | Android | Android Keystore | seam: implement [`PlatformKeystore`] in the shell (see below) |
//!
//! Keychain and Android Keystore need the app's signing identity (keychain access group,
//! `KeyGenParameterSpec` from Kotlin through the Tauri plugin), which only the shell has and
//! which cannot be tested from this crate: the shell implements [`PlatformKeystore`] there,
//! storing the wrapping secret as a generic-password item (`kSecAttrAccessibleWhenUnlockedThisDeviceOnly`)
//! or using a non-exportable AES key to do `wrap`/`unwrap` itself. [`platform`] returns `None`
//! on those targets so callers fall back (marked) until it exists.
//!
//! No dependency on other Houmon crates: `houmon-keys` adapts this trait to its `KeyWrapper`
//! (`OsKeystore`).
//!
//! Must never: hand out the wrapping secret (callers only `wrap`/`unwrap`/`erase`), write it to
//! disk unsealed, or fall back silently where there is no keystore ([`platform`] returns `None`
//! and the caller chooses the marked fallback).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use std::path::PathBuf;
use zeroize::{Zeroize, Zeroizing};

#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
mod secret_service;
#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
pub use secret_service::SecretServiceKeystore;

#[cfg(windows)]
mod dpapi;
#[cfg(windows)]
pub use dpapi::DpapiKeystore;

/// What went wrong talking to the keystore. Messages name no secret.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The keystore is not there or refused (no D-Bus session, locked keyring, no DPAPI).
    #[error("keystore unavailable: {0}")]
    Unavailable(String),
    /// The keystore holds no wrapping secret for this profile (erased, or another machine).
    #[error("the keystore holds no wrapping secret for this profile")]
    Missing,
    /// A wrapped blob did not open: wrong keystore/profile, or it was altered.
    #[error("wrapped key does not open with this keystore")]
    BadBlob,
    #[error("keystore i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Which wrapping secret: one per app and profile (data directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreConfig {
    /// Reverse-DNS app id, e.g. `jp.houmon.app`. Becomes the Secret Service `service` attribute.
    pub service: String,
    /// Names the profile, e.g. a hash of the data directory or `"default"`.
    pub account: String,
    /// Where a keystore without named entries (DPAPI) keeps its sealed secret.
    pub dir: PathBuf,
}

impl KeystoreConfig {
    pub fn new(service: impl Into<String>, account: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        Self { service: service.into(), account: account.into(), dir: dir.into() }
    }
}

/// A platform keystore that protects the app's wrapping secret.
pub trait PlatformKeystore: Send + Sync + std::fmt::Debug {
    /// Short name, shown to the user and written next to wrapped keys ("secret-service", "dpapi").
    fn name(&self) -> &'static str;
    /// The wrapping secret; created first if `create` (else [`KeystoreError::Missing`]).
    fn wrapping_secret(&self, create: bool) -> Result<Zeroizing<[u8; 32]>, KeystoreError>;
    /// Delete the wrapping secret from the keystore. Idempotent.
    fn erase(&self) -> Result<(), KeystoreError>;

    /// Seal `secret` (e.g. a 32-byte data key) with the wrapping secret.
    fn wrap(&self, secret: &[u8]) -> Result<Vec<u8>, KeystoreError> {
        seal(&*self.wrapping_secret(true)?, self.name(), secret)
    }
    /// Open a blob made by [`Self::wrap`].
    fn unwrap(&self, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        open(&*self.wrapping_secret(false)?, self.name(), blob)
    }
}

/// The keystore of this platform if it is usable right now (a round trip succeeds), else
/// `None`: the caller then uses its clearly marked file fallback.
pub fn platform(config: &KeystoreConfig) -> Option<Box<dyn PlatformKeystore>> {
    detect(config).ok()
}

/// Like [`platform`], with the reason when there is none (for logs and test output).
pub fn detect(config: &KeystoreConfig) -> Result<Box<dyn PlatformKeystore>, KeystoreError> {
    #[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
    {
        let k = SecretServiceKeystore::connect(config)?;
        k.wrapping_secret(true)?;
        Ok(Box::new(k))
    }
    #[cfg(windows)]
    {
        let k = DpapiKeystore::new(config);
        k.wrapping_secret(true)?;
        Ok(Box::new(k))
    }
    #[cfg(not(any(windows, all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))))]
    {
        let _ = config;
        Err(KeystoreError::Unavailable("no keystore binding on this platform yet (shell seam)".into()))
    }
}

const MAGIC: &[u8; 4] = b"HKS1";

/// `HKS1 | 12-byte nonce | AES-256-GCM(secret)`, the keystore's name as associated data.
fn seal(key: &[u8; 32], name: &str, secret: &[u8]) -> Result<Vec<u8>, KeystoreError> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| KeystoreError::BadBlob)?;
    let mut nonce = [0u8; 12];
    random(&mut nonce)?;
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret, aad: name.as_bytes() })
        .map_err(|_| KeystoreError::BadBlob)?;
    let mut out = Vec::with_capacity(4 + 12 + ct.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open(key: &[u8; 32], name: &str, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    if blob.len() < 4 + 12 + 16 || &blob[..4] != MAGIC {
        return Err(KeystoreError::BadBlob);
    }
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| KeystoreError::BadBlob)?;
    cipher
        .decrypt(Nonce::from_slice(&blob[4..16]), Payload { msg: &blob[16..], aad: name.as_bytes() })
        .map(Zeroizing::new)
        .map_err(|_| KeystoreError::BadBlob)
}

/// 32 fresh random bytes for a wrapping secret.
pub(crate) fn fresh_secret() -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    let mut s = Zeroizing::new([0u8; 32]);
    random(&mut s[..])?;
    Ok(s)
}

fn random(buf: &mut [u8]) -> Result<(), KeystoreError> {
    getrandom::fill(buf).map_err(|e| KeystoreError::Unavailable(format!("OS random: {e}")))
}

/// Turn stored bytes into a wrapping secret, wiping the source.
pub(crate) fn secret_from(mut bytes: Vec<u8>) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    let r = <[u8; 32]>::try_from(bytes.as_slice()).map(Zeroizing::new).map_err(|_| KeystoreError::Missing);
    bytes.zeroize();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_blobs_open_only_with_the_same_secret_and_keystore_name() {
        let k = [7u8; 32];
        let blob = seal(&k, "secret-service", b"data key").unwrap();
        assert_eq!(open(&k, "secret-service", &blob).unwrap().as_slice(), b"data key");
        assert!(matches!(open(&[8u8; 32], "secret-service", &blob), Err(KeystoreError::BadBlob)));
        assert!(matches!(open(&k, "dpapi", &blob), Err(KeystoreError::BadBlob)));
        let mut bad = blob.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(matches!(open(&k, "secret-service", &bad), Err(KeystoreError::BadBlob)));
        assert!(matches!(open(&k, "secret-service", b"short"), Err(KeystoreError::BadBlob)));
        // Two seals of the same secret differ (fresh nonce).
        assert_ne!(blob, seal(&k, "secret-service", b"data key").unwrap());
    }
}
