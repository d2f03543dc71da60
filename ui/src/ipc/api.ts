// Typed wrappers over the shell's commands. The types come from Rust (bindings.ts).
import { Channel, invoke } from '@tauri-apps/api/core';
import type {
  AppInfo,
  AuditFilter,
  AuditLogView,
  CardCheck,
  CardFace,
  CardProgress,
  CareEndReason,
  ChartView,
  DemoCard,
  DeviceRole,
  DeviceRow,
  FirstVisitInput,
  ImportReport,
  IssuedCode,
  PatientDetail,
  PatientInput,
  PatientRow,
  PlanInput,
  Planned,
  PlanMonth,
  QualificationResult,
  QueueRow,
  RosterView,
  SavedNote,
  PolicyPage,
  Soap,
  PinSetupView,
  SignInRow,
  StaffInput,
  StaffRow,
  StaffSaved,
  SyncStatus,
  UiError,
  VisitEdit,
  VisitKind,
  VisitRow,
  VitalsInput,
  VitalsIssue,
} from './bindings';

export type * from './bindings';

/** Anything thrown by a command is a UiError from Rust, or a transport failure we wrap. */
export function asUiError(e: unknown): UiError {
  if (e && typeof e === 'object' && 'code' in e && 'ja' in e && 'en' in e) return e as UiError;
  return {
    code: 'internal',
    ja: 'アプリ内部でエラーが起きました。画面を開き直してください。入力した内容は保存済みの分まで残っています。',
    en: 'Internal error. Reopen the screen; everything saved so far is kept.',
    triesLeft: null,
  };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asUiError(e);
  }
}

function progressChannel(onProgress: (p: CardProgress) => void): Channel<CardProgress> {
  const ch = new Channel<CardProgress>();
  ch.onmessage = onProgress;
  return ch;
}

export const api = {
  appInfo: () => call<AppInfo>('app_info'),
  todaysVisits: () => call<VisitRow[]>('todays_visits'),
  patientChart: (patientId: string, kind?: VisitKind) => call<ChartView>('patient_chart', { patientId, kind: kind ?? null }),
  patientList: () => call<PatientRow[]>('patient_list'),
  cardCheck: (onProgress: (p: CardProgress) => void) =>
    call<CardCheck>('card_check', { onProgress: progressChannel(onProgress) }),
  cardFace: (patientId: string, codeB: string) => call<CardFace>('card_face', { patientId, codeB }),
  confirmWithCard: (input: FirstVisitInput, onProgress: (p: CardProgress) => void) =>
    call<QualificationResult>('confirm_with_card', { input, onProgress: progressChannel(onProgress) }),
  requery: (patientId: string, visitId: string) => call<QualificationResult>('requery', { patientId, visitId }),
  startVisit: (patientId: string, visitId: string) => call<null>('start_visit', { patientId, visitId }),
  saveNote: (patientId: string, visitId: string, draftId: string | null, soap: Soap) =>
    call<SavedNote>('save_note', { patientId, visitId, draftId, soap }),
  signNote: (patientId: string, noteId: string) => call<null>('sign_note', { patientId, noteId }),
  correctNote: (patientId: string, noteId: string, soap: Soap, reason: string) =>
    call<SavedNote>('correct_note', { patientId, noteId, soap, reason }),
  recordVitals: (patientId: string, visitId: string, vitals: VitalsInput) =>
    call<VitalsIssue[]>('record_vitals', { patientId, visitId, vitals }),
  roster: (month?: string) => call<RosterView>('roster', { month: month ?? null }),
  assignVisit: (visitId: string, staffId: string, date: string | null) =>
    call<null>('assign_visit', { visitId, staffId, date }),
  auditLog: (limit: number) => call<AuditLogView>('audit_log', { limit }),
  qualificationQueue: () => call<QueueRow[]>('qualification_queue'),
  demoCards: () => call<DemoCard[]>('demo_cards'),
  demoPlaceCard: (cardId: string | null, removeAfter: number | null) =>
    call<null>('demo_place_card', { cardId, removeAfter }),
  lock: () => call<null>('lock'),
  unlock: (staffId: string | null, pin: string) => call<null>('unlock', { staffId, pin }),
  signInStaff: () => call<SignInRow[]>('sign_in_staff'),
  choosePin: (staffId: string, code: string, pin: string) => call<null>('choose_staff_pin', { staffId, code, pin }),
  foundFirstAdmin: (name: string, kana: string, pin: string) => call<null>('found_first_admin', { name, kana, pin }),
  staffList: () => call<StaffRow[]>('staff_list'),
  saveStaff: (input: StaffInput) => call<StaffSaved>('save_staff', { input }),
  resetStaffPin: (staffId: string) => call<PinSetupView>('reset_staff_pin', { staffId }),
  settings: () => call<PolicyPage>('settings'),
  setUserSetting: (key: string, value: string | null) => call<PolicyPage>('set_user_setting', { key, value }),
  syncStatus: () => call<SyncStatus>('sync_status'),
  enroll: (code: string) => call<SyncStatus>('enroll', { code }),
  setUpClinic: (name: string, institution: string, address: string, phone: string) =>
    call<null>('set_up_clinic', { name, institution, address, phone }),
  // 患者 (registration, edits with history, end of care, CSV import)
  savePatient: (input: PatientInput) => call<string>('save_patient', { input }),
  patientDetail: (patientId: string) => call<PatientDetail>('patient_detail', { patientId }),
  /** `reason` null resumes care (訪問再開); `date` null = today. */
  endCare: (patientId: string, reason: CareEndReason | null, date: string | null) =>
    call<null>('end_care', { patientId, reason, date }),
  /** The bytes of a CSV file the user picked (UTF-8 or Shift_JIS; Rust decodes). */
  importPatients: (csv: number[]) => call<ImportReport>('import_patients', { csv }),
  // 訪問計画 (the visit plan)
  planVisits: (input: PlanInput) => call<Planned>('plan_visits', { input }),
  /** Returns the visit id (a new one when moved to another month). */
  editVisit: (edit: VisitEdit) => call<string>('edit_visit', { edit }),
  reassignVisit: (visitId: string, staff: string[]) => call<null>('reassign_visit', { visitId, staff }),
  cancelVisit: (visitId: string, reason: string) => call<null>('cancel_visit', { visitId, reason }),
  planMonth: (month: string | null, staffId: string | null, patientId: string | null) =>
    call<PlanMonth>('plan_month', { month, staffId, patientId }),
  // 監査ログ: the clinic-wide history this device holds (every device's entries), filtered.
  clinicAudit: (filter: AuditFilter, limit: number) => call<AuditLogView>('clinic_audit', { filter, limit }),
  saveAuditCsv: (filter: AuditFilter) => call<string>('save_audit_csv', { filter }),
  // 端末の管理 (an administrator on the clinic's admin device; Rust refuses anyone else)
  /** A one-time code for another device, with its QR code; valid for `hours`. */
  issueEnrollmentCode: (role: DeviceRole, hours: number) => call<IssuedCode>('issue_enrollment_code', { role, hours }),
  clinicDevices: () => call<DeviceRow[]>('clinic_devices'),
  /** Stopped at the relay at once; the device erases its data at its next contact. */
  revokeDevice: (deviceId: string) => call<DeviceRow>('revoke_device', { deviceId }),
};
export type Api = typeof api;
