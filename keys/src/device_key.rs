//! The device signing key (Ed25519): one per device, made at enrollment, kept on disk only
//! wrapped by the keystore (`device-key.json`). The lifecycle creates and erases it; the sync
//! client signs requests and entries with it. Whatever enrolls a device (the tablet's
//! lifecycle, the gateway, a test device) goes through this file, so there is exactly one key.

use crate::{DataKey, FileFallback, KeyProtection, KeyWrapper, write_private};
use houmon_model::DeviceId;
use houmon_model::error::{CoreError, Result};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::Zeroize;

/// The file name inside the app data directory.
pub const DEVICE_KEY_FILE: &str = "device-key.json";

/// The device's Ed25519 key pair (private half in memory only while in use).
pub struct DeviceSigningKey(Ed25519KeyPair);

impl std::fmt::Debug for DeviceSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceSigningKey({})", hex::encode(&self.public_key()[..4]))
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    /// The relay-assigned device id, once enrolled.
    #[serde(default)]
    device_id: Option<DeviceId>,
    /// How the seed is wrapped ([`KeyProtection::label`]). Absent in files written before it
    /// was recorded; those are told apart by the blob (a fallback "blob" is the bare seed).
    #[serde(default)]
    protection: Option<String>,
    wrapped_seed_hex: String,
}

impl DeviceSigningKey {
    /// A new key and its seed (the seed is what gets wrapped and saved).
    pub fn generate() -> Result<(Self, DataKey)> {
        let seed = DataKey::random()?;
        Ok((Self::from_seed(&seed)?, seed))
    }

    pub fn from_seed(seed: &DataKey) -> Result<Self> {
        Ed25519KeyPair::from_seed_unchecked(seed.as_bytes()).map(Self).map_err(|_| CoreError::Crypto)
    }

    pub fn public_key(&self) -> [u8; 32] {
        let mut pk = [0u8; 32];
        pk.copy_from_slice(self.0.public_key().as_ref());
        pk
    }

    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let mut o = [0u8; 64];
        o.copy_from_slice(self.0.sign(msg).as_ref());
        o
    }

    /// Save `seed` wrapped by the keystore (mode 0600).
    pub fn save(path: &Path, wrapper: &dyn KeyWrapper, seed: &DataKey, device_id: Option<DeviceId>) -> Result<()> {
        let mut blob = wrapper.wrap(seed)?;
        let f =
            KeyFile { device_id, protection: Some(wrapper.protection().label()), wrapped_seed_hex: hex::encode(&blob) };
        blob.zeroize();
        let json = serde_json::to_vec_pretty(&f).map_err(|_| CoreError::Crypto)?;
        write_private(path, &json)?;
        Ok(())
    }

    /// Load the key saved at `path` (`None`: no key file) and the device id it was saved with.
    /// A seed still in the unprotected file fallback moves into `wrapper` when that is an OS
    /// keystore (the key itself stays the same, so the relay still knows the device).
    pub fn load(path: &Path, wrapper: &dyn KeyWrapper) -> Result<Option<(Self, Option<DeviceId>)>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let f: KeyFile = serde_json::from_str(&text).map_err(|_| CoreError::WrongKey)?;
        let mut blob = hex::decode(&f.wrapped_seed_hex).map_err(|_| CoreError::WrongKey)?;
        let in_fallback = match &f.protection {
            Some(label) => KeyProtection::from_label(label) == KeyProtection::FileFallback,
            None => blob.len() == 32,
        };
        if in_fallback && matches!(wrapper.protection(), KeyProtection::OsKeystore(_)) {
            let seed = FileFallback.unwrap(&blob);
            blob.zeroize();
            let seed = seed?;
            Self::save(path, wrapper, &seed, f.device_id)?;
            return Ok(Some((Self::from_seed(&seed)?, f.device_id)));
        }
        let seed = wrapper.unwrap(&blob);
        blob.zeroize();
        Ok(Some((Self::from_seed(&seed?)?, f.device_id)))
    }

    /// For devices without a lifecycle (the gateway, the back-office tools, tests): the key in
    /// `path`, created on first use.
    pub fn load_or_create(path: &Path, wrapper: &dyn KeyWrapper) -> Result<Self> {
        if let Some((k, _)) = Self::load(path, wrapper)? {
            return Ok(k);
        }
        let (k, seed) = Self::generate()?;
        Self::save(path, wrapper, &seed, None)?;
        Ok(k)
    }
}
