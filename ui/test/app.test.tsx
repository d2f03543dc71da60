import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import { App } from '../src/app';
import { Lock } from '../src/screens/Lock';
import { fakeApi, okCheck, visit } from './fake';

describe('app shell and 今日の訪問', () => {
  it('shows the training banner, the sync status and today’s visits in Japanese, then English', async () => {
    render(<App api={fakeApi()} />);
    await screen.findByTestId('visit-row');
    expect(screen.getByTestId('training-banner').textContent).toContain('訓練モード');
    expect(screen.getByTestId('sync-status').textContent).toBe('訓練モード');
    expect(screen.getByTestId('check-badge').textContent).toContain('初回');
    fireEvent.click(screen.getByTestId('lang'));
    await waitFor(() => expect(screen.getByTestId('training-banner').textContent).toContain('TRAINING MODE'));
    expect(screen.getByTestId('check-badge').textContent).toContain('First visit');
    expect(document.documentElement.lang).toBe('en');
  });

  it('starts in the language and text size saved last time, and saves a change', async () => {
    const info = await fakeApi().appInfo();
    const setUserSetting = vi.fn(() => Promise.resolve({ managedByOrganization: false, settings: [], problems: [] }));
    const api = fakeApi({
      appInfo: vi.fn(() => Promise.resolve({ ...info, uiLanguage: 'en' as const, largeText: true })),
      setUserSetting,
    });
    render(<App api={api} />);
    await waitFor(() => expect(screen.getByTestId('training-banner').textContent).toContain('TRAINING MODE'));
    await waitFor(() => expect(document.documentElement.lang).toBe('en'));
    expect(document.documentElement.classList.contains('large')).toBe(true);
    fireEvent.click(screen.getByTestId('lang'));
    fireEvent.click(screen.getByTestId('large-text'));
    await waitFor(() => expect(document.documentElement.lang).toBe('ja'));
    expect(document.documentElement.classList.contains('large')).toBe(false);
    expect(setUserSetting).toHaveBeenCalledWith('uiLanguage', 'ja');
    expect(setUserSetting).toHaveBeenCalledWith('largeText', 'false');
  });

  it('a refused save of the language is shown, not swallowed', async () => {
    const api = fakeApi({
      setUserSetting: vi.fn(() =>
        Promise.reject({ code: 'setting_refused', ja: '表示言語は管理者により設定されているため変更できません。', en: 'x', triesLeft: null }),
      ),
    });
    render(<App api={api} />);
    await screen.findByTestId('visit-row');
    fireEvent.click(screen.getByTestId('lang'));
    await waitFor(() => expect(screen.getByTestId('error').getAttribute('data-code')).toBe('setting_refused'));
  });

  it('large-text mode scales the whole UI', async () => {
    render(<App api={fakeApi()} />);
    fireEvent.click(screen.getByTestId('large-text'));
    await waitFor(() => expect(document.documentElement.classList.contains('large')).toBe(true));
  });

  it('offers 再照会 only where allowed and shows its answer', async () => {
    const api = fakeApi({
      todaysVisits: vi.fn(() =>
        Promise.resolve([visit(), visit({ visitId: 'v2', patientId: 'p2', patientName: '鈴木 一郎', check: okCheck })]),
      ),
      requery: vi.fn(() =>
        Promise.resolve({ outcome: 'valid' as const, ja: '資格を確認しました。', en: 'ok', qualification: null, check: okCheck, noticeJa: null }),
      ),
    });
    render(<App api={api} />);
    const rows = await screen.findAllByTestId('visit-row');
    expect(rows[0]?.querySelector('[data-testid="requery"]')).toBeNull();
    expect(rows[0]?.querySelector('[data-testid="card-check"]')).not.toBeNull();
    const btn = rows[1]?.querySelector('[data-testid="requery"]') as HTMLButtonElement;
    fireEvent.click(btn);
    await screen.findByText('資格を確認しました。');
    expect(api.requery).toHaveBeenCalledWith('p2', 'v2');
  });

  it('every button is at least the touch size in the stylesheet', async () => {
    const fs = await import('node:fs');
    const css = fs.readFileSync('src/styles.css', 'utf8');
    expect(css).toMatch(/--touch: 48px/);
    expect(css).toMatch(/\.btn \{ min-height: var\(--touch\)/);
    expect(css).toMatch(/\.key \{ min-height: 64px/);
  });

  it('locks and unlocks with the staff PIN', async () => {
    const api = fakeApi();
    render(<App api={api} />);
    await screen.findByTestId('visit-row');
    fireEvent.click(screen.getByTestId('lock-now'));
    await screen.findByTestId('lock');
    const options = await screen.findAllByTestId('staff-option');
    expect(options.map((o) => o.getAttribute('aria-selected'))).toEqual(['true', 'false']);
    fireEvent.click(screen.getByText(/看護 花子/));
    fireEvent.input(screen.getByTestId('staff-pin'), { target: { value: '0000' } });
    fireEvent.click(screen.getByTestId('unlock'));
    await screen.findByTestId('visit-row');
    expect(api.unlock).toHaveBeenCalledWith('s2', '0000');
    expect(api.appInfo).toHaveBeenCalledTimes(2);
  });

  it('someone without a PIN on this device enters the set-up code and chooses one', async () => {
    const api = fakeApi({
      signInStaff: vi.fn(() => Promise.resolve([{ id: 's3', name: '訪問 看護師', role: 'nurse' as const, pinOnDevice: false }])),
      appInfo: vi.fn(async () => ({ ...(await fakeApi().appInfo()), trainingMode: false, locked: true })),
    });
    render(<App api={api} />);
    await screen.findByTestId('setup-code');
    const button = screen.getByTestId('unlock') as HTMLButtonElement;
    fireEvent.input(screen.getByTestId('setup-code'), { target: { value: 'abcd-efgh-jkmn' } });
    fireEvent.input(screen.getByTestId('new-pin'), { target: { value: '482913' } });
    fireEvent.input(screen.getByTestId('new-pin-again'), { target: { value: '482914' } });
    fireEvent.click(button);
    await screen.findByText('2回入力したPINが一致しません。もう一度入力してください。');
    expect(api.choosePin).not.toHaveBeenCalled();
    fireEvent.input(screen.getByTestId('setup-code'), { target: { value: 'abcd-efgh-jkmn' } });
    fireEvent.input(screen.getByTestId('new-pin'), { target: { value: '482913' } });
    fireEvent.input(screen.getByTestId('new-pin-again'), { target: { value: '482913' } });
    fireEvent.click(button);
    await waitFor(() => expect(api.choosePin).toHaveBeenCalledWith('s3', 'ABCD-EFGH-JKMN', '482913'));
    expect(api.unlock).not.toHaveBeenCalled();
  });

  it('a new clinic’s admin device registers the first administrator; a member device waits', async () => {
    const locked = async () => ({ ...(await fakeApi().appInfo()), trainingMode: false, locked: true });
    const none = vi.fn(() => Promise.resolve([]));
    const member = render(<App api={fakeApi({ signInStaff: none, appInfo: vi.fn(locked) })} />);
    await screen.findByTestId('waiting-for-staff');
    expect(screen.queryByTestId('unlock')).toBeNull();
    member.unmount();
    const api = fakeApi({ signInStaff: none, appInfo: vi.fn(async () => ({ ...(await locked()), canFoundAdmin: true })) });
    render(<App api={api} />);
    await screen.findByTestId('found-admin');
    fireEvent.input(screen.getByTestId('admin-name'), { target: { value: '管理 花子' } });
    fireEvent.input(screen.getByTestId('admin-kana'), { target: { value: 'カンリ ハナコ' } });
    fireEvent.input(screen.getByTestId('new-pin'), { target: { value: '482913' } });
    fireEvent.input(screen.getByTestId('new-pin-again'), { target: { value: '482913' } });
    fireEvent.click(screen.getByTestId('unlock'));
    await waitFor(() => expect(api.foundFirstAdmin).toHaveBeenCalledWith('管理 花子', 'カンリ ハナコ', '482913'));
  });
});

describe('医療機関の設定 (a clinic founded from this device)', () => {
  it('asks for the name and code first, sends them exactly, and shows a refusal in Japanese', async () => {
    const refused = { code: 'invalid_institution_code' as const, ja: '医療機関コードが正しくありません。', en: 'Invalid code.', triesLeft: null };
    const setUpClinic = vi.fn().mockRejectedValueOnce(refused).mockResolvedValueOnce(null);
    const api = fakeApi({ setUpClinic });
    const done = vi.fn();
    render(<Lock api={api} training={false} canFoundAdmin={false} needsClinicSetup onClinicSetUp={done} onUnlocked={() => undefined} />);
    expect(screen.queryByTestId('staff-list')).toBeNull();
    const type = (id: string, v: string) => fireEvent.input(screen.getByTestId(id), { target: { value: v } });
    type('clinic-name', 'さくら在宅クリニック');
    type('clinic-institution', '3410712363');
    type('clinic-phone', '03-0000-0000');
    fireEvent.click(screen.getByTestId('clinic-submit'));
    await screen.findByText('医療機関コードが正しくありません。');
    expect(done).not.toHaveBeenCalled();
    type('clinic-institution', '3410712362');
    fireEvent.click(screen.getByTestId('clinic-submit'));
    await waitFor(() => expect(done).toHaveBeenCalled());
    expect(setUpClinic).toHaveBeenLastCalledWith('さくら在宅クリニック', '3410712362', '', '03-0000-0000');
  });
});
