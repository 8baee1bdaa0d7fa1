import { describe, expect, it } from 'vitest';
import { SeriesBuffer } from './buffer';

describe('SeriesBuffer', () => {
  it('appends, trims to the window and keeps order across growth', () => {
    const b = new SeriesBuffer(4);
    for (let i = 0; i < 100; i++) b.append([i * 0.1], [i]);
    expect(b.length).toBe(100);
    b.trimBefore(9.0 - 1e-9); // keep the last 10 samples: t = 9.0 … 9.9
    expect(b.length).toBe(10);
    expect(Array.from(b.values())).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
    b.append([10, 10.1], [100, 101]);
    expect(b.last()).toEqual({ t: 10.1, v: 101 });
    expect(b.times()[0]).toBeCloseTo(9.0);
  });

  it('reuses its space when trimmed instead of growing forever', () => {
    const b = new SeriesBuffer(64);
    for (let i = 0; i < 10_000; i++) {
      b.append([i], [i]);
      b.trimBefore(i - 10);
    }
    expect(b.length).toBe(11);
    // @ts-expect-error peek at the private store
    expect(b.t.length).toBeLessThanOrEqual(64);
  });
});
