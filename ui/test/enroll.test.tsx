import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import { App } from '../src/app';
import { SyncIndicator } from '../src/components/SyncIndicator';
import type { SyncStatus, UiError } from '../src/ipc/api';
import { fakeApi, trainingStatus } from './fake';

function status(over: Partial<SyncStatus>): SyncStatus {
  return { ...trainingStatus, ...over };
}

const unenrolled = status({
  state: 'unenrolled' as const,
  labelJa: '未登録',
  labelEn: 'Not enrolled',
  nextJa: '管理者から受け取った登録コードを入力して、この端末を登録してください。',
  nextEn: 'Enter the enrollment code from your administrator to enroll this device.',
  needsEnrollment: true,
});

const revoked = status({
  state: 'refused' as const,
  labelJa: '拒否—端末が失効',
  labelEn: 'Refused — device revoked',
  nextJa: 'この端末の登録が取り消されたため、データと鍵を消去しました。引き続き使う場合は、新しい登録コードで再登録してください。',
  nextEn: "This device's enrollment was revoked, so its data and keys were erased.",
  needsEnrollment: true,
});

const online = status({ state: 'online' as const, labelJa: '最新(09:41)', labelEn: 'Up to date (09:41)', nextJa: '送信済み' });

const notEnrolled: UiError = { code: 'not_enrolled', ja: '未登録です。', en: 'Not enrolled.', triesLeft: null };

describe('sync indicator', () => {
  it.each([
    [trainingStatus, '訓練モード', 'training'],
    [unenrolled, '未登録', 'unenrolled'],
    [status({ state: 'syncing' as const, labelJa: '同期中', labelEn: 'Syncing' }), '同期中', 'syncing'],
    [online, '最新(09:41)', 'online'],
    [status({ state: 'offline' as const, pending: 2, labelJa: 'オフライン(未送信2件)' }), 'オフライン(未送信2件)', 'offline'],
    [revoked, '拒否—端末が失効', 'refused'],
  ])('shows %#: %s', (s, label, state) => {
    render(<SyncIndicator status={s} online={true} />);
    const el = screen.getByTestId('sync-status');
    expect(el.textContent).toBe(label);
    expect(el.getAttribute('data-state')).toBe(state);
    expect(el.getAttribute('title')).toBe(s.nextJa);
  });

  it('says offline with the pending count as soon as the network drops', () => {
    render(<SyncIndicator status={{ ...online, pending: 3 }} online={false} />);
    expect(screen.getByTestId('sync-status').textContent).toBe('オフライン(未送信3件)');
  });
});

describe('端末の登録', () => {
  it('shows the enrollment screen, refuses a bad code with the next step, then enrolls', async () => {
    let current = unenrolled;
    const api = fakeApi({
      appInfo: vi.fn(() => (current.needsEnrollment ? Promise.reject(notEnrolled) : fakeApi().appInfo())),
      syncStatus: vi.fn(() => Promise.resolve(current)),
      enroll: vi.fn((code: string) => {
        if (code !== 'GOOD-CODE') {
          return Promise.reject({
            code: 'code_rejected',
            ja: '登録コードが無効か、すでに使われています。管理画面で新しいコードを発行して入力してください。',
            en: 'The enrollment code is invalid or already used.',
            triesLeft: null,
          } satisfies UiError);
        }
        current = online;
        return Promise.resolve(online);
      }),
    });
    render(<App api={api} />);
    await screen.findByTestId('enroll');
    expect(screen.getByTestId('enroll-reason').textContent).toContain('登録コードを入力');
    expect(screen.getByTestId('sync-status').textContent).toBe('未登録');
    expect(screen.queryByTestId('visit-row')).toBeNull();

    fireEvent.input(screen.getByTestId('enroll-code'), { target: { value: 'WRONG' } });
    fireEvent.click(screen.getByTestId('enroll-submit'));
    expect((await screen.findByTestId('error')).textContent).toContain('新しいコード');

    fireEvent.input(screen.getByTestId('enroll-code'), { target: { value: 'GOOD-CODE' } });
    fireEvent.click(screen.getByTestId('enroll-submit'));
    await screen.findByTestId('visit-row');
    expect(api.enroll).toHaveBeenLastCalledWith('GOOD-CODE');
    expect(screen.queryByTestId('enroll')).toBeNull();
    expect(screen.getByTestId('sync-status').textContent).toBe('最新(09:41)');
  });

  it('after a revocation says why the data was erased', async () => {
    const api = fakeApi({
      appInfo: vi.fn(() => Promise.reject(notEnrolled)),
      syncStatus: vi.fn(() => Promise.resolve(revoked)),
    });
    render(<App api={api} />);
    await screen.findByTestId('enroll');
    expect(screen.getByTestId('enroll-reason').textContent).toContain('データと鍵を消去しました');
    expect(screen.getByTestId('sync-status').textContent).toBe('拒否—端末が失効');
    fireEvent.click(screen.getByTestId('lang'));
    await waitFor(() => expect(screen.getByTestId('sync-status').textContent).toBe('Refused — device revoked'));
  });
});
