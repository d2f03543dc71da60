//! Houmon's Tauri 2 shell: commands and window glue only. Each command calls one
//! [`houmon_tablet::service::Service`] method; all logic lives in `houmon-tablet` and the
//! domain crates below it.
//!
//! Security posture: strict CSP (tauri.conf.json), no remote content, no plugins, and one
//! capability granting exactly the commands in [`command_list::COMMANDS`].
//!
//! Must never: hold a PIN beyond the command that uses it, write patient data outside the
//! encrypted store, or log patient data.

pub mod command_list;

use houmon_tablet::lock as locked;
use houmon_tablet::{device, dto};

use dto::*;
use houmon_tablet::service::{Service, ServiceOptions};
use std::sync::{Condvar, Mutex};
use tauri::ipc::Channel;
use tauri::{Manager, State};

/// The service. The store is opened on a background thread at start-up, so the window paints
/// at once; commands wait for it (`Err` keeps the reason to show instead of the app).
#[derive(Debug, Default)]
pub struct AppState {
    service: Mutex<Option<Result<Service, UiError>>>,
    ready: Condvar,
    /// A managed (enrolled or enrolling) device; `None` in 訓練モード (`device.rs`).
    device: Mutex<Option<std::sync::Arc<device::ManagedDevice>>>,
    /// When the last command finished: store upkeep waits for a pause.
    last_command: Mutex<Option<std::time::Instant>>,
}

impl AppState {
    fn set(&self, s: Result<Service, UiError>) {
        *locked(&self.service) = Some(s);
        self.ready.notify_all();
    }
}

type Res<T> = Result<T, UiError>;

fn managed(state: &State<'_, AppState>) -> Option<std::sync::Arc<device::ManagedDevice>> {
    locked(&state.device).clone()
}

fn with<T>(state: &State<'_, AppState>, f: impl FnOnce(&mut Service) -> Res<T>) -> Res<T> {
    let mut guard = locked(&state.service);
    while guard.is_none() {
        guard = state.ready.wait(guard).unwrap_or_else(|e| e.into_inner());
    }
    let r = match guard.as_mut() {
        Some(Ok(svc)) => f(svc),
        Some(Err(e)) => Err(e.clone()),
        None => Err(UiError::new(AppErrorCode::Starting, "起動中です。", "Starting.")),
    };
    *locked(&state.last_command) = Some(std::time::Instant::now());
    r
}

/// Store upkeep (compaction, WAL checkpoints) once the user pauses for a second, so it never
/// sits inside an acknowledged save. Never waits for the service: a busy one is skipped.
fn upkeep_loop(handle: tauri::AppHandle) {
    const PAUSE: std::time::Duration = std::time::Duration::from_secs(1);
    loop {
        std::thread::sleep(PAUSE);
        let st = handle.state::<AppState>();
        let idle = locked(&st.last_command).is_none_or(|t| t.elapsed() >= PAUSE);
        if !idle {
            continue;
        }
        if let Ok(mut guard) = st.service.try_lock()
            && let Some(Ok(svc)) = guard.as_mut()
        {
            svc.idle_upkeep();
        }
    }
}

