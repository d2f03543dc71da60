import { useEffect, useState } from 'preact/hooks';
import type { Api, ChartView, QualificationResult, UiError, VisitKind } from '../ipc/api';
import { kindLabel, label, noteStatusLabel, resultTone, useT, validityLabel } from '../i18n';
import { Busy, CheckBadge, ErrorBox, fmtTime, RequestNote } from '../components/common';

function age(birth: string | null, today: string): string {
  if (!birth) return '';
  const [by, bm, bd] = birth.split('-').map(Number);
  const [ty, tm, td] = today.split('-').map(Number);
  if (!by || !ty) return '';
  let a = ty - by;
  if ((tm ?? 0) < (bm ?? 0) || ((tm ?? 0) === (bm ?? 0) && (td ?? 0) < (bd ?? 0))) a -= 1;
  return `${a}`;
}

/** Patient chart: insurance, 負担割合, consent countdown, qualification history, visits with notes. */
export function Chart(props: {
  api: Api;
  patientId: string;
  visitId?: string;
  kind?: VisitKind;
  today: string;
  onCard?: () => void;
  /** The last sync: reload, a gateway's answer may have arrived. */
  syncedAt?: string | null;
}) {
  const t = useT();
  const [chart, setChart] = useState<ChartView | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [rq, setRq] = useState<QualificationResult | null>(null);
  const [rqError, setRqError] = useState<UiError | null>(null);
  const load = () =>
    props.api
      .patientChart(props.patientId, props.kind)
      .then(setChart)
      .catch((e: UiError) => setError(e));
  useEffect(() => {
    void load();
  }, [props.patientId, props.syncedAt]);
  if (error) return <ErrorBox error={error} onRetry={() => void load()} />;
  if (!chart) return <Busy />;
  const ins = chart.insurance;
  const c = chart.check;
  const requery = async () => {
    if (!props.visitId) return;
    setRqError(null);
    try {
      setRq(await props.api.requery(chart.patientId, props.visitId));
      void load();
    } catch (e) {
      setRqError(e as UiError);
    }
  };
  return (
    <section class="chart" data-testid="chart">
      <h2>
        {chart.name} <small>{chart.kana}</small>
      </h2>
      <p class="sub">
        {chart.birthDate} ({age(chart.birthDate, props.today)}
        {t({ ja: '歳', en: ' y' })}) {chart.sex === '1' ? t({ ja: '男', en: 'M' }) : chart.sex === '2' ? t({ ja: '女', en: 'F' }) : ''}
        {' · '}
        {chart.address}
      </p>
      <div class="cards">
        <div class="card-panel">
          <h3>{t({ ja: '保険', en: 'Insurance' })}</h3>
          {ins ? (
            <dl class="grid2">
              <dt>{t({ ja: '保険者番号', en: 'Insurer' })}</dt>
              <dd>{ins.insurerNumber}</dd>
              <dt>{t({ ja: '記号・番号・枝番', en: 'Symbol/number/branch' })}</dt>
              <dd>
                {ins.symbol} {ins.number} {ins.branch}
              </dd>
              <dt>{t({ ja: '負担割合', en: 'Co-payment' })}</dt>
              <dd class="big" data-testid="copay">
                {ins.copayPercent != null ? t({ ja: `${ins.copayPercent / 10}割`, en: `${ins.copayPercent}%` }) : '—'}
              </dd>
              <dt>{t({ ja: '資格', en: 'Qualification' })}</dt>
              <dd>
                {t(label(validityLabel, ins.validity))} <small>{fmtTime(ins.checkedAt)}</small>
              </dd>
            </dl>
          ) : (
            <p>{t({ ja: 'まだ資格確認をしていません。', en: 'Not checked yet.' })}</p>
          )}
        </div>
        <div class="card-panel" data-testid="consent-panel">
          <h3>{t({ ja: '同意', en: 'Consent' })}</h3>
          <CheckBadge check={c} />
          <RequestNote request={c.request} />
          {c.validThrough && (
            <div class="countdown" data-testid="consent-countdown">
              <span class="days">{c.daysLeft}</span>
              {t({ ja: `日 (${c.validThrough} まで)`, en: ` days (to ${c.validThrough})` })}
            </div>
          )}
          <p>{t(c)}</p>
          {props.visitId && (
            <div class="row">
              <button class="btn primary" disabled={c.path !== 'requery' || c.request?.state === 'pending'} onClick={() => void requery()} data-testid="chart-requery">
                {t({ ja: '再照会', en: 'Re-query' })}
              </button>
              {c.path !== 'requery' && props.onCard && (
                <button class="btn primary" onClick={props.onCard}>
                  {t({ ja: 'カードで確認', en: 'Check with card' })}
                </button>
              )}
            </div>
          )}
          {rq && <p class={resultTone(rq.outcome)}>{t(rq)}</p>}
          <ErrorBox error={rqError} />
        </div>
      </div>
      <h3>{t({ ja: '資格確認の履歴', en: 'Qualification history' })}</h3>
      <table class="table">
        <thead>
          <tr>
            <th>{t({ ja: '日時', en: 'When' })}</th>
            <th>{t({ ja: '結果', en: 'Result' })}</th>
            <th>{t({ ja: '保険者番号', en: 'Insurer' })}</th>
            <th>{t({ ja: '負担割合', en: 'Co-pay' })}</th>
          </tr>
        </thead>
        <tbody>
          {chart.qualifications.map((q) => (
            <tr key={q.id}>
              <td>{fmtTime(q.checkedAt)}</td>
              <td>{t(label(validityLabel, q.validity))}</td>
              <td>{q.insurerNumber}</td>
              <td>{q.copayPercent != null ? `${q.copayPercent}%` : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>{t({ ja: '訪問と記録', en: 'Visits and notes' })}</h3>
      {chart.clinicalHidden && (
        <p class="hint" data-testid="clinical-hidden">
          {t({
            ja: 'この役割では診療記録とバイタルは表示されません(医療機関の設定)。必要なときは医師・看護師に確認してください。',
            en: 'Clinical notes and vitals are not shown to your role (clinic policy). Ask a doctor or nurse when needed.',
          })}
        </p>
      )}
      <ol class="timeline" data-testid="timeline">
        {chart.visits.map((v) => (
          <li key={v.id}>
            <div class="tl-head">
              <strong>{fmtTime(v.arrival)}</strong> {t(label(kindLabel, v.kind))} · {v.staff}
              {v.vitals.systolic != null && (
                <span class="vitals-sum">
                  BP {v.vitals.systolic}/{v.vitals.diastolic} · P {v.vitals.pulse} · SpO2 {v.vitals.spo2} · T {v.vitals.temperature}
                </span>
              )}
            </div>
            {v.notes.map((n) => (
              <details class="note" key={n.id} data-testid="timeline-note">
                <summary>
                  v{n.version} · {t(label(noteStatusLabel, n.status))} ·{' '}
                  {n.author} · {fmtTime(n.createdAt)}
                  {n.replaces && <em> {t({ ja: '訂正', en: 'correction' })}: {n.correctionReason}</em>}
                  {!n.intact && <strong class="bad"> {t({ ja: '改ざんの疑い', en: 'altered!' })}</strong>}
                </summary>
                <p><b>S</b> {n.soap.s}</p>
                <p><b>O</b> {n.soap.o}</p>
                <p><b>A</b> {n.soap.a}</p>
                <p><b>P</b> {n.soap.p}</p>
              </details>
            ))}
          </li>
        ))}
      </ol>
    </section>
  );
}
