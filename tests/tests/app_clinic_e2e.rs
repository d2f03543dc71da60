//! A clinic from its founding to a nurse's signed note in the back office, end to end through
//! what people have: the real `houmon-app` (Xvfb + tauri-driver + WebKitWebDriver) and the
//! shipped `houmon-relay`. Nothing is seeded through the Rust API.
//!
//! 1. The operator creates the clinic on the relay (`houmon-relay admin create-clinic`).
//! 2. The office PC (app, managed: the founding code as its enrollment code) enrolls by itself
//!    and is the admin device: 医療機関の設定, the first administrator, then in the back office
//!    a nurse and a doctor (the nurse's one-time set-up code read from the screen), three
//!    patients through the form, a week of visits (two patients for the nurse today, the third
//!    for the doctor) and a member code issued on the 端末 tab.
//! 3. A tablet (another data dir, managed: that member code) enrolls, starts locked; the nurse
//!    chooses her PIN with the set-up code, sees exactly her two patients today, writes and
//!    signs a SOAP note, and the tablet syncs it.
//! 4. The office PC again: the administrator signs in, the nurse's signed note is in the
//!    patient's chart with her name, and 監査ログ shows the tablet's entries with her name and
//!    the patient's.
//! 5. The relay issues no keyless code for the founded clinic (`clinic_founded`).
//!
//! The app instances run one after the other. Screenshots: `15-clinic-*.png` in the folder
//! printed at the start (`HOUMON_SCREENSHOT_DIR`, default `<target>/houmon-e2e-screens`).
//! Skipped, with the reason printed, when a prerequisite is missing (a failure under CI).

use houmon_tests::app_driver::{self, AppSession, Display};
use houmon_tests::bench_sync::{RelayProc, create_clinic_json, relay_admin};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(60);

const CLINIC: &str = "架空在宅クリニック";
const INSTITUTION: &str = "3410712362";
const ADMIN: (&str, &str) = ("管理 花子", "カンリ ハナコ");
const ADMIN_PIN: &str = "582046";
const NURSE: (&str, &str) = ("訪問 看護子", "ホウモン カンゴコ");
const NURSE_PIN: &str = "739251";
const DOCTOR: (&str, &str) = ("在宅 医師男", "ザイタク イシオ");
/// Name, kana, birth date, sex.
const PATIENTS: [(&str, &str, &str, &str); 3] = [
    ("架空 一郎", "カクウ イチロウ", "1938-05-12", "male"),
    ("架空 二葉", "カクウ フタバ", "1942-11-03", "female"),
    ("架空 三郎", "カクウ サブロウ", "1945-02-20", "male"),
];

