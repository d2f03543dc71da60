import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import { BackOffice } from '../src/screens/BackOffice';
import { shiftMonth, weekdayOf } from '../src/screens/VisitPlan';
import type { PatientRow, PlanRow, RosterView, StaffView } from '../src/ipc/api';
import { fakeApi } from './fake';

const doctor: StaffView = { id: 's1', name: '訓練 医師', role: 'doctor' };
const nurse: StaffView = { id: 's2', name: '看護 花子', role: 'nurse' };
const roster: RosterView = { month: '2026-11', days: [], staff: [doctor, nurse], visits: [], conflicts: 0 };
const patients: PatientRow[] = [
  { id: 'p1', name: '山田 花子', kana: 'ヤマダ ハナコ', birthDate: null, lastVisit: null, careEnded: null },
  { id: 'p2', name: '青木 一', kana: 'アオキ ハジメ', birthDate: null, lastVisit: null, careEnded: 'death' },
];

function row(over: Partial<PlanRow>): PlanRow {
  return {
    id: 'v1',
    date: '2026-11-24',
    start: '10:00',
    end: '10:30',
    patientId: 'p1',
    patientName: '山田 花子',
    staff: [doctor],
    kind: 'homeMedical',
    status: 'planned',
    ...over,
  };
}

const visits: PlanRow[] = [
  row({ id: 'v1' }),
  row({ id: 'v2', date: '2026-11-27', start: '14:00', end: '14:45', staff: [nurse], kind: 'homeNursing' }),
  row({ id: 'v3', date: '2026-11-24', start: '09:00', end: '09:30', staff: [nurse], status: 'cancelled' }),
];

/** plan_month as Rust answers it: the month's visits, for everyone or one staff member. */
const planMonth = vi.fn((month: string | null, staffId: string | null, patientId: string | null) =>
  Promise.resolve({
    month: month ?? '2026-11',
    staffId,
    patientId,
    visits: (month ?? '2026-11') === '2026-11' ? visits.filter((v) => !staffId || v.staff.some((s) => s.id === staffId)) : [],
  }),
);

async function openPlan(over: Parameters<typeof fakeApi>[0] = {}) {
  planMonth.mockClear();
  const api = fakeApi({
    roster: vi.fn(() => Promise.resolve(roster)),
    patientList: vi.fn(() => Promise.resolve(patients)),
    planMonth,
    ...over,
  });
  render(<BackOffice api={api} onOpenPatient={() => undefined} />);
  fireEvent.click(screen.getByTestId('bo-plan'));
  await screen.findAllByTestId('plan-row');
  return api;
}

const shown = () => screen.getAllByTestId('plan-row').map((r) => r.getAttribute('data-visit-id'));

