import { useEffect, useState } from 'preact/hooks';
import type { Api, DemoCard, SettingRow, UiError } from '../ipc/api';
import { useT } from '../i18n';
import { ErrorBox } from '../components/common';

/** Settings with the managed-policy page (value, source, lock) and the training card reader. */
export function Settings({ api }: { api: Api }) {
  const t = useT();
  const [rows, setRows] = useState<SettingRow[]>([]);
  const [cards, setCards] = useState<DemoCard[]>([]);
  const [removeNext, setRemoveNext] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const load = () => {
    api.settings().then(setRows).catch((e: UiError) => setError(e));
    api.demoCards().then(setCards).catch((e: UiError) => setError(e));
  };
  useEffect(load, []);
  const place = (id: string | null) =>
    api
      .demoPlaceCard(id, removeNext ? 3 : null)
      .then(load)
      .catch((e: UiError) => setError(e));
  const source: Record<string, { ja: string; en: string }> = {
    managed: { ja: '管理者(MDM)', en: 'Managed (MDM)' },
    user: { ja: 'ユーザー', en: 'User' },
    recommended: { ja: '推奨(MDM)', en: 'Recommended (MDM)' },
    default: { ja: '既定値', en: 'Default' },
  };
  return (
    <section data-testid="settings">
      <h2>{t({ ja: '設定', en: 'Settings' })}</h2>
      <ErrorBox error={error} />
      <table class="table">
        <thead>
          <tr>
            <th>{t({ ja: '項目', en: 'Setting' })}</th>
            <th>{t({ ja: '値', en: 'Value' })}</th>
            <th>{t({ ja: '設定元', en: 'Source' })}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td>
                {t({ ja: r.labelJa, en: r.labelEn })} <small class="mono">{r.key}</small>
              </td>
              <td>{r.value}</td>
              <td>
                {r.locked && <span aria-label="locked">🔒 </span>}
                {t(source[r.source] ?? { ja: r.source, en: r.source })}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
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
    </section>
  );
}
