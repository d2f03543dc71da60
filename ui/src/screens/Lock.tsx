import { useEffect, useState } from 'preact/hooks';
import type { Api, SignInRow, UiError } from '../ipc/api';
import { label, roleLabel, useT } from '../i18n';
import { ErrorBox } from '../components/common';

const MAX_PIN = 12;
const digits = (e: Event) => (e.target as HTMLInputElement).value.replace(/\D/g, '').slice(0, MAX_PIN);
const mismatch: UiError = {
  code: 'pin_mismatch',
  ja: '2回入力したPINが一致しません。もう一度入力してください。',
  en: 'The two PINs differ. Enter them again.',
  triesLeft: null,
};

/** A new PIN, typed twice. */
function NewPin({ pin, again, setPin, setAgain }: { pin: string; again: string; setPin: (p: string) => void; setAgain: (p: string) => void }) {
  const t = useT();
  return (
    <>
      <input type="password" inputMode="numeric" autoComplete="off" class="pin-input" placeholder={t({ ja: '新しいPIN(6桁以上)', en: 'New PIN (6+ digits)' })}
        value={pin} onInput={(e) => setPin(digits(e))} data-testid="new-pin" />
      <input type="password" inputMode="numeric" autoComplete="off" class="pin-input" placeholder={t({ ja: 'もう一度', en: 'Again' })}
        value={again} onInput={(e) => setAgain(digits(e))} data-testid="new-pin-again" />
    </>
  );
}

/**
 * Staff sign-in (the device is the other factor): tap your name, enter the PIN you chose on
 * this device. Someone without a PIN here enters the set-up code from an administrator and
 * chooses one. On a new clinic's admin device with no staff yet, the first administrator is
 * registered here. PINs and codes are wiped from state as they are sent.
 */
/**
 * 医療機関の設定: a clinic founded from this admin device has no clinic document yet. Its name
 * and 医療機関コード (check digit verified in Rust) come first; then the first administrator.
 */
function ClinicSetUp({ api, onDone }: { api: Api; onDone: () => void }) {
  const t = useT();
  const [f, setF] = useState({ name: '', institution: '', address: '', phone: '' });
  const [error, setError] = useState<UiError | null>(null);
  const field = (k: keyof typeof f, ja: string, en: string, extra: Record<string, string> = {}) => (
    <label class="field">
      <span>{t({ ja, en })}</span>
      <input class="big" value={f[k]} onInput={(e) => setF({ ...f, [k]: (e.target as HTMLInputElement).value })} data-testid={`clinic-${k}`} {...extra} />
    </label>
  );
  const submit = async () => {
    try {
      await api.setUpClinic(f.name, f.institution, f.address, f.phone);
      onDone();
    } catch (e) {
      setError(e as UiError);
    }
  };
  return (
    <section class="lock" data-testid="clinic-setup">
      <h2>{t({ ja: '医療機関の設定', en: 'Set up the clinic' })}</h2>
      <p>
        {t({
          ja: 'この端末は新しい医療機関の管理用端末です。医療機関名と医療機関コード(10桁)を登録してください。次に最初の管理者を登録します。',
          en: "This is a new clinic's admin device. Enter the clinic's name and its 10-digit institution code; next, register the first administrator.",
        })}
      </p>
      <div class="clinic-setup-fields">
        {field('name', '医療機関名', 'Clinic name')}
        {field('institution', '医療機関コード(10桁)', 'Institution code (10 digits)', { inputMode: 'numeric', autoComplete: 'off' })}
        {field('address', '所在地', 'Address')}
        {field('phone', '電話', 'Phone', { inputMode: 'tel' })}
      </div>
      <button class="btn primary" onClick={() => void submit()} disabled={!f.name.trim() || f.institution.trim().length !== 10} data-testid="clinic-submit">
        {t({ ja: '登録する', en: 'Register' })}
      </button>
      <ErrorBox error={error} />
    </section>
  );
}

export function Lock({
  api,
  onUnlocked,
  training,
  canFoundAdmin,
  needsClinicSetup = false,
  onClinicSetUp = () => undefined,
}: {
  api: Api;
  onUnlocked: () => void;
  training: boolean;
  canFoundAdmin: boolean;
  needsClinicSetup?: boolean;
  onClinicSetUp?: () => void;
}) {
  if (needsClinicSetup) return <ClinicSetUp api={api} onDone={onClinicSetUp} />;
  return <SignIn api={api} onUnlocked={onUnlocked} training={training} canFoundAdmin={canFoundAdmin} />;
}