#[tauri::command(async)]
fn app_info<R: tauri::Runtime>(window: tauri::WebviewWindow<R>, state: State<'_, AppState>) -> Res<AppInfo> {
    let dev = managed(&state);
    with(&state, |s| {
        s.refresh_after_sync();
        Ok(s.app_info())
    })
    .map(|mut i| {
        if let Some(d) = dev {
            i.sync = d.status();
        }
        // Policy `screenshotProtection`: the window starts protected (tauri.conf.json) and
        // follows the policy from here. Windows and macOS honour it; Linux (X11/Wayland) has
        // no such control, so there it does nothing (mdm/README.md says so).
        let _ = window.set_content_protected(i.screenshot_protection);
        i
    })
}
/// The header's sync indicator; never waits on the store or the network.
#[tauri::command(async)]
fn sync_status(state: State<'_, AppState>) -> Res<SyncStatus> {
    Ok(managed(&state).map(|d| d.status()).unwrap_or_else(device::training_status))
}
/// The enrollment screen: redeem a one-time code at the policy's relay.
#[tauri::command(async)]
fn enroll(state: State<'_, AppState>, code: String) -> Res<SyncStatus> {
    let d = managed(&state).ok_or_else(|| {
        UiError::new(
            AppErrorCode::Training,
            "訓練モードでは登録できません。管理者に訓練モードの解除を依頼してください。",
            "Enrollment is not available in training mode. Ask your administrator to turn training mode off.",
        )
    })?;
    d.enroll(&code, &state.service, &state.ready)
}
#[tauri::command(async)]
fn todays_visits(state: State<'_, AppState>) -> Res<Vec<VisitRow>> {
    with(&state, |s| s.todays_visits())
}
#[tauri::command(async)]
fn patient_chart(state: State<'_, AppState>, patient_id: String, kind: Option<VisitKind>) -> Res<ChartView> {
    with(&state, |s| s.patient_chart(&patient_id, kind))
}
#[tauri::command(async)]
fn patient_list(state: State<'_, AppState>) -> Res<Vec<PatientRow>> {
    with(&state, |s| s.patient_list())
}
#[tauri::command(async)]
fn card_check(state: State<'_, AppState>, on_progress: Channel<CardProgress>) -> Res<CardCheck> {
    with(&state, |s| {
        s.card_check(&mut |p| {
            let _ = on_progress.send(p);
        })
    })
}
#[tauri::command(async)]
fn card_face(state: State<'_, AppState>, patient_id: String, code_b: String) -> Res<CardFace> {
    with(&state, |s| s.card_face(&patient_id, code_b))
}
#[tauri::command(async)]
fn confirm_with_card(
    state: State<'_, AppState>,
    input: FirstVisitInput,
    on_progress: Channel<CardProgress>,
) -> Res<QualificationResult> {
    let r = with(&state, |s| {
        s.confirm_with_card(input, &mut |p| {
            let _ = on_progress.send(p);
        })
    });
    wake_for_gateway(&state, &r);
    r
}
#[tauri::command(async)]
fn requery(state: State<'_, AppState>, patient_id: String, visit_id: String) -> Res<QualificationResult> {
    let r = with(&state, |s| s.requery(&patient_id, &visit_id));
    wake_for_gateway(&state, &r);
    r
}
/// A request written for the clinic's gateway goes out at once, not at the next sync round.
fn wake_for_gateway(state: &State<'_, AppState>, r: &Res<QualificationResult>) {
    if let (Ok(q), Some(d)) = (r, managed(state))
        && q.outcome == CheckOutcome::Requested
    {
        d.await_gateway_answer();
    }
}
#[tauri::command(async)]
fn start_visit(state: State<'_, AppState>, patient_id: String, visit_id: String) -> Res<()> {
    with(&state, |s| s.start_visit(&patient_id, &visit_id))
}
#[tauri::command(async)]
fn save_note(
    state: State<'_, AppState>,
    patient_id: String,
    visit_id: String,
    draft_id: Option<String>,
    soap: Soap,
) -> Res<SavedNote> {
    with(&state, |s| s.save_note(&patient_id, &visit_id, draft_id.as_deref(), &soap))
}
#[tauri::command(async)]
fn sign_note(state: State<'_, AppState>, patient_id: String, note_id: String) -> Res<()> {
    let r = with(&state, |s| s.sign_note(&patient_id, &note_id));
    sync_soon(&state, &r);
    r
}
/// A signed or corrected note goes out now, not at the next round (drafts, saved as the user
/// types, wait for the round).
fn sync_soon<T>(state: &State<'_, AppState>, r: &Res<T>) {
    if let (Ok(_), Some(d)) = (r, managed(state)) {
        d.wake();
    }
}
#[tauri::command(async)]
fn correct_note(
    state: State<'_, AppState>,
    patient_id: String,
    note_id: String,
    soap: Soap,
    reason: String,
) -> Res<SavedNote> {
    let r = with(&state, |s| s.correct_note(&patient_id, &note_id, &soap, &reason));
    sync_soon(&state, &r);
    r
}
#[tauri::command(async)]
fn record_vitals(
    state: State<'_, AppState>,
    patient_id: String,
    visit_id: String,
    vitals: VitalsInput,
) -> Res<Vec<VitalsIssue>> {
    with(&state, |s| s.record_vitals(&patient_id, &visit_id, &vitals))
}
#[tauri::command(async)]
fn roster(state: State<'_, AppState>, month: Option<String>) -> Res<RosterView> {
    with(&state, |s| s.roster(month.as_deref()))
}
#[tauri::command(async)]
fn assign_visit(state: State<'_, AppState>, visit_id: String, staff_id: String, date: Option<String>) -> Res<()> {
    with(&state, |s| s.assign_visit(&visit_id, &staff_id, date.as_deref()))
}
#[tauri::command(async)]
fn audit_log(state: State<'_, AppState>, limit: i64) -> Res<AuditLogView> {
    with(&state, |s| s.audit_log(limit))
}
#[tauri::command(async)]
fn qualification_queue(state: State<'_, AppState>) -> Res<Vec<QueueRow>> {
    with(&state, |s| s.qualification_queue())
}
#[tauri::command(async)]
fn demo_cards(state: State<'_, AppState>) -> Res<Vec<DemoCard>> {
    with(&state, |s| Ok(s.demo_cards()))
}
#[tauri::command(async)]
fn demo_place_card(state: State<'_, AppState>, card_id: Option<String>, remove_after: Option<u32>) -> Res<()> {
    with(&state, |s| s.demo_place_card(card_id.as_deref(), remove_after))
}
#[tauri::command(async)]
fn lock(state: State<'_, AppState>) -> Res<()> {
    with(&state, |s| {
        s.lock();
        Ok(())
    })
}
#[tauri::command(async)]
fn unlock(state: State<'_, AppState>, staff_id: Option<String>, pin: String) -> Res<()> {
    with(&state, |s| s.unlock(staff_id.as_deref(), pin))
}
#[tauri::command(async)]
fn sign_in_staff(state: State<'_, AppState>) -> Res<Vec<SignInRow>> {
    with(&state, |s| s.sign_in_staff())
}
#[tauri::command(async)]
fn choose_staff_pin(state: State<'_, AppState>, staff_id: String, code: String, pin: String) -> Res<()> {
    let r = with(&state, |s| s.choose_staff_pin(&staff_id, code, pin));
    // Someone new uses this tablet: their charts are fetched now (部分同期), not next round.
    if let (Ok(()), Some(d)) = (&r, managed(&state)) {
        d.wake();
    }
    r
}
#[tauri::command(async)]
fn found_first_admin(state: State<'_, AppState>, name: String, kana: String, pin: String) -> Res<()> {
    with(&state, |s| s.found_first_admin(&name, &kana, pin))
}
#[tauri::command(async)]
fn staff_list(state: State<'_, AppState>) -> Res<Vec<StaffRow>> {
    with(&state, |s| s.staff_list())
}
#[tauri::command(async)]
fn save_staff(state: State<'_, AppState>, input: StaffInput) -> Res<StaffSaved> {
    with(&state, |s| s.save_staff(&input))
}
#[tauri::command(async)]
fn reset_staff_pin(state: State<'_, AppState>, staff_id: String) -> Res<PinSetupView> {
    with(&state, |s| s.reset_staff_pin(&staff_id))
}
#[tauri::command(async)]
fn settings(state: State<'_, AppState>) -> Res<PolicyPage> {
    with(&state, |s| Ok(s.settings()))
}
#[tauri::command(async)]
fn set_user_setting(state: State<'_, AppState>, key: String, value: Option<String>) -> Res<PolicyPage> {
    with(&state, |s| s.set_user_setting(&key, value.as_deref()))
}

