import { render, screen } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { SyncIndicator } from '../src/components/SyncIndicator';
import type { SyncStatus } from '../src/ipc/api';

const status = (s: Partial<SyncStatus>): SyncStatus => ({
  state: 'online',
  pending: 0,
  lastSyncAt: null,
  labelJa: '最新(09:41)',
  labelEn: 'Up to date (09:41)',
  nextJa: '',
  nextEn: '',
  needsEnrollment: false,
  managedCode: false,
  ...s,
});

describe('SyncIndicator', () => {
  it('shows unreadable entries as an error, never as 最新', () => {
    render(
      <SyncIndicator
        status={status({
          state: 'unreadable',
          labelJa: '他の端末のデータを読めません。端末を登録し直してください',
          nextJa: '管理者に連絡してください。',
        })}
        online
      />,
    );
    const el = screen.getByTestId('sync-status');
    expect(el.textContent).toBe('他の端末のデータを読めません。端末を登録し直してください');
    expect(el.getAttribute('data-state')).toBe('unreadable');
    expect(el.className).toContain('bad');
    expect(el.className).not.toContain('good');
  });

  it.each([
    ['setAside', '送信できない変更があります(1件)'],
    ['clockSkew', '端末の時刻がずれています。時刻を合わせてください'],
  ] as const)('shows %s as an error with the label from Rust, never as 最新', (state, labelJa) => {
    render(<SyncIndicator status={status({ state, labelJa })} online />);
    const el = screen.getByTestId('sync-status');
    expect(el.textContent).toBe(labelJa);
    expect(el.getAttribute('data-state')).toBe(state);
    expect(el.className).toContain('bad');
  });

  it('control: up to date is good', () => {
    render(<SyncIndicator status={status({})} online />);
    expect(screen.getByTestId('sync-status').className).toContain('good');
  });
});
