// 端末 (back office, administrators on the clinic's admin device; Rust refuses anyone else):
// the clinic's devices with 失効 (after a confirmation: the device erases its data at its next
// contact), and 登録コードを発行 for another device, shown once as text and QR code. The list
// scrolls; 発行する / 渡しました stay in view in the pane's footer (1280×800, large text).
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Api, DeviceRole, DeviceRow, IssuedCode, UiError } from '../ipc/api';
import { deviceRoleLabel, label, useT, type Text } from '../i18n';
import { Busy, ErrorBox, fmtTime } from '../components/common';

const ROLES: DeviceRole[] = ['member', 'admin'];
/** How long a code stays valid: 24時間 / 72時間 / 7日. */
export const VALIDITY: { hours: number; text: Text }[] = [
  { hours: 24, text: { ja: '24時間', en: '24 hours' } },
  { hours: 72, text: { ja: '72時間', en: '72 hours' } },
  { hours: 168, text: { ja: '7日', en: '7 days' } },
];

/** The first 8 hex digits of a relay device id: enough to tell devices apart on screen. */
export const shortId = (id: string) => id.slice(0, 8);

/** A last sync in little room: 12/08 10:38 this year, 2025/12/08 before (the full time in the title). */
export function shortTime(iso: string, thisYear = new Date().getFullYear()): string {
  const [date = '', time = ''] = fmtTime(iso).split(' ');
  const [y, m, d] = date.split('-');
  return Number(y) === thisYear ? `${m}/${d} ${time}` : `${y}/${m}/${d}`;
}

/** A QR code's SVG document as an image source (the CSP allows data: images). */
export const svgSrc = (svg: string) => 'data:image/svg+xml;utf8,' + encodeURIComponent(svg);