#[tauri::command(async)]
fn save_patient(state: State<'_, AppState>, input: PatientInput) -> Res<String> {
    with(&state, |s| s.save_patient(&input))
}
#[tauri::command(async)]
fn patient_detail(state: State<'_, AppState>, patient_id: String) -> Res<PatientDetail> {
    with(&state, |s| s.patient_detail(&patient_id))
}
#[tauri::command(async)]
fn end_care(
    state: State<'_, AppState>,
    patient_id: String,
    reason: Option<CareEndReason>,
    date: Option<String>,
) -> Res<()> {
    with(&state, |s| s.end_care(&patient_id, reason, date.as_deref()))
}
#[tauri::command(async)]
fn import_patients(state: State<'_, AppState>, csv: Vec<u8>) -> Res<ImportReport> {
    with(&state, |s| s.import_patients(&csv))
}
#[tauri::command(async)]
fn plan_visits(state: State<'_, AppState>, input: PlanInput) -> Res<Planned> {
    with(&state, |s| s.plan_visits(&input))
}
#[tauri::command(async)]
fn edit_visit(state: State<'_, AppState>, edit: VisitEdit) -> Res<String> {
    with(&state, |s| s.edit_visit(&edit))
}
#[tauri::command(async)]
fn reassign_visit(state: State<'_, AppState>, visit_id: String, staff: Vec<String>) -> Res<()> {
    with(&state, |s| s.reassign_visit(&visit_id, &staff))
}
#[tauri::command(async)]
fn cancel_visit(state: State<'_, AppState>, visit_id: String, reason: String) -> Res<()> {
    with(&state, |s| s.cancel_visit(&visit_id, &reason))
}
#[tauri::command(async)]
fn plan_month(
    state: State<'_, AppState>,
    month: Option<String>,
    staff_id: Option<String>,
    patient_id: Option<String>,
) -> Res<PlanMonth> {
    with(&state, |s| s.plan_month(month.as_deref(), staff_id.as_deref(), patient_id.as_deref()))
}

