// 患者 (back office): the list in カナ order (在宅中 / 終了), registration and edits in one form
// with the change history under it, the end of care (and its resumption), and the CSV import.
// The list and the form's fields scroll; the form's 保存 stays in view (1280×800, large text).
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Api, CareEndReason, IdDocument, PatientDetail, PatientInput, PatientRow, Sex, UiError } from '../ipc/api';
import { careEndLabel, idDocumentLabel, label, sexLabel, useT, type Text } from '../i18n';
import { Busy, ErrorBox, fmtTime } from '../components/common';

/** The form's state: like PatientInput, but 性別 is chosen, never defaulted. */
export type PatientDraft = Omit<PatientInput, 'sex'> & { sex: Sex | null };

const emptyDraft: PatientDraft = {
  id: null,
  name: '',
  kana: '',
  birthDate: '',
  sex: null,
  address: '',
  phone: '',
  keyPerson: '',
  keyPersonPhone: '',
  careManager: '',
  careOffice: '',
  primaryDoctor: '',
  idDocument: 'unknown',
};

const SEXES: Sex[] = ['male', 'female'];
const ID_DOCUMENTS: IdDocument[] = ['myNumberCard', 'qualificationCertificate', 'unknown'];
const END_REASONS: CareEndReason[] = ['death', 'hospitalised', 'moved', 'ended'];

/** The columns of a patient list (CSV), as the import accepts them (header row required). */
export const CSV_COLUMNS: { ja: string; en: string; note?: Text }[] = [
  { ja: '氏名', en: 'name', note: { ja: '必須', en: 'required' } },
  { ja: 'カナ', en: 'kana', note: { ja: '必須・全角カタカナ', en: 'required, katakana' } },
  { ja: '生年月日', en: 'birth', note: { ja: '必須・1940-04-01 か 1940/04/01', en: 'required, 1940-04-01' } },
  { ja: '性別', en: 'sex', note: { ja: '必須・男/女', en: 'required, 男/女' } },
  { ja: '住所', en: 'address' },
  { ja: '電話', en: 'phone' },
  { ja: 'キーパーソン', en: 'key_person' },
  { ja: 'キーパーソン連絡先', en: 'key_person_phone' },
  { ja: 'ケアマネジャー', en: 'care_manager' },
  { ja: '居宅介護支援事業所', en: 'care_office' },
  { ja: '主治医', en: 'primary_doctor' },
  { ja: '本人確認書類', en: 'id_document', note: { ja: 'マイナンバーカード/資格確認書/空欄', en: 'マイナンバーカード/資格確認書/empty' } },
];

/** A mistake caught here, before anything is sent; shown like the errors from Rust. */
export function localError(ja: string, en: string): UiError {
  return { code: 'invalid_input', ja, en, triesLeft: null };
}

