import { describe, expect, it } from 'vitest';
import { alignSeries, reduceShared } from './align';

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

  it('passes sparse data through untouched when given a view', () => {
    const t = f64([0, 1, 2, 3]);
    const [x, a] = alignSeries([{ t, v: f64([1, 2, 3, 4]) }], [(v) => v], { from: 0, to: 3, columns: 100 });
    expect(x).toBe(t);
    expect([...(a as Float64Array)]).toEqual([1, 2, 3, 4]);
  });
});

/** Which pixel column (of `columns` over [from, to]) a time falls in, −1 left, `columns` right. */
const columnOf = (t: number, from: number, to: number, columns: number) =>
  Math.max(-1, Math.min(columns, Math.floor(((t - from) * columns) / (to - from))));

describe('reducing dense series to their pixel columns', () => {
  // 10 s at 1 kHz of two noisy, spiky series, on a 500-column panel showing 1 … 9 s.
  const n = 10_000;
  const t = new Float64Array(n);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < n; i++) {
    t[i] = i / 1000;
    a[i] = Math.sin(t[i] * 3) + 0.1 * random();
    b[i] = i % 997 === 0 ? 50 : -random();
  }
  const view = { from: 1, to: 9, columns: 500 };
  const [x, ra, rb] = alignSeries([{ t, v: a }, { t, v: b }], [(v) => v * 2, (v) => v], view) as [Float64Array, Float64Array, Float64Array];

  it('keeps at most four points a column, in time order', () => {
    expect(x.length).toBeLessThanOrEqual(4 * (view.columns + 2));
    expect(x.length).toBeGreaterThan(2 * view.columns);
    for (let i = 1; i < x.length; i++) expect(x[i]).toBeGreaterThanOrEqual(x[i - 1]);
    expect(ra.length).toBe(x.length);
    expect(rb.length).toBe(x.length);
  });

  it('draws the same extent in every column as all the samples would (min, max, first, last)', () => {
    for (const [raw, reduced, f] of [[a, ra, (v: number) => v * 2], [b, rb, (v: number) => v]] as const) {
      const want = new Map<number, { lo: number; hi: number; first: number; last: number }>();
      for (let i = 0; i < n; i++) {
        const c = columnOf(t[i], view.from, view.to, view.columns);
        const v = f(raw[i]);
        const w = want.get(c);
        if (!w) want.set(c, { lo: v, hi: v, first: v, last: v });
        else Object.assign(w, { lo: Math.min(w.lo, v), hi: Math.max(w.hi, v), last: v });
      }
      const got = new Map<number, number[]>();
      for (let i = 0; i < x.length; i++) {
        const c = columnOf(x[i], view.from, view.to, view.columns);
        got.set(c, [...(got.get(c) ?? []), reduced[i]]);
      }
      expect([...got.keys()]).toEqual([...want.keys()]);
      for (const [c, w] of want) {
        const vs = got.get(c)!;
        expect(Math.min(...vs)).toBe(w.lo);
        expect(Math.max(...vs)).toBe(w.hi);
        expect(vs[0]).toBe(w.first);
        expect(vs[vs.length - 1]).toBe(w.last);
      }
    }
  });

  it('keeps every spike, whichever series it is in', () => {
    expect([...rb].filter((v) => v === 50).length).toBe(Math.ceil(n / 997));
  });

  it('reduces drives sampled at different times each on its own before merging', () => {
    const t2 = t.map((v) => v + 0.0005);
    const [xm, ma, mb] = alignSeries([{ t, v: a }, { t: t2, v: b }], [(v) => v, (v) => v], view);
    expect(xm.length).toBeLessThanOrEqual(8 * (view.columns + 2));
    expect((ma as (number | null)[]).filter((v) => v !== null).length).toBe(reduceShared(t, [a], [(v) => v], view)[0].length);
    expect(Math.max(...(mb as (number | null)[]).filter((v): v is number => v !== null))).toBe(50);
  });
});
