import { useEffect, useState } from 'preact/hooks';
import type { Api, DemoCard, PolicyPage, SettingChoice, SettingProblem, SettingRow, UiError } from '../ipc/api';
import { label, sourceLabel, useT, type Text } from '../i18n';
import { ErrorBox } from '../components/common';

function Problems({ problems }: { problems: SettingProblem[] }) {
  const t = useT();
  if (problems.length === 0) return null;
  return (
    <ul class="problems" data-testid="setting-problems">
      {problems.map((p, i) => (
        <li class={p.ignored ? 'bad' : 'hint'} key={i}>
          {t(p)} <small class="mono">{t(shownOrigin(p.origin))}</small>
        </li>
      ))}
    </ul>
  );
}

/** A value as people read it: a choice's label, はい/いいえ, not the stored code. */
function shownValue(row: SettingRow): Text {
  // One value, or a multiple choice's list ("pin, visual").
  const parts = row.value.split(', ').map((v) => row.choices.find((c) => c.value === v));
  if (row.choices.length > 0 && parts.every((c) => c !== undefined)) {
    return {
      ja: parts.map((c) => c?.labelJa).join('、'),
      en: parts.map((c) => c?.labelEn).join(', '),
    };
  }
  const yesNo = row.input === 'bool' ? boolChoices.find((c) => c.value === row.value) : undefined;
  if (yesNo) return { ja: yesNo.labelJa, en: yesNo.labelEn };
  return { ja: row.value, en: row.value };
}

const boolChoices: SettingChoice[] = [
  { value: 'true', labelJa: 'はい', labelEn: 'Yes' },
  { value: 'false', labelJa: 'いいえ', labelEn: 'No' },
];

/** Where a value came from: a file or registry path as it is; the two fixed words translated. */
function shownOrigin(origin: string): Text {
  if (origin === 'default') return { ja: '既定値', en: 'default' };
  if (origin === 'user') return { ja: 'この端末', en: 'this device' };
  return { ja: origin, en: origin };
}

/** The user's own value for an unlocked, user-settable setting. */
function EditSetting({ row, onSave }: { row: SettingRow; onSave: (value: string | null) => void }) {
  const t = useT();
  const [value, setValue] = useState(row.source === 'user' ? row.value : '');
  return (
    <div class="row" data-testid={`edit-${row.key}`}>
      {row.input === 'choice' || row.input === 'bool' ? (
        <select value={value} onChange={(e) => setValue((e.target as HTMLSelectElement).value)}>
          <option value="">—</option>
          {(row.input === 'bool' ? boolChoices : row.choices).map((c) => (
            <option value={c.value} key={c.value}>
              {t({ ja: c.labelJa, en: c.labelEn })}
            </option>
          ))}
        </select>
      ) : (
        <input
          inputMode={row.input === 'integer' ? 'numeric' : 'text'}
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
      )}
      <button class="btn" disabled={value === ''} onClick={() => onSave(value)} data-testid={`save-${row.key}`}>
        {t({ ja: '保存', en: 'Save' })}
      </button>
      {row.source === 'user' && (
        <button class="btn" onClick={() => onSave(null)}>
          {t({ ja: '既定に戻す', en: 'Reset' })}
        </button>
      )}
    </div>
  );
}

/** Settings with the managed-policy page (value, source, lock, problems) and the training card reader. */
export function Settings({ api, training }: { api: Api; training: boolean }) {
  const t = useT();
  const [page, setPage] = useState<PolicyPage | null>(null);
  const [cards, setCards] = useState<DemoCard[]>([]);
  const [removeNext, setRemoveNext] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const load = () => {
    api.settings().then(setPage).catch((e: UiError) => setError(e));
    if (training) api.demoCards().then(setCards).catch((e: UiError) => setError(e));
  };
  // Again once the app knows it is in training mode (app info may arrive after this page opens).
  useEffect(load, [training]);
  const place = (id: string | null) =>
    api
      .demoPlaceCard(id, removeNext ? 3 : null)
      .then(load)
      .catch((e: UiError) => setError(e));
  const save = (key: string, value: string | null) =>
    api
      .setUserSetting(key, value)
      .then((p) => {
        setPage(p);
        setError(null);
      })
      .catch((e: UiError) => setError(e));
  return (
    <section data-testid="settings">
      <h2>{t({ ja: '設定', en: 'Settings' })}</h2>
      <ErrorBox error={error} />
      {page?.managedByOrganization && (
        <p class="managed" data-testid="managed-banner">
          {t({ ja: '🔒 この端末は組織によって管理されています。', en: '🔒 This device is managed by your organization.' })}
        </p>
      )}
      <Problems problems={page?.problems ?? []} />
      <table class="table" data-testid="policy-table">
        <thead>
          <tr>
            <th>{t({ ja: '項目', en: 'Setting' })}</th>
            <th>{t({ ja: '値', en: 'Value' })}</th>
            <th>{t({ ja: '設定元', en: 'Source' })}</th>
          </tr>
        </thead>
        <tbody>
          {(page?.settings ?? []).map((r) => (
            <tr key={r.key} data-testid={`setting-${r.key}`}>
              <td>
                {t({ ja: r.labelJa, en: r.labelEn })} <small class="mono">{r.key}</small>
                <p class="hint">{t({ ja: r.descriptionJa, en: r.descriptionEn })}</p>
                <Problems problems={r.problems} />
              </td>
              <td>
                <span data-testid={`value-${r.key}`}>{t(shownValue(r))}</span>
                {r.userEditable && <EditSetting row={r} onSave={(v) => void save(r.key, v)} />}
              </td>
              <td>
                {r.locked && <span aria-label="locked">🔒 </span>}
                {t(label(sourceLabel, r.source))}
                <br />
                <small class="mono">{t(shownOrigin(r.origin))}</small>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {training && (
        <>
      <h3>{t({ ja: '訓練用カードリーダー', en: 'Training card reader' })}</h3>
      <p class="hint">
        {t({
          ja: '訓練モードでは合成データのカードをリーダーに置いたことにします。実在の人物ではありません。',
          en: 'In training mode a synthetic card is placed on a simulated reader. These are not real people.',
        })}
      </p>
      <div class="cards-list">
        {cards.map((c) => (
          <button class={c.onReader ? 'btn choice on' : 'btn choice'} onClick={() => void place(c.id)} key={c.id} data-testid={`demo-card-${c.id}`}>
            {c.label}
            <small>{c.note}</small>
          </button>
        ))}
        <button class="btn" onClick={() => void place(null)} data-testid="demo-card-none">
          {t({ ja: 'カードを取り除く', en: 'Remove the card' })}
        </button>
      </div>
      <label class="check">
        <input type="checkbox" checked={removeNext} onChange={(e) => setRemoveNext((e.target as HTMLInputElement).checked)} />
        {t({ ja: '次の読み取り中にカードを離す(エラー訓練)', en: 'Remove the card during the next read (error drill)' })}
      </label>
        </>
      )}
    </section>
  );
}
