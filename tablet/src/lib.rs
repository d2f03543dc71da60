//! The tablet's use cases: what each screen of the UI asks for, one module per use case
//! (first visit, 再照会, notes, vitals, roster, staff and sign-in, settings, gateway requests),
//! over the domain crates, plus the IPC types ([`dto`]) that cross into the UI. Free of Tauri:
//! `src-tauri` turns [`service::Service`] methods into commands; [`admin`] holds the clinic's
//! set-up use cases (enroll, clinic, codes, devices, sync) that `houmon-clinic` runs.
//!
//! Must never: hold a PIN or 照合番号B beyond the call that uses it, write patient data outside
//! the encrypted store, log patient data, or leave a rule to the UI alone (roles, consent and
//! check states are decided here and in the domain crates).

pub mod admin;
pub mod device;
pub mod dto;
pub mod service;

pub use houmon_model::lock;

#[cfg(all(test, feature = "training"))]
mod tests;
