// uPlot draws a panel from one x array shared by all its series. Channels of one drive
// are sampled together and already share their times (the fast path: views, no copy of
// the times); channels of different drives are merged on the union of their times, with
// gaps (null) where a channel has no sample, which the panel draws across.
//
// A live window holds more samples than the panel has pixels (10 s at 1 kHz on a
// 900 px panel: 11 a pixel). Drawn as they are, every frame would walk them all in
// uPlot (scales, paths) and stroke segments no one can see. So, given the view, each
// pixel column keeps the samples that shape the line there: its first and last, and
// each series' lowest and highest, in the order they came (the "M4" reduction: the line
// drawn from them covers the same pixels). The readouts still use every sample.

export type Points = { t: Float64Array; v: Float64Array };
export type Aligned = [Float64Array, ...(Float64Array | (number | null)[])[]];

function sameTimes(a: Float64Array, b: Float64Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Arrays a panel hands back every frame to be filled again: drawing sixty times a
 * second, fresh arrays each time would be garbage the page's heap grows to hold. What
 * alignSeries returns are views on them, valid until the next call with the same scratch. */
export class Scratch {
  private arrays: Float64Array[] = [];

  /** The `index`th array, at least `length` long (grown by half again when too short). */
  get(index: number, length: number): Float64Array {
    const have = this.arrays[index];
    if (have && have.length >= length) return have;
    const grown = new Float64Array(Math.max(length, Math.ceil((have?.length ?? 0) * 1.5)));
    this.arrays[index] = grown;
    return grown;
  }
}

/** The visible range and the panel's width in pixel columns. */
export type View = { from: number; to: number; columns: number };

/** Whether `n` samples are worth reducing for `view` (more than two a column). */
const dense = (n: number, view?: View): view is View =>
  !!view && view.columns >= 1 && view.to > view.from && n > 2 * view.columns;

/**
 * Series sharing the times `t`, reduced to at most four points a pixel column of `view`
 * (its first and last sample; each series' lowest and highest in between, in time order,
 * at a third and two thirds of the column's time span), values passed through `convert`.
 * Samples left and right of the view form one column each, so the line still enters and
 * leaves the panel where it should.
 */
export function reduceShared(
  t: Float64Array, values: Float64Array[], convert: ((v: number) => number)[], view: View, scratch?: Scratch,
): Aligned {
  const n = t.length;
  const scale = view.columns / (view.to - view.from);
  const column = (time: number): number => {
    const c = Math.floor((time - view.from) * scale);
    return c < 0 ? -1 : c >= view.columns ? view.columns : c;
  };
  // No column holds more than four points, nor more than it has samples.
  const room = Math.min(n, 4 * (view.columns + 2));
  const xs = scratch ? scratch.get(0, room) : new Float64Array(room);
  const ys = values.map((_, s) => (scratch ? scratch.get(s + 1, room) : new Float64Array(room)));
  let out = 0;
  let i = 0;
  while (i < n) {
    const c = column(t[i]);
    let j = i;
    while (j + 1 < n && column(t[j + 1]) === c) j++;
    if (j - i < 4) {
      // Four samples or fewer: all of them.
      for (let k = i; k <= j; k++) {
        xs[out] = t[k];
        for (let s = 0; s < values.length; s++) ys[s][out] = convert[s](values[s][k]);
        out++;
      }
    } else {
      const span = t[j] - t[i];
      xs[out] = t[i];
      xs[out + 1] = t[i] + span / 3;
      xs[out + 2] = t[i] + (2 * span) / 3;
      xs[out + 3] = t[j];
      for (let s = 0; s < values.length; s++) {
        const v = values[s];
        let lo = i + 1;
        let hi = i + 1;
        for (let k = i + 2; k < j; k++) {
          if (v[k] < v[lo]) lo = k;
          if (v[k] > v[hi]) hi = k;
        }
        const f = convert[s];
        const y = ys[s];
        y[out] = f(v[i]);
        y[out + 1] = f(v[Math.min(lo, hi)]);
        y[out + 2] = f(v[Math.max(lo, hi)]);
        y[out + 3] = f(v[j]);
      }
      out += 4;
    }
    i = j + 1;
  }
  return [xs.subarray(0, out), ...ys.map((y) => y.subarray(0, out))];
}

/** The series on one x axis, values passed through `convert[i]`; with `view`, reduced to
 * what its pixel columns can show when there are more samples than that. With `scratch`,
 * the arrays returned for channels sampled together are views on it (see Scratch). */
export function alignSeries(series: Points[], convert: ((v: number) => number)[], view?: View, scratch?: Scratch): Aligned {
  if (series.length === 0) return [new Float64Array(0)];
  const first = series[0].t;
  if (series.every((s) => sameTimes(first, s.t))) {
    if (dense(first.length, view)) return reduceShared(first, series.map((s) => s.v), convert, view, scratch);
    return [first, ...series.map((s, k) => {
      const out = scratch ? scratch.get(k + 1, s.v.length).subarray(0, s.v.length) : new Float64Array(s.v.length);
      const f = convert[k];
      for (let i = 0; i < out.length; i++) out[i] = f(s.v[i]);
      return out;
    })];
  }
  // Each series reduced on its own first (when dense), then merged.
  const reduced = series.map((s, k): Points => {
    if (!dense(s.t.length, view)) return s;
    const [t, v] = reduceShared(s.t, [s.v], [convert[k]], view);
    return { t, v: v as Float64Array };
  });
  const converters = series.map((s, k) => (reduced[k] === s ? convert[k] : (v: number) => v));
  return merge(reduced, converters);
}

/** k-way merge of ascending time arrays; equal times share one x. */
function merge(series: Points[], convert: ((v: number) => number)[]): Aligned {
  const idx = series.map(() => 0);
  const xs: number[] = [];
  const ys: (number | null)[][] = series.map(() => []);
  for (;;) {
    let next = Infinity;
    for (let k = 0; k < series.length; k++) if (idx[k] < series[k].t.length && series[k].t[idx[k]] < next) next = series[k].t[idx[k]];
    if (next === Infinity) break;
    xs.push(next);
    for (let k = 0; k < series.length; k++) {
      const s = series[k];
      if (idx[k] < s.t.length && s.t[idx[k]] === next) {
        ys[k].push(convert[k](s.v[idx[k]]));
        idx[k]++;
      } else ys[k].push(null);
    }
  }
  return [Float64Array.from(xs), ...ys];
}
