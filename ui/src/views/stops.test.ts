import { describe, expect, it } from 'vitest';
import { FakeBackend } from '../backend/fake';
import { StopBanner, unacknowledged } from './stops';

describe('the stop banner', () => {
  it('shows each supervisor stop with its reason and time until acknowledged', async () => {
    document.body.innerHTML = '<div id="stops"></div>';
    const backend = new FakeBackend();
    const root = document.getElementById('stops')!;
    const banner = new StopBanner(root, backend, 0);
    await banner.refresh();
    expect(root.hidden).toBe(true);
    await backend.submit({ kind: 'eStop' });
    await backend.submit({ kind: 'safeStop', reason: 'heartbeat lost: the window sent none for 1.0 s' });
    await banner.refresh();
    expect(root.hidden).toBe(false);
    expect(banner.shown).toHaveLength(1);
    expect(root.textContent).toContain('heartbeat lost: the window sent none for 1.0 s');
    expect(root.textContent).toMatch(/at \d\d:\d\d:\d\d/);
    await backend.submit({ kind: 'safeStop', reason: 'link 1 lost' });
    await banner.refresh();
    expect(root.querySelectorAll('.stop')).toHaveLength(2);
    root.querySelector<HTMLButtonElement>('button[data-ack]')!.click();
    expect(root.querySelectorAll('.stop')).toHaveLength(1);
    expect(root.textContent).toContain('link 1 lost');
    // Acknowledged stays acknowledged on the next poll.
    await banner.refresh();
    expect(root.querySelectorAll('.stop')).toHaveLength(1);
    root.querySelector<HTMLButtonElement>('button[data-ack]')!.click();
    expect(root.hidden).toBe(true);
  });

  it('names a stop without a reason, and skips E-stops and other jobs', () => {
    const job = (id: number, command: string, reason: string | null) => ({
      id, session: 1, command, link: null, drive: null, priority: 'eStop', state: 'done' as const, reason,
      queuedAtMs: 1000 + id, deadlineAtMs: null, sentAtMs: null, finishedAtMs: null,
    });
    const stops = unacknowledged([job(3, 'safeStop', '  '), job(2, 'eStop', null), job(1, 'safeStop', 'bus watchdog tripped')], new Set());
    expect(stops.map((s) => s.job)).toEqual([1, 3]);
    expect(stops[1].reason).toBe('safe stop (no reason recorded)');
    expect(unacknowledged([job(1, 'safeStop', 'x')], new Set([1]))).toEqual([]);
  });
});
