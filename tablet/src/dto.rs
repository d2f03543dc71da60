//! The IPC types: what the UI sends and receives. TypeScript declarations are generated from
//! these (ts-rs) into `ui/src/ipc/bindings.ts`; a test fails when the committed file drifts.
//!
//! Ids and dates travel as strings (UUIDs, ISO 8601) so the UI never does arithmetic on them.
//! Nothing here may carry a PIN back to the UI, or a 個人番号 at all.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use houmon_device::lifecycle::EnrollmentError;
pub use houmon_model::check::{CheckOutcome, CheckPath, CheckReason, RequestFailure, RequestKind, RequestState};
pub use houmon_model::plan::Recurrence;
pub use houmon_model::vitals::{VitalSign, VitalsIssue, VitalsLevel};
pub use houmon_model::{CareEndReason, IdDocument};
pub use houmon_model::{
    IdentityMode, NoteStatus, PrescriptionForm, QualificationValidity, StaffRole, SyncState, VisitKind, VisitStatus,
};
pub use houmon_nfc::CardErrorCode;
pub use houmon_policy::{SettingSource, UiLanguage};
pub use houmon_sync_proto::ErrorCode as RelayErrorCode;

/// A message a user reads: Japanese first, English available, with the next step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UiError {
    /// Stable machine code (e.g. `wrong_pin`, `consent_expired`, `no_reader`).
    pub code: UiErrorCode,
    pub ja: String,
    pub en: String,
    /// PIN tries left when the error concerns the PIN.
    pub tries_left: Option<u8>,
}

impl UiError {
    pub fn new(code: impl Into<UiErrorCode>, ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self { code: code.into(), ja: ja.into(), en: en.into(), tries_left: None }
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.en)
    }
}

/// Why a command failed, as one code the UI can switch on: the card's, the 再照会 check's,
/// enrollment's, the relay's, or the app's own. Each source keeps its own names; in
/// TypeScript this is the union of their string literals, so a misspelt case fails `tsc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(untagged)]
pub enum UiErrorCode {
    App(AppErrorCode),
    Card(CardErrorCode),
    Check(CheckReason),
    Enrollment(EnrollmentError),
    Relay(RelayErrorCode),
}

macro_rules! ui_error_code_from {
    ($($variant:ident($ty:ty)),+) => {$(
        impl From<$ty> for UiErrorCode {
            fn from(c: $ty) -> Self {
                Self::$variant(c)
            }
        }
        impl PartialEq<$ty> for UiErrorCode {
            fn eq(&self, c: &$ty) -> bool {
                *self == Self::$variant(*c)
            }
        }
    )+};
}
ui_error_code_from!(
    App(AppErrorCode),
    Card(CardErrorCode),
    Check(CheckReason),
    Enrollment(EnrollmentError),
    Relay(RelayErrorCode)
);

/// The app's own error codes (use cases, sign-in, settings, the shell and `houmon-clinic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AppErrorCode {
    /// A patient, visit or note that is not (or no longer) on this device.
    NotFound,
    InvalidInput,
    /// Text that looks like a 個人番号 was refused.
    IndividualNumber,
    /// A signed note cannot be edited (訂正 instead).
    NoteSigned,
    /// The data key does not open this store.
    WrongKey,
    Storage,
    /// The device's configuration (policy, institution code) is not usable.
    Config,
    /// The consent digest for the card signature could not be built.
    Digest,
    SettingRefused,
    /// The shell is still starting.
    Starting,
    Internal,
    /// The app is locked: sign in first.
    Locked,
    NotEnrolled,
    /// The device could not reach or finish a sync with the relay.
    Unreachable,
    SyncFailed,
    /// Entries from the clinic's other devices cannot be opened (another content key).
    Unreadable,
    /// The relay refused a change for good (too large): set aside on this device.
    SetAside,
    /// The training clinic could not be used (switch refused, or not in this build).
    Training,
    TrainingUnavailable,
    // Identity confirmation at the first visit.
    PinNotAllowed,
    VisualNotAllowed,
    FaceNotShown,
    FaceSignatureInvalid,
    FaceUnverified,
    // Staff sign-in.
    InvalidStaffPin,
    /// Raised by the UI itself: the two entries of a new PIN differ.
    PinMismatch,
    WrongStaffPin,
    StaffPinLocked,
    StaffPinNotSet,
    /// This device holds no PIN for the person: redeem a set-up code here.
    StaffPinSetupNeeded,
    StaffPinSetupExpired,
    /// The signed-in person's role does not allow this (checked in Rust).
    NotAllowed,
    // Clinic administration.
    NotAdmin,
    NoClinic,
    NoKeystore,
    SelfRevoke,
    InvalidInstitutionCode,
    /// `houmon-clinic`: an argument it cannot use.
    BadArgument,
    // Patients and the visit plan.
    /// A patient list file with bad rows (their line numbers in the message); nothing imported.
    CsvInvalid,
    /// A recurring pattern that gives no visit, or reaches too far.
    InvalidRecurrence,
}

