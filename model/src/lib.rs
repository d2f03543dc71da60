//! `houmon-model`: the vocabulary every other crate speaks — ids, the domain types (clinic,
//! staff, devices, patients, roster months, visit records, notes, consents, qualification
//! snapshots and requests), one enum per concept, and the one error type [`CoreError`].
//! Plain data: the document rules live in `houmon-docs`, persistence in `houmon-store`.
//!
//! Must never: do I/O, hold a rule that belongs to a document, or have a field for a 個人番号 or
//! a PIN.

pub mod check;
pub mod error;
pub mod plan;
pub mod vitals;
pub use error::{CoreError, Result, UserMessage};

use ts_rs::TS;

/// Japan Standard Time, the clinic's calendar (one definition: onshi's).
pub use houmon_onshi::consent::{jst, jst_date};

/// A mutex guard even after another thread panicked while holding it: the app keeps running
/// (each holder leaves the data consistent at every await point), and nothing is lost by it.
pub fn lock<T: ?Sized>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub Uuid);
        impl $name {
            /// A fresh random id.
            pub fn new() -> Self { Self(Uuid::new_v4()) }
            /// Parse the hyphenated form.
            pub fn parse(s: &str) -> Option<Self> { Uuid::parse_str(s).ok().map(Self) }
        }
        impl Default for $name { fn default() -> Self { Self::new() } }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { self.0.fmt(f) }
        }
    };
}

id_type!(/// A patient's stable id. Never derived from demographics (no fuzzy linking).
    PatientId);
id_type!(/// A staff member (医師・看護師・事務・管理者).
    StaffId);
id_type!(/// An enrolled tablet or desktop.
    DeviceId);
id_type!(/// One visit, shared by the roster entry and the chart's visit record.
    VisitId);
id_type!(/// One version of a note. Every correction gets a new one.
    NoteId);
id_type!(/// A consent record (同意記録).
    ConsentId);
id_type!(/// A qualification check result (資格確認結果).
    QualificationId);
id_type!(/// A clinic.
    ClinicId);
id_type!(/// An entry in a structured list (傷病名, アレルギー ...).
    ItemId);

/// Staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum StaffRole {
    /// 医師
    Doctor,
    /// 看護師
    Nurse,
    /// 事務
    Office,
    /// 管理者
    Admin,
}

/// What a use case needs the signed-in staff member's role to allow (checked in Rust by every
/// use case, not only hidden in the UI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Write and sign clinical notes and vitals, start visits (診療記録の記載).
    WriteClinical,
    /// Read clinical notes (診療記録の閲覧).
    ReadClinical,
    /// Manage staff, devices and settings (職員・端末・設定の管理).
    ManageClinic,
}

/// The clinic's access rules that are settings rather than roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccessPolicy {
    /// Office and admin staff may read clinical notes (policy `officeReadsNotes`).
    pub office_reads_notes: bool,
}

impl StaffRole {
    /// The one table of who may do what.
    pub fn may(self, p: Permission, policy: AccessPolicy) -> bool {
        use StaffRole::*;
        match p {
            Permission::WriteClinical => matches!(self, Doctor | Nurse),
            Permission::ReadClinical => matches!(self, Doctor | Nurse) || policy.office_reads_notes,
            Permission::ManageClinic => self == Admin,
        }
    }
}

/// A staff member as listed in the clinic document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Staff {
    pub id: StaffId,
    /// 氏名
    pub name: String,
    /// カナ (氏名のふりがな; empty when not set)
    #[serde(default)]
    pub kana: String,
    pub role: StaffRole,
    /// 資格 and specialty in free text (e.g. 認定看護師(皮膚・排泄ケア)); empty when not set.
    #[serde(default)]
    pub qualifications: String,
    pub active: bool,
}

