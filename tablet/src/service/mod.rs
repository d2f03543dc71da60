//! The app's use cases as the UI sees them: plain Rust over `core`, `nfc` and `onshi`, no
//! Tauri types, so it is tested without a window. `lib.rs` only turns these into commands.
//!
//! Demo/training mode (the default): a seeded synthetic clinic, the in-process qualification
//! simulator standing in for the gateway, and the synthetic cards on an in-process reader.
//!
//! Must never: keep a PIN after the call that uses it, log patient data, or read the 個人番号.

use crate::dto::*;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use houmon_model::{self as m, Actor, DeviceId, PatientId, StaffId, VisitId};
use houmon_device::lifecycle::USER_SETTINGS_FILE;
use houmon_store::audit::AuditAction;
use houmon_store::{TodayVisit, chart_doc_id};
use houmon_training::{self as synth, ClinicSpec};
use houmon_keys::KeyProtection;
use houmon_model::CoreError;
use houmon_store::Store;
use houmon_nfc::{AuthPin, Card, CardError, PcscReader, Transport, VerificationCodeB, VirtualCard, VirtualTransport};
use houmon_onshi::clock::SystemClock;
use houmon_onshi::codes::PrescriptionIssueSelect;
use houmon_onshi::consent::{self as rules, CardRequired, ConfirmationPath, ConsentPolicy, ConsentTimeline};
use houmon_onshi::digest;
use houmon_onshi::outcome::{QualificationOutcome, interpret};
use houmon_onshi::sim::{FirstVisitRequest, IdentityProof, ReinquiryRequest, Simulator};
use houmon_onshi::{InsurerNumber, MedicalInstitutionCode, QualificationConfirmSearchInfo};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroize;


mod gateway;

/// Seed of the demo clinic: the same clinic on every device and every run.
pub const DEMO_SEED: u64 = 20_261_121;
/// The training doctor every demo session signs in as (fixed so restarts find the same data).
pub const DEMO_STAFF: &str = "0d0c7e11-0000-4000-8000-00000000d0c1";
const DEMO_DEVICE: &str = "0d0c7e11-0000-4000-8000-0000000de71c";
/// In training mode, staff without a PIN of their own sign in with this (shown on screen).
const TRAINING_STAFF_PIN: &str = "0000";
/// Wrong staff PINs before sign-in is locked for [`STAFF_PIN_LOCKOUT`].
const STAFF_PIN_TRIES: u32 = 5;
const STAFF_PIN_LOCKOUT: std::time::Duration = std::time::Duration::from_secs(300);

fn staff_locked_out() -> UiError {
    UiError::new(
        "staff_pin_locked",
        "職員PINを続けて間違えたため、5分間この職員ではサインインできません。時間をおいてから入力してください。",
        "Too many wrong staff PINs: sign-in for this person is locked for 5 minutes. Try again later.",
    )
}

fn validate_staff_pin(pin: &str) -> Result<(), UiError> {
    houmon_store::staff_pin::validate(pin).map_err(|_| {
        UiError::new(
            "invalid_staff_pin",
            "職員PINは数字4〜8桁です。入力し直してください。",
            "A staff PIN is 4 to 8 digits. Enter it again.",
        )
    })
}

/// The reader name shown when the in-process training reader is used.
pub const TRAINING_READER: &str = "訓練用カードリーダー(アプリ内)";

impl From<CoreError> for UiError {
    fn from(e: CoreError) -> Self {
        let m = e.user_message();
        let code = match e {
            CoreError::NotFound { .. } => "not_found",
            CoreError::InvalidInput { .. } => "invalid_input",
            CoreError::LooksLikeIndividualNumber => "individual_number",
            CoreError::NoteSigned => "note_signed",
            CoreError::WrongKey => "wrong_key",
            _ => "storage",
        };
        UiError::new(code, m.ja, m.en)
    }
}

impl From<CardError> for UiError {
    fn from(e: CardError) -> Self {
        let mut u = UiError::new(e.code(), e.message_ja(), e.message_en());
        u.tries_left = match e {
            CardError::WrongPin { remaining } => Some(remaining),
            CardError::PinBlocked => Some(0),
            CardError::LastTryNeedsConfirmation => Some(1),
            _ => None,
        };
        u
    }
}

fn bad_id(what: &str) -> UiError {
    UiError::new(
        "invalid_input",
        format!("{what}の指定が正しくありません。一覧から開き直してください。"),
        format!("Invalid {what} id. Open it again from the list."),
    )
}

fn parse_patient(s: &str) -> Result<PatientId, UiError> {
    PatientId::parse(s).ok_or_else(|| bad_id("患者"))
}
fn parse_visit(s: &str) -> Result<VisitId, UiError> {
    VisitId::parse(s).ok_or_else(|| bad_id("訪問"))
}

/// The JST calendar date now.
pub fn jst_today() -> NaiveDate {
    rules::jst_date(&Utc::now())
}

fn iso(t: DateTime<Utc>) -> String {
    t.with_timezone(&rules::jst()).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The card reader in training mode: which synthetic card lies on it. Each card keeps its
/// PIN counter for the whole session, as a real card would.
#[derive(Debug, Default)]
struct TrainingReader {
    cards: HashMap<String, VirtualTransport>,
    on_reader: Option<String>,
    /// Simulate the card leaving the reader after this many APDUs (training the error).
    remove_after: Option<u32>,
}

impl TrainingReader {
    fn card(&mut self) -> Result<&mut VirtualTransport, CardError> {
        let id = self.on_reader.clone().ok_or(CardError::NoCard)?;
        if !self.cards.contains_key(&id) {
            let vc = VirtualCard::new(&id)?;
            self.cards.insert(id.clone(), VirtualTransport::new(vc));
        }
        let t = self.cards.get_mut(&id).ok_or(CardError::NoCard)?;
        t.remove_after = self.remove_after.take();
        Ok(t)
    }
}

/// Where the card is read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CardSource {
    /// A PC/SC reader that holds a card (a USB reader, or the virtual card served to pcscd
    /// through vpcd); otherwise the in-process training reader.
    #[default]
    Auto,
    /// Only the in-process training reader (tests that must not see a PC/SC card).
    TrainingOnly,
    /// Only PC/SC readers.
    PcscOnly,
}

/// What the PC/SC readers offer right now.
enum PcscCard {
    /// pcscd is not running or no reader is connected.
    NoReader,
    /// Readers, but none holds a card.
    NoCard,
    Card(PcscReader),
}

/// The first PC/SC reader that holds a card, connected exclusively.
fn pcsc_card() -> Result<PcscCard, CardError> {
    let readers = houmon_nfc::list_readers().unwrap_or_default();
    if readers.is_empty() {
        return Ok(PcscCard::NoReader);
    }
    for name in readers {
        if houmon_nfc::reader_has_card(&name).unwrap_or(false) {
            return PcscReader::connect(Some(&name), std::time::Duration::ZERO).map(PcscCard::Card);
        }
    }
    Ok(PcscCard::NoCard)
}

/// Everything the shell holds. One per app; the shell wraps it in a mutex.
pub struct Service {
    store: Store,
    data_dir: PathBuf,
    actor: Actor,
    staff_name: String,
    staff_role: String,
    clinic_name: String,
    institution: MedicalInstitutionCode,
    sim: Arc<Simulator>,
    /// The consent validity policy in force (managed setting, or the default).
    policy: ConsentPolicy,
    /// Identity modes the clinic allows (managed setting `identityModes`).
    identity_modes: Vec<m::IdentityMode>,
    auto_lock_minutes: u32,
    policy_dir: Option<PathBuf>,
    reader: TrainingReader,
    card_source: CardSource,
    /// The patient whose card face photo was shown (目視): a visual check needs it first.
    face_shown_for: Option<PatientId>,
    today: NaiveDate,
    locked: bool,
    /// Training mode (訓練モード): demo clinic, simulator, training cards and PIN.
    training: bool,
    /// Wrong staff PINs in a row, and the lock-out end, per staff member.
    pin_failures: HashMap<StaffId, (u32, Option<std::time::Instant>)>,
    /// Consent/qualification state per patient, computed once per session and refreshed
    /// after every change (so the visit list does not audit a chart view per row).
    checks: HashMap<PatientId, (Option<m::QualificationSnapshot>, ConsentTimeline)>,
    /// Enrolled devices: qualification goes through the clinic's gateway (`service_gateway.rs`).
    gateway: Option<gateway::GatewayState>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("today", &self.today).finish_non_exhaustive()
    }
}

