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
        row({ key: 'uiLanguage', labelJa: '表示言語', value: 'en', source: 'managed', locked: true, userEditable: false, input: 'choice' }),
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
    const level = screen.getByTestId('setting-uiLanguage');
    expect(level.textContent).toContain('🔒');
    expect(level.querySelector('[data-testid="edit-uiLanguage"]')).toBeNull();
    expect(screen.queryByTestId('demo-card-none')).toBeNull();
    fireEvent.input(lock.querySelector('input') as HTMLInputElement, { target: { value: '10' } });
    fireEvent.click(screen.getByTestId('save-autoLockMinutes'));
    await waitFor(() => expect(setUserSetting).toHaveBeenCalledWith('autoLockMinutes', '10'));
    await waitFor(() => expect(screen.getByTestId('setting-autoLockMinutes').textContent).toContain('ユーザー'));
  });

  it('shows values as people read them: choice labels and はい/いいえ, not codes', async () => {
    const page: PolicyPage = {
      managedByOrganization: false,
      problems: [],
      settings: [
        row({
          key: 'uiLanguage',
          value: 'en',
          input: 'choice',
          choices: [
            { value: 'ja', labelJa: '日本語', labelEn: 'Japanese' },
            { value: 'en', labelJa: '英語(English)', labelEn: 'English' },
          ],
        }),
        row({ key: 'largeText', value: 'true', input: 'bool' }),
        row({
          key: 'allowedIdentityModes',
          value: 'pin, visual',
          input: 'text',
          userEditable: false,
          choices: [
            { value: 'pin', labelJa: '暗証番号', labelEn: 'PIN' },
            { value: 'visual', labelJa: '目視', labelEn: 'Visual' },
          ],
        }),
      ],
    };
    render(<Settings api={fakeApi({ settings: vi.fn(() => Promise.resolve(page)) })} training={false} />);
    expect((await screen.findByTestId('value-uiLanguage')).textContent).toBe('英語(English)');
    expect(screen.getByTestId('value-largeText').textContent).toBe('はい');
    expect(screen.getByTestId('value-allowedIdentityModes').textContent).toBe('暗証番号、目視');
    expect(screen.getByTestId('setting-largeText').textContent).toContain('既定値');
    expect(screen.getByTestId('setting-largeText').textContent).not.toContain('default');
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