/// Whether `s` reads as a name in full-width katakana (カナ): katakana, the long-vowel mark and
/// a space between family and given name.
pub fn is_katakana_name(s: &str) -> bool {
    !s.trim().is_empty() && s.chars().all(|c| matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー' | '・' | ' ' | '\u{3000}'))
}

/// A staff member's PIN set-up (職員PINの設定), written by an administrator when the member is
/// added or their PIN is reset. A PIN chosen on a device stays valid there only while this is
/// the set-up in force, so a reset voids every PIN chosen before it on every device. The
/// one-time code is long and random (its verifier syncs safely); a PIN never leaves the device
/// it was chosen on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PinSetup {
    /// Fresh per set-up (a UUID).
    pub id: String,
    /// Verifier of the one-time set-up code (never the code); empty for the founding
    /// administrator, who chose a PIN on the founding device without a code.
    pub code_verifier: String,
    /// The code is refused after this.
    pub until: DateTime<Utc>,
    /// The administrator who issued it.
    pub by: StaffId,
}

/// An enrolled device as listed in the clinic document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: DeviceId,
    pub label: String,
    pub enrolled_at: DateTime<Utc>,
    pub revoked: bool,
}

/// The clinic document's contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clinic {
    pub id: ClinicId,
    pub name: String,
    /// 医療機関コード
    pub institution_code: String,
    /// 所在地 (empty when not set)
    #[serde(default)]
    pub address: String,
    /// 電話番号 (empty when not set)
    #[serde(default)]
    pub phone: String,
    pub staff: Vec<Staff>,
    pub devices: Vec<Device>,
}

/// Kind of visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum VisitKind {
    /// 訪問診療 (planned physician visit)
    HomeMedical,
    /// 往診 (on-demand physician visit; needs a fresh card check every time)
    UrgentCall,
    /// 訪問看護 (nursing visit)
    HomeNursing,
}

/// Status of a roster entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum VisitStatus {
    Planned,
    InProgress,
    Done,
    Cancelled,
}

impl StaffRole {
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Doctor => "医師",
            Self::Nurse => "看護師",
            Self::Office => "事務",
            Self::Admin => "管理者",
        }
    }
}

impl VisitKind {
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::HomeMedical => "訪問診療",
            Self::UrgentCall => "往診",
            Self::HomeNursing => "訪問看護",
        }
    }
}

/// The consent rules' visit kind (onshi's vocabulary) for this visit.
impl From<VisitKind> for houmon_onshi::consent::VisitKind {
    fn from(k: VisitKind) -> Self {
        match k {
            VisitKind::HomeMedical => Self::HomeMedical,
            VisitKind::UrgentCall => Self::UrgentCall,
            VisitKind::HomeNursing => Self::HomeNursing,
        }
    }
}

impl VisitStatus {
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Planned => "予定",
            Self::InProgress => "訪問中",
            Self::Done => "完了",
            Self::Cancelled => "中止",
        }
    }
}

/// The sync state the header always shows (同期の状態).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum SyncState {
    /// 訓練モード: the demo clinic, no relay.
    Training,
    /// 未登録: not enrolled (or wiped).
    Unenrolled,
    /// 拒否: the relay refused this device (revoked, or a refused upload).
    Refused,
    /// 同期中
    Syncing,
    /// 最新: everything sent and received.
    Online,
    /// オフライン: changes wait on the device.
    Offline,
    /// 他の端末のデータを読めません: entries from other devices of the clinic could not be
    /// opened (this device holds another content key). An error, never 最新.
    Unreadable,
    /// 送信できない変更: the relay refused entries for good (too large); they are set aside on
    /// this device so the rest still goes. An error, never 最新.
    SetAside,
    /// 端末の時刻がずれています: the relay refuses requests because this device's clock is off.
    /// Retried, but shown, never as "offline".
    ClockSkew,
}

/// One visit in a roster month (訪問予定).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RosterVisit {
    pub id: VisitId,
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub patient: PatientId,
    pub staff: Vec<StaffId>,
    pub kind: VisitKind,
    pub status: VisitStatus,
    /// 中止理由 (empty unless cancelled with a reason).
    pub cancel_reason: String,
    /// The recurring plan (繰り返し予定) it came from, shared by that plan's visits.
    pub series: Option<String>,
}

