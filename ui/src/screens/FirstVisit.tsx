import { useState } from 'preact/hooks';
import type { Api, CardFace, CardProgress, ConsentChoices, QualificationResult, UiError } from '../ipc/api';
import { authenticityLabel, authenticityTone, resultTone, stepLabel, useT } from '../i18n';
import { PinPad } from '../components/PinPad';
import { CheckBadge, ErrorBox } from '../components/common';

type Step = 'consent' | 'identity' | 'card' | 'pin' | 'visual' | 'sending' | 'result';

/**
 * 初回訪問 (居宅同意取得型) and 往診 card check: consent choices → PIN or 目視 → place the card
 * (live progress) → PIN pad (tries left, last-try warning) → result.
 */
export function FirstVisit(props: {
  api: Api;
  patientId: string;
  visitId: string;
  patientName: string;
  urgent: boolean;
  allowVisual: boolean;
  /** The clinic allows 目視 without a verified chip photo (printed photo, no issuer key). */
  allowUnverifiedVisual?: boolean;
  /** False when the clinic's policy allows only 目視. */
  allowPin?: boolean;
  onDone: () => void;
}) {
  const t = useT();
  const { api } = props;
  const [step, setStep] = useState<Step>('consent');
  const [consent, setConsent] = useState<ConsentChoices>({
    medication: true,
    clinical: true,
    checkup: true,
    surgery: true,
    prescription: 'electronic',
  });
  const allowPin = props.allowPin ?? true;
  const [mode, setMode] = useState<'pin' | 'visual'>(allowPin ? 'pin' : 'visual');
  const [progress, setProgress] = useState<CardProgress | null>(null);
  const [tries, setTries] = useState<number | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [result, setResult] = useState<QualificationResult | null>(null);
  const [attested, setAttested] = useState(false);
  const [reader, setReader] = useState<string | null>(null);
  // 目視: 照合番号B as typed from the card front (cleared once used), and the chip photo.
  const [codeB, setCodeB] = useState('');
  const [face, setFace] = useState<CardFace | null>(null);
  const [faceLocked, setFaceLocked] = useState(false);
  const [faceBusy, setFaceBusy] = useState(false);

  const placeCard = async () => {
    setError(null);
    setStep('card');
    setProgress({ step: 'connecting', percent: 0 });
    try {
      const c = await api.cardCheck(setProgress);
      setTries(c.triesLeft);
      setReader(c.reader);
      setStep(mode === 'pin' ? 'pin' : 'visual');
    } catch (e) {
      setError(e as UiError);
    }
  };

  const send = async (pin: string | null, confirmLastTry: boolean) => {
    setError(null);
    setStep('sending');
    setProgress({ step: 'connecting', percent: 0 });
    try {
      const r = await api.confirmWithCard(
        { patientId: props.patientId, visitId: props.visitId, consent, mode, pin, confirmLastTry },
        setProgress,
      );
      setResult(r);
      setFace(null);
      setStep('result');
    } catch (e) {
      const err = e as UiError;
      setError(err);
      if (err.triesLeft !== null && err.triesLeft !== undefined) setTries(err.triesLeft);
      setStep(mode === 'pin' ? 'pin' : 'visual');
      // A failed visual check needs the photo shown again (the app allows one check per photo).
      if (mode === 'visual') {
        setFace(null);
        setAttested(false);
      }
    }
  };

  const showFace = async () => {
    setError(null);
    setFaceBusy(true);
    const typed = codeB;
    setCodeB('');
    try {
      setFace(await api.cardFace(props.patientId, typed));
    } catch (e) {
      const err = e as UiError;
      setError(err);
      // The printed photo may carry the check only where the clinic allows it.
      if (err.code === 'code_b_blocked' && props.allowUnverifiedVisual) setFaceLocked(true);
    } finally {
      setFaceBusy(false);
    }
  };

  const title = props.urgent
    ? t({ ja: '往診: カードで資格確認', en: 'Call-out: card check' })
    : t({ ja: '初回訪問: 同意と資格確認', en: 'First visit: consent and qualification' });
  const steps: Step[] = ['consent', 'identity', 'card', mode === 'pin' ? 'pin' : 'visual', 'result'];
  const current = step === 'sending' ? steps.length - 2 : steps.indexOf(step);

  const item = (key: 'medication' | 'clinical' | 'checkup' | 'surgery', text: { ja: string; en: string }) => (
    <label class="check big">
      <input
        type="checkbox"
        checked={consent[key]}
        data-testid={`consent-${key}`}
        onChange={(e) => setConsent({ ...consent, [key]: (e.target as HTMLInputElement).checked })}
      />
      {t(text)}
    </label>
  );

  return (
    <section class="wizard" data-testid="first-visit">
      <h2>
        {title} <small>{props.patientName}</small>
      </h2>
      <ol class="steps">
        {steps.map((s, i) => (
          <li class={i === current ? 'on' : i < current ? 'done' : ''} key={s}>
            {i + 1}
          </li>
        ))}
      </ol>

      {step === 'consent' && (
        <div class="panel">
          <h3>{t({ ja: '1. 情報の閲覧に同意しますか', en: '1. Which information may the clinic view?' })}</h3>
          <div class="consent-items">
            {item('medication', { ja: '薬剤情報', en: 'Medication' })}
            {item('clinical', { ja: '診療情報', en: 'Clinical information' })}
            {item('checkup', { ja: '特定健診等情報', en: 'Health check-ups' })}
            {item('surgery', { ja: '手術情報', en: 'Surgery' })}
          </div>
          <h3>{t({ ja: '処方箋の発行方法', en: 'Prescription' })}</h3>
          <div class="row">
            {(['electronic', 'paper'] as const).map((p) => (
              <button
                class={consent.prescription === p ? 'btn choice on' : 'btn choice'}
                onClick={() => setConsent({ ...consent, prescription: p })}
                data-testid={`rx-${p}`}
              >
                {p === 'electronic' ? t({ ja: '電子処方箋', en: 'Electronic' }) : t({ ja: '紙の処方箋', en: 'Paper' })}
              </button>
            ))}
          </div>
          <div class="row end">
            <button class="btn" onClick={props.onDone}>
              {t({ ja: '中止', en: 'Cancel' })}
            </button>
            <button class="btn primary" onClick={() => setStep('identity')} data-testid="consent-next">
              {t({ ja: '次へ', en: 'Next' })}
            </button>
          </div>
        </div>
      )}

      {step === 'identity' && (
        <div class="panel">
          <h3>{t({ ja: '2. 本人確認の方法', en: '2. How to confirm identity' })}</h3>
          <div class="row">
            <button
              class={mode === 'pin' ? 'btn choice on' : 'btn choice'}
              onClick={() => setMode('pin')}
              disabled={!allowPin}
              data-testid="mode-pin"
            >
              {t({ ja: '暗証番号(4桁)', en: 'PIN (4 digits)' })}
            </button>
            <button
              class={mode === 'visual' ? 'btn choice on' : 'btn choice'}
              onClick={() => setMode('visual')}
              disabled={!props.allowVisual}
              data-testid="mode-visual"
            >
              {t({ ja: '目視確認', en: 'Visual check' })}
            </button>
          </div>
          {!props.allowVisual && (
            <p class="hint">{t({ ja: 'このクリニックでは目視確認は使えません。', en: 'This clinic does not allow visual checks.' })}</p>
          )}
          <div class="row end">
            <button class="btn" onClick={() => setStep('consent')}>
              {t({ ja: '戻る', en: 'Back' })}
            </button>
            <button class="btn primary" onClick={placeCard} data-testid="identity-next">
              {t({ ja: 'カードを読み取る', en: 'Read the card' })}
            </button>
          </div>
        </div>
      )}

      {(step === 'card' || step === 'sending') && (
        <div class="panel">
          <h3>
            {step === 'card'
              ? t({ ja: '3. マイナンバーカードをリーダーに置いてください', en: '3. Place the My Number card on the reader' })
              : t({ ja: '確認中です。カードを動かさないでください', en: 'Checking. Keep the card still' })}
          </h3>
          {progress && (
            <div class="progress" data-testid="card-progress" data-step={progress.step}>
              <div class="bar">
                <div class={`fill p${Math.round(progress.percent / 10) * 10}`} />
              </div>
              <p>{t(stepLabel[progress.step])}</p>
            </div>
          )}
          {reader && <p class="hint" data-testid="reader-name">{reader}</p>}
          <ErrorBox error={error} onRetry={step === 'card' ? placeCard : undefined} />
        </div>
      )}

      {step === 'pin' && (
        <div class="panel">
          <h3>{t({ ja: '4. 患者さんに暗証番号を入力してもらってください', en: '4. Ask the patient to enter the PIN' })}</h3>
          <ErrorBox error={error} />
          <PinPad triesLeft={tries} onSubmit={(pin, c) => void send(pin, c)} onCancel={() => setStep('identity')} />
          {tries !== null && tries <= 0 && props.allowVisual && (
            <button
              class="btn"
              onClick={() => {
                setMode('visual');
                setStep('visual');
                setError(null);
              }}
            >
              {t({ ja: '目視確認で続ける', en: 'Continue with a visual check' })}
            </button>
          )}
        </div>
      )}

      {step === 'visual' && (
        <div class="panel">
          <h3>{t({ ja: '4. 目視確認', en: '4. Visual check' })}</h3>
          <ErrorBox error={error} />
          {!face && !faceLocked && (
            <div class="codeb" data-testid="codeb">
              <label for="codeb-input">
                {t({
                  ja: 'カード表面の照合番号B(14桁)を入力すると、ICチップの顔写真を表示します',
                  en: 'Enter verification code B (14 digits) from the card front to show the chip photo',
                })}
              </label>
              <p class="hint">
                {t({
                  ja: '生年月日(和暦 YYMMDD 6桁)+ 有効期限の西暦(4桁)+ セキュリティコード(4桁)',
                  en: 'Birth date (Japanese era YYMMDD, 6) + expiry year (4) + security code (4)',
                })}
              </p>
              <div class="row">
                <input
                  id="codeb-input"
                  class="big"
                  inputMode="numeric"
                  autocomplete="off"
                  maxLength={14}
                  value={codeB}
                  onInput={(e) => setCodeB((e.target as HTMLInputElement).value.replace(/\D/g, '').slice(0, 14))}
                  data-testid="codeb-input"
                />
                <button
                  class="btn primary"
                  disabled={codeB.length !== 14 || faceBusy}
                  onClick={() => void showFace()}
                  data-testid="codeb-show"
                >
                  {t({ ja: '顔写真を表示', en: 'Show photo' })}
                </button>
              </div>
            </div>
          )}
          <div class="visual-row">
            {face && (
              <figure class="face" data-testid="face-photo">
                <img src={face.pngDataUrl} width={face.width * 2} height={face.height * 2} alt={t({ ja: 'カードの顔写真', en: 'Card photo' })} />
                <figcaption>
                  <span class={`badge ${authenticityTone(face.authenticity)}`} data-testid="face-authenticity" data-authenticity={face.authenticity}>
                    {t(authenticityLabel[face.authenticity])}
                  </span>{' '}
                  {t({ ja: 'ICチップの顔写真(保存されません)', en: 'Chip photo (not saved)' })}
                </figcaption>
              </figure>
            )}
            <div class="visual-side">
              {face && !face.visualAllowed && (
                <div class="error" role="alert" data-testid="visual-refused">
                  {face.authenticity === 'signatureInvalid'
                    ? t({
                        ja: '券面データの署名が一致しません。偽造カードの可能性があるため、目視確認では続けられません。暗証番号で確認してください。',
                        en: 'The face data signature does not match: the card may be forged, so the visual check cannot continue. Use the PIN.',
                      })
                    : t({
                        ja: '顔写真を検証できないため、このクリニックでは目視確認を使えません。暗証番号で確認してください。',
                        en: 'The photo cannot be verified, and this clinic does not allow the visual check without it. Use the PIN.',
                      })}
                </div>
              )}
              {((face && face.visualAllowed && face.authenticity !== 'verified') || faceLocked) && (
                <p class="warning" data-testid="visual-unverified-note">
                  {t({
                    ja: '検証済みの顔写真ではありません。クリニックの方針により目視確認を続けられますが、その旨が記録されます。',
                    en: 'This is not a verified chip photo. The clinic policy lets the visual check continue, and the record says so.',
                  })}
                </p>
              )}
              {((face && face.visualAllowed) || faceLocked) && (
                <label class="check big">
                  <input
                    type="checkbox"
                    checked={attested}
                    onChange={(e) => setAttested((e.target as HTMLInputElement).checked)}
                    data-testid="visual-attest"
                  />
                  {face
                    ? t({
                        ja: '表示した顔写真と患者さんご本人を見比べて確認しました',
                        en: 'I compared the photo shown with the patient',
                      })
                    : t({
                        ja: 'カード表面の顔写真と患者さんご本人を見比べて確認しました',
                        en: 'I compared the photo printed on the card with the patient',
                      })}
                </label>
              )}
              <div class="row end">
                <button class="btn primary" disabled={!attested} onClick={() => void send(null, false)} data-testid="visual-send">
                  {t({ ja: '確認して送信', en: 'Confirm and send' })}
                </button>
              </div>
            </div>
          </div>
        </div>
      )}

      {step === 'result' && result && (
        <div class="panel" data-testid="result" data-outcome={result.outcome}>
          <h3 class={resultTone(result.outcome)}>{t(result)}</h3>
          {result.noticeJa && <p class="warning">{result.noticeJa}</p>}
          {result.qualification && (
            <dl class="grid2">
              <dt>{t({ ja: '保険者番号', en: 'Insurer' })}</dt>
              <dd>{result.qualification.insurerNumber}</dd>
              <dt>{t({ ja: '記号・番号・枝番', en: 'Symbol/number/branch' })}</dt>
              <dd>
                {result.qualification.symbol} {result.qualification.number} {result.qualification.branch}
              </dd>
              <dt>{t({ ja: '負担割合', en: 'Co-payment' })}</dt>
              <dd>{result.qualification.copayPercent != null ? `${result.qualification.copayPercent / 10}割` : '—'}</dd>
            </dl>
          )}
          <CheckBadge check={result.check} />
          <div class="row end">
            <button class="btn primary" onClick={props.onDone} data-testid="result-done">
              {t({ ja: '閉じる', en: 'Close' })}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
