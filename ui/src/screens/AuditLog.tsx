// 監査ログ (back office): the clinic-wide access history this device holds (its own entries and
// every other device's it received by sync), newest first, filtered by staff (the side list),
// patient (a search over the patient list) and dates. The lists scroll, never the page.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api, AuditFilter, AuditLogView, PatientRow, UiError } from '../ipc/api';
import { auditKindLabel, label, useT } from '../i18n';
import { Busy, ErrorBox, fmtTime } from '../components/common';
import { shortId } from './Devices';

/** The newest entries shown at most (the filters narrow it down). */
export const AUDIT_LIMIT = 500;
const NO_FILTER: AuditFilter = { patientId: null, staffId: null, from: null, to: null };
/** Patients offered while typing in the search box. */
const MATCHES = 8;

type Person = { id: string; name: string };

export function AuditLog({ api }: { api: Api }) {
  const t = useT();
  const [filter, setFilter] = useState<AuditFilter>(NO_FILTER);
  const [log, setLog] = useState<AuditLogView | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [staff, setStaff] = useState<Person[]>([]);
  const [patients, setPatients] = useState<PatientRow[]>([]);
  const [q, setQ] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const saveCsv = async () => {
    setSaved(null);
    try {
      setSaved(await api.saveAuditCsv(filter));
    } catch (e) {
      setError(e as UiError);
    }
  };
  // The latest request wins (quick taps on the filters).
  const asked = useRef(0);
  const load = (f: AuditFilter) => {
    const n = ++asked.current;
    return api
      .clinicAudit(f, AUDIT_LIMIT)
      .then((l) => {
        if (n !== asked.current) return;
        setLog(l);
        setError(null);
      })
      .catch((e: UiError) => n === asked.current && setError(e));
  };
  useEffect(() => {
    // The whole staff list is an administrator's; others choose among the visiting staff.
    api
      .staffList()
      .then((s) => s.map((x) => ({ id: x.id, name: x.name })))
      .catch(() => api.roster().then((r) => r.staff.map((x) => ({ id: x.id, name: x.name }))))
      .then(setStaff)
      .catch(() => undefined);
    api
      .patientList()
      .then((p) => setPatients([...p].sort((a, b) => a.kana.localeCompare(b.kana, 'ja'))))
      .catch(() => undefined);
  }, []);
  useEffect(() => {
    void load(filter);
  }, [filter]);

  const set = (patch: Partial<AuditFilter>) => setFilter({ ...filter, ...patch });
  const patient = filter.patientId ? patients.find((p) => p.id === filter.patientId) : undefined;
  const matches = q.trim() ? patients.filter((p) => p.name.includes(q.trim()) || p.kana.includes(q.trim())).slice(0, MATCHES) : [];
  const filtered = filter.patientId || filter.staffId || filter.from || filter.to;
  return (
    <div class="split" data-testid="audit">
      <nav class="pane side-pane" aria-label={t({ ja: '職員で絞り込む', en: 'Filter by staff' })}>
        <ul class="pane-body pick-list" data-testid="audit-staff-list">
          <li>
            <button class={filter.staffId === null ? 'pick-main on' : 'pick-main'} onClick={() => set({ staffId: null })} data-testid="audit-staff-all">
              <strong>{t({ ja: '全職員', en: 'All staff' })}</strong>
            </button>
          </li>
          <li class="pick-head">{t({ ja: '職員', en: 'Staff' })}</li>
          {staff.map((s) => (
            <li key={s.id}>
              <button class={filter.staffId === s.id ? 'pick-main on' : 'pick-main'} onClick={() => set({ staffId: s.id })} data-testid="audit-staff" data-staff-id={s.id}>
                <strong>{s.name}</strong>
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <div class="pane month-pane">
        <div class="pane-head audit-head">
          {log && (
            <p class={log.chainOk ? 'good chain' : 'bad chain'} data-testid="audit-chain">
              {log.chainOk
                ? t({ ja: '監査ログの連鎖は正常です(改ざんなし)。', en: 'Audit chain verified (no tampering).' })
                : t({ ja: '監査ログの連鎖が壊れています。管理者に連絡してください。', en: 'Audit chain broken. Contact your administrator.' })}
            </p>
          )}
          <div class="row tight audit-filters">
            <div class="patient-filter">
              {filter.patientId ? (
                <span class="tag picked-patient" data-testid="audit-patient">
                  {t({ ja: '患者: ', en: 'Patient: ' })}
                  {patient?.name ?? filter.patientId}
                  <button class="btn small" onClick={() => set({ patientId: null })} aria-label={t({ ja: '患者の絞り込みをやめる', en: 'Clear the patient' })} data-testid="audit-patient-clear">
                    ×
                  </button>
                </span>
              ) : (
                <>
                  <input
                    class="search"
                    placeholder={t({ ja: '患者(氏名・カナ)', en: 'Patient (name, kana)' })}
                    aria-label={t({ ja: '患者で絞り込む', en: 'Filter by patient' })}
                    value={q}
                    onInput={(e) => setQ((e.target as HTMLInputElement).value)}
                    data-testid="audit-patient-search"
                  />
                  {matches.length > 0 && (
                    <ul class="match-list" data-testid="audit-patient-matches">
                      {matches.map((p) => (
                        <li key={p.id}>
                          <button
                            class="pick-main"
                            onClick={() => {
                              set({ patientId: p.id });
                              setQ('');
                            }}
                            data-testid="audit-patient-option"
                            data-patient-id={p.id}
                          >
                            <strong>{p.name}</strong>
                            <small>{p.kana}</small>
                          </button>
                        </li>
                      ))}
                    </ul>
                  )}
                </>
              )}
            </div>
            <label class="period">
              <span class="flabel">{t({ ja: '期間', en: 'Dates' })}</span>
              <input class="inp" type="date" value={filter.from ?? ''} placeholder="YYYY-MM-DD" aria-label={t({ ja: '開始日', en: 'From' })}
                onInput={(e) => set({ from: (e.target as HTMLInputElement).value || null })} data-testid="audit-from" />
              <span>〜</span>
              <input class="inp" type="date" value={filter.to ?? ''} placeholder="YYYY-MM-DD" aria-label={t({ ja: '終了日', en: 'To' })}
                onInput={(e) => set({ to: (e.target as HTMLInputElement).value || null })} data-testid="audit-to" />
            </label>
            {filtered && (
              <button
                class="btn small"
                onClick={() => {
                  setFilter(NO_FILTER);
                  setQ('');
                }}
                data-testid="audit-clear"
              >
                {t({ ja: '条件をクリア', en: 'Clear filters' })}
              </button>
            )}
            <button class="btn small" onClick={() => void saveCsv()} data-testid="audit-csv">
              {t({ ja: 'CSVで保存', en: 'Save as CSV' })}
            </button>
          </div>
          {saved && (
            <p class="hint warn" data-testid="audit-csv-saved">
              {t({
                ja: `保存しました: ${saved}(このファイルは暗号化されていません。使い終わったら削除してください)`,
                en: `Saved: ${saved} (this file is not encrypted; delete it when done)`,
              })}
            </p>
          )}
          <ErrorBox error={error} onRetry={() => void load(filter)} />
        </div>
        <div class="pane-body" data-testid="audit-body">
          {!log ? (
            !error && <Busy />
          ) : log.rows.length === 0 ? (
            <p class="hint">{t({ ja: '条件に合う記録はありません。', en: 'No entries match.' })}</p>
          ) : (
            <>
              {log.rows.length >= AUDIT_LIMIT && (
                <p class="hint">
                  {t({
                    ja: `新しい順に${AUDIT_LIMIT}件まで表示しています。職員・患者・期間で絞り込んでください。`,
                    en: `The newest ${AUDIT_LIMIT} entries are shown. Narrow down by staff, patient or dates.`,
                  })}
                </p>
              )}
              <table class="table compact audit-table">
                <thead>
                  <tr>
                    <th>{t({ ja: '日時', en: 'When' })}</th>
                    <th>{t({ ja: '職員', en: 'Staff' })}</th>
                    <th>{t({ ja: '患者', en: 'Patient' })}</th>
                    <th>{t({ ja: '操作', en: 'Action' })}</th>
                    <th>{t({ ja: '対象', en: 'Target' })}</th>
                    <th>{t({ ja: '端末', en: 'Device' })}</th>
                  </tr>
                </thead>
                <tbody>
                  {log.rows.map((r) => (
                    <tr key={`${r.device}-${r.seq}`} data-testid="audit-row" data-action={r.action} data-device={r.device}>
                      <td class="nowrap">{fmtTime(r.at)}</td>
                      <td>{r.staffName || t({ ja: '管理用端末', en: 'Admin device' })}</td>
                      <td>{r.patientName ?? ''}</td>
                      <td>
                        <span class="tag">{t(label(auditKindLabel, r.kind))}</span> {t({ ja: r.detailJa, en: r.detailEn })}
                      </td>
                      <td title={r.target}>{t({ ja: r.targetJa, en: r.targetEn })}</td>
                      <td class="mono" title={r.device}>
                        {shortId(r.device)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </div>
      </div>
    </div>
  );
}