/// Demographics, filled from qualification results. Never holds the 個人番号.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Demographics {
    pub name: String,
    pub name_kana: String,
    pub birth_date: Option<NaiveDate>,
    /// "1" male, "2" female, as in the qualification codes.
    pub sex: String,
    pub address: String,
}

/// 資格有効性
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum QualificationValidity {
    /// 有効
    Valid,
    /// 無効
    Invalid,
    /// 無効（新しい資格あり）: the patient has newer insurance to check instead.
    InvalidNewerExists,
    /// 該当資格なし
    NotFound,
    /// 照会中・未確認
    Unknown,
}

impl QualificationValidity {
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Valid => "有効",
            Self::Invalid => "無効",
            Self::InvalidNewerExists => "無効（新しい資格あり）",
            Self::NotFound => "該当資格なし",
            Self::Unknown => "未確認",
        }
    }
}

/// The chart's 資格有効性 for the answer's wire code (1 有効 … 6 有効（未登録）).
impl From<houmon_onshi::codes::QualificationValidity> for QualificationValidity {
    fn from(v: houmon_onshi::codes::QualificationValidity) -> Self {
        use houmon_onshi::codes::QualificationValidity as Wire;
        match v {
            Wire::Valid | Wire::ValidUnregistered => Self::Valid,
            Wire::Invalid => Self::Invalid,
            Wire::InvalidNewerExists => Self::InvalidNewerExists,
            Wire::NotFound => Self::NotFound,
            Wire::MultipleMatches => Self::Unknown,
        }
    }
}

/// The seam to the `onshi` crate: the fields a chart keeps from one qualification check.
/// Filled from onshi's result types once that crate lands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualificationSnapshot {
    pub id: QualificationId,
    pub checked_at: DateTime<Utc>,
    /// 保険者番号
    pub insurer_number: String,
    /// 被保険者証記号
    pub symbol: String,
    /// 被保険者証番号
    pub number: String,
    /// 枝番
    pub branch: String,
    /// 負担割合 in percent (10, 20, 30)
    pub copay_percent: Option<u8>,
    /// 資格有効性
    pub validity: QualificationValidity,
    /// 薬剤情報 閲覧同意
    pub consent_medication: bool,
    /// 診療情報 閲覧同意
    pub consent_clinical: bool,
    /// 特定健診等情報 閲覧同意
    pub consent_checkup: bool,
    /// 手術情報 閲覧同意
    pub consent_surgery: bool,
    /// 同意取得日
    pub consent_date: Option<NaiveDate>,
    /// 同意の有効期限 (continuing-care rule: ARCHITECTURE.md, *Later visits (再照会)*)
    pub consent_valid_until: Option<NaiveDate>,
    /// Demographics returned by the check.
    pub demographics: Demographics,
}

/// How identity was confirmed at the first visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum IdentityMode {
    /// 暗証番号 (the card signed the consent)
    Pin,
    /// 目視確認
    Visual,
}

/// 処方箋の発行方法
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum PrescriptionForm {
    Electronic,
    Paper,
}

/// The consent digest's identity mode (onshi's vocabulary).
impl From<IdentityMode> for houmon_onshi::digest::IdentityMode {
    fn from(m: IdentityMode) -> Self {
        match m {
            IdentityMode::Pin => Self::Pin,
            IdentityMode::Visual => Self::Visual,
        }
    }
}

impl From<houmon_onshi::digest::IdentityMode> for IdentityMode {
    fn from(m: houmon_onshi::digest::IdentityMode) -> Self {
        match m {
            houmon_onshi::digest::IdentityMode::Pin => Self::Pin,
            houmon_onshi::digest::IdentityMode::Visual => Self::Visual,
        }
    }
}

