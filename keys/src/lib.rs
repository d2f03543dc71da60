//! `houmon-keys`: the app's keys at rest (ARCHITECTURE.md, *Local store*, *Devices and trust*).
//!
//! - The data key ([`DataKey`]): 32 random bytes that encrypt the database (SQLCipher) and
//!   everything else the store writes; [`load_or_create`] keeps it in `datakey.json`.
//! - The device signing key ([`DeviceSigningKey`], Ed25519; [`device_key`]).
//!
//! Both are kept on disk only wrapped ([`KeyWrapper`]): by the OS keystore where there is one
//! ([`OsKeystore`], over `houmon-keystore`: Secret Service, DPAPI; Keychain and Android Keystore
//! through the shell), or — clearly marked — by [`FileFallback`] where there is none
//! ([`device_keystore`] picks). [`DeviceKeystore::erase`] forgets the wrapping secret, which a
//! remote wipe relies on.
//!
//! Must never: write a key to disk unwrapped except as the marked [`FileFallback`], or log or
//! print key bytes.

use houmon_model::error::{CoreError, Result};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::{Zeroize, ZeroizeOnDrop};

pub mod device_key;
pub use device_key::{DEVICE_KEY_FILE, DeviceSigningKey};

/// The database/data encryption key. Zeroized on drop; never logged (no Debug of the bytes).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    /// A fresh key from the OS CSPRNG.
    pub fn random() -> Result<Self> {
        let mut k = [0u8; 32];
        SystemRandom::new().fill(&mut k).map_err(|_| CoreError::Crypto)?;
        Ok(Self(k))
    }
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// How the data key is protected at rest. The UI shows a warning for `FileFallback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyProtection {
    /// Wrapped by an OS keystore (name of the keystore).
    OsKeystore(String),
    /// NOT protected by a keystore: the key sits in a file readable by this user. Only for
    /// machines without a keystore (CI, a Linux box without Secret Service, demo mode).
    FileFallback,
}

const FALLBACK_LABEL: &str = "FILE-FALLBACK-UNPROTECTED";

impl KeyProtection {
    /// How key files record the protection: "os-keystore:<name>" or the fallback's loud label.
    pub fn label(&self) -> String {
        match self {
            KeyProtection::OsKeystore(n) => format!("os-keystore:{n}"),
            KeyProtection::FileFallback => FALLBACK_LABEL.into(),
        }
    }

    pub fn from_label(label: &str) -> Self {
        match label.strip_prefix("os-keystore:") {
            Some(name) => KeyProtection::OsKeystore(name.into()),
            None => KeyProtection::FileFallback,
        }
    }

    /// What the UI shows (Japanese, English).
    pub fn describe(&self) -> (&'static str, &'static str) {
        match self {
            KeyProtection::OsKeystore(_) => {
                ("データ鍵は端末のキーストアで保護されています。", "The data key is protected by the device keystore.")
            }
            KeyProtection::FileFallback => (
                "注意: この端末にはキーストアがないため、データ鍵はファイルに保存されています。実運用では管理された端末を使ってください。",
                "Warning: no keystore on this device, so the data key is stored in a file. Use a managed device in production.",
            ),
        }
    }
}

/// Wraps and unwraps the data key with a platform keystore.
pub trait KeyWrapper {
    fn protection(&self) -> KeyProtection;
    fn wrap(&self, key: &DataKey) -> Result<Vec<u8>>;
    fn unwrap(&self, blob: &[u8]) -> Result<DataKey>;
}

/// The marked fallback where no keystore exists: the "wrapped" blob is the key itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileFallback;

impl KeyWrapper for FileFallback {
    fn protection(&self) -> KeyProtection {
        KeyProtection::FileFallback
    }
    fn wrap(&self, key: &DataKey) -> Result<Vec<u8>> {
        Ok(key.as_bytes().to_vec())
    }
    fn unwrap(&self, blob: &[u8]) -> Result<DataKey> {
        let b: [u8; 32] = blob.try_into().map_err(|_| CoreError::WrongKey)?;
        Ok(DataKey(b))
    }
}

/// A keystore that can also forget its wrapping key (the shell's Android Keystore / Keychain /
/// DPAPI wrapper). Erasing the keystore entry makes every wrapped key on disk useless even if a
/// copy of the files survived on flash.
pub trait DeviceKeystore: KeyWrapper + Send {
    fn erase(&self) -> houmon_model::Result<()>;
}

impl DeviceKeystore for FileFallback {
    /// Nothing to forget: the key lives only in the files the wipe overwrites and deletes.
    fn erase(&self) -> houmon_model::Result<()> {
        Ok(())
    }
}

