import { describe, expect, it } from 'vitest';
import { TriggerDetector, checkTrigger } from './trigger';
import type { TriggerSpec } from './trigger';

const level = (edge: 'rising' | 'falling', over: Partial<TriggerSpec> = {}): TriggerSpec =>
  ({ kind: 'level', channel: 3, level: 1, edge, preS: 0.5, postS: 2, ...over }) as TriggerSpec;

describe('trigger', () => {
  it('fires on a rising crossing split across two batches, at the interpolated time', () => {
    const d = new TriggerDetector(level('rising'), 0);
    expect(d.feed([0, 0.1, 0.2], [0, 0.2, 0.5])).toBeNull();
    // 0.5 at t=0.2, 1.5 at t=0.3: the line crosses 1 at t=0.25.
    expect(d.feed([0.3, 0.4], [1.5, 2])).toBeCloseTo(0.25, 12);
    expect(d.captureRange()![0]).toBeCloseTo(0, 12); // 0.25 − 0.5 clamps to the session start
    expect(d.captureRange()![1]).toBeCloseTo(2.25, 12);
  });

  it('keeps the pre-trigger seconds before the trigger and waits for the post-trigger ones', () => {
    const d = new TriggerDetector(level('falling', { level: 0, preS: 1.5, postS: 0.5 }), 10);
    const t = Array.from({ length: 200 }, (_, i) => 10 + i * 0.01);
    const v = t.map((x) => Math.cos(x - 10)); // falls through 0 at π/2 past 10
    const fired = d.feed(t, v)!;
    expect(fired).toBeCloseTo(10 + Math.PI / 2, 3);
    const [from, to] = d.captureRange()!;
    expect(fired - from).toBeCloseTo(1.5, 12);
    expect(to - fired).toBeCloseTo(0.5, 12);
    expect(d.complete(fired + 0.49)).toBe(false);
    expect(d.complete(fired + 0.5)).toBe(true);
  });

  it('ignores the wrong edge, crossings before arming, and fires only once', () => {
    const rising = new TriggerDetector(level('rising'), 5);
    expect(rising.feed([4, 4.5], [0, 2])).toBeNull(); // before arming
    expect(rising.feed([5.1, 5.2], [2, 0])).toBeNull(); // falling
    expect(rising.feed([5.3, 5.4], [0.5, 1])).toBeCloseTo(5.4, 12); // reaching the level counts
    expect(rising.feed([5.5, 5.6], [0, 2])).toBeNull(); // one-shot
    expect(rising.firedAt).toBeCloseTo(5.4, 12);
  });

  it('fires on a fault from outside, not before arming, and never on samples', () => {
    const d = new TriggerDetector({ kind: 'fault', preS: 1, postS: 1 }, 3);
    expect(d.feed([3, 4], [0, 100])).toBeNull();
    expect(d.fire(2.9)).toBe(false);
    expect(d.fire(3.5)).toBe(true);
    expect(d.fire(3.6)).toBe(false);
    expect(d.captureRange()).toEqual([2.5, 4.5]);
  });

  it('refuses settings it cannot use', () => {
    expect(checkTrigger(level('rising'))).toBeNull();
    expect(checkTrigger(level('rising', { level: NaN }))).toMatch(/level/);
    expect(checkTrigger(level('rising', { preS: -1 }))).toMatch(/Pre-trigger/);
    expect(checkTrigger(level('rising', { postS: Infinity }))).toMatch(/Post-trigger/);
    expect(checkTrigger({ kind: 'fault', preS: 0, postS: 0 })).toMatch(/more than 0/);
  });
});