impl From<houmon_onshi::codes::PrescriptionIssueSelect> for PrescriptionForm {
    fn from(p: houmon_onshi::codes::PrescriptionIssueSelect) -> Self {
        match p {
            houmon_onshi::codes::PrescriptionIssueSelect::Electronic => Self::Electronic,
            houmon_onshi::codes::PrescriptionIssueSelect::Paper => Self::Paper,
        }
    }
}

/// The 処方箋の発行方法 as onshi writes it.
impl From<PrescriptionForm> for houmon_onshi::codes::PrescriptionIssueSelect {
    fn from(p: PrescriptionForm) -> Self {
        match p {
            PrescriptionForm::Electronic => Self::Electronic,
            PrescriptionForm::Paper => Self::Paper,
        }
    }
}

/// A consent record (居宅同意取得型). Immutable once recorded; a revocation is a new record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub id: ConsentId,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: StaffId,
    pub device: DeviceId,
    pub medication: bool,
    pub clinical: bool,
    pub checkup: bool,
    pub surgery: bool,
    pub prescription: PrescriptionForm,
    pub identity: IdentityMode,
    /// PKCS#1 v1.5 signature by the card (PIN mode), hex.
    pub signature_hex: Option<String>,
    /// The JPKI 利用者証明用 certificate, hex DER.
    pub certificate_hex: Option<String>,
    pub nonce_hex: String,
    /// true when this record revokes earlier consent.
    pub revocation: bool,
}

impl ConsentRecord {
    /// The consent a first visit records: the choices, nonce and time the card signed (or the
    /// 目視 attestation), with the signature and the certificate, for the staff member who
    /// asked, written by `device`. The one builder for the tablet and the gateway.
    pub fn from_first_visit(f: &houmon_onshi::sim::FirstVisitRequest, recorded_by: StaffId, device: DeviceId) -> Self {
        use houmon_onshi::sim::IdentityProof;
        let r = &f.record;
        Self {
            id: ConsentId::new(),
            recorded_at: f.signed_at.with_timezone(&Utc),
            recorded_by,
            device,
            medication: r.medication,
            clinical: r.clinical,
            checkup: r.health_checkups,
            surgery: r.operation,
            prescription: r.prescription_issue.into(),
            identity: r.identity_mode.into(),
            signature_hex: match &f.proof {
                IdentityProof::Pin { signature } => Some(hex::encode(signature)),
                IdentityProof::Visual { .. } => None,
            },
            certificate_hex: Some(hex::encode(&f.certificate_der)),
            nonce_hex: hex::encode(&f.nonce),
            revocation: false,
        }
    }
}

/// Vital signs. All optional: a nurse records what she measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vitals {
    pub systolic: Option<i64>,
    pub diastolic: Option<i64>,
    pub pulse: Option<i64>,
    pub spo2: Option<i64>,
    /// °C
    pub temperature: Option<f64>,
    pub respiration: Option<i64>,
    /// kg
    pub weight: Option<f64>,
}

/// Which structured list an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClinicalList {
    /// 傷病名
    Diagnoses,
    /// アレルギー
    Allergies,
    /// 薬剤禁忌
    Contraindications,
    /// 感染症
    Infections,
}

impl ClinicalList {
    pub const ALL: [ClinicalList; 4] =
        [ClinicalList::Diagnoses, ClinicalList::Allergies, ClinicalList::Contraindications, ClinicalList::Infections];
    pub fn key(self) -> &'static str {
        match self {
            ClinicalList::Diagnoses => "diagnoses",
            ClinicalList::Allergies => "allergies",
            ClinicalList::Contraindications => "contraindications",
            ClinicalList::Infections => "infections",
        }
    }
}

/// One entry in a structured list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClinicalItem {
    pub id: ItemId,
    pub list: ClinicalList,
    pub label: String,
    /// e.g. a 傷病名コード or YJ code
    pub code: String,
    pub added_by: StaffId,
    pub added_at: DateTime<Utc>,
}