/// Sync state, always shown in the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub state: SyncState,
    /// Local changes not yet sent.
    pub pending: u32,
    pub last_sync_at: Option<String>,
    /// Short label for the header (訓練モード, 未登録, 同期中, 最新(09:41), オフライン(未送信2件), 拒否—端末が失効).
    pub label_ja: String,
    pub label_en: String,
    /// What the user does next.
    pub next_ja: String,
    pub next_en: String,
    /// Show the enrollment screen (not enrolled, or wiped).
    pub needs_enrollment: bool,
    /// A managed enrollment code is configured (the screen says it was tried).
    pub managed_code: bool,
}

/// What the shell knows at start-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub training_mode: bool,
    pub clinic_name: String,
    pub staff_id: String,
    pub staff_name: String,
    pub staff_role: StaffRole,
    /// JST date the roster shows as today (YYYY-MM-DD).
    pub today: String,
    /// Shown when the data key is not protected by an OS keystore.
    pub key_warning_ja: Option<String>,
    pub key_warning_en: Option<String>,
    pub version: String,
    pub sync: SyncStatus,
    /// Whether the clinic policy allows 目視確認 at a first visit.
    pub allow_visual_check: bool,
    /// Whether 目視 may go ahead without a verified chip photo (clinic policy
    /// `visualCheckUnverifiedPhoto`).
    pub allow_unverified_visual_check: bool,
    /// Policy `screenshotProtection`: the shell keeps the window out of screenshots, screen
    /// recording and the app switcher where the OS allows it.
    pub screenshot_protection: bool,
    /// Whether the PIN check is allowed (managed setting `identityModes`).
    pub allow_pin_check: bool,
    /// Idle minutes before the screen locks (managed setting `autoLockMinutes`).
    pub auto_lock_minutes: u32,
    /// The language the user chose (user setting `uiLanguage`), applied at start-up.
    pub ui_language: UiLanguage,
    /// Large text chosen (user setting `largeText`).
    pub large_text: bool,
    pub locked: bool,
    /// The clinic has no staff yet and this is its admin device: offer 最初の管理者.
    pub can_found_admin: bool,
    /// Founded from this admin device and no clinic document yet: offer 医療機関の設定 first.
    pub needs_clinic_setup: bool,
}

/// How this visit's qualification can be confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CheckState {
    pub path: CheckPath,
    pub reason: CheckReason,
    /// Consent valid through (JST, YYYY-MM-DD).
    pub valid_through: Option<String>,
    /// Days until the consent lapses (0 = last day); negative once expired.
    pub days_left: Option<i64>,
    pub ja: String,
    pub en: String,
    /// Latest 資格有効性, if any check was done.
    pub validity: Option<QualificationValidity>,
    /// An enrolled device's latest request to the clinic's gateway (decision 5): waiting,
    /// answered or refused. Always `None` in training mode (answered in-process).
    pub request: Option<RequestView>,
}

/// A qualification request sent to the clinic's gateway over sync, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    pub id: String,
    pub state: RequestState,
    pub kind: RequestKind,
    pub requested_at: String,
    pub answered_at: Option<String>,
    /// The result's validity, once answered with a result.
    pub validity: Option<QualificationValidity>,
    /// Why the gateway answered without a result.
    pub failure: Option<RequestFailure>,
    /// The qualification service's own code when `failure` is `service_error` (e.g. `HSIM-E105`).
    pub service_code: Option<String>,
    /// What happened and what to do next.
    pub ja: String,
    pub en: String,
}

