// The Tuning view's comparison: the runs ticked in the run list side by side — their test,
// drive, gains, figures and models in one table, their steps (normalised to their size)
// and closed loops overlaid, the drives whose model stands out from their siblings'
// flagged — and the comparison exported as PNG, SVG, CSV or JSON.
import type { Backend } from '../backend/index';
import type { ComparedRun, Comparison, TuneExportFormat } from '../backend/types';
import { errorMessage } from '../backend/types';
import { readout } from '../units';
import { OverlayChart, resampleOnto } from '../chart/tuneCharts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

export const COMPARE_LAYOUT = `
  <div id="cmp-panel" class="tune-compare" hidden>
    <div class="tune-head"><h3>Compared <span id="cmp-title" class="muted"></span></h3><span class="spacer"></span>
      <button id="cmp-close" title="Close the comparison">Close</button></div>
    <div id="cmp-flags" class="cmp-flags" role="alert"></div>
    <div class="cmp-body"><div class="cmp-charts"><div id="cmp-step" class="tune-chart"></div><div id="cmp-bode" class="tune-chart"></div></div>
      <div class="cmp-side"><table id="cmp-table" class="cmp-table"></table>
        <div class="tune-export">${(['png', 'svg', 'csv', 'json'] as TuneExportFormat[])
    .map((f) => `<button data-cmp-export="${f}" title="Export the comparison as ${f.toUpperCase()}">${f.toUpperCase()}</button>`).join('')}
          <div id="cmp-export-path" class="muted small"></div></div>
        <div id="cmp-notes" class="muted small"></div></div></div>
  </div>`;

/** The rows of the side-by-side table: a name and each run's cell. */
export function compareRows(c: Comparison): { key: string; name: string; cells: string[] }[] {
  const rows: { key: string; name: string; cells: string[] }[] = [];
  const add = (key: string, name: string, f: (r: ComparedRun) => string) => rows.push({ key, name, cells: c.runs.map(f) });
  const source = (s: string) => (s === 'predicted' ? ' (predicted)' : '');
  add('drive', 'drive', (r) => `${r.summary.drive.link}:${r.summary.drive.id} ${r.summary.profile}`);
  add('test', 'test', (r) => `${r.summary.test}, ${r.summary.loop} loop`);
  add('started', 'started (UTC)', (r) => new Date(r.summary.startedAtMs).toISOString().slice(0, 19).replace('T', ' '));
  add('rise', 'rise time', (r) => readout(r.riseTimeS === null ? null : r.riseTimeS * 1000, 1, ' ms') + source(r.stepSource));
  add('overshoot', 'overshoot', (r) => readout(r.overshootPct, 1, ' %') + source(r.stepSource));
  add('bandwidth', 'bandwidth', (r) => readout(r.bandwidthHz, 2, ' Hz') + source(r.bodeSource));
  add('pm', 'phase margin', (r) => readout(r.phaseMarginDeg, 1, '°') + source(r.bodeSource));
  add('inertia', 'J', (r) => (r.physical ? readout(r.physical.inertia.value, 5, ' kg·m²') : r.modelNote ? 'no model' : '—'));
  add('viscous', 'B', (r) => (r.physical ? readout(r.physical.viscous.value, 4, ' N·m·s/rad') : '—'));
  add('coulomb', 'τc', (r) => (r.physical ? readout(r.physical.coulomb.value, 4, ' N·m') : '—'));
  add('fit', 'model fit', (r) => (r.model ? readout(r.model.fit_pct, 1, ' %') : '—'));
  const names: string[] = [];
  for (const r of c.runs) for (const g of r.gains) if (!names.includes(g.name)) names.push(g.name);
  for (const name of names) {
    add(`gain:${name}`, name, (r) => {
      const g = r.gains.find((x) => x.name === name);
      return g ? `${Number(g.value.toPrecision(6))}${g.unit ? ` ${g.unit}` : ''}` : '—';
    });
  }
  return rows;
}

export class ComparePanel {
  private ids: number[] = [];
  comparison: Comparison | null = null;
  private readonly step: OverlayChart;
  private readonly bode: OverlayChart;

