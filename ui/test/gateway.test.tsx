import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import { App } from '../src/app';
import type { RequestView } from '../src/ipc/api';
import { fakeApi, firstCheck, okCheck, visit } from './fake';

const PENDING = '照会中です。事務所の資格確認端末が回答すると表示されます。';

function request(over: Partial<RequestView>): RequestView {
  return {
    id: 'q1',
    state: 'pending' as const,
    kind: 'requery' as const,
    requestedAt: '2026-11-21T09:00:00+09:00',
    answeredAt: null,
    validity: null,
    failure: null,
    serviceCode: null,
    ja: PENDING,
    en: 'Query sent. The answer appears here when the office’s qualification terminal replies.',
    ...over,
  };
}

describe('enrolled device: qualification through the clinic gateway', () => {
  it('shows the pending row note when the list is opened later', async () => {
    const api = fakeApi({
      todaysVisits: vi.fn(() => Promise.resolve([visit({ check: { ...okCheck, request: request({}) } })])),
    });
    render(<App api={api} />);
    const note = await screen.findByTestId('qualification-request');
    expect(note.dataset.state).toBe('pending');
    expect(note.textContent).toContain('照会中です。事務所の資格確認端末が回答すると表示されます');
  });

  it('keeps 初回訪問 shut while the first-visit check waits for the office', async () => {
    let rowCheck = { ...firstCheck, request: request({ kind: 'firstVisit' as const }) };
    const api = fakeApi({ todaysVisits: vi.fn(() => Promise.resolve([visit({ check: rowCheck })])) });
    render(<App api={api} />);
    await screen.findByTestId('qualification-request');
    expect((screen.getByTestId('card-check') as HTMLButtonElement).disabled).toBe(true);
    // Refused (e.g. the card was revoked): the nurse may try again with the card.
    rowCheck = { ...firstCheck, request: request({ kind: 'firstVisit' as const, state: 'failed' as const, failure: 'service_error' as const, serviceCode: 'HSIM-E301' }) };
    fireEvent.click(screen.getByTestId('nav-backoffice'));
    fireEvent.click(screen.getByTestId('nav-today'));
    await waitFor(() => expect(screen.getByTestId('qualification-request').dataset.state).toBe('failed'));
    expect((screen.getByTestId('card-check') as HTMLButtonElement).disabled).toBe(false);
  });

  it('shows 照会中 after a re-query, then the refusal with its next step after the next sync', async () => {
    let rowCheck = okCheck;
    const api = fakeApi({
      todaysVisits: vi.fn(() => Promise.resolve([visit({ check: rowCheck })])),
      requery: vi.fn(() => {
        rowCheck = { ...okCheck, request: request({}) };
        return Promise.resolve({ outcome: 'requested' as const, ja: PENDING, en: 'Query sent.', qualification: null, check: rowCheck, noticeJa: null });
      }),
    });
    render(<App api={api} />);
    fireEvent.click(await screen.findByTestId('requery'));
    const result = await screen.findByTestId('requery-result');
    await waitFor(() => expect(result.textContent).toContain('照会中です'));
    expect(result.querySelector('[data-outcome="requested"]')?.className).toBe('pending');
    // Said once: the reply stands in for the row's 照会中 note.
    await waitFor(() => expect(api.todaysVisits).toHaveBeenCalledTimes(2));
    expect(screen.getAllByText(/事務所の資格確認端末が回答すると表示されます/)).toHaveLength(1);
    expect(screen.queryByTestId('qualification-request')).toBeNull();
    // No second request while the first is waiting.
    expect((screen.getByTestId('requery') as HTMLButtonElement).disabled).toBe(true);
    // The gateway refused: the row says why and what to do next.
    rowCheck = {
      ...okCheck,
      request: request({
        state: 'failed' as const,
        failure: 'consent_expired' as const,
        ja: '同意の有効期限が切れています。マイナンバーカードで改めて同意を取得してください。',
        en: 'Consent expired. Obtain consent again with the My Number card.',
      }),
    };
    fireEvent.click(screen.getByTestId('nav-backoffice'));
    fireEvent.click(screen.getByTestId('nav-today'));
    await waitFor(() => expect(screen.getByTestId('qualification-request').dataset.state).toBe('failed'));
    expect(screen.getByTestId('qualification-request').textContent).toContain('照会できませんでした');
    expect(screen.getByTestId('qualification-request').textContent).toContain('改めて同意');
    fireEvent.click(screen.getByTestId('lang'));
    await waitFor(() => expect(screen.getByTestId('qualification-request').textContent).toContain('Obtain consent again'));
  });

  it('the back-office queue shows each request’s state and message', async () => {
    const api = fakeApi({
      qualificationQueue: vi.fn(() =>
        Promise.resolve([
          { patientId: 'p1', patientName: '山田 花子', requestedAt: '2026-11-21T09:00:00+09:00', answered: false, state: 'pending' as const, ja: PENDING, en: 'Waiting' },
          { patientId: 'p2', patientName: '鈴木 一郎', requestedAt: '2026-11-21T08:00:00+09:00', answered: true, state: 'failed' as const, ja: '電子証明書は失効しています。', en: 'Revoked' },
        ]),
      ),
    });
    render(<App api={api} />);
    fireEvent.click(await screen.findByTestId('nav-backoffice'));
    const tabs = await screen.findAllByRole('button');
    const queueTab = tabs.find((b) => b.textContent === '資格確認キュー');
    fireEvent.click(queueTab as HTMLElement);
    const cells = await screen.findAllByTestId('queue-state');
    expect(cells.map((c) => c.dataset.state)).toEqual(['pending', 'failed']);
    expect(cells[1]?.textContent).toContain('失効');
  });
});