/// One row of 今日の訪問.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VisitRow {
    pub visit_id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub patient_kana: String,
    pub start: String,
    pub end: String,
    pub kind: VisitKind,
    pub status: VisitStatus,
    pub check: CheckState,
}

/// Insurance as last confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct QualificationView {
    pub id: String,
    pub checked_at: String,
    pub insurer_number: String,
    pub symbol: String,
    pub number: String,
    pub branch: String,
    /// 負担割合 in percent.
    pub copay_percent: Option<u8>,
    pub validity: QualificationValidity,
    pub consent_medication: bool,
    pub consent_clinical: bool,
    pub consent_checkup: bool,
    pub consent_surgery: bool,
    pub consent_valid_until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConsentView {
    pub id: String,
    pub recorded_at: String,
    pub recorded_by: String,
    pub identity: IdentityMode,
    pub medication: bool,
    pub clinical: bool,
    pub checkup: bool,
    pub surgery: bool,
    pub prescription: PrescriptionForm,
    pub signed_by_card: bool,
    pub revocation: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VitalsInput {
    pub systolic: Option<i32>,
    pub diastolic: Option<i32>,
    pub pulse: Option<i32>,
    pub spo2: Option<i32>,
    pub temperature: Option<f64>,
    pub respiration: Option<i32>,
    pub weight: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Soap {
    pub s: String,
    pub o: String,
    pub a: String,
    pub p: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NoteView {
    pub id: String,
    pub thread: String,
    pub version: u32,
    pub visit_id: String,
    pub status: NoteStatus,
    pub author: String,
    pub created_at: String,
    pub signed_at: Option<String>,
    pub replaces: Option<String>,
    pub correction_reason: String,
    pub soap: Soap,
    pub intact: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VisitView {
    pub id: String,
    pub kind: VisitKind,
    pub staff: String,
    pub arrival: Option<String>,
    pub departure: Option<String>,
    pub vitals: VitalsInput,
    pub notes: Vec<NoteView>,
}

/// The patient chart screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChartView {
    pub patient_id: String,
    pub name: String,
    pub kana: String,
    pub birth_date: Option<String>,
    /// `1` male, `2` female.
    pub sex: String,
    pub address: String,
    pub insurance: Option<QualificationView>,
    pub check: CheckState,
    pub consents: Vec<ConsentView>,
    pub qualifications: Vec<QualificationView>,
    /// Newest first.
    pub visits: Vec<VisitView>,
    pub conflicts: u32,
    /// Notes and vitals were left out: the signed-in role may not read them (policy
    /// `officeReadsNotes`).
    pub clinical_hidden: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PatientRow {
    pub id: String,
    pub name: String,
    pub kana: String,
    pub birth_date: Option<String>,
    pub last_visit: Option<String>,
    /// Set once care ended (listed under 終了, never deleted).
    pub care_ended: Option<CareEndReason>,
}

/// 性別 as registered (the qualification codes: 1 male, 2 female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Sex {
    Male,
    Female,
}

/// A patient to register (`id` None) or edit (患者登録・変更). Everything but the name, kana,
/// birth date and sex may be empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PatientInput {
    pub id: Option<String>,
    pub name: String,
    /// カナ氏名, full-width katakana.
    pub kana: String,
    /// YYYY-MM-DD
    pub birth_date: String,
    pub sex: Sex,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub key_person: String,
    #[serde(default)]
    pub key_person_phone: String,
    #[serde(default)]
    pub care_manager: String,
    #[serde(default)]
    pub care_office: String,
    #[serde(default)]
    pub primary_doctor: String,
    pub id_document: IdDocument,
}

/// One field's change in a patient's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub label_ja: String,
    pub label_en: String,
    pub before: String,
    pub after: String,
}

/// One registration change (変更履歴): who and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PatientEditView {
    /// JST, RFC 3339.
    pub at: String,
    pub by_name: String,
    pub fields: Vec<FieldChange>,
}

/// A patient's registered details with their change history (the back office's 患者情報).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PatientDetail {
    pub patient: PatientInput,
    pub care_ended: Option<CareEndReason>,
    /// YYYY-MM-DD
    pub care_end_date: Option<String>,
    pub history: Vec<PatientEditView>,
}