export function Devices({ api }: { api: Api }) {
  const t = useT();
  const [rows, setRows] = useState<DeviceRow[] | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [notice, setNotice] = useState<Text | null>(null);
  const [busy, setBusy] = useState(false);
  const load = () =>
    api
      .clinicDevices()
      .then((r) => {
        setRows(r);
        setError(null);
      })
      .catch((e: UiError) => setError(e));
  useEffect(() => {
    void load();
  }, []);
  const revoke = async (d: DeviceRow) => {
    setBusy(true);
    try {
      await api.revokeDevice(d.id);
      setConfirm(null);
      setNotice({
        ja: `「${d.label}」を失効させました。次に接続したときに端末内のデータと鍵を消去します。`,
        en: `"${d.label}" was revoked. It erases its data and keys at its next contact.`,
      });
      await load();
    } catch (e) {
      setError(e as UiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="split" data-testid="devices">
      <div class="pane device-pane">
        <div class="pane-head">
          <div class="row tight spread">
            <h3>{t({ ja: '登録済みの端末', en: 'Enrolled devices' })}</h3>
            <button class="btn small" onClick={() => void load()} data-testid="devices-refresh">
              {t({ ja: '一覧を更新', en: 'Refresh' })}
            </button>
          </div>
          {notice && (
            <p class="good notice" role="status" data-testid="devices-notice">
              {t(notice)}
            </p>
          )}
          <ErrorBox error={error} onRetry={rows ? undefined : () => void load()} />
        </div>
        <ul class="pane-body pick-list" data-testid="device-list">
          {!rows && !error && <Busy />}
          {rows?.length === 0 && <li class="hint">{t({ ja: '登録済みの端末はありません。', en: 'No devices enrolled.' })}</li>}
          {rows?.map((d) => (
            <li
              key={d.id}
              class={d.revoked ? 'device-row revoked' : 'device-row'}
              data-testid="device-row"
              data-device-id={d.id}
              data-role={d.role}
              data-revoked={String(d.revoked)}
              data-this-device={String(d.thisDevice)}
            >
              <div class="device-line">
                <span class="device-name">
                  <strong data-testid="device-label">{d.label}</strong>
                  {d.thisDevice && (
                    <span class="badge todo" data-testid="this-device">
                      {t({ ja: 'この端末', en: 'This device' })}
                    </span>
                  )}
                  <small class="mono" title={d.id}>
                    ID {shortId(d.id)}
                  </small>
                </span>
                <span class="device-cell">
                  <small class="flabel">{t({ ja: '種類', en: 'Role' })}</small>
                  {t(label(deviceRoleLabel, d.role))}
                </span>
                <span class="device-cell">
                  <small class="flabel">{t({ ja: '状態', en: 'State' })}</small>
                  <span class={d.revoked ? 'badge bad' : 'badge ok'} data-testid="device-state">
                    {d.revoked ? t({ ja: '失効', en: 'Revoked' }) : t({ ja: '有効', en: 'Active' })}
                  </span>
                </span>
                <span class="device-cell">
                  <small class="flabel">{t({ ja: '最終同期', en: 'Last sync' })}</small>
                  <span title={d.lastSync ? fmtTime(d.lastSync) : t({ ja: 'まだ報告されていません', en: 'not reported yet' })} data-testid="device-last-sync">
                    {d.lastSync ? shortTime(d.lastSync) : '—'}
                  </span>
                </span>
                <span class="device-action">
                  {!d.thisDevice && !d.revoked && (
                    <button
                      class={confirm === d.id ? 'btn small on' : 'btn small'}
                      onClick={() => {
                        setConfirm(confirm === d.id ? null : d.id);
                        setNotice(null);
                      }}
                      data-testid="device-revoke"
                    >
                      {t({ ja: '失効', en: 'Revoke' })}
                    </button>
                  )}
                </span>
              </div>
              {confirm === d.id && (
                <div class="row-editor" data-testid="revoke-confirm">
                  <p class="confirm-text">
                    {t({
                      ja: `「${d.label}」を失効させますか。この端末はすぐに同期できなくなり、次に接続したときに端末内のデータと鍵を消去します。もう一度使うには新しい登録コードで登録し直します。`,
                      en: `Revoke "${d.label}"? It stops syncing at once and erases its data and keys at its next contact. To use it again, enroll it with a new code.`,
                    })}
                  </p>
                  <div class="row tight">
                    <button class="btn primary danger" disabled={busy} onClick={() => void revoke(d)} data-testid="revoke-yes">
                      {t({ ja: '失効させる', en: 'Revoke' })}
                    </button>
                    <button class="btn" onClick={() => setConfirm(null)} data-testid="revoke-no">
                      {t({ ja: 'やめる', en: 'Cancel' })}
                    </button>
                  </div>
                </div>
              )}
            </li>
          ))}
        </ul>
      </div>
      <IssueCode api={api} onIssued={() => void load()} />
    </div>
  );
}

/** 登録コードを発行: the role and how long it stays valid, then the code and its QR code, once. */
function IssueCode({ api, onIssued }: { api: Api; onIssued: () => void }) {
  const t = useT();
  const [role, setRole] = useState<DeviceRole | null>(null);
  const [hours, setHours] = useState(24);
  const [issued, setIssued] = useState<IssuedCode | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);
  const issue = async () => {
    if (!role) return;
    setBusy(true);
    try {
      setIssued(await api.issueEnrollmentCode(role, hours));
      setError(null);
      onIssued();
    } catch (e) {
      setError(e as UiError);
    } finally {
      setBusy(false);
    }
  };
  const roleText = (r: DeviceRole): Text =>
    r === 'admin' ? { ja: '管理用端末', en: 'Admin device' } : { ja: 'メンバー端末', en: 'Member device' };
  return (
    <div class="pane issue-pane" data-testid="issue-code">
      <div class="pane-head">
        <h3>{t({ ja: '登録コードを発行', en: 'Issue an enrollment code' })}</h3>
      </div>
      {issued ? (
        <div class="pane-body issued" data-testid="code-issued" data-role={issued.role}>
          <p class="issued-for">
            {t(roleText(issued.role))}
            {t({ ja: 'の登録コード', en: ' enrollment code' })}
          </p>
          <strong class="code-big" data-testid="code-value">
            {/* Lines break only between the groups (a break opportunity after each hyphen). */}
            {issued.code.split('-').map((g, i, all) => (
              <Fragment key={i}>
                {g}
                {i < all.length - 1 && (
                  <>
                    -<wbr />
                  </>
                )}
              </Fragment>
            ))}
          </strong>
          <img class="qr" src={svgSrc(issued.qrSvg)} alt={t({ ja: '登録コードのQRコード', en: 'QR code of the enrollment code' })} data-testid="code-qr" />
          <div class="issued-text">
            <p data-testid="code-valid-until">
              {t({ ja: '有効期限: ', en: 'Valid until: ' })}
              {fmtTime(issued.validUntil)}
            </p>
            <p class="warn once">
              {t({
                ja: 'このコードは一度しか表示されません。登録する端末の担当者に直接手渡してください(メール・チャット・写真で送らないでください)。',
                en: 'This code is shown only once. Hand it over in person (never by e-mail, chat or photo).',
              })}
            </p>
          </div>
        </div>
      ) : (
        <div class="pane-body">
          <div class="ffield">
            <span class="flabel">{t({ ja: '登録する端末の種類', en: 'Device role' })}</span>
            <div class="seg" role="radiogroup">
              {ROLES.map((r) => (
                <button key={r} class={role === r ? 'btn on' : 'btn'} role="radio" aria-checked={role === r} onClick={() => setRole(r)} data-testid={`code-role-${r}`}>
                  {t(roleText(r))}
                </button>
              ))}
            </div>
            {role === 'admin' && (
              <p class="hint small-note">
                {t({ ja: '管理用端末は職員・端末の管理ができます。必要なときだけ発行してください。', en: 'An admin device can manage staff and devices. Issue one only when needed.' })}
              </p>
            )}
          </div>
          <div class="ffield">
            <span class="flabel">{t({ ja: '有効期間', en: 'Valid for' })}</span>
            <div class="seg" role="radiogroup">
              {VALIDITY.map((v) => (
                <button key={v.hours} class={hours === v.hours ? 'btn on' : 'btn'} role="radio" aria-checked={hours === v.hours} onClick={() => setHours(v.hours)} data-testid={`code-hours-${v.hours}`}>
                  {t(v.text)}
                </button>
              ))}
            </div>
          </div>
          <p class="hint">
            {t({
              ja: '新しい端末の登録画面でこのコードを入力するか、QRコードを読み取ります。コードは1回だけ使えます。',
              en: 'Enter the code on the new device’s enrollment screen, or scan the QR code. It works once.',
            })}
          </p>
        </div>
      )}
      <div class="pane-foot">
        <ErrorBox error={error} />
        <div class="row tight">
          {issued ? (
            <button class="btn primary" onClick={() => setIssued(null)} data-testid="code-done">
              {t({ ja: '渡しました(閉じる)', en: 'Handed over (close)' })}
            </button>
          ) : (
            <button class="btn primary" disabled={!role || busy} onClick={() => void issue()} data-testid="code-issue">
              {t({ ja: '発行する', en: 'Issue' })}
            </button>
          )}
        </div>
      </div>
    </div>
  );
}
