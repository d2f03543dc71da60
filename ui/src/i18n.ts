// Japanese first, English switchable. Strings live next to their screen as {ja, en} pairs;
// this holds the language state and the shared labels.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export type Lang = 'ja' | 'en';
export type Text = { ja: string; en: string };

export const LangContext = createContext<Lang>('ja');

export function useT(): (t: Text) => string {
  const lang = useContext(LangContext);
  return (t: Text) => t[lang];
}

export const kindLabel: Record<string, Text> = {
  homeMedical: { ja: '訪問診療', en: 'Home visit' },
  emergency: { ja: '往診', en: 'Urgent call-out' },
  nursing: { ja: '訪問看護', en: 'Nursing visit' },
};

export const statusLabel: Record<string, Text> = {
  planned: { ja: '予定', en: 'Planned' },
  inProgress: { ja: '訪問中', en: 'In progress' },
  done: { ja: '完了', en: 'Done' },
  cancelled: { ja: '中止', en: 'Cancelled' },
};

export const validityLabel: Record<string, Text> = {
  valid: { ja: '有効', en: 'Valid' },
  invalid: { ja: '無効', en: 'Invalid' },
  invalidNewerExists: { ja: '無効（新しい資格あり）', en: 'Invalid (a newer qualification exists)' },
  notFound: { ja: '該当資格なし', en: 'No matching qualification' },
  unknown: { ja: '未確認', en: 'Not checked' },
};

export function label(map: Record<string, Text>, key: string): Text {
  return map[key] ?? { ja: key, en: key };
}