  constructor(private readonly root: HTMLElement, private readonly backend: Backend) {
    this.step = new OverlayChart(this.$('cmp-step'), { xLabel: 'time from the step (s)', yLabel: 'response / step' });
    this.bode = new OverlayChart(this.$('cmp-bode'), { xLabel: 'frequency (Hz)', yLabel: '|T| (dB)', logX: true });
    this.$('cmp-close').addEventListener('click', () => { this.$('cmp-panel').hidden = true; });
    for (const b of root.querySelectorAll<HTMLButtonElement>('[data-cmp-export]')) {
      b.addEventListener('click', () => void this.exportAs(b.dataset.cmpExport as TuneExportFormat));
    }
  }

  private $<T extends HTMLElement>(id: string): T {
    return this.root.querySelector(`#${id}`) as T;
  }

  /** Compares runs `ids`; refusals show in the panel. */
  async show(ids: number[]): Promise<void> {
    this.ids = ids;
    const panel = this.$('cmp-panel');
    panel.hidden = false;
    this.$('cmp-title').textContent = `runs ${ids.join(', ')}`;
    this.$('cmp-export-path').textContent = '';
    let c: Comparison;
    try {
      c = await this.backend.tuneCompare(ids);
    } catch (e) {
      this.comparison = null;
      this.$('cmp-flags').textContent = `No comparison: ${errorMessage(e)}`;
      this.$('cmp-table').replaceChildren();
      return;
    }
    this.comparison = c;
    this.$('cmp-flags').innerHTML = c.flags.map((f) => `<div data-flag="${f.drive.id}:${f.parameter}">⚑ ${esc(f.message)}</div>`).join('');
    const rows = compareRows(c);
    this.$('cmp-table').innerHTML = `<thead><tr><th></th>${c.runs.map((r) => `<th data-run="${r.summary.id}">run ${r.summary.id}</th>`).join('')}</tr></thead><tbody>${rows
      .map((row) => `<tr data-key="${esc(row.key)}"><th>${esc(row.name)}</th>${row.cells.map((cell) => `<td>${esc(cell)}</td>`).join('')}</tr>`).join('')}</tbody>`;
    this.$('cmp-notes').textContent = c.notes.join(' · ');
    await this.draw(c);
  }

  private async draw(c: Comparison): Promise<void> {
    const label = (r: ComparedRun, source: string) => `run ${r.summary.id} (drive ${r.summary.drive.id})${source === 'predicted' ? ' predicted' : ''}`;
    // Each run has its own times and frequencies: drawn on a common grid.
    const tMax = Math.max(0.1, ...c.runs.map((r) => r.stepTS[r.stepTS.length - 1] ?? 0));
    const grid = Array.from({ length: 500 }, (_, k) => (k / 499) * tMax);
    await this.step.show(grid, c.runs.map((r) => ({
      label: label(r, r.stepSource), values: resampleOnto(r.stepTS, r.stepResponse, grid), dash: r.stepSource === 'predicted' ? [6, 3] : undefined,
    })));
    const bodes = c.runs.filter((r) => r.closedLoop);
    const freqs = bodes.flatMap((r) => r.closedLoop!.freq_hz.filter((f) => f > 0));
    if (freqs.length === 0) return;
    const lo = Math.min(...freqs), hi = Math.max(...freqs);
    const fGrid = Array.from({ length: 300 }, (_, k) => lo * Math.pow(hi / lo, k / 299));
    await this.bode.show(fGrid, bodes.map((r) => {
      const t = r.closedLoop!;
      return {
        label: label(r, r.bodeSource), dash: r.bodeSource === 'predicted' ? [6, 3] : undefined,
        values: resampleOnto(t.freq_hz, t.magnitude_db.map((v, i) => (t.trusted[i] ? v : null)), fGrid),
      };
    }));
  }

  async exportAs(format: TuneExportFormat): Promise<void> {
    if (this.ids.length === 0) return;
    const out = this.$('cmp-export-path');
    try {
      out.textContent = `Written to ${await this.backend.tuneCompareExport(this.ids, format)}`;
    } catch (e) {
      out.textContent = `Export failed: ${errorMessage(e)}`;
    }
  }
}
