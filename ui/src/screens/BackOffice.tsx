import { useEffect, useState } from 'preact/hooks';
import type { Api, PinSetupView, QueueRow, RosterView, StaffInput, StaffRole, StaffRow, UiError } from '../ipc/api';
import { kindLabel, label, roleLabel, useT } from '../i18n';
import { Busy, ErrorBox, fmtTime } from '../components/common';
import { Patients } from './Patients';
import { VisitPlan } from './VisitPlan';
import { AuditLog } from './AuditLog';
import { Devices } from './Devices';

type Tab = 'roster' | 'patients' | 'plan' | 'queue' | 'audit' | 'staff' | 'devices';

/** Roster planner: staff × day. Tap a visit, then tap a cell to assign it (or drag it there). */
function RosterPlanner({ api }: { api: Api }) {
  const t = useT();
  const [roster, setRoster] = useState<RosterView | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [picked, setPicked] = useState<string | null>(null);
  const load = () => api.roster().then(setRoster).catch((e: UiError) => setError(e));
  useEffect(() => {
    void load();
  }, []);
  if (error) return <ErrorBox error={error} onRetry={() => void load()} />;
  if (!roster) return <Busy />;
  const days = roster.days.slice(0, 31);
  const assign = async (visitId: string, staffId: string, date: string) => {
    try {
      await api.assignVisit(visitId, staffId, date);
      setPicked(null);
      await load();
    } catch (e) {
      setError(e as UiError);
    }
  };
  return (
    <div class="roster" data-testid="roster">
      <p class="hint">
        {t({
          ja: '訪問をタップして選び、移す先の職員・日付のマスをタップします(ドラッグでも移せます)。',
          en: 'Tap a visit, then tap the staff/day cell to move it (or drag it).',
        })}
      </p>
      <div class="roster-scroll">
        <table class="table roster-grid">
          <thead>
            <tr>
              <th>{t({ ja: '職員', en: 'Staff' })}</th>
              {days.map((d) => (
                <th key={d}>{d.slice(5)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {roster.staff.map((s) => (
              <tr key={s.id}>
                <th>{s.name}</th>
                {days.map((d) => {
                  const here = roster.visits.filter((v) => v.date === d && v.staff.includes(s.id));
                  return (
                    <td
                      key={d}
                      class={picked ? 'cell target' : 'cell'}
                      onClick={() => picked && void assign(picked, s.id, d)}
                      onDragOver={(e) => e.preventDefault()}
                      onDrop={(e) => {
                        const id = e.dataTransfer?.getData('text/plain');
                        if (id) void assign(id, s.id, d);
                      }}
                    >
                      {here.map((v) => (
                        <button
                          key={v.visitId}
                          draggable
                          class={picked === v.visitId ? `chip picked kind-${v.kind}` : `chip kind-${v.kind}`}
                          title={`${v.start} ${v.patientName} ${t(label(kindLabel, v.kind))}`}
                          onDragStart={(e) => e.dataTransfer?.setData('text/plain', v.visitId)}
                          onClick={(e) => {
                            e.stopPropagation();
                            setPicked(picked === v.visitId ? null : v.visitId);
                          }}
                        >
                          {v.start} {v.patientName.split(' ')[0]}
                        </button>
                      ))}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function Queue({ api }: { api: Api }) {
  const t = useT();
  const [rows, setRows] = useState<QueueRow[] | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  useEffect(() => {
    api.qualificationQueue().then(setRows).catch((e: UiError) => setError(e));
  }, []);
  if (error) return <ErrorBox error={error} />;
  if (!rows) return <Busy />;
  return (
    <table class="table" data-testid="queue">
      <thead>
        <tr>
          <th>{t({ ja: '依頼日時', en: 'Requested' })}</th>
          <th>{t({ ja: '患者', en: 'Patient' })}</th>
          <th>{t({ ja: '状態', en: 'State' })}</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={3}>{t({ ja: '照会の依頼はありません。', en: 'No requests.' })}</td>
          </tr>
        )}
        {rows.map((r) => (
          <tr key={r.patientId + r.requestedAt}>
            <td>{fmtTime(r.requestedAt)}</td>
            <td>{r.patientName}</td>
            {r.state ? (
              <td class={r.state === 'pending' ? 'warn' : r.state === 'failed' ? 'bad' : 'good'} data-testid="queue-state" data-state={r.state}>
                {t(r)}
              </td>
            ) : (
              <td class={r.answered ? 'good' : 'warn'}>
                {r.answered ? t({ ja: '回答済み', en: 'Answered' }) : t({ ja: '回答待ち(同期後に処理)', en: 'Waiting (after sync)' })}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const ROLES: StaffRole[] = ['doctor', 'nurse', 'office', 'admin'];
const blank: StaffInput = { id: null, name: '', kana: '', role: 'nurse', qualifications: '', active: true };

/**
 * 職員の管理 (administrators only; the Rust use case refuses anyone else): add, edit and
 * deactivate staff, and reset a PIN. A new member or a reset gives a one-time set-up code to
 * hand over in person; the administrator never sets or sees a PIN.
 */
function StaffAdmin({ api }: { api: Api }) {
  const t = useT();
  const [staff, setStaff] = useState<StaffRow[] | null>(null);
  const [form, setForm] = useState<StaffInput | null>(null);
  const [issued, setIssued] = useState<{ name: string; setup: PinSetupView } | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const load = () => api.staffList().then(setStaff).catch((e: UiError) => setError(e));
  useEffect(() => {
    void load();
  }, []);
  const act = async (f: () => Promise<void>) => {
    try {
      await f();
      setError(null);
      await load();
    } catch (e) {
      setError(e as UiError);
    }
  };
  const save = (input: StaffInput) =>
    act(async () => {
      const saved = await api.saveStaff(input);
      setForm(null);
      setIssued(saved.setup ? { name: input.name, setup: saved.setup } : null);
    });
  const reset = (s: StaffRow) =>
    act(async () => {
      setIssued({ name: s.name, setup: await api.resetStaffPin(s.id) });
    });
  if (!staff) return error ? <ErrorBox error={error} /> : <Busy />;
  const field = (k: 'name' | 'kana' | 'qualifications', ja: string, en: string) =>
    form && (
      <input class="big" placeholder={t({ ja, en })} value={form[k]} data-testid={`staff-${k}`}
        onInput={(e) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value })} />
    );
  return (
    <div data-testid="staff-admin">
      <ErrorBox error={error} />
      {issued && (
        <div class="setup-code" data-testid="setup-issued">
          <p>
            {t({
              ja: `${issued.name} さんの設定コードです。本人に直接渡してください(この画面を閉じると再表示できません)。本人がこのコードでPINを決めます。`,
              en: `Set-up code for ${issued.name}. Hand it over in person (it is not shown again). They choose their PIN with it.`,
            })}
          </p>
          <strong class="code" data-testid="setup-code-value">{issued.setup.code}</strong>
          <p class="hint">{t({ ja: '有効期限: ', en: 'Valid until: ' })}{fmtTime(issued.setup.validUntil)}</p>
          <button class="btn" onClick={() => setIssued(null)} data-testid="setup-done">{t({ ja: '渡しました', en: 'Handed over' })}</button>
        </div>
      )}
      {form ? (
        <div class="staff-form" data-testid="staff-form">
          {field('name', '氏名', 'Name')}
          {field('kana', 'カナ(全角カタカナ)', 'Reading (katakana)')}
          {field('qualifications', '資格・専門(任意)', 'Qualifications (optional)')}
          <div class="row">
            {ROLES.map((r) => (
              <button key={r} class={form.role === r ? 'btn on' : 'btn'} onClick={() => setForm({ ...form, role: r })} data-testid={`staff-role-${r}`}>
                {t(label(roleLabel, r))}
              </button>
            ))}
          </div>
          <div class="row">
            <button class="btn primary" onClick={() => void save(form)} data-testid="staff-save">{t({ ja: '保存', en: 'Save' })}</button>
            <button class="btn" onClick={() => setForm(null)}>{t({ ja: 'やめる', en: 'Cancel' })}</button>
          </div>
        </div>
      ) : (
        <button class="btn primary" onClick={() => { setForm(blank); setIssued(null); }} data-testid="staff-add">
          {t({ ja: '職員を追加', en: 'Add staff' })}
        </button>
      )}
      <table class="table">
        <tbody>
          {staff.map((s) => (
            <tr key={s.id} data-testid="staff-row" data-staff-id={s.id} class={s.active ? '' : 'inactive'}>
              <td>{s.name}<br /><small>{s.kana}</small></td>
              <td>{t(label(roleLabel, s.role))}{s.qualifications && <><br /><small>{s.qualifications}</small></>}</td>
              <td>{s.active ? t({ ja: '在職', en: 'Active' }) : t({ ja: '退職', en: 'Left' })}</td>
              <td class="row">
                <button class="btn" onClick={() => setForm({ ...s, id: s.id })} data-testid="staff-edit">{t({ ja: '編集', en: 'Edit' })}</button>
                <button class="btn" onClick={() => void save({ ...s, id: s.id, active: !s.active })} data-testid="staff-toggle-active">
                  {s.active ? t({ ja: '退職にする', en: 'Deactivate' }) : t({ ja: '在職に戻す', en: 'Reactivate' })}
                </button>
                <button class="btn" onClick={() => void reset(s)} data-testid="staff-reset-pin">{t({ ja: 'PINリセット', en: 'Reset PIN' })}</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The back office's tabs. 端末 (devices) is an administrator's: shown only when the signed-in
 * staff member is one (`AppInfo.staffRole`); Rust checks again on every call.
 */
export function BackOffice({
  api,
  onOpenPatient,
  staffRole,
}: {
  api: Api;
  onOpenPatient: (id: string) => void;
  staffRole?: StaffRole;
}) {
  const t = useT();
  const [tab, setTab] = useState<Tab>('roster');
  const admin = staffRole === 'admin';
  const tabs: { id: Tab; ja: string; en: string }[] = [
    { id: 'roster', ja: '予定表', en: 'Roster' },
    { id: 'patients', ja: '患者', en: 'Patients' },
    { id: 'plan', ja: '訪問計画', en: 'Visit plan' },
    { id: 'queue', ja: '資格確認キュー', en: 'Qualification queue' },
    { id: 'audit', ja: '監査ログ', en: 'Audit log' },
    { id: 'staff', ja: '職員', en: 'Staff' },
    ...(admin ? [{ id: 'devices' as const, ja: '端末', en: 'Devices' }] : []),
  ];
  return (
    <section class="backoffice" data-testid="backoffice">
      <div class="tabs">
        {tabs.map((x) => (
          <button class={tab === x.id ? 'tab on' : 'tab'} onClick={() => setTab(x.id)} data-testid={`bo-${x.id}`} key={x.id}>
            {t(x)}
          </button>
        ))}
      </div>
      {/* The tab's own area scrolls (or its lists do), never the page: the main action of
          each tab stays inside the 1280×800 window, in large text too. */}
      <div class="bo-body">
        {tab === 'roster' && <RosterPlanner api={api} />}
        {tab === 'patients' && <Patients api={api} onOpen={onOpenPatient} />}
        {tab === 'plan' && <VisitPlan api={api} />}
        {tab === 'queue' && <Queue api={api} />}
        {tab === 'audit' && <AuditLog api={api} />}
        {tab === 'staff' && <StaffAdmin api={api} />}
        {tab === 'devices' && admin && <Devices api={api} />}
      </div>
    </section>
  );
}