fn role_code(r: m::StaffRole) -> &'static str {
    match r {
        m::StaffRole::Doctor => "doctor",
        m::StaffRole::Nurse => "nurse",
        m::StaffRole::Office => "office",
        m::StaffRole::Admin => "admin",
    }
}
fn kind_code(k: m::VisitKind) -> &'static str {
    match k {
        m::VisitKind::HomeMedical => "homeMedical",
        m::VisitKind::Emergency => "emergency",
        m::VisitKind::Nursing => "nursing",
    }
}
fn status_code(s: m::VisitStatus) -> &'static str {
    match s {
        m::VisitStatus::Planned => "planned",
        m::VisitStatus::InProgress => "inProgress",
        m::VisitStatus::Done => "done",
        m::VisitStatus::Cancelled => "cancelled",
    }
}
fn rules_kind(k: m::VisitKind) -> rules::VisitKind {
    match k {
        m::VisitKind::HomeMedical => rules::VisitKind::HomeMedical,
        m::VisitKind::Emergency => rules::VisitKind::UrgentCall,
        m::VisitKind::Nursing => rules::VisitKind::HomeNursing,
    }
}

fn validity_code(v: m::QualificationValidity) -> &'static str {
    match v {
        m::QualificationValidity::Valid => "valid",
        m::QualificationValidity::Invalid => "invalid",
        m::QualificationValidity::InvalidNewerExists => "invalidNewerExists",
        m::QualificationValidity::NotFound => "notFound",
        m::QualificationValidity::Unknown => "unknown",
    }
}

fn qualification_view(q: &m::QualificationSnapshot) -> QualificationView {
    QualificationView {
        id: q.id.to_string(),
        checked_at: iso(q.checked_at),
        insurer_number: q.insurer_number.clone(),
        symbol: q.symbol.clone(),
        number: q.number.clone(),
        branch: q.branch.clone(),
        copay_percent: q.copay_percent,
        validity: validity_code(q.validity).into(),
        consent_medication: q.consent_medication,
        consent_clinical: q.consent_clinical,
        consent_checkup: q.consent_checkup,
        consent_surgery: q.consent_surgery,
        consent_valid_until: q.consent_valid_until.map(|d| d.to_string()),
    }
}

/// The consent timeline as the tablet knows it from the chart: the latest card confirmation
/// starts it, a later revocation ends it, continuing-care visits extend it (decision 4).
pub fn timeline_of(chart: &m::Chart) -> ConsentTimeline {
    let jst = rules::jst();
    let latest = chart.consents.iter().filter(|c| !c.revocation).max_by_key(|c| c.recorded_at);
    let Some(first) = latest else { return ConsentTimeline::default() };
    let revoked_at = chart
        .consents
        .iter()
        .filter(|c| c.revocation && c.recorded_at >= first.recorded_at)
        .map(|c| c.recorded_at.with_timezone(&jst))
        .min();
    let visits = chart
        .visits
        .iter()
        .filter(|v| v.kind != m::VisitKind::Emergency)
        .filter_map(|v| v.arrival)
        .filter(|a| *a >= first.recorded_at)
        .map(|a| rules::jst_date(&a))
        .collect();
    ConsentTimeline { first_confirmed_at: Some(first.recorded_at.with_timezone(&jst)), revoked_at, visits }
}

/// Whether this visit may use 再照会, and why not, in both languages.
pub fn check_state(
    policy: &ConsentPolicy,
    t: &ConsentTimeline,
    latest: Option<&m::QualificationSnapshot>,
    kind: m::VisitKind,
    now: DateTime<Utc>,
) -> CheckState {
    let today = rules::jst_date(&now);
    let validity = latest.map(|q| {
        match q.validity {
            m::QualificationValidity::Valid => "1",
            m::QualificationValidity::Invalid => "2",
            m::QualificationValidity::InvalidNewerExists => "3",
            m::QualificationValidity::NotFound => "4",
            m::QualificationValidity::Unknown => "0",
        }
        .to_string()
    });
    let days = |d: NaiveDate| (d - today).num_days();
    match rules::confirmation_path(policy, t, rules_kind(kind), &now) {
        ConfirmationPath::Reinquiry { valid_through } => CheckState {
            path: "requery".into(),
            reason: "ok".into(),
            valid_through: Some(valid_through.to_string()),
            days_left: Some(days(valid_through)),
            ja: format!(
                "同意は{}まで有効です(あと{}日)。カードなしで再照会できます。",
                valid_through.format("%Y年%-m月%-d日"),
                days(valid_through)
            ),
            en: format!(
                "Consent is valid through {valid_through} ({} days left). Re-query without the card.",
                days(valid_through)
            ),
            validity,
            request: None,
        },
        ConfirmationPath::Card { because } => {
            let (reason, vt, en) = match because {
                CardRequired::NoConsent => (
                    "first_visit",
                    None,
                    "First visit: confirm qualification and register consent with the My Number card.".to_string(),
                ),
                CardRequired::Expired { valid_through } => (
                    "consent_expired",
                    Some(valid_through),
                    format!("Consent expired after {valid_through}. Confirm again with the My Number card."),
                ),
                CardRequired::Revoked { .. } => (
                    "consent_revoked",
                    None,
                    "The patient revoked consent. Re-query is not possible; use the card or a 資格確認書.".to_string(),
                ),
                CardRequired::UrgentCall => {
                    ("urgent_call", None, "往診 (urgent call-out) needs a fresh card check every time.".to_string())
                }
            };
            CheckState {
                path: "card".into(),
                reason: reason.into(),
                valid_through: vt.map(|d| d.to_string()),
                days_left: vt.map(days),
                ja: because.message_ja(),
                en,
                validity,
                request: None,
            }
        }
    }
}

/// Range checks for vitals: impossible values are refused (nothing saved), abnormal ones are
/// saved and highlighted.
pub fn check_vitals(v: &VitalsInput) -> Vec<VitalsIssue> {
    let mut out = Vec::new();
    let mut check = |field: &str, label: &str, value: Option<f64>, possible: (f64, f64), normal: (f64, f64)| {
        let Some(x) = value else { return };
        if x < possible.0 || x > possible.1 {
            out.push(VitalsIssue {
                field: field.into(),
                level: "error".into(),
                ja: format!("{label}の値 {x} は測定値としてありえません。入力し直してください。"),
                en: format!("{field} {x} is not a possible reading. Enter it again."),
            });
        } else if x < normal.0 || x > normal.1 {
            out.push(VitalsIssue {
                field: field.into(),
                level: "warning".into(),
                ja: format!("{label}が基準範囲({}〜{})の外です。再測定と報告を検討してください。", normal.0, normal.1),
                en: format!(
                    "{field} is outside the usual range ({}–{}). Consider re-measuring and reporting.",
                    normal.0, normal.1
                ),
            });
        }
    };
    let f = |x: Option<i32>| x.map(f64::from);
    check("systolic", "収縮期血圧", f(v.systolic), (40.0, 300.0), (90.0, 160.0));
    check("diastolic", "拡張期血圧", f(v.diastolic), (20.0, 200.0), (50.0, 100.0));
    check("pulse", "脈拍", f(v.pulse), (20.0, 250.0), (50.0, 110.0));
    check("spo2", "SpO2", f(v.spo2), (50.0, 100.0), (93.0, 100.0));
    check("temperature", "体温", v.temperature, (30.0, 43.0), (35.5, 37.5));
    check("respiration", "呼吸数", f(v.respiration), (4.0, 80.0), (10.0, 24.0));
    check("weight", "体重", v.weight, (10.0, 300.0), (25.0, 150.0));
    if let (Some(s), Some(d)) = (v.systolic, v.diastolic)
        && d >= s
    {
        out.push(VitalsIssue {
            field: "diastolic".into(),
            level: "error".into(),
            ja: "拡張期血圧が収縮期血圧以上です。上下を入れ違えていないか確認してください。".into(),
            en: "Diastolic is not below systolic. Check the two values were not swapped.".into(),
        });
    }
    out
}

fn snapshot_from(
    id: m::QualificationId,
    at: DateTime<Utc>,
    answer: &QualificationOutcome,
) -> Option<m::QualificationSnapshot> {
    let (r, validity) = match answer {
        QualificationOutcome::Valid { result, .. } => (Some(result.as_ref()), m::QualificationValidity::Valid),
        QualificationOutcome::NotValid { result, validity } => {
            (result.as_deref(), houmon_gateway::chart_validity(*validity))
        }
        QualificationOutcome::NotFound => (None, m::QualificationValidity::NotFound),
        _ => return None,
    };
    Some(houmon_gateway::qualification_snapshot(id, at, r, validity))
}

