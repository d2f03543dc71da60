// 訪問計画 (back office): a month of visits for the whole clinic, one staff member or one
// patient, grouped by day; planning one visit or a recurring pattern until a date; and, per
// visit, 変更 (date, time, kind), 担当変更 and 中止 (with its reason). The lists scroll; the
// form's 予定を作成 stays in view (1280×800, large text).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api, PatientRow, PlanInput, PlanMonth, PlanRow, Recurrence, StaffView, UiError, VisitKind } from '../ipc/api';
import { kindLabel, label, roleLabel, statusLabel, useT, weekdayLabel, type Text } from '../i18n';
import { Busy, ErrorBox } from '../components/common';
import { localError, localToday } from './Patients';

const KINDS: VisitKind[] = ['homeMedical', 'urgentCall', 'homeNursing'];
const WEEKDAYS = [0, 1, 2, 3, 4, 5, 6];
const WEEKS = [1, 2, 3, 4, 5];

/** The plan's weekday of a date: 0 = 月 … 6 = 日. */
export function weekdayOf(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return (new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1)).getUTCDay() + 6) % 7;
}

/** YYYY-MM moved by `by` months. */
export function shiftMonth(month: string, by: number): string {
  const [y, m] = month.split('-').map(Number);
  const i = (y ?? 1970) * 12 + (m ?? 1) - 1 + by;
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
}

function monthText(month: string): Text {
  const [y, m] = month.split('-').map(Number);
  return { ja: `${y}年${m}月`, en: month };
}

function dayText(date: string): Text {
  const [, m, d] = date.split('-').map(Number);
  const w = weekdayLabel[weekdayOf(date)] ?? { ja: '', en: '' };
  return { ja: `${m}月${d}日(${w.ja})`, en: `${w.en} ${m}/${d}` };
}

type Scope = { kind: 'all' } | { kind: 'staff'; id: string } | { kind: 'patient'; id: string };

