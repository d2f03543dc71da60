//! End-to-end on the real `houmon-app` binary: Xvfb + tauri-driver + WebKitWebDriver.
//!
//! - Japanese renders: the bundled BIZ UDPGothic loads and two kanji draw differently (not as
//!   boxes), checked first, before any screenshot;
//! - English and large text chosen, the app restarted, both still applied; the main action of
//!   each screen visited fits the 1280×800 window in large text;
//! - a first visit with the virtual card in PIN mode, a wrong PIN showing 2 tries left, then
//!   the right PIN, then a 再照会 for the same patient;
//! - a note saved, the app SIGKILLed, restarted, the note still there;
//! - 目視 with the chip photo behind 照合番号B, then a nurse signing in with her PIN;
//! - the back office: a patient registered through the form, 毎週火・金 for four weeks planned
//!   for the training doctor, the visits in that doctor's month view; the form's save and the
//!   plan's main actions fit the window, in large text too;
//! - a managed device (policy trainingMode off, a relay on loopback, a managed enrollment
//!   code): enrolled on its own and 最新, then revoked at the relay: back to the enrollment
//!   screen with the reason;
//! - 端末 on an admin tablet set up only through the shipped CLI (`houmon-clinic`): the
//!   administrator chooses her PIN with her set-up code, issues a member code (text and QR),
//!   a second device enrolls with it, appears in the list and is revoked through the UI after
//!   the confirmation; that device's next sync is refused (`revoked`).
//!
//! Screenshots of the main screens go to the folder printed at the start
//! (`HOUMON_SCREENSHOT_DIR`, default `<target>/houmon-e2e-screens`). Skipped, with the reason
//! printed, when a prerequisite (tauri-driver, WebKitWebDriver, Xvfb, the app binary) is
//! missing.

use houmon_tests::app_driver::{self, AppSession, Display};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// One app at a time: the sessions share the X server and the machine's two cores.
static SERIAL: Mutex<()> = Mutex::new(());

const T: Duration = Duration::from_secs(60);

/// What every test here starts with: its turn (one app at a time), the app binary and the
/// screenshot folder. `None` when a prerequisite is missing (skipped, the reason printed).
struct Session {
    _turn: MutexGuard<'static, ()>,
    bin: PathBuf,
    shots: PathBuf,
}

fn session() -> Option<Session> {
    let turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let bin = app_driver::app_binary_or_skip("app e2e")?;
    Some(Session { _turn: turn, bin, shots: app_driver::screenshot_dir() })
}

/// The fonts and glyphs the window really has, measured in the webview (see
/// [`assert_japanese_renders`]).
const GLYPH_CHECK: &str = r#"
const done = arguments[arguments.length - 1];
(async () => {
  const sample = '訪問看護';
  // (a) The bundled face loads for Japanese text (fonts.check alone is true for a family
  // that does not exist, so the faces fonts.load returns are counted too).
  const faces = await document.fonts.load('16px "BIZ UDPGothic"', sample);
  const bundled = faces.filter((f) => f.family.replace(/["']/g, '') === 'BIZ UDPGothic' && f.status === 'loaded').length;
  const checked = document.fonts.check('16px "BIZ UDPGothic"', sample);
  // (b) What the page's own font draws: two different kanji must differ from each other and
  // from a glyph no font has; two glyphs no font has (the control) must look the same, or
  // this way of telling a box from a character proves nothing here.
  const cs = getComputedStyle(document.body);
  const font = `${cs.fontWeight} 48px ${cs.fontFamily}`;
  await document.fonts.load(font, '訪問');
  const draw = (ch) => {
    const c = document.createElement('canvas');
    c.width = 64;
    c.height = 64;
    const g = c.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, 64, 64);
    g.fillStyle = '#000';
    g.font = font;
    g.textBaseline = 'top';
    g.fillText(ch, 8, 8);
    const px = g.getImageData(0, 0, 64, 64).data;
    let ink = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] < 128) ink++;
    return { px, ink };
  };
  const same = (a, b) => a.px.length === b.px.length && a.px.every((v, i) => v === b.px[i]);
  const [ho, mon, miss1, miss2] = ['訪', '問', '\u0378', '\u0379'].map(draw);
  done({
    family: cs.fontFamily,
    bundledFaces: bundled,
    check: checked,
    inkHo: ho.ink,
    inkMon: mon.ink,
    kanjiDiffer: !same(ho, mon),
    kanjiNotMissing: !same(ho, miss1) && !same(mon, miss1),
    controlSame: same(miss1, miss2),
  });
})().catch((e) => done({ error: String(e) }));
"#;

/// Japanese text renders with real glyphs, not boxes: the bundled BIZ UDPGothic loads, and the
/// page's font draws two different kanji differently (and unlike a missing glyph).
fn assert_japanese_renders(app: &AppSession) {
    let r = app.script_async(GLYPH_CHECK, serde_json::json!([])).expect("glyph check runs");
    assert!(r.get("error").is_none(), "glyph check failed to run: {r}");
    assert!(r["family"].as_str().is_some_and(|f| f.contains("BIZ UDPGothic")), "the bundled font is first: {r}");
    assert!(r["bundledFaces"].as_u64().unwrap_or(0) > 0, "BIZ UDPGothic did not load for Japanese text: {r}");
    assert_eq!(r["check"], true, "document.fonts.check says the font is not ready: {r}");
    assert_eq!(r["controlSame"], true, "two missing glyphs drew differently: the tofu check proves nothing here: {r}");
    assert!(r["inkHo"].as_u64().unwrap_or(0) > 20 && r["inkMon"].as_u64().unwrap_or(0) > 20, "kanji drew blank: {r}");
    assert_eq!(r["kanjiDiffer"], true, "訪 and 問 drew the same: Japanese shows as boxes (tofu): {r}");
    assert_eq!(r["kanjiNotMissing"], true, "a kanji drew like a missing glyph: {r}");
}

fn holder_name(id: &str) -> String {
    let h = houmon_nfc::synthetic_holders().into_iter().find(|h| h.id == id).expect("holder");
    format!("{} {}", h.family_name, h.given_name)
}

fn row(name: &str) -> String {
    format!("[data-testid='visit-row'][data-patient='{name}']")
}

/// The row of a patient by id (the name changes to the official spelling after a check).
fn row_of(app: &AppSession, name: &str) -> String {
    let id = app.wait(&row(name), T).expect("patient row");
    let pid = app.attr(&id, "data-patient-id").unwrap().expect("patient id");
    format!("[data-testid='visit-row'][data-patient-id='{pid}']")
}

