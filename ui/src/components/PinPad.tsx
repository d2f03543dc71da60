import { useEffect, useState } from 'preact/hooks';
import { useT } from '../i18n';

/**
 * The card PIN pad. The digits live only in this component's state while typing; they are
 * wiped the moment they are submitted, on cancel and on unmount. Never stored anywhere else.
 * Shows the tries left; with one try left, or when the card did not say how many are left
 * (`null`), it asks for an explicit confirmation first.
 */
export function PinPad(props: {
  triesLeft: number | null;
  busy?: boolean;
  onSubmit: (pin: string, confirmLastTry: boolean) => void;
  onCancel?: () => void;
}) {
  const t = useT();
  const [digits, setDigits] = useState('');
  const [confirmed, setConfirmed] = useState(false);
  useEffect(() => () => setDigits(''), []);
  const unknown = props.triesLeft === null;
  const last = props.triesLeft === 1 || unknown;
  if (props.triesLeft !== null && props.triesLeft <= 0) {
    return (
      <div class="error" role="alert" data-testid="pin-blocked">
        {t({
          ja: '暗証番号がロックされています。患者さんご本人が市区町村の窓口で解除の手続きをする必要があります。クリニックが認めていれば目視確認で続けられます。',
          en: 'The PIN is blocked. The patient must go to the city office to reset it. If the clinic allows it, continue with a visual check.',
        })}
      </div>
    );
  }
  const press = (d: string) => setDigits((x) => (x.length < 4 ? x + d : x));
  const submit = () => {
    const pin = digits;
    setDigits('');
    props.onSubmit(pin, last && confirmed);
  };
  const canSend = digits.length === 4 && !props.busy && (!last || confirmed);
  return (
    <div class="pinpad" data-testid="pinpad">
      <p class={last ? 'tries last' : 'tries'} data-testid="tries-left">
        {unknown
          ? t({ ja: '残り回数不明', en: 'Tries left unknown' })
          : t({ ja: `残り ${props.triesLeft} 回`, en: `${props.triesLeft} tries left` })}
      </p>
      {last && (
        <div class="warning" role="alert" data-testid="last-try-warning">
          <p>
            {unknown
              ? t({
                  ja: 'カードが残り回数を返しませんでした。残り1回かもしれません。間違えるとロックされます。患者さんに暗証番号を確認してください。',
                  en: 'The card did not say how many tries are left; this may be the last one. A mistake may block the PIN. Confirm the PIN with the patient.',
                })
              : t({
                  ja: '残り1回です。間違えるとロックされ、市区町村の窓口での手続きが必要になります。患者さんに暗証番号を確認してください。',
                  en: 'Only 1 try left. A mistake blocks the PIN and the patient must go to the city office. Confirm the PIN with the patient.',
                })}
          </p>
          <label class="check">
            <input
              type="checkbox"
              checked={confirmed}
              onChange={(e) => setConfirmed((e.target as HTMLInputElement).checked)}
              data-testid="confirm-last-try"
            />
            {t({ ja: '患者さんに確認しました', en: 'Confirmed with the patient' })}
          </label>
        </div>
      )}
      <div class="pin-dots" aria-label={t({ ja: '入力済みの桁数', en: 'digits entered' })} data-testid="pin-dots">
        {[0, 1, 2, 3].map((i) => (
          <span class={i < digits.length ? 'dot on' : 'dot'} key={i} />
        ))}
      </div>
      <div class="keys">
        {['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => (
          <button class="key" key={d} onClick={() => press(d)} data-testid={`key-${d}`} disabled={props.busy}>
            {d}
          </button>
        ))}
        <button class="key" onClick={() => setDigits('')} data-testid="key-clear">
          {t({ ja: '消去', en: 'Clear' })}
        </button>
        <button class="key" onClick={() => press('0')} data-testid="key-0" disabled={props.busy}>
          0
        </button>
        <button class="key" onClick={() => setDigits((x) => x.slice(0, -1))} data-testid="key-back">
          ⌫
        </button>
      </div>
      <div class="row">
        {props.onCancel && (
          <button
            class="btn"
            onClick={() => {
              setDigits('');
              props.onCancel?.();
            }}
          >
            {t({ ja: '戻る', en: 'Back' })}
          </button>
        )}
        <button class="btn primary" disabled={!canSend} onClick={submit} data-testid="pin-submit">
          {t({ ja: '送信', en: 'Send' })}
        </button>
      </div>
    </div>
  );
}