/// What a CSV import did: every row registered (or none, with the bad rows' line numbers in
/// the error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub imported: u32,
    pub ids: Vec<String>,
}

/// A visit to plan (訪問予定), once or recurring until a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanInput {
    pub patient: String,
    pub staff: Vec<String>,
    /// YYYY-MM-DD: the visit, or the first day a recurring pattern may fall on.
    pub date: String,
    /// HH:MM
    pub start: String,
    /// HH:MM
    pub end: String,
    pub kind: VisitKind,
    pub repeat: Option<Recurrence>,
    /// YYYY-MM-DD, with `repeat`.
    pub until: Option<String>,
}

/// The visits a plan created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Planned {
    pub visits: Vec<String>,
    pub series: Option<String>,
}

/// An edit of one planned visit: its date, time window and kind; moving it to another month
/// cancels it there and plans a new one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VisitEdit {
    pub id: String,
    pub date: String,
    pub start: String,
    pub end: String,
    pub kind: VisitKind,
}

/// One planned visit in a month view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanRow {
    pub id: String,
    pub date: String,
    pub start: String,
    pub end: String,
    pub patient_id: String,
    pub patient_name: String,
    pub staff: Vec<StaffView>,
    pub kind: VisitKind,
    pub status: VisitStatus,
}

/// A month of the visit plan (月間予定), for the whole clinic, one staff member or one patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanMonth {
    /// YYYY-MM
    pub month: String,
    pub staff_id: Option<String>,
    pub patient_id: Option<String>,
    pub visits: Vec<PlanRow>,
}

/// Consent choices at a first visit, in the order of ARCHITECTURE decision 3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConsentChoices {
    pub medication: bool,
    pub clinical: bool,
    pub checkup: bool,
    pub surgery: bool,
    pub prescription: PrescriptionForm,
}

/// Card placed: what the PIN pad needs to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CardCheck {
    /// PIN tries left; `None` when the card does not say (the PIN pad then asks before
    /// sending, as on the last try).
    pub tries_left: Option<u8>,
    /// APDUs exchanged (diagnostics).
    pub apdus: u32,
    /// The reader the card was read on (a PC/SC reader name, or the training reader).
    pub reader: String,
}

/// 目視確認: the card's face photo, as a PNG data URL (never written to disk).
#[derive(Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CardFace {
    pub png_data_url: String,
    pub width: u32,
    pub height: u32,
    /// Whether the issuer's signature over the chip's face data verified (検証済み).
    pub authenticity: FaceAuthenticity,
    /// Whether the clinic's policy lets a visual check go ahead on this photo.
    pub visual_allowed: bool,
}

/// The chip photo's authenticity (顔写真の真正性), from the issuer's signature over the face data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum FaceAuthenticity {
    /// 検証済み: the issuer's signature verifies.
    Verified,
    /// 未検証: no issuer key configured on this device.
    NoIssuerKey,
    /// 署名不一致: the signature is missing or wrong; the chip may be forged.
    SignatureInvalid,
}

impl From<houmon_nfc::FaceAuthenticity> for FaceAuthenticity {
    fn from(a: houmon_nfc::FaceAuthenticity) -> Self {
        match a {
            houmon_nfc::FaceAuthenticity::Verified => Self::Verified,
            houmon_nfc::FaceAuthenticity::NoIssuerKey => Self::NoIssuerKey,
            houmon_nfc::FaceAuthenticity::SignatureInvalid => Self::SignatureInvalid,
        }
    }
}

impl std::fmt::Debug for CardFace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardFace({}x{})", self.width, self.height)
    }
}

/// Where a card read stands (カード読み取りの段階), for the progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum CardStep {
    /// リーダーに接続中
    Connecting,
    /// 電子証明書を読み取り中
    Certificate,
    /// 暗証番号の残り回数を確認中
    Tries,
    /// カードで同意に署名中
    Signing,
    /// 資格を確認中
    Qualifying,
    /// 記録を保存中
    Saving,
    /// 完了
    Done,
}

/// Live progress while the card is read (sent over an IPC channel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CardProgress {
    pub step: CardStep,
    /// 0–100.
    pub percent: u8,
}

