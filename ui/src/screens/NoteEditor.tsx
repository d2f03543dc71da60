import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api, Soap, UiError, VitalsInput, VitalsIssue } from '../ipc/api';
import { useT } from '../i18n';
import { ErrorBox } from '../components/common';

const FIELDS: { key: keyof Soap; ja: string; en: string }[] = [
  { key: 's', ja: 'S 主観的情報', en: 'S Subjective' },
  { key: 'o', ja: 'O 客観的情報', en: 'O Objective' },
  { key: 'a', ja: 'A 評価', en: 'A Assessment' },
  { key: 'p', ja: 'P 計画', en: 'P Plan' },
];

const VITALS: { key: keyof VitalsInput; ja: string; en: string; unit: string; step: string }[] = [
  { key: 'systolic', ja: '血圧(上)', en: 'Systolic', unit: 'mmHg', step: '1' },
  { key: 'diastolic', ja: '血圧(下)', en: 'Diastolic', unit: 'mmHg', step: '1' },
  { key: 'pulse', ja: '脈拍', en: 'Pulse', unit: '/分', step: '1' },
  { key: 'spo2', ja: 'SpO2', en: 'SpO2', unit: '%', step: '1' },
  { key: 'temperature', ja: '体温', en: 'Temp.', unit: '℃', step: '0.1' },
  { key: 'respiration', ja: '呼吸数', en: 'Resp.', unit: '/分', step: '1' },
  { key: 'weight', ja: '体重', en: 'Weight', unit: 'kg', step: '0.1' },
];

export type SaveState = 'idle' | 'dirty' | 'saving' | 'saved' | 'error';

/** Debounce before an autosave; every save is durable in the encrypted store when it returns. */
export const AUTOSAVE_MS = 600;

/**
 * Visit note editor: SOAP and vitals. Autosaves to the encrypted store shortly after each
 * change and when a field loses focus, so a crash loses at most the last keystrokes.
 */
