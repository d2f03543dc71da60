import { useEffect, useState } from 'preact/hooks';
import type { Api, QualificationResult, UiError, VisitRow } from '../ipc/api';
import { kindLabel, label, resultTone, statusLabel, useT } from '../i18n';
import { Busy, CheckBadge, ErrorBox, RequestNote } from '../components/common';

/** `requested`: sent to the clinic's gateway, the answer comes with a later sync. */
type Requery = { visitId: string; result?: QualificationResult; error?: UiError } | null;

/** The reply to a 再照会 sent to the gateway stands in for the row's 照会中 note until the
 * answer arrives (`sent`); then the note shows the answer and the reply goes (`shown`). */
function replyState(requery: Requery, v: VisitRow): { shown: boolean; sent: boolean } {
  if (requery?.visitId !== v.visitId) return { shown: false, sent: false };
  const mine = requery.result?.outcome === 'requested' ? requery.result.check.request : null;
  const answered = mine != null && v.check.request?.id === mine.id && v.check.request.state !== 'pending';
  return { shown: !answered, sent: !answered && mine != null };
}

export type VisitAction = { kind: 'chart' | 'card' | 'note'; visit: VisitRow };

/** 今日の訪問: the signed-in staff member's visits, in order, with status and check state. */
export function Today({ api, onAction, syncedAt }: { api: Api; onAction: (a: VisitAction) => void; syncedAt?: string | null }) {
  const t = useT();
  const [rows, setRows] = useState<VisitRow[] | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [requery, setRequery] = useState<Requery>(null);
  const load = () =>
    api
      .todaysVisits()
      .then((r) => {
        setRows(r);
        setError(null);
      })
      .catch((e: UiError) => setError(e));
  // Reloaded after every sync: a gateway's answer may have arrived.
  useEffect(() => {
    void load();
  }, [syncedAt]);

  const doRequery = async (v: VisitRow) => {
    setRequery({ visitId: v.visitId });
    try {
      const result = await api.requery(v.patientId, v.visitId);
      setRequery({ visitId: v.visitId, result });
    } catch (e) {
      setRequery({ visitId: v.visitId, error: e as UiError });
    }
    void load();
  };

  if (error) return <ErrorBox error={error} onRetry={() => void load()} />;
  if (!rows) return <Busy />;
  return (
    <section data-testid="today">
      <h2>
        {t({ ja: '今日の訪問', en: "Today's visits" })} <small>{rows.length}</small>
      </h2>
      {rows.length === 0 && <p>{t({ ja: '今日の訪問予定はありません。', en: 'No visits today.' })}</p>}
      <ul class="visits">
        {rows.map((v) => (
          <li class="visit" key={v.visitId} data-testid="visit-row" data-patient={v.patientName} data-patient-id={v.patientId}>
            <div class="visit-time">
              {v.start}
              <small>– {v.end}</small>
            </div>
            <div class="visit-main">
              <div class="visit-name">
                {v.patientName} <small>{v.patientKana}</small>
              </div>
              <div class="visit-tags">
                <span class={`tag kind-${v.kind}`}>{t(label(kindLabel, v.kind))}</span>
                <span class={`tag status-${v.status}`}>{t(label(statusLabel, v.status))}</span>
                <CheckBadge check={v.check} />
              </div>
              {!replyState(requery, v).sent && <RequestNote request={v.check.request} />}
              {requery && replyState(requery, v).shown && (
                <div class="inline-result" data-testid="requery-result">
                  {!requery.result && !requery.error && <Busy>{t({ ja: '再照会中…', en: 'Re-querying…' })}</Busy>}
                  {requery.result && (
                    <p class={resultTone(requery.result.outcome)} data-outcome={requery.result.outcome}>
                      {t(requery.result)}
                      {requery.result.qualification?.copayPercent != null &&
                        ` ${t({ ja: '負担割合', en: 'co-pay' })} ${requery.result.qualification.copayPercent / 10}${t({ ja: '割', en: '0%' })}`}
                    </p>
                  )}
                  <ErrorBox error={requery.error ?? null} />
                </div>
              )}
            </div>
            <div class="visit-actions">
              <button class="btn" onClick={() => onAction({ kind: 'chart', visit: v })} data-testid="open-chart">
                {t({ ja: 'カルテ', en: 'Chart' })}
              </button>
              {v.check.path === 'requery' ? (
                <button
                  class="btn primary"
                  onClick={() => void doRequery(v)}
                  disabled={v.check.request?.state === 'pending' || replyState(requery, v).sent}
                  data-testid="requery"
                  title={t(v.check)}
                >
                  {t({ ja: '再照会', en: 'Re-query' })}
                </button>
              ) : (
                <button
                  class="btn primary"
                  onClick={() => onAction({ kind: 'card', visit: v })}
                  // A card check already waits for the office's answer: a second one would
                  // send the patient's consent twice.
                  disabled={v.check.request?.state === 'pending'}
                  data-testid="card-check"
                >
                  {v.check.reason === 'urgent_call'
                    ? t({ ja: 'カード確認', en: 'Card check' })
                    : t({ ja: '初回訪問', en: 'First visit' })}
                </button>
              )}
              <button class="btn" onClick={() => onAction({ kind: 'note', visit: v })} data-testid="open-note">
                {t({ ja: '記録', en: 'Note' })}
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
