import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import { BackOffice } from '../src/screens/BackOffice';
import { LangContext } from '../src/i18n';
import type { AuditFilter, AuditLogView, PatientRow, RosterView, StaffRow } from '../src/ipc/api';
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
    const api = fakeApi({ roster: vi.fn(() => new Promise<RosterView>(() => undefined)), clinicAudit: vi.fn(() => Promise.resolve(log)) });
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

  it('is the clinic-wide history: who, which patient, which device (short id); the set-up tool as 管理用端末', async () => {
    const rows: AuditLogView = {
      chainOk: true,
      rows: [
        { ...(log.rows[1] as AuditLogView['rows'][number]), seq: 3, device: '0123456789abcdef0123456789abcdef', staffName: '看護 花子' },
        { ...(log.rows[0] as AuditLogView['rows'][number]), seq: 3, device: 'fedcba9876543210fedcba9876543210', staff: '', staffName: '' },
      ],
    };
    const api = fakeApi({ roster: vi.fn(() => new Promise<RosterView>(() => undefined)), clinicAudit: vi.fn(() => Promise.resolve(rows)) });
    render(<BackOffice api={api} onOpenPatient={() => undefined} />);
    fireEvent.click(screen.getByTestId('bo-audit'));
    const shown = await screen.findAllByTestId('audit-row');
    // Same seq from two devices: both rows are there.
    expect(shown).toHaveLength(2);
    const cells = (r: HTMLElement) => Array.from(r.querySelectorAll('td')).map((c) => c.textContent);
    expect(cells(shown[0] as HTMLElement)).toEqual(['2026-11-21 00:11', '看護 花子', '架空 ユキ', '資格確認 再照会の依頼', 'カルテ', '01234567']);
    expect(cells(shown[1] as HTMLElement)).toEqual(['2026-11-21 00:10', '管理用端末', '', '編集 設定の変更', '設定「表示言語」', 'fedcba98']);
    expect(screen.getByTestId('audit-chain').textContent).toBe('監査ログの連鎖は正常です(改ざんなし)。');
    expect(api.auditLog).not.toHaveBeenCalled();
  });

  it('the filters send the exact AuditFilter: staff, a patient found by name, the dates', async () => {
    const staff: StaffRow[] = [
      { id: 's1', name: '訓練 医師', kana: 'クンレン イシ', role: 'doctor', qualifications: '', active: true },
      { id: 's2', name: '看護 花子', kana: 'カンゴ ハナコ', role: 'nurse', qualifications: '', active: true },
    ];
    const patients: PatientRow[] = [
      { id: 'p1', name: '架空 ユキ', kana: 'カクウ ユキ', birthDate: null, lastVisit: null, careEnded: null },
      { id: 'p2', name: '山田 太郎', kana: 'ヤマダ タロウ', birthDate: null, lastVisit: null, careEnded: null },
    ];
    const clinicAudit = vi.fn((_f: AuditFilter, _limit: number) => Promise.resolve(log));
    const api = fakeApi({
      roster: vi.fn(() => new Promise<RosterView>(() => undefined)),
      staffList: vi.fn(() => Promise.resolve(staff)),
      patientList: vi.fn(() => Promise.resolve(patients)),
      clinicAudit,
    });
    render(<BackOffice api={api} onOpenPatient={() => undefined} />);
    fireEvent.click(screen.getByTestId('bo-audit'));
    await screen.findAllByTestId('audit-row');
    const last = () => clinicAudit.mock.calls.at(-1);
    expect(clinicAudit).toHaveBeenCalledTimes(1);
    expect(last()).toEqual([{ patientId: null, staffId: null, from: null, to: null }, 500]);

    fireEvent.click(await screen.findByText('看護 花子'));
    await waitFor(() => expect(clinicAudit).toHaveBeenCalledTimes(2));
    expect(last()).toEqual([{ patientId: null, staffId: 's2', from: null, to: null }, 500]);

    // A patient by (part of) the name: only the matches are offered; picking one filters.
    fireEvent.input(screen.getByTestId('audit-patient-search'), { target: { value: '山田' } });
    const options = screen.getAllByTestId('audit-patient-option');
    expect(options.map((o) => o.getAttribute('data-patient-id'))).toEqual(['p2']);
    expect(clinicAudit).toHaveBeenCalledTimes(2);
    fireEvent.click(options[0] as HTMLElement);
    await waitFor(() => expect(clinicAudit).toHaveBeenCalledTimes(3));
    expect(last()).toEqual([{ patientId: 'p2', staffId: 's2', from: null, to: null }, 500]);
    expect(screen.getByTestId('audit-patient').textContent).toContain('山田 太郎');

    fireEvent.input(screen.getByTestId('audit-from'), { target: { value: '2026-11-01' } });
    fireEvent.input(screen.getByTestId('audit-to'), { target: { value: '2026-11-21' } });
    await waitFor(() => expect(clinicAudit).toHaveBeenCalledTimes(5));
    expect(last()).toEqual([{ patientId: 'p2', staffId: 's2', from: '2026-11-01', to: '2026-11-21' }, 500]);

    // Back to everyone and every patient; an emptied date is no date, not ''.
    fireEvent.click(screen.getByTestId('audit-staff-all'));
    fireEvent.click(screen.getByTestId('audit-patient-clear'));
    fireEvent.input(screen.getByTestId('audit-from'), { target: { value: '' } });
    await waitFor(() => expect(last()).toEqual([{ patientId: null, staffId: null, from: null, to: '2026-11-21' }, 500]));
  });

  it('saves the filtered history as CSV and says where, warning that the file is not encrypted', async () => {
    const staff: StaffRow[] = [{ id: 's2', name: '看護 花子', kana: 'カンゴ ハナコ', role: 'nurse', qualifications: '', active: true }];
    const saveAuditCsv = vi.fn((_f: AuditFilter) => Promise.resolve('/home/office/Downloads/houmon-audit.csv'));
    const api = fakeApi({
      roster: vi.fn(() => new Promise<RosterView>(() => undefined)),
      staffList: vi.fn(() => Promise.resolve(staff)),
      clinicAudit: vi.fn(() => Promise.resolve(log)),
      saveAuditCsv,
    });
    render(<BackOffice api={api} onOpenPatient={() => undefined} />);
    fireEvent.click(screen.getByTestId('bo-audit'));
    await screen.findAllByTestId('audit-row');
    fireEvent.click(await screen.findByText('看護 花子'));
    fireEvent.click(screen.getByTestId('audit-csv'));
    const saved = await screen.findByTestId('audit-csv-saved');
    expect(saveAuditCsv).toHaveBeenLastCalledWith({ patientId: null, staffId: 's2', from: null, to: null });
    expect(saved.textContent).toContain('/home/office/Downloads/houmon-audit.csv');
    expect(saved.textContent).toContain('暗号化されていません');
  });

  it('a refused history says why, in Japanese, with a retry', async () => {
    const api = fakeApi({
      roster: vi.fn(() => new Promise<RosterView>(() => undefined)),
      clinicAudit: vi.fn(() => Promise.reject({ code: 'locked', ja: '画面がロックされています。職員PINでサインインしてください。', en: 'x', triesLeft: null })),
    });
    render(<BackOffice api={api} onOpenPatient={() => undefined} />);
    fireEvent.click(screen.getByTestId('bo-audit'));
    const error = await screen.findByTestId('error');
    expect(error.getAttribute('data-code')).toBe('locked');
    expect(error.textContent).toContain('サインインしてください');
    expect(screen.queryAllByTestId('audit-row')).toHaveLength(0);
  });
});
