import { fireEvent, render, screen } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import { PinPad } from '../src/components/PinPad';

function type(pin: string) {
  for (const d of pin) fireEvent.click(screen.getByTestId(`key-${d}`));
}

describe('PinPad', () => {
  it('shows the tries left and never renders the digits', () => {
    const onSubmit = vi.fn();
    const { container } = render(<PinPad triesLeft={3} onSubmit={onSubmit} />);
    expect(screen.getByTestId('tries-left').textContent).toContain('残り 3 回');
    type('9517');
    expect(container.textContent).not.toContain('9517');
    expect(screen.getByTestId('pin-dots').textContent).toBe('');
    expect(container.querySelectorAll('.dot.on').length).toBe(4);
    // No input element holds the value either.
    expect(container.querySelector('input[type="password"], input[type="text"]')).toBeNull();
  });

  it('sends the PIN once and wipes it from the pad at once', () => {
    const onSubmit = vi.fn();
    const { container } = render(<PinPad triesLeft={2} onSubmit={onSubmit} />);
    type('9876');
    fireEvent.click(screen.getByTestId('pin-submit'));
    expect(onSubmit).toHaveBeenCalledWith('9876', false);
    expect(container.querySelectorAll('.dot.on').length).toBe(0);
    // A second tap sends nothing: the PIN is gone.
    fireEvent.click(screen.getByTestId('pin-submit'));
    expect(onSubmit).toHaveBeenCalledTimes(1);
  });

  it('refuses to send fewer than 4 digits', () => {
    const onSubmit = vi.fn();
    render(<PinPad triesLeft={3} onSubmit={onSubmit} />);
    type('12');
    expect((screen.getByTestId('pin-submit') as HTMLButtonElement).disabled).toBe(true);
  });

  it('warns before the last try and sends only after confirmation', () => {
    const onSubmit = vi.fn();
    render(<PinPad triesLeft={1} onSubmit={onSubmit} />);
    expect(screen.getByTestId('last-try-warning').textContent).toContain('残り1回');
    type('1234');
    expect((screen.getByTestId('pin-submit') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId('confirm-last-try'));
    fireEvent.click(screen.getByTestId('pin-submit'));
    expect(onSubmit).toHaveBeenCalledWith('1234', true);
  });

  it('asks for confirmation when the card did not say how many tries are left', () => {
    const onSubmit = vi.fn();
    render(<PinPad triesLeft={null} onSubmit={onSubmit} />);
    expect(screen.getByTestId('tries-left').textContent).toBe('残り回数不明');
    expect(screen.getByTestId('last-try-warning').textContent).toContain('残り1回かもしれません');
    type('1234');
    expect((screen.getByTestId('pin-submit') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId('confirm-last-try'));
    fireEvent.click(screen.getByTestId('pin-submit'));
    expect(onSubmit).toHaveBeenCalledWith('1234', true);
  });

  it('offers no pad when the PIN is blocked', () => {
    render(<PinPad triesLeft={0} onSubmit={vi.fn()} />);
    expect(screen.getByTestId('pin-blocked').textContent).toContain('市区町村');
    expect(screen.queryByTestId('pinpad')).toBeNull();
  });
});