/// A visit record in the chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitRecord {
    pub id: VisitId,
    pub kind: VisitKind,
    pub staff: StaffId,
    pub arrival: Option<DateTime<Utc>>,
    pub departure: Option<DateTime<Utc>>,
    pub vitals: Vitals,
    pub items: Vec<ClinicalItem>,
}

/// SOAP note body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoapNote {
    pub subjective: String,
    pub objective: String,
    pub assessment: String,
    pub plan: String,
}

impl SoapNote {
    pub fn fields(&self) -> [(&'static str, &str); 4] {
        [("s", &self.subjective), ("o", &self.objective), ("a", &self.assessment), ("p", &self.plan)]
    }
}

/// Draft or signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum NoteStatus {
    Draft,
    Signed,
}

/// One version of a note. Signed versions are immutable; a correction is a new version with
/// `replaces` naming the previous one (真正性・見読性・保存性).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteVersion {
    pub id: NoteId,
    /// The first version's id: all versions of one note share it.
    pub thread: NoteId,
    pub version: u32,
    pub visit: VisitId,
    pub replaces: Option<NoteId>,
    pub correction_reason: String,
    pub author: StaffId,
    pub created_at: DateTime<Utc>,
    pub status: NoteStatus,
    pub signed_by: Option<StaffId>,
    pub signed_at: Option<DateTime<Utc>>,
    /// SHA-256 of the body at signing, hex. A mismatch means the signed body was altered.
    pub content_hash: String,
    pub body: SoapNote,
    /// false if the body no longer matches the hash taken at signing.
    pub intact: bool,
}

/// A request for 再照会 written by a tablet and answered by the gateway (ARCHITECTURE.md,
/// *Qualification travels over sync*).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualificationRequest {
    pub id: QualificationId,
    pub requested_at: DateTime<Utc>,
    pub requested_by: StaffId,
    /// Set by the gateway when it writes the result (a snapshot with the same id) or a
    /// [`QualificationFailure`].
    pub answered: bool,
    /// What the gateway is asked (`None`: a plain 再照会 request from before queries were
    /// carried; the gateway builds it from the latest result).
    pub query: Option<QualificationQuery>,
    /// Set when the gateway answered with a refusal or error instead of a result.
    pub failure: Option<QualificationFailure>,
}

/// What a qualification request asks the gateway, written by the tablet (ARCHITECTURE.md,
/// *Qualification travels over sync*).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "request", rename_all = "snake_case")]
pub enum QualificationQuery {
    /// 再照会 by the insurance numbers kept from the first visit.
    Reinquiry(houmon_onshi::sim::ReinquiryRequest),
    /// 初回 (居宅同意取得型): the consent record, nonce and time the card signed (or the
    /// 目視確認 attestation), with the 利用者証明用 certificate.
    FirstVisit(Box<houmon_onshi::sim::FirstVisitRequest>),
    /// Written by a newer app version (or damaged): this build cannot read it, so it is left
    /// waiting for a gateway that can, never answered as a different question.
    #[serde(other)]
    Unreadable,
}

/// The gateway's answer when no qualification result could be obtained (同意なし・同意期限切れ・
/// 該当なし・署名不正・失効した証明書 …): an answered request, never a silent failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationFailure {
    pub answered_at: DateTime<Utc>,
    pub code: crate::check::RequestFailure,
    /// The qualification service's own result code when `code` is `ServiceError` (e.g.
    /// `HSIM-E105`).
    pub service_code: Option<String>,
    /// Japanese message saying what to do next.
    pub message_ja: String,
    pub message_en: String,
}

/// Two or more values written concurrently to the same field; all are kept until someone
/// resolves it by writing a new value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldConflict {
    /// Where, e.g. `visits/<id>/vitals/pulse` or `notes/<id>/s`.
    pub path: String,
    /// Every concurrent value, rendered as text.
    pub values: Vec<String>,
}

