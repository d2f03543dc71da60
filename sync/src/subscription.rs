//! Partial replication (部分同期): which documents a clinician's tablet holds. The rule is
//! sans-IO over the local store: the clinic document, the roster months around today, and the
//! charts of the patients planned for the people who use this device (those who chose a staff
//! PIN on it) from [`WINDOW_BACK_DAYS`] before today to [`WINDOW_AHEAD_DAYS`] after. A device
//! used by office or admin staff, and an admin device, hold the whole clinic.

use chrono::{Duration, NaiveDate};
use houmon_model::StaffRole;
use houmon_model::error::Result;
use houmon_store::Store;
use houmon_sync_proto::Role;

/// Days of past visits whose charts a tablet keeps.
pub const WINDOW_BACK_DAYS: i64 = 7;
/// Days of planned visits whose charts a tablet fetches ahead.
pub const WINDOW_AHEAD_DAYS: i64 = 14;

/// The documents this device should hold on `today` (JST), or `None` for the whole clinic.
pub fn planned_subscription(store: &mut Store, role: Role, today: NaiveDate) -> Result<Option<Vec<String>>> {
    if role == Role::Admin {
        return Ok(None);
    }
    let here = store.staff_on_device()?;
    let staff = store.clinic().map(|c| c.staff).unwrap_or_default();
    let back_office =
        staff.iter().any(|s| here.contains(&s.id) && matches!(s.role, StaffRole::Office | StaffRole::Admin));
    if back_office {
        return Ok(None);
    }
    let (from, to) = (today - Duration::days(WINDOW_BACK_DAYS), today + Duration::days(WINDOW_AHEAD_DAYS));
    let mut months: Vec<String> = [from, today, to].iter().map(|d| houmon_store::month_key(*d)).collect();
    months.dedup();
    let patients = store.patients_planned_for(&here, from, to)?;
    let months: Vec<&str> = months.iter().map(String::as_str).collect();
    Ok(Some(crate::SyncClient::subscription_for(&months, &patients)))
}