#[derive(Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FirstVisitInput {
    pub patient_id: String,
    pub visit_id: String,
    pub consent: ConsentChoices,
    pub mode: IdentityMode,
    /// Only in PIN mode. Parsed into a zeroized buffer at once and never stored or logged.
    pub pin: Option<String>,
    /// The user confirmed sending the PIN with one try left.
    pub confirm_last_try: bool,
}

/// The PIN never appears in Debug output (logs, panics).
impl std::fmt::Debug for FirstVisitInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirstVisitInput")
            .field("patient_id", &self.patient_id)
            .field("visit_id", &self.visit_id)
            .field("mode", &self.mode)
            .field("pin", &self.pin.as_ref().map(|_| "****"))
            .field("confirm_last_try", &self.confirm_last_try)
            .finish_non_exhaustive()
    }
}

/// The result screen of a first visit, 往診 card check or 再照会.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct QualificationResult {
    pub outcome: CheckOutcome,
    pub ja: String,
    pub en: String,
    pub qualification: Option<QualificationView>,
    pub check: CheckState,
    /// Side information from the national side (e.g. certificate expires soon).
    pub notice_ja: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SavedNote {
    pub note_id: String,
    pub saved_at: String,
}

/// A vital sign outside its plausible or normal range.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StaffView {
    pub id: String,
    pub name: String,
    pub role: StaffRole,
}

/// A staff member on the lock screen's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SignInRow {
    pub id: String,
    pub name: String,
    pub role: StaffRole,
    /// This device holds a PIN chosen for the set-up in force (else: set-up code first).
    pub pin_on_device: bool,
}

/// A staff member in the back office's staff list (職員一覧).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StaffRow {
    pub id: String,
    pub name: String,
    pub kana: String,
    pub role: StaffRole,
    pub qualifications: String,
    pub active: bool,
}

impl From<houmon_model::Staff> for StaffRow {
    fn from(s: houmon_model::Staff) -> Self {
        Self {
            id: s.id.to_string(),
            name: s.name,
            kana: s.kana,
            role: s.role,
            qualifications: s.qualifications,
            active: s.active,
        }
    }
}

/// A staff member to add (`id` None) or edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StaffInput {
    pub id: Option<String>,
    pub name: String,
    pub kana: String,
    pub role: StaffRole,
    #[serde(default)]
    pub qualifications: String,
    pub active: bool,
}

/// A one-time PIN set-up code (設定コード), shown once to the administrator to hand over.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PinSetupView {
    pub code: String,
    /// JST, RFC 3339.
    pub valid_until: String,
}

impl std::fmt::Debug for PinSetupView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinSetupView").field("valid_until", &self.valid_until).finish_non_exhaustive()
    }
}

/// A saved staff member; a new one comes with the set-up code for their first PIN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StaffSaved {
    pub id: String,
    pub setup: Option<PinSetupView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RosterEntry {
    pub visit_id: String,
    pub date: String,
    pub start: String,
    pub patient_id: String,
    pub patient_name: String,
    pub staff: Vec<String>,
    pub kind: VisitKind,
    pub status: VisitStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RosterView {
    pub month: String,
    pub days: Vec<String>,
    pub staff: Vec<StaffView>,
    pub visits: Vec<RosterEntry>,
    pub conflicts: u32,
}

/// What an audit entry records (the store's action codes, typed so the UI labels every one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum AuditKind {
    View,
    Edit,
    Sign,
    Correct,
    Export,
    Consent,
    Qualification,
    Open,
    /// A code this version does not know (written by a newer app); `action` holds it.
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub staff: String,
    /// 氏名 of who acted (empty for the set-up tool or an unknown id).
    pub staff_name: String,
    /// The patient the entry is about (their chart), when this device knows them.
    pub patient_name: Option<String>,
    /// The device that recorded it (relay device id, hex).
    pub device: String,
    pub kind: AuditKind,
    /// The stored code, as hashed into the chain.
    pub action: String,
    /// The stored target (a document or setting id), as hashed into the chain.
    pub target: String,
    /// What the target is, for people (カルテ, 予定表 2026-12, 設定「表示言語」…).
    pub target_ja: String,
    pub target_en: String,
    /// The stored detail (a fixed English description), as hashed into the chain.
    pub detail: String,
    /// The detail for people; the stored text when this version does not know it.
    pub detail_ja: String,
    pub detail_en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogView {
    /// This device's own chain verifies (other devices' entries arrive signed by them).
    pub chain_ok: bool,
    pub rows: Vec<AuditRow>,
}

/// What a device may do at the relay: 管理用端末 (admin: codes, revocation) or a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum DeviceRole {
    Member,
    Admin,
}