/// The device's OS keystore (Secret Service, DPAPI; Keychain / Android Keystore through the
/// shell's [`houmon_keystore::PlatformKeystore`]) as a [`KeyWrapper`]. It also serves as the
/// lifecycle's [`crate::DeviceKeystore`]: a wipe erases the keystore entry,
/// after which no wrapped key on disk opens.
#[derive(Debug)]
pub struct OsKeystore {
    inner: Box<dyn houmon_keystore::PlatformKeystore>,
}

impl OsKeystore {
    pub fn new(inner: Box<dyn houmon_keystore::PlatformKeystore>) -> Self {
        Self { inner }
    }

    /// This platform's keystore if it is usable now, else `None`.
    pub fn detect(config: &houmon_keystore::KeystoreConfig) -> Option<Self> {
        houmon_keystore::platform(config).map(Self::new)
    }
}

/// The keystore to give the device lifecycle (and so the store): the OS keystore where one is
/// usable, else the clearly marked [`FileFallback`] (the UI warns via [`KeyProtection`]).
pub fn device_keystore(config: &houmon_keystore::KeystoreConfig) -> Box<dyn crate::DeviceKeystore> {
    match OsKeystore::detect(config) {
        Some(k) => Box::new(k),
        None => Box::new(FileFallback),
    }
}

fn keystore_error(e: houmon_keystore::KeystoreError) -> CoreError {
    match e {
        // Erased (wiped) or another device's/profile's blob: the key cannot be had.
        houmon_keystore::KeystoreError::Missing | houmon_keystore::KeystoreError::BadBlob => CoreError::WrongKey,
        houmon_keystore::KeystoreError::Unavailable(_) | houmon_keystore::KeystoreError::Io(_) => CoreError::Crypto,
    }
}

impl KeyWrapper for OsKeystore {
    fn protection(&self) -> KeyProtection {
        KeyProtection::OsKeystore(self.inner.name().to_string())
    }
    fn wrap(&self, key: &DataKey) -> Result<Vec<u8>> {
        self.inner.wrap(key.as_bytes()).map_err(keystore_error)
    }
    fn unwrap(&self, blob: &[u8]) -> Result<DataKey> {
        let plain = self.inner.unwrap(blob).map_err(keystore_error)?;
        let b: [u8; 32] = plain.as_slice().try_into().map_err(|_| CoreError::WrongKey)?;
        Ok(DataKey(b))
    }
}

impl crate::DeviceKeystore for OsKeystore {
    /// Deletes the keystore's wrapping secret: every key wrapped with it is useless afterwards.
    fn erase(&self) -> Result<()> {
        self.inner.erase().map_err(keystore_error)
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    /// "os-keystore:<name>" or "FILE-FALLBACK-UNPROTECTED".
    protection: String,
    warning: String,
    wrapped_hex: String,
}

pub const KEY_FILE: &str = "datakey.json";

/// Load the wrapped data key from `dir`, or create and store a new random one.
pub fn load_or_create(dir: &Path, wrapper: &dyn KeyWrapper) -> Result<(DataKey, KeyProtection)> {
    let path = dir.join(KEY_FILE);
    let protection = wrapper.protection();
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        let kf: KeyFile = serde_json::from_str(&text).map_err(|_| CoreError::WrongKey)?;
        let stored = KeyProtection::from_label(&kf.protection);
        let mut blob = hex::decode(&kf.wrapped_hex).map_err(|_| CoreError::WrongKey)?;
        if stored == KeyProtection::FileFallback && matches!(protection, KeyProtection::OsKeystore(_)) {
            // A keystore became available (or the app gained one): move the unprotected key
            // into it. The key itself does not change, so the database needs no re-keying.
            let key = FileFallback.unwrap(&blob);
            blob.zeroize();
            let key = key?;
            write_key_file(&path, wrapper, &key)?;
            return Ok((key, protection));
        }
        let key = wrapper.unwrap(&blob);
        blob.zeroize();
        return Ok((key?, stored));
    }
    let key = DataKey::random()?;
    write_key_file(&path, wrapper, &key)?;
    Ok((key, protection))
}

fn write_key_file(path: &Path, wrapper: &dyn KeyWrapper, key: &DataKey) -> Result<()> {
    let protection = wrapper.protection();
    let mut blob = wrapper.wrap(key)?;
    let kf = KeyFile {
        protection: protection.label(),
        warning: match &protection {
            KeyProtection::OsKeystore(_) => String::new(),
            KeyProtection::FileFallback => {
                "No OS keystore: this key is NOT wrapped. Anyone who can read this file can read the store.".into()
            }
        },
        wrapped_hex: hex::encode(&blob),
    };
    blob.zeroize();
    let json = serde_json::to_string_pretty(&kf).map_err(|_| CoreError::Crypto)?;
    write_private(path, json.as_bytes())
}

/// Write a file readable only by this user, durably (write temp, fsync, rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    // Make the rename itself durable.
    if let Some(Ok(d)) = path.parent().map(std::fs::File::open) {
        let _ = d.sync_all();
    }
    Ok(())
}
