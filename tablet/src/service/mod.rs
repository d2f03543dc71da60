//! The app's use cases as the UI sees them: plain Rust over the domain crates, `nfc` and `onshi`, no
//! Tauri types, so it is tested without a window. `lib.rs` only turns these into commands.
//!
//! Demo/training mode (the default): a seeded synthetic clinic, the in-process qualification
//! simulator standing in for the gateway, and the synthetic cards on an in-process reader.
//!
//! Must never: keep a PIN after the call that uses it, log patient data, or read the 個人番号.

use crate::dto::*;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use houmon_device::lifecycle::USER_SETTINGS_FILE;
use houmon_keys::KeyProtection;
use houmon_model::CoreError;
use houmon_model::check::timeline;
use houmon_model::{self as m, Actor, DeviceId, PatientId, StaffId, VisitId};
use houmon_nfc::{AuthPin, Card, CardError, FaceIssuers, PcscReader, Transport, VerificationCodeB};
use houmon_onshi::clock::SystemClock;
use houmon_onshi::consent::{self as rules, ConsentPolicy, ConsentTimeline};
use houmon_onshi::digest;
use houmon_onshi::outcome::{QualificationOutcome, interpret};
use houmon_onshi::sim::{FirstVisitRequest, IdentityProof, ReinquiryRequest, Simulator};
use houmon_onshi::{InsurerNumber, MedicalInstitutionCode, QualificationConfirmSearchInfo};
use houmon_store::Store;
use houmon_store::audit::AuditAction;
use houmon_store::{TodayVisit, chart_doc_id};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroize;

pub mod audit;
mod card;
mod codes;
mod first_visit;
mod gateway;
mod notes;
pub mod patients;
pub mod plan;
mod requery;
mod roster;
mod settings;
pub(crate) mod staff;
#[cfg(feature = "training")]
mod training;
mod visits;
mod vitals;
#[cfg(not(feature = "training"))]
mod without_training;

// Helpers one use case shares with another.
use self::card::FaceEvidence;
#[cfg(feature = "training")]
use self::training::*;
use self::{codes::*, first_visit::*, requery::*};
pub use vitals::check_vitals;

/// Seed of the demo clinic: the same clinic on every device and every run.
pub const DEMO_SEED: u64 = 20_261_121;
/// The training doctor every demo session signs in as (fixed so restarts find the same data).
pub const DEMO_STAFF: &str = "0d0c7e11-0000-4000-8000-00000000d0c1";
/// In training mode, staff without a PIN of their own sign in with this (shown on screen).
const TRAINING_STAFF_PIN: &str = "0000";

/// The reader name shown when the in-process training reader is used.
pub const TRAINING_READER: &str = "訓練用カードリーダー(アプリ内)";

