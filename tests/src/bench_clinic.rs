//! `houmon-bench clinic`: a clinic set up from nothing and its back office at size. Founding
//! the clinic (the admin device's enrollment and clinic document) and enrolling the first
//! tablet against the real relay binary on loopback; the visit plan's month view and a year of
//! recurring visits on a synthetic clinic of 1,000 patients and ~3,000 visits a month; and a
//! tablet's first sync of its partial set (部分同期) of one nurse's charts, with its bytes.

use crate::bench_sync::{FAST, RelayProc, SyncDevice, create_clinic_json};
use houmon_model::plan::Recurrence;
use houmon_model::{StaffRole, VisitKind};
use houmon_tablet::admin::{AdminDevice, DeviceRole};
use houmon_tablet::dto::PlanInput;
use houmon_tablet::service::plan;
use houmon_training::ClinicSpec;
use serde_json::json;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2] * 100.0).round() / 100.0
}

/// Run the clinic benchmark in `dir`; one JSON object of figures.
pub fn run(dir: &Path) -> Result<serde_json::Value, String> {
    let e = |e: houmon_tablet::dto::UiError| e.en;
    let db = dir.join("relay.db");
    let founded = create_clinic_json(&db, "bench")?;
    let relay = RelayProc::start(&db, FAST)?;

    // Founding: the first device enrolls with the founding code and writes the clinic.
    eprintln!("clinic: founding and the first tablet");
    let start = Instant::now();
    let mut admin = AdminDevice::open(&dir.join("office"), true).map_err(e)?;
    admin.enroll(&relay.base(), founded["code"].as_str().unwrap_or_default(), "bench-office").map_err(e)?;
    admin.set_clinic("ベンチ在宅クリニック", "3410712362", "", "").map_err(e)?;
    let found_ms = start.elapsed().as_secs_f64() * 1000.0;
    let start = Instant::now();
    let code = admin.create_code(DeviceRole::Member, 1).map_err(e)?.code;
    let mut tablet = SyncDevice::enroll(&dir.join("tablet0"), relay.http(), &code, "bench-tablet")?;
    let rep = tablet.sync()?;
    let first_tablet_ms = start.elapsed().as_secs_f64() * 1000.0;
    let first_tablet_requests = tablet.sync.relay().counters.requests.load(Ordering::Relaxed);
    drop(tablet);

    // The back office at size: an office device holding the synthetic clinic.
    eprintln!("clinic: generating 1,000 patients and ~3,000 visits this month");
    let db2 = dir.join("relay2.db");
    let founded = create_clinic_json(&db2, "bench2")?;
    let relay2 = RelayProc::start(&db2, FAST)?;
    let mut office =
        SyncDevice::enroll(&dir.join("office2"), relay2.http(), founded["code"].as_str().unwrap_or_default(), "o")?;
    let spec = ClinicSpec { visits_per_patient: 2, note_bytes: 256, ..ClinicSpec::full(20_261_208) };
    let clinic = houmon_training::generate(&spec, &mut office.store).map_err(|e| e.to_string())?;
    office.store.set_clock(chrono::Utc::now);
    let month = houmon_store::month_key(spec.today);
    let nurse = clinic.staff.iter().find(|s| s.role == StaffRole::Nurse).ok_or("no nurse")?.id;
    let mut view = Vec::new();
    let mut view_staff = Vec::new();
    let mut rows = 0;
    for _ in 0..21 {
        let t = Instant::now();
        rows = plan::month(&mut office.store, &month, None, None).map_err(e)?.visits.len();
        view.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        plan::month(&mut office.store, &month, Some(&nurse.to_string()), None).map_err(e)?;
        view_staff.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut year = Vec::new();
    let mut year_visits = 0;
    for i in 0..5 {
        let input = PlanInput {
            patient: clinic.patients[i].to_string(),
            staff: vec![nurse.to_string()],
            date: spec.today.to_string(),
            start: "10:00".into(),
            end: "10:30".into(),
            kind: VisitKind::HomeNursing,
            repeat: Recurrence::parse("weekly:tue,fri"),
            until: Some((spec.today + chrono::Duration::days(365)).to_string()),
        };
        let t = Instant::now();
        year_visits = plan::plan(&mut office.store, &office.actor, &input).map_err(e)?.visits.len();
        year.push(t.elapsed().as_secs_f64() * 1000.0);
    }

    // A tablet's first sync of one nurse's charts in the window (7 days back, 14 ahead).
    eprintln!("clinic: uploading the clinic, then a tablet's first partial sync");
    office.sync()?;
    let from = spec.today - chrono::Duration::days(houmon_sync::subscription::WINDOW_BACK_DAYS);
    let to = spec.today + chrono::Duration::days(houmon_sync::subscription::WINDOW_AHEAD_DAYS);
    let patients = office.store.patients_planned_for(&[nurse], from, to).map_err(|e| e.to_string())?;
    let months: Vec<String> = [from, spec.today, to].iter().map(|d| houmon_store::month_key(*d)).collect();
    let months: Vec<&str> = months.iter().map(String::as_str).collect();
    let sub = houmon_sync::SyncClient::subscription_for(&months, &patients);
    let code =
        office.sync.create_enrollment_code(houmon_sync_proto::Role::Member, 3600).map_err(|e| format!("{e:?}"))?;
    let mut tab = SyncDevice::enroll(&dir.join("tablet"), relay2.http(), &code, "t")?;
    tab.sync.set_subscription(&mut tab.store, Some(&sub)).map_err(|e| format!("{e:?}"))?;
    let (b0, r0) = (
        tab.sync.relay().counters.bytes_down.load(Ordering::Relaxed),
        tab.sync.relay().counters.requests.load(Ordering::Relaxed),
    );
    let t = Instant::now();
    let r = tab.sync()?;
    let partial_s = t.elapsed().as_secs_f64();
    let bytes = tab.sync.relay().counters.bytes_down.load(Ordering::Relaxed) - b0;
    let reqs = tab.sync.relay().counters.requests.load(Ordering::Relaxed) - r0;
    let charts =
        tab.store.document_ids().map_err(|e| e.to_string())?.iter().filter(|(d, _)| d.starts_with("chart:")).count();
    if charts != patients.len() || r.rejected > 0 {
        return Err(format!("partial sync incomplete: {charts} of {} charts, {r:?}", patients.len()));
    }
    Ok(json!({
        "found_ms": (found_ms * 10.0).round() / 10.0,
        "first_tablet_ms": (first_tablet_ms * 10.0).round() / 10.0,
        "first_tablet_requests": first_tablet_requests,
        "first_tablet_round_trips": rep.round_trips,
        "month_view_rows": rows,
        "month_view_ms": median_ms(view),
        "month_view_staff_ms": median_ms(view_staff),
        "recurring_year_visits": year_visits,
        "recurring_year_ms": median_ms(year),
        "partial_charts": charts,
        "clinic_charts": clinic.patients.len(),
        "partial_first_sync_s": (partial_s * 1000.0).round() / 1000.0,
        "partial_first_sync_bytes": bytes,
        "partial_first_sync_requests": reqs,
    }))
}