#[test]
fn first_visit_with_pin_wrong_pin_then_requery() {
    let Some(Session { _turn, bin, shots }) = session() else { return };
    let data = tempfile::tempdir().expect("tempdir");
    let display = Display::get().expect("display");
    let app = AppSession::launch(&display, &bin, &[("HOUMON_DATA_DIR", data.path())]).expect("app starts");

    // 今日の訪問 with the training banner; vc-01 is a first visit.
    app.wait("[data-testid='visit-row']", T).expect("today's visits shown");
    // Before anything else: Japanese must be readable (the screenshots below too).
    assert_japanese_renders(&app);
    app.wait_text("[data-testid='training-banner']", "訓練モード", T).expect("training banner");
    let r01 = row_of(&app, &holder_name("vc-01"));
    let r03 = row_of(&app, &holder_name("vc-03"));
    let badge = app.wait(&format!("{r01} [data-testid='check-badge']"), T).expect("vc-01 row");
    assert_eq!(app.attr(&badge, "data-reason").unwrap().as_deref(), Some("first_visit"));
    app.screenshot(&shots.join("01-today.png")).expect("shot");

    // Wizard: consent → PIN mode → card → PIN pad with 3 tries.
    app.tap(&format!("{r01} [data-testid='card-check']")).unwrap();
    app.tap("[data-testid='consent-next']").unwrap();
    app.tap("[data-testid='mode-pin']").unwrap();
    app.screenshot(&shots.join("02-wizard-identity.png")).expect("shot");
    app.tap("[data-testid='identity-next']").unwrap();
    app.wait_text("[data-testid='tries-left']", "残り 3 回", T).expect("3 tries before any PIN");
    assert_fits(&app, "[data-testid='pin-submit']", "the PIN pad's send");

    // A wrong PIN: the card says 2 tries left, in Japanese, with the next step.
    for d in "9999".chars() {
        app.tap(&format!("[data-testid='key-{d}']")).unwrap();
    }
    app.tap("[data-testid='pin-submit']").unwrap();
    app.wait_text("[data-testid='tries-left']", "残り 2 回", T).expect("2 tries left after a wrong PIN");
    let err = app.wait_text("[data-testid='error']", "残り2回", T).expect("wrong PIN message");
    assert!(err.contains("暗証番号が違います"), "{err}");
    app.screenshot(&shots.join("03-wrong-pin.png")).expect("shot");

    // The right PIN (vc-01: 1234): qualification confirmed, consent now valid.
    for d in "1234".chars() {
        app.tap(&format!("[data-testid='key-{d}']")).unwrap();
    }
    app.tap("[data-testid='pin-submit']").unwrap();
    let result = app.wait("[data-testid='result']", T).expect("result");
    assert_eq!(app.attr(&result, "data-outcome").unwrap().as_deref(), Some("valid"), "{}", app.text(&result).unwrap());
    app.screenshot(&shots.join("04-first-visit-result.png")).expect("shot");
    app.tap("[data-testid='result-done']").unwrap();

    // 再照会 is now offered for the same patient and answers from the simulator.
    app.tap(&format!("{r01} [data-testid='requery']")).expect("re-query offered after the first visit");
    let answer = app.wait(&format!("{r01} [data-testid='requery-result'] [data-outcome]"), T).expect("re-query answer");
    assert_eq!(app.attr(&answer, "data-outcome").unwrap().as_deref(), Some("valid"), "{}", app.text(&answer).unwrap());
    app.screenshot(&shots.join("05-requery.png")).expect("shot");

    // The chart shows the insurance, 負担割合 and the consent countdown.
    app.tap(&format!("{r01} [data-testid='open-chart']")).unwrap();
    app.wait("[data-testid='consent-countdown']", T).expect("consent countdown on the chart");
    let copay = app.wait("[data-testid='copay']", T).unwrap();
    assert!(app.text(&copay).unwrap().contains('割'), "負担割合 shown");
    app.screenshot(&shots.join("06-chart.png")).expect("shot");

    // A 往診 patient always needs the card, and says why.
    app.tap("[data-testid='nav-today']").unwrap();
    let urgent = app.wait(&format!("{r03} [data-testid='check-badge']"), T).expect("往診 row");
    assert_eq!(app.attr(&urgent, "data-reason").unwrap().as_deref(), Some("urgent_call"));

    // Back office screens render.
    app.tap("[data-testid='nav-backoffice']").unwrap();
    app.wait("[data-testid='roster']", T).expect("roster planner");
    app.screenshot(&shots.join("07-roster.png")).expect("shot");
    app.tap("[data-testid='bo-audit']").unwrap();
    app.wait_text("[data-testid='audit']", "監査ログの連鎖は正常", T).expect("audit chain ok");
    app.screenshot(&shots.join("08-audit.png")).expect("shot");
    app.tap("[data-testid='bo-queue']").unwrap();
    app.wait_text("[data-testid='queue']", "回答済み", T).expect("the re-query appears in the queue");
    app.close();
}

fn open_note(app: &AppSession, name: &str) {
    app.tap(&format!("{} [data-testid='open-note']", row(name))).unwrap();
    app.wait("[data-testid='note-editor']", T).expect("note editor");
}

#[test]
fn note_survives_sigkill() {
    let Some(Session { _turn, bin, shots }) = session() else { return };
    let data = tempfile::tempdir().expect("tempdir");
    let display = Display::get().expect("display");
    let env: [(&str, &Path); 1] = [("HOUMON_DATA_DIR", data.path())];
    let name = holder_name("vc-02");
    let text = "夜間よく眠れたとのこと。SIGKILL試験";

    let app = AppSession::launch(&display, &bin, &env).expect("app starts");
    app.wait(&row(&name), T).expect("vc-02 row");
    open_note(&app, &name);
    let s = app.wait("[data-testid='soap-s']", T).unwrap();
    app.type_text(&s, text).unwrap();
    // Autosave: wait for the durable acknowledgement, then kill without warning.
    app.wait("[data-testid='save-state'][data-state='saved']", T).expect("autosaved");
    app.screenshot(&shots.join("09-note-saved.png")).expect("shot");
    let pids = app_driver::app_pids(&bin, data.path());
    assert_eq!(pids.len(), 1, "exactly one app process for this data dir: {pids:?}");
    assert!(app_driver::kill_9(pids[0]), "SIGKILL delivered");
    std::thread::sleep(Duration::from_millis(300));
    drop(app);

    let app = AppSession::launch(&display, &bin, &env).expect("app restarts");
    app.wait(&row(&name), T).expect("vc-02 row after restart");
    open_note(&app, &name);
    let start = std::time::Instant::now();
    loop {
        let s = app.wait("[data-testid='soap-s']", T).unwrap();
        if app.property(&s, "value").unwrap().as_str() == Some(text) {
            break;
        }
        assert!(start.elapsed() < T, "the note written before SIGKILL is back in the editor");
        std::thread::sleep(Duration::from_millis(50));
    }
    app.screenshot(&shots.join("10-note-after-restart.png")).expect("shot");
    app.close();
}