impl From<CoreError> for UiError {
    fn from(e: CoreError) -> Self {
        let m = e.user_message();
        let code = match e {
            CoreError::NotFound { .. } => AppErrorCode::NotFound,
            CoreError::InvalidInput { .. } => AppErrorCode::InvalidInput,
            CoreError::LooksLikeIndividualNumber => AppErrorCode::IndividualNumber,
            CoreError::NoteSigned => AppErrorCode::NoteSigned,
            CoreError::NotNoteAuthor => AppErrorCode::NotAllowed,
            CoreError::WrongKey => AppErrorCode::WrongKey,
            _ => AppErrorCode::Storage,
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

pub(crate) fn bad_id(what: &str) -> UiError {
    UiError::new(
        AppErrorCode::InvalidInput,
        format!("{what}の指定が正しくありません。一覧から開き直してください。"),
        format!("Invalid {what} id. Open it again from the list."),
    )
}

/// A role refusal, saying who may do it.
pub(crate) fn not_allowed(p: m::Permission) -> UiError {
    let (ja, en) = match p {
        m::Permission::WriteClinical => (
            "診療記録の記載・署名と訪問の開始は医師と看護師だけが行えます。",
            "Only doctors and nurses write and sign clinical notes and start visits.",
        ),
        m::Permission::ReadClinical => (
            "この役割では診療記録を閲覧できません(医療機関の設定)。",
            "Your role may not read clinical notes (clinic policy).",
        ),
        m::Permission::ManageClinic => (
            "職員・端末・設定の管理は管理者だけが行えます。管理者にサインインしてもらってください。",
            "Only administrators manage staff, devices and settings. Ask an administrator to sign in.",
        ),
    };
    UiError::new(AppErrorCode::NotAllowed, ja, en)
}

pub(crate) fn parse_patient(s: &str) -> Result<PatientId, UiError> {
    PatientId::parse(s).ok_or_else(|| bad_id("患者"))
}
pub(crate) fn parse_visit(s: &str) -> Result<VisitId, UiError> {
    VisitId::parse(s).ok_or_else(|| bad_id("訪問"))
}

/// The JST calendar date now.
pub fn jst_today() -> NaiveDate {
    rules::jst_date(&Utc::now())
}

pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.with_timezone(&rules::jst()).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
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

/// Everything the shell holds. One per app; the shell wraps it in a mutex.
pub struct Service {
    store: Store,
    data_dir: PathBuf,
    actor: Actor,
    staff_name: String,
    staff_role: m::StaffRole,
    clinic_name: String,
    institution: MedicalInstitutionCode,
    sim: Arc<Simulator>,
    /// The consent validity policy in force (managed setting, or the default).
    policy: ConsentPolicy,
    /// Identity modes the clinic allows (managed setting `identityModes`).
    identity_modes: Vec<m::IdentityMode>,
    auto_lock_minutes: u32,
    /// The user's display language and text size (user settings `uiLanguage`, `largeText`).
    ui_language: houmon_policy::UiLanguage,
    large_text: bool,
    policy_dir: Option<PathBuf>,
    #[cfg(feature = "training")]
    reader: TrainingReader,
    card_source: CardSource,
    /// The patient whose card face was shown (目視), and what it showed: a visual check needs
    /// it first, and goes ahead only on evidence the clinic's policy accepts.
    face_shown_for: Option<(PatientId, FaceEvidence)>,
    /// The card issuer keys that verify card face photos (policy `cardFaceIssuerKeys`; the
    /// synthetic issuer in training).
    face_issuers: FaceIssuers,
    /// Policy `visualCheckUnverifiedPhoto`: 目視 without a verified chip photo.
    visual_unverified_allowed: bool,
    /// Policy `screenshotProtection` (applied to the window by the shell).
    screenshot_protection: bool,
    /// The clinic's "today" when a test fixed it; otherwise the JST date now.
    fixed_today: Option<NaiveDate>,
    locked: bool,
    /// Last command the signed-in person ran: past `auto_lock_minutes` the next one locks.
    last_activity: std::time::Instant,
    /// Who may read clinical notes beyond clinicians (policy `officeReadsNotes`).
    access: m::AccessPolicy,
    /// Training mode (訓練モード): demo clinic, simulator, training cards and PIN.
    training: bool,
    /// Consent/qualification state per patient, computed once per session and refreshed
    /// after every change (so the visit list does not audit a chart view per row).
    checks: HashMap<PatientId, (Option<m::QualificationSnapshot>, ConsentTimeline)>,
    /// Enrolled devices: qualification goes through the clinic's gateway (`service_gateway.rs`).
    gateway: Option<gateway::GatewayState>,
    /// The chart the signed-in person has open: reloading it (after a sync) is the same view,
    /// not another one in the access history. Cleared by the day list, a lock or a sign-in.
    viewing: Option<PatientId>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("today", &self.today()).finish_non_exhaustive()
    }
}

/// The check state as the UI shows it: the domain's [`m::check::consent_check`] and the
/// latest 資格有効性.
pub fn check_state(
    policy: &ConsentPolicy,
    t: &ConsentTimeline,
    latest: Option<&m::QualificationSnapshot>,
    kind: m::VisitKind,
    now: DateTime<Utc>,
) -> CheckState {
    let c = m::check::consent_check(policy, t, kind, now);
    CheckState {
        path: c.path,
        reason: c.reason,
        valid_through: c.valid_through.map(|d| d.to_string()),
        days_left: c.days_left,
        ja: c.ja,
        en: c.en,
        validity: latest.map(|q| q.validity),
        request: None,
    }
}

impl Service {
    /// The check state of a visit of `kind` now, from what `chart` knows.
    pub(crate) fn chart_check(&self, chart: &m::Chart, kind: m::VisitKind) -> CheckState {
        check_state(&self.policy, &timeline(chart), chart.latest_qualification(), kind, Utc::now())
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
    /// The parts both modes share. Training: the synthetic cards on the in-process reader;
    /// an enrolled device never uses the training cards, only PC/SC readers.
    pub(crate) fn assemble(
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
            staff_role: me.map(|s| s.role).unwrap_or(m::StaffRole::Doctor),
            clinic_name,
            institution,
            sim: Arc::new(Simulator::new(Arc::new(SystemClock))),
            policy: ConsentPolicy::default(),
            identity_modes: vec![m::IdentityMode::Pin, m::IdentityMode::Visual],
            auto_lock_minutes: 5,
            ui_language: houmon_policy::UiLanguage::Ja,
            large_text: false,
            policy_dir: opts.policy_dir.clone(),
            #[cfg(feature = "training")]
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
            face_issuers: FaceIssuers::none(),
            visual_unverified_allowed: false,
            screenshot_protection: true,
            fixed_today: opts.today,
            locked: false,
            last_activity: std::time::Instant::now(),
            access: m::AccessPolicy::default(),
            training,
            checks: HashMap::new(),
            gateway: (!training).then(Default::default),
            viewing: None,
        }
    }

    /// An enrolled device (`device.rs`): the store lent by the device lifecycle, no demo
    /// clinic. What the clinic document does not hold yet (before the first sync) stays empty.
    pub fn open_enrolled(opts: &ServiceOptions, mut store: Store, device: DeviceId) -> Result<Self, UiError> {
        store.set_clock(Utc::now);
        let clinic = store.clinic().ok();
        let me = clinic.as_ref().and_then(|c| c.staff.iter().find(|s| s.active).cloned());
        let institution = clinic
            .as_ref()
            .and_then(|c| MedicalInstitutionCode::parse(&c.institution_code).ok())
            .or_else(|| MedicalInstitutionCode::parse("1319999999").ok())
            .ok_or_else(|| {
                UiError::new(AppErrorCode::Config, "医療機関コードが正しくありません。", "Invalid institution code.")
            })?;
        let actor = Actor { staff: me.as_ref().map(|s| s.id).unwrap_or_default(), device };
        let clinic_name = clinic.map(|c| c.name).unwrap_or_default();
        let mut svc = Self::assemble(opts, store, actor, me, clinic_name, institution, false);
        // Fail closed: an enrolled device is locked until a staff member signs in (before the
        // first sync nobody can, and the lock screen says it is waiting for the staff list).
        svc.locked = true;
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

    /// The clinic's "today" (JST): follows the clock, so it rolls over at midnight.
    pub(crate) fn today(&self) -> NaiveDate {
        self.fixed_today.unwrap_or_else(jst_today)
    }

    /// Every use case starts here: refuse when locked, and lock first when the signed-in
    /// person has been idle past `autoLockMinutes` (enforced here, not only by the UI's timer).
    pub(crate) fn ensure_unlocked(&mut self) -> Result<(), UiError> {
        let idle = std::time::Duration::from_secs(u64::from(self.auto_lock_minutes) * 60);
        if !self.locked && self.auto_lock_minutes > 0 && self.last_activity.elapsed() >= idle {
            self.locked = true;
            let _ = self.store.record_access(&self.actor, AuditAction::Open, "session", "auto-lock after idle");
        }
        if self.locked {
            return Err(UiError::new(
                AppErrorCode::Locked,
                "画面がロックされています。職員PINでロックを解除してください。",
                "The app is locked. Unlock it with your staff PIN.",
            ));
        }
        self.last_activity = std::time::Instant::now();
        Ok(())
    }

    /// [`Self::ensure_unlocked`], then the role check (`m::StaffRole::may`).
    pub(crate) fn require(&mut self, p: m::Permission) -> Result<(), UiError> {
        self.ensure_unlocked()?;
        if self.staff_role.may(p, self.access) { Ok(()) } else { Err(not_allowed(p)) }
    }

    /// Whether the signed-in person may read clinical notes (no lock check).
    pub(crate) fn reads_clinical(&self) -> bool {
        self.staff_role.may(m::Permission::ReadClinical, self.access)
    }

    /// Tests: pretend the signed-in person has been idle this long.
    #[cfg(test)]
    pub(crate) fn pretend_idle(&mut self, d: std::time::Duration) {
        if let Some(t) = std::time::Instant::now().checked_sub(d) {
            self.last_activity = t;
        }
    }

    /// The effective managed settings (Managed > User > Recommended > Default), read afresh:
    /// policy files are small, and a change then applies at the next sign-in or start.
    pub(crate) fn effective_settings(&self) -> houmon_policy::EffectiveSettings {
        self.policy_engine().view().effective()
    }

    pub(crate) fn policy_engine(&self) -> houmon_policy::PolicyEngine {
        let sources: Vec<Box<dyn houmon_policy::PolicySource>> = match &self.policy_dir {
            Some(d) => vec![Box::new(houmon_policy::LinuxPolicyDir::new(d.clone()))],
            None => crate::device::policy_sources(),
        };
        let user = self.data_dir.join(crate::device::DEVICE_DIR).join(USER_SETTINGS_FILE);
        houmon_policy::PolicyEngine::new(sources, Some(user))
    }

    pub(crate) fn apply_settings(&mut self) {
        let e = self.effective_settings();
        self.policy = e.consent;
        self.identity_modes = e.identity_modes;
        self.auto_lock_minutes = e.auto_lock_minutes;
        self.access = m::AccessPolicy { office_reads_notes: e.office_reads_notes };
        self.visual_unverified_allowed = e.visual_check_unverified_photo;
        self.screenshot_protection = e.screenshot_protection;
        self.face_issuers = self.trusted_face_issuers(&e.card_face_issuer_keys);
        self.ui_language = e.ui_language;
        self.large_text = e.large_text;
        self.checks.clear();
    }

    pub(crate) fn visual_allowed(&self) -> bool {
        self.sim.config().allow_visual_check && self.identity_modes.contains(&m::IdentityMode::Visual)
    }

    pub fn app_info(&mut self) -> AppInfo {
        let can_found_admin = self.locked
            && self.store.clinic().is_ok_and(|c| c.staff.is_empty())
            && self.is_admin_device().unwrap_or(false);
        let needs_clinic_setup = self.locked && self.store.clinic().is_err() && self.is_admin_device().unwrap_or(false);
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
            staff_role: self.staff_role,
            today: self.today().to_string(),
            key_warning_ja: ja,
            key_warning_en: en,
            version: env!("CARGO_PKG_VERSION").into(),
            // Training: no relay. An enrolled device's status comes from `device.rs`.
            sync: crate::device::training_status(),
            allow_visual_check: self.visual_allowed(),
            allow_unverified_visual_check: self.visual_unverified_allowed,
            screenshot_protection: self.screenshot_protection,
            allow_pin_check: self.identity_modes.contains(&m::IdentityMode::Pin),
            auto_lock_minutes: self.auto_lock_minutes,
            ui_language: self.ui_language,
            large_text: self.large_text,
            locked: self.locked,
            can_found_admin,
            needs_clinic_setup,
        }
    }
}
