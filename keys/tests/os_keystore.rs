//! The store's data key and the device signing key wrapped by the real OS keystore (Secret
//! Service here): keys left in the file fallback move into the keystore, and erasing the
//! keystore entry (a wipe) leaves the database unopenable. SKIPPED without a keystore unless
//! `HOUMON_REQUIRE_KEYSTORE=1`.

use houmon_keys::DeviceKeystore;
use houmon_keys::{DEVICE_KEY_FILE, DeviceSigningKey};
use houmon_keys::{DataKey, FileFallback, KeyProtection, OsKeystore};
use houmon_keystore::KeystoreConfig;
use houmon_model::CoreError;
use houmon_model::*;
use houmon_store::Store;
use std::path::Path;

/// A fresh keystore entry of this platform, or `None` (test skipped) where there is none.
fn keystore(dir: &Path) -> Option<OsKeystore> {
    let cfg = KeystoreConfig::new("jp.houmon.test", format!("core-{}", uuid::Uuid::new_v4()), dir);
    match houmon_keystore::detect(&cfg) {
        Ok(k) => Some(OsKeystore::new(k)),
        Err(e) => {
            if std::env::var("HOUMON_REQUIRE_KEYSTORE").as_deref() == Ok("1") {
                panic!("HOUMON_REQUIRE_KEYSTORE=1 but no platform keystore: {e}");
            }
            println!("SKIPPED: no platform keystore here ({e})");
            None
        }
    }
}

#[test]
fn data_key_moves_into_the_keystore_and_erase_locks_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let Some(ks) = keystore(dir.path()) else { return };
    let a = Actor { staff: StaffId::new(), device: DeviceId::new() };
    let store_dir = dir.path().join("store");
    let p = {
        let mut s = Store::open(&store_dir, &FileFallback).unwrap();
        assert_eq!(s.key_protection(), &KeyProtection::FileFallback);
        s.register_patient(&a, &Demographics { name: "鍵 太郎".into(), ..Default::default() }).unwrap()
    };
    let raw_key_file = std::fs::read_to_string(store_dir.join("datakey.json")).unwrap();
    {
        let mut s = Store::open(&store_dir, &ks).unwrap();
        assert!(matches!(s.key_protection(), KeyProtection::OsKeystore(n) if n == "secret-service" || n == "dpapi"));
        assert_eq!(s.open_chart(&a, p).unwrap().demographics.name, "鍵 太郎");
    }
    let wrapped_key_file = std::fs::read_to_string(store_dir.join("datakey.json")).unwrap();
    assert_ne!(raw_key_file, wrapped_key_file);
    assert!(wrapped_key_file.contains("os-keystore"), "{wrapped_key_file}");
    // The old unprotected hex key is gone from the file.
    let old_hex: serde_json::Value = serde_json::from_str(&raw_key_file).unwrap();
    assert!(!wrapped_key_file.contains(old_hex["wrapped_hex"].as_str().unwrap()));
    // Reopens with the keystore; the file fallback cannot open it any more.
    drop(Store::open(&store_dir, &ks).unwrap());
    assert!(matches!(Store::open(&store_dir, &FileFallback).unwrap_err(), CoreError::WrongKey));
    // Wipe: the keystore forgets its secret and the store stays shut.
    ks.erase().unwrap();
    assert!(matches!(Store::open(&store_dir, &ks).unwrap_err(), CoreError::WrongKey));
}

#[test]
fn device_key_left_in_the_fallback_moves_into_the_keystore() {
    let dir = tempfile::tempdir().unwrap();
    let Some(ks) = keystore(dir.path()) else { return };
    let path = dir.path().join(DEVICE_KEY_FILE);
    // A key file as enrolled devices wrote it before the protection was recorded: the bare seed.
    let seed = DataKey::random().unwrap();
    let public = DeviceSigningKey::from_seed(&seed).unwrap().public_key();
    let device = DeviceId::new();
    let legacy = serde_json::json!({ "device_id": device, "wrapped_seed_hex": hex::encode(seed.as_bytes()) });
    std::fs::write(&path, legacy.to_string()).unwrap();

    let (key, id) = DeviceSigningKey::load(&path, &ks).unwrap().unwrap();
    assert_eq!(key.public_key(), public, "the same key: the relay still knows this device");
    assert_eq!(id, Some(device));
    let moved = std::fs::read_to_string(&path).unwrap();
    assert!(!moved.contains(&hex::encode(seed.as_bytes())), "the bare seed is gone from the file");
    assert!(moved.contains("os-keystore:"), "{moved}");
    // From now on only the keystore opens it.
    assert_eq!(DeviceSigningKey::load(&path, &ks).unwrap().unwrap().0.public_key(), public);
    assert!(matches!(DeviceSigningKey::load(&path, &FileFallback).unwrap_err(), CoreError::WrongKey));
}
