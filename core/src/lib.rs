//! Houmon core: the domain model, the encrypted local store, CRDT documents, the audit log,
//! the sync client, the qualification gateway (`sync::gateway`, binary `houmon-gateway`) and
//! the use cases the UI calls. Free of Tauri.
//!
//! Must never: write patient data to disk unencrypted, log patient data, depend on Tauri, or
//! hold a PIN or 個人番号.

pub mod docs;
pub mod error;
pub mod export;
pub mod model;
pub mod policy;
pub mod staff_pin;
pub mod store;
pub mod sync;
pub mod synth;

pub use error::{CoreError, Result, UserMessage};
pub use houmon_keystore as keystore;
/// The qualification domain core builds on (types for qualification queries and answers).
pub use houmon_onshi as onshi;
pub use store::keys::{DataKey, FileFallback, KeyProtection, KeyWrapper, OsKeystore, device_keystore};
pub use store::{Store, StoreOptions};
