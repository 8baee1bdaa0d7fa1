import { describe, expect, it } from 'vitest';
import { alignSeries } from './align';

const f64 = (xs: number[]) => Float64Array.from(xs);

describe('aligning series on one time axis', () => {
  it('shares the times of channels sampled together (no merge), converting values', () => {
    const t = f64([0, 1, 2]);
    const [x, a, b] = alignSeries([{ t, v: f64([1, 2, 3]) }, { t: f64([0, 1, 2]), v: f64([4, 5, 6]) }], [(v) => v * 10, (v) => -v]);
    expect(x).toBe(t);
    expect([...(a as Float64Array)]).toEqual([10, 20, 30]);
    expect([...(b as Float64Array)]).toEqual([-4, -5, -6]);
  });

  it('merges drives sampled at different times, with gaps where a channel has no sample', () => {
    const id = (v: number) => v;
    const [x, a, b] = alignSeries([{ t: f64([0, 2, 4]), v: f64([1, 2, 3]) }, { t: f64([1, 2, 5]), v: f64([7, 8, 9]) }], [id, id]);
    expect([...x]).toEqual([0, 1, 2, 4, 5]);
    expect(a).toEqual([1, null, 2, 3, null]);
    expect(b).toEqual([null, 7, 8, null, 9]);
  });

  it('handles nothing and empty channels', () => {
    expect(alignSeries([], []).length).toBe(1);
    const [x, a] = alignSeries([{ t: f64([]), v: f64([]) }], [(v) => v]);
    expect(x.length).toBe(0);
    expect(a.length).toBe(0);
  });
});