fn outcome_result(answer: &QualificationOutcome) -> (String, Option<String>) {
    let code = match answer {
        QualificationOutcome::Valid { .. } => "valid",
        QualificationOutcome::NotValid { .. } => "invalid",
        QualificationOutcome::NotFound => "notFound",
        QualificationOutcome::MultipleMatches => "multiple",
        QualificationOutcome::ConsentExpired => "consentExpired",
        QualificationOutcome::ConsentRevoked => "consentRevoked",
        QualificationOutcome::NoConsent => "noConsent",
        QualificationOutcome::InProgress { .. } => "pending",
        QualificationOutcome::Error { .. } => "error",
    };
    let notice = match answer {
        QualificationOutcome::Valid { side_info: Some((_, msg)), .. } if !msg.is_empty() => Some(msg.clone()),
        _ => None,
    };
    (code.into(), notice)
}

fn outcome_en(code: &str) -> &'static str {
    match code {
        "valid" => "Qualification confirmed.",
        "invalid" => "The qualification is not valid. Check the patient's 資格確認書 or new insurance details.",
        "notFound" => "No matching qualification. Check insurer number, symbol, number and birth date.",
        "multiple" => "Several qualifications matched. Check the branch number and ask the insurer.",
        "consentExpired" => "Consent has expired. Confirm again with the My Number card.",
        "consentRevoked" => "The patient revoked consent. Re-query is not possible.",
        "noConsent" => "No consent is registered. Do a first confirmation with the My Number card.",
        "pending" => "Still being processed. Fetch the result again shortly.",
        _ => "The qualification check failed. Try again later.",
    }
}

/// Options for opening the service (tests and the benchmark use a temp dir).
#[derive(Debug, Clone, Default)]
pub struct ServiceOptions {
    pub data_dir: PathBuf,
    /// The clinic's "today" (JST); defaults to the real date.
    pub today: Option<NaiveDate>,
    pub card: CardSource,
    /// A Linux-layout policy root to read instead of the platform's (tests); `None` reads
    /// `HOUMON_POLICY_DIR` or the platform's managed settings.
    pub policy_dir: Option<PathBuf>,
}

impl Service {
    /// Open the store in `data_dir`, seeding the demo clinic on first start, and make sure
    /// the training doctor has visits today.
    pub fn open(opts: &ServiceOptions) -> Result<Self, UiError> {
        let dir = opts.data_dir.join("store");
        std::fs::create_dir_all(&dir).map_err(|e| UiError::from(CoreError::Io(e)))?;
        let today = opts.today.unwrap_or_else(jst_today);
        // The OS keystore where there is one; else the marked file fallback, which the UI
        // shows as a warning (core's KeyProtection::FileFallback).
        let mut store = Store::open(&dir, &*crate::device::os_keystore(&opts.data_dir))?;
        let staff_id = StaffId::parse(DEMO_STAFF).unwrap_or_default();
        let actor = Actor { staff: staff_id, device: DeviceId::parse(DEMO_DEVICE).unwrap_or_default() };
        if store.patient_list()?.is_empty() {
            let spec = ClinicSpec { today, ..ClinicSpec::small(DEMO_SEED) };
            synth::generate(&spec, &mut store)?;
            store.set_clock(Utc::now);
            store.put_staff(
                &actor,
                &m::Staff { id: staff_id, name: "訓練 医師".into(), role: m::StaffRole::Doctor, active: true },
            )?;
        }
        store.set_clock(Utc::now);
        let clinic = store.clinic()?;
        let me = clinic.staff.iter().find(|s| s.id == staff_id).cloned();
        let institution = MedicalInstitutionCode::parse(&clinic.institution_code)
            .or_else(|_| MedicalInstitutionCode::parse("1319999999"))
            .map_err(|_| {
                UiError::new(
                    "config",
                    "医療機関コードが正しくありません。管理者に連絡してください。",
                    "The institution code is invalid. Contact your administrator.",
                )
            })?;
        let mut svc = Self::assemble(opts, store, actor, me, clinic.name, institution, true);
        svc.apply_settings();
        svc.ensure_demo_day()?;
        svc.replay_consents_to_simulator();
        svc.store.session_started(&svc.actor)?;
        Ok(svc)
    }

    /// The parts both modes share. Training: the synthetic cards on the in-process reader;
    /// an enrolled device never uses the training cards, only PC/SC readers.
    fn assemble(
        opts: &ServiceOptions,
        store: Store,
        actor: Actor,
        me: Option<m::Staff>,
        clinic_name: String,
        institution: MedicalInstitutionCode,
        training: bool,
    ) -> Self {
        Self {
            store,
            data_dir: opts.data_dir.clone(),
            actor,
            staff_name: me.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
            staff_role: me.map(|s| role_code(s.role).to_string()).unwrap_or_else(|| "doctor".into()),
            clinic_name,
            institution,
            sim: Arc::new(Simulator::new(Arc::new(SystemClock))),
            policy: ConsentPolicy::default(),
            identity_modes: vec![m::IdentityMode::Pin, m::IdentityMode::Visual],
            auto_lock_minutes: 5,
            policy_dir: opts.policy_dir.clone(),
            reader: if training {
                TrainingReader { on_reader: Some(houmon_nfc::DEMO_HOLDER.into()), ..Default::default() }
            } else {
                TrainingReader::default()
            },
            // A real device never uses the training cards (only tests ask for them).
            card_source: if training || opts.card == CardSource::TrainingOnly {
                opts.card
            } else {
                CardSource::PcscOnly
            },
            face_shown_for: None,
            today: opts.today.unwrap_or_else(jst_today),
            locked: false,
            training,
            pin_failures: HashMap::new(),
            checks: HashMap::new(),
            gateway: (!training).then(Default::default),
        }
    }

    /// An enrolled device (`device.rs`): the store lent by the device lifecycle, no demo
    /// clinic. What the clinic document does not hold yet (before the first sync) stays empty.
    pub fn open_enrolled(opts: &ServiceOptions, mut store: Store, device: DeviceId) -> Result<Self, UiError> {
        store.set_clock(Utc::now);
        let clinic = store.clinic().ok();
        let me = clinic.as_ref().and_then(|c| c.staff.iter().find(|s| s.active).cloned());
        let staff_ids: Vec<StaffId> = clinic.iter().flat_map(|c| c.staff.iter().map(|s| s.id)).collect();
        let staff_pins_set = staff_ids.into_iter().any(|id| store.has_staff_pin(id).unwrap_or(false));
        let institution = clinic
            .as_ref()
            .and_then(|c| MedicalInstitutionCode::parse(&c.institution_code).ok())
            .or_else(|| MedicalInstitutionCode::parse("1319999999").ok())
            .ok_or_else(|| UiError::new("config", "医療機関コードが正しくありません。", "Invalid institution code."))?;
        let actor = Actor { staff: me.as_ref().map(|s| s.id).unwrap_or_default(), device };
        let clinic_name = clinic.map(|c| c.name).unwrap_or_default();
        let mut svc = Self::assemble(opts, store, actor, me, clinic_name, institution, false);
        // Staff sign in once the clinic has set PINs (before the first sync there is no
        // clinic document, so nobody could).
        svc.locked = staff_pins_set;
        svc.apply_settings();
        Ok(svc)
    }

    /// Store upkeep while the user pauses (compaction, WAL checkpoint). A failure loses
    /// nothing (the increments stay) and is noted in the encrypted diagnostics log.
    pub fn idle_upkeep(&mut self) {
        if let Err(e) = self.store.idle_maintenance() {
            let _ = self.store.log_diagnostic("warn", &format!("idle maintenance failed: {}", e.user_message().en));
        }
    }

    /// The store, for the sync runner's short local phases (`device.rs`).
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    pub fn store_dir(&self) -> &Path {
        self.store.dir()
    }