function SignIn({ api, onUnlocked, training, canFoundAdmin }: { api: Api; onUnlocked: () => void; training: boolean; canFoundAdmin: boolean }) {
  const t = useT();
  const [staff, setStaff] = useState<SignInRow[] | null>(null);
  const [who, setWho] = useState<string | null>(null);
  const [pin, setPin] = useState('');
  const [again, setAgain] = useState('');
  const [code, setCode] = useState('');
  const [name, setName] = useState('');
  const [kana, setKana] = useState('');
  const [setupAsked, setSetupAsked] = useState(false);
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
  const picked = staff?.find((s) => s.id === who) ?? null;
  // Set-up mode: the device holds no PIN for this person (training: 0000 until a code exists).
  const setup = setupAsked || (!!picked && !picked.pinOnDevice && !training);
  const clear = () => {
    setPin('');
    setAgain('');
    setCode('');
  };
  const run = async (f: () => Promise<unknown>) => {
    try {
      await f();
      onUnlocked();
    } catch (e) {
      const err = e as UiError;
      if (err.code === 'staff_pin_setup_needed') setSetupAsked(true);
      setError(err);
    }
  };
  const submit = () => {
    const [p, q, c] = [pin, again, code];
    clear();
    if (setup || !who) {
      if (p !== q) return setError(mismatch);
    }
    if (!who) return run(() => api.foundFirstAdmin(name, kana, p));
    return run(() => (setup ? api.choosePin(who, c, p) : api.unlock(who, p)));
  };

  const founding = staff !== null && staff.length === 0;
  return (
    <section class="lock" data-testid="lock">
      <h2>{t({ ja: 'ロック中 — 職員サインイン', en: 'Locked — staff sign-in' })}</h2>
      <div class="lock-row">
        <div class="lock-staff" role="listbox" aria-label={t({ ja: '職員', en: 'Staff' })} data-testid="staff-list">
          {staff === null && <p class="hint">…</p>}
          {founding && !canFoundAdmin && (
            <p class="hint" data-testid="waiting-for-staff">
              {t({
                ja: '職員の一覧をまだ受信していません。ネットワークにつないだままお待ちください。管理者が職員を登録すると表示されます。',
                en: 'No staff list yet. Stay connected: it appears once an administrator has registered staff.',
              })}
            </p>
          )}
          {founding && canFoundAdmin && (
            <div class="lock-found" data-testid="found-admin">
              <p>{t({ ja: 'この医療機関にはまだ職員がいません。最初の管理者を登録してください。', en: 'This clinic has no staff yet. Register the first administrator.' })}</p>
              <input class="big" placeholder={t({ ja: '氏名', en: 'Name' })} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} data-testid="admin-name" />
              <input class="big" placeholder={t({ ja: 'カナ(全角カタカナ)', en: 'Reading (katakana)' })} value={kana} onInput={(e) => setKana((e.target as HTMLInputElement).value)} data-testid="admin-kana" />
            </div>
          )}
          {staff?.map((s) => (
            <button
              key={s.id}
              role="option"
              aria-selected={s.id === who}
              class={s.id === who ? 'btn staff-pick on' : 'btn staff-pick'}
              data-testid="staff-option"
              data-staff-id={s.id}
              onClick={() => {
                setWho(s.id);
                setSetupAsked(false);
                setError(null);
                clear();
              }}
            >
              {s.name}({t(label(roleLabel, s.role))})
            </button>
          ))}
        </div>
        <div class="lock-pin">
          {setup ? (
            <>
              <p>{t({ ja: '管理者から受け取った設定コードを入力し、この端末で使うPINを決めてください。', en: 'Enter the set-up code from your administrator and choose the PIN for this device.' })}</p>
              <input class="big code-input" autoComplete="off" placeholder="XXXX-XXXX-XXXX" value={code}
                onInput={(e) => setCode((e.target as HTMLInputElement).value.toUpperCase().slice(0, 20))} data-testid="setup-code" />
              <NewPin pin={pin} again={again} setPin={setPin} setAgain={setAgain} />
            </>
          ) : founding ? (
            canFoundAdmin && <NewPin pin={pin} again={again} setPin={setPin} setAgain={setAgain} />
          ) : (
            <>
              <p>{t({ ja: '職員PINを入力してください。', en: 'Enter your staff PIN.' })}</p>
              {training && (
                <p class="hint">
                  {t({ ja: '訓練モード: 設定コードを受け取っていない職員は 0000', en: 'Training mode: staff never given a set-up code use 0000' })}
                </p>
              )}
              <input
                type="password"
                inputMode="numeric"
                autoComplete="off"
                class="pin-input"
                value={pin}
                data-testid="staff-pin"
                onInput={(e) => setPin(digits(e))}
                onKeyDown={(e) => e.key === 'Enter' && void submit()}
              />
            </>
          )}
          {(!founding || canFoundAdmin) && (
            <button class="btn primary" onClick={() => void submit()} disabled={pin.length < 4 || (setup && code.length < 12)} data-testid="unlock">
              {setup || founding ? t({ ja: 'PINを決めてサインイン', en: 'Set PIN and sign in' }) : t({ ja: 'サインイン', en: 'Sign in' })}
            </button>
          )}
          <ErrorBox error={error} />
        </div>
      </div>
    </section>
  );
}