impl DeviceRole {
    pub fn code(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
        }
    }
}

impl From<houmon_sync_proto::Role> for DeviceRole {
    fn from(r: houmon_sync_proto::Role) -> Self {
        match r {
            houmon_sync_proto::Role::Member => Self::Member,
            houmon_sync_proto::Role::Admin => Self::Admin,
        }
    }
}

impl From<DeviceRole> for houmon_sync_proto::Role {
    fn from(r: DeviceRole) -> Self {
        match r {
            DeviceRole::Member => Self::Member,
            DeviceRole::Admin => Self::Admin,
        }
    }
}

/// One device of the clinic (端末一覧).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRow {
    /// The relay device id (32 hex digits).
    pub id: String,
    pub role: DeviceRole,
    /// How the device is named in lists (never a patient's or staff member's name).
    pub label: String,
    /// Revoked at the relay or marked so in the clinic document.
    pub revoked: bool,
    /// When the device last caught up at the relay (to the minute; JST, RFC 3339); `None`
    /// before its first sync.
    pub last_sync: Option<String>,
    pub this_device: bool,
}

/// A one-time enrollment code for another device (登録コード), shown once: as text to type and
/// as a QR code for the tablet's camera.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IssuedCode {
    pub code: String,
    pub role: DeviceRole,
    /// The QR code of `code`, as an SVG document.
    pub qr_svg: String,
    /// JST, RFC 3339.
    pub valid_until: String,
}

impl std::fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCode")
            .field("role", &self.role)
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

/// Which entries of the clinic's access history to show (all `None`: everything).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditFilter {
    pub patient_id: Option<String>,
    pub staff_id: Option<String>,
    /// YYYY-MM-DD (JST), inclusive.
    pub from: Option<String>,
    /// YYYY-MM-DD (JST), inclusive.
    pub to: Option<String>,
}

/// A patient waiting for or holding a qualification answer (back office queue).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct QueueRow {
    pub patient_id: String,
    pub patient_name: String,
    pub requested_at: String,
    pub answered: bool,
    /// Enrolled devices: where the request stands, with the message (`None` and empty in
    /// training mode, where the simulator answers at once).
    pub state: Option<RequestState>,
    pub ja: String,
    pub en: String,
}

/// A synthetic card the training reader can hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DemoCard {
    pub id: String,
    pub label: String,
    pub note: String,
    pub on_reader: bool,
}

/// How the settings page edits a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum SettingInput {
    Bool,
    Integer,
    Text,
    /// One of `choices`.
    Choice,
}

/// One managed setting with its value and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingRow {
    pub key: String,
    pub label_ja: String,
    pub label_en: String,
    pub description_ja: String,
    pub description_en: String,
    pub value: String,
    pub source: SettingSource,
    /// Where the value came from (policy file, registry key, "user", "default").
    pub origin: String,
    pub locked: bool,
    /// The user may change it on this device (not locked, user-settable).
    pub user_editable: bool,
    pub input: SettingInput,
    /// For `choice` (and a multiple choice, typed as text): the allowed values with their labels.
    pub choices: Vec<SettingChoice>,
    /// Values given for this setting that were ignored, and why.
    pub problems: Vec<SettingProblem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingChoice {
    pub value: String,
    pub label_ja: String,
    pub label_en: String,
}

/// A policy value that was ignored or worth knowing about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingProblem {
    pub ja: String,
    pub en: String,
    pub origin: String,
    /// The value was ignored (otherwise a notice).
    pub ignored: bool,
}

/// The managed-policy page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PolicyPage {
    /// 「この端末は組織によって管理されています」
    pub managed_by_organization: bool,
    pub settings: Vec<SettingRow>,
    /// Problems not tied to one setting (unreadable files, unknown keys).
    pub problems: Vec<SettingProblem>,
}