#[tauri::command(async)]
fn clinic_audit(state: State<'_, AppState>, filter: AuditFilter, limit: i64) -> Res<AuditLogView> {
    with(&state, |s| s.clinic_audit(&filter, limit))
}

/// The enrolled device behind 端末の管理; training mode has none.
fn managed_or_refuse(state: &State<'_, AppState>) -> Res<std::sync::Arc<device::ManagedDevice>> {
    managed(state).ok_or_else(|| {
        UiError::new(
            AppErrorCode::Training,
            "訓練モードでは端末の管理はできません。医療機関に登録した管理用端末で操作してください。",
            "Devices cannot be managed in training mode. Use the clinic's enrolled admin device.",
        )
    })
}
#[tauri::command(async)]
fn issue_enrollment_code(state: State<'_, AppState>, role: DeviceRole, hours: u32) -> Res<IssuedCode> {
    let d = managed_or_refuse(&state)?;
    with(&state, |s| s.manage_devices("issue enrollment code", |st, _| d.clinic_relay(st)?.issue_code(role, hours)))
}
#[tauri::command(async)]
fn clinic_devices(state: State<'_, AppState>) -> Res<Vec<DeviceRow>> {
    let d = managed_or_refuse(&state)?;
    with(&state, |s| s.manage_devices("", |st, _| d.clinic_relay(st)?.devices(st)))
}
#[tauri::command(async)]
fn revoke_device(state: State<'_, AppState>, device_id: String) -> Res<DeviceRow> {
    let d = managed_or_refuse(&state)?;
    let r = with(&state, |s| s.manage_devices("", |st, who| d.clinic_relay(st)?.revoke(st, who, &device_id)));
    // The mark in the clinic document goes out now.
    if r.is_ok() {
        d.wake();
    }
    r
}

#[tauri::command(async)]
fn set_up_clinic(
    state: State<'_, AppState>,
    name: String,
    institution: String,
    address: String,
    phone: String,
) -> Res<()> {
    let r = with(&state, |s| s.set_up_clinic(&name, &institution, &address, &phone));
    if let (Ok(()), Some(d)) = (&r, managed(&state)) {
        d.wake();
    }
    r
}

