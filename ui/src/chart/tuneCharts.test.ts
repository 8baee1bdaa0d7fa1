import { describe, expect, it } from 'vitest';
import { joinOnTime } from './tuneCharts';

describe('joinOnTime', () => {
  it('keeps each value at its own time when the series were decimated apart', () => {
    // The response decimated to fewer points than the reference: by index its last value
    // would land at t = 2, not at its own t = 3.
    const j = joinOnTime([0, 1, 2, 3], [0, 1, 1, 0], [0, 3], [0.5, 0.9]);
    expect(j.t).toEqual([0, 1, 2, 3]);
    expect(j.a).toEqual([0, 1, 1, 0]);
    expect(j.b).toEqual([0.5, null, null, 0.9]);
  });

  it('merges interleaved times in order', () => {
    const j = joinOnTime([0, 2], [10, 12], [1, 2, 4], [21, 22, 24]);
    expect(j.t).toEqual([0, 1, 2, 4]);
    expect(j.a).toEqual([10, null, 12, null]);
    expect(j.b).toEqual([null, 21, 22, 24]);
  });

  it('takes empty series', () => {
    expect(joinOnTime([], [], [1], [5])).toEqual({ t: [1], a: [null], b: [5] });
  });
});