#[test]
fn visual_check_with_the_chip_photo_then_another_staff_signs_in() {
    let Some(Session { _turn, bin, shots }) = session() else { return };
    let data = tempfile::tempdir().expect("tempdir");
    let display = Display::get().expect("display");
    let app = AppSession::launch(&display, &bin, &[("HOUMON_DATA_DIR", data.path())]).expect("app starts");

    // 目視 at a first visit: 照合番号B from the card front opens the chip photo.
    let holder = houmon_nfc::synthetic_holders().into_iter().find(|h| h.id == "vc-02").expect("vc-02");
    // The day's list first: a tab tapped while the app is still starting can be lost.
    row_of(&app, &holder_name("vc-02"));
    app.tap("[data-testid='nav-settings']").unwrap();
    app.tap("[data-testid='demo-card-vc-02']").unwrap();
    app.tap("[data-testid='nav-today']").unwrap();
    let r02 = row_of(&app, &holder_name("vc-02"));
    app.tap(&format!("{r02} [data-testid='card-check']")).unwrap();
    app.tap("[data-testid='consent-next']").unwrap();
    app.tap("[data-testid='mode-visual']").unwrap();
    app.tap("[data-testid='identity-next']").unwrap();
    let input = app.wait("[data-testid='codeb-input']", T).expect("照合番号B input");
    app.type_text(&input, &holder.verification_code_b()).unwrap();
    app.tap("[data-testid='codeb-show']").unwrap();
    app.wait("[data-testid='face-photo'] img", T).expect("the chip photo is shown");
    let badge = app.wait("[data-testid='face-authenticity']", T).expect("the photo's authenticity");
    assert_eq!(
        app.attr(&badge, "data-authenticity").unwrap().as_deref(),
        Some("verified"),
        "the training issuer signed the virtual card's face data"
    );
    assert_fits(&app, "[data-testid='visual-send']", "目視's confirm and send, beside the photo");
    app.screenshot(&shots.join("15-visual-photo.png")).expect("shot");
    app.tap("[data-testid='visual-attest']").unwrap();
    app.tap("[data-testid='visual-send']").unwrap();
    let result = app.wait("[data-testid='result']", T).expect("result");
    assert_eq!(app.attr(&result, "data-outcome").unwrap().as_deref(), Some("valid"), "{}", app.text(&result).unwrap());
    app.tap("[data-testid='result-done']").unwrap();

    // Lock; a nurse signs in with the training PIN and sees her own day.
    app.tap("[data-testid='lock-now']").unwrap();
    app.wait("[data-testid='staff-option']", T).expect("staff list");
    let nurse = app
        .find_all("[data-testid='staff-option']")
        .unwrap()
        .into_iter()
        .find(|o| app.text(o).unwrap_or_default().contains("看護師"))
        .expect("a nurse on the sign-in list");
    let nurse_name = app.text(&nurse).unwrap();
    app.click(&nurse).unwrap();
    let pin = app.wait("[data-testid='staff-pin']", T).unwrap();
    app.type_text(&pin, "0000").unwrap();
    app.screenshot(&shots.join("16-sign-in.png")).expect("shot");
    app.tap("[data-testid='unlock']").unwrap();
    let who = nurse_name.split('(').next().unwrap_or(&nurse_name).to_string();
    app.wait_text("[data-testid='whoami']", &who, T).expect("the header names the nurse");
    assert!(app.find_all(&row(&holder_name("vc-01"))).unwrap().is_empty(), "not the training doctor's visits");
    app.close();
}

/// A tablet's data dir and the policy MDM would push: training off, the relay, the managed
/// one-time enrollment code.
fn managed_tablet(tmp: &Path, relay: &str, code: &str) -> (PathBuf, PathBuf) {
    let policies = tmp.join("policies");
    app_driver::write_managed_policy(
        &policies,
        &serde_json::json!({"relayUrl": relay, "trainingMode": "off", "enrollmentCode": code}),
    );
    (tmp.join("app"), policies)
}

