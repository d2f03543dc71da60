import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import { BackOffice } from '../src/screens/BackOffice';
import { LangContext } from '../src/i18n';
import type { AuditLogView, RosterView } from '../src/ipc/api';
import { fakeApi } from './fake';

const log: AuditLogView = {
  chainOk: true,
  rows: [
    {
      seq: 7,
      at: '2026-11-21T00:10:00Z',
      staff: 's1',
      staffName: '訓練 医師',
      patientName: null,
      device: '0a0b',
      kind: 'edit',
      action: 'edit',
      target: 'setting:uiLanguage',
      targetJa: '設定「表示言語」',
      targetEn: 'Setting "Display language"',
      detail: 'user setting',
      detailJa: '設定の変更',
      detailEn: 'Setting changed',
    },
    {
      seq: 8,
      at: '2026-11-21T00:11:00Z',
      staff: 's1',
      staffName: '訓練 医師',
      patientName: '架空 ユキ',
      device: '0a0b',
      kind: 'qualification',
      action: 'qualification',
      target: 'chart:abc',
      targetJa: 'カルテ',
      targetEn: 'Chart',
      detail: 'request requery',
      detailJa: '再照会の依頼',
      detailEn: 'Re-query requested',
    },
  ],
};

describe('監査ログ', () => {
  it('shows each entry in Japanese, not the stored codes, and in English when chosen', async () => {
    const api = fakeApi({ roster: vi.fn(() => new Promise<RosterView>(() => undefined)), auditLog: vi.fn(() => Promise.resolve(log)) });
    const { unmount } = render(<BackOffice api={api} onOpenPatient={() => undefined} />);
    fireEvent.click(screen.getByTestId('bo-audit'));
    const rows = await screen.findAllByTestId('audit-row');
    expect(rows[0]?.textContent).toContain('編集');
    expect(rows[0]?.textContent).toContain('設定「表示言語」');
    expect(rows[0]?.textContent).toContain('設定の変更');
    expect(rows[1]?.textContent).toContain('資格確認');
    expect(rows[1]?.textContent).toContain('再照会の依頼');
    for (const r of rows) {
      for (const raw of ['edit', 'qualification', 'user setting', 'request requery', 'setting:', 'chart:']) {
        expect(r.textContent).not.toContain(raw);
      }
    }
    unmount();

    render(
      <LangContext.Provider value="en">
        <BackOffice api={api} onOpenPatient={() => undefined} />
      </LangContext.Provider>,
    );
    fireEvent.click(screen.getByTestId('bo-audit'));
    await waitFor(() => expect(screen.getAllByTestId('audit-row')[1]?.textContent).toContain('Re-query requested'));
    expect(screen.getAllByTestId('audit-row')[1]?.textContent).toContain('Qualification check');
  });
});
