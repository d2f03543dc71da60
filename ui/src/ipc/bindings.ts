// Generated from tablet/src/dto.rs by ts-rs. Do not edit by hand:
// UPDATE_BINDINGS=1 cargo test -p houmon-tablet bindings

export type SyncState = "training" | "unenrolled" | "refused" | "syncing" | "online" | "offline" | "unreadable" | "setAside" | "clockSkew";

export type UiLanguage = "ja" | "en";

export type StaffRole = "doctor" | "nurse" | "office" | "admin";

export type VisitKind = "homeMedical" | "urgentCall" | "homeNursing";

export type VisitStatus = "planned" | "inProgress" | "done" | "cancelled";

export type QualificationValidity = "valid" | "invalid" | "invalidNewerExists" | "notFound" | "unknown";

export type IdentityMode = "pin" | "visual";

export type PrescriptionForm = "electronic" | "paper";

export type NoteStatus = "draft" | "signed";

export type CheckPath = "requery" | "card";

export type CheckReason = "ok" | "first_visit" | "consent_expired" | "consent_revoked" | "urgent_call";

export type CheckOutcome = "valid" | "invalid" | "notFound" | "multiple" | "consentExpired" | "consentRevoked" | "noConsent" | "pending" | "requested" | "error";

export type RequestState = "pending" | "answered" | "failed";

export type RequestKind = "firstVisit" | "requery";

export type RequestFailure = "consent_expired" | "consent_revoked" | "no_consent" | "not_valid" | "not_found" | "multiple_matches" | "in_progress" | "no_insurance_numbers" | "first_visit_unsupported" | "service_error" | "unknown";

export type CardErrorCode = "no_reader" | "service_unavailable" | "reader_not_found" | "no_card" | "card_removed" | "reader_busy" | "not_my_number_card" | "wrong_pin" | "pin_blocked" | "last_try_needs_confirmation" | "tries_unknown_needs_confirmation" | "invalid_pin_format" | "wrong_code_b" | "code_b_blocked" | "invalid_code_b_format" | "timeout" | "reader_failure" | "refused" | "unexpected_status" | "malformed_card_data";

export type EnrollmentError = "code_rejected" | "unreachable" | "institution_mismatch" | "no_relay_url" | "wipe_requested" | "already_enrolled" | "storage" | "keyless_code";

export type RelayErrorCode = "bad_request" | "unauthenticated" | "clock_skew" | "replay" | "revoked" | "forbidden" | "not_found" | "entry_too_large" | "body_too_large" | "too_many_requests" | "too_many_connections" | "invalid_code" | "keyless_code" | "shutting_down" | "internal";

export type AppErrorCode = "not_found" | "invalid_input" | "individual_number" | "note_signed" | "wrong_key" | "storage" | "config" | "digest" | "setting_refused" | "starting" | "internal" | "locked" | "not_enrolled" | "unreachable" | "sync_failed" | "unreadable" | "set_aside" | "training" | "training_unavailable" | "pin_not_allowed" | "visual_not_allowed" | "face_not_shown" | "face_signature_invalid" | "face_unverified" | "invalid_staff_pin" | "pin_mismatch" | "wrong_staff_pin" | "staff_pin_locked" | "staff_pin_not_set" | "staff_pin_setup_needed" | "staff_pin_setup_expired" | "not_allowed" | "not_admin" | "no_clinic" | "no_keystore" | "self_revoke" | "invalid_institution_code" | "bad_argument" | "csv_invalid" | "invalid_recurrence";

export type UiErrorCode = AppErrorCode | CardErrorCode | CheckReason | EnrollmentError | RelayErrorCode;

export type UiError = { 
/**
 * Stable machine code (e.g. `wrong_pin`, `consent_expired`, `no_reader`).
 */
code: UiErrorCode, ja: string, en: string, 
/**
 * PIN tries left when the error concerns the PIN.
 */
triesLeft: number | null, };

export type SyncStatus = { state: SyncState, 
/**
 * Local changes not yet sent.
 */
pending: number, lastSyncAt: string | null, 
/**
 * Short label for the header (訓練モード, 未登録, 同期中, 最新(09:41), オフライン(未送信2件), 拒否—端末が失効).
 */
labelJa: string, labelEn: string, 
/**
 * What the user does next.
 */
nextJa: string, nextEn: string, 
/**
 * Show the enrollment screen (not enrolled, or wiped).
 */
needsEnrollment: boolean, 
/**
 * A managed enrollment code is configured (the screen says it was tried).
 */
managedCode: boolean, };

