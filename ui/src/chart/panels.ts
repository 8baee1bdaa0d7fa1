// The chart on screen: stacked uPlot panels, one per display unit, sharing the time axis
// (s since the session started) and a synced hover cursor. The panels only draw: the
// range and the points come from the ChartFeed, and what the user does (drag to zoom,
// wheel to zoom, shift+wheel or right-drag to pan, click for cursor A, shift+click for
// cursor B, double-click to reset) goes back through `ChartEvents`.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartChannel } from './channels';
import { DISPLAY, channelColor, channelLabel, panelsOf } from './channels';
import { Scratch, alignSeries } from './align';
import { tickLabels, yRange, yTicks } from './ticks';
import type { Points } from './feed';

export type ChartEvents = {
  /** The user asked for [from, to] (zoom or pan). */
  range(from: number, to: number): void;
  /** A click placed cursor `which` at `t`. */
  cursor(which: 'a' | 'b', t: number): void;
  /** Double-click: back to the default view. */
  reset(): void;
  /** The hover position moved (null: off the chart). */
  hover(t: number | null): void;
};

/** Markers drawn across every panel: the two cursors and a trigger. */
export type Markers = { a: number | null; b: number | null; trigger: number | null };

const SYNC_KEY = 'drivedeck-chart';
/** Height of the time axis under the bottom panel (CSS px). */
const X_AXIS_PX = 28;
/** Height of the legend line under each panel (CSS px). */
const LEGEND_PX = 26;
/** The least plot area a panel keeps, however small the window (CSS px). */
const MIN_PLOT_PX = 40;

/** A panel's plot area height in CSS px: uPlot's own once it has laid out, else what its
 * size leaves after the time axis and padding. */
function plotHeight(u: uPlot, height: number, bottom: boolean): number {
  const laid = u.bbox?.height ? u.bbox.height / devicePixelRatio : 0;
  return laid > 0 ? laid : height - (bottom ? X_AXIS_PX : 0) - 12;
}

type Panel = { plot: uPlot; channels: ChartChannel[]; el: HTMLElement; scratch: Scratch };

export class StackedChart {
  /** The pending [`fit`] frame. */
  private fitting: number | null = null;
  /** When false, each panel's y range holds still. */
  autoscale = true;
  markers: Markers = { a: null, b: null, trigger: null };
  private panels: Panel[] = [];
  private channels: ChartChannel[] = [];
  private range: [number, number] | null = null;
  private readonly host: HTMLElement;

  constructor(private readonly root: HTMLElement, private readonly events: ChartEvents) {
    this.host = document.createElement('div');
    this.host.className = 'panels';
    root.appendChild(this.host);
    new ResizeObserver(() => this.resize()).observe(root);
  }

  /** Plot area width in CSS pixels (what a window request decimates for). */
  widthPx(): number {
    const plot = this.panels[0]?.plot;
    return plot ? Math.max(1, Math.round(plot.bbox.width / devicePixelRatio)) : Math.max(1, Math.floor(this.root.clientWidth) - 80);
  }

  setChannels(channels: ChartChannel[]): void {
    this.channels = channels;
    this.rebuild();
  }