export function NoteEditor(props: { api: Api; patientId: string; visitId: string; patientName: string; onClose: () => void }) {
  const t = useT();
  const { api } = props;
  const [soap, setSoap] = useState<Soap>({ s: '', o: '', a: '', p: '' });
  const [state, setState] = useState<SaveState>('idle');
  const [savedAt, setSavedAt] = useState('');
  const [error, setError] = useState<UiError | null>(null);
  const [signed, setSigned] = useState(false);
  const [vitals, setVitals] = useState<VitalsInput>({
    systolic: null,
    diastolic: null,
    pulse: null,
    spo2: null,
    temperature: null,
    respiration: null,
    weight: null,
  });
  const [issues, setIssues] = useState<VitalsIssue[]>([]);
  const draftId = useRef<string | null>(null);
  const latest = useRef(soap);
  const inFlight = useRef<Promise<void> | null>(null);
  const again = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  // Reopen the draft of this visit, if one was saved before (e.g. before a crash).
  useEffect(() => {
    api
      .patientChart(props.patientId)
      .then((c) => {
        const v = c.visits.find((x) => x.id === props.visitId);
        const draft = v?.notes.filter((n) => n.status === 'draft').sort((a, b) => b.version - a.version)[0];
        if (draft) {
          draftId.current = draft.id;
          latest.current = draft.soap;
          setSoap(draft.soap);
          setState('saved');
        }
        if (v) setVitals(v.vitals);
      })
      .catch(() => undefined);
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
  }, [props.patientId, props.visitId]);

  const saveNow = async (): Promise<void> => {
    if (timer.current) {
      clearTimeout(timer.current);
      timer.current = null;
    }
    if (inFlight.current) {
      again.current = true;
      return inFlight.current;
    }
    const run = async () => {
      do {
        again.current = false;
        setState('saving');
        try {
          const r = await api.saveNote(props.patientId, props.visitId, draftId.current, latest.current);
          draftId.current = r.noteId;
          setSavedAt(r.savedAt.slice(11, 19));
          setState(again.current ? 'saving' : 'saved');
          setError(null);
        } catch (e) {
          setError(e as UiError);
          setState('error');
          return;
        }
      } while (again.current);
    };
    inFlight.current = run().finally(() => {
      inFlight.current = null;
    });
    return inFlight.current;
  };

  const edit = (key: keyof Soap, value: string) => {
    const next = { ...latest.current, [key]: value };
    latest.current = next;
    setSoap(next);
    setState('dirty');
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => void saveNow(), AUTOSAVE_MS);
  };

  const sign = async () => {
    await saveNow();
    if (!draftId.current) return;
    try {
      await api.signNote(props.patientId, draftId.current);
      setSigned(true);
    } catch (e) {
      setError(e as UiError);
    }
  };

  const saveVitals = async () => {
    try {
      setIssues(await api.recordVitals(props.patientId, props.visitId, vitals));
    } catch (e) {
      setError(e as UiError);
    }
  };

  const num = (k: keyof VitalsInput, raw: string) => {
    const v = raw.trim() === '' ? null : Number(raw);
    setVitals({ ...vitals, [k]: v !== null && Number.isFinite(v) ? v : null });
  };

  const stateText: Record<SaveState, { ja: string; en: string }> = {
    idle: { ja: '未入力', en: 'Empty' },
    dirty: { ja: '未保存の変更あり', en: 'Unsaved changes' },
    saving: { ja: '保存中…', en: 'Saving…' },
    saved: { ja: `保存済み ${savedAt}`, en: `Saved ${savedAt}` },
    error: { ja: '保存できませんでした', en: 'Not saved' },
  };

  return (
    <section class="note-editor" data-testid="note-editor">
      <div class="row spread">
        <h2>
          {t({ ja: '訪問記録', en: 'Visit note' })} <small>{props.patientName}</small>
        </h2>
        <span class={`save-state ${state}`} data-testid="save-state" data-state={state}>
          {t(stateText[state])}
        </span>
      </div>
      <ErrorBox error={error} onRetry={() => void saveNow()} />
      <fieldset class="vitals">
        <legend>{t({ ja: 'バイタル', en: 'Vitals' })}</legend>
        {VITALS.map((f) => {
          const issue = issues.find((i) => i.field === f.key);
          return (
            <label class={issue ? `vital ${issue.level}` : 'vital'} key={f.key}>
              <span>{t(f)}</span>
              <input
                type="number"
                inputMode="decimal"
                step={f.step}
                value={vitals[f.key] ?? ''}
                data-testid={`vital-${f.key}`}
                onInput={(e) => num(f.key, (e.target as HTMLInputElement).value)}
              />
              <small>{f.unit}</small>
            </label>
          );
        })}
        <button class="btn" onClick={() => void saveVitals()} data-testid="save-vitals">
          {t({ ja: 'バイタルを記録', en: 'Record vitals' })}
        </button>
        {issues.length > 0 && (
          <ul class="issues" data-testid="vital-issues">
            {issues.map((i) => (
              <li class={i.level} key={i.field + i.level}>
                {t(i)}
              </li>
            ))}
          </ul>
        )}
      </fieldset>
      {FIELDS.map((f) => (
        <label class="soap" key={f.key}>
          <span>{t(f)}</span>
          <textarea
            rows={3}
            value={soap[f.key]}
            disabled={signed}
            data-testid={`soap-${f.key}`}
            onInput={(e) => edit(f.key, (e.target as HTMLTextAreaElement).value)}
            onBlur={() => {
              if (state === 'dirty') void saveNow();
            }}
          />
        </label>
      ))}
      <div class="row end">
        <button class="btn" onClick={() => void saveNow().then(props.onClose)} data-testid="note-close">
          {t({ ja: '保存して閉じる', en: 'Save and close' })}
        </button>
        <button class="btn primary" onClick={() => void sign()} disabled={signed || state === 'idle'} data-testid="note-sign">
          {signed ? t({ ja: '署名済み', en: 'Signed' }) : t({ ja: '署名', en: 'Sign' })}
        </button>
      </div>
    </section>
  );
}
