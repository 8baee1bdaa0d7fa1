// The y ticks of a chart panel: steps of 1, 2 or 5 × 10ⁿ, at least four labelled ticks
// when the panel is tall enough for them, and never fewer than its min and max (a panel too
// short for four labels shows its range's two ends). uPlot's own splits drop to one tick
// or none on a short panel, which leaves an engineer without a scale.

/** Height of one tick label plus the gap an eye needs between two (CSS px). */
export const LABEL_PX = 16;
/** Ticks wanted at most per this many CSS px of panel height. */
const PX_PER_TICK = 36;

/** How many ticks of `step` fall inside [min, max]. */
export function tickCount(min: number, max: number, step: number): number {
  return Math.floor(max / step + 1e-9) - Math.ceil(min / step - 1e-9) + 1;
}

/** Decimals needed to write multiples of `step` exactly (0.05 → 2, 20 → 0). */
export function stepDecimals(step: number): number {
  if (!(step > 0) || !Number.isFinite(step)) return 0;
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** The 1/2/5 × 10ⁿ step for [min, max] on a panel `heightPx` tall: the largest whose tick
 * count is at least four (or as many as fit) and no more than fit. */
export function niceStep(min: number, max: number, heightPx: number): number {
  const span = max - min;
  const fits = Math.max(1, Math.floor(heightPx / LABEL_PX));
  const wanted = Math.min(fits, Math.max(4, Math.round(heightPx / PX_PER_TICK)));
  const e0 = Math.floor(Math.log10(span / wanted));
  let best = 0;
  for (let e = e0 - 1; e <= e0 + 2; e++) {
    for (const m of [1, 2, 5]) {
      const step = m * 10 ** e;
      const n = tickCount(min, max, step);
      if (n >= Math.min(4, fits) && n <= fits && step > best) best = step;
    }
  }
  if (best > 0) return best;
  // No step gives four that fit: the finest step whose ticks (two or more) still fit,
  // never one that would stack labels on top of each other.
  let coarsest = 0;
  for (let e = e0 + 2; e >= e0 - 2; e--) {
    for (const m of [5, 2, 1]) {
      const step = m * 10 ** e;
      const n = tickCount(min, max, step);
      if (n >= 2 && n <= fits) best = step;
      if (n >= 1 && coarsest === 0) coarsest = step;
    }
  }
  return best > 0 ? best : coarsest > 0 ? coarsest : span;
}

/** Where the y ticks go for [min, max] on a panel `heightPx` tall. */
export function yTicks(min: number, max: number, heightPx: number): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max <= min) return [min];
  if (heightPx < 4 * LABEL_PX) return [min, max];
  const step = niceStep(min, max, heightPx);
  const digits = stepDecimals(step);
  const ticks: number[] = [];
  const first = Math.ceil(min / step - 1e-9);
  const last = Math.floor(max / step + 1e-9);
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toFixed(digits)));
  return ticks;
}

/** The labels of `ticks`: as many decimals as their spacing needs, no "-0". */
export function tickLabels(ticks: number[]): string[] {
  let digits = 0;
  if (ticks.length >= 2) {
    const gaps = ticks.slice(1).map((t, i) => t - ticks[i]).filter((g) => g > 0);
    const step = gaps.length ? Math.min(...gaps) : 0;
    digits = stepDecimals(step);
    // Min/max ends of a short panel are not multiples of a step: keep 3 significant digits.
    if (ticks.length === 2 && step > 0) digits = Math.max(0, 2 - Math.floor(Math.log10(step)));
  }
  return ticks.map((t) => {
    const s = t.toFixed(digits);
    return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
  });
}

/** The y range a panel `heightPx` tall draws for data in [min, max]: the data with 5 %
 * headroom each side when that already shows four 1/2/5 ticks; otherwise (a panel that
 * fits four labels but whose data span falls between two steps, like 0–100 on 80 px) the
 * data widened to multiples of the smallest 1/2/5 step whose ticks fit, by whole steps
 * until there are four. A panel too short for four labels keeps the padded data range
 * (its ends are labelled). */
export function yRange(min: number, max: number, heightPx: number): [number, number] {
  let lo0 = min;
  let hi0 = max;
  let padded: [number, number];
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    // Nothing drawn yet: a unit range, still scaled like data would be.
    lo0 = 0;
    hi0 = 1;
    padded = [0, 1];
  } else if (max <= min) {
    // A flat trace: one unit (or 5 %) either side of it.
    const pad = Math.abs(min) * 0.05 || 1;
    lo0 = min - pad;
    hi0 = max + pad;
    padded = [lo0, hi0];
  } else {
    const pad = (max - min) * 0.05;
    padded = [min - pad, max + pad];
  }
  const fits = Math.floor(heightPx / LABEL_PX);
  if (fits < 4 || heightPx < 4 * LABEL_PX || yTicks(padded[0], padded[1], heightPx).length >= 4) return padded;
  const e0 = Math.floor(Math.log10((hi0 - lo0) / fits));
  for (let e = e0; e <= e0 + 3; e++) {
    for (const m of [1, 2, 5]) {
      const step = m * 10 ** e;
      let lo = Math.floor(lo0 / step + 1e-9) * step;
      let hi = Math.ceil(hi0 / step - 1e-9) * step;
      let n = Math.round((hi - lo) / step) + 1;
      for (let k = 0; n < 4; k++, n++) {
        if (k % 2 === 0) hi += step;
        else lo -= step;
      }
      if (n <= fits) return [lo, hi];
    }
  }
  return padded;
}
