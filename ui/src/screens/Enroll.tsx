import { useState } from 'preact/hooks';
import type { Api, SyncStatus, UiError } from '../ipc/api';
import { useT } from '../i18n';
import { ErrorBox } from '../components/common';

/** 端末の登録: shown while the device is not enrolled (first start with trainingMode off, or
 * after a wipe, with the reason). A managed code was already tried by the app itself; a code
 * typed here is redeemed at the relay the policy names. */
export function Enroll({
  api,
  status,
  onEnrolled,
}: {
  api: Api;
  status: SyncStatus;
  onEnrolled: (s: SyncStatus) => void;
}) {
  const t = useT();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    if (!code.trim() || busy) return;
    setBusy(true);
    setError(null);
    api
      .enroll(code.trim())
      .then((s) => {
        setCode('');
        onEnrolled(s);
      })
      .catch((err: UiError) => setError(err))
      .finally(() => setBusy(false));
  };
  return (
    <section class="enroll" data-testid="enroll">
      <h2>{t({ ja: '端末の登録', en: 'Enroll this device' })}</h2>
      <p class={status.state === 'refused' ? 'error' : 'note'} data-testid="enroll-reason">
        {t({ ja: status.nextJa, en: status.nextEn })}
      </p>
      {status.managedCode && (
        <p class="note" data-testid="enroll-managed">
          {t({
            ja: '管理者が設定した登録コードは使用済みか無効でした。新しいコードを入力してください。',
            en: 'The enrollment code set by your administrator was used or invalid. Enter a new code.',
          })}
        </p>
      )}
      <form onSubmit={submit}>
        <label>
          {t({ ja: '登録コード(26文字、ハイフンは省略可)', en: 'Enrollment code (26 characters; hyphens optional)' })}
          <input
            data-testid="enroll-code"
            value={code}
            autocomplete="off"
            autocapitalize="characters"
            spellcheck={false}
            onInput={(e) => setCode((e.target as HTMLInputElement).value)}
          />
        </label>
        <button class="btn primary" type="submit" disabled={busy || !code.trim()} data-testid="enroll-submit">
          {busy ? t({ ja: '登録中…', en: 'Enrolling…' }) : t({ ja: '登録する', en: 'Enroll' })}
        </button>
      </form>
      <ErrorBox error={error} />
    </section>
  );
}