#[test]
fn managed_device_enrolls_by_policy_then_revocation_returns_to_enrollment() {
    use houmon_tests::bench_sync::{RelayProc, SyncDevice, relay_admin};
    let Some(Session { _turn, bin, shots }) = session() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");

    // The clinic on a real relay: the office PC sets up the clinic document and issues the
    // tablet's one-time code (what MDM would push as the managed enrollment code).
    let db = tmp.path().join("relay.db");
    let out = houmon_tests::bench_sync::create_clinic_json(&db, "架空在宅クリニック").expect("clinic");
    let field = |k: &str| out[k].as_str().map(str::to_string).expect("admin output");
    let (clinic, office_code) = (field("clinic"), field("code"));
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let mut office =
        SyncDevice::enroll(&tmp.path().join("office"), relay.http(), &office_code, "事務所PC").expect("office");
    let clinic_id = houmon_model::ClinicId::new();
    office.store.init_clinic(&office.actor, clinic_id, "架空在宅クリニック", "3410712362").expect("clinic doc");
    office.sync().expect("office sync");
    let code = office.sync.create_enrollment_code(houmon_sync_proto::Role::Member, 3600).expect("tablet code");

    let (data, policies) = managed_tablet(tmp.path(), &relay.base(), &code);
    let display = Display::get().expect("display");
    let env: [(&str, &Path); 2] = [("HOUMON_DATA_DIR", &data), ("HOUMON_POLICY_DIR", &policies)];
    let app = AppSession::launch(&display, &bin, &env).expect("app starts");

    // Enrolled on its own with the managed code: no enrollment screen, no training banner,
    // the clinic's name from the synced clinic document, and the indicator at 最新.
    let sync = app.wait("[data-testid='sync-status'][data-state='online']", T).expect("sync indicator reaches 最新");
    assert!(app.text(&sync).unwrap().starts_with("最新("), "{}", app.text(&sync).unwrap());
    app.wait_text(".brand small", "架空在宅クリニック", T).expect("the clinic's name in the header");
    // Fail closed: locked until someone signs in; with no staff listed yet it says so.
    app.wait("[data-testid='lock']", T).expect("the app's sign-in, not the enrollment screen");
    app.wait("[data-testid='waiting-for-staff']", T).expect("no staff yet: the lock screen says what it waits for");
    assert!(app.find_all("[data-testid='today']").unwrap().is_empty(), "nothing shown before a sign-in");
    assert!(app.find_all("[data-testid='enroll']").unwrap().is_empty(), "enrolled: no enrollment screen");
    assert!(app.find_all("[data-testid='training-banner']").unwrap().is_empty(), "not training mode");
    app.screenshot(&shots.join("11-enrolled.png")).expect("shot");

    // The back office revokes the tablet at the relay's admin path.
    let devices = relay_admin(&db, &["devices", "--clinic", &clinic]).expect("devices");
    let devices: serde_json::Value = serde_json::from_str(devices.trim()).expect("one JSON object");
    let tablet = devices["devices"]
        .as_array()
        .and_then(|l| {
            l.iter().find(|d| d["label"].as_str().is_some_and(|s| s.contains("タブレット")) && d["revoked"] == false)
        })
        .and_then(|d| d["id"].as_str())
        .unwrap_or_else(|| panic!("the tablet is listed at the relay:\n{devices}"))
        .to_string();
    relay_admin(&db, &["revoke", "--device", &tablet]).expect("revoke");

    // At its next sync the app is refused, erases its data and keys, and shows the
    // enrollment screen with the reason and the next step.
    let reason = app.wait_text("[data-testid='enroll-reason']", "登録が取り消された", T).expect("revocation reason");
    assert!(reason.contains("再登録"), "{reason}");
    let sync = app.wait("[data-testid='sync-status'][data-state='refused']", T).expect("indicator says refused");
    assert!(app.text(&sync).unwrap().contains("失効"), "{}", app.text(&sync).unwrap());
    // The header forgets the clinic whose data was erased.
    let start = std::time::Instant::now();
    while app.text(&app.wait(".brand small", T).unwrap()).unwrap().contains("架空在宅クリニック") {
        assert!(start.elapsed() < T, "the wiped clinic's name is still in the header");
        std::thread::sleep(Duration::from_millis(100));
    }
    app.screenshot(&shots.join("12-revoked.png")).expect("shot");
    app.close();
    let left: Vec<String> = std::fs::read_dir(data.join("device"))
        .expect("device dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["device.json".to_string()], "data and keys erased");
}

#[test]
fn managed_device_requery_waits_for_the_clinic_gateway() {
    use houmon_gateway::Gateway;
    use houmon_model::*;
    use houmon_tests::bench_sync::{RelayProc, SyncDevice, create_clinic};
    let Some(Session { _turn, bin, shots }) = session() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    const INSTITUTION: &str = "3410712362";

    // The office PC: the clinic, a nurse with her staff PIN, a patient visited today whose
    // first visit (signed with the card) the gateway has answered; it also runs the gateway.
    let db = tmp.path().join("relay.db");
    let admin_code = create_clinic(&db, "架空在宅クリニック").expect("clinic");
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let mut office =
        SyncDevice::enroll(&tmp.path().join("office"), relay.http(), &admin_code, "事務所PC").expect("office");
    let a = office.actor;
    office.store.init_clinic(&a, ClinicId::new(), "架空在宅クリニック", INSTITUTION).expect("clinic doc");
    let nurse = Staff {
        id: StaffId::new(),
        name: "訪問 看護師".into(),
        kana: "ホウモン カンゴシ".into(),
        role: StaffRole::Nurse,
        qualifications: String::new(),
        active: true,
    };
    office.store.put_staff(&a, &nurse).expect("staff");
    // The administrator's one-time code; the nurse chooses her PIN on the tablet with it.
    let setup =
        office.store.issue_pin_setup(&a, nurse.id, houmon_store::staff_pin::SetupScope::Reset).expect("set-up code");
    let patient =
        office.store.register_patient(&a, &Demographics { name: "在宅 太郎".into(), ..Default::default() }).unwrap();
    let today = houmon_onshi::consent::jst_date(&chrono::Utc::now());
    let at = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).expect("time");
    let visit = RosterVisit {
        id: VisitId::new(),
        date: today,
        start: at(10, 0),
        end: at(10, 45),
        patient,
        staff: vec![nurse.id],
        kind: VisitKind::HomeMedical,
        status: VisitStatus::Planned,
        cancel_reason: String::new(),
        series: None,
    };
    office.store.plan_visit(&a, &visit).expect("visit");
    office
        .store
        .request_qualification_query(&a, patient, &houmon_tests::first_visit::signed_first_visit("vc-01", INSTITUTION))
        .expect("first visit");
    let gateway = Gateway::simulator(&mut office.store, a).expect("gateway");
    let first = gateway.run_once(&mut office.store, &mut office.sync).expect("gateway round");
    assert_eq!((first.answered, first.failed), (1, 0), "{first:?}");
    let code = office.sync.create_enrollment_code(houmon_sync_proto::Role::Member, 3600).expect("tablet code");

    let (data, policies) = managed_tablet(tmp.path(), &relay.base(), &code);
    let display = Display::get().expect("display");
    let env: [(&str, &Path); 2] = [("HOUMON_DATA_DIR", &data), ("HOUMON_POLICY_DIR", &policies)];
    let app = AppSession::launch(&display, &bin, &env).expect("app starts");
    app.wait("[data-testid='sync-status'][data-state='online']", T).expect("enrolled and synced");

    // Fail closed: the enrolled tablet starts locked. The nurse has no PIN on it yet: she
    // enters the set-up code and chooses her PIN here (none was synced from the office).
    app.wait("[data-testid='lock']", T).expect("an enrolled tablet starts locked");
    app.wait_text("[data-testid='staff-list']", "訪問 看護師", T).expect("the clinic's staff to choose from");
    app.tap("[data-testid='staff-option']").unwrap();
    let code = app.wait("[data-testid='setup-code']", T).expect("set-up mode for a person without a PIN here");
    app.type_text(&code, &setup.code).unwrap();
    for field in ["new-pin", "new-pin-again"] {
        let f = app.wait(&format!("[data-testid='{field}']"), T).unwrap();
        app.type_text(&f, "482913").unwrap();
    }
    assert_fits(&app, "[data-testid='unlock']", "the set-up sign-in button");
    app.screenshot(&shots.join("20-pin-setup.png")).expect("shot");
    app.tap("[data-testid='unlock']").unwrap();
    app.wait_text("[data-testid='whoami']", "訪問 看護師", T).expect("signed in as the nurse");

    // Her visit: consent from the first visit, so 再照会 — sent to the clinic's gateway.
    let row = format!("[data-testid='visit-row'][data-patient-id='{patient}']");
    app.tap(&format!("{row} [data-testid='requery']")).expect("re-query offered");
    let answer = app.wait(&format!("{row} [data-testid='requery-result'] [data-outcome]"), T).expect("reply");
    assert_eq!(app.attr(&answer, "data-outcome").unwrap().as_deref(), Some("requested"));
    assert!(app.text(&answer).unwrap().contains("照会中です。事務所の資格確認端末が回答すると表示されます"));
    app.screenshot(&shots.join("13-requery-pending.png")).expect("shot");

    // The gateway answers once the tablet's request has reached the relay…
    let start = std::time::Instant::now();
    loop {
        let r = gateway.run_once(&mut office.store, &mut office.sync).expect("gateway round");
        if r.answered + r.failed > 0 {
            assert_eq!((r.answered, r.failed), (1, 0), "{r:?}");
            break;
        }
        assert!(start.elapsed() < T, "the tablet's request never reached the gateway");
        std::thread::sleep(Duration::from_millis(200));
    }
    // …and the tablet shows it after its next sync.
    let note = app
        .wait(&format!("{row} [data-testid='qualification-request'][data-state='answered']"), T)
        .expect("the answer arrives by sync");
    assert_eq!(app.attr(&note, "data-code").unwrap().as_deref(), Some("valid"));
    assert!(app.text(&note).unwrap().contains("有効"), "{}", app.text(&note).unwrap());
    app.screenshot(&shots.join("14-requery-answered.png")).expect("shot");
    app.tap("[data-testid='nav-backoffice']").unwrap();
    app.tap("[data-testid='bo-queue']").unwrap();
    app.wait("[data-testid='queue-state'][data-state='answered']", T).expect("answered in the queue");
    app.close();
}

