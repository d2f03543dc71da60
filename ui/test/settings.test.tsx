import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import { Settings } from '../src/screens/Settings';
import type { PolicyPage, SettingRow } from '../src/ipc/api';
import { fakeApi } from './fake';

function row(over: Partial<SettingRow>): SettingRow {
  return {
    key: 'autoLockMinutes',
    labelJa: '自動ロックまでの分数',
    labelEn: 'Auto-lock minutes',
    descriptionJa: '操作がないとロックします。',
    descriptionEn: 'Locks when idle.',
    value: '5',
    source: 'default',
    origin: 'default',
    locked: false,
    userEditable: true,
    input: 'integer',
    choices: [],
    problems: [],
    ...over,
  };
}

describe('設定 (managed-policy page)', () => {
  it('shows the lock, the source, ignored values with their reason, and saves a user value', async () => {
    const page: PolicyPage = {
      managedByOrganization: true,
      problems: [{ ja: '不明な設定「noSuchKey」を無視しました。', en: 'Ignored unknown key', origin: '/etc/houmon/policies/managed/a.json', ignored: true }],
      settings: [
        row({
          problems: [{ ja: '1〜60の整数ではないため無視しました。', en: 'ignored', origin: '/etc/houmon/policies/managed/a.json', ignored: true }],
        }),
        row({ key: 'logLevel', labelJa: 'ログの詳しさ', value: 'debug', source: 'managed', locked: true, userEditable: false, input: 'choice' }),
      ],
    };
    const setUserSetting = vi.fn((_k: string, v: string | null) =>
      Promise.resolve({ ...page, settings: [row({ value: v ?? '5', source: 'user', origin: 'user' }), page.settings[1]!] }),
    );
    const api = fakeApi({ settings: vi.fn(() => Promise.resolve(page)), setUserSetting });
    render(<Settings api={api} training={false} />);
    await screen.findByTestId('managed-banner');
    expect(screen.getAllByTestId('setting-problems')[0]?.textContent).toContain('noSuchKey');
    const lock = screen.getByTestId('setting-autoLockMinutes');
    expect(lock.textContent).toContain('1〜60の整数ではない');
    const level = screen.getByTestId('setting-logLevel');
    expect(level.textContent).toContain('🔒');
    expect(level.querySelector('[data-testid="edit-logLevel"]')).toBeNull();
    expect(screen.queryByTestId('demo-card-none')).toBeNull();
    fireEvent.input(lock.querySelector('input') as HTMLInputElement, { target: { value: '10' } });
    fireEvent.click(screen.getByTestId('save-autoLockMinutes'));
    await waitFor(() => expect(setUserSetting).toHaveBeenCalledWith('autoLockMinutes', '10'));
    await waitFor(() => expect(screen.getByTestId('setting-autoLockMinutes').textContent).toContain('ユーザー'));
  });

  it('lists the training cards once the app says it is in training mode, even if the page opened first', async () => {
    const demoCards = vi.fn(() => Promise.resolve([{ id: 'vc-02', label: 'vc-02 訓練 二郎', note: '目視', onReader: false }]));
    const api = fakeApi({ demoCards });
    // App info not there yet: the page opens as if not in training mode.
    const { rerender } = render(<Settings api={api} training={false} />);
    expect(demoCards).not.toHaveBeenCalled();
    rerender(<Settings api={api} training={true} />);
    expect((await screen.findByTestId('demo-card-vc-02')).textContent).toContain('訓練 二郎');
  });
});
