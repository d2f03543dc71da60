import { useEffect, useState } from 'preact/hooks';
import type { Api, StaffView, UiError } from '../ipc/api';
import { label, roleLabel, useT } from '../i18n';
import { ErrorBox } from '../components/common';

/**
 * Staff sign-in (the device is the other factor): pick yourself, enter your PIN. The person
 * who was signed in is offered first. The PIN is wiped from state as it is sent.
 */
export function Lock({ api, onUnlocked, training }: { api: Api; onUnlocked: () => void; training: boolean }) {
  const t = useT();
  const [staff, setStaff] = useState<StaffView[]>([]);
  const [who, setWho] = useState<string | null>(null);
  const [pin, setPin] = useState('');
  const [error, setError] = useState<UiError | null>(null);
  useEffect(() => {
    api
      .signInStaff()
      .then((s) => {
        setStaff(s);
        setWho(s[0]?.id ?? null);
      })
      .catch((e) => setError(e as UiError));
  }, [api]);
  const submit = async () => {
    const p = pin;
    setPin('');
    try {
      await api.unlock(who, p);
      onUnlocked();
    } catch (e) {
      setError(e as UiError);
    }
  };
  return (
    <section class="lock" data-testid="lock">
      <h2>{t({ ja: 'ロック中 — 職員サインイン', en: 'Locked — staff sign-in' })}</h2>
      <label for="staff-select">{t({ ja: '職員を選んでください', en: 'Choose your name' })}</label>
      <select
        id="staff-select"
        class="big"
        value={who ?? ''}
        data-testid="staff-select"
        onChange={(e) => {
          setWho((e.target as HTMLSelectElement).value);
          setError(null);
        }}
      >
        {staff.map((s) => (
          <option value={s.id} key={s.id}>
            {s.name}({t(label(roleLabel, s.role))})
          </option>
        ))}
      </select>
      <p>{t({ ja: '職員PINを入力してください。', en: 'Enter your staff PIN.' })}</p>
      {training && (
        <p class="hint">
          {t({ ja: '訓練モード: 自分のPINを設定していない職員は 0000', en: 'Training mode: staff without their own PIN use 0000' })}
        </p>
      )}
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
      <button class="btn primary" onClick={() => void submit()} disabled={pin.length < 4} data-testid="unlock">
        {t({ ja: 'サインイン', en: 'Sign in' })}
      </button>
      <ErrorBox error={error} />
    </section>
  );
}
