import { Fragment, type ComponentChildren } from 'preact';
import type { CheckState, RequestView, UiError } from '../ipc/api';
import { useT } from '../i18n';

/** A user-facing error: what happened and what to do next, in the chosen language. */
export function ErrorBox({ error, onRetry }: { error: UiError | null; onRetry?: () => void }) {
  const t = useT();
  if (!error) return null;
  return (
    <div class="error" role="alert" data-testid="error" data-code={error.code}>
      <p>
        {/* Multi-line messages (a CSV's bad rows, one per line) keep their line breaks. */}
        {(t(error) ?? '')
          .split('\n')
          .map((line, i) => (
            <Fragment key={i}>
              {i > 0 && <br />}
              {line}
            </Fragment>
          ))}
      </p>
      {onRetry && (
        <button class="btn" onClick={onRetry}>
          {t({ ja: 'もう一度', en: 'Try again' })}
        </button>
      )}
    </div>
  );
}

export function Busy({ children }: { children?: ComponentChildren }) {
  return (
    <div class="busy" role="status">
      {children ?? '…'}
    </div>
  );
}

/** The qualification/consent state of one patient for this visit. */
export function CheckBadge({ check }: { check: CheckState }) {
  const t = useT();
  let text: { ja: string; en: string };
  let cls = 'badge';
  switch (check.reason) {
    case 'ok':
      text = {
        ja: `再照会可・同意あと${check.daysLeft ?? '?'}日`,
        en: `Re-query OK · consent ${check.daysLeft ?? '?'} days left`,
      };
      cls += (check.daysLeft ?? 99) <= 14 ? ' warn' : ' ok';
      break;
    case 'first_visit':
      text = { ja: '初回: カードで確認', en: 'First visit: card check' };
      cls += ' todo';
      break;
    case 'consent_expired':
      text = { ja: '同意期限切れ: カードで再確認', en: 'Consent expired: card check' };
      cls += ' bad';
      break;
    case 'consent_revoked':
      text = { ja: '同意取消: 再照会不可', en: 'Consent revoked' };
      cls += ' bad';
      break;
    case 'urgent_call':
      text = { ja: '往診: 毎回カードで確認', en: 'Call-out: card every time' };
      cls += ' todo';
      break;
    default:
      text = { ja: check.ja, en: check.en };
  }
  return (
    <span class={cls} data-testid="check-badge" data-reason={check.reason}>
      {t(text)}
    </span>
  );
}

/** An enrolled device's qualification request to the clinic's gateway: 照会中 until the
 * office's 資格確認端末 answers through sync, then the answer or the reason with the next step. */
export function RequestNote({ request }: { request: RequestView | null }) {
  const t = useT();
  if (!request) return null;
  const head =
    request.state === 'pending'
      ? { ja: '照会中', en: 'Waiting' }
      : request.state === 'failed'
        ? { ja: '照会できませんでした', en: 'Not confirmed' }
        : { ja: '回答', en: 'Answer' };
  const tone = request.state === 'pending' ? 'pending' : request.validity === 'valid' ? 'good' : 'bad';
  const code = request.validity ?? request.failure ?? 'pending';
  return (
    <p class={`request ${tone}`} data-testid="qualification-request" data-state={request.state} data-code={code} role="status">
      <strong>{t(head)}</strong> {t(request)}
    </p>
  );
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <span class="field-label">{label}</span>
      <span class="field-value">{children}</span>
    </div>
  );
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '';
  return iso.replace('T', ' ').slice(0, 16);
}