export type AppInfo = { trainingMode: boolean, clinicName: string, staffId: string, staffName: string, staffRole: StaffRole, 
/**
 * JST date the roster shows as today (YYYY-MM-DD).
 */
today: string, 
/**
 * Shown when the data key is not protected by an OS keystore.
 */
keyWarningJa: string | null, keyWarningEn: string | null, version: string, sync: SyncStatus, 
/**
 * Whether the clinic policy allows 目視確認 at a first visit.
 */
allowVisualCheck: boolean, 
/**
 * Whether 目視 may go ahead without a verified chip photo (clinic policy
 * `visualCheckUnverifiedPhoto`).
 */
allowUnverifiedVisualCheck: boolean, 
/**
 * Policy `screenshotProtection`: the shell keeps the window out of screenshots, screen
 * recording and the app switcher where the OS allows it.
 */
screenshotProtection: boolean, 
/**
 * Whether the PIN check is allowed (managed setting `identityModes`).
 */
allowPinCheck: boolean, 
/**
 * Idle minutes before the screen locks (managed setting `autoLockMinutes`).
 */
autoLockMinutes: number, 
/**
 * The language the user chose (user setting `uiLanguage`), applied at start-up.
 */
uiLanguage: UiLanguage, 
/**
 * Large text chosen (user setting `largeText`).
 */
largeText: boolean, locked: boolean, 
/**
 * The clinic has no staff yet and this is its admin device: offer 最初の管理者.
 */
canFoundAdmin: boolean, 
/**
 * Founded from this admin device and no clinic document yet: offer 医療機関の設定 first.
 */
needsClinicSetup: boolean, };

export type CheckState = { path: CheckPath, reason: CheckReason, 
/**
 * Consent valid through (JST, YYYY-MM-DD).
 */
validThrough: string | null, 
/**
 * Days until the consent lapses (0 = last day); negative once expired.
 */
daysLeft: number | null, ja: string, en: string, 
/**
 * Latest 資格有効性, if any check was done.
 */
validity: QualificationValidity | null, 
/**
 * An enrolled device's latest request to the clinic's gateway (decision 5): waiting,
 * answered or refused. Always `None` in training mode (answered in-process).
 */
request: RequestView | null, };

export type RequestView = { id: string, state: RequestState, kind: RequestKind, requestedAt: string, answeredAt: string | null, 
/**
 * The result's validity, once answered with a result.
 */
validity: QualificationValidity | null, 
/**
 * Why the gateway answered without a result.
 */
failure: RequestFailure | null, 
/**
 * The qualification service's own code when `failure` is `service_error` (e.g. `HSIM-E105`).
 */
serviceCode: string | null, 
/**
 * What happened and what to do next.
 */
ja: string, en: string, };

export type VisitRow = { visitId: string, patientId: string, patientName: string, patientKana: string, start: string, end: string, kind: VisitKind, status: VisitStatus, check: CheckState, };

export type QualificationView = { id: string, checkedAt: string, insurerNumber: string, symbol: string, number: string, branch: string, 
/**
 * 負担割合 in percent.
 */
copayPercent: number | null, validity: QualificationValidity, consentMedication: boolean, consentClinical: boolean, consentCheckup: boolean, consentSurgery: boolean, consentValidUntil: string | null, };

export type ConsentView = { id: string, recordedAt: string, recordedBy: string, identity: IdentityMode, medication: boolean, clinical: boolean, checkup: boolean, surgery: boolean, prescription: PrescriptionForm, signedByCard: boolean, revocation: boolean, };

export type VitalsInput = { systolic: number | null, diastolic: number | null, pulse: number | null, spo2: number | null, temperature: number | null, respiration: number | null, weight: number | null, };

export type Soap = { s: string, o: string, a: string, p: string, };

export type NoteView = { id: string, thread: string, version: number, visitId: string, status: NoteStatus, author: string, createdAt: string, signedAt: string | null, replaces: string | null, correctionReason: string, soap: Soap, intact: boolean, };

export type VisitView = { id: string, kind: VisitKind, staff: string, arrival: string | null, departure: string | null, vitals: VitalsInput, notes: Array<NoteView>, };

export type ChartView = { patientId: string, name: string, kana: string, birthDate: string | null, 
/**
 * `1` male, `2` female.
 */
sex: string, address: string, insurance: QualificationView | null, check: CheckState, consents: Array<ConsentView>, qualifications: Array<QualificationView>, 
/**
 * Newest first.
 */
visits: Array<VisitView>, conflicts: number, 
/**
 * Notes and vitals were left out: the signed-in role may not read them (policy
 * `officeReadsNotes`).
 */
clinicalHidden: boolean, };