/// The filtered access history as CSV in the user's Downloads folder (the office opens it in
/// Excel); the path comes back, and the screen warns that the file is not encrypted.
#[tauri::command(async)]
fn save_audit_csv<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    filter: AuditFilter,
) -> Res<String> {
    let text = with(&state, |s| s.audit_csv(&filter))?;
    // Never the shared temp folder: without a Downloads folder, the user's home.
    let dir =
        app.path().download_dir().or_else(|_| app.path().home_dir().map(|h| h.join("Downloads"))).map_err(|_| {
            UiError::new(
                AppErrorCode::Storage,
                "保存先(ダウンロードフォルダ)が見つかりません。端末の管理者に確認してください。",
                "No Downloads folder to save to. Ask your device administrator.",
            )
        })?;
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let name = format!("houmon-audit-{}-{secs}.csv", houmon_tablet::service::jst_today());
    let path = dir.join(name);
    std::fs::create_dir_all(&dir).and_then(|_| write_private(&path, text.as_bytes())).map_err(|_| {
        UiError::new(
            AppErrorCode::Storage,
            "CSVファイルを保存できませんでした。ダウンロードフォルダの空き容量と権限を確認してください。",
            "Could not save the CSV file. Check the Downloads folder's free space and permissions.",
        )
    })?;
    Ok(path.to_string_lossy().into_owned())
}

/// A file only its owner can read (it holds patient names in the clear).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)?.write_all(bytes)
}

/// Registers the commands; shared by the app and the `tauri::test` wiring tests.
pub fn builder<R: tauri::Runtime>(b: tauri::Builder<R>) -> tauri::Builder<R> {
    b.invoke_handler(tauri::generate_handler![
        app_info,
        todays_visits,
        patient_chart,
        patient_list,
        card_check,
        card_face,
        confirm_with_card,
        requery,
        start_visit,
        save_note,
        sign_note,
        correct_note,
        record_vitals,
        roster,
        assign_visit,
        audit_log,
        qualification_queue,
        demo_cards,
        demo_place_card,
        lock,
        unlock,
        sign_in_staff,
        choose_staff_pin,
        found_first_admin,
        staff_list,
        save_staff,
        reset_staff_pin,
        settings,
        set_user_setting,
        sync_status,
        enroll,
        save_patient,
        patient_detail,
        end_care,
        import_patients,
        plan_visits,
        edit_visit,
        reassign_visit,
        cancel_visit,
        plan_month,
        clinic_audit,
        issue_enrollment_code,
        clinic_devices,
        revoke_device,
        set_up_clinic,
        save_audit_csv,
    ])
}

/// Where the store lives: `HOUMON_DATA_DIR` (tests, benchmarks) or the OS app-data folder.
fn data_dir<R: tauri::Runtime>(app: &tauri::App<R>) -> std::path::PathBuf {
    match std::env::var_os("HOUMON_DATA_DIR") {
        Some(d) => d.into(),
        None => app.path().app_data_dir().unwrap_or_else(|_| std::env::temp_dir().join("houmon")),
    }
}

/// Runs the app (training mode unless configured otherwise).
pub fn run() {
    let app = builder(tauri::Builder::default())
        .manage(AppState::default())
        .setup(|app| {
            let opts = ServiceOptions {
                data_dir: data_dir(app),
                today: std::env::var("HOUMON_TODAY").ok().and_then(|d| d.parse().ok()),
                ..Default::default()
            };
            let handle = app.handle().clone();
            let upkeep = handle.clone();
            std::thread::spawn(move || upkeep_loop(upkeep));
            std::thread::spawn(move || {
                let st = handle.state::<AppState>();
                // The effective policy decides: training clinic, or the device lifecycle.
                match device::Mode::decide(&opts, device::policy_sources()) {
                    Ok(device::Mode::Training) => st.set(Service::open(&opts)),
                    Ok(device::Mode::Managed(dev)) => {
                        *locked(&st.device) = Some(dev.clone());
                        let h = handle.clone();
                        dev.spawn(move |d| {
                            let st = h.state::<AppState>();
                            d.step(&st.service, &st.ready)
                        });
                    }
                    Err(e) => st.set(Err(e)),
                }
            });
            Ok(())
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("houmon-app: could not start: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests;