/// A patient's chart as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub patient: PatientId,
    pub demographics: Demographics,
    /// Care team and contacts (registered by the clinic).
    pub profile: PatientProfile,
    pub care_end: Option<CareEnd>,
    pub qualifications: Vec<QualificationSnapshot>,
    pub qualification_requests: Vec<QualificationRequest>,
    pub consents: Vec<ConsentRecord>,
    pub visits: Vec<VisitRecord>,
    /// Every version of every note, oldest first. Nothing is ever removed.
    pub notes: Vec<NoteVersion>,
    pub conflicts: Vec<FieldConflict>,
}

impl Chart {
    /// The latest qualification check, if any.
    pub fn latest_qualification(&self) -> Option<&QualificationSnapshot> {
        self.qualifications.iter().max_by_key(|q| q.checked_at)
    }

    /// All versions of one note, oldest first.
    pub fn note_history(&self, thread: NoteId) -> Vec<&NoteVersion> {
        let mut v: Vec<_> = self.notes.iter().filter(|n| n.thread == thread).collect();
        v.sort_by_key(|n| (n.version, n.created_at));
        v
    }

    /// The versions of a note that no other version replaces. More than one means two
    /// corrections were written concurrently: a conflict to resolve.
    pub fn current_versions(&self, thread: NoteId) -> Vec<&NoteVersion> {
        let hist = self.note_history(thread);
        hist.iter().filter(|n| !hist.iter().any(|m| m.replaces == Some(n.id))).copied().collect()
    }

    pub fn note(&self, id: NoteId) -> Option<&NoteVersion> {
        self.notes.iter().find(|n| n.id == id)
    }
}

/// What the patient shows for qualification (本人確認書類): many home patients have a
/// 資格確認書 instead of a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum IdDocument {
    /// マイナンバーカード (健康保険証利用登録済み)
    MyNumberCard,
    /// 資格確認書 (or a still-valid 被保険者証)
    QualificationCertificate,
    /// 未確認
    #[default]
    Unknown,
}

/// Why care ended (終了理由). Ending care deletes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum CareEndReason {
    /// 死亡
    Death,
    /// 入院
    Hospitalised,
    /// 転居
    Moved,
    /// 終了 (ended for another reason)
    Ended,
}

impl CareEndReason {
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Death => "死亡",
            Self::Hospitalised => "入院",
            Self::Moved => "転居",
            Self::Ended => "終了",
        }
    }
}

/// The end of care (訪問終了): the reason and the date. The chart stays as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareEnd {
    pub reason: CareEndReason,
    pub date: NaiveDate,
}

/// The care team and contacts of a patient (registered by the clinic, not from
/// qualification). Empty strings when not known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientProfile {
    /// 電話
    pub phone: String,
    /// キーパーソン (family member or carer to call)
    pub key_person: String,
    /// キーパーソンの連絡先
    pub key_person_phone: String,
    /// ケアマネジャー
    pub care_manager: String,
    /// 居宅介護支援事業所
    pub care_office: String,
    /// 主治医 (the attending physician, in or outside the clinic)
    pub primary_doctor: String,
    pub id_document: IdDocument,
}

/// One change to a patient's registered details (基本情報の変更履歴): who, when, and each
/// field's value before and after. Read from the document's own history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientEdit {
    pub at: DateTime<Utc>,
    /// `None` for changes written before authors were recorded (or by the gateway).
    pub by: Option<StaffId>,
    /// (field key, before, after); unchanged fields are left out.
    pub fields: Vec<(String, String, String)>,
}

/// A row of the patient-list projection (start-up reads this, not the documents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientSummary {
    pub id: PatientId,
    pub name: String,
    pub name_kana: String,
    pub birth_date: Option<NaiveDate>,
    pub last_visit: Option<DateTime<Utc>>,
    /// Set once care ended (the patient stays listed under 終了).
    pub care_ended: Option<CareEndReason>,
}

/// Who is acting, for authorship and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub staff: StaffId,
    pub device: DeviceId,
}
