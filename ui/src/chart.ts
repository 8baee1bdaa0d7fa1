// The live chart of the selected drive (uPlot): position (°), velocity (rpm) and current
// (A) against seconds since the session started. Its data comes only from the store's
// tail batches, kept in SeriesBuffers trimmed to the window.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { SeriesBuffer } from './buffer';
import type { ChannelName, TailBatch } from './backend/types';
import { radSToRpm, radToDeg } from './units';

export const CHANNEL_ORDER: ChannelName[] = ['position', 'velocity', 'current'];
const TO_DISPLAY: Record<ChannelName, (v: number) => number> = {
  position: radToDeg,
  velocity: radSToRpm,
  current: (a) => a,
};

export class LiveChart {
  private plot: uPlot | null = null;
  private buffers = new Map<ChannelName, SeriesBuffer>();
  private channelIds = new Map<number, ChannelName>();
  private shown = new Set<ChannelName>();
  windowSeconds = 10;

  constructor(private readonly root: HTMLElement) {
    for (const name of CHANNEL_ORDER) this.buffers.set(name, new SeriesBuffer());
    new ResizeObserver(() => this.resize()).observe(root);
  }

  /** Which store channels feed the chart (the selected drive's). Clears the buffers. */
  setChannels(ids: Partial<Record<ChannelName, number>>): void {
    this.channelIds.clear();
    for (const [name, id] of Object.entries(ids) as [ChannelName, number][]) this.channelIds.set(id, name);
    for (const b of this.buffers.values()) b.clear();
  }

  /** The channel IDs to ask the store for. */
  channels(): number[] {
    return [...this.channelIds.keys()];
  }

  setShown(channels: ChannelName[]): void {
    this.shown = new Set(channels);
    CHANNEL_ORDER.forEach((name, i) => this.plot?.setSeries(i + 1, { show: this.shown.has(name) }));
  }

  append(batch: TailBatch): void {
    for (const s of batch.series) {
      const name = this.channelIds.get(s.channel);
      if (name) this.buffers.get(name)!.append(s.t, s.v);
    }
  }

  /** The time range on screen, s since the session started (null before data). */
  visibleRange(): [number, number] | null {
    const last = this.buffers.get('position')!.last();
    if (!last) return null;
    const from = Math.max(0, last.t - this.windowSeconds);
    return from < last.t ? [from, last.t] : null;
  }

  /** Trims to the window and redraws. */
  draw(): void {
    const x = this.buffers.get('position')!;
    const last = x.last();
    if (last) for (const b of this.buffers.values()) b.trimBefore(last.t - this.windowSeconds);
    const t = x.times();
    const n = Math.min(...CHANNEL_ORDER.map((c) => this.buffers.get(c)!.length));
    const xs = t.subarray(t.length - n);
    const ys = CHANNEL_ORDER.map((c) => {
      const v = this.buffers.get(c)!.values();
      const convert = TO_DISPLAY[c];
      return Array.from(v.subarray(v.length - n), convert);
    });
    this.root.dataset.points = String(n);
    this.root.dataset.lastPosition = n > 0 ? ys[0][n - 1].toFixed(2) : '';
    const data: uPlot.AlignedData = [xs, ...ys];
    if (!this.plot) this.create(data);
    else this.plot.setData(data);
  }

  private create(data: uPlot.AlignedData): void {
    const { width, height } = this.size();
    const axisStroke = getComputedStyle(document.documentElement).getPropertyValue('--muted').trim() || '#8a96a8';
    const grid = { stroke: 'rgba(138,150,168,0.15)', width: 1 };
    this.plot = new uPlot(
      {
        width,
        height,
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false }, deg: { auto: true }, rpm: { auto: true }, A: { auto: true } },
        series: [
          { label: 't (s)', value: (_u, v) => (v == null ? '—' : v.toFixed(3)) },
          { label: 'position (°)', scale: 'deg', stroke: '#2f9bff', width: 2, show: this.shown.has('position') },
          { label: 'velocity (rpm)', scale: 'rpm', stroke: '#43d17a', width: 1.5, show: this.shown.has('velocity') },
          { label: 'current (A)', scale: 'A', stroke: '#ffb02e', width: 1, show: this.shown.has('current') },
        ],
        axes: [
          { stroke: axisStroke, grid, label: 's' },
          { scale: 'deg', stroke: axisStroke, grid, label: '°' },
          { scale: 'rpm', side: 1, stroke: axisStroke, grid: { show: false }, label: 'rpm' },
          { scale: 'A', side: 1, stroke: axisStroke, grid: { show: false }, label: 'A', size: 50 },
        ],
      },
      data,
      this.root,
    );
  }

  private size(): { width: number; height: number } {
    const rect = this.root.getBoundingClientRect();
    return { width: Math.max(300, Math.floor(rect.width)), height: Math.max(160, Math.floor(rect.height) - 40) };
  }

  private resize(): void {
    if (this.plot) this.plot.setSize(this.size());
  }
}