/// A device's data dir and the policy MDM would push to it: training off, the relay, the
/// managed one-time enrollment code, and `extra` settings.
fn managed_device(dir: &Path, relay: &str, code: &str, extra: Value) -> (PathBuf, PathBuf) {
    let mut policy = json!({"relayUrl": relay, "trainingMode": "off", "enrollmentCode": code});
    if let (Some(p), Some(e)) = (policy.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    let policies = dir.join("policies");
    app_driver::write_managed_policy(&policies, &policy);
    (dir.join("app"), policies)
}

/// One app instance on its own data dir and policy root.
fn launch(display: &Display, bin: &Path, device: &(PathBuf, PathBuf)) -> AppSession {
    let env: [(&str, &Path); 2] = [("HOUMON_DATA_DIR", &device.0), ("HOUMON_POLICY_DIR", &device.1)];
    AppSession::launch(display, bin, &env).expect("app starts")
}

/// What the screen says when a step fails: its error boxes and the sync indicator.
fn on_screen(app: &AppSession) -> String {
    app.script(
        "const t = (s) => Array.from(document.querySelectorAll(s)).map((e) => e.innerText.trim()).join(' | ');
         const sync = document.querySelector(\"[data-testid='sync-status']\");
         return `errors: [${t(\"[data-testid='error']\")}] sync: ${sync ? sync.dataset.state + ' ' + sync.innerText : '-'}`;",
        json!([]),
    )
    .map(|v| v.as_str().unwrap_or_default().to_string())
    .unwrap_or_else(|e| format!("(screen not readable: {e})"))
}

/// The step's result, or a failure with a screenshot and what the screen said.
fn ok<V>(app: &AppSession, shots: &Path, r: Result<V, String>, what: &str) -> V {
    r.unwrap_or_else(|e| {
        let _ = app.screenshot(&shots.join("15-clinic-FAILED.png"));
        panic!("{what}: {e}\n  on screen: {}", on_screen(app))
    })
}

fn type_into(app: &AppSession, shots: &Path, css: &str, text: &str) {
    let id = ok(app, shots, app.wait(css, T), css);
    ok(app, shots, app.type_text(&id, text), css);
}

/// Set an input's value as typing would (the `input` event the UI listens to). For date and
/// time fields, whose typing WebKitGTK handles by segments; returns the value the field kept.
fn set_input(app: &AppSession, css: &str, value: &str) -> String {
    app.wait(css, T).unwrap_or_else(|e| panic!("{css}: {e}"));
    let kept = app
        .script(
            "const el = document.querySelector(arguments[0]);
             Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, arguments[1]);
             el.dispatchEvent(new Event('input', { bubbles: true }));
             return el.value;",
            json!([css, value]),
        )
        .expect("set the field");
    kept.as_str().unwrap_or_default().to_string()
}

/// Tap something inside one of the screen's scrolling lists or form bodies: scrolled into view
/// first, as a finger would (WebKitWebDriver scrolls only the page, which does not scroll here).
fn tap_in_view(app: &AppSession, css: &str) {
    app.wait(css, T).unwrap_or_else(|e| panic!("{css}: {e}"));
    app.script("document.querySelector(arguments[0]).scrollIntoView({block: 'center'});", json!([css]))
        .expect("scroll into view");
    app.tap(css).unwrap_or_else(|e| panic!("tap {css}: {e}"));
}

/// The element of `css` whose text contains `needle`.
fn find_with_text(app: &AppSession, css: &str, needle: &str) -> Result<String, String> {
    let start = Instant::now();
    loop {
        for id in app.find_all(css)? {
            if app.text(&id).unwrap_or_default().contains(needle) {
                return Ok(id);
            }
        }
        if start.elapsed() > T {
            return Err(format!("no {css} with {needle:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The sync status the header shows, as the app's own `sync_status` command answers the UI
/// (read only: its `pending` count and the time of the last completed round).
fn sync_status(app: &AppSession) -> Value {
    app.script_async(
        "const done = arguments[arguments.length - 1];
         window.__TAURI_INTERNALS__.invoke('sync_status').then(done, (e) => done({error: String(e && (e.ja || e.message) || e)}));",
        json!([]),
    )
    .unwrap_or_else(|e| json!({"error": e}))
}

/// Wait until a sync round that started after `since` completed with nothing left to send,
/// and the header says 最新.
fn wait_sent(app: &AppSession, shots: &Path, since: chrono::DateTime<chrono::Utc>, what: &str) {
    let start = Instant::now();
    loop {
        let s = sync_status(app);
        let at = s["lastSyncAt"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        if s["state"] == "online" && s["pending"] == 0 && at.is_some_and(|t| t > since) {
            break;
        }
        if start.elapsed() > T + Duration::from_secs(30) {
            let _ = app.screenshot(&shots.join("15-clinic-FAILED.png"));
            panic!(
                "{what}: no completed sync round with nothing pending since {since}: {s}\n  on screen: {}",
                on_screen(app)
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let sync = ok(app, shots, app.wait("[data-testid='sync-status'][data-state='online']", T), what);
    let label = app.text(&sync).unwrap_or_default();
    assert!(label.starts_with("最新("), "{what}: the header says {label:?}");
}

fn jst_today() -> chrono::NaiveDate {
    houmon_onshi::consent::jst_date(&chrono::Utc::now())
}

fn ymd(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

#[test]
fn a_clinic_is_founded_a_nurse_signs_a_note_on_her_tablet_and_the_office_reads_it() {
    let Some(bin) = app_driver::app_binary_or_skip("app clinic e2e") else { return };
    let shots = app_driver::screenshot_dir();
    let began = Instant::now();
    let tmp = tempfile::tempdir().expect("tempdir");

    // 1. The operator creates the clinic on the relay: its id and the founding code.
    let db = tmp.path().join("relay.db");
    let created = create_clinic_json(&db, CLINIC).expect("create-clinic");
    let field = |k: &str| created[k].as_str().map(str::to_string).unwrap_or_else(|| panic!("{k} in {created}"));
    let (clinic, founding) = (field("clinic"), field("code"));
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let display = Display::get().expect("display");

    // The office PC: founding code from MDM; the administrator reads clinical notes there.
    let office =
        managed_device(&tmp.path().join("office"), &relay.base(), &founding, json!({"officeReadsNotes": true}));

    // 2. The office PC enrolls by itself and is the admin device: 医療機関の設定 first.
    let app = launch(&display, &bin, &office);
    let s = &shots;
    ok(&app, s, app.wait("[data-testid='clinic-setup']", T), "医療機関の設定 on the founding device");
    assert!(app.find_all("[data-testid='training-banner']").unwrap().is_empty(), "not training mode");
    type_into(&app, s, "[data-testid='clinic-name']", CLINIC);
    type_into(&app, s, "[data-testid='clinic-institution']", INSTITUTION);
    type_into(&app, s, "[data-testid='clinic-address']", "架空県架空市本町1-1");
    type_into(&app, s, "[data-testid='clinic-phone']", "03-0000-0001");
    app.screenshot(&shots.join("15-clinic-setup.png")).expect("shot");
    ok(&app, s, app.tap("[data-testid='clinic-submit']"), "clinic-submit");

    // The first administrator (no code exists for her: she chooses her PIN here).
    ok(&app, s, app.wait("[data-testid='found-admin']", T), "the first administrator's form");
    type_into(&app, s, "[data-testid='admin-name']", ADMIN.0);
    type_into(&app, s, "[data-testid='admin-kana']", ADMIN.1);
    type_into(&app, s, "[data-testid='new-pin']", ADMIN_PIN);
    type_into(&app, s, "[data-testid='new-pin-again']", ADMIN_PIN);
    app.screenshot(&shots.join("15-clinic-first-admin.png")).expect("shot");
    ok(&app, s, app.tap("[data-testid='unlock']"), "register the administrator");
    ok(&app, s, app.wait_text("[data-testid='whoami']", ADMIN.0, T), "signed in as the administrator");
    ok(&app, s, app.wait_text("[data-testid='whoami']", CLINIC, T), "the clinic's name in the header");

    // 職員: a nurse (her set-up code, shown once) and a doctor.
    ok(&app, s, app.tap("[data-testid='nav-backoffice']"), "nav-backoffice");
    ok(&app, s, app.tap("[data-testid='bo-staff']"), "bo-staff");
    let mut setup_codes = Vec::new();
    for ((name, kana), role) in [(NURSE, "nurse"), (DOCTOR, "doctor")] {
        ok(&app, s, app.tap("[data-testid='staff-add']"), "staff-add");
        type_into(&app, s, "[data-testid='staff-name']", name);
        type_into(&app, s, "[data-testid='staff-kana']", kana);
        ok(&app, s, app.tap(&format!("[data-testid='staff-role-{role}']")), role);
        if role == "nurse" {
            app.screenshot(&shots.join("15-clinic-staff-form.png")).expect("shot");
        }
        ok(&app, s, app.tap("[data-testid='staff-save']"), "staff-save");
        ok(&app, s, app.wait_text("[data-testid='setup-issued']", name, T), "the set-up code is shown");
        let code = app.text(&app.wait("[data-testid='setup-code-value']", T).unwrap()).unwrap();
        assert!(code.trim().len() >= 12, "a set-up code: {code:?}");
        setup_codes.push(code.trim().to_string());
        if role == "nurse" {
            app.screenshot(&shots.join("15-clinic-staff-code.png")).expect("shot");
        }
        ok(&app, s, app.tap("[data-testid='setup-done']"), "setup-done");
    }
    let nurse_code = setup_codes[0].clone();
    let staff_rows = app.find_all("[data-testid='staff-row']").unwrap();
    assert_eq!(staff_rows.len(), 3, "the administrator, the nurse and the doctor");

    // 患者: three patients through the registration form.
    ok(&app, s, app.tap("[data-testid='bo-patients']"), "bo-patients");
    ok(&app, s, app.wait("[data-testid='patient-list']", T), "the patient list");
    for (name, kana, birth, sex) in PATIENTS {
        ok(&app, s, app.tap("[data-testid='patient-new']"), "patient-new");
        ok(&app, s, app.wait("[data-testid='patient-form']", T), "the registration form");
        type_into(&app, s, "[data-testid='pf-name']", name);
        type_into(&app, s, "[data-testid='pf-kana']", kana);
        assert_eq!(set_input(&app, "[data-testid='pf-birthDate']", birth), birth);
        tap_in_view(&app, &format!("[data-testid='pf-sex-{sex}']"));
        tap_in_view(&app, "[data-testid='pf-iddoc-myNumberCard']");
        ok(&app, s, app.tap("[data-testid='patient-save']"), "patient-save");
        ok(&app, s, app.wait(&format!("[data-testid='patient-row'][data-patient='{name}']"), T), name);
    }

    // 訪問計画: every day for a week from today; the nurse has the first two patients, the
    // doctor the third.
    let today = jst_today();
    let until = today + chrono::Duration::days(6);
    ok(&app, s, app.tap("[data-testid='bo-plan']"), "bo-plan");
    ok(&app, s, app.wait("[data-testid='visit-plan']", T), "the visit plan");
    let plans = [
        (PATIENTS[0].0, NURSE.0, "10:00", "10:40", "homeNursing"),
        (PATIENTS[1].0, NURSE.0, "11:00", "11:40", "homeNursing"),
        (PATIENTS[2].0, DOCTOR.0, "14:00", "14:30", "homeMedical"),
    ];
    for (patient, staff, from, to, kind) in plans {
        ok(&app, s, app.tap("[data-testid='plan-add']"), "plan-add");
        ok(&app, s, app.wait("[data-testid='plan-form']", T), "the plan form");
        tap_in_view(&app, &format!("[data-testid='plan-patient'][data-name='{patient}']"));
        tap_in_view(&app, &format!("[data-testid='plan-staff'][data-name='{staff}']"));
        assert_eq!(set_input(&app, "[data-testid='plan-date']", &ymd(today)), ymd(today));
        assert_eq!(set_input(&app, "[data-testid='plan-start']", from), from);
        assert_eq!(set_input(&app, "[data-testid='plan-end']", to), to);
        tap_in_view(&app, &format!("[data-testid='plan-kind-{kind}']"));
        tap_in_view(&app, "[data-testid='repeat-weekly']");
        for d in 0..7 {
            tap_in_view(&app, &format!("[data-testid='weekday-{d}']"));
        }
        assert_eq!(set_input(&app, "[data-testid='plan-until']", &ymd(until)), ymd(until));
        ok(&app, s, app.tap("[data-testid='plan-save']"), "plan-save");
        ok(&app, s, app.wait_text("[data-testid='plan-notice']", "7件の訪問を予定しました", T), "a week planned");
    }
    let last_change = chrono::Utc::now();
    app.screenshot(&shots.join("15-clinic-plan.png")).expect("shot");

    // 端末: a member code for the nurse's tablet, read from the screen.
    let bo_devices = app.find_all("[data-testid='bo-devices']").unwrap();
    assert!(!bo_devices.is_empty(), "the administrator on the admin device has the 端末 tab");
    ok(&app, s, app.tap("[data-testid='bo-devices']"), "bo-devices");
    let this = ok(&app, s, app.wait("[data-testid='device-row'][data-this-device='true']", T), "this device listed");
    let office_device = app.attr(&this, "data-device-id").unwrap().expect("device id");
    assert_eq!(
        app.attr(&this, "data-role").unwrap().as_deref(),
        Some("admin"),
        "the founding device is the admin device"
    );
    ok(&app, s, app.tap("[data-testid='code-role-member']"), "code-role-member");
    ok(&app, s, app.tap("[data-testid='code-issue']"), "code-issue");
    let code_el = ok(
        &app,
        s,
        app.wait("[data-testid='code-issued'][data-role='member'] [data-testid='code-value']", T),
        "the code",
    );
    let member_code = app.text(&code_el).unwrap().trim().to_string();
    assert!(member_code.replace('-', "").len() >= 20, "an enrollment code: {member_code:?}");
    app.wait("[data-testid='code-qr']", T).expect("and its QR code");
    app.screenshot(&shots.join("15-clinic-member-code.png")).expect("shot");
    ok(&app, s, app.tap("[data-testid='code-done']"), "code-done");
    // Everything the office wrote is at the relay before the PC is closed.
    wait_sent(&app, s, last_change, "the office's clinic, staff, patients and plan sent");
    app.close();
    eprintln!("office set up: {:.0} s", began.elapsed().as_secs_f64());

    // 3. The nurse's tablet: the member code from MDM.
    let tablet = managed_device(&tmp.path().join("tablet"), &relay.base(), &member_code, json!({}));
    let app = launch(&display, &bin, &tablet);
    ok(&app, s, app.wait("[data-testid='sync-status'][data-state='online']", T), "enrolled and 最新");
    ok(&app, s, app.wait("[data-testid='lock']", T), "an enrolled tablet starts locked");
    ok(&app, s, app.wait_text("[data-testid='staff-list']", NURSE.0, T), "the clinic's staff, synced");
    let nurse = ok(&app, s, find_with_text(&app, "[data-testid='staff-option']", NURSE.0), "the nurse on the list");
    app.click(&nurse).unwrap();
    type_into(&app, s, "[data-testid='setup-code']", &nurse_code);
    type_into(&app, s, "[data-testid='new-pin']", NURSE_PIN);
    type_into(&app, s, "[data-testid='new-pin-again']", NURSE_PIN);
    let pin_chosen = chrono::Utc::now();
    ok(&app, s, app.tap("[data-testid='unlock']"), "choose the PIN");
    ok(&app, s, app.wait_text("[data-testid='whoami']", NURSE.0, T), "signed in as the nurse");

    // 今日の訪問: exactly her two patients, not the doctor's.
    let row = |name: &str| format!("[data-testid='visit-row'][data-patient='{name}']");
    for (name, ..) in &PATIENTS[..2] {
        ok(&app, s, app.wait(&row(name), T), &format!("{name} in her day"));
    }
    let rows = app.find_all("[data-testid='visit-row']").unwrap();
    let names: Vec<String> = rows.iter().filter_map(|r| app.attr(r, "data-patient").ok().flatten()).collect::<Vec<_>>();
    assert_eq!(names.len(), 2, "exactly her two visits today: {names:?}");
    assert!(!names.iter().any(|n| n == PATIENTS[2].0), "not the doctor's patient: {names:?}");
    app.screenshot(&shots.join("15-clinic-tablet-today.png")).expect("shot");

    // Her charts arrive with the round her PIN started (部分同期); then the visit's note.
    wait_sent(&app, s, pin_chosen, "her patients' charts fetched");
    let patient = PATIENTS[0].0;
    ok(&app, s, app.tap(&format!("{} [data-testid='open-note']", row(patient))), "open-note");
    ok(&app, s, app.wait("[data-testid='note-editor']", T), "the note editor");
    let soap = [
        ("s", "夜間は良く眠れた。食欲あり。"),
        ("o", "血圧128/76、脈拍72、SpO2 97%。下肢浮腫なし。"),
        ("a", "状態安定。"),
        ("p", "現在の服薬を継続。次回訪問で再評価。"),
    ];
    for (k, text) in soap {
        type_into(&app, s, &format!("[data-testid='soap-{k}']"), text);
    }
    ok(&app, s, app.wait("[data-testid='save-state'][data-state='saved']", T), "the draft autosaved");
    ok(&app, s, app.tap("[data-testid='note-sign']"), "note-sign");
    ok(&app, s, app.wait_text("[data-testid='note-sign']", "署名済み", T), "signed");
    let signed = chrono::Utc::now();
    app.screenshot(&shots.join("15-clinic-tablet-note-signed.png")).expect("shot");
    // The signed note leaves the tablet: a later round ends with nothing pending, 最新.
    wait_sent(&app, s, signed, "the signed note sent");
    app.screenshot(&shots.join("15-clinic-tablet-synced.png")).expect("shot");
    app.close();
    eprintln!("tablet done: {:.0} s", began.elapsed().as_secs_f64());

    // 4. The office PC again: the administrator signs in with her PIN.
    let app = launch(&display, &bin, &office);
    let started = chrono::Utc::now();
    ok(&app, s, app.wait("[data-testid='lock']", T), "the office PC starts locked");
    let admin = ok(&app, s, find_with_text(&app, "[data-testid='staff-option']", ADMIN.0), "the administrator");
    app.click(&admin).unwrap();
    type_into(&app, s, "[data-testid='staff-pin']", ADMIN_PIN);
    ok(&app, s, app.tap("[data-testid='unlock']"), "sign in");
    ok(&app, s, app.wait_text("[data-testid='whoami']", ADMIN.0, T), "signed in as the administrator");
    wait_sent(&app, s, started, "the office catches up");

    // The patient's chart: the nurse's signed note, she is its signer.
    ok(&app, s, app.tap("[data-testid='nav-backoffice']"), "nav-backoffice");
    ok(&app, s, app.tap("[data-testid='bo-patients']"), "bo-patients");
    tap_in_view(&app, &format!("[data-testid='patient-row'][data-patient='{patient}'] [data-testid='patient-chart']"));
    ok(&app, s, app.wait_text("[data-testid='chart'] h2", patient, T), "the patient's chart");
    assert!(app.find_all("[data-testid='clinical-hidden']").unwrap().is_empty(), "officeReadsNotes: notes shown");
    let note =
        ok(&app, s, find_with_text(&app, "[data-testid='timeline-note']", NURSE.0), "the nurse's note in the chart");
    let summary = app.text(&note).unwrap();
    assert!(summary.contains("署名済"), "signed: {summary:?}");
    app.script(
        "const n = Array.from(document.querySelectorAll(\"[data-testid='timeline-note']\")).find((d) => d.innerText.includes(arguments[0]));
         n.open = true;",
        json!([NURSE.0]),
    )
    .expect("open the note");
    ok(&app, s, app.wait_text("[data-testid='timeline-note'][open]", soap[0].1, T), "the note's S");
    let body = app.text(&app.wait("[data-testid='timeline-note'][open]", T).unwrap()).unwrap();
    for (_, text) in soap {
        assert!(body.contains(text), "the note as she signed it: {text:?} in {body:?}");
    }
    app.screenshot(&shots.join("15-clinic-office-chart.png")).expect("shot");

    // 監査ログ: the tablet's entries, with the nurse's name and the patient's.
    ok(&app, s, app.tap("[data-testid='nav-backoffice']"), "nav-backoffice");
    let start = Instant::now();
    let mine = loop {
        ok(&app, s, app.tap("[data-testid='bo-audit']"), "bo-audit");
        ok(&app, s, app.wait("[data-testid='audit-chain']", T), "the audit log");
        let rows = app
            .script(
                "return Array.from(document.querySelectorAll(\"[data-testid='audit-row']\")).map((r) =>
                   ({staff: r.cells[1].innerText, patient: r.cells[2].innerText, device: r.dataset.device, action: r.dataset.action}));",
                json!([]),
            )
            .expect("audit rows");
        let mine: Vec<Value> = rows
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r["staff"].as_str().is_some_and(|n| n.contains(NURSE.0)))
            .collect();
        if mine.iter().any(|r| r["patient"].as_str().is_some_and(|p| p.contains(patient))) {
            break mine;
        }
        if start.elapsed() > T {
            let _ = app.screenshot(&shots.join("15-clinic-FAILED.png"));
            panic!("no audit entry of {} about {patient} in the clinic-wide history: {rows}", NURSE.0);
        }
        ok(&app, s, app.tap("[data-testid='bo-roster']"), "bo-roster");
        std::thread::sleep(Duration::from_millis(500));
    };
    let hex = |d: &str| d.replace('-', "").to_ascii_lowercase();
    assert!(
        mine.iter().all(|r| r["device"].as_str().is_some_and(|d| hex(d) != hex(&office_device))),
        "the nurse's entries come from the tablet, not the office PC ({office_device}): {mine:?}"
    );
    assert!(
        mine.iter().any(|r| r["action"].as_str().is_some_and(|a| a.contains("sign"))),
        "the signing is in the history: {mine:?}"
    );
    // The history as CSV for the office: saved, the path said with the unencrypted warning, and
    // the file (read back with a CSV reader) names the nurse and the patient.
    ok(&app, s, app.tap("[data-testid='audit-csv']"), "audit-csv");
    let said = ok(&app, s, app.wait_text("[data-testid='audit-csv-saved']", "暗号化されていません", T), "CSV saved");
    let path =
        said.split("保存しました: ").nth(1).and_then(|r| r.split('(').next()).expect("the path").trim().to_string();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(!Path::new(&path).starts_with(std::env::temp_dir()), "not in the shared temp folder: {path}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "only its owner may read it: {mode:o}");
    }
    let _ = std::fs::remove_file(&path);
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("a CSV row")).collect();
    assert!(
        rows.iter()
            .any(|r| r.get(1).is_some_and(|n| n.contains(NURSE.0)) && r.get(2).is_some_and(|p| p.contains(patient))),
        "the nurse's entry about {patient} in the CSV"
    );
    app.screenshot(&shots.join("15-clinic-office-audit.png")).expect("shot");
    app.close();

    // 5. The relay issues no keyless code into the founded clinic.
    let refused = relay_admin(&db, &["create-code", "--clinic", &clinic]).expect_err("a keyless code is refused");
    let refused: Value =
        serde_json::from_str(refused.trim()).unwrap_or_else(|e| panic!("one JSON object ({e}): {refused}"));
    assert_eq!(refused["error"], "clinic_founded", "{refused}");
    let devices: Value =
        serde_json::from_str(relay_admin(&db, &["devices", "--clinic", &clinic]).expect("devices").trim())
            .expect("json");
    let roles: Vec<&str> =
        devices["devices"].as_array().expect("devices").iter().filter_map(|d| d["role"].as_str()).collect();
    assert_eq!(roles.len(), 2, "the office PC and the tablet: {devices}");
    eprintln!("whole scenario: {:.0} s", began.elapsed().as_secs_f64());
}
