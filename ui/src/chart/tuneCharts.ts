// The Tuning view's large charts, drawn with uPlot: the run's time chart (reference and
// response) and the Bode chart (magnitude, phase, coherence on a log frequency axis, with
// its marks). Both keep what they show in data attributes too, for tests and the window
// tests; where no canvas exists (jsdom) they only keep the data.
import type uPlot from 'uplot';
import type { BodeData } from './bode';
import { tickLabels, yTicks } from './ticks';

// uPlot is loaded only where a canvas exists: at import it reads matchMedia, which jsdom lacks.
let UPlot: typeof uPlot | null = null;
const canDraw = (): boolean => {
  try {
    return typeof matchMedia === 'function' && !!document.createElement('canvas').getContext('2d');
  } catch {
    return false;
  }
};
async function plotClass(): Promise<typeof uPlot | null> {
  if (!canDraw()) return null;
  UPlot ??= (await import('uplot')).default;
  return UPlot;
}

const css = (name: string, fallback: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

function yAxis(label: string): uPlot.Axis {
  return {
    stroke: css('--muted', '#8a96a8'), grid: { stroke: css('--grid', 'rgba(138,150,168,0.15)'), width: 1 }, label, size: 64,
    splits: (u, _a, min, max) => yTicks(min, max, u.bbox.height / devicePixelRatio),
    values: (_u, splits) => tickLabels(splits),
  };
}

/** Two series on one time axis: the sorted union of their times, each series' value at
 * its own times and null at the other's (drawn across: `spanGaps`). */
export function joinOnTime(
  ta: ArrayLike<number>, va: ArrayLike<number>, tb: ArrayLike<number>, vb: ArrayLike<number>,
): { t: number[]; a: (number | null)[]; b: (number | null)[] } {
  const t: number[] = [];
  const a: (number | null)[] = [];
  const b: (number | null)[] = [];
  let i = 0;
  let j = 0;
  while (i < ta.length || j < tb.length) {
    const ti = i < ta.length ? ta[i] : Infinity;
    const tj = j < tb.length ? tb[j] : Infinity;
    if (ti === tj) {
      t.push(ti); a.push(va[i++]); b.push(vb[j++]);
    } else if (ti < tj) {
      t.push(ti); a.push(va[i++]); b.push(null);
    } else {
      t.push(tj); a.push(null); b.push(vb[j++]);
    }
  }
  return { t, a, b };
}

/** The time chart of a run: reference and response (or two other series: `labels`), in
 * the user's unit. */
export class RunTimeChart {
  private plot: uPlot | null = null;
  constructor(private readonly root: HTMLElement) {}

  async show(t: ArrayLike<number>, reference: (number | null)[], response: (number | null)[], unit: string,
    labels: [string, string] = ['reference', 'response']): Promise<void> {
    this.root.dataset.points = String(t.length);
    this.root.dataset.unit = unit;
    this.plot?.destroy();
    this.plot = null;
    const uPlot = await plotClass();
    if (!uPlot) return;
    const width = Math.max(400, this.root.clientWidth || 900);
    this.plot = new uPlot({
      width, height: 300,
      scales: { x: { time: false } },
      series: [
        { label: 't (s)' },
        { label: `${labels[0]} (${unit})`, stroke: css('--muted', '#aaa'), width: 1.5, dash: [6, 3], spanGaps: true },
        { label: `${labels[1]} (${unit})`, stroke: '#2f9bff', width: 1.5, spanGaps: true },
      ],
      axes: [{ stroke: css('--muted', '#8a96a8'), label: 'time since the run started (s)' }, yAxis(unit)],
    }, [Array.from(t), reference, response] as uPlot.AlignedData, this.root);
  }
}

/** The Bode chart: |T| (dB) and ∠T (deg) over a log frequency axis, coherence below (0–1). */
export class BodeChart {
  private plots: uPlot[] = [];
  constructor(private readonly root: HTMLElement) {}

  async show(data: BodeData): Promise<void> {
    this.root.dataset.points = String(data.freq.length);
    this.root.dataset.dimmed = String(data.dimmedCount);
    this.root.dataset.observableHz = String(data.marks.find((m) => m.kind === 'observable')?.hz ?? '');
    for (const p of this.plots) p.destroy();
    this.plots = [];
    this.root.replaceChildren();
    // The marks as text too (with their rule as a tooltip), above the panels.
    const legend = document.createElement('div');
    legend.className = 'bode-marks';
    for (const m of data.marks) {
      const s = document.createElement('span');
      s.className = `bode-mark ${m.kind}`;
      s.dataset.kind = m.kind;
      s.textContent = m.label;
      s.title = m.title;
      legend.appendChild(s);
    }
    this.root.appendChild(legend);
    const uPlot = await plotClass();
    if (!uPlot) return;
    const width = Math.max(400, this.root.clientWidth || 900);
    const dim = 'rgba(138,150,168,0.45)';
    const x: uPlot.Scale = { time: false, distr: 3, log: 10 };
    const xAxis: uPlot.Axis = { stroke: css('--muted', '#8a96a8'), label: 'frequency (Hz)', grid: { stroke: css('--grid', 'rgba(138,150,168,0.15)') } };
    const marks = (u: uPlot) => {
      const ctx = u.ctx;
      const { top, height } = u.bbox;
      ctx.save();
      ctx.font = `${11 * devicePixelRatio}px sans-serif`;
      for (const m of data.marks) {
        const px = Math.round(u.valToPos(m.hz, 'x', true));
        ctx.strokeStyle = ctx.fillStyle = m.kind === 'observable' ? css('--bad', '#ff4d4f') : css('--text', '#ddd');
        ctx.setLineDash(m.kind === 'observable' ? [6, 4] : [2, 3]);
        ctx.beginPath();
        ctx.moveTo(px, top);
        ctx.lineTo(px, top + height);
        ctx.stroke();
        ctx.fillText(m.label, px + 3 * devicePixelRatio, top + 12 * devicePixelRatio);
      }
      ctx.restore();
    };
    const panel = (label: string, trusted: (number | null)[], dimmed: (number | null)[], height: number) => new uPlot({
      width, height, scales: { x },
      series: [{ label: 'f (Hz)' }, { label, stroke: '#2f9bff', width: 2 }, { label: `${label}, γ² below ${data.threshold}`, stroke: dim, width: 1.5, dash: [3, 3] }],
      axes: [xAxis, yAxis(label)],
      hooks: { draw: [marks] },
    }, [data.freq, trusted, dimmed] as uPlot.AlignedData, this.root);
    this.plots.push(panel('magnitude (dB)', data.magTrusted, data.magDimmed, 240));
    this.plots.push(panel('phase (deg)', data.phaseTrusted, data.phaseDimmed, 200));
    this.plots.push(new uPlot({
      width, height: 120, scales: { x, y: { range: [0, 1] } },
      series: [{ label: 'f (Hz)' }, { label: 'coherence γ²', stroke: '#43d17a', fill: 'rgba(67,209,122,0.2)', width: 1.5 },
        { label: 'threshold', stroke: dim, dash: [4, 4] }],
      axes: [xAxis, { ...yAxis('coherence (0–1)'), splits: () => [0, 0.25, 0.5, 0.75, 1] }],
      hooks: { draw: [marks] },
    }, [data.freq, data.coherence, data.freq.map(() => data.threshold)] as uPlot.AlignedData, this.root));
  }
}

/** One line of an overlay chart. */
export type OverlaySeries = { label: string; values: (number | null)[]; dash?: number[]; color?: string };

/** The colours of overlaid series, in order. */
export const OVERLAY_COLOURS = ['#2f9bff', '#ff9f1c', '#43d17a', '#ff4d4f', '#b37feb', '#c49c94', '#f78fb3', '#9aa5b1', '#d4d14a', '#3cd3e6'];

/** Samples `ys` (at `xs`, ascending) at each of `grid` by linear interpolation: null
 * outside `xs`' range and where a neighbour is null. */
export function resampleOnto(xs: ArrayLike<number>, ys: ArrayLike<number | null>, grid: number[]): (number | null)[] {
  const out: (number | null)[] = [];
  let j = 0;
  for (const g of grid) {
    if (xs.length === 0 || g < xs[0] || g > xs[xs.length - 1]) { out.push(null); continue; }
    while (j + 1 < xs.length && xs[j + 1] < g) j++;
    const k = Math.min(j + 1, xs.length - 1);
    const a = ys[j], b = ys[k];
    if (a === null || b === null) { out.push(null); continue; }
    const span = xs[k] - xs[j];
    out.push(span > 0 ? a + ((b - a) * (g - xs[j])) / span : a);
  }
  return out;
}

/** Several series over one x axis (linear or log), each with its label and colour; what it
 * shows is kept in data attributes too (`data-series`, `data-points`). */
export class OverlayChart {
  private plot: uPlot | null = null;
  constructor(private readonly root: HTMLElement, private readonly opts: { xLabel: string; yLabel: string; logX?: boolean; height?: number }) {}

  async show(x: number[], series: OverlaySeries[]): Promise<void> {
    this.root.dataset.points = String(x.length);
    this.root.dataset.series = series.map((s) => s.label).join('|');
    this.plot?.destroy();
    this.plot = null;
    const uPlot = await plotClass();
    if (!uPlot) return;
    const width = Math.max(360, this.root.clientWidth || 600);
    const xScale: uPlot.Scale = this.opts.logX ? { time: false, distr: 3, log: 10 } : { time: false };
    this.plot = new uPlot({
      width, height: this.opts.height ?? 220,
      scales: { x: xScale },
      series: [{ label: this.opts.xLabel }, ...series.map((s, i) => ({
        label: s.label, stroke: s.color ?? OVERLAY_COLOURS[i % OVERLAY_COLOURS.length], width: 1.5, dash: s.dash, spanGaps: true,
      }))],
      axes: [{ stroke: css('--muted', '#8a96a8'), label: this.opts.xLabel, grid: { stroke: css('--grid', 'rgba(138,150,168,0.15)') } }, yAxis(this.opts.yLabel)],
    }, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, this.root);
  }
}