    /// The synthetic card holders are the training patients: each gets a visit today for the
    /// training doctor (first visits, a 往診, the revoked and the expired card).
    fn ensure_demo_day(&mut self) -> Result<(), UiError> {
        if !self.store.todays_roster(self.actor.staff, self.today)?.is_empty() {
            return Ok(());
        }
        let existing = self.store.patient_list()?;
        for (i, h) in houmon_nfc::synthetic_holders().iter().enumerate() {
            let name = format!("{} {}", h.family_name, h.given_name);
            // By birth date: after a qualification check the name is the official one
            // (full-width space), so it no longer equals the card holder's spelling.
            let patient = match existing.iter().find(|p| p.birth_date == Some(h.birth_date)) {
                Some(p) => p.id,
                None => self.store.register_patient(
                    &self.actor,
                    &m::Demographics {
                        name,
                        name_kana: format!("{} {}", h.family_kana, h.given_kana),
                        birth_date: Some(h.birth_date),
                        sex: h.sex.clone(),
                        address: h.address.clone(),
                    },
                )?,
            };
            let hour = 9 + 2 * i as u32;
            let kind = if h.id == "vc-03" { m::VisitKind::Emergency } else { m::VisitKind::HomeMedical };
            self.store.plan_visit(
                &self.actor,
                &m::RosterVisit {
                    id: VisitId::new(),
                    date: self.today,
                    start: NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default(),
                    end: NaiveTime::from_hms_opt(hour, 45, 0).unwrap_or_default(),
                    patient,
                    staff: vec![self.actor.staff],
                    kind,
                    status: m::VisitStatus::Planned,
                },
            )?;
        }
        Ok(())
    }

    /// The in-process simulator forgets everything when the app stops; give it back the
    /// card-signed consents this device holds, so 再照会 keeps working after a restart.
    fn replay_consents_to_simulator(&mut self) {
        let Ok(patients) = self.store.patient_list() else { return };
        let holders = houmon_nfc::synthetic_holders();
        for p in patients {
            if !holders.iter().any(|h| p.birth_date == Some(h.birth_date)) {
                continue;
            }
            let Ok(chart) = self.store.open_chart(&self.actor, p.id) else { continue };
            for c in chart.consents.iter().filter(|c| c.identity == m::IdentityMode::Pin && !c.revocation) {
                let (Some(sig), Some(cert)) = (&c.signature_hex, &c.certificate_hex) else { continue };
                let (Ok(sig), Ok(cert), Ok(nonce)) = (hex::decode(sig), hex::decode(cert), hex::decode(&c.nonce_hex))
                else {
                    continue;
                };
                let kind = chart
                    .visits
                    .iter()
                    .filter(|v| v.arrival.is_some_and(|a| (a - c.recorded_at).num_seconds().abs() < 600))
                    .map(|v| v.kind)
                    .next()
                    .unwrap_or(m::VisitKind::HomeMedical);
                let choices = ConsentChoices {
                    medication: c.medication,
                    clinical: c.clinical,
                    checkup: c.checkup,
                    surgery: c.surgery,
                    prescription: if c.prescription == m::PrescriptionForm::Paper { "paper" } else { "electronic" }
                        .into(),
                };
                let record = self.onshi_record(&choices, rules_kind(kind), digest::IdentityMode::Pin, &cert);
                let _ = self.sim.first_visit(&FirstVisitRequest {
                    record,
                    nonce,
                    signed_at: c.recorded_at.with_timezone(&rules::jst()),
                    certificate_der: cert,
                    proof: IdentityProof::Pin { signature: sig },
                    arbitrary_file_identifier: None,
                });
            }
            self.cache_chart(p.id, &chart);
        }
    }

    fn cache_chart(&mut self, p: PatientId, chart: &m::Chart) {
        self.checks.insert(p, (chart.latest_qualification().cloned(), timeline_of(chart)));
        self.note_request(p, chart);
    }

    fn check_for(&mut self, p: PatientId, kind: m::VisitKind) -> Result<CheckState, UiError> {
        if !self.checks.contains_key(&p) {
            let chart = self.store.open_chart(&self.actor, p)?;
            self.cache_chart(p, &chart);
        }
        let (q, t) = self.checks.get(&p).cloned().unwrap_or_default();
        Ok(self.with_request(p, check_state(&self.policy, &t, q.as_ref(), kind, Utc::now())))
    }

    fn ensure_unlocked(&self) -> Result<(), UiError> {
        if self.locked {
            return Err(UiError::new(
                "locked",
                "画面がロックされています。職員PINでロックを解除してください。",
                "The app is locked. Unlock it with your staff PIN.",
            ));
        }
        Ok(())
    }

    /// The effective managed settings (Managed > User > Recommended > Default), read afresh:
    /// policy files are small, and a change then applies at the next sign-in or start.
    fn effective_settings(&self) -> houmon_policy::EffectiveSettings {
        self.policy_engine().view().effective()
    }

    fn policy_engine(&self) -> houmon_policy::PolicyEngine {
        let sources: Vec<Box<dyn houmon_policy::PolicySource>> = match &self.policy_dir {
            Some(d) => vec![Box::new(houmon_policy::LinuxPolicyDir::new(d.clone()))],
            None => crate::device::policy_sources(),
        };
        let user = self.data_dir.join(crate::device::DEVICE_DIR).join(USER_SETTINGS_FILE);
        houmon_policy::PolicyEngine::new(sources, Some(user))
    }

    fn apply_settings(&mut self) {
        let e = self.effective_settings();
        self.policy = e.consent;
        self.identity_modes = e.identity_modes;
        self.auto_lock_minutes = e.auto_lock_minutes;
        self.checks.clear();
    }

    fn visual_allowed(&self) -> bool {
        self.sim.config().allow_visual_check && self.identity_modes.contains(&m::IdentityMode::Visual)
    }

    pub fn app_info(&self) -> AppInfo {
        let (ja, en) = match self.store.key_protection() {
            KeyProtection::FileFallback => {
                let (ja, en) = KeyProtection::FileFallback.describe();
                (Some(ja.to_string()), Some(en.to_string()))
            }
            KeyProtection::OsKeystore(_) => (None, None),
        };
        AppInfo {
            training_mode: self.training,
            clinic_name: self.clinic_name.clone(),
            staff_id: self.actor.staff.to_string(),
            staff_name: self.staff_name.clone(),
            staff_role: self.staff_role.clone(),
            today: self.today.to_string(),
            key_warning_ja: ja,
            key_warning_en: en,
            version: env!("CARGO_PKG_VERSION").into(),
            // Training: no relay. An enrolled device's status comes from `device.rs`.
            sync: crate::device::training_status(),
            allow_visual_check: self.visual_allowed(),
            allow_pin_check: self.identity_modes.contains(&m::IdentityMode::Pin),
            auto_lock_minutes: self.auto_lock_minutes,
            locked: self.locked,
        }
    }

