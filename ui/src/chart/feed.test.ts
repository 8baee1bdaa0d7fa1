import { describe, expect, it } from 'vitest';
import { FakeBackend } from '../backend/fake';
import type { ChartChannel } from './channels';
import { ChartFeed } from './feed';
import type { FeedRequest } from './feed';
import { TriggerDetector } from './trigger';

/** A fake store whose clock the test moves, and the feed over drive 1's position and velocity. */
async function setup() {
  let nowMs = 1_000_000;
  const backend = new FakeBackend({ now: () => nowMs });
  const all = await backend.channels(1);
  const channels: ChartChannel[] = all.filter((c) => c.drive.id === 1 && c.name !== 'current').map(({ id, drive, name }) => ({ id, drive, name }));
  const feed = new ChartFeed();
  feed.setSource(1, channels, null);
  const record = (from: number, to: number, hz: number, f: (t: number) => number) => {
    const times: number[] = [];
    for (let t = from; t <= to + 1e-9; t += 1 / hz) times.push(Number(t.toFixed(6)));
    backend.record(times, (t, drive, name) => (drive.id === 1 && name === 'position' ? f(t) : 0));
    nowMs = 1_000_000 + to * 1000;
  };
  /** One frame: what the page does (one request, answered). */
  const pump = async (width = 800): Promise<FeedRequest | null> => {
    const req = feed.request(width);
    if (!req) return null;
    const batch = req.kind === 'tail'
      ? await backend.tail(req.session, req.cursor, req.channels, req.sinceS)
      : await backend.window(req.session, req.channels, req.fromS, req.toS, req.widthPx);
    feed.accept(req, batch);
    return req;
  };
  const position = channels.find((c) => c.name === 'position')!.id;
  return { backend, feed, record, pump, position };
}

