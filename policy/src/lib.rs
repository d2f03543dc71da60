//! `houmon-policy`: managed configuration (管理された設定; ARCHITECTURE.md, *Managed
//! configuration*): one settings schema, the platform sources, the precedence Managed > User >
//! Recommended > Default, live reload, and the MDM artifacts.
//!
//! - [`schema`]: the one settings schema, with Japanese and English texts and validation.
//! - [`generate`]: the MDM artifacts in `mdm/` (JSON Schema, Android restrictions, AppConfig,
//!   ADMX/ADML, macOS profile, Linux example, reference pages), all derived from the schema;
//!   the `policy_generated` test writes them (`HOUMON_REGENERATE_MDM=1 cargo test -p
//!   houmon-policy --test policy_generated`) and fails when they drift.
//! - [`sources`]: platform readers (Linux JSON, macOS managed preferences, Windows registry,
//!   the Android/iOS seam).
//! - [`resolve`]: precedence and the view the policy page shows; bad values are ignored and
//!   reported, never fatal.
//! - [`watch`]: live reload.
//! - [`validate`]: checks the MDM artifacts as their consumers (Group Policy, Android, AppConfig
//!   consoles, macOS) read them; nothing that fails is written.
//!
//! What a policy does to the device (enrollment, wipe, purge) is `houmon-device`'s job.
//!
//! Must never: let a bad policy stop the app, show or log a secret setting (the enrollment
//! code), or read patient data.

pub mod generate;
pub mod resolve;
pub mod schema;
pub mod sources;
pub mod validate;
pub mod watch;

pub use resolve::{EffectiveSettings, PolicyEngine, PolicyView, ResolvedSetting, SettingSource, UiLanguage};
pub use schema::{SETTINGS, SettingDef, SettingValue};
pub use sources::{LinuxPolicyDir, MacManagedPreferences, PolicyLevel, PolicySource, PushedManagedConfig};
pub use watch::PolicyWatcher;
