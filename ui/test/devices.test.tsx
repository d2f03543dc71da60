import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import { BackOffice } from '../src/screens/BackOffice';
import type { DeviceRow, IssuedCode, RosterView, StaffRole, UiError } from '../src/ipc/api';
import { fakeApi } from './fake';

const self: DeviceRow = { id: 'aa'.repeat(16), role: 'admin', label: '管理用端末', revoked: false, lastSync: null, thisDevice: true };
const year = new Date().getFullYear();
const tablet: DeviceRow = { id: '0b'.repeat(16), role: 'member', label: 'タブレット 1A2B', revoked: false, lastSync: `${year}-11-21T09:41:00+09:00`, thisDevice: false };
const gone: DeviceRow = { id: 'cc'.repeat(16), role: 'member', label: 'タブレット 9F00', revoked: true, lastSync: '2024-03-02T08:00:00+09:00', thisDevice: false };

const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240"><rect width="10" height="10" fill="#000"/></svg>';
const issued: IssuedCode = { code: 'ABCD-EFGH-JKLM-NPQR-STUV-WXYZ-23', role: 'admin', qrSvg: svg, validUntil: '2026-11-24T10:00:00+09:00' };

function open(api: ReturnType<typeof fakeApi>, role: StaffRole = 'admin') {
  render(<BackOffice api={api} staffRole={role} onOpenPatient={() => undefined} />);
  fireEvent.click(screen.getByTestId('bo-devices'));
}

const rowOf = (d: DeviceRow) => screen.getAllByTestId('device-row').find((r) => r.getAttribute('data-device-id') === d.id) as HTMLElement;