/// The screen's main action is inside the 1280×800 window without scrolling, and nothing is
/// wider than the window.
fn assert_fits(app: &AppSession, css: &str, what: &str) {
    app.wait(css, T).unwrap_or_else(|e| panic!("{what}: {e}"));
    let r = app
        .script(
            "window.scrollTo(0, 0); const b = document.querySelector(arguments[0]).getBoundingClientRect();
             return {bottom: b.bottom, right: b.right, h: window.innerHeight, w: window.innerWidth,
                     sw: document.documentElement.scrollWidth};",
            serde_json::json!([css]),
        )
        .expect("measure");
    let n = |k: &str| r[k].as_f64().unwrap_or(f64::MAX);
    assert!(n("w") >= 1270.0 && n("h") >= 700.0, "the window is not 1280×800: {r}");
    assert!(n("bottom") <= n("h") && n("right") <= n("w"), "{what} is outside the window without scrolling: {r}");
    assert!(n("sw") <= n("w"), "{what}: the screen is wider than the window: {r}");
}

/// `<html>`'s language and whether large text is on, as the webview has them.
fn lang_and_size(app: &AppSession) -> (String, bool) {
    let r = app
        .script(
            "return {lang: document.documentElement.lang, large: document.documentElement.classList.contains('large')};",
            serde_json::json!([]),
        )
        .expect("read <html>");
    (r["lang"].as_str().unwrap_or("").to_string(), r["large"] == true)
}

#[test]
fn english_and_large_text_are_kept_across_a_restart() {
    let Some(Session { _turn, bin, shots }) = session() else { return };
    let data = tempfile::tempdir().expect("tempdir");
    let display = Display::get().expect("display");
    let env: [(&str, &Path); 1] = [("HOUMON_DATA_DIR", data.path())];

    let app = AppSession::launch(&display, &bin, &env).expect("app starts");
    app.wait_text("[data-testid='nav-today']", "今日の訪問", T).expect("Japanese first");
    assert_japanese_renders(&app);
    assert_eq!(lang_and_size(&app), ("ja".into(), false), "Japanese, normal text on a fresh device");
    // Large text in Japanese: the day's list and the first-visit wizard still fit.
    app.tap("[data-testid='large-text']").unwrap();
    let r01 = row_of(&app, &holder_name("vc-01"));
    assert_fits(&app, &format!("{r01} [data-testid='card-check']"), "大きい文字: 今日の訪問's card check");
    app.screenshot(&shots.join("17-large-text.png")).expect("shot");
    app.tap(&format!("{r01} [data-testid='card-check']")).unwrap();
    assert_fits(&app, "[data-testid='consent-next']", "大きい文字: the consent step's next");
    app.tap("[data-testid='consent-next']").unwrap();
    assert_fits(&app, "[data-testid='identity-next']", "大きい文字: the identity step's next");
    app.screenshot(&shots.join("18-large-text-wizard.png")).expect("shot");

    // English too; the settings page reads both back from the device's user settings.
    app.tap("[data-testid='lang']").unwrap();
    app.wait_text("[data-testid='nav-today']", "Today", T).expect("English");
    app.tap("[data-testid='nav-settings']").unwrap();
    app.wait_text("[data-testid='value-uiLanguage']", "English", T).expect("the language is saved");
    app.wait_text("[data-testid='value-largeText']", "Yes", T).expect("large text is saved");
    app.close();

    let app = AppSession::launch(&display, &bin, &env).expect("app restarts");
    app.wait("[data-testid='visit-row']", T).expect("today's visits after the restart");
    app.wait_text("[data-testid='nav-today']", "Today", T).expect("still English after the restart");
    let start = std::time::Instant::now();
    while lang_and_size(&app) != ("en".into(), true) {
        assert!(start.elapsed() < T, "after the restart: {:?}, not English with large text", lang_and_size(&app));
        std::thread::sleep(Duration::from_millis(50));
    }
    let r01 = row_of(&app, &holder_name("vc-01"));
    assert_fits(&app, &format!("{r01} [data-testid='card-check']"), "large text: Today's card check");
    app.screenshot(&shots.join("19-english-large-after-restart.png")).expect("shot");
    // The sign-in screen in large text: its button is reachable too.
    app.tap("[data-testid='lock-now']").unwrap();
    assert_fits(&app, "[data-testid='unlock']", "large text: sign in");
    app.close();
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
            serde_json::json!([css, value]),
        )
        .expect("set the field");
    kept.as_str().unwrap_or_default().to_string()
}

