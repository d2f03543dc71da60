import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import { FirstVisit } from '../src/screens/FirstVisit';
import type { CardProgress, FirstVisitInput } from '../src/ipc/api';
import { fakeApi, okCheck, wrongPin } from './fake';

describe('初回訪問 wizard', () => {
  it('goes consent → PIN → card → PIN pad, shows 2 tries left after a wrong PIN, then the result', async () => {
    const sent: FirstVisitInput[] = [];
    const api = fakeApi({
      cardCheck: vi.fn((p: (x: CardProgress) => void) => {
        p({ step: 'certificate', percent: 30 });
        return Promise.resolve({ triesLeft: 3, apdus: 12, reader: 'x' });
      }),
      confirmWithCard: vi.fn((input: FirstVisitInput) => {
        sent.push({ ...input });
        return sent.length === 1
          ? Promise.reject(wrongPin(2))
          : Promise.resolve({
              outcome: 'valid' as const,
              ja: '資格を確認しました。',
              en: 'Qualification confirmed.',
              qualification: null,
              check: okCheck,
              noticeJa: null,
            });
      }),
    });
    const onDone = vi.fn();
    render(
      <FirstVisit api={api} patientId="p1" visitId="v1" patientName="山田 花子" urgent={false} allowVisual onDone={onDone} />,
    );
    fireEvent.click(screen.getByTestId('consent-checkup'));
    fireEvent.click(screen.getByTestId('rx-paper'));
    fireEvent.click(screen.getByTestId('consent-next'));
    fireEvent.click(screen.getByTestId('mode-pin'));
    fireEvent.click(screen.getByTestId('identity-next'));
    await screen.findByTestId('pinpad');
    expect(screen.getByTestId('tries-left').textContent).toContain('3');
    for (const d of '9999') fireEvent.click(screen.getByTestId(`key-${d}`));
    fireEvent.click(screen.getByTestId('pin-submit'));
    await waitFor(() => expect(screen.getByTestId('tries-left').textContent).toContain('残り 2 回'));
    expect(screen.getByTestId('error').textContent).toContain('残り2回');
    for (const d of '1234') fireEvent.click(screen.getByTestId(`key-${d}`));
    fireEvent.click(screen.getByTestId('pin-submit'));
    await screen.findByTestId('result');
    expect(screen.getByTestId('result').dataset.outcome).toBe('valid');
    expect(sent[0]?.consent).toEqual({ medication: true, clinical: true, checkup: false, surgery: true, prescription: 'paper' as const });
    expect(sent[0]?.pin).toBe('9999');
    expect(sent[1]?.pin).toBe('1234');
    expect(sent.every((s) => s.mode === 'pin' && !s.confirmLastTry)).toBe(true);
  });

  it('shows a card error with its next step and lets the user retry', async () => {
    let calls = 0;
    const api = fakeApi({
      cardCheck: vi.fn(() => {
        calls += 1;
        return calls === 1
          ? Promise.reject({ code: 'no_card', ja: 'カードが置かれていません。マイナンバーカードをリーダーに置いてください。', en: 'No card', triesLeft: null })
          : Promise.resolve({ triesLeft: 3, apdus: 12, reader: 'x' });
      }),
    });
    render(<FirstVisit api={api} patientId="p1" visitId="v1" patientName="x" urgent={false} allowVisual onDone={vi.fn()} />);
    fireEvent.click(screen.getByTestId('consent-next'));
    fireEvent.click(screen.getByTestId('identity-next'));
    const err = await screen.findByTestId('error');
    expect(err.dataset.code).toBe('no_card');
    expect(err.textContent).toContain('リーダーに置いてください');
    fireEvent.click(screen.getByText('もう一度'));
    await screen.findByTestId('pinpad');
  });

  it('目視 mode shows the chip photo after 照合番号B, needs the attestation and sends no PIN', async () => {
    const confirm = vi.fn((_: FirstVisitInput) =>
      Promise.resolve({ outcome: 'valid' as const, ja: 'ok', en: 'ok', qualification: null, check: okCheck, noticeJa: null }),
    );
    const cardFace = vi.fn((_p: string, _c: string) =>
      Promise.resolve({
        pngDataUrl: 'data:image/png;base64,AAAA',
        width: 100,
        height: 120,
        authenticity: 'verified' as const,
        visualAllowed: true,
      }),
    );
    const api = fakeApi({
      cardCheck: vi.fn(() => Promise.resolve({ triesLeft: 3, apdus: 1, reader: 'Virtual PCD 00 00' })),
      confirmWithCard: confirm,
      cardFace,
    });
    render(<FirstVisit api={api} patientId="p1" visitId="v1" patientName="x" urgent={false} allowVisual onDone={vi.fn()} />);
    fireEvent.click(screen.getByTestId('consent-next'));
    fireEvent.click(screen.getByTestId('mode-visual'));
    fireEvent.click(screen.getByTestId('identity-next'));
    const input = (await screen.findByTestId('codeb-input')) as HTMLInputElement;
    expect(screen.queryByTestId('visual-attest')).toBeNull();
    fireEvent.input(input, { target: { value: '5502-1720-3522-85' } });
    expect(input.value).toBe('55021720352285');
    fireEvent.click(screen.getByTestId('codeb-show'));
    await screen.findByTestId('face-photo');
    expect(screen.getByTestId('face-authenticity').textContent).toBe('検証済み');
    expect(screen.queryByTestId('visual-unverified-note')).toBeNull();
    expect(cardFace).toHaveBeenCalledWith('p1', '55021720352285');
    expect(screen.queryByTestId('codeb-input')).toBeNull();
    expect((screen.getByTestId('visual-send') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId('visual-attest'));
    fireEvent.click(screen.getByTestId('visual-send'));
    await screen.findByTestId('result');
    expect(confirm.mock.calls[0]?.[0].mode).toBe('visual');
    expect(confirm.mock.calls[0]?.[0].pin).toBeNull();
  });

  it('目視 with 照合番号B locked: says so and allows comparing with the printed photo', async () => {
    const api = fakeApi({
      cardCheck: vi.fn(() => Promise.resolve({ triesLeft: 3, apdus: 1, reader: 'x' })),
      cardFace: vi.fn(() =>
        Promise.reject({
          code: 'code_b_blocked',
          ja: '照合番号Bがロックされています。顔写真は表示できません。カード表面の写真で目視確認してください。',
          en: 'blocked',
          triesLeft: null,
        }),
      ),
    });
    render(
      <FirstVisit api={api} patientId="p1" visitId="v1" patientName="x" urgent={false} allowVisual allowUnverifiedVisual onDone={vi.fn()} />,
    );
    fireEvent.click(screen.getByTestId('consent-next'));
    fireEvent.click(screen.getByTestId('mode-visual'));
    fireEvent.click(screen.getByTestId('identity-next'));
    fireEvent.input(await screen.findByTestId('codeb-input'), { target: { value: '00000000000000' } });
    fireEvent.click(screen.getByTestId('codeb-show'));
    expect((await screen.findByTestId('error')).textContent).toContain('カード表面の写真');
    expect(screen.getByTestId('visual-attest').parentElement?.textContent).toContain('カード表面の顔写真');
    expect(screen.getByTestId('visual-unverified-note').textContent).toContain('記録されます');
  });

  it('目視 with 照合番号B locked and no clinic allowance: no attestation is offered', async () => {
    const api = fakeApi({
      cardCheck: vi.fn(() => Promise.resolve({ triesLeft: 3, apdus: 1, reader: 'x' })),
      cardFace: vi.fn(() =>
        Promise.reject({ code: 'code_b_blocked', ja: '暗証番号で確認してください。', en: 'Use the PIN.', triesLeft: null }),
      ),
    });
    render(<FirstVisit api={api} patientId="p1" visitId="v1" patientName="x" urgent={false} allowVisual onDone={vi.fn()} />);
    fireEvent.click(screen.getByTestId('consent-next'));
    fireEvent.click(screen.getByTestId('mode-visual'));
    fireEvent.click(screen.getByTestId('identity-next'));
    fireEvent.input(await screen.findByTestId('codeb-input'), { target: { value: '00000000000000' } });
    fireEvent.click(screen.getByTestId('codeb-show'));
    expect((await screen.findByTestId('error')).textContent).toContain('暗証番号');
    expect(screen.queryByTestId('visual-attest')).toBeNull();
  });

  it('a chip photo whose signature fails is marked and cannot carry the visual check', async () => {
    const api = fakeApi({
      cardCheck: vi.fn(() => Promise.resolve({ triesLeft: 3, apdus: 1, reader: 'x' })),
      cardFace: vi.fn(() =>
        Promise.resolve({
          pngDataUrl: 'data:image/png;base64,AAAA',
          width: 100,
          height: 120,
          authenticity: 'signatureInvalid' as const,
          visualAllowed: false,
        }),
      ),
    });
    render(
      <FirstVisit api={api} patientId="p1" visitId="v1" patientName="x" urgent={false} allowVisual allowUnverifiedVisual onDone={vi.fn()} />,
    );
    fireEvent.click(screen.getByTestId('consent-next'));
    fireEvent.click(screen.getByTestId('mode-visual'));
    fireEvent.click(screen.getByTestId('identity-next'));
    fireEvent.input(await screen.findByTestId('codeb-input'), { target: { value: '00000000000000' } });
    fireEvent.click(screen.getByTestId('codeb-show'));
    expect((await screen.findByTestId('face-authenticity')).textContent).toContain('署名不一致');
    expect(screen.getByTestId('visual-refused').textContent).toContain('偽造');
    expect(screen.queryByTestId('visual-attest')).toBeNull();
  });

  it('does not offer 目視 when the clinic forbids it', () => {
    render(<FirstVisit api={fakeApi()} patientId="p1" visitId="v1" patientName="x" urgent={false} allowVisual={false} onDone={vi.fn()} />);
    fireEvent.click(screen.getByTestId('consent-next'));
    expect((screen.getByTestId('mode-visual') as HTMLButtonElement).disabled).toBe(true);
  });
});
