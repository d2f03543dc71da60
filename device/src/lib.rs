//! `houmon-device`: the device (ARCHITECTURE.md, *Devices and trust*, *Managed configuration*):
//! its lifecycle under managed policy (enrollment, remote wipe, revocation, the offline-data TTL
//! purge) and the sync runner that keeps an enrolled device's store in step with the relay.
//!
//! - [`lifecycle`]: the state machine and what each state keeps on disk.
//! - [`runner`]: the background sync round, its status for the header, and enrollment at the relay.
//!
//! The app's wiring of these with the policy watcher is `houmon_tablet::device::ManagedDevice`.
//!
//! Must never: keep patient data or keys after a wipe, let a bad policy stop the app, or show
//! 最新 while something the device wrote or received is not in step.

pub mod lifecycle;
pub mod runner;

pub use lifecycle::{
    DeviceLifecycle, EnrollmentExchange, LifecycleEvent, LifecycleState, RelayDeviceStatus, WipeReason,
};