/// Tap something inside one of the screen's scrolling lists or form bodies: scrolled into view
/// first, as a finger would (WebKitWebDriver scrolls only the page, which does not scroll here).
fn tap_in_view(app: &AppSession, css: &str) {
    app.wait(css, T).unwrap_or_else(|e| panic!("{css}: {e}"));
    app.script("document.querySelector(arguments[0]).scrollIntoView({block: 'center'});", serde_json::json!([css]))
        .expect("scroll into view");
    app.tap(css).unwrap_or_else(|e| panic!("tap {css}: {e}"));
}

/// How many rows of the month view are this patient's, and whether every row shown names
/// `staff` among its staff.
fn plan_rows(app: &AppSession, patient: &str, staff: &str) -> (u64, bool) {
    let r = app
        .script(
            "const rows = Array.from(document.querySelectorAll(\"[data-testid='plan-row']\"));
             return {mine: rows.filter((r) => r.dataset.patient === arguments[0]).length,
                     all: rows.every((r) => r.querySelector(\"[data-testid='plan-staff']\").textContent.includes(arguments[1]))};",
            serde_json::json!([patient, staff]),
        )
        .expect("count rows");
    (r["mine"].as_u64().unwrap_or(0), r["all"] == true)
}

#[test]
fn back_office_registers_a_patient_and_plans_weekly_visits() {
    let Some(Session { _turn, bin, shots }) = session() else { return };
    let data = tempfile::tempdir().expect("tempdir");
    let display = Display::get().expect("display");
    let app = AppSession::launch(&display, &bin, &[("HOUMON_DATA_DIR", data.path())]).expect("app starts");
    // The day's list first: a tab tapped while the app is still starting can be lost.
    app.wait("[data-testid='visit-row']", T).expect("today's visits shown");
    app.tap("[data-testid='nav-backoffice']").unwrap();
    app.tap("[data-testid='bo-patients']").unwrap();
    app.wait("[data-testid='patient-list']", T).expect("the patient list");

    // 新規登録 through the form.
    let name = "訪問 試験子";
    app.tap("[data-testid='patient-new']").unwrap();
    app.wait("[data-testid='patient-form']", T).expect("the registration form");
    tap_in_view(&app, "[data-testid='pf-sex-female']");
    tap_in_view(&app, "[data-testid='pf-iddoc-myNumberCard']");
    assert_eq!(set_input(&app, "[data-testid='pf-birthDate']", "1940-04-01"), "1940-04-01");
    for (field, value) in [
        ("name", name),
        ("kana", "ホウモン シケンコ"),
        ("address", "架空県架空市本町1-2-3 架空ハイツ101"),
        ("phone", "03-0000-1234"),
        ("keyPerson", "訪問 一郎(長男)"),
        ("keyPersonPhone", "090-0000-5678"),
        ("careManager", "介護 花子"),
        ("careOffice", "架空ケアプランセンター"),
        ("primaryDoctor", "訓練 医師"),
    ] {
        let f = app.wait(&format!("[data-testid='pf-{field}']"), T).unwrap();
        app.type_text(&f, value).unwrap();
    }
    assert_fits(&app, "[data-testid='patient-save']", "the patient form's save");
    app.screenshot(&shots.join("13-patient-form.png")).expect("shot");
    app.tap("[data-testid='patient-save']").unwrap();
    app.wait_text("[data-testid='patient-saved']", "保存しました", T).expect("registered");
    app.wait("[data-testid='patient-history']", T).expect("the change history under the form");
    app.wait(&format!("[data-testid='patient-row'][data-patient='{name}']"), T).expect("listed under 在宅中");
    // An edit: the change history under the form names the field, before → after.
    assert_eq!(set_input(&app, "[data-testid='pf-phone']", "03-0000-9999"), "03-0000-9999");
    app.tap("[data-testid='patient-save']").unwrap();
    app.wait_text("[data-testid='patient-history']", "電話: 03-0000-1234 → 03-0000-9999", T)
        .expect("the edit in the history");
    app.script(
        "document.querySelector(\"[data-testid='patient-history']\").scrollIntoView({block: 'start'});",
        serde_json::json!([]),
    )
    .expect("scroll to the history");
    app.screenshot(&shots.join("13-patient-history.png")).expect("shot");
    app.tap("[data-testid='patient-import']").unwrap();
    app.wait("[data-testid='csv-help']", T).expect("the CSV columns beside the import");
    assert_fits(&app, "[data-testid='csv-run']", "the CSV import button");
    app.screenshot(&shots.join("13-patient-import.png")).expect("shot");

    // 訪問計画: 毎週 火・金 for four weeks, for the training doctor.
    let today = houmon_onshi::consent::jst_date(&chrono::Utc::now());
    let until = today + chrono::Duration::days(27);
    let ymd = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    app.tap("[data-testid='bo-plan']").unwrap();
    app.wait("[data-testid='visit-plan']", T).expect("the visit plan");
    let doctor = app.wait("[data-testid='scope-staff'][data-name='訓練 医師']", T).expect("the training doctor");
    let doctor_id = app.attr(&doctor, "data-staff-id").unwrap().expect("staff id");
    app.tap("[data-testid='plan-add']").unwrap();
    app.wait("[data-testid='plan-form']", T).expect("the plan form");
    tap_in_view(&app, &format!("[data-testid='plan-patient'][data-name='{name}']"));
    tap_in_view(&app, "[data-testid='plan-staff'][data-name='訓練 医師']");
    assert_eq!(set_input(&app, "[data-testid='plan-date']", &ymd(today)), ymd(today));
    assert_eq!(set_input(&app, "[data-testid='plan-start']", "13:00"), "13:00");
    assert_eq!(set_input(&app, "[data-testid='plan-end']", "13:40"), "13:40");
    tap_in_view(&app, "[data-testid='repeat-weekly']");
    tap_in_view(&app, "[data-testid='weekday-1']"); // 火
    tap_in_view(&app, "[data-testid='weekday-4']"); // 金
    assert_eq!(set_input(&app, "[data-testid='plan-until']", &ymd(until)), ymd(until));
    assert_fits(&app, "[data-testid='plan-save']", "the plan form's 予定を作成");
    app.screenshot(&shots.join("13-plan-form.png")).expect("shot");
    app.tap("[data-testid='plan-save']").unwrap();
    // Four weeks hold each weekday four times: 8 visits.
    app.wait_text("[data-testid='plan-notice']", "8件の訪問を予定しました", T).expect("8 visits planned");

    // The doctor's month view: only the doctor's visits, the new ones among them, in this
    // month and (when the four weeks run into it) the next.
    tap_in_view(&app, &format!("[data-testid='scope-staff'][data-staff-id='{doctor_id}']"));
    app.wait_text("[data-testid='scope-label']", "訓練 医師", T).expect("the doctor's plan");
    let mut seen = 0;
    let mut month = today.format("%Y-%m").to_string();
    let last = until.format("%Y-%m").to_string();
    loop {
        app.wait(&format!("[data-testid='plan-month'][data-month='{month}'][data-staff='{doctor_id}']"), T)
            .unwrap_or_else(|e| panic!("{month} for the doctor: {e}"));
        let (mine, only_doctor) = plan_rows(&app, name, "訓練 医師");
        assert!(only_doctor, "{month}: a visit of someone else in the doctor's month view");
        if seen == 0 {
            assert!(mine > 0, "{month}: the planned visits are in the doctor's month view");
            assert_fits(&app, "[data-testid='plan-add']", "the month view's 予定を追加");
            // The first new visit's day at the top of the list.
            app.script(
                "document.querySelector(arguments[0]).closest(\"[data-testid='plan-day']\").scrollIntoView({block: 'start'});",
                serde_json::json!([format!("[data-testid='plan-row'][data-patient='{name}']")]),
            )
            .expect("scroll to the new visits");
            app.screenshot(&shots.join("13-plan-month.png")).expect("shot");
        }
        seen += mine;
        if month == last {
            break;
        }
        app.tap("[data-testid='month-next']").unwrap();
        let first = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").expect("month");
        month = (first + chrono::Months::new(1)).format("%Y-%m").to_string();
    }
    assert_eq!(seen, 8, "all eight visits in the doctor's month views");

    // Large text: the month view's and the forms' main actions still fit.
    app.tap("[data-testid='large-text']").unwrap();
    app.wait("html.large", T).expect("large text");
    assert_fits(&app, "[data-testid='plan-add']", "大きい文字: 予定を追加");
    app.screenshot(&shots.join("13-plan-month-large.png")).expect("shot");
    app.tap("[data-testid='plan-add']").unwrap();
    tap_in_view(&app, "[data-testid='repeat-monthly']");
    assert_fits(&app, "[data-testid='plan-save']", "大きい文字: 予定を作成");
    app.screenshot(&shots.join("13-plan-form-large.png")).expect("shot");
    app.tap("[data-testid='plan-cancel']").unwrap();
    app.tap("[data-testid='bo-patients']").unwrap();
    tap_in_view(&app, &format!("[data-testid='patient-row'][data-patient='{name}'] [data-testid='patient-open']"));
    app.wait("[data-testid='patient-history']", T).expect("the patient's form with its history");
    assert_fits(&app, "[data-testid='patient-save']", "大きい文字: the patient form's save");
    app.screenshot(&shots.join("13-patient-form-large.png")).expect("shot");
    app.close();
}

/// `houmon-clinic --data DIR --key-file-fallback ARGS…`: (exit status, its one JSON object).
fn clinic_cli(data: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let out = std::process::Command::new(houmon_tests::bench_sync::clinic_bin())
        .arg("--data")
        .arg(data)
        .arg("--key-file-fallback")
        .args(args)
        .output()
        .expect("run houmon-clinic");
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!("{args:?}: not one JSON object ({e}): {text:?}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code().unwrap_or(-1), v)
}

fn clinic_ok(data: &Path, args: &[&str]) -> serde_json::Value {
    let (rc, v) = clinic_cli(data, args);
    assert!(rc == 0 && v.get("error").is_none(), "{args:?}: {v}");
    v
}

/// The device rows the 端末 tab shows: (id, label, this device, revoked).
fn device_rows(app: &AppSession) -> Vec<(String, String, bool, bool)> {
    let r = app
        .script(
            "return Array.from(document.querySelectorAll(\"[data-testid='device-row']\")).map((r) => [
               r.dataset.deviceId, r.querySelector(\"[data-testid='device-label']\").textContent,
               r.dataset.thisDevice === 'true', r.dataset.revoked === 'true']);",
            serde_json::json!([]),
        )
        .expect("read the device list");
    r.as_array()
        .map(|rows| {
            rows.iter()
                .map(|x| {
                    let s = |i: usize| x[i].as_str().unwrap_or_default().to_string();
                    (s(0), s(1), x[2] == true, x[3] == true)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn admin_tablet_issues_a_code_then_revokes_the_device_it_enrolled() {
    use houmon_tests::bench_sync::{RelayProc, create_clinic_json};
    let Some(Session { _turn, bin, shots }) = session() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");

    // The clinic founded with what a user has: the relay's founding code and the shipped CLI
    // on the office PC's data dir; an administrator with her one-time set-up code; an
    // admin-role enrollment code for the tablet (what MDM would push).
    let db = tmp.path().join("relay.db");
    let founded = create_clinic_json(&db, "架空在宅クリニック").expect("create-clinic");
    let relay = RelayProc::start(&db, &[]).expect("relay");
    let url = relay.base();
    let (office, second) = (tmp.path().join("office"), tmp.path().join("second"));
    let v = clinic_ok(
        &office,
        &["enroll", "--relay", &url, "--code", founded["code"].as_str().expect("code"), "--label", "事務所PC"],
    );
    assert_eq!(v["role"], "admin", "{v}");
    let office_id = v["device"].as_str().expect("device id").to_string();
    clinic_ok(&office, &["clinic", "set", "--name", "架空在宅クリニック", "--institution", "3410712362"]);
    let v = clinic_ok(&office, &["staff", "add", "--name", "管理 花子", "--kana", "カンリ ハナコ", "--role", "admin"]);
    let setup = v["setup"]["code"].as_str().expect("the administrator's set-up code").to_string();
    let v = clinic_ok(&office, &["code", "create", "--role", "admin"]);
    let code = v["code"].as_str().expect("admin code").to_string();

    let (data, policies) = managed_tablet(tmp.path(), &url, &code);
    let display = Display::get().expect("display");
    let env: [(&str, &Path); 2] = [("HOUMON_DATA_DIR", &data), ("HOUMON_POLICY_DIR", &policies)];
    let app = AppSession::launch(&display, &bin, &env).expect("app starts");
    app.wait("[data-testid='sync-status'][data-state='online']", T).expect("enrolled and 最新");

    // The administrator chooses her PIN on this tablet with the set-up code.
    app.wait("[data-testid='lock']", T).expect("an enrolled tablet starts locked");
    app.wait_text("[data-testid='staff-list']", "管理 花子", T).expect("the clinic's staff, by sync");
    let option = app
        .find_all("[data-testid='staff-option']")
        .unwrap()
        .into_iter()
        .find(|o| app.text(o).unwrap_or_default().contains("管理 花子"))
        .expect("the administrator on the sign-in list");
    app.click(&option).unwrap();
    let field = app.wait("[data-testid='setup-code']", T).expect("set-up mode: no PIN on this device yet");
    app.type_text(&field, &setup).unwrap();
    for f in ["new-pin", "new-pin-again"] {
        let f = app.wait(&format!("[data-testid='{f}']"), T).unwrap();
        app.type_text(&f, "730518").unwrap();
    }
    app.tap("[data-testid='unlock']").unwrap();
    app.wait_text("[data-testid='whoami']", "管理 花子", T).expect("signed in as the administrator");

    // バックオフィス → 端末: the office PC and this tablet.
    app.tap("[data-testid='nav-backoffice']").unwrap();
    app.tap("[data-testid='bo-devices']").expect("the 端末 tab, for an administrator");
    app.wait("[data-testid='device-row']", T).expect("the device list");
    let rows = device_rows(&app);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().any(|r| r.0 == office_id && r.1 == "事務所PC" && !r.2 && !r.3), "the office PC: {rows:?}");
    let me = rows.iter().find(|r| r.2).unwrap_or_else(|| panic!("this device is marked: {rows:?}"));
    assert!(me.1.starts_with("タブレット "), "{rows:?}");
    assert!(
        app.find_all(&format!("[data-testid='device-row'][data-device-id='{}'] [data-testid='device-revoke']", me.0))
            .unwrap()
            .is_empty(),
        "no 失効 for this device"
    );

    // 登録コードを発行: a member code for 24 hours, as text and QR code.
    app.tap("[data-testid='code-role-member']").unwrap();
    app.tap("[data-testid='code-hours-24']").unwrap();
    app.tap("[data-testid='code-issue']").unwrap();
    let shown = app.wait("[data-testid='code-value']", T).expect("the code is shown");
    let member_code = app.text(&shown).unwrap().trim().to_string();
    assert!(member_code.len() >= 20 && member_code.contains('-'), "{member_code:?}");
    let start = std::time::Instant::now();
    loop {
        let qr = app
            .script(
                "const i = document.querySelector(\"[data-testid='code-qr']\");
                 return {done: i.complete, w: i.naturalWidth, shown: i.getBoundingClientRect().width,
                         svg: i.getAttribute('src').startsWith('data:image/svg+xml;utf8,')};",
                serde_json::json!([]),
            )
            .expect("measure the QR code");
        if qr["done"] == true && qr["w"].as_f64().unwrap_or(0.0) > 0.0 {
            assert!(qr["shown"].as_f64().unwrap_or(0.0) >= 150.0 && qr["svg"] == true, "{qr}");
            break;
        }
        assert!(start.elapsed() < T, "the QR image did not load: {qr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    app.wait_text("[data-testid='code-issued']", "一度しか表示されません", T).expect("shown once, handed over");
    assert_fits(&app, "[data-testid='code-done']", "端末: 渡しました under the QR code");
    app.screenshot(&shots.join("14-devices.png")).expect("shot");
    app.tap("[data-testid='large-text']").unwrap();
    app.wait("html.large", T).expect("large text");
    assert_fits(&app, "[data-testid='code-done']", "大きい文字: 渡しました under the QR code");
    app.screenshot(&shots.join("14-devices-large.png")).expect("shot");
    app.tap("[data-testid='large-text']").unwrap();
    app.tap("[data-testid='code-done']").unwrap();
    assert!(app.find_all("[data-testid='code-value']").unwrap().is_empty(), "the code is gone once handed over");

    // The code carries the key: a second device enrolls with it and is listed after a refresh.
    let v = clinic_ok(&second, &["enroll", "--relay", &url, "--code", &member_code, "--label", "訪問タブレット2"]);
    assert_eq!(v["role"], "member", "{v}");
    let second_id = v["device"].as_str().expect("device id").to_string();
    let row = format!("[data-testid='device-row'][data-device-id='{second_id}']");
    app.tap("[data-testid='devices-refresh']").unwrap();
    app.wait(&row, T).expect("the new device in the list after a refresh");
    assert!(
        device_rows(&app).iter().any(|r| r.0 == second_id && r.1 == "訪問タブレット2" && !r.3),
        "{:?}",
        device_rows(&app)
    );

    // 失効: asked first, then sent; the device is refused at its next contact.
    tap_in_view(&app, &format!("{row} [data-testid='device-revoke']"));
    let ask = app.wait_text(&format!("{row} [data-testid='revoke-confirm']"), "消去", T).expect("a confirmation");
    assert!(ask.contains("訪問タブレット2"), "{ask}");
    assert!(!device_rows(&app).iter().any(|r| r.0 == second_id && r.3), "nothing revoked before the confirmation");
    assert_fits(&app, &format!("{row} [data-testid='revoke-yes']"), "端末: 失効させる");
    app.screenshot(&shots.join("14-devices-revoke.png")).expect("shot");
    tap_in_view(&app, &format!("{row} [data-testid='revoke-yes']"));
    app.wait(&format!("{row}[data-revoked='true']"), T).expect("marked 失効 in the list");
    app.wait_text("[data-testid='devices-notice']", "失効させました", T).expect("the notice");
    let (rc, v) = clinic_cli(&second, &["sync"]);
    assert_eq!((rc, v["error"].as_str()), (1, Some("revoked")), "the revoked device is refused: {v}");
    // The office PC is untouched.
    assert_eq!(clinic_ok(&office, &["sync"])["state"], "online");

    // 監査ログ is the clinic's history: the office PC's entries (the set-up tool, no staff
    // member: 管理用端末) beside this tablet's own, each with its device.
    app.tap("[data-testid='bo-audit']").unwrap();
    let office_row = format!("[data-testid='audit-row'][data-device='{office_id}']");
    let entry = app.wait(&office_row, T).expect("the office PC's entries, by sync");
    let text = app.text(&entry).unwrap();
    assert!(text.contains("管理用端末") && text.contains(&office_id[..8]), "{text}");
    app.wait(&format!("[data-testid='audit-row'][data-device='{}']", me.0), T).expect("this tablet's own entries");
    app.screenshot(&shots.join("14-audit.png")).expect("shot");
    app.close();
}