/// Every declaration, in order, for `ui/src/ipc/bindings.ts`.
pub fn typescript_bindings() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let decls = [
        SyncState::decl(&cfg),
        UiLanguage::decl(&cfg),
        StaffRole::decl(&cfg),
        VisitKind::decl(&cfg),
        VisitStatus::decl(&cfg),
        QualificationValidity::decl(&cfg),
        IdentityMode::decl(&cfg),
        PrescriptionForm::decl(&cfg),
        NoteStatus::decl(&cfg),
        CheckPath::decl(&cfg),
        CheckReason::decl(&cfg),
        CheckOutcome::decl(&cfg),
        RequestState::decl(&cfg),
        RequestKind::decl(&cfg),
        RequestFailure::decl(&cfg),
        CardErrorCode::decl(&cfg),
        EnrollmentError::decl(&cfg),
        RelayErrorCode::decl(&cfg),
        AppErrorCode::decl(&cfg),
        UiErrorCode::decl(&cfg),
        UiError::decl(&cfg),
        SyncStatus::decl(&cfg),
        AppInfo::decl(&cfg),
        CheckState::decl(&cfg),
        RequestView::decl(&cfg),
        VisitRow::decl(&cfg),
        QualificationView::decl(&cfg),
        ConsentView::decl(&cfg),
        VitalsInput::decl(&cfg),
        Soap::decl(&cfg),
        NoteView::decl(&cfg),
        VisitView::decl(&cfg),
        ChartView::decl(&cfg),
        PatientRow::decl(&cfg),
        CareEndReason::decl(&cfg),
        IdDocument::decl(&cfg),
        Sex::decl(&cfg),
        PatientInput::decl(&cfg),
        FieldChange::decl(&cfg),
        PatientEditView::decl(&cfg),
        PatientDetail::decl(&cfg),
        ImportReport::decl(&cfg),
        Recurrence::decl(&cfg),
        PlanInput::decl(&cfg),
        Planned::decl(&cfg),
        VisitEdit::decl(&cfg),
        PlanRow::decl(&cfg),
        PlanMonth::decl(&cfg),
        ConsentChoices::decl(&cfg),
        CardCheck::decl(&cfg),
        CardFace::decl(&cfg),
        FaceAuthenticity::decl(&cfg),
        CardStep::decl(&cfg),
        CardProgress::decl(&cfg),
        FirstVisitInput::decl(&cfg),
        QualificationResult::decl(&cfg),
        SavedNote::decl(&cfg),
        VitalSign::decl(&cfg),
        VitalsLevel::decl(&cfg),
        VitalsIssue::decl(&cfg),
        StaffView::decl(&cfg),
        SignInRow::decl(&cfg),
        StaffRow::decl(&cfg),
        StaffInput::decl(&cfg),
        PinSetupView::decl(&cfg),
        StaffSaved::decl(&cfg),
        RosterEntry::decl(&cfg),
        RosterView::decl(&cfg),
        AuditKind::decl(&cfg),
        AuditRow::decl(&cfg),
        AuditLogView::decl(&cfg),
        AuditFilter::decl(&cfg),
        DeviceRole::decl(&cfg),
        DeviceRow::decl(&cfg),
        IssuedCode::decl(&cfg),
        QueueRow::decl(&cfg),
        DemoCard::decl(&cfg),
        SettingSource::decl(&cfg),
        SettingInput::decl(&cfg),
        SettingChoice::decl(&cfg),
        SettingProblem::decl(&cfg),
        SettingRow::decl(&cfg),
        PolicyPage::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from tablet/src/dto.rs by ts-rs. Do not edit by hand:\n\
         // UPDATE_BINDINGS=1 cargo test -p houmon-tablet bindings\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The UI compiles against the committed file; this fails when Rust changed and the file
    /// was not regenerated (drift check).
    #[test]
    fn bindings_are_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/ipc/bindings.ts");
        let fresh = typescript_bindings();
        if std::env::var("UPDATE_BINDINGS").is_ok() {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, &fresh).expect("write bindings");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/ipc/bindings.ts is stale: run `UPDATE_BINDINGS=1 cargo test -p houmon-tablet bindings`"
        );
    }
}
