// Japanese first, English switchable. Strings live next to their screen as {ja, en} pairs;
// this holds the language state and the shared labels.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type {
  AuditKind,
  CardStep,
  CareEndReason,
  CheckOutcome,
  DeviceRole,
  FaceAuthenticity,
  IdDocument,
  NoteStatus,
  QualificationValidity,
  SettingSource,
  Sex,
  StaffRole,
  VisitKind,
  VisitStatus,
} from './ipc/bindings';

export type Lang = 'ja' | 'en';
export type Text = { ja: string; en: string };

export const LangContext = createContext<Lang>('ja');

export function useT(): (t: Text) => string {
  const lang = useContext(LangContext);
  return (t: Text) => t[lang];
}

// Typed by the Rust enums (ts-rs): a missing or misspelt case fails `tsc`.
export const kindLabel: Record<VisitKind, Text> = {
  homeMedical: { ja: '訪問診療', en: 'Home visit' },
  urgentCall: { ja: '往診', en: 'Urgent call-out' },
  homeNursing: { ja: '訪問看護', en: 'Nursing visit' },
};

export const statusLabel: Record<VisitStatus, Text> = {
  planned: { ja: '予定', en: 'Planned' },
  inProgress: { ja: '訪問中', en: 'In progress' },
  done: { ja: '完了', en: 'Done' },
  cancelled: { ja: '中止', en: 'Cancelled' },
};

export const validityLabel: Record<QualificationValidity, Text> = {
  valid: { ja: '有効', en: 'Valid' },
  invalid: { ja: '無効', en: 'Invalid' },
  invalidNewerExists: { ja: '無効（新しい資格あり）', en: 'Invalid (a newer qualification exists)' },
  notFound: { ja: '該当資格なし', en: 'No matching qualification' },
  unknown: { ja: '未確認', en: 'Not checked' },
};

export const auditKindLabel: Record<AuditKind, Text> = {
  view: { ja: '閲覧', en: 'View' },
  edit: { ja: '編集', en: 'Edit' },
  sign: { ja: '署名', en: 'Sign' },
  correct: { ja: '訂正', en: 'Correction' },
  export: { ja: '書き出し', en: 'Export' },
  consent: { ja: '同意', en: 'Consent' },
  qualification: { ja: '資格確認', en: 'Qualification check' },
  open: { ja: 'サインイン', en: 'Sign-in' },
  other: { ja: 'その他', en: 'Other' },
};

export const roleLabel: Record<StaffRole, Text> = {
  doctor: { ja: '医師', en: 'Doctor' },
  nurse: { ja: '看護師', en: 'Nurse' },
  office: { ja: '事務', en: 'Office' },
  admin: { ja: '管理者', en: 'Admin' },
};

/** An enrolled device's role at the relay (端末の管理). */
export const deviceRoleLabel: Record<DeviceRole, Text> = {
  member: { ja: 'メンバー', en: 'Member' },
  admin: { ja: '管理用', en: 'Admin' },
};

export const noteStatusLabel: Record<NoteStatus, Text> = {
  draft: { ja: '下書き', en: 'Draft' },
  signed: { ja: '署名済', en: 'Signed' },
};

export const sourceLabel: Record<SettingSource, Text> = {
  managed: { ja: '管理者(MDM)', en: 'Managed (MDM)' },
  user: { ja: 'ユーザー', en: 'User' },
  recommended: { ja: '推奨(MDM)', en: 'Recommended (MDM)' },
  default: { ja: '既定値', en: 'Default' },
};

export const stepLabel: Record<CardStep, Text> = {
  connecting: { ja: 'リーダーに接続中', en: 'Connecting to the reader' },
  certificate: { ja: '電子証明書を読み取り中', en: 'Reading the certificate' },
  tries: { ja: '暗証番号の残り回数を確認中', en: 'Checking PIN tries left' },
  signing: { ja: 'カードで同意に署名中', en: 'Card is signing the consent' },
  qualifying: { ja: '資格を確認中', en: 'Checking qualification' },
  saving: { ja: '記録を保存中', en: 'Saving' },
  done: { ja: '完了', en: 'Done' },
};

/** 訪問終了の理由 (the badge on an ended patient). */
export const careEndLabel: Record<CareEndReason, Text> = {
  death: { ja: '死亡', en: 'Died' },
  hospitalised: { ja: '入院', en: 'Hospitalised' },
  moved: { ja: '転居', en: 'Moved away' },
  ended: { ja: '終了', en: 'Ended' },
};

export const idDocumentLabel: Record<IdDocument, Text> = {
  myNumberCard: { ja: 'マイナンバーカード', en: 'My Number card' },
  qualificationCertificate: { ja: '資格確認書', en: 'Eligibility certificate' },
  unknown: { ja: '未確認', en: 'Not checked' },
};

export const sexLabel: Record<Sex, Text> = {
  male: { ja: '男', en: 'Male' },
  female: { ja: '女', en: 'Female' },
};

/** Weekdays as the plan numbers them: 0 = 月 … 6 = 日. */
export const weekdayLabel: Text[] = [
  { ja: '月', en: 'Mon' },
  { ja: '火', en: 'Tue' },
  { ja: '水', en: 'Wed' },
  { ja: '木', en: 'Thu' },
  { ja: '金', en: 'Fri' },
  { ja: '土', en: 'Sat' },
  { ja: '日', en: 'Sun' },
];

export function label<K extends string>(map: Record<K, Text>, key: K): Text {
  return map[key];
}

/** The colour of a qualification outcome: confirmed, waiting for the gateway, or a problem. */
export function resultTone(outcome: CheckOutcome): string {
  return outcome === 'valid' ? 'good' : outcome === 'requested' ? 'pending' : 'bad';
}

/** 顔写真の真正性: only a photo whose issuer signature verified is 検証済み. */
export const authenticityLabel: Record<FaceAuthenticity, Text> = {
  verified: { ja: '検証済み', en: 'Verified' },
  noIssuerKey: { ja: '未検証(発行者の鍵が未設定)', en: 'Not verified (no issuer key)' },
  signatureInvalid: { ja: '署名不一致(偽造の疑い)', en: 'Signature mismatch (possible forgery)' },
};

export function authenticityTone(a: FaceAuthenticity): string {
  return a === 'verified' ? 'ok' : a === 'noIssuerKey' ? 'warn' : 'bad';
}
