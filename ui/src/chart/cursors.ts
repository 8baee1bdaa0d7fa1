// Two measuring cursors (A and B) on the chart's time axis: each channel's value at A and
// at B, the difference, and the time between them (and its frequency).
import type { ChartChannel } from './channels';
import { DISPLAY } from './channels';

export type Points = { t: ArrayLike<number>; v: ArrayLike<number> };

/** Index of the first time ≥ `time` (binary search; `t` ascending). */
export function lowerBound(t: ArrayLike<number>, time: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The value at `time`, interpolated linearly between the samples around it; null
 * outside the samples (no extrapolation). */
export function valueAt(p: Points, time: number): number | null {
  const n = Math.min(p.t.length, p.v.length);
  if (n === 0 || !Number.isFinite(time) || time < p.t[0] || time > p.t[n - 1]) return null;
  const i = lowerBound(p.t, time);
  if (p.t[i] === time || i === 0) return p.v[i];
  const t0 = p.t[i - 1];
  const t1 = p.t[i];
  const f = t1 === t0 ? 1 : (time - t0) / (t1 - t0);
  return p.v[i - 1] + f * (p.v[i] - p.v[i - 1]);
}

export type Readout = { channel: ChartChannel; unit: string; digits: number; a: number | null; b: number | null; delta: number | null };
export type Readouts = { a: number | null; b: number | null; dt: number | null; hz: number | null; rows: Readout[] };

/** Each channel's value (display units) at cursors `a` and `b` (s), and B − A. */
export function cursorReadouts(channels: ChartChannel[], data: Map<number, Points>, a: number | null, b: number | null): Readouts {
  const rows = channels.map((channel) => {
    const points = data.get(channel.id);
    const display = DISPLAY[channel.name];
    const at = (time: number | null) => {
      if (time === null || !points) return null;
      const v = valueAt(points, time);
      return v === null ? null : display.toDisplay(v);
    };
    const va = at(a);
    const vb = at(b);
    return { channel, unit: display.unit, digits: display.digits, a: va, b: vb, delta: va !== null && vb !== null ? vb - va : null };
  });
  const dt = a !== null && b !== null ? b - a : null;
  return { a, b, dt, hz: dt ? 1 / Math.abs(dt) : null, rows };
}
