// A scripted stand-in for the Rust side, for component tests only. The real IPC is covered
// by the end-to-end tests on the real app binary (tests/tests/app_e2e.rs).
import { vi } from 'vitest';
import type { Api, CheckState, SyncStatus, UiError, VisitEdit, VisitRow } from '../src/ipc/api';

export const okCheck: CheckState = {
  path: 'requery' as const,
  reason: 'ok' as const,
  validThrough: '2027-02-28',
  daysLeft: 99,
  ja: '同意は2027年2月28日まで有効です(あと99日)。カードなしで再照会できます。',
  en: 'Consent is valid through 2027-02-28 (99 days left). Re-query without the card.',
  validity: 'valid' as const,
  request: null,
};

export const firstCheck: CheckState = {
  path: 'card' as const,
  reason: 'first_visit' as const,
  validThrough: null,
  daysLeft: null,
  ja: '初回の訪問です。マイナンバーカードで資格確認と同意の登録をしてください。',
  en: 'First visit: confirm qualification and register consent with the My Number card.',
  validity: null,
  request: null,
};

export function visit(over: Partial<VisitRow> = {}): VisitRow {
  return {
    visitId: 'v1',
    patientId: 'p1',
    patientName: '山田 花子',
    patientKana: 'ヤマダ ハナコ',
    start: '09:00',
    end: '09:45',
    kind: 'homeMedical' as const,
    status: 'planned' as const,
    check: firstCheck,
    ...over,
  };
}

export function wrongPin(left: number): UiError {
  return {
    code: 'wrong_pin',
    ja: `暗証番号が違います。残り${left}回です。患者さんに確認してから、もう一度入力してください。`,
    en: `Wrong PIN. ${left} tries left.`,
    triesLeft: left,
  };
}

export const trainingStatus: SyncStatus = {
  state: 'training' as const,
  pending: 0,
  lastSyncAt: null,
  labelJa: '訓練モード',
  labelEn: 'Training mode',
  nextJa: '架空の診療所で練習できます。同期はしません。',
  nextEn: 'Practise on a fictional clinic. Nothing is synced.',
  needsEnrollment: false,
  managedCode: false,
};

export function fakeApi(over: Partial<Api> = {}): Api {
  const reject = () => Promise.reject(new Error('not scripted'));
  const base: Api = {
    appInfo: vi.fn(() =>
      Promise.resolve({
        trainingMode: true,
        clinicName: '訓練用 在宅クリニック',
        staffId: 's1',
        staffName: '訓練 医師',
        staffRole: 'doctor' as const,
        today: '2026-11-21',
        keyWarningJa: null,
        keyWarningEn: null,
        version: '0.1.0',
        sync: trainingStatus,
        allowVisualCheck: true,
        allowUnverifiedVisualCheck: false,
        screenshotProtection: true,
        allowPinCheck: true,
        autoLockMinutes: 5,
        uiLanguage: 'ja' as const,
        largeText: false,
        locked: false,
        canFoundAdmin: false,
        needsClinicSetup: false,
      }),
    ),
    todaysVisits: vi.fn(() => Promise.resolve([visit()])),
    patientChart: vi.fn(reject),
    patientList: vi.fn(() => Promise.resolve([])),
    cardCheck: vi.fn(reject),
    cardFace: vi.fn(reject),
    confirmWithCard: vi.fn(reject),
    requery: vi.fn(reject),
    startVisit: vi.fn(() => Promise.resolve(null)),
    saveNote: vi.fn(reject),
    signNote: vi.fn(() => Promise.resolve(null)),
    correctNote: vi.fn(reject),
    recordVitals: vi.fn(() => Promise.resolve([])),
    roster: vi.fn(reject),
    assignVisit: vi.fn(() => Promise.resolve(null)),
    auditLog: vi.fn(reject),
    qualificationQueue: vi.fn(() => Promise.resolve([])),
    demoCards: vi.fn(() => Promise.resolve([])),
    demoPlaceCard: vi.fn(() => Promise.resolve(null)),
    lock: vi.fn(() => Promise.resolve(null)),
    unlock: vi.fn(() => Promise.resolve(null)),
    signInStaff: vi.fn(() =>
      Promise.resolve([
        { id: 's1', name: '訓練 医師', role: 'doctor' as const, pinOnDevice: true },
        { id: 's2', name: '看護 花子', role: 'nurse' as const, pinOnDevice: true },
      ]),
    ),
    choosePin: vi.fn(() => Promise.resolve(null)),
    foundFirstAdmin: vi.fn(() => Promise.resolve(null)),
    staffList: vi.fn(() => Promise.resolve([])),
    saveStaff: vi.fn(reject),
    resetStaffPin: vi.fn(reject),
    settings: vi.fn(() => Promise.resolve({ managedByOrganization: false, settings: [], problems: [] })),
    setUserSetting: vi.fn(() => Promise.resolve({ managedByOrganization: false, settings: [], problems: [] })),
    syncStatus: vi.fn(() => Promise.resolve(trainingStatus)),
    enroll: vi.fn(reject),
    setUpClinic: vi.fn(reject),
    savePatient: vi.fn(() => Promise.resolve('p-new')),
    patientDetail: vi.fn(reject),
    endCare: vi.fn(() => Promise.resolve(null)),
    importPatients: vi.fn(reject),
    planVisits: vi.fn(reject),
    editVisit: vi.fn((e: VisitEdit) => Promise.resolve(e.id)),
    reassignVisit: vi.fn(() => Promise.resolve(null)),
    cancelVisit: vi.fn(() => Promise.resolve(null)),
    planMonth: vi.fn((month: string | null, staffId: string | null, patientId: string | null) =>
      Promise.resolve({ month: month ?? '2026-11', staffId, patientId, visits: [] }),
    ),
    clinicAudit: vi.fn(() => Promise.resolve({ chainOk: true, rows: [] })),
    saveAuditCsv: vi.fn(reject),
    issueEnrollmentCode: vi.fn(reject),
    clinicDevices: vi.fn(() => Promise.resolve([])),
    revokeDevice: vi.fn(reject),
  };
  return { ...base, ...over };
}
