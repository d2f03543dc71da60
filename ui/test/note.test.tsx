import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NoteEditor, AUTOSAVE_MS } from '../src/screens/NoteEditor';
import type { SavedNote, Soap } from '../src/ipc/api';
import { fakeApi } from './fake';

describe('note editor autosave', () => {
  beforeEach(() => vi.useFakeTimers({ shouldAdvanceTime: true }));
  afterEach(() => vi.useRealTimers());

  it('saves after a pause, keeps the draft id, and never drops an edit made during a save', async () => {
    const saved: { draft: string | null; soap: Soap }[] = [];
    const gate: { release?: () => void } = {};
    const api = fakeApi({
      patientChart: vi.fn(() => Promise.reject(new Error('no chart'))),
      saveNote: vi.fn((_p: string, _v: string, draft: string | null, soap: Soap) => {
        saved.push({ draft, soap: { ...soap } });
        if (saved.length === 1) {
          return new Promise<SavedNote>((res) => {
            gate.release = () => res({ noteId: 'n1', savedAt: '2026-11-21T10:00:00+09:00' });
          });
        }
        return Promise.resolve({ noteId: 'n1', savedAt: '2026-11-21T10:00:01+09:00' });
      }),
    });
    render(<NoteEditor api={api} patientId="p1" visitId="v1" patientName="x" onClose={vi.fn()} />);
    fireEvent.input(screen.getByTestId('soap-s'), { target: { value: '夜よく眠れた' } });
    expect(saved.length).toBe(0);
    await vi.advanceTimersByTimeAsync(AUTOSAVE_MS + 10);
    expect(saved.length).toBe(1);
    // Typed while the first save is in flight:
    fireEvent.input(screen.getByTestId('soap-o'), { target: { value: '浮腫なし' } });
    await vi.advanceTimersByTimeAsync(AUTOSAVE_MS + 10);
    gate.release?.();
    await waitFor(() => expect(screen.getByTestId('save-state').dataset.state).toBe('saved'));
    const last = saved[saved.length - 1];
    expect(last?.soap).toEqual({ s: '夜よく眠れた', o: '浮腫なし', a: '', p: '' });
    expect(last?.draft).toBe('n1');
  });

  it('reopens the saved draft of the visit', async () => {
    const api = fakeApi({
      patientChart: vi.fn(() =>
        Promise.resolve({
          patientId: 'p1', name: 'x', kana: '', birthDate: null, sex: '2', address: '', insurance: null,
          check: { path: 'card' as const, reason: 'first_visit' as const, validThrough: null, daysLeft: null, ja: '', en: '', validity: null, request: null },
          consents: [], qualifications: [], conflicts: 0, clinicalHidden: false,
          visits: [{
            id: 'v1', kind: 'homeMedical' as const, staff: 's', arrival: null, departure: null,
            vitals: { systolic: 120, diastolic: 70, pulse: null, spo2: null, temperature: null, respiration: null, weight: null },
            notes: [{ id: 'n9', thread: 'n9', version: 1, visitId: 'v1', status: 'draft' as const, author: 's', createdAt: '', signedAt: null,
              replaces: null, correctionReason: '', soap: { s: '前回の下書き', o: '', a: '', p: '' }, intact: true }],
          }],
        }),
      ),
    });
    render(<NoteEditor api={api} patientId="p1" visitId="v1" patientName="x" onClose={vi.fn()} />);
    await waitFor(() => expect((screen.getByTestId('soap-s') as HTMLTextAreaElement).value).toBe('前回の下書き'));
    expect((screen.getByTestId('vital-systolic') as HTMLInputElement).value).toBe('120');
  });

  it('shows the save error and keeps the text on screen', async () => {
    const api = fakeApi({
      patientChart: vi.fn(() => Promise.reject(new Error('none'))),
      saveNote: vi.fn(() =>
        Promise.reject({ code: 'storage', ja: '保存に失敗しました。入力内容は画面に残っています。', en: 'Saving failed.', triesLeft: null }),
      ),
    });
    render(<NoteEditor api={api} patientId="p1" visitId="v1" patientName="x" onClose={vi.fn()} />);
    fireEvent.input(screen.getByTestId('soap-p'), { target: { value: '継続' } });
    await vi.advanceTimersByTimeAsync(AUTOSAVE_MS + 10);
    await screen.findByTestId('error');
    expect(screen.getByTestId('save-state').dataset.state).toBe('error');
    expect((screen.getByTestId('soap-p') as HTMLTextAreaElement).value).toBe('継続');
  });
});