    pub fn todays_visits(&mut self) -> Result<Vec<VisitRow>, UiError> {
        self.ensure_unlocked()?;
        self.refresh_after_sync();
        let rows: Vec<TodayVisit> = self.store.todays_roster(self.actor.staff, self.today)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let check = self.check_for(r.patient, r.kind)?;
            out.push(VisitRow {
                visit_id: r.visit.to_string(),
                patient_id: r.patient.to_string(),
                patient_name: r.patient_name,
                patient_kana: r.patient_kana,
                start: r.start,
                end: r.end,
                kind: kind_code(r.kind).into(),
                status: status_code(r.status).into(),
                check,
            });
        }
        Ok(out)
    }

    fn staff_names(&mut self) -> HashMap<StaffId, String> {
        self.store.clinic().map(|c| c.staff.into_iter().map(|s| (s.id, s.name)).collect()).unwrap_or_default()
    }

    pub fn patient_chart(&mut self, patient: &str, kind: Option<&str>) -> Result<ChartView, UiError> {
        self.ensure_unlocked()?;
        let p = parse_patient(patient)?;
        let chart = self.store.open_chart(&self.actor, p)?;
        self.cache_chart(p, &chart);
        let names = self.staff_names();
        let name_of = |s: StaffId| names.get(&s).cloned().unwrap_or_else(|| s.to_string()[..8].to_string());
        let kind = match kind {
            Some("emergency") => m::VisitKind::Emergency,
            Some("nursing") => m::VisitKind::Nursing,
            _ => m::VisitKind::HomeMedical,
        };
        let check = check_state(&self.policy, &timeline_of(&chart), chart.latest_qualification(), kind, Utc::now());
        let check = self.with_request(p, check);
        let mut quals: Vec<_> = chart.qualifications.iter().collect();
        quals.sort_by_key(|q| std::cmp::Reverse(q.checked_at));
        let mut visits: Vec<_> = chart.visits.iter().collect();
        visits.sort_by_key(|v| std::cmp::Reverse(v.arrival));
        let note_view = |n: &m::NoteVersion| NoteView {
            id: n.id.to_string(),
            thread: n.thread.to_string(),
            version: n.version,
            visit_id: n.visit.to_string(),
            status: if n.status == m::NoteStatus::Signed { "signed" } else { "draft" }.into(),
            author: name_of(n.author),
            created_at: iso(n.created_at),
            signed_at: n.signed_at.map(iso),
            replaces: n.replaces.map(|r| r.to_string()),
            correction_reason: n.correction_reason.clone(),
            soap: Soap {
                s: n.body.subjective.clone(),
                o: n.body.objective.clone(),
                a: n.body.assessment.clone(),
                p: n.body.plan.clone(),
            },
            intact: n.intact,
        };
        let to_i32 = |x: Option<i64>| x.and_then(|v| i32::try_from(v).ok());
        Ok(ChartView {
            patient_id: p.to_string(),
            name: chart.demographics.name.clone(),
            kana: chart.demographics.name_kana.clone(),
            birth_date: chart.demographics.birth_date.map(|d| d.to_string()),
            sex: chart.demographics.sex.clone(),
            address: chart.demographics.address.clone(),
            insurance: chart.latest_qualification().map(qualification_view),
            check,
            consents: chart
                .consents
                .iter()
                .rev()
                .map(|c| ConsentView {
                    id: c.id.to_string(),
                    recorded_at: iso(c.recorded_at),
                    recorded_by: name_of(c.recorded_by),
                    identity: if c.identity == m::IdentityMode::Pin { "pin" } else { "visual" }.into(),
                    medication: c.medication,
                    clinical: c.clinical,
                    checkup: c.checkup,
                    surgery: c.surgery,
                    prescription: if c.prescription == m::PrescriptionForm::Paper { "paper" } else { "electronic" }
                        .into(),
                    signed_by_card: c.signature_hex.is_some(),
                    revocation: c.revocation,
                })
                .collect(),
            qualifications: quals.into_iter().map(qualification_view).collect(),
            visits: visits
                .into_iter()
                .map(|v| VisitView {
                    id: v.id.to_string(),
                    kind: kind_code(v.kind).into(),
                    staff: name_of(v.staff),
                    arrival: v.arrival.map(iso),
                    departure: v.departure.map(iso),
                    vitals: VitalsInput {
                        systolic: to_i32(v.vitals.systolic),
                        diastolic: to_i32(v.vitals.diastolic),
                        pulse: to_i32(v.vitals.pulse),
                        spo2: to_i32(v.vitals.spo2),
                        temperature: v.vitals.temperature,
                        respiration: to_i32(v.vitals.respiration),
                        weight: v.vitals.weight,
                    },
                    notes: chart.notes.iter().filter(|n| n.visit == v.id).map(note_view).collect(),
                })
                .collect(),
            conflicts: chart.conflicts.len() as u32,
        })
    }

    pub fn patient_list(&self) -> Result<Vec<PatientRow>, UiError> {
        self.ensure_unlocked()?;
        Ok(self
            .store
            .patient_list()?
            .into_iter()
            .map(|p| PatientRow {
                id: p.id.to_string(),
                name: p.name,
                kana: p.name_kana,
                birth_date: p.birth_date.map(|d| d.to_string()),
                last_visit: p.last_visit.map(iso),
            })
            .collect())
    }

    fn onshi_record(
        &self,
        c: &ConsentChoices,
        kind: rules::VisitKind,
        mode: digest::IdentityMode,
        cert: &[u8],
    ) -> digest::ConsentRecord {
        digest::ConsentRecord {
            medical_institution_code: self.institution.clone(),
            visit_kind: kind,
            identity_mode: mode,
            medication: c.medication,
            clinical: c.clinical,
            health_checkups: c.checkup,
            operation: c.surgery,
            additional: Default::default(),
            limit_application: false,
            specific_diseases: false,
            prescription_issue: if c.prescription == "paper" {
                PrescriptionIssueSelect::Paper
            } else {
                PrescriptionIssueSelect::Electronic
            },
            certificate_sha256: digest::certificate_sha256(cert),
        }
    }

    /// The card to talk to, by [`CardSource`]: a PC/SC reader's card first, else the training
    /// reader. Each call is a new session, so no verified PIN outlives the call that used it.
    fn card(&mut self) -> Result<(Box<dyn Transport + '_>, String), CardError> {
        if self.card_source != CardSource::TrainingOnly {
            match pcsc_card()? {
                PcscCard::Card(r) => {
                    let name = r.reader_name();
                    return Ok((Box::new(r), name));
                }
                PcscCard::NoReader if self.card_source == CardSource::PcscOnly => return Err(CardError::NoReader),
                PcscCard::NoCard if self.card_source == CardSource::PcscOnly => return Err(CardError::NoCard),
                _ => {}
            }
        }
        Ok((Box::new(self.reader.card()?), TRAINING_READER.into()))
    }

    /// "Place the card": read the certificate and the PIN tries left (no PIN is sent).
    pub fn card_check(&mut self, progress: &mut dyn FnMut(CardProgress)) -> Result<CardCheck, UiError> {
        self.ensure_unlocked()?;
        progress(CardProgress { step: "connecting".into(), percent: 5 });
        let (t, reader) = self.card()?;
        let mut card = Card::new(t);
        progress(CardProgress { step: "certificate".into(), percent: 30 });
        card.read_auth_certificate()?;
        progress(CardProgress { step: "tries".into(), percent: 80 });
        let tries = card.auth_pin_tries()?;
        progress(CardProgress { step: "done".into(), percent: 100 });
        Ok(CardCheck { tries_left: tries, apdus: card.apdu_count(), reader })
    }

    /// 目視確認: open the card face with 照合番号B (typed from the front of the card) and show
    /// its photo. The photo is kept only in the reply, never on disk; the view is audited.
    pub fn card_face(&mut self, patient: &str, mut code_b: String) -> Result<CardFace, UiError> {
        let code = VerificationCodeB::parse(&code_b);
        code_b.zeroize();
        let code = code?;
        self.ensure_unlocked()?;
        let p = parse_patient(patient)?;
        let photo = {
            let (t, _) = self.card()?;
            Card::new(t).read_face_photo(&code)
        };
        drop(code);
        let photo = match photo {
            Ok(p) => p,
            Err(CardError::VerificationCodeBBlocked) => {
                // The chip photo is out of reach; staff compare with the photo printed on the
                // card instead (the error says so), which the visual check then allows.
                let target = chart_doc_id(p);
                self.store.record_access(
                    &self.actor,
                    AuditAction::View,
                    &target,
                    "card face locked (目視, printed photo)",
                )?;
                self.face_shown_for = Some(p);
                return Err(CardError::VerificationCodeBBlocked.into());
            }
            Err(e) => return Err(e.into()),
        };
        self.store.record_access(&self.actor, AuditAction::View, &chart_doc_id(p), "card face photo (目視)")?;
        self.face_shown_for = Some(p);
        use base64::Engine;
        Ok(CardFace {
            png_data_url: format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&photo.png)
            ),
            width: photo.width,
            height: photo.height,
        })
    }

    fn visit_kind_of(&self, visit: VisitId) -> m::VisitKind {
        self.store
            .todays_roster(self.actor.staff, self.today)
            .ok()
            .and_then(|r| r.into_iter().find(|v| v.visit == visit))
            .map(|v| v.kind)
            .unwrap_or(m::VisitKind::HomeMedical)
    }

    /// Opens the visit record (訪問開始) once; later calls do nothing.
    pub fn start_visit(&mut self, patient: &str, visit: &str) -> Result<(), UiError> {
        self.ensure_unlocked()?;
        let (p, v) = (parse_patient(patient)?, parse_visit(visit)?);
        let chart = self.store.open_chart(&self.actor, p)?;
        if chart.visits.iter().any(|r| r.id == v) {
            return Ok(());
        }
        let kind = self.visit_kind_of(v);
        self.store.start_visit(&self.actor, p, v, kind)?;
        let _ = self.store.set_visit_status(&self.actor, v, m::VisitStatus::InProgress);
        let chart = self.store.open_chart(&self.actor, p)?;
        self.cache_chart(p, &chart);
        Ok(())
    }

    /// The first visit (居宅同意取得型) or a 往診 card check: consent choices, identity by PIN
    /// (the card signs the consent digest) or 目視, the qualification answer, all recorded.
    pub fn confirm_with_card(
        &mut self,
        mut input: FirstVisitInput,
        progress: &mut dyn FnMut(CardProgress),
    ) -> Result<QualificationResult, UiError> {
        // Move the PIN into a zeroized buffer at once; the String is wiped whatever happens.
        let pin = match input.pin.take() {
            Some(mut typed) => {
                let parsed = AuthPin::parse(&typed);
                typed.zeroize();
                Some(parsed?)
            }
            None => None,
        };
        self.ensure_unlocked()?;
        let p = parse_patient(&input.patient_id)?;
        let visit = parse_visit(&input.visit_id)?;
        let kind = self.visit_kind_of(visit);
        let mode = match input.mode.as_str() {
            "pin" if self.identity_modes.contains(&m::IdentityMode::Pin) => digest::IdentityMode::Pin,
            "pin" => {
                return Err(UiError::new(
                    "pin_not_allowed",
                    "このクリニックでは暗証番号での確認が許可されていません。目視確認で確認してください。",
                    "This clinic does not allow the PIN check. Use a visual check.",
                ));
            }
            "visual" if self.visual_allowed() => digest::IdentityMode::Visual,
            _ => {
                return Err(UiError::new(
                    "visual_not_allowed",
                    "このクリニックでは目視確認が許可されていません。暗証番号で確認してください。",
                    "This clinic does not allow visual checks. Use the PIN.",
                ));
            }
        };
        if mode == digest::IdentityMode::Pin && pin.is_none() {
            return Err(CardError::InvalidPinFormat.into());
        }
        if mode == digest::IdentityMode::Visual && self.face_shown_for != Some(p) {
            return Err(UiError::new(
                "face_not_shown",
                "目視確認の前に、照合番号Bでカードの顔写真を表示してください。",
                "Show the card's photo with verification code B before the visual check.",
            ));
        }
        progress(CardProgress { step: "connecting".into(), percent: 5 });
        let nonce: [u8; 32] = rand::random();
        let signed_at: DateTime<FixedOffset> = digest::canonical_instant(&Utc::now());
        let cert = {
            let mut card = Card::new(self.card()?.0);
            progress(CardProgress { step: "certificate".into(), percent: 20 });
            card.read_auth_certificate()?
        };
        let record = self.onshi_record(&input.consent, rules_kind(kind), mode, &cert);
        let (proof, signature) = match (&pin, mode) {
            (Some(pin), digest::IdentityMode::Pin) => {
                let d = digest::consent_digest(&record, &nonce, &signed_at)
                    .map_err(|e| UiError::new("digest", e.message_ja(), e.to_string()))?;
                progress(CardProgress { step: "signing".into(), percent: 45 });
                let mut card = Card::new(self.card()?.0);
                let s = houmon_nfc::jpki::pin_mode_sign(&mut card, pin, &d, input.confirm_last_try)?;
                (IdentityProof::Pin { signature: s.signature.clone() }, Some(s.signature))
            }
            _ => (IdentityProof::Visual { staff_id: self.actor.staff.to_string() }, None),
        };
        drop(pin);
        // One photo comparison per confirmation.
        self.face_shown_for = None;
        progress(CardProgress { step: "qualifying".into(), percent: 70 });
        let request = FirstVisitRequest {
            record,
            nonce: nonce.to_vec(),
            signed_at,
            certificate_der: cert.clone(),
            proof,
            arbitrary_file_identifier: None,
        };
        if self.gateway.is_some() {
            let query = m::QualificationQuery::FirstVisit(Box::new(request));
            return self.ask_gateway(&input.patient_id, &input.visit_id, p, kind, &query, progress);
        }
        let outcome = self.sim.first_visit(&request);
        let answer = interpret(&outcome.answer);
        let (code, notice) = outcome_result(&answer);
        progress(CardProgress { step: "saving".into(), percent: 85 });
        let at = signed_at.with_timezone(&Utc);
        self.start_visit(&input.patient_id, &input.visit_id)?;
        let qualification = snapshot_from(m::QualificationId::new(), at, &answer);
        if outcome.consent_id.is_some() || qualification.is_some() {
            // The consent is recorded once the national side accepted the card; a refused
            // card (revoked, expired certificate) leaves no consent behind.
            if outcome.consent_id.is_some() {
                self.store.record_consent(
                    &self.actor,
                    p,
                    &m::ConsentRecord {
                        id: m::ConsentId::new(),
                        recorded_at: at,
                        recorded_by: self.actor.staff,
                        device: self.actor.device,
                        medication: input.consent.medication,
                        clinical: input.consent.clinical,
                        checkup: input.consent.checkup,
                        surgery: input.consent.surgery,
                        prescription: if input.consent.prescription == "paper" {
                            m::PrescriptionForm::Paper
                        } else {
                            m::PrescriptionForm::Electronic
                        },
                        identity: if mode == digest::IdentityMode::Pin {
                            m::IdentityMode::Pin
                        } else {
                            m::IdentityMode::Visual
                        },
                        signature_hex: signature.as_ref().map(hex::encode),
                        certificate_hex: Some(hex::encode(&cert)),
                        nonce_hex: hex::encode(nonce),
                        revocation: false,
                    },
                )?;
            }
            if let Some(q) = &qualification {
                self.store.record_qualification(&self.actor, p, q)?;
            }
        }
        let chart = self.store.open_chart(&self.actor, p)?;
        self.cache_chart(p, &chart);
        let check = check_state(&self.policy, &timeline_of(&chart), chart.latest_qualification(), kind, Utc::now());
        progress(CardProgress { step: "done".into(), percent: 100 });
        let ja = answer.message_ja();
        let refusal = matches!(answer, QualificationOutcome::Error { .. });
        Ok(QualificationResult {
            en: if refusal {
                format!("Refused by the qualification service: {}", outcome_en(&code))
            } else {
                outcome_en(&code).into()
            },
            outcome: code,
            ja,
            qualification: qualification.as_ref().map(qualification_view),
            check,
            notice_ja: notice,
        })
    }

    /// 再照会: allowed only with a valid consent and continuing care; otherwise the reason.
    pub fn requery(&mut self, patient: &str, visit: &str) -> Result<QualificationResult, UiError> {
        self.ensure_unlocked()?;
        let p = parse_patient(patient)?;
        let v = parse_visit(visit)?;
        let kind = self.visit_kind_of(v);
        let chart = self.store.open_chart(&self.actor, p)?;
        let t = timeline_of(&chart);
        let check = check_state(&self.policy, &t, chart.latest_qualification(), kind, Utc::now());
        if check.path != "requery" {
            return Err(UiError::new(&check.reason, check.ja, check.en));
        }
        let Some(last) = chart.latest_qualification().cloned() else {
            return Err(UiError::new(
                "first_visit",
                "保険の情報がまだありません。マイナンバーカードで資格確認をしてください。",
                "No insurance details yet. Confirm with the My Number card first.",
            ));
        };
        let search = QualificationConfirmSearchInfo {
            insurer_number: InsurerNumber::parse(&last.insurer_number).ok(),
            insured_card_symbol: Some(last.symbol.clone()).filter(|s| !s.is_empty()),
            insured_identification_number: Some(last.number.clone()),
            insured_branch_number: Some(last.branch.clone()).filter(|s| !s.is_empty()),
            birthdate: chart.demographics.birth_date,
            ..Default::default()
        };
        let reinquiry = ReinquiryRequest {
            medical_institution_code: self.institution.clone(),
            search,
            visit_kind: rules_kind(kind),
            arbitrary_file_identifier: None,
        };
        if self.gateway.is_some() {
            let query = m::QualificationQuery::Reinquiry(reinquiry);
            return self.ask_gateway(patient, visit, p, kind, &query, &mut |_| {});
        }
        let request = self.store.request_qualification(&self.actor, p)?;
        // Training mode: the in-process simulator answers as the gateway would (decision 5).
        let answer = interpret(&self.sim.reinquire(&reinquiry));
        let (code, notice) = outcome_result(&answer);
        let snapshot = snapshot_from(request, Utc::now(), &answer);
        if let Some(q) = &snapshot {
            self.store.record_qualification(&self.actor, p, q)?;
        }
        self.start_visit(patient, visit)?;
        let chart = self.store.open_chart(&self.actor, p)?;
        self.cache_chart(p, &chart);
        let check = check_state(&self.policy, &timeline_of(&chart), chart.latest_qualification(), kind, Utc::now());
        Ok(QualificationResult {
            ja: answer.message_ja(),
            en: outcome_en(&code).into(),
            outcome: code,
            qualification: snapshot.as_ref().map(qualification_view),
            check,
            notice_ja: notice,
        })
    }

    /// Save the note draft (durable when this returns). `draft` None starts a new note.
    pub fn save_note(
        &mut self,
        patient: &str,
        visit: &str,
        draft: Option<&str>,
        soap: &Soap,
    ) -> Result<SavedNote, UiError> {
        self.ensure_unlocked()?;
        self.start_visit(patient, visit)?;
        let p = parse_patient(patient)?;
        let v = parse_visit(visit)?;
        let draft = match draft {
            Some(d) => Some(m::NoteId::parse(d).ok_or_else(|| bad_id("記録"))?),
            None => None,
        };
        let body = m::SoapNote {
            subjective: soap.s.clone(),
            objective: soap.o.clone(),
            assessment: soap.a.clone(),
            plan: soap.p.clone(),
        };
        let id = self.store.save_note(&self.actor, p, v, draft, &body)?;
        Ok(SavedNote { note_id: id.to_string(), saved_at: iso(Utc::now()) })
    }

    pub fn sign_note(&mut self, patient: &str, note: &str) -> Result<(), UiError> {
        self.ensure_unlocked()?;
        let p = parse_patient(patient)?;
        let n = m::NoteId::parse(note).ok_or_else(|| bad_id("記録"))?;
        self.store.sign_note(&self.actor, p, n)?;
        Ok(())
    }

    pub fn correct_note(&mut self, patient: &str, note: &str, soap: &Soap, reason: &str) -> Result<SavedNote, UiError> {
        self.ensure_unlocked()?;
        let p = parse_patient(patient)?;
        let n = m::NoteId::parse(note).ok_or_else(|| bad_id("記録"))?;
        let body = m::SoapNote {
            subjective: soap.s.clone(),
            objective: soap.o.clone(),
            assessment: soap.a.clone(),
            plan: soap.p.clone(),
        };
        let id = self.store.correct_note(&self.actor, p, n, &body, reason)?;
        Ok(SavedNote { note_id: id.to_string(), saved_at: iso(Utc::now()) })
    }

    /// Record vitals. Impossible values are refused (returned as errors, nothing saved);
    /// abnormal ones are saved and returned as warnings.
    pub fn record_vitals(&mut self, patient: &str, visit: &str, v: &VitalsInput) -> Result<Vec<VitalsIssue>, UiError> {
        self.ensure_unlocked()?;
        let issues = check_vitals(v);
        if issues.iter().any(|i| i.level == "error") {
            return Ok(issues);
        }
        self.start_visit(patient, visit)?;
        let p = parse_patient(patient)?;
        let visit = parse_visit(visit)?;
        let vitals = m::Vitals {
            systolic: v.systolic.map(i64::from),
            diastolic: v.diastolic.map(i64::from),
            pulse: v.pulse.map(i64::from),
            spo2: v.spo2.map(i64::from),
            temperature: v.temperature,
            respiration: v.respiration.map(i64::from),
            weight: v.weight,
        };
        self.store.record_vitals(&self.actor, p, visit, &vitals)?;
        Ok(issues)
    }

    pub fn roster(&mut self, month: Option<&str>) -> Result<RosterView, UiError> {
        self.ensure_unlocked()?;
        let month = month.map(str::to_string).unwrap_or_else(|| houmon_docs::month_key(self.today));
        let (visits, conflicts) = match self.store.roster_month(&month) {
            Ok(x) => x,
            Err(CoreError::NotFound { .. }) => (vec![], vec![]),
            Err(e) => return Err(e.into()),
        };
        let clinic = self.store.clinic()?;
        let names: HashMap<PatientId, String> =
            self.store.patient_list()?.into_iter().map(|p| (p.id, p.name)).collect();
        let mut days: Vec<String> = visits.iter().map(|v| v.date.to_string()).collect();
        days.sort();
        days.dedup();
        Ok(RosterView {
            month,
            days,
            staff: clinic
                .staff
                .iter()
                .filter(|s| matches!(s.role, m::StaffRole::Doctor | m::StaffRole::Nurse))
                .map(|s| StaffView { id: s.id.to_string(), name: s.name.clone(), role: role_code(s.role).into() })
                .collect(),
            visits: visits
                .iter()
                .map(|v| RosterEntry {
                    visit_id: v.id.to_string(),
                    date: v.date.to_string(),
                    start: v.start.format("%H:%M").to_string(),
                    patient_id: v.patient.to_string(),
                    patient_name: names.get(&v.patient).cloned().unwrap_or_default(),
                    staff: v.staff.iter().map(|s| s.to_string()).collect(),
                    kind: kind_code(v.kind).into(),
                    status: status_code(v.status).into(),
                })
                .collect(),
            conflicts: conflicts.len() as u32,
        })
    }

    /// Assign a planned visit to one staff member and/or another day (roster planner).
    pub fn assign_visit(&mut self, visit: &str, staff: &str, date: Option<&str>) -> Result<(), UiError> {
        self.ensure_unlocked()?;
        let v = parse_visit(visit)?;
        let s = StaffId::parse(staff).ok_or_else(|| bad_id("職員"))?;
        let date = date.map(|d| d.parse::<NaiveDate>().map_err(|_| bad_id("日付"))).transpose()?;
        let month = houmon_docs::month_key(date.unwrap_or(self.today));
        let (visits, _) = self.store.roster_month(&month)?;
        let mut rv = visits.into_iter().find(|x| x.id == v).ok_or(CoreError::NotFound { what: "visit" })?;
        if let Some(d) = date {
            if houmon_docs::month_key(d) != houmon_docs::month_key(rv.date) {
                return Err(UiError::new(
                    "invalid_input",
                    "別の月へは移動できません。移動先の月で新しく予定を作成してください。",
                    "A visit cannot move to another month. Plan it in that month instead.",
                ));
            }
            rv.date = d;
        }
        rv.staff = vec![s];
        self.store.plan_visit(&self.actor, &rv)?;
        Ok(())
    }

    pub fn audit_log(&self, limit: i64) -> Result<AuditLogView, UiError> {
        self.ensure_unlocked()?;
        let chain_ok = self.store.verify_audit()?.ok();
        let rows = self
            .store
            .recent_audit(limit.clamp(1, 1000))?
            .into_iter()
            .map(|e| AuditRow {
                seq: e.seq,
                at: iso(e.at),
                staff: e.staff,
                action: e.action,
                target: e.target,
                detail: e.detail,
            })
            .collect();
        Ok(AuditLogView { chain_ok, rows })
    }

    /// The back office queue: patients whose 再照会 or check is waiting for an answer.
    pub fn qualification_queue(&mut self) -> Result<Vec<QueueRow>, UiError> {
        self.ensure_unlocked()?;
        let mut out = Vec::new();
        let ids: Vec<PatientId> = self.checks.keys().copied().collect();
        self.refresh_after_sync();
        for p in ids {
            let chart = self.store.open_chart(&self.actor, p)?;
            self.cache_chart(p, &chart);
            for r in &chart.qualification_requests {
                let answered = r.answered || chart.qualifications.iter().any(|q| q.id == r.id);
                let (state, ja, en) = self.queue_state(&chart, r);
                out.push(QueueRow {
                    patient_id: p.to_string(),
                    patient_name: chart.demographics.name.clone(),
                    requested_at: iso(r.requested_at),
                    answered,
                    state,
                    ja,
                    en,
                });
            }
        }
        out.sort_by(|a, b| b.requested_at.cmp(&a.requested_at));
        Ok(out)
    }

    pub fn demo_cards(&self) -> Vec<DemoCard> {
        houmon_nfc::synthetic_holders()
            .into_iter()
            .map(|h| DemoCard {
                on_reader: self.reader.on_reader.as_deref() == Some(h.id.as_str()),
                label: format!("{} {} {}", h.id, h.family_name, h.given_name),
                note: h.note.clone(),
                id: h.id,
            })
            .collect()
    }

    /// Training reader: put a synthetic card on it (None = take it off), optionally making it
    /// leave the reader during the next read.
    pub fn demo_place_card(&mut self, id: Option<&str>, remove_after: Option<u32>) -> Result<(), UiError> {
        if let Some(id) = id
            && !houmon_nfc::synthetic_holders().iter().any(|h| h.id == id)
        {
            return Err(bad_id("カード"));
        }
        self.reader.on_reader = id.map(str::to_string);
        self.reader.remove_after = remove_after;
        Ok(())
    }

    pub fn lock(&mut self) {
        self.locked = true;
    }

    /// The staff who can sign in on this device (active clinic staff, the signed-in one first).
    pub fn sign_in_staff(&mut self) -> Result<Vec<StaffView>, UiError> {
        let mut staff: Vec<m::Staff> = self.store.clinic()?.staff.into_iter().filter(|s| s.active).collect();
        staff.sort_by_key(|s| (s.id != self.actor.staff, s.name.clone()));
        Ok(staff
            .into_iter()
            .map(|s| StaffView { id: s.id.to_string(), name: s.name, role: role_code(s.role).into() })
            .collect())
    }

    /// Staff sign-in with a PIN (the enrolled device is the other factor). `staff` None means
    /// the staff member who was signed in. Training mode: a staff member without a PIN of their
    /// own signs in with 0000 (shown on screen). Five wrong PINs lock that staff member out for
    /// five minutes. Every attempt is audited, never with the PIN.
    pub fn unlock(&mut self, staff: Option<&str>, mut pin: String) -> Result<(), UiError> {
        let r = self.check_sign_in(staff, &pin);
        pin.zeroize();
        let (who, ok) = r?;
        let attempt = Actor { staff: who.id, device: self.actor.device };
        if !ok {
            self.store.record_access(&attempt, AuditAction::Open, "session", "unlock refused: wrong staff PIN")?;
            let n = self.pin_failures.entry(who.id).or_insert((0, None));
            n.0 += 1;
            if n.0 >= STAFF_PIN_TRIES {
                *n = (0, Some(std::time::Instant::now() + STAFF_PIN_LOCKOUT));
                return Err(staff_locked_out());
            }
            let left = STAFF_PIN_TRIES - n.0;
            return Err(UiError::new(
                "wrong_staff_pin",
                format!("職員PINが違います。あと{left}回間違えると5分間サインインできなくなります。"),
                format!("Wrong staff PIN. {left} more wrong tries lock sign-in for 5 minutes."),
            ));
        }
        self.pin_failures.remove(&who.id);
        self.apply_settings();
        if who.id != self.actor.staff {
            self.actor.staff = who.id;
            self.staff_name = who.name.clone();
            self.staff_role = role_code(who.role).into();
            self.checks.clear();
        }
        self.locked = false;
        self.store.session_started(&self.actor)?;
        Ok(())
    }

    fn check_sign_in(&mut self, staff: Option<&str>, pin: &str) -> Result<(m::Staff, bool), UiError> {
        let id = match staff {
            Some(s) => StaffId::parse(s).ok_or_else(|| bad_id("職員"))?,
            None => self.actor.staff,
        };
        let who =
            self.store.clinic()?.staff.into_iter().find(|s| s.id == id && s.active).ok_or_else(|| bad_id("職員"))?;
        if let Some((_, Some(until))) = self.pin_failures.get(&id) {
            if std::time::Instant::now() < *until {
                return Err(staff_locked_out());
            }
            self.pin_failures.remove(&id);
        }
        let ok = match self.store.check_staff_pin(id, pin)? {
            Some(ok) => ok,
            None if self.training => pin == TRAINING_STAFF_PIN,
            None => {
                return Err(UiError::new(
                    "staff_pin_not_set",
                    "この職員の職員PINがまだ設定されていません。事務室(管理者)に設定を依頼してください。",
                    "No staff PIN is set for this person yet. Ask the office (an administrator) to set one.",
                ));
            }
        };
        Ok((who, ok))
    }

    /// Set a staff member's PIN: their own, or anyone's for office and admin staff.
    pub fn set_staff_pin(&mut self, staff: &str, mut pin: String) -> Result<(), UiError> {
        let r = (|| {
            self.ensure_unlocked()?;
            let id = StaffId::parse(staff).ok_or_else(|| bad_id("職員"))?;
            if id != self.actor.staff && !matches!(self.staff_role.as_str(), "office" | "admin") {
                return Err(UiError::new(
                    "not_allowed",
                    "他の職員のPINを設定できるのは事務・管理者だけです。",
                    "Only office staff and administrators can set another person's PIN.",
                ));
            }
            validate_staff_pin(&pin)?;
            self.store.set_staff_pin(&self.actor, id, &pin)?;
            Ok(())
        })();
        pin.zeroize();
        r
    }

    /// The managed-policy page: every setting of core's schema, its effective value, source
    /// and origin; locked ones are marked; ignored values are listed with the reason. Bad
    /// values never stop the app.
    pub fn settings(&self) -> PolicyPage {
        policy_page(self.policy_engine().view())
    }

    /// The user changes an unlocked, user-settable setting (typed as text; converted by the
    /// setting's kind). A refusal says why (locked by the administrator, out of range …).
    pub fn set_user_setting(&mut self, key: &str, value: Option<&str>) -> Result<PolicyPage, UiError> {
        use houmon_policy::schema::SettingKind;
        let engine = self.policy_engine();
        let r = match value {
            None => engine.clear_user_value(key),
            Some(text) => {
                let kind = houmon_policy::SETTINGS.iter().find(|d| d.key == key).map(|d| d.kind);
                let raw = match kind {
                    Some(SettingKind::Integer { .. }) => {
                        text.trim().parse::<i64>().map(serde_json::Value::from).unwrap_or_else(|_| text.into())
                    }
                    Some(SettingKind::Bool) => serde_json::Value::Bool(text == "true"),
                    Some(SettingKind::MultiChoice { .. } | SettingKind::TextList { .. }) => {
                        text.split(',').map(|x| serde_json::Value::from(x.trim())).collect()
                    }
                    _ => text.trim().into(),
                };
                engine.set_user_value(key, raw)
            }
        };
        let view = r.map_err(|e| UiError::new("setting_refused", &e.message_ja, &e.message_en))?;
        self.store.record_access(&self.actor, AuditAction::Edit, &format!("setting:{key}"), "user setting")?;
        self.apply_settings();
        Ok(policy_page(view))
    }
}