export function VisitPlan({ api }: { api: Api }) {
  const t = useT();
  const [staff, setStaff] = useState<StaffView[] | null>(null);
  const [patients, setPatients] = useState<PatientRow[] | null>(null);
  const [month, setMonth] = useState<string | null>(null);
  const [scope, setScope] = useState<Scope>({ kind: 'all' });
  const [plan, setPlan] = useState<PlanMonth | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [notice, setNotice] = useState<Text | null>(null);
  const [adding, setAdding] = useState(false);

  const loadPeople = () =>
    Promise.all([api.roster(), api.patientList()])
      .then(([r, p]) => {
        setStaff(r.staff.filter((s) => s.role === 'doctor' || s.role === 'nurse'));
        setPatients([...p].sort((a, b) => a.kana.localeCompare(b.kana, 'ja')));
      })
      .catch((e: UiError) => setError(e));
  // The latest request wins (quick ◀ ▶ taps); what was loaded is not asked for again.
  const asked = useRef(0);
  const loaded = useRef('');
  const scopeKey = (s: Scope) => (s.kind === 'all' ? 'all' : `${s.kind}:${s.id}`);
  const loadMonth = (m: string | null, s: Scope) => {
    const n = ++asked.current;
    return api
      .planMonth(m, s.kind === 'staff' ? s.id : null, s.kind === 'patient' ? s.id : null)
      .then((p) => {
        if (n !== asked.current) return;
        loaded.current = `${p.month}|${scopeKey(s)}`;
        setPlan(p);
        setMonth(p.month);
        setError(null);
      })
      .catch((e: UiError) => n === asked.current && setError(e));
  };
  useEffect(() => {
    void loadPeople();
  }, []);
  useEffect(() => {
    if (month && loaded.current === `${month}|${scopeKey(scope)}`) return;
    void loadMonth(month, scope);
  }, [month, scope]);

  if (!staff || !patients) return error ? <ErrorBox error={error} onRetry={() => void loadPeople()} /> : <Busy />;

  if (adding)
    return (
      <PlanForm
        api={api}
        staff={staff}
        patients={patients.filter((p) => !p.careEnded)}
        preset={scope}
        onCancel={() => setAdding(false)}
        onPlanned={(n, firstDate) => {
          setNotice({ ja: `${n}件の訪問を予定しました。`, en: `${n} visits planned.` });
          setAdding(false);
          const m = firstDate.slice(0, 7);
          if (m === month) void loadMonth(m, scope);
          else setMonth(m);
        }}
      />
    );

  const pick = (s: Scope) => {
    setScope(s);
    setNotice(null);
  };
  const on = (s: Scope) => scopeKey(s) === scopeKey(scope);
  // The rows shown are the month and people asked for (never the last month's under a new title).
  const current = !!plan && plan.month === month && scopeKey(scope) === scopeKey(plan.staffId ? { kind: 'staff', id: plan.staffId } : plan.patientId ? { kind: 'patient', id: plan.patientId } : { kind: 'all' });
  const byDay = new Map<string, PlanRow[]>();
  for (const v of [...(plan?.visits ?? [])].sort((a, b) => (a.date + a.start).localeCompare(b.date + b.start))) {
    byDay.set(v.date, [...(byDay.get(v.date) ?? []), v]);
  }
  const scopeName =
    scope.kind === 'staff'
      ? staff.find((s) => s.id === scope.id)?.name
      : scope.kind === 'patient'
        ? patients.find((p) => p.id === scope.id)?.name
        : undefined;
  return (
    <div class="split" data-testid="visit-plan">
      <nav class="pane side-pane" aria-label={t({ ja: '表示する範囲', en: 'Show' })}>
        <ul class="pane-body pick-list" data-testid="plan-scope">
          <li>
            <button class={on({ kind: 'all' }) ? 'pick-main on' : 'pick-main'} onClick={() => pick({ kind: 'all' })} data-testid="scope-all">
              <strong>{t({ ja: '全体', en: 'Everyone' })}</strong>
            </button>
          </li>
          <li class="pick-head">{t({ ja: '職員', en: 'Staff' })}</li>
          {staff.map((s) => (
            <li key={s.id}>
              <button class={on({ kind: 'staff', id: s.id }) ? 'pick-main on' : 'pick-main'} onClick={() => pick({ kind: 'staff', id: s.id })} data-testid="scope-staff" data-staff-id={s.id} data-name={s.name}>
                <strong>{s.name}</strong>
                <small>{t(label(roleLabel, s.role))}</small>
              </button>
            </li>
          ))}
          <li class="pick-head">{t({ ja: '患者', en: 'Patients' })}</li>
          {patients.map((p) => (
            <li key={p.id}>
              <button class={on({ kind: 'patient', id: p.id }) ? 'pick-main on' : 'pick-main'} onClick={() => pick({ kind: 'patient', id: p.id })} data-testid="scope-patient" data-patient-id={p.id} data-name={p.name}>
                <strong>{p.name}</strong>
                <small>{p.kana}</small>
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <div class="pane month-pane">
        <div class="pane-head">
          <div class="row tight spread">
            <div class="row tight">
              <button class="btn" onClick={() => month && setMonth(shiftMonth(month, -1))} aria-label={t({ ja: '前の月', en: 'Previous month' })} data-testid="month-prev">
                <span class="arrow">◀</span>
              </button>
              <strong class="month-label" data-testid="month-label" data-month={month ?? ''}>
                {month ? t(monthText(month)) : '…'}
              </strong>
              <button class="btn" onClick={() => month && setMonth(shiftMonth(month, 1))} aria-label={t({ ja: '次の月', en: 'Next month' })} data-testid="month-next">
                <span class="arrow">▶</span>
              </button>
              <span class="tag" data-testid="scope-label">
                {scopeName ?? t({ ja: '全体', en: 'Everyone' })}
              </span>
            </div>
            <button class="btn primary" onClick={() => setAdding(true)} data-testid="plan-add">
              {t({ ja: '予定を追加', en: 'Add visits' })}
            </button>
          </div>
          {notice && (
            <p class="good notice" role="status" data-testid="plan-notice">
              {t(notice)}
            </p>
          )}
          <ErrorBox error={error} />
        </div>
        <div
          class="pane-body"
          data-testid="plan-month"
          data-month={current ? plan?.month : ''}
          data-staff={current ? (plan?.staffId ?? '') : ''}
          data-patient={current ? (plan?.patientId ?? '') : ''}
        >
          {!plan || !current ? (
            <Busy />
          ) : byDay.size === 0 ? (
            <p class="hint">{t({ ja: 'この月の予定はありません。', en: 'No visits this month.' })}</p>
          ) : (
            [...byDay.entries()].map(([date, visits]) => (
              <section class="plan-day" key={date} data-testid="plan-day" data-date={date}>
                <h4>{t(dayText(date))}</h4>
                <ul class="plan-rows">
                  {visits.map((v) => (
                    <PlanVisit key={v.id} api={api} visit={v} staff={staff} onChanged={() => void loadMonth(month, scope)} />
                  ))}
                </ul>
              </section>
            ))
          )}
        </div>
      </div>
    </div>
  );
}

type RowAction = 'edit' | 'staff' | 'cancel' | null;

/** One visit of the month, with 変更 / 担当変更 / 中止 opened under it. */
function PlanVisit({ api, visit: v, staff, onChanged }: { api: Api; visit: PlanRow; staff: StaffView[]; onChanged: () => void }) {
  const t = useT();
  const [open, setOpen] = useState<RowAction>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [date, setDate] = useState(v.date);
  const [start, setStart] = useState(v.start);
  const [end, setEnd] = useState(v.end);
  const [kind, setKind] = useState<VisitKind>(v.kind);
  const [who, setWho] = useState<string[]>(v.staff.map((s) => s.id));
  const [reason, setReason] = useState('');
  const cancelled = v.status === 'cancelled';
  const act = async (f: () => Promise<unknown>) => {
    try {
      await f();
      setError(null);
      setOpen(null);
      onChanged();
    } catch (e) {
      setError(e as UiError);
    }
  };
  const toggle = (a: RowAction) => {
    setOpen(open === a ? null : a);
    setError(null);
  };
  const cancel = () => {
    if (!reason.trim()) {
      setError(localError('中止の理由を入力してください。', 'Enter why the visit is cancelled.'));
      return;
    }
    void act(() => api.cancelVisit(v.id, reason.trim()));
  };
  return (
    <li class={cancelled ? 'plan-row cancelled' : 'plan-row'} data-testid="plan-row" data-visit-id={v.id} data-patient={v.patientName} data-status={v.status}>
      <div class="plan-line">
        <span class="plan-time">
          {v.start}–{v.end}
        </span>
        <span class="plan-who">
          <strong>{v.patientName}</strong>
          <small data-testid="plan-staff">{v.staff.map((s) => s.name).join('・')}</small>
        </span>
        <span class={`tag kind-${v.kind}`}>{t(label(kindLabel, v.kind))}</span>
        <span class={cancelled ? 'badge bad' : v.status === 'done' ? 'badge ok' : 'badge'} data-testid="plan-status">
          {t(label(statusLabel, v.status))}
        </span>
        {v.status === 'planned' && (
          <span class="plan-actions">
            <button class={open === 'edit' ? 'btn small on' : 'btn small'} onClick={() => toggle('edit')} data-testid="visit-edit">
              {t({ ja: '変更', en: 'Change' })}
            </button>
            <button class={open === 'staff' ? 'btn small on' : 'btn small'} onClick={() => toggle('staff')} data-testid="visit-reassign">
              {t({ ja: '担当変更', en: 'Reassign' })}
            </button>
            <button class={open === 'cancel' ? 'btn small on' : 'btn small'} onClick={() => toggle('cancel')} data-testid="visit-cancel">
              {t({ ja: '中止', en: 'Cancel' })}
            </button>
          </span>
        )}
      </div>
      {open === 'edit' && (
        <div class="row-editor" data-testid="visit-edit-form">
          <div class="row tight">
            <input class="inp" type="date" value={date} placeholder="YYYY-MM-DD" onInput={(e) => setDate((e.target as HTMLInputElement).value)} data-testid="edit-date" />
            <input class="inp time" type="time" value={start} placeholder="HH:MM" onInput={(e) => setStart((e.target as HTMLInputElement).value)} data-testid="edit-start" />
            <span>〜</span>
            <input class="inp time" type="time" value={end} placeholder="HH:MM" onInput={(e) => setEnd((e.target as HTMLInputElement).value)} data-testid="edit-end" />
          </div>
          <div class="row tight">
            <KindPicker kind={kind} onPick={setKind} prefix="edit-kind" />
            <button class="btn primary" onClick={() => void act(() => api.editVisit({ id: v.id, date, start, end, kind }))} data-testid="edit-save">
              {t({ ja: '変更を保存', en: 'Save' })}
            </button>
          </div>
        </div>
      )}
      {open === 'staff' && (
        <div class="row-editor" data-testid="visit-reassign-form">
          <div class="row tight">
            <StaffChecks staff={staff} chosen={who} onChange={setWho} prefix="reassign-staff" />
            <button class="btn primary" disabled={who.length === 0} onClick={() => void act(() => api.reassignVisit(v.id, who))} data-testid="reassign-save">
              {t({ ja: '担当を変更', en: 'Reassign' })}
            </button>
          </div>
        </div>
      )}
      {open === 'cancel' && (
        <div class="row-editor" data-testid="visit-cancel-form">
          <div class="row tight">
            <input
              class="inp grow"
              value={reason}
              placeholder={t({ ja: '中止の理由(必須)', en: 'Reason (required)' })}
              onInput={(e) => setReason((e.target as HTMLInputElement).value)}
              data-testid="cancel-reason"
            />
            <button class="btn primary danger" onClick={cancel} data-testid="cancel-confirm">
              {t({ ja: '中止する', en: 'Cancel visit' })}
            </button>
          </div>
        </div>
      )}
      {open && <ErrorBox error={error} />}
    </li>
  );
}

function KindPicker({ kind, onPick, prefix }: { kind: VisitKind; onPick: (k: VisitKind) => void; prefix: string }) {
  const t = useT();
  return (
    <div class="seg" role="radiogroup">
      {KINDS.map((k) => (
        <button key={k} class={kind === k ? 'btn on' : 'btn'} role="radio" aria-checked={kind === k} onClick={() => onPick(k)} data-testid={`${prefix}-${k}`}>
          {t(label(kindLabel, k))}
        </button>
      ))}
    </div>
  );
}

function StaffChecks({ staff, chosen, onChange, prefix }: { staff: StaffView[]; chosen: string[]; onChange: (ids: string[]) => void; prefix: string }) {
  const t = useT();
  return (
    <div class="checks">
      {staff.map((s) => (
        <label class="check" key={s.id}>
          <input
            type="checkbox"
            checked={chosen.includes(s.id)}
            onChange={(e) => onChange((e.target as HTMLInputElement).checked ? [...chosen, s.id] : chosen.filter((x) => x !== s.id))}
            data-testid={prefix}
            data-staff-id={s.id}
            data-name={s.name}
          />
          {s.name} <small class="hint">{t(label(roleLabel, s.role))}</small>
        </label>
      ))}
    </div>
  );
}

type Repeat = 'none' | 'weekly' | 'biweekly' | 'monthly';
const REPEATS: { id: Repeat; text: Text }[] = [
  { id: 'none', text: { ja: 'なし', en: 'Once' } },
  { id: 'weekly', text: { ja: '毎週', en: 'Weekly' } },
  { id: 'biweekly', text: { ja: '隔週', en: 'Every 2 weeks' } },
  { id: 'monthly', text: { ja: '月2回など', en: 'Monthly (nth weekday)' } },
];

/** What the form sends: the recurrence, built from the choices on screen. */
export function buildRepeat(repeat: Repeat, days: number[], nth: [number, number][]): Recurrence | null {
  const sorted = [...days].sort((a, b) => a - b);
  switch (repeat) {
    case 'none':
      return null;
    case 'weekly':
      return { kind: 'weekly', days: sorted };
    case 'biweekly':
      return { kind: 'biweekly', days: sorted };
    case 'monthly':
      return { kind: 'monthly', nth };
  }
}

/** 予定を追加: one visit, or a recurring pattern until a date. Nothing typed is lost on an error. */
function PlanForm({
  api,
  staff,
  patients,
  preset,
  onCancel,
  onPlanned,
}: {
  api: Api;
  staff: StaffView[];
  patients: PatientRow[];
  preset: Scope;
  onCancel: () => void;
  onPlanned: (n: number, firstDate: string) => void;
}) {
  const t = useT();
  const [patient, setPatient] = useState<string | null>(preset.kind === 'patient' && patients.some((p) => p.id === preset.id) ? preset.id : null);
  const [q, setQ] = useState('');
  const [who, setWho] = useState<string[]>(preset.kind === 'staff' ? [preset.id] : []);
  const [date, setDate] = useState(localToday());
  const [start, setStart] = useState('10:00');
  const [end, setEnd] = useState('10:30');
  const [kind, setKind] = useState<VisitKind>('homeMedical');
  const [repeat, setRepeat] = useState<Repeat>('none');
  const [days, setDays] = useState<number[]>([]);
  const [nth, setNth] = useState<[number, number][]>([
    [1, 0],
    [3, 0],
  ]);
  const [until, setUntil] = useState('');
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);
  const shown = patients.filter((p) => !q || p.name.includes(q) || p.kana.includes(q));
  const submit = async () => {
    if (!patient) return setError(localError('患者を選んでください。', 'Choose the patient.'));
    if (who.length === 0) return setError(localError('担当者を1人以上選んでください。', 'Choose at least one staff member.'));
    if ((repeat === 'weekly' || repeat === 'biweekly') && days.length === 0)
      return setError(localError('繰り返す曜日を選んでください。', 'Choose the weekdays.'));
    if (repeat !== 'none' && !until) return setError(localError('繰り返しの終了日を入力してください。', 'Enter the last date of the pattern.'));
    const input: PlanInput = {
      patient,
      staff: who,
      date,
      start,
      end,
      kind,
      repeat: buildRepeat(repeat, days, nth),
      until: repeat === 'none' ? null : until,
    };
    setBusy(true);
    try {
      const r = await api.planVisits(input);
      setError(null);
      onPlanned(r.visits.length, date);
    } catch (e) {
      setError(e as UiError);
    } finally {
      setBusy(false);
    }
  };
  const setRow = (i: number, row: [number, number]) => setNth(nth.map((r, j) => (j === i ? row : r)));
  return (
    <div class="pane form-pane" data-testid="plan-form">
      <div class="pane-head">
        <h3>{t({ ja: '予定を追加', en: 'Add visits' })}</h3>
      </div>
      <div class="pane-body plan-form-body">
        <div class="plan-form-patients">
          <span class="flabel">{t({ ja: '患者(在宅中)', en: 'Patient (in care)' })}</span>
          <input class="search" placeholder={t({ ja: '氏名・カナで検索', en: 'Search name or kana' })} value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} data-testid="plan-patient-search" />
          <ul class="pick-list inner" data-testid="plan-patients">
            {shown.map((p) => (
              <li key={p.id}>
                <button class={patient === p.id ? 'pick-main on' : 'pick-main'} onClick={() => setPatient(p.id)} aria-pressed={patient === p.id} data-testid="plan-patient" data-patient-id={p.id} data-name={p.name}>
                  <strong>{p.name}</strong>
                  <small>{p.kana}</small>
                </button>
              </li>
            ))}
          </ul>
        </div>
        <div class="plan-form-fields">
          <div class="ffield">
            <span class="flabel">{t({ ja: '担当(医師・看護師)', en: 'Staff (doctors, nurses)' })}</span>
            <StaffChecks staff={staff} chosen={who} onChange={setWho} prefix="plan-staff" />
          </div>
          <div class="row tight fields">
            <label class="ffield">
              <span class="flabel">{t({ ja: repeat === 'none' ? '日付' : '開始日', en: repeat === 'none' ? 'Date' : 'First date' })}</span>
              <input class="inp" type="date" value={date} placeholder="YYYY-MM-DD" onInput={(e) => setDate((e.target as HTMLInputElement).value)} data-testid="plan-date" />
            </label>
            <label class="ffield">
              <span class="flabel">{t({ ja: '開始', en: 'From' })}</span>
              <input class="inp time" type="time" value={start} placeholder="HH:MM" onInput={(e) => setStart((e.target as HTMLInputElement).value)} data-testid="plan-start" />
            </label>
            <label class="ffield">
              <span class="flabel">{t({ ja: '終了', en: 'To' })}</span>
              <input class="inp time" type="time" value={end} placeholder="HH:MM" onInput={(e) => setEnd((e.target as HTMLInputElement).value)} data-testid="plan-end" />
            </label>
            <div class="ffield">
              <span class="flabel">{t({ ja: '種類', en: 'Kind' })}</span>
              <KindPicker kind={kind} onPick={setKind} prefix="plan-kind" />
            </div>
          </div>
          <div class="row tight fields">
            <div class="ffield">
              <span class="flabel">{t({ ja: '繰り返し', en: 'Repeat' })}</span>
              <div class="seg" role="radiogroup">
                {REPEATS.map((r) => (
                  <button key={r.id} class={repeat === r.id ? 'btn on' : 'btn'} role="radio" aria-checked={repeat === r.id} onClick={() => setRepeat(r.id)} data-testid={`repeat-${r.id}`}>
                    {t(r.text)}
                  </button>
                ))}
              </div>
            </div>
            {repeat !== 'none' && (
              <label class="ffield">
                <span class="flabel">{t({ ja: '終了日(この日まで)', en: 'Until' })}</span>
                <input class="inp" type="date" value={until} placeholder="YYYY-MM-DD" onInput={(e) => setUntil((e.target as HTMLInputElement).value)} data-testid="plan-until" />
              </label>
            )}
          </div>
          {(repeat === 'weekly' || repeat === 'biweekly') && (
            <div class="checks days" data-testid="repeat-days">
              {WEEKDAYS.map((d) => (
                <label class="check" key={d}>
                  <input
                    type="checkbox"
                    checked={days.includes(d)}
                    onChange={(e) => setDays((e.target as HTMLInputElement).checked ? [...days, d] : days.filter((x) => x !== d))}
                    data-testid={`weekday-${d}`}
                  />
                  {t(weekdayLabel[d] ?? { ja: '', en: '' })}
                </label>
              ))}
            </div>
          )}
          {repeat === 'monthly' && (
            <div data-testid="repeat-nth">
              {nth.map(([week, day], i) => (
                <div class="row tight nth-row" key={i} data-testid="nth-row">
                  <span class="seg">
                    {WEEKS.map((w) => (
                      <button key={w} class={week === w ? 'btn small on' : 'btn small'} onClick={() => setRow(i, [w, day])} aria-pressed={week === w} data-testid={`nth-${i}-week-${w}`}>
                        {t({ ja: `第${w}`, en: `#${w}` })}
                      </button>
                    ))}
                  </span>
                  <span class="seg">
                    {WEEKDAYS.map((d) => (
                      <button key={d} class={day === d ? 'btn small on' : 'btn small'} onClick={() => setRow(i, [week, d])} aria-pressed={day === d} data-testid={`nth-${i}-day-${d}`}>
                        {t(weekdayLabel[d] ?? { ja: '', en: '' })}
                      </button>
                    ))}
                  </span>
                  {nth.length > 1 && (
                    <button class="btn small" onClick={() => setNth(nth.filter((_, j) => j !== i))} aria-label={t({ ja: 'この行を削除', en: 'Remove this row' })} data-testid={`nth-${i}-remove`}>
                      ✕
                    </button>
                  )}
                </div>
              ))}
              <button class="btn small" onClick={() => setNth([...nth, [2, 0]])} data-testid="nth-add">
                {t({ ja: '+ 行を追加', en: '+ Add a row' })}
              </button>
            </div>
          )}
        </div>
      </div>
      <div class="pane-foot">
        <ErrorBox error={error} />
        <div class="row tight">
          <button class="btn primary" disabled={busy} onClick={() => void submit()} data-testid="plan-save">
            {t({ ja: '予定を作成', en: 'Plan' })}
          </button>
          <button class="btn" onClick={onCancel} data-testid="plan-cancel">
            {t({ ja: 'やめる', en: 'Cancel' })}
          </button>
        </div>
      </div>
    </div>
  );
}
