//! Linux: the wrapping secret is an item in the user's default Secret Service collection
//! (GNOME Keyring, KWallet), encrypted in transit (DH session) and at rest by the keyring.

use crate::{KeystoreConfig, KeystoreError, PlatformKeystore, fresh_secret, secret_from};
use secret_service::EncryptionType;
use secret_service::blocking::SecretService;
use std::collections::HashMap;
use zeroize::Zeroizing;

const LABEL: &str = "Houmon: wrapping key for the encrypted store (do not delete)";

/// The Secret Service keystore for one app profile.
#[derive(Debug)]
pub struct SecretServiceKeystore {
    service: String,
    account: String,
}

fn unavailable(e: secret_service::Error) -> KeystoreError {
    KeystoreError::Unavailable(format!("Secret Service: {e}"))
}

impl SecretServiceKeystore {
    /// Check that a Secret Service answers on the session bus and its default collection is
    /// unlocked (no prompt is shown: a locked keyring counts as unavailable).
    pub fn connect(config: &KeystoreConfig) -> Result<Self, KeystoreError> {
        let k = Self { service: config.service.clone(), account: config.account.clone() };
        k.with_collection(|_| Ok(()))?;
        Ok(k)
    }

    fn attributes(&self) -> HashMap<&str, &str> {
        HashMap::from([
            ("application", "houmon"),
            ("service", self.service.as_str()),
            ("account", self.account.as_str()),
        ])
    }

    /// A fresh connection per call: calls are rare (app start, enrollment, wipe) and a
    /// restarted keyring daemon is then picked up.
    fn with_collection<T>(
        &self,
        f: impl FnOnce(&secret_service::blocking::Collection<'_>) -> Result<T, KeystoreError>,
    ) -> Result<T, KeystoreError> {
        let ss = SecretService::connect(EncryptionType::Dh).map_err(unavailable)?;
        let collection = ss.get_default_collection().map_err(unavailable)?;
        if collection.is_locked().map_err(unavailable)? {
            return Err(KeystoreError::Unavailable("Secret Service: the default keyring is locked".into()));
        }
        f(&collection)
    }
}

impl PlatformKeystore for SecretServiceKeystore {
    fn name(&self) -> &'static str {
        "secret-service"
    }

    fn wrapping_secret(&self, create: bool) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
        self.with_collection(|c| {
            let items = c.search_items(self.attributes()).map_err(unavailable)?;
            if let Some(item) = items.first() {
                return secret_from(item.get_secret().map_err(unavailable)?);
            }
            if !create {
                return Err(KeystoreError::Missing);
            }
            let secret = fresh_secret()?;
            c.create_item(LABEL, self.attributes(), &secret[..], true, "application/octet-stream")
                .map_err(unavailable)?;
            Ok(secret)
        })
    }

    fn erase(&self) -> Result<(), KeystoreError> {
        self.with_collection(|c| {
            for item in c.search_items(self.attributes()).map_err(unavailable)? {
                item.delete().map_err(unavailable)?;
            }
            Ok(())
        })
    }
}
