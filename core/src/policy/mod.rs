//! Managed configuration (管理された設定) and the device lifecycle (ARCHITECTURE decisions 9, 10).
//!
//! - [`schema`]: the one settings schema, with Japanese and English texts and validation.
//! - [`generate`]: the MDM artifacts in `mdm/` (JSON Schema, Android restrictions, AppConfig,
//!   ADMX/ADML, macOS profile, Linux example, reference pages), all derived from the schema.
//! - [`sources`]: platform readers (Linux JSON, macOS managed preferences, Windows registry,
//!   the Android/iOS seam).
//! - [`resolve`]: precedence Managed > User > Recommended > Default and the view the policy
//!   page shows; bad values are ignored and reported, never fatal.
//! - [`watch`]: live reload.
//! - [`lifecycle`]: enrollment, remote wipe, and the offline-data TTL purge.
//! - [`device`]: [`ManagedDevice`], all of the above wired together for the Tauri shell.
//!
//! For the Tauri shell:
//!
//! ```text
//! let sources = sources::platform_sources();            // + PushedManagedConfig on mobile
//! let (device, events) = ManagedDevice::start(app_dir, keystore, sources, Some(relay_exchange),
//!                                              Duration::from_secs(30), Box::new(on_change))?;
//! device.policy_view()            // policy page: PolicyView (value, source, locked, problems)
//! device.status()                 // DeviceStatus: lifecycle state, training, TTL countdown, settings
//! device.set_user_value(k, v)     // Err(Refusal { message_ja, message_en }) when locked/invalid
//! device.enroll(code)             // enrollment screen
//! device.with_store(|s| ...)      // None while not enrolled
//! device.tick()                   // on resume / daily: TTL purge
//! device.sync_succeeded(), device.relay_reports(status)   // from the sync client
//! ```
//!
//! Must never: let a bad policy stop the app, show or log a secret setting (the enrollment
//! code), or keep patient data or keys after a wipe.

pub mod device;
pub mod generate;
pub mod lifecycle;
pub mod resolve;
pub mod schema;
pub mod sources;
pub mod watch;

pub use device::{DeviceStatus, ManagedDevice};
pub use lifecycle::{
    DeviceKeystore, DeviceLifecycle, EnrollmentExchange, LifecycleEvent, LifecycleState, RelayDeviceStatus, WipeReason,
};
pub use resolve::{EffectiveSettings, PolicyEngine, PolicyView, ResolvedSetting, SettingSource};
pub use schema::{SETTINGS, SettingDef, SettingValue};
pub use sources::{LinuxPolicyDir, MacManagedPreferences, PolicyLevel, PolicySource, PushedManagedConfig};
pub use watch::PolicyWatcher;
