import type { SyncState, SyncStatus } from '../ipc/api';
import { useContext } from 'preact/hooks';
import { LangContext } from '../i18n';

/** The always-visible sync state: 訓練モード, 未登録, 同期中, 最新(時刻), オフライン(未送信n件),
 * 拒否—端末が失効, 他の端末のデータを読めません (another content key), 送信できない変更 (refused for good,
 * set aside), 端末の時刻がずれています (clock skew): errors, never 最新. The label comes from Rust (core's SyncStatus); the next step is its title. */
/** Every state has a tone (the compiler checks a new one gets one): errors red, never 最新 green. */
const TONE: Record<SyncState, string> = {
  training: '',
  unenrolled: ' warn',
  refused: ' bad',
  syncing: '',
  online: ' good',
  offline: ' warn',
  unreadable: ' bad',
  setAside: ' bad',
  clockSkew: ' bad',
};

export function SyncIndicator({ status, online }: { status: SyncStatus; online: boolean }) {
  const lang = useContext(LangContext);
  // The browser knows the network is down before the next sync round does.
  const offline = !online && status.state !== 'training' && status.state !== 'unenrolled';
  const state = offline ? 'offline' : status.state;
  const label = offline
    ? lang === 'ja'
      ? `オフライン(未送信${status.pending}件)`
      : `Offline (${status.pending} unsent)`
    : lang === 'ja'
      ? status.labelJa
      : status.labelEn;
  const next = lang === 'ja' ? status.nextJa : status.nextEn;
  const tone = TONE[state];
  return (
    <span class={`sync${tone}`} data-testid="sync-status" data-state={state} title={next} aria-live="polite">
      {label}
    </span>
  );
}
