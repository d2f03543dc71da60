// The wrappers send exactly what the Rust commands take (Tauri maps camelCase keys to the
// commands' snake_case parameters): a misnamed key would fail only at run time.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const { invoke } = vi.hoisted(() => ({ invoke: vi.fn((_cmd: string, _args?: unknown) => Promise.resolve(null as unknown)) }));
vi.mock('@tauri-apps/api/core', () => ({ invoke, Channel: class {} }));

const { api } = await import('../src/ipc/api');

describe('IPC wrappers: 端末 and 監査ログ', () => {
  beforeEach(() => invoke.mockClear());

  it('issue_enrollment_code gets {role, hours}', async () => {
    await api.issueEnrollmentCode('admin', 72);
    expect(invoke.mock.calls).toEqual([['issue_enrollment_code', { role: 'admin', hours: 72 }]]);
  });

  it('revoke_device gets {deviceId}; clinic_devices nothing', async () => {
    await api.revokeDevice('0b'.repeat(16));
    await api.clinicDevices();
    expect(invoke.mock.calls).toEqual([
      ['revoke_device', { deviceId: '0b'.repeat(16) }],
      ['clinic_devices', undefined],
    ]);
  });

  it('clinic_audit gets {filter, limit}', async () => {
    const filter = { patientId: 'p1', staffId: null, from: '2026-11-01', to: null };
    await api.clinicAudit(filter, 500);
    expect(invoke.mock.calls).toEqual([['clinic_audit', { filter, limit: 500 }]]);
  });

  it('a refusal from Rust reaches the screen as the UiError it is', async () => {
    const refusal = { code: 'self_revoke', ja: 'この管理用端末自身は取り消せません。', en: 'x', triesLeft: null };
    invoke.mockImplementationOnce(() => Promise.reject(refusal));
    await expect(api.revokeDevice('aa')).rejects.toEqual(refusal);
  });
});
