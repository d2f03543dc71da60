//! Houmon core: the domain model, the encrypted local store, CRDT documents, the audit log,
//! the sync client and the use cases the UI calls. Free of Tauri.
//!
//! Filled by the core-store issue. Must never: write patient data to disk unencrypted,
//! depend on Tauri, or hold a PIN or 個人番号.