/** YYYY-MM-DD of today on this device (the tablet is in Japan). */
export function localToday(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

type Mode = { kind: 'none' } | { kind: 'new' } | { kind: 'edit'; id: string; registered: boolean } | { kind: 'import' };
type Filter = 'active' | 'ended';

export function Patients({ api, onOpen }: { api: Api; onOpen: (id: string) => void }) {
  const t = useT();
  const [rows, setRows] = useState<PatientRow[] | null>(null);
  const [q, setQ] = useState('');
  const [filter, setFilter] = useState<Filter>('active');
  const [mode, setMode] = useState<Mode>({ kind: 'none' });
  const [error, setError] = useState<UiError | null>(null);
  const load = () =>
    api
      .patientList()
      .then((r) => {
        setRows(r);
        setError(null);
      })
      .catch((e: UiError) => setError(e));
  useEffect(() => {
    void load();
  }, []);
  if (!rows) return error ? <ErrorBox error={error} onRetry={() => void load()} /> : <Busy />;
  const sorted = [...rows].sort((a, b) => a.kana.localeCompare(b.kana, 'ja'));
  const ended = sorted.filter((r) => r.careEnded);
  const active = sorted.filter((r) => !r.careEnded);
  const shown = (filter === 'active' ? active : ended).filter((r) => !q || r.name.includes(q) || r.kana.includes(q));
  const selected = mode.kind === 'edit' ? mode.id : null;
  return (
    <div class="split" data-testid="patients">
      <div class="pane list-pane">
        <div class="pane-head">
          <div class="row tight">
            <button class={filter === 'active' ? 'btn small on' : 'btn small'} onClick={() => setFilter('active')} data-testid="filter-active">
              {t({ ja: '在宅中', en: 'In care' })} ({active.length})
            </button>
            <button class={filter === 'ended' ? 'btn small on' : 'btn small'} onClick={() => setFilter('ended')} data-testid="filter-ended">
              {t({ ja: '終了', en: 'Ended' })} ({ended.length})
            </button>
            <input
              class="search grow"
              placeholder={t({ ja: '氏名・カナ検索', en: 'Search' })}
              aria-label={t({ ja: '氏名・カナで検索', en: 'Search name or kana' })}
              value={q}
              onInput={(e) => setQ((e.target as HTMLInputElement).value)}
              data-testid="patient-search"
            />
          </div>
          <div class="row tight">
            <button class="btn primary" onClick={() => setMode({ kind: 'new' })} data-testid="patient-new">
              {t({ ja: '新規登録', en: 'Register' })}
            </button>
            <button class={mode.kind === 'import' ? 'btn on' : 'btn'} onClick={() => setMode({ kind: 'import' })} data-testid="patient-import">
              {t({ ja: 'CSV取り込み', en: 'Import CSV' })}
            </button>
          </div>
        </div>
        <ul class="pane-body pick-list" data-testid="patient-list">
          {error && <ErrorBox error={error} />}
          {shown.length === 0 && (
            <li class="hint">
              {filter === 'active'
                ? t({ ja: '在宅中の患者はいません。', en: 'No patients in care.' })
                : t({ ja: '訪問を終了した患者はいません。', en: 'No patients whose care ended.' })}
            </li>
          )}
          {shown.map((r) => (
            <li key={r.id} class={selected === r.id ? 'pick-row on' : 'pick-row'} data-testid="patient-row" data-patient-id={r.id} data-patient={r.name}>
              <button class="pick-main" onClick={() => setMode({ kind: 'edit', id: r.id, registered: false })} data-testid="patient-open">
                <strong>{r.name}</strong>
                <small>
                  {r.kana} {r.birthDate ?? ''}
                </small>
              </button>
              {r.careEnded && (
                <span class="badge bad" data-testid="care-end-badge" data-reason={r.careEnded}>
                  {t(label(careEndLabel, r.careEnded))}
                </span>
              )}
              <button class="btn small" onClick={() => onOpen(r.id)} data-testid="patient-chart">
                {t({ ja: 'カルテ', en: 'Chart' })}
              </button>
            </li>
          ))}
        </ul>
      </div>
      <div class="detail-pane">
        {mode.kind === 'none' && (
          <p class="hint pane-empty">
            {t({
              ja: '患者を選ぶと登録内容の編集・変更履歴・訪問終了ができます。新しい患者は「新規登録」か「CSV取り込み」から。',
              en: 'Choose a patient to edit, see the change history or end care. Add patients with Register or Import CSV.',
            })}
          </p>
        )}
        {mode.kind === 'new' && (
          <PatientForm
            api={api}
            initial={emptyDraft}
            title={{ ja: '新規登録', en: 'Register a patient' }}
            onSaved={(id) => {
              void load();
              setMode({ kind: 'edit', id, registered: true });
            }}
            onCancel={() => setMode({ kind: 'none' })}
          />
        )}
        {mode.kind === 'edit' && <PatientEditor key={mode.id} api={api} id={mode.id} registered={mode.registered} onChanged={() => void load()} onClose={() => setMode({ kind: 'none' })} />}
        {mode.kind === 'import' && (
          <CsvImport
            api={api}
            onImported={() => void load()}
            onClose={() => setMode({ kind: 'none' })}
          />
        )}
      </div>
    </div>
  );
}

/** One labelled text input of the form. */
function TextField({
  label: l,
  value,
  onInput,
  testid,
  type = 'text',
  placeholder,
  wide,
}: {
  label: Text;
  value: string;
  onInput: (v: string) => void;
  testid: string;
  type?: 'text' | 'tel' | 'date';
  placeholder?: string;
  wide?: boolean;
}) {
  const t = useT();
  return (
    <label class={wide ? 'ffield wide' : 'ffield'}>
      <span class="flabel">{t(l)}</span>
      <input
        class="inp"
        type={type}
        value={value}
        placeholder={placeholder}
        onInput={(e) => onInput((e.target as HTMLInputElement).value)}
        data-testid={testid}
      />
    </label>
  );
}

/** Registration and edit in one form. Nothing typed is lost on an error: the draft stays. */
function PatientForm({
  api,
  initial,
  title,
  onSaved,
  onCancel,
  savedAtStart = false,
  children,
}: {
  api: Api;
  initial: PatientDraft;
  title: Text;
  onSaved: (id: string) => void;
  onCancel: () => void;
  savedAtStart?: boolean;
  children?: ComponentChildren;
}) {
  const t = useT();
  const [d, setD] = useState<PatientDraft>(initial);
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(savedAtStart);
  const set = <K extends keyof PatientDraft>(k: K, v: PatientDraft[K]) => {
    setD({ ...d, [k]: v });
    setSaved(false);
  };
  const text = (k: Exclude<keyof PatientDraft, 'id' | 'sex' | 'idDocument'>, l: Text, extra: { type?: 'text' | 'tel' | 'date'; placeholder?: string; wide?: boolean } = {}) => (
    <TextField label={l} value={d[k]} onInput={(v) => set(k, v)} testid={`pf-${k}`} {...extra} />
  );
  const save = async () => {
    if (!d.name.trim()) return setError(localError('氏名を入力してください。', "Enter the patient's name."));
    if (!d.sex) return setError(localError('性別を選んでください。', 'Choose the sex.'));
    setBusy(true);
    try {
      const id = await api.savePatient({ ...d, sex: d.sex });
      setError(null);
      setSaved(true);
      onSaved(id);
    } catch (e) {
      setError(e as UiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="pane form-pane" data-testid="patient-form">
      <div class="pane-head">
        <h3>{t(title)}</h3>
      </div>
      <div class="pane-body">
        <div class="fgrid">
          {text('name', { ja: '氏名', en: 'Name' })}
          {text('kana', { ja: 'カナ(全角カタカナ)', en: 'Kana (katakana)' })}
          {text('birthDate', { ja: '生年月日', en: 'Birth date' }, { type: 'date', placeholder: 'YYYY-MM-DD' })}
          <div class="ffield">
            <span class="flabel">{t({ ja: '性別', en: 'Sex' })}</span>
            <div class="seg">
              {SEXES.map((s) => (
                <button key={s} class={d.sex === s ? 'btn on' : 'btn'} onClick={() => set('sex', s)} data-testid={`pf-sex-${s}`} aria-pressed={d.sex === s}>
                  {t(label(sexLabel, s))}
                </button>
              ))}
            </div>
          </div>
          {text('address', { ja: '住所', en: 'Address' }, { wide: true })}
          {text('phone', { ja: '電話', en: 'Phone' }, { type: 'tel' })}
          {text('primaryDoctor', { ja: '主治医', en: 'Attending physician' })}
          {text('keyPerson', { ja: 'キーパーソン', en: 'Key person' })}
          {text('keyPersonPhone', { ja: 'キーパーソン連絡先', en: "Key person's phone" }, { type: 'tel' })}
          {text('careManager', { ja: 'ケアマネジャー', en: 'Care manager' })}
          {text('careOffice', { ja: '居宅介護支援事業所', en: 'Care management office' })}
          <div class="ffield wide">
            <span class="flabel">{t({ ja: '本人確認書類', en: 'Identity document' })}</span>
            <div class="seg">
              {ID_DOCUMENTS.map((k) => (
                <button key={k} class={d.idDocument === k ? 'btn on' : 'btn'} onClick={() => set('idDocument', k)} data-testid={`pf-iddoc-${k}`} aria-pressed={d.idDocument === k}>
                  {t(label(idDocumentLabel, k))}
                </button>
              ))}
            </div>
          </div>
        </div>
        {children}
      </div>
      <div class="pane-foot">
        <ErrorBox error={error} />
        <div class="row tight">
          <button class="btn primary" disabled={busy} onClick={() => void save()} data-testid="patient-save">
            {d.id ? t({ ja: '変更を保存', en: 'Save changes' }) : t({ ja: '登録する', en: 'Register' })}
          </button>
          <button class="btn" onClick={onCancel} data-testid="patient-form-close">
            {t({ ja: '閉じる', en: 'Close' })}
          </button>
          {saved && (
            <span class="good" role="status" data-testid="patient-saved">
              {t({ ja: '保存しました。', en: 'Saved.' })}
            </span>
          )}
        </div>
      </div>
    </div>
  );
}

/** An existing patient: the same form, then 訪問終了 / 訪問再開 and the change history. */
function PatientEditor({
  api,
  id,
  registered,
  onChanged,
  onClose,
}: {
  api: Api;
  id: string;
  /** Just registered: the form says 保存しました from the start. */
  registered: boolean;
  onChanged: () => void;
  onClose: () => void;
}) {
  const t = useT();
  const [detail, setDetail] = useState<PatientDetail | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const load = () =>
    api
      .patientDetail(id)
      .then((x) => {
        setDetail(x);
        setError(null);
      })
      .catch((e: UiError) => setError(e));
  useEffect(() => {
    void load();
  }, [id]);
  if (!detail) return error ? <ErrorBox error={error} onRetry={() => void load()} /> : <Busy />;
  return (
    <PatientForm
      api={api}
      initial={detail.patient}
      title={{ ja: `患者情報の編集: ${detail.patient.name}`, en: `Edit: ${detail.patient.name}` }}
      onSaved={() => {
        onChanged();
        void load();
      }}
      onCancel={onClose}
      savedAtStart={registered}
    >
      <CareEnd
        api={api}
        detail={detail}
        onChanged={() => {
          onChanged();
          void load();
        }}
      />
      <History detail={detail} />
    </PatientForm>
  );
}

/** 訪問終了 with a reason and a date (nothing is deleted), or 訪問再開 for an ended patient. */
function CareEnd({ api, detail, onChanged }: { api: Api; detail: PatientDetail; onChanged: () => void }) {
  const t = useT();
  const [reason, setReason] = useState<CareEndReason | null>(null);
  const [date, setDate] = useState(localToday());
  const [error, setError] = useState<UiError | null>(null);
  const id = detail.patient.id ?? '';
  const act = async (r: CareEndReason | null) => {
    try {
      await api.endCare(id, r, r ? date || null : null);
      setError(null);
      onChanged();
    } catch (e) {
      setError(e as UiError);
    }
  };
  return (
    <section class="subpanel" data-testid="care-end-panel">
      <h4>{t({ ja: '訪問終了', en: 'End of care' })}</h4>
      {detail.careEnded ? (
        <div class="row tight">
          <span class="badge bad" data-testid="care-ended" data-reason={detail.careEnded}>
            {t(label(careEndLabel, detail.careEnded))} {detail.careEndDate ?? ''}
          </span>
          <button class="btn" onClick={() => void act(null)} data-testid="care-resume">
            {t({ ja: '訪問再開', en: 'Resume care' })}
          </button>
        </div>
      ) : (
        <div class="row tight">
          <div class="seg" role="radiogroup">
            {END_REASONS.map((r) => (
              <button key={r} class={reason === r ? 'btn on' : 'btn'} role="radio" aria-checked={reason === r} onClick={() => setReason(r)} data-testid={`care-reason-${r}`}>
                {t(label(careEndLabel, r))}
              </button>
            ))}
          </div>
          <input class="inp" type="date" value={date} placeholder="YYYY-MM-DD" onInput={(e) => setDate((e.target as HTMLInputElement).value)} data-testid="care-end-date" />
          <button class="btn" disabled={!reason} onClick={() => reason && void act(reason)} data-testid="care-end">
            {t({ ja: '訪問終了', en: 'End care' })}
          </button>
        </div>
      )}
      <ErrorBox error={error} />
    </section>
  );
}

/** 変更履歴: newest first, each field before → after. */
function History({ detail }: { detail: PatientDetail }) {
  const t = useT();
  const blank = t({ ja: '(空欄)', en: '(empty)' });
  return (
    <section class="subpanel" data-testid="patient-history">
      <h4>{t({ ja: '変更履歴', en: 'Change history' })}</h4>
      {detail.history.length === 0 && <p class="hint">{t({ ja: '変更はまだありません。', en: 'No changes yet.' })}</p>}
      <ol class="history">
        {detail.history.map((h, i) => (
          <li key={i} data-testid="history-entry">
            <div class="hist-head">
              <strong>{fmtTime(h.at)}</strong> <span>{h.byName}</span>
            </div>
            <ul>
              {h.fields.map((f, j) => (
                <li key={j}>
                  <span class="flabel">{t({ ja: f.labelJa, en: f.labelEn })}</span>: {f.before || blank} → {f.after || blank}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
    </section>
  );
}

/** CSV 取り込み: pick a file, then 取り込む; the result count, or the bad rows by line. */
function CsvImport({ api, onImported, onClose }: { api: Api; onImported: () => void; onClose: () => void }) {
  const t = useT();
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [done, setDone] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    if (!file) return;
    setBusy(true);
    try {
      const csv = Array.from(new Uint8Array(await file.arrayBuffer()));
      const r = await api.importPatients(csv);
      setError(null);
      setDone(r.imported);
      onImported();
    } catch (e) {
      setError(e as UiError);
      setDone(null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="pane form-pane" data-testid="csv-import">
      <div class="pane-head">
        <h3>{t({ ja: 'CSV取り込み', en: 'Import a patient list (CSV)' })}</h3>
      </div>
      <div class="pane-body">
        <div class="import-row">
          <div class="import-actions">
            <label class="btn file-pick">
              {t({ ja: 'ファイルを選ぶ', en: 'Choose file' })}
              <input
                type="file"
                accept=".csv,text/csv"
                class="visually-hidden"
                onChange={(e) => {
                  setFile((e.target as HTMLInputElement).files?.[0] ?? null);
                  setDone(null);
                }}
                data-testid="csv-file"
              />
            </label>
            <p class="file-name" data-testid="csv-file-name">
              {file ? file.name : t({ ja: '(まだ選んでいません)', en: '(no file chosen)' })}
            </p>
            <button class="btn primary" disabled={!file || busy} onClick={() => void run()} data-testid="csv-run">
              {t({ ja: '取り込む', en: 'Import' })}
            </button>
            {done !== null && (
              <p class="good" role="status" data-testid="csv-result">
                {t({ ja: `${done}人を登録しました。`, en: `${done} patients registered.` })}
              </p>
            )}
            <ErrorBox error={error} />
          </div>
          <div class="import-help" data-testid="csv-help">
            <p class="hint">
              {t({
                ja: '1行目は見出し(日本語か英語の列名)。文字コードは UTF-8 か Shift_JIS。誤りが1行でもあれば1人も登録しません。',
                en: 'Row 1 is the header (Japanese or English names). UTF-8 or Shift_JIS. One bad row and nobody is registered.',
              })}
            </p>
            <table class="table compact">
              <thead>
                <tr>
                  <th>{t({ ja: '列名', en: 'Column' })}</th>
                  <th>{t({ ja: '英語名', en: 'English' })}</th>
                  <th>{t({ ja: '内容', en: 'Notes' })}</th>
                </tr>
              </thead>
              <tbody>
                {CSV_COLUMNS.map((c) => (
                  <tr key={c.en}>
                    <td>{c.ja}</td>
                    <td class="mono">{c.en}</td>
                    <td>{c.note ? t(c.note) : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      </div>
      <div class="pane-foot">
        <div class="row tight">
          <button class="btn" onClick={onClose}>
            {t({ ja: '閉じる', en: 'Close' })}
          </button>
        </div>
      </div>
    </div>
  );
}