export type PatientRow = { id: string, name: string, kana: string, birthDate: string | null, lastVisit: string | null, 
/**
 * Set once care ended (listed under 終了, never deleted).
 */
careEnded: CareEndReason | null, };

export type CareEndReason = "death" | "hospitalised" | "moved" | "ended";

export type IdDocument = "myNumberCard" | "qualificationCertificate" | "unknown";

export type Sex = "male" | "female";

export type PatientInput = { id: string | null, name: string, 
/**
 * カナ氏名, full-width katakana.
 */
kana: string, 
/**
 * YYYY-MM-DD
 */
birthDate: string, sex: Sex, address: string, phone: string, keyPerson: string, keyPersonPhone: string, careManager: string, careOffice: string, primaryDoctor: string, idDocument: IdDocument, };

export type FieldChange = { labelJa: string, labelEn: string, before: string, after: string, };

export type PatientEditView = { 
/**
 * JST, RFC 3339.
 */
at: string, byName: string, fields: Array<FieldChange>, };

export type PatientDetail = { patient: PatientInput, careEnded: CareEndReason | null, 
/**
 * YYYY-MM-DD
 */
careEndDate: string | null, history: Array<PatientEditView>, };

export type ImportReport = { imported: number, ids: Array<string>, };

export type Recurrence = { "kind": "weekly", days: Array<number>, } | { "kind": "biweekly", days: Array<number>, } | { "kind": "monthly", nth: Array<[number, number]>, };

export type PlanInput = { patient: string, staff: Array<string>, 
/**
 * YYYY-MM-DD: the visit, or the first day a recurring pattern may fall on.
 */
date: string, 
/**
 * HH:MM
 */
start: string, 
/**
 * HH:MM
 */
end: string, kind: VisitKind, repeat: Recurrence | null, 
/**
 * YYYY-MM-DD, with `repeat`.
 */
until: string | null, };

export type Planned = { visits: Array<string>, series: string | null, };

export type VisitEdit = { id: string, date: string, start: string, end: string, kind: VisitKind, };

export type PlanRow = { id: string, date: string, start: string, end: string, patientId: string, patientName: string, staff: Array<StaffView>, kind: VisitKind, status: VisitStatus, };

export type PlanMonth = { 
/**
 * YYYY-MM
 */
month: string, staffId: string | null, patientId: string | null, visits: Array<PlanRow>, };

export type ConsentChoices = { medication: boolean, clinical: boolean, checkup: boolean, surgery: boolean, prescription: PrescriptionForm, };

export type CardCheck = { 
/**
 * PIN tries left; `None` when the card does not say (the PIN pad then asks before
 * sending, as on the last try).
 */
triesLeft: number | null, 
/**
 * APDUs exchanged (diagnostics).
 */
apdus: number, 
/**
 * The reader the card was read on (a PC/SC reader name, or the training reader).
 */
reader: string, };

export type CardFace = { pngDataUrl: string, width: number, height: number, 
/**
 * Whether the issuer's signature over the chip's face data verified (検証済み).
 */
authenticity: FaceAuthenticity, 
/**
 * Whether the clinic's policy lets a visual check go ahead on this photo.
 */
visualAllowed: boolean, };

export type FaceAuthenticity = "verified" | "noIssuerKey" | "signatureInvalid";

export type CardStep = "connecting" | "certificate" | "tries" | "signing" | "qualifying" | "saving" | "done";

export type CardProgress = { step: CardStep, 
/**
 * 0–100.
 */
percent: number, };

export type FirstVisitInput = { patientId: string, visitId: string, consent: ConsentChoices, mode: IdentityMode, 
/**
 * Only in PIN mode. Parsed into a zeroized buffer at once and never stored or logged.
 */
pin: string | null, 
/**
 * The user confirmed sending the PIN with one try left.
 */
confirmLastTry: boolean, };

export type QualificationResult = { outcome: CheckOutcome, ja: string, en: string, qualification: QualificationView | null, check: CheckState, 
/**
 * Side information from the national side (e.g. certificate expires soon).
 */
noticeJa: string | null, };

export type SavedNote = { noteId: string, savedAt: string, };

export type VitalSign = "systolic" | "diastolic" | "pulse" | "spo2" | "temperature" | "respiration" | "weight";

export type VitalsLevel = "error" | "warning";

export type VitalsIssue = { field: VitalSign, level: VitalsLevel, ja: string, en: string, };

export type StaffView = { id: string, name: string, role: StaffRole, };

export type SignInRow = { id: string, name: string, role: StaffRole, 
/**
 * This device holds a PIN chosen for the set-up in force (else: set-up code first).
 */
pinOnDevice: boolean, };

