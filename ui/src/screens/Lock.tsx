import { useState } from 'preact/hooks';
import type { Api, UiError } from '../ipc/api';
import { useT } from '../i18n';
import { ErrorBox } from '../components/common';

/** Staff unlock with a PIN (the device is the other factor). The PIN is wiped after sending. */
export function Lock({ api, onUnlocked, training }: { api: Api; onUnlocked: () => void; training: boolean }) {
  const t = useT();
  const [pin, setPin] = useState('');
  const [error, setError] = useState<UiError | null>(null);
  const submit = async () => {
    const p = pin;
    setPin('');
    try {
      await api.unlock(p);
      onUnlocked();
    } catch (e) {
      setError(e as UiError);
    }
  };
  return (
    <section class="lock" data-testid="lock">
      <h2>{t({ ja: 'ロック中', en: 'Locked' })}</h2>
      <p>{t({ ja: '職員PINを入力してください。', en: 'Enter your staff PIN.' })}</p>
      {training && <p class="hint">{t({ ja: '訓練モードの職員PIN: 0000', en: 'Training staff PIN: 0000' })}</p>}
      <input
        type="password"
        inputMode="numeric"
        autoComplete="off"
        class="pin-input"
        value={pin}
        data-testid="staff-pin"
        onInput={(e) => setPin((e.target as HTMLInputElement).value.replace(/\D/g, '').slice(0, 8))}
        onKeyDown={(e) => e.key === 'Enter' && void submit()}
      />
      <button class="btn primary" onClick={() => void submit()} data-testid="unlock">
        {t({ ja: 'ロック解除', en: 'Unlock' })}
      </button>
      <ErrorBox error={error} />
    </section>
  );
}