describe('端末', () => {
  const base = () => ({ roster: vi.fn(() => new Promise<RosterView>(() => undefined)) });

  it('is an administrator’s tab only', () => {
    for (const role of ['doctor', 'nurse', 'office'] as const) {
      const { unmount } = render(<BackOffice api={fakeApi(base())} staffRole={role} onOpenPatient={() => undefined} />);
      expect(screen.queryByTestId('bo-devices')).toBeNull();
      unmount();
    }
    render(<BackOffice api={fakeApi(base())} staffRole="admin" onOpenPatient={() => undefined} />);
    expect(screen.getByTestId('bo-devices').textContent).toBe('端末');
  });

  it('lists the devices as given: role, state, last sync —, この端末; no 失効 for this device or a revoked one', async () => {
    const api = fakeApi({ ...base(), clinicDevices: vi.fn(() => Promise.resolve([self, tablet, gone])) });
    open(api);
    await screen.findAllByTestId('device-row');
    expect(screen.getAllByTestId('device-label').map((l) => l.textContent)).toEqual(['管理用端末', 'タブレット 1A2B', 'タブレット 9F00']);
    const mine = within(rowOf(self));
    expect(mine.getByTestId('this-device').textContent).toBe('この端末');
    expect(mine.queryByTestId('device-revoke')).toBeNull();
    expect(rowOf(self).textContent).toContain('管理用');
    expect(within(rowOf(self)).getByTestId('device-last-sync').textContent).toBe('—');
    expect(within(rowOf(tablet)).getByTestId('device-last-sync').textContent).toBe('11/21 09:41');
    expect(within(rowOf(tablet)).getByTestId('device-last-sync').getAttribute('title')).toBe(`${year}-11-21 09:41`);
    expect(within(rowOf(gone)).getByTestId('device-last-sync').textContent).toBe('2024/03/02');
    expect(rowOf(self).textContent).toContain('ID aaaaaaaa');
    const tab = within(rowOf(tablet));
    expect(tab.queryByTestId('this-device')).toBeNull();
    expect(tab.getByTestId('device-state').textContent).toBe('有効');
    expect(rowOf(tablet).textContent).toContain('メンバー');
    expect(tab.getByTestId('device-revoke').textContent).toBe('失効');
    expect(within(rowOf(gone)).getByTestId('device-state').textContent).toBe('失効');
    expect(within(rowOf(gone)).queryByTestId('device-revoke')).toBeNull();
    expect(screen.getAllByTestId('device-revoke')).toHaveLength(1);
  });

  it('失効 asks first (the device erases its data at its next contact), then sends that id only', async () => {
    let revoked = false;
    const api = fakeApi({
      ...base(),
      clinicDevices: vi.fn(() => Promise.resolve(revoked ? [self, { ...tablet, revoked: true }] : [self, tablet])),
      revokeDevice: vi.fn(() => {
        revoked = true;
        return Promise.resolve({ ...tablet, revoked: true });
      }),
    });
    open(api);
    await screen.findAllByTestId('device-row');
    fireEvent.click(within(rowOf(tablet)).getByTestId('device-revoke'));
    const confirm = within(rowOf(tablet)).getByTestId('revoke-confirm');
    expect(confirm.textContent).toContain('「タブレット 1A2B」を失効させますか');
    expect(confirm.textContent).toContain('次に接続したときに端末内のデータと鍵を消去します');
    expect(api.revokeDevice).not.toHaveBeenCalled();
    // やめる: nothing sent.
    fireEvent.click(screen.getByTestId('revoke-no'));
    expect(screen.queryByTestId('revoke-confirm')).toBeNull();
    expect(api.revokeDevice).not.toHaveBeenCalled();
    fireEvent.click(within(rowOf(tablet)).getByTestId('device-revoke'));
    fireEvent.click(screen.getByTestId('revoke-yes'));
    await waitFor(() => expect(api.revokeDevice).toHaveBeenCalledTimes(1));
    expect(api.revokeDevice).toHaveBeenCalledWith(tablet.id);
    expect((await screen.findByTestId('devices-notice')).textContent).toContain('失効させました');
    await waitFor(() => expect(within(rowOf(tablet)).getByTestId('device-state').textContent).toBe('失効'));
    expect(api.clinicDevices).toHaveBeenCalledTimes(2);
  });

  it('登録コードを発行 sends the role and hours chosen, then shows the code and its QR code once', async () => {
    const api = fakeApi({
      ...base(),
      clinicDevices: vi.fn(() => Promise.resolve([self])),
      issueEnrollmentCode: vi.fn(() => Promise.resolve(issued)),
    });
    open(api);
    await screen.findAllByTestId('device-row');
    const issue = screen.getByTestId('code-issue') as HTMLButtonElement;
    // The role is chosen, never defaulted.
    expect(issue.disabled).toBe(true);
    fireEvent.click(screen.getByTestId('code-role-admin'));
    fireEvent.click(screen.getByTestId('code-hours-72'));
    fireEvent.click(issue);
    await screen.findByTestId('code-issued');
    expect(api.issueEnrollmentCode).toHaveBeenCalledTimes(1);
    expect(api.issueEnrollmentCode).toHaveBeenCalledWith('admin', 72);
    expect(screen.getByTestId('code-value').textContent).toBe(issued.code);
    const img = screen.getByTestId('code-qr') as HTMLImageElement;
    const prefix = 'data:image/svg+xml;utf8,';
    const src = img.getAttribute('src') ?? '';
    expect(src.startsWith(prefix)).toBe(true);
    expect(decodeURIComponent(src.slice(prefix.length))).toBe(svg);
    expect(screen.getByTestId('code-valid-until').textContent).toBe('有効期限: 2026-11-24 10:00');
    expect(screen.getByTestId('code-issued').textContent).toContain('管理用端末の登録コード');
    expect(screen.getByTestId('code-issued').textContent).toContain('一度しか表示されません');
    expect(screen.getByTestId('code-issued').textContent).toContain('直接手渡して');
    // 渡しました: the code is gone from the screen.
    fireEvent.click(screen.getByTestId('code-done'));
    expect(screen.queryByTestId('code-value')).toBeNull();
    expect(document.body.textContent).not.toContain(issued.code);
  });

  it('a member code for 7 days; a refusal is shown in Japanese with the next step', async () => {
    const refusal: UiError = {
      code: 'not_admin',
      ja: '登録コードは医療機関の管理用端末でだけ発行できます。管理用端末で操作してください。',
      en: 'x',
      triesLeft: null,
    };
    const api = fakeApi({ ...base(), issueEnrollmentCode: vi.fn(() => Promise.reject(refusal)) });
    open(api);
    fireEvent.click(await screen.findByTestId('code-role-member'));
    fireEvent.click(screen.getByTestId('code-hours-168'));
    fireEvent.click(screen.getByTestId('code-issue'));
    const error = await screen.findByTestId('error');
    expect(api.issueEnrollmentCode).toHaveBeenCalledWith('member', 168);
    expect(error.getAttribute('data-code')).toBe('not_admin');
    expect(error.textContent).toContain('管理用端末で操作してください');
    expect(screen.queryByTestId('code-issued')).toBeNull();
  });

  it('the validity defaults to 24時間', async () => {
    const api = fakeApi({ ...base(), issueEnrollmentCode: vi.fn(() => Promise.resolve({ ...issued, role: 'member' as const })) });
    open(api);
    fireEvent.click(await screen.findByTestId('code-role-member'));
    expect(screen.getByTestId('code-hours-24').getAttribute('aria-checked')).toBe('true');
    fireEvent.click(screen.getByTestId('code-issue'));
    await screen.findByTestId('code-issued');
    expect(api.issueEnrollmentCode).toHaveBeenCalledWith('member', 24);
  });
});
