import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import { BackOffice } from '../src/screens/BackOffice';
import type { PatientDetail, PatientRow, UiError } from '../src/ipc/api';
import { fakeApi } from './fake';

const rows: PatientRow[] = [
  { id: 'p2', name: '山田 太郎', kana: 'ヤマダ タロウ', birthDate: '1936-02-02', lastVisit: null, careEnded: null },
  { id: 'p1', name: '青木 花', kana: 'アオキ ハナ', birthDate: '1931-01-01', lastVisit: null, careEnded: null },
  { id: 'p3', name: '佐藤 一', kana: 'サトウ ハジメ', birthDate: '1929-03-03', lastVisit: null, careEnded: 'hospitalised' },
];

const registered: PatientDetail = {
  patient: {
    id: 'p-new',
    name: '架空 春子',
    kana: 'カクウ ハルコ',
    birthDate: '1940-04-01',
    sex: 'female',
    address: '架空市1-2-3',
    phone: '03-0000-0000',
    keyPerson: '架空 一郎(長男)',
    keyPersonPhone: '090-0000-0000',
    careManager: '介護 太郎',
    careOffice: '架空ケアプランセンター',
    primaryDoctor: '訓練 医師',
    idDocument: 'myNumberCard',
  },
  careEnded: null,
  careEndDate: null,
  history: [
    {
      at: '2026-11-21T10:00:00+09:00',
      byName: '訓練 医師',
      fields: [{ labelJa: '電話', labelEn: 'Phone', before: '', after: '03-0000-0000' }],
    },
  ],
};

async function openPatients(api: ReturnType<typeof fakeApi>) {
  render(<BackOffice api={api} onOpenPatient={() => undefined} />);
  fireEvent.click(screen.getByTestId('bo-patients'));
  await screen.findByTestId('patient-list');
}

function type(testid: string, value: string) {
  fireEvent.input(screen.getByTestId(testid), { target: { value } });
}

