import { afterEach, describe, expect, it, vi } from 'vitest';
import { startHeartbeat } from './heartbeat';
import type { TickSource } from './heartbeat';

const ticker = () => {
  const source: TickSource & { tick(): void; terminated: boolean } = {
    onmessage: null,
    terminated: false,
    terminate() {
      this.terminated = true;
    },
    tick() {
      this.onmessage?.(new MessageEvent('message', { data: 'tick' }));
    },
  };
  return source;
};
const flush = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => vi.useRealTimers());

describe('heartbeat', () => {
  it('sends on every worker tick while the page is hidden (page timers frozen)', async () => {
    vi.useFakeTimers();
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    let sent = 0;
    const source = ticker();
    const hb = startHeartbeat(async () => void sent++, source);
    expect(hb.clock).toBe('worker');
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 20; i++) {
      source.tick();
      await vi.advanceTimersByTimeAsync(0);
    }
    // No page timer was needed: 20 ticks (and the first beat) with the page's clock held.
    expect(sent).toBe(21);
    hb.stop();
    expect(source.terminated).toBe(true);
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
  });

  it('sends nothing while the main thread does not answer the ticks', async () => {
    let sent = 0;
    let release: () => void = () => {};
    const source = ticker();
    // The first heartbeat hangs (the page is stuck in it): ticks meanwhile send nothing more.
    startHeartbeat(() => new Promise<void>((r) => { sent++; release = r; }), source);
    for (let i = 0; i < 10; i++) source.tick();
    expect(sent).toBe(1);
    release();
    await flush();
    source.tick();
    expect(sent).toBe(2);
  });

  it('falls back to a page timer without a worker', async () => {
    vi.useFakeTimers();
    let sent = 0;
    const hb = startHeartbeat(async () => void sent++, null, 100);
    expect(hb.clock).toBe('page');
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toBe(11);
    hb.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toBe(11);
  });
});