describe('chart feed', () => {
  it('follows the live edge from the tail, keeping only the window', async () => {
    const { feed, record, pump, position } = await setup();
    record(0, 20, 100, (t) => t);
    expect((await pump())!.kind).toBe('tail');
    expect(feed.visibleRange()).toEqual([10, 20]);
    const points = feed.data().get(position)!;
    expect(points.t[0]).toBeGreaterThanOrEqual(10);
    expect(points.t[points.t.length - 1]).toBe(20);
    record(20.01, 21, 100, (t) => t);
    await pump();
    expect(feed.visibleRange()).toEqual([11, 21]);
    // Each sample arrives once: the cursor moved on.
    const again = feed.data().get(position)!;
    expect(new Set(again.t).size).toBe(again.t.length);
  });

  it('paused, keeps its view and stops pulling the tail while recording goes on; resumes at the new edge', async () => {
    const { backend, feed, record, pump } = await setup();
    record(0, 20, 50, (t) => t);
    await pump();
    feed.pause();
    expect(feed.mode).toBe('paused');
    const calls = backend.tailCalls;
    record(20.02, 40, 50, (t) => t);
    // The paused view comes from the store once, then nothing is asked.
    expect((await pump())!.kind).toBe('window');
    expect(await pump()).toBeNull();
    expect(await pump()).toBeNull();
    expect(backend.tailCalls).toBe(calls);
    expect(feed.visibleRange()).toEqual([10, 20]);
    feed.follow();
    expect((await pump())!.kind).toBe('tail');
    expect(feed.visibleRange()).toEqual([30, 40]);
  });

  it('fetches zoomed and panned ranges as decimated windows for the chart width', async () => {
    const { backend, feed, record, pump, position } = await setup();
    record(0, 30, 100, (t) => t);
    await pump();
    feed.zoomTo(22, 24);
    const req = await pump(640);
    expect(req).toMatchObject({ kind: 'window', fromS: 22, toS: 24, widthPx: 640 });
    const shown = feed.data().get(position)!;
    expect(shown.t[0]).toBeGreaterThanOrEqual(22);
    expect(shown.t[shown.t.length - 1]).toBeLessThanOrEqual(24);
    feed.panBy(-0.5);
    expect(feed.visibleRange()).toEqual([21, 23]);
    feed.zoomBy(2);
    expect(feed.visibleRange()).toEqual([20, 24]);
    await pump(640);
    expect(backend.windows[backend.windows.length - 1]).toMatchObject({ fromS: 20, toS: 24, widthPx: 640 });
    expect(await pump(640)).toBeNull(); // the same view is not asked twice
    // Zooming out past the session start stops at 0.
    feed.zoomTo(-5, 3);
    expect(feed.visibleRange()).toEqual([0, 8]);
  });

  it('drops an answer that comes back after the channels changed', async () => {
    const { backend, feed, record, position } = await setup();
    record(0, 5, 100, (t) => t);
    const req = feed.request(800)!;
    const batch = await backend.tail(req.session, req.kind === 'tail' ? req.cursor : new Map(), req.channels);
    feed.setChannels(feed.channels.filter((c) => c.id === position));
    feed.accept(req, batch);
    expect(feed.data().get(position)!.t.length).toBe(0);
    expect(feed.liveEdge()).toBeNull();
  });

  it('captures [t − pre, t + post] from the store when a level trigger fires', async () => {
    const { feed, record, pump, position } = await setup();
    record(0, 10, 100, () => 0);
    await pump();
    const trigger = feed.arm((at) => new TriggerDetector({ kind: 'level', channel: position, level: 1, edge: 'rising', preS: 2, postS: 1 }, at));
    expect(trigger.armedAtS).toBe(10);
    // Crosses 1 rad at t = 12.5 (a ramp from 12 on).
    record(10.01, 13, 100, (t) => (t < 12 ? 0 : (t - 12) * 2));
    await pump();
    expect(trigger.firedAt).toBeCloseTo(12.5, 6);
    expect(feed.mode).toBe('live'); // waiting for the post-trigger second
    record(13.01, 14, 100, () => 2);
    await pump();
    expect(feed.mode).toBe('captured');
    const req = await pump();
    expect(req!.kind).toBe('window');
    if (req!.kind !== 'window') return;
    expect(req!.fromS).toBeCloseTo(10.5, 6);
    expect(req!.toS).toBeCloseTo(13.5, 6);
    const shown = feed.data().get(position)!;
    expect(shown.t[0]).toBeGreaterThanOrEqual(10.5);
    expect(shown.v.some((v) => v > 0.9 && v < 1.1)).toBe(true);
  });

  it('captures around a fault when armed on faults', async () => {
    const { feed, record, pump } = await setup();
    record(0, 5, 100, () => 0);
    await pump();
    feed.arm((at) => new TriggerDetector({ kind: 'fault', preS: 1, postS: 0.5 }, at));
    feed.fault(4); // before arming: ignored
    expect(feed.trigger!.firedAt).toBeNull();
    record(5.01, 6, 100, () => 0);
    await pump();
    feed.fault(5.8);
    expect(feed.mode).toBe('live');
    record(6.01, 6.5, 100, () => 0);
    await pump();
    expect(feed.mode).toBe('captured');
    const range = feed.visibleRange()!;
    expect(range[0]).toBeCloseTo(4.8, 9);
    expect(range[1]).toBeCloseTo(6.3, 9);
  });

  it('replays a past session over its whole length, never from the tail', async () => {
    const { backend, feed, pump } = await setup();
    backend.record([0, 1, 2, 3], () => 1);
    await backend.startSession('next', '');
    feed.setSource(1, feed.channels, { endS: 3 });
    expect(feed.mode).toBe('paused');
    expect(feed.visibleRange()).toEqual([0, 3]);
    const req = await pump();
    expect(req).toMatchObject({ kind: 'window', session: 1, fromS: 0, toS: 3 });
    feed.zoomTo(1, 2);
    feed.follow(); // in a replay: the whole session again
    expect(feed.visibleRange()).toEqual([0, 3]);
    expect(backend.tailCalls).toBe(0);
  });
});