describe('患者', () => {
  it('lists in カナ order, in care by default; 終了 shows the reason as a badge', async () => {
    const api = fakeApi({ patientList: vi.fn(() => Promise.resolve(rows)) });
    await openPatients(api);
    const names = () => screen.getAllByTestId('patient-row').map((r) => r.getAttribute('data-patient'));
    expect(names()).toEqual(['青木 花', '山田 太郎']);
    expect(screen.queryByTestId('care-end-badge')).toBeNull();
    fireEvent.click(screen.getByTestId('filter-ended'));
    expect(names()).toEqual(['佐藤 一']);
    expect(screen.getByTestId('care-end-badge').textContent).toBe('入院');
  });

  it('registers a patient: every field of the form reaches savePatient, then the history shows', async () => {
    const api = fakeApi({
      patientList: vi.fn(() => Promise.resolve(rows)),
      savePatient: vi.fn(() => Promise.resolve('p-new')),
      patientDetail: vi.fn(() => Promise.resolve(registered)),
    });
    await openPatients(api);
    fireEvent.click(screen.getByTestId('patient-new'));
    await screen.findByTestId('patient-form');
    type('pf-name', '架空 春子');
    type('pf-kana', 'カクウ ハルコ');
    type('pf-birthDate', '1940-04-01');
    type('pf-address', '架空市1-2-3');
    type('pf-phone', '03-0000-0000');
    type('pf-keyPerson', '架空 一郎(長男)');
    type('pf-keyPersonPhone', '090-0000-0000');
    type('pf-careManager', '介護 太郎');
    type('pf-careOffice', '架空ケアプランセンター');
    type('pf-primaryDoctor', '訓練 医師');
    fireEvent.click(screen.getByTestId('pf-iddoc-myNumberCard'));
    // 性別 is chosen, never defaulted: without it nothing is sent and the typing stays.
    fireEvent.click(screen.getByTestId('patient-save'));
    await screen.findByText('性別を選んでください。');
    expect(api.savePatient).not.toHaveBeenCalled();
    expect((screen.getByTestId('pf-kana') as HTMLInputElement).value).toBe('カクウ ハルコ');
    fireEvent.click(screen.getByTestId('pf-sex-female'));
    fireEvent.click(screen.getByTestId('patient-save'));
    await waitFor(() => expect(api.savePatient).toHaveBeenCalledTimes(1));
    expect(api.savePatient).toHaveBeenCalledWith({
      id: null,
      name: '架空 春子',
      kana: 'カクウ ハルコ',
      birthDate: '1940-04-01',
      sex: 'female',
      address: '架空市1-2-3',
      phone: '03-0000-0000',
      keyPerson: '架空 一郎(長男)',
      keyPersonPhone: '090-0000-0000',
      careManager: '介護 太郎',
      careOffice: '架空ケアプランセンター',
      primaryDoctor: '訓練 医師',
      idDocument: 'myNumberCard',
    });
    // The saved patient opens for editing, with its history under the form.
    await screen.findByTestId('patient-history');
    expect(api.patientDetail).toHaveBeenCalledWith('p-new');
    expect(screen.getByTestId('patient-saved').textContent).toContain('保存しました');
    expect(screen.getByTestId('history-entry').textContent).toContain('電話: (空欄) → 03-0000-0000');
    expect(api.patientList).toHaveBeenCalledTimes(2);
  });

  it('an edit sends the id; a refused save keeps what was typed and says why', async () => {
    const refusal: UiError = { code: 'invalid_input', ja: 'カナ氏名を全角カタカナで入力してください。', en: 'x', triesLeft: null };
    const api = fakeApi({
      patientList: vi.fn(() => Promise.resolve(rows)),
      patientDetail: vi.fn(() => Promise.resolve(registered)),
      savePatient: vi.fn(() => Promise.reject(refusal)),
    });
    await openPatients(api);
    fireEvent.click(screen.getAllByTestId('patient-open')[0] as HTMLElement);
    await screen.findByTestId('patient-history');
    type('pf-kana', 'かくう はるこ');
    fireEvent.click(screen.getByTestId('patient-save'));
    await screen.findByText('カナ氏名を全角カタカナで入力してください。');
    expect(api.savePatient).toHaveBeenCalledWith({ ...registered.patient, kana: 'かくう はるこ' });
    expect((screen.getByTestId('pf-kana') as HTMLInputElement).value).toBe('かくう はるこ');
  });

  it('訪問終了 sends the reason and the date; 訪問再開 sends no reason', async () => {
    let ended = false;
    const api = fakeApi({
      patientList: vi.fn(() => Promise.resolve(rows)),
      patientDetail: vi.fn(() =>
        Promise.resolve(ended ? { ...registered, careEnded: 'moved' as const, careEndDate: '2026-11-30' } : registered),
      ),
      endCare: vi.fn(() => {
        ended = !ended;
        return Promise.resolve(null);
      }),
    });
    await openPatients(api);
    fireEvent.click(screen.getAllByTestId('patient-open')[0] as HTMLElement);
    await screen.findByTestId('care-end');
    expect((screen.getByTestId('care-end') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId('care-reason-moved'));
    type('care-end-date', '2026-11-30');
    fireEvent.click(screen.getByTestId('care-end'));
    await waitFor(() => expect(api.endCare).toHaveBeenCalledWith('p-new', 'moved', '2026-11-30'));
    expect((await screen.findByTestId('care-ended')).textContent).toContain('転居');
    fireEvent.click(screen.getByTestId('care-resume'));
    await waitFor(() => expect(api.endCare).toHaveBeenLastCalledWith('p-new', null, null));
  });

  it('CSV 取り込み sends the file’s bytes and shows the count', async () => {
    const api = fakeApi({ importPatients: vi.fn(() => Promise.resolve({ imported: 2, ids: ['a', 'b'] })) });
    await openPatients(api);
    fireEvent.click(screen.getByTestId('patient-import'));
    expect(screen.getByTestId('csv-help').textContent).toContain('キーパーソン連絡先');
    const bytes = [0xe6, 0xb0, 0x8f, 0xe5, 0x90, 0x8d, 0x0a];
    const input = screen.getByTestId('csv-file');
    Object.defineProperty(input, 'files', { value: [new File([new Uint8Array(bytes)], 'list.csv', { type: 'text/csv' })] });
    fireEvent.change(input);
    await waitFor(() => expect(screen.getByTestId('csv-file-name').textContent).toBe('list.csv'));
    fireEvent.click(screen.getByTestId('csv-run'));
    expect((await screen.findByTestId('csv-result')).textContent).toBe('2人を登録しました。');
    expect(api.importPatients).toHaveBeenCalledWith(bytes);
  });

  it('a bad CSV shows each bad row on its own line (3行目 …)', async () => {
    const ja = 'CSVに誤りがあるため、1人も登録していません。直してからもう一度取り込んでください。\n2行目: 性別は「男」か「女」で入力してください\n3行目: カナ氏名を全角カタカナで入力してください';
    const api = fakeApi({
      importPatients: vi.fn(() => Promise.reject({ code: 'csv_invalid', ja, en: 'x', triesLeft: null })),
    });
    await openPatients(api);
    fireEvent.click(screen.getByTestId('patient-import'));
    const input = screen.getByTestId('csv-file');
    Object.defineProperty(input, 'files', { value: [new File(['氏名\n'], 'bad.csv')] });
    fireEvent.change(input);
    await waitFor(() => expect((screen.getByTestId('csv-run') as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(screen.getByTestId('csv-run'));
    const error = await screen.findByTestId('error');
    expect(error.getAttribute('data-code')).toBe('csv_invalid');
    const p = error.querySelector('p') as HTMLElement;
    expect(p.querySelectorAll('br')).toHaveLength(2);
    const lines = Array.from(p.childNodes)
      .filter((n) => n.nodeType === 3)
      .map((n) => n.textContent);
    expect(lines).toEqual([
      'CSVに誤りがあるため、1人も登録していません。直してからもう一度取り込んでください。',
      '2行目: 性別は「男」か「女」で入力してください',
      '3行目: カナ氏名を全角カタカナで入力してください',
    ]);
    // The file stays chosen: fixing the list and trying again is one tap.
    expect(screen.getByTestId('csv-file-name').textContent).toBe('bad.csv');
    expect(screen.queryByTestId('csv-result')).toBeNull();
  });
});