fn setting_problem(p: houmon_policy::resolve::ProblemView) -> SettingProblem {
    SettingProblem {
        ignored: p.severity == houmon_policy::resolve::Severity::Ignored,
        ja: p.message_ja,
        en: p.message_en,
        origin: p.origin,
    }
}

fn policy_page(view: houmon_policy::PolicyView) -> PolicyPage {
    use houmon_policy::schema::SettingKind;
    use houmon_policy::{SETTINGS, SettingSource, SettingValue};
    let settings = view
        .settings
        .into_iter()
        .map(|r| {
            let kind = SETTINGS.iter().find(|d| d.key == r.key).map(|d| d.kind);
            let (input, choices) = match kind {
                Some(SettingKind::Bool) => ("bool", Vec::new()),
                Some(SettingKind::Integer { .. }) => ("integer", Vec::new()),
                Some(SettingKind::Choice { options }) => (
                    "choice",
                    options
                        .iter()
                        .map(|o| SettingChoice {
                            value: o.value.into(),
                            label_ja: o.label.ja.into(),
                            label_en: o.label.en.into(),
                        })
                        .collect(),
                ),
                _ => ("text", Vec::new()),
            };
            SettingRow {
                value: match &r.value {
                    SettingValue::Unset => "—".into(),
                    SettingValue::Text(t) => t.clone(),
                    SettingValue::List(l) => l.join(", "),
                    v => serde_json::to_string(v).unwrap_or_default(),
                },
                source: match r.source {
                    SettingSource::Managed => "managed",
                    SettingSource::User => "user",
                    SettingSource::Recommended => "recommended",
                    SettingSource::Default => "default",
                }
                .into(),
                key: r.key,
                label_ja: r.title_ja,
                label_en: r.title_en,
                description_ja: r.description_ja,
                description_en: r.description_en,
                origin: r.origin,
                locked: r.locked,
                user_editable: r.user_editable,
                input: input.into(),
                choices,
                problems: r.problems.into_iter().map(setting_problem).collect(),
            }
        })
        .collect();
    PolicyPage {
        managed_by_organization: view.managed_by_organization,
        settings,
        problems: view.problems.into_iter().map(setting_problem).collect(),
    }
}
