// uPlot draws a panel from one x array shared by all its series. Channels of one drive
// are sampled together and already share their times (the fast path: views, no copy of
// the times); channels of different drives are merged on the union of their times, with
// gaps (null) where a channel has no sample, which the panel draws across.

export type Points = { t: Float64Array; v: Float64Array };
export type Aligned = [Float64Array, ...(Float64Array | (number | null)[])[]];

function sameTimes(a: Float64Array, b: Float64Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The series on one x axis, values passed through `convert[i]`. */
export function alignSeries(series: Points[], convert: ((v: number) => number)[]): Aligned {
  if (series.length === 0) return [new Float64Array(0)];
  const first = series[0].t;
  if (series.every((s) => sameTimes(first, s.t))) {
    return [first, ...series.map((s, k) => {
      const out = new Float64Array(s.v.length);
      const f = convert[k];
      for (let i = 0; i < out.length; i++) out[i] = f(s.v[i]);
      return out;
    })];
  }
  // k-way merge of ascending time arrays; equal times share one x.
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
