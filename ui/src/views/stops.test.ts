import { describe, expect, it } from 'vitest';
import { FakeBackend } from '../backend/fake';
import { StopBanner, unacknowledged } from './stops';

describe('the stop banner', () => {
  it('shows each stop with its reason and time until acknowledged: safe stops, links lost, tests aborted', async () => {
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
    expect(root.textContent).toContain('Drives stopped');
    expect(root.textContent).toContain('heartbeat lost: the window sent none for 1.0 s');
    expect(root.textContent).toMatch(/at \d\d:\d\d:\d\d/);
    backend.loseLink(1, 'no reply from drive 1 for 200 ms; drive 1 was enabled: its Bus Watchdog stops it');
    await banner.refresh();
    expect(root.querySelectorAll('.stop')).toHaveLength(2);
    expect(root.querySelector('.stop[data-kind="linkLost"]')!.textContent).toContain('Link lost');
    expect(root.textContent).toContain('its Bus Watchdog stops it');
    root.querySelector<HTMLButtonElement>('button[data-ack]')!.click();
    expect(root.querySelectorAll('.stop')).toHaveLength(1);
    // Acknowledged stays acknowledged on the next poll.
    await banner.refresh();
    expect(root.querySelectorAll('.stop')).toHaveLength(1);
    root.querySelector<HTMLButtonElement>('button[data-ack]')!.click();
    expect(root.hidden).toBe(true);
  });

  it('names a stop without a reason, and keeps acknowledged ones hidden', () => {
    const notice = (key: string, reason: string, atMs: number) => ({ key, kind: 'safeStop', reason, atMs, link: null, drive: null });
    const stops = unacknowledged([notice('job:3', '  ', 3), notice('run:1', 'tuning run 1 aborted: travel window', 1)], new Set());
    expect(stops.map((s) => s.key)).toEqual(['run:1', 'job:3']);
    expect(stops[1].reason).toBe('safe stop (no reason recorded)');
    expect(unacknowledged([notice('job:1', 'x', 1)], new Set(['job:1']))).toEqual([]);
  });
});