  /** Builds the panels again (channels or theme changed). */
  rebuild(): void {
    for (const p of this.panels) p.plot.destroy();
    this.host.replaceChildren();
    const groups = panelsOf(this.channels);
    this.root.classList.toggle('empty', groups.length === 0);
    const sizes = this.panelSizes(groups.length);
    const css = getComputedStyle(document.documentElement);
    const axisStroke = css.getPropertyValue('--muted').trim() || '#8a96a8';
    const gridStroke = css.getPropertyValue('--grid').trim() || 'rgba(138,150,168,0.15)';
    this.panels = groups.map((group, index) => {
      const size = sizes[index];
      // The panels share the time axis: only the bottom one draws its labels, the others
      // keep its grid lines and give the space to their plots.
      const bottom = index === groups.length - 1;
      const el = document.createElement('div');
      el.className = 'panel-plot';
      el.dataset.unit = group.unit;
      this.host.appendChild(el);
      const display = DISPLAY[group.name];
      const opts: uPlot.Options = {
        width: size.width,
        height: size.height,
        legend: { show: true, live: true },
        cursor: {
          sync: { key: SYNC_KEY, setSeries: false },
          drag: { x: true, y: false, setScale: false },
        },
        scales: {
          x: { time: false, auto: false },
          y: {
            auto: () => this.autoscale,
            // Widened to whole 1/2/5 steps where the data alone would show fewer than four.
            range: (u, min, max) => yRange(min, max, plotHeight(u, size.height, bottom)),
          },
        },
        series: [
          { label: 't (s)', value: (_u, v) => (v == null ? '—' : v.toFixed(3)) },
          ...group.channels.map((c) => ({
            label: `${channelLabel(c)} (${display.unit})`,
            stroke: channelColor(c),
            width: 1.5,
            spanGaps: true,
            value: (_u: uPlot, v: number | null) => (v == null ? '—' : v.toFixed(display.digits)),
          })),
        ],
        axes: [
          // Seconds: the legend's first column says so; no axis label, to keep the panels tall.
          bottom
            ? { stroke: axisStroke, grid: { stroke: gridStroke, width: 1 }, ticks: { stroke: gridStroke }, size: X_AXIS_PX }
            : { stroke: axisStroke, grid: { stroke: gridStroke, width: 1 }, ticks: { show: false }, size: 0, gap: 0, values: (_u, splits) => splits.map(() => '') },
          {
            stroke: axisStroke,
            grid: { stroke: gridStroke, width: 1 },
            ticks: { stroke: gridStroke },
            label: display.unit,
            size: 64,
            // 1/2/5 steps, at least four labelled ticks, or the range's ends on a short panel.
            splits: (u, _axis, min, max) => yTicks(min, max, plotHeight(u, size.height, bottom)),
            values: (_u, splits) => {
              const labels = tickLabels(splits);
              // The labels drawn, for the window tests (the canvas keeps no text).
              const ticks = labels.join(' ');
              if (el.dataset.ticks !== ticks) el.dataset.ticks = ticks;
              return labels;
            },
          },
        ],
        hooks: {
          setSelect: [(u) => this.selected(u)],
          draw: [(u) => this.drawMarkers(u)],
          setCursor: [(u) => this.events.hover(u.cursor.left != null && u.cursor.left >= 0 ? u.posToVal(u.cursor.left, 'x') : null)],
        },
      };
      const plot = new uPlot(opts, [new Float64Array(0), ...group.channels.map(() => new Float64Array(0))] as uPlot.AlignedData, el);
      this.listen(plot);
      return { plot, channels: group.channels, el, scratch: new Scratch() };
    });
    this.fit();
  }

  /** Draws `data` over `range`. */
  render(range: [number, number] | null, data: Map<number, Points>): void {
    this.range = range;
    for (const p of this.panels) {
      const series = p.channels.map((c) => data.get(c.id) ?? { t: new Float64Array(0), v: new Float64Array(0) });
      // More samples than pixels are reduced to what each pixel column shows (align.ts).
      const columns = Math.round(p.plot.bbox.width);
      const view = range && columns > 0 ? { from: range[0], to: range[1], columns } : undefined;
      const aligned = alignSeries(series, p.channels.map((c) => DISPLAY[c.name].toDisplay), view, p.scratch);
      p.plot.batch(() => {
        p.plot.setData(aligned as uPlot.AlignedData, false);
        if (range) p.plot.setScale('x', { min: range[0], max: range[1] });
      });
    }
  }

  /** Redraws the markers (cursors moved). */
  redraw(): void {
    for (const p of this.panels) p.plot.redraw(false, false);
  }

  private selected(u: uPlot): void {
    const { left, width } = u.select;
    if (width > 2) this.events.range(u.posToVal(left, 'x'), u.posToVal(left + width, 'x'));
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
  }