export type StaffRow = { id: string, name: string, kana: string, role: StaffRole, qualifications: string, active: boolean, };

export type StaffInput = { id: string | null, name: string, kana: string, role: StaffRole, qualifications: string, active: boolean, };

export type PinSetupView = { code: string, 
/**
 * JST, RFC 3339.
 */
validUntil: string, };

export type StaffSaved = { id: string, setup: PinSetupView | null, };

export type RosterEntry = { visitId: string, date: string, start: string, patientId: string, patientName: string, staff: Array<string>, kind: VisitKind, status: VisitStatus, };

export type RosterView = { month: string, days: Array<string>, staff: Array<StaffView>, visits: Array<RosterEntry>, conflicts: number, };

export type AuditKind = "view" | "edit" | "sign" | "correct" | "export" | "consent" | "qualification" | "open" | "other";

export type AuditRow = { seq: number, at: string, staff: string, 
/**
 * 氏名 of who acted (empty for the set-up tool or an unknown id).
 */
staffName: string, 
/**
 * The patient the entry is about (their chart), when this device knows them.
 */
patientName: string | null, 
/**
 * The device that recorded it (relay device id, hex).
 */
device: string, kind: AuditKind, 
/**
 * The stored code, as hashed into the chain.
 */
action: string, 
/**
 * The stored target (a document or setting id), as hashed into the chain.
 */
target: string, 
/**
 * What the target is, for people (カルテ, 予定表 2026-12, 設定「表示言語」…).
 */
targetJa: string, targetEn: string, 
/**
 * The stored detail (a fixed English description), as hashed into the chain.
 */
detail: string, 
/**
 * The detail for people; the stored text when this version does not know it.
 */
detailJa: string, detailEn: string, };

export type AuditLogView = { 
/**
 * This device's own chain verifies (other devices' entries arrive signed by them).
 */
chainOk: boolean, rows: Array<AuditRow>, };

export type AuditFilter = { patientId: string | null, staffId: string | null, 
/**
 * YYYY-MM-DD (JST), inclusive.
 */
from: string | null, 
/**
 * YYYY-MM-DD (JST), inclusive.
 */
to: string | null, };

export type DeviceRole = "member" | "admin";

export type DeviceRow = { 
/**
 * The relay device id (32 hex digits).
 */
id: string, role: DeviceRole, 
/**
 * How the device is named in lists (never a patient's or staff member's name).
 */
label: string, 
/**
 * Revoked at the relay or marked so in the clinic document.
 */
revoked: boolean, 
/**
 * When the device last caught up at the relay (to the minute; JST, RFC 3339); `None`
 * before its first sync.
 */
lastSync: string | null, thisDevice: boolean, };

export type IssuedCode = { code: string, role: DeviceRole, 
/**
 * The QR code of `code`, as an SVG document.
 */
qrSvg: string, 
/**
 * JST, RFC 3339.
 */
validUntil: string, };

export type QueueRow = { patientId: string, patientName: string, requestedAt: string, answered: boolean, 
/**
 * Enrolled devices: where the request stands, with the message (`None` and empty in
 * training mode, where the simulator answers at once).
 */
state: RequestState | null, ja: string, en: string, };

export type DemoCard = { id: string, label: string, note: string, onReader: boolean, };

export type SettingSource = "default" | "recommended" | "user" | "managed";

export type SettingInput = "bool" | "integer" | "text" | "choice";

export type SettingChoice = { value: string, labelJa: string, labelEn: string, };

export type SettingProblem = { ja: string, en: string, origin: string, 
/**
 * The value was ignored (otherwise a notice).
 */
ignored: boolean, };

export type SettingRow = { key: string, labelJa: string, labelEn: string, descriptionJa: string, descriptionEn: string, value: string, source: SettingSource, 
/**
 * Where the value came from (policy file, registry key, "user", "default").
 */
origin: string, locked: boolean, 
/**
 * The user may change it on this device (not locked, user-settable).
 */
userEditable: boolean, input: SettingInput, 
/**
 * For `choice` (and a multiple choice, typed as text): the allowed values with their labels.
 */
choices: Array<SettingChoice>, 
/**
 * Values given for this setting that were ignored, and why.
 */
problems: Array<SettingProblem>, };

export type PolicyPage = { 
/**
 * 「この端末は組織によって管理されています」
 */
managedByOrganization: boolean, settings: Array<SettingRow>, 
/**
 * Problems not tied to one setting (unreadable files, unknown keys).
 */
problems: Array<SettingProblem>, };