describe('訪問計画', () => {
  it('helpers: weekdays count from 月, months roll over the year', () => {
    expect(weekdayOf('2026-11-24')).toBe(1); // 火
    expect(weekdayOf('2026-11-29')).toBe(6); // 日
    expect(shiftMonth('2026-12', 1)).toBe('2027-01');
    expect(shiftMonth('2026-01', -1)).toBe('2025-12');
  });

  it('the month view groups by day, strikes 中止 through, and filters by staff', async () => {
    await openPlan();
    expect(planMonth).toHaveBeenCalledWith(null, null, null);
    expect(screen.getByTestId('month-label').textContent).toBe('2026年11月');
    const days = screen.getAllByTestId('plan-day');
    expect(days.map((d) => d.querySelector('h4')?.textContent)).toEqual(['11月24日(火)', '11月27日(金)']);
    // Sorted by time within the day; the cancelled one is shown, struck through, without actions.
    expect(shown()).toEqual(['v3', 'v1', 'v2']);
    const cancelled = screen.getAllByTestId('plan-row')[0] as HTMLElement;
    expect(cancelled.className).toContain('cancelled');
    expect(within(cancelled).getByTestId('plan-status').textContent).toBe('中止');
    expect(within(cancelled).queryByTestId('visit-cancel')).toBeNull();

    // One staff member: the request names her, and only her visits are listed.
    const nurseButton = screen.getAllByTestId('scope-staff').find((b) => b.getAttribute('data-staff-id') === 's2');
    fireEvent.click(nurseButton as HTMLElement);
    await waitFor(() => expect(planMonth).toHaveBeenLastCalledWith('2026-11', 's2', null));
    await waitFor(() => expect(shown()).toEqual(['v3', 'v2']));
    expect(screen.getByTestId('scope-label').textContent).toBe('看護 花子');
    for (const r of screen.getAllByTestId('plan-staff')) expect(r.textContent).toBe('看護 花子');

    // ◀ keeps the staff member.
    fireEvent.click(screen.getByTestId('month-prev'));
    await waitFor(() => expect(planMonth).toHaveBeenLastCalledWith('2026-10', 's2', null));
    await screen.findByText('この月の予定はありません。');
  });

  it('毎週 火・金 until a date: the recurrence and until are sent; the count is shown', async () => {
    const planVisits = vi.fn(() => Promise.resolve({ visits: Array.from({ length: 9 }, (_, i) => `n${i}`), series: 'x' }));
    const api = await openPlan({ planVisits });
    fireEvent.click(screen.getByTestId('plan-add'));
    await screen.findByTestId('plan-form');
    // Only patients in care can be planned.
    expect(screen.getAllByTestId('plan-patient').map((b) => b.getAttribute('data-patient-id'))).toEqual(['p1']);
    fireEvent.click(screen.getByTestId('plan-patient'));
    const box = screen.getAllByTestId('plan-staff').find((c) => c.getAttribute('data-staff-id') === 's1') as HTMLInputElement;
    fireEvent.click(box);
    fireEvent.input(screen.getByTestId('plan-date'), { target: { value: '2026-11-24' } });
    fireEvent.input(screen.getByTestId('plan-start'), { target: { value: '13:00' } });
    fireEvent.input(screen.getByTestId('plan-end'), { target: { value: '13:40' } });
    fireEvent.click(screen.getByTestId('repeat-weekly'));
    // 金 first, then 火: the days go out in order.
    fireEvent.click(screen.getByTestId('weekday-4'));
    fireEvent.click(screen.getByTestId('weekday-1'));
    // No end date yet: not sent.
    fireEvent.click(screen.getByTestId('plan-save'));
    await screen.findByText('繰り返しの終了日を入力してください。');
    expect(planVisits).not.toHaveBeenCalled();
    fireEvent.input(screen.getByTestId('plan-until'), { target: { value: '2026-12-22' } });
    fireEvent.click(screen.getByTestId('plan-save'));
    await waitFor(() => expect(planVisits).toHaveBeenCalledTimes(1));
    expect(planVisits).toHaveBeenCalledWith({
      patient: 'p1',
      staff: ['s1'],
      date: '2026-11-24',
      start: '13:00',
      end: '13:40',
      kind: 'homeMedical',
      repeat: { kind: 'weekly', days: [1, 4] },
      until: '2026-12-22',
    });
    expect((await screen.findByTestId('plan-notice')).textContent).toBe('9件の訪問を予定しました。');
    expect(api.planMonth).toHaveBeenLastCalledWith('2026-11', null, null);
  });

  it('月2回など: the 第N + weekday rows are sent as pairs', async () => {
    const planVisits = vi.fn(() => Promise.resolve({ visits: ['a', 'b'], series: 'x' }));
    await openPlan({ planVisits });
    fireEvent.click(screen.getByTestId('plan-add'));
    fireEvent.click(screen.getByTestId('plan-patient'));
    fireEvent.click(screen.getAllByTestId('plan-staff')[1] as HTMLElement);
    fireEvent.click(screen.getByTestId('plan-kind-homeNursing'));
    fireEvent.click(screen.getByTestId('repeat-monthly'));
    expect(screen.getAllByTestId('nth-row')).toHaveLength(2);
    fireEvent.click(screen.getByTestId('nth-0-day-2')); // 第1 水
    fireEvent.click(screen.getByTestId('nth-1-week-4')); // 第4
    fireEvent.click(screen.getByTestId('nth-1-day-2')); // 水
    fireEvent.input(screen.getByTestId('plan-date'), { target: { value: '2026-12-01' } });
    fireEvent.input(screen.getByTestId('plan-until'), { target: { value: '2027-02-28' } });
    fireEvent.click(screen.getByTestId('plan-save'));
    await waitFor(() =>
      expect(planVisits).toHaveBeenCalledWith(
        expect.objectContaining({
          staff: ['s2'],
          kind: 'homeNursing',
          repeat: { kind: 'monthly', nth: [[1, 2], [4, 2]] },
          until: '2027-02-28',
        }),
      ),
    );
  });

  it('中止 without a reason is not sent; with one it is', async () => {
    const api = await openPlan();
    const v1 = screen.getAllByTestId('plan-row').find((r) => r.getAttribute('data-visit-id') === 'v1') as HTMLElement;
    fireEvent.click(within(v1).getByTestId('visit-cancel'));
    fireEvent.input(within(v1).getByTestId('cancel-reason'), { target: { value: '   ' } });
    fireEvent.click(within(v1).getByTestId('cancel-confirm'));
    await within(v1).findByText('中止の理由を入力してください。');
    expect(api.cancelVisit).not.toHaveBeenCalled();
    fireEvent.input(within(v1).getByTestId('cancel-reason'), { target: { value: '入院のため' } });
    fireEvent.click(within(v1).getByTestId('cancel-confirm'));
    await waitFor(() => expect(api.cancelVisit).toHaveBeenCalledWith('v1', '入院のため'));
  });

  it('変更 sends the new date, time and kind; 担当変更 the chosen staff', async () => {
    const api = await openPlan();
    const v1 = () => screen.getAllByTestId('plan-row').find((r) => r.getAttribute('data-visit-id') === 'v1') as HTMLElement;
    fireEvent.click(within(v1()).getByTestId('visit-edit'));
    fireEvent.input(within(v1()).getByTestId('edit-date'), { target: { value: '2026-11-25' } });
    fireEvent.input(within(v1()).getByTestId('edit-start'), { target: { value: '11:00' } });
    fireEvent.input(within(v1()).getByTestId('edit-end'), { target: { value: '11:30' } });
    fireEvent.click(within(v1()).getByTestId('edit-kind-urgentCall'));
    fireEvent.click(within(v1()).getByTestId('edit-save'));
    await waitFor(() =>
      expect(api.editVisit).toHaveBeenCalledWith({ id: 'v1', date: '2026-11-25', start: '11:00', end: '11:30', kind: 'urgentCall' }),
    );
    await waitFor(() => expect(within(v1()).queryByTestId('visit-edit-form')).toBeNull());
    fireEvent.click(within(v1()).getByTestId('visit-reassign'));
    const boxes = within(v1()).getAllByTestId('reassign-staff') as HTMLInputElement[];
    expect(boxes.map((b) => b.checked)).toEqual([true, false]);
    fireEvent.click(boxes[1] as HTMLElement);
    fireEvent.click(boxes[0] as HTMLElement);
    fireEvent.click(within(v1()).getByTestId('reassign-save'));
    await waitFor(() => expect(api.reassignVisit).toHaveBeenCalledWith('v1', ['s2']));
  });
});
