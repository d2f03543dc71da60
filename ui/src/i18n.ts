// Japanese first, English switchable. Strings live next to their screen as {ja, en} pairs;
// this holds the language state and the shared labels.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { CheckOutcome, FaceAuthenticity, QualificationValidity, VisitKind, VisitStatus } from './ipc/bindings';

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

export function label<K extends string>(map: Record<K, Text>, key: K): Text {
  return map[key];
}

/** The colour of a qualification outcome: confirmed, waiting for the gateway, or a problem. */
export function resultTone(outcome: CheckOutcome): string {
  return outcome === 'valid' ? 'good' : outcome === 'requested' ? 'pending' : 'bad';
}

/** 顔写真の真正性: only a photo whose issuer signature verified is 検証済み. */
const authenticityLabels: Record<FaceAuthenticity, Text> = {
  verified: { ja: '検証済み', en: 'Verified' },
  noIssuerKey: { ja: '未検証(発行者の鍵が未設定)', en: 'Not verified (no issuer key)' },
  signatureInvalid: { ja: '署名不一致(偽造の疑い)', en: 'Signature mismatch (possible forgery)' },
};

export function authenticityLabel(a: FaceAuthenticity): Text {
  return authenticityLabels[a];
}

export function authenticityTone(a: FaceAuthenticity): string {
  return a === 'verified' ? 'ok' : a === 'noIssuerKey' ? 'warn' : 'bad';
}