  private listen(plot: uPlot): void {
    const over = plot.over;
    over.addEventListener('wheel', (e) => {
      if (!this.range) return;
      e.preventDefault();
      const [a, b] = this.range;
      if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        const d = (b - a) * 0.1 * Math.sign(e.shiftKey ? e.deltaY : e.deltaX);
        this.events.range(a + d, b + d);
        return;
      }
      const t = plot.posToVal(e.offsetX, 'x');
      const factor = e.deltaY < 0 ? 0.8 : 1.25;
      this.events.range(t - (t - a) * factor, t + (b - t) * factor);
    }, { passive: false });
    let down: { x: number; button: number; range: [number, number] | null } | null = null;
    over.addEventListener('mousedown', (e) => {
      down = { x: e.clientX, button: e.button, range: this.range };
    });
    over.addEventListener('contextmenu', (e) => e.preventDefault());
    window.addEventListener('mousemove', (e) => {
      if (!down || down.button !== 2 || !down.range) return;
      const [a, b] = down.range;
      const d = -((e.clientX - down.x) / over.clientWidth) * (b - a);
      this.events.range(a + d, b + d);
    });
    window.addEventListener('mouseup', (e) => {
      const start = down;
      down = null;
      if (!start || start.button !== 0 || Math.abs(e.clientX - start.x) > 3) return;
      // A click (no drag) places a cursor; the position is taken from the plot area, not
      // from whichever of uPlot's layers was under the pointer.
      const left = e.clientX - over.getBoundingClientRect().left;
      if (left < 0 || left > over.clientWidth) return;
      this.events.cursor(e.shiftKey ? 'b' : 'a', plot.posToVal(left, 'x'));
    });
    over.addEventListener('dblclick', () => this.events.reset());
  }

  private drawMarkers(u: uPlot): void {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const css = getComputedStyle(document.documentElement);
    const marks: [number | null, string, string, number[]][] = [
      [this.markers.trigger, css.getPropertyValue('--bad').trim() || '#ff4d4f', 'T', [6, 4]],
      [this.markers.a, css.getPropertyValue('--text').trim() || '#ddd', 'A', []],
      [this.markers.b, css.getPropertyValue('--text').trim() || '#ddd', 'B', [2, 3]],
    ];
    ctx.save();
    ctx.lineWidth = devicePixelRatio;
    ctx.font = `${11 * devicePixelRatio}px sans-serif`;
    for (const [t, color, label, dash] of marks) {
      if (t === null) continue;
      const x = Math.round(u.valToPos(t, 'x', true));
      if (x < left || x > left + width) continue;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.setLineDash(dash.map((d) => d * devicePixelRatio));
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      ctx.fillText(label, x + 3 * devicePixelRatio, top + 12 * devicePixelRatio);
    }
    ctx.restore();
  }

  /** Each panel's uPlot size: the chart's height shared so that every plot area is as
   * tall as the others, after each panel's legend line and the one time axis. Before the
   * panels exist the legend and axes are estimated; [`fit`] then measures them. */
  private panelSizes(count: number): { width: number; height: number }[] {
    const n = Math.max(1, count);
    const width = Math.max(300, Math.floor(this.root.clientWidth));
    const each = Math.floor((this.root.clientHeight - X_AXIS_PX - n * LEGEND_PX) / n);
    return Array.from({ length: n }, (_, i) => ({
      width,
      height: Math.max(50, each + (i === n - 1 ? X_AXIS_PX : 0)),
    }));
  }

  /** Resizes the panels, once uPlot has laid them out, to what they really take besides
   * their plot areas (the legend line, however it wraps; the time axis; uPlot's padding),
   * so that the plots share the chart's height equally and none spills out of it. Measured
   * from the drawn elements a frame later: uPlot settles its layout asynchronously. */
  private fit(pass = 0): void {
    if (this.fitting !== null) cancelAnimationFrame(this.fitting);
    this.fitting = requestAnimationFrame(() => {
      this.fitting = null;
      if (this.panels.length === 0) return;
      const width = Math.max(300, Math.floor(this.root.clientWidth));
      const extra = this.panels.map((p) => {
        const plotPx = p.plot.over.getBoundingClientRect().height;
        const total = p.el.getBoundingClientRect().height + (Number.parseFloat(getComputedStyle(p.el).marginBottom) || 0);
        return { chrome: p.plot.height - plotPx, total: total - plotPx };
      });
      if (extra.some((e) => !Number.isFinite(e.chrome) || !Number.isFinite(e.total))) return;
      const spare = this.root.clientHeight - extra.reduce((sum, e) => sum + e.total, 0);
      const plot = Math.max(MIN_PLOT_PX, Math.floor(spare / this.panels.length));
      let changed = false;
      this.panels.forEach((p, i) => {
        const height = Math.round(plot + extra[i].chrome);
        if (Math.abs(p.plot.height - height) >= 1 || p.plot.width !== width) {
          p.plot.setSize({ width, height });
          // The y range depends on the plot's height (yRange): work it out again.
          p.plot.setData(p.plot.data, true);
          changed = true;
        }
      });
      // New heights can move the y labels and so uPlot's padding: measure once more.
      if (changed && pass < 2) this.fit(pass + 1);
    });
  }

  private resize(): void {
    const sizes = this.panelSizes(this.panels.length);
    this.panels.forEach((p, i) => p.plot.setSize(sizes[i]));
    this.fit();
  }
}
