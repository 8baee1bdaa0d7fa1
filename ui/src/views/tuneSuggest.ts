// The Tuning view's suggestion panel, on the run shown: gains suggested for a target
// (bandwidth or phase margin) on the run's model, the rule named; sliders for the target,
// the damping and each gain recompute the prediction live (the latest answer wins); the
// predicted step and closed loop drawn over what the run measured and what the gains in
// force give; Apply writes the gains as one parameter write after a confirmation; Validate
// runs the run's test again and reports how far the new run lies from the prediction.
import type { Backend } from '../backend/index';
import type { DriveRef, GainSetting, GainTarget, Predicted, Prediction, RunView, TestSpec } from '../backend/types';
import { errorMessage } from '../backend/types';
import { readout } from '../units';
import { waitJob } from './params';
import { OverlayChart, resampleOnto } from '../chart/tuneCharts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

export const SUGGEST_LAYOUT = `
  <div id="sg-panel" class="tune-suggest" hidden>
    <h3 title="Gains for a target you state, placed on the model fitted to this run, predicted before anything is written">Suggest gains</h3>
    <div class="sg-row">
      <label title="What the gains are for">target <select id="sg-kind"><option value="bandwidth_hz">bandwidth (Hz)</option><option value="phase_margin_deg">phase margin (°)</option></select></label>
      <input id="sg-value" type="number" step="any" value="10" title="The target's value">
      <input id="sg-value-slider" type="range" min="-1" max="2" step="0.01" value="1" title="The target, on a log scale: moving it suggests again">
      <label title="The damping ratio ζ of the placed poles">ζ <input id="sg-damping" type="range" min="0.3" max="1.5" step="0.05" value="0.9"> <span id="sg-damping-v">0.90</span></label>
      <label title="Place an integral too (removes the error friction leaves)"><input id="sg-integral" type="checkbox"> integral</label>
      <button id="sg-suggest" title="Suggest gains for the target on this run's model (nothing is written)">Suggest</button>
    </div>
    <div id="sg-rule" class="muted small"></div>
    <table id="sg-gains" class="sg-gains"></table>
    <table id="sg-predicted" class="sg-predicted"></table>
    <div id="sg-notes" class="muted small"></div>
    <div id="sg-step" class="tune-chart"></div>
    <div id="sg-bode" class="tune-chart"></div>
    <div class="sg-row">
      <button id="sg-apply" title="Write these gains to the drive (a confirmation comes first)">Apply…</button>
      <button id="sg-validate" title="Run this run's test again with the gains in force, and compare it with the prediction">Validate</button>
      <span id="sg-status" class="small" role="status"></span>
    </div>
    <div id="sg-confirm" class="sg-confirm" role="alertdialog" hidden>
      <div id="sg-confirm-text"></div>
      <button id="sg-confirm-write" title="Write these gains to the drive now">Write</button> <button id="sg-confirm-cancel" title="Write nothing">Cancel</button>
    </div>
    <div id="sg-validation" class="sg-validation"></div>
    <div id="sg-replay" class="tune-chart" hidden></div>
  </div>`;

/** What the panel needs from the Tuning view around it. */
export type SuggestHost = {
  /** Starts `spec` on `drive` as the Tuning view's Run does; resolves with the run's ID. */
  startTest(drive: DriveRef, spec: TestSpec): Promise<number | null>;
};

/** How long slider moves are gathered before one prediction is asked for, ms. */
const DEBOUNCE_MS = 30;

export class SuggestPanel {
  /** The run the model comes from. */
  private run: RunView | null = null;
  /** The gains shown (counts by register), and their ranges. */
  private gains: GainSetting[] = [];
  /** What the gains in force give (the baseline drawn beside the candidate). */
  private baseline: Prediction | null = null;
  /** The latest prediction shown. */
  prediction: Prediction | null = null;
  /** Requests sent; an answer to an older one than the newest is dropped. */
  private sequence = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** A validation run started against this model run, with the gains it validates. */
  private validation: { run: number | null; modelRun: number; predicted: Predicted } | null = null;
  private readonly step: OverlayChart;
  private readonly bode: OverlayChart;
  private readonly replay: OverlayChart;

  constructor(private readonly root: HTMLElement, private readonly backend: Backend, private readonly host: SuggestHost) {
    this.step = new OverlayChart(this.$('sg-step'), { xLabel: 'time (s)', yLabel: 'response / step' });
    this.bode = new OverlayChart(this.$('sg-bode'), { xLabel: 'frequency (Hz)', yLabel: '|T| (dB)', logX: true });
    this.replay = new OverlayChart(this.$('sg-replay'), { xLabel: 'time since the run started (s)', yLabel: 'response (rad or rad/s)' });
    this.$('sg-suggest').addEventListener('click', () => void this.suggest());
    this.$('sg-value').addEventListener('change', () => { this.syncSlider(); void this.suggest(); });
    this.$('sg-value-slider').addEventListener('input', () => {
      this.$<HTMLInputElement>('sg-value').value = String(Number((10 ** Number(this.$<HTMLInputElement>('sg-value-slider').value)).toPrecision(3)));
      this.later(() => this.suggest());
    });
    this.$('sg-kind').addEventListener('change', () => {
      const kind = this.$<HTMLSelectElement>('sg-kind').value;
      this.$<HTMLInputElement>('sg-value').value = kind === 'bandwidth_hz' ? '10' : '60';
      this.syncSlider();
    });
    this.$('sg-damping').addEventListener('input', () => {
      this.$('sg-damping-v').textContent = Number(this.$<HTMLInputElement>('sg-damping').value).toFixed(2);
      this.later(() => this.suggest());
    });
    this.$('sg-gains').addEventListener('input', (e) => {
      const input = e.target as HTMLInputElement;
      const name = input.dataset.gain;
      const gain = this.gains.find((g) => g.name === name);
      if (!gain) return;
      const value = Math.round(Number(input.value));
      if (!Number.isFinite(value) || value < gain.min || value > gain.max) {
        this.status(`${gain.name}: ${input.value} is outside ${gain.min}–${gain.max}`, true);
        return;
      }
      gain.counts = value;
      // The slider and the number box show the same count.
      for (const other of this.root.querySelectorAll<HTMLInputElement>('#sg-gains input[data-gain]')) {
        if (other !== input && other.dataset.gain === gain.name) other.value = String(value);
      }
      this.later(() => this.predict());
    });
    this.$('sg-apply').addEventListener('click', () => this.confirmApply());
    this.$('sg-confirm-cancel').addEventListener('click', () => { this.$('sg-confirm').hidden = true; this.status('Nothing written'); });
    this.$('sg-confirm-write').addEventListener('click', () => void this.apply());
    this.$('sg-validate').addEventListener('click', () => void this.validate());
  }

  private $<T extends HTMLElement>(id: string): T {
    return this.root.querySelector(`#${id}`) as T;
  }

  private status(text: string, bad = false): void {
    const s = this.$('sg-status');
    s.textContent = text;
    s.classList.toggle('bad', bad);
  }

  private syncSlider(): void {
    const v = Number(this.$<HTMLInputElement>('sg-value').value);
    if (v > 0) this.$<HTMLInputElement>('sg-value-slider').value = String(Math.log10(v));
  }

  private later(f: () => Promise<void>): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = null; void f(); }, DEBOUNCE_MS);
  }

  /** The run shown changed (or was read again): a new model run resets the panel; the
   * validation run, once analysed, is compared with its prediction. */
  async runShown(run: RunView, model: boolean): Promise<void> {
    // The validation run (its ID not known yet while it is being started) leaves the
    // panel as it is until it has ended and been analysed.
    const v = this.validation;
    if (v && (v.run === null || v.run === run.summary.id)) {
      if (run.summary.state !== 'running' && run.results) {
        v.run = run.summary.id;
        await this.showValidation(run);
      }
      return;
    }
    if (this.run?.summary.id === run.summary.id) return;
    this.run = null;
    this.gains = [];
    this.baseline = this.prediction = null;
    this.$('sg-panel').hidden = !model;
    this.$('sg-gains').replaceChildren();
    this.$('sg-predicted').replaceChildren();
    this.$('sg-rule').textContent = '';
    this.$('sg-notes').textContent = '';
    if (!model) return;
    this.run = run;
    try {
      this.baseline = await this.backend.tunePredict({ modelRun: run.summary.id, run: null, gains: [], stepSize: null });
    } catch (e) {
      this.$('sg-notes').textContent = `No prediction on run ${run.summary.id}: ${errorMessage(e)}`;
      this.$('sg-panel').hidden = true;
      this.run = null;
      return;
    }
    this.gains = this.baseline.gains.map((g) => ({ ...g }));
    await this.render(this.baseline);
  }

  private target(): GainTarget {
    const kind = this.$<HTMLSelectElement>('sg-kind').value as GainTarget['kind'];
    return { kind, value: Number(this.$<HTMLInputElement>('sg-value').value) };
  }

  /** Gains for the target on the run's model (nothing is written). */
  async suggest(): Promise<void> {
    if (!this.run) return;
    const sequence = ++this.sequence;
    try {
      const view = await this.backend.tuneSuggest({
        run: this.run.summary.id, target: this.target(),
        damping: Number(this.$<HTMLInputElement>('sg-damping').value), integral: this.$<HTMLInputElement>('sg-integral').checked,
      });
      if (sequence !== this.sequence) return;
      this.gains = view.prediction.gains.map((g) => ({ ...g }));
      this.$('sg-rule').textContent = `${view.suggestion.rule}; ωn ${readout(view.suggestion.natural_frequency_hz, 2, ' Hz')}, ζ ${view.suggestion.damping.toFixed(2)}`;
      this.status('');
      await this.render(view.prediction, view.suggestion.notes, new Map(view.suggestion.gains.map((g) => [g.name, g.clipped])));
    } catch (e) {
      if (sequence !== this.sequence) return;
      this.status(`No suggestion: ${errorMessage(e)}`, true);
    }
  }

  /** The gains as the sliders set them, predicted. */
  async predict(): Promise<void> {
    if (!this.run) return;
    const sequence = ++this.sequence;
    try {
      const p = await this.backend.tunePredict({
        modelRun: this.run.summary.id, run: null, gains: this.gains.map((g) => ({ name: g.name, counts: g.counts })), stepSize: null,
      });
      if (sequence !== this.sequence) return;
      this.status('');
      await this.render(p);
    } catch (e) {
      if (sequence !== this.sequence) return;
      this.status(`No prediction: ${errorMessage(e)}`, true);
    }
  }

  private async render(p: Prediction, notes: string[] = [], clipped = new Map<string, boolean>()): Promise<void> {
    this.prediction = p;
    const panel = this.$('sg-panel');
    panel.dataset.bandwidthHz = String(p.predicted.bandwidth_hz ?? '');
    panel.dataset.phaseMarginDeg = String(p.predicted.margins.phase_margin_deg ?? '');
    const gains = this.$('sg-gains');
    // Rebuilt only when the registers change, so a slider being dragged keeps its grip.
    if (gains.dataset.names !== p.gains.map((g) => g.name).join('|')) {
      gains.dataset.names = p.gains.map((g) => g.name).join('|');
      gains.innerHTML = `<thead><tr><th>register</th><th>in run</th><th colspan="2">counts</th><th>SI</th><th>physical</th></tr></thead><tbody>${p.gains
        .map((g) => `<tr data-row="${esc(g.name)}" title="${esc(g.rule)}"><th>${esc(g.name)}</th><td class="num">${g.inRun ?? '—'}</td>
          <td><input type="range" data-gain="${esc(g.name)}" min="${g.min}" max="${g.max}" step="1" value="${g.counts}" aria-label="${esc(g.name)}"></td>
          <td><input type="number" class="sg-count" data-gain="${esc(g.name)}" min="${g.min}" max="${g.max}" step="1" value="${g.counts}"></td>
          <td class="num" data-si></td><td class="num" data-physical></td></tr>`).join('')}</tbody>`;
    }
    for (const g of p.gains) {
      const row = [...gains.querySelectorAll<HTMLElement>('tr[data-row]')].find((r) => r.dataset.row === g.name);
      if (!row) continue;
      for (const input of row.querySelectorAll<HTMLInputElement>('input')) if (document.activeElement !== input) input.value = String(g.counts);
      row.classList.toggle('clipped', clipped.get(g.name) ?? false);
      row.classList.toggle('changed', g.inRun !== null && g.counts !== g.inRun);
      row.querySelector('[data-si]')!.textContent = `${Number(g.si.toPrecision(4))} ${g.siUnit}`;
      row.querySelector('[data-physical]')!.textContent = g.physical === null ? '—' : `${Number(g.physical.toPrecision(4))} ${g.physicalUnit}`;
    }
    const now = this.baseline?.predicted;
    const row = (key: string, name: string, f: (x: Predicted) => string) =>
      `<tr data-key="${key}"><th>${name}</th><td class="num">${now ? f(now) : '—'}</td><td class="num" data-candidate>${f(p.predicted)}</td></tr>`;
    this.$('sg-predicted').innerHTML = `<thead><tr><th>predicted</th><th>gains in run</th><th>these gains</th></tr></thead><tbody>${[
      row('bandwidth', 'bandwidth (−3 dB)', (x) => readout(x.bandwidth_hz, 2, ' Hz')),
      row('pm', 'phase margin', (x) => readout(x.margins.phase_margin_deg, 1, '°')),
      row('gm', 'gain margin', (x) => readout(x.margins.gain_margin_db, 1, ' dB')),
      row('overshoot', 'overshoot', (x) => readout(x.overshoot_pct, 1, ' %')),
      row('rise', 'rise time', (x) => readout(x.rise_time_s === null ? null : x.rise_time_s * 1000, 1, ' ms')),
      row('output', 'peak output', (x) => `${readout(x.peak_output * 100, 0, ' %')}${x.saturates ? ' (at its cap)' : ''}`),
    ].join('')}</tbody>`;
    this.$('sg-notes').textContent = [...notes, ...p.notes].join(' · ');
    await this.draw(p);
  }

  private async draw(p: Prediction): Promise<void> {
    const scale = (y: number[], size: number) => y.map((v) => v / size);
    const series = [{ label: 'these gains', values: scale(p.stepResponse, p.stepSize) as (number | null)[] }];
    if (this.baseline) series.push({ label: 'gains in run', values: resampleOnto(this.baseline.stepTS, scale(this.baseline.stepResponse, this.baseline.stepSize), p.stepTS) });
    await this.step.show(p.stepTS, series.map((s, i) => ({ ...s, dash: i === 1 ? [6, 3] : undefined })));
    const t = p.closedLoop;
    const lines = [{ label: '|T| these gains (dB)', values: t.magnitude_db as (number | null)[], dash: undefined as number[] | undefined }];
    if (this.baseline) lines.push({ label: '|T| gains in run (dB)', values: resampleOnto(this.baseline.closedLoop.freq_hz, this.baseline.closedLoop.magnitude_db, t.freq_hz), dash: [6, 3] });
    const measured = this.run?.results?.frf?.closed_loop;
    if (measured) {
      const trusted = measured.magnitude_db.map((v, i) => (measured.trusted[i] ? v : null));
      lines.push({ label: '|T| measured (dB)', values: resampleOnto(measured.freq_hz, trusted, t.freq_hz), dash: [2, 2] });
    }
    await this.bode.show(t.freq_hz, lines);
  }

  /** Shows what Apply would write and waits for the user's word. */
  confirmApply(): void {
    if (!this.run || this.gains.length === 0) return;
    const changes = this.gains.filter((g) => g.inRun !== g.counts);
    if (changes.length === 0) {
      this.status('Nothing to write: these are the gains in force');
      return;
    }
    const d = this.run.summary.drive;
    this.$('sg-confirm-text').innerHTML = `Write ${changes.length} gain${changes.length > 1 ? 's' : ''} to drive ${d.link}:${d.id}?<ul>${changes
      .map((g) => `<li>${esc(g.name)}: ${g.inRun ?? '—'} → <b>${g.counts}</b></li>`).join('')}</ul>`;
    this.$('sg-confirm').hidden = false;
  }

  /** Writes the gains (one parameter write: limits checked, values before and after kept). */
  async apply(): Promise<void> {
    this.$('sg-confirm').hidden = true;
    if (!this.run) return;
    const drive = this.run.summary.drive;
    try {
      const table = await this.backend.params(drive);
      const values: [string, number][] = this.gains.filter((g) => g.inRun !== g.counts).map((g) => {
        const scale = table.registers.find((r) => r.name === g.name)?.scale ?? 1;
        return [g.name, g.counts * scale];
      });
      const id = await this.backend.submit({ kind: 'writeParams', drive, values });
      const job = await waitJob(this.backend, drive, id);
      if (job.state !== 'done') throw new Error(`the write ${job.state}${job.reason ? `: ${job.reason}` : ''}`);
      this.status(`Written to drive ${drive.link}:${drive.id} (the values before and after are kept as snapshots); Validate runs the test again`);
    } catch (e) {
      this.status(`Not written: ${errorMessage(e)}`, true);
    }
  }

  /** Runs the model run's test again; its result is compared with the prediction. */
  async validate(): Promise<void> {
    if (!this.run || !this.prediction) return;
    const modelRun = this.run.summary.id;
    const predicted = this.prediction.predicted;
    this.validation = { run: null, modelRun, predicted };
    this.$('sg-validation').textContent = 'Validation run starting…';
    const id = await this.host.startTest(this.run.summary.drive, this.run.spec);
    if (id === null) {
      this.validation = null;
      this.$('sg-validation').textContent = 'Validation refused: see the reason beside the test form';
      return;
    }
    // It may have ended (and been shown) while being started.
    if (this.validation) {
      this.validation.run = id;
      this.$('sg-validation').textContent = `Validation run ${id} running…`;
    }
  }

  private async showValidation(run: RunView): Promise<void> {
    const v = this.validation!;
    this.validation = null;
    const out = this.$('sg-validation');
    try {
      const p = await this.backend.tunePredict({ modelRun: v.modelRun, run: run.summary.id, gains: [], stepSize: null });
      const parts = [`Validation run ${run.summary.id} against run ${v.modelRun}'s model: fit ${readout(p.runFitPct, 1, ' %')}, rms error ${readout(p.runRmsError, 4, '')}, max error ${readout(p.runMaxError, 4, '')}`];
      const frf = run.results?.frf;
      const bw = frf?.bandwidth_hz;
      if (bw != null && v.predicted.bandwidth_hz != null) parts.push(`bandwidth ${readout(bw, 2, ' Hz')} measured, ${readout(v.predicted.bandwidth_hz, 2, ' Hz')} predicted (${readout((bw / v.predicted.bandwidth_hz - 1) * 100, 0, ' %')})`);
      else if (frf && v.predicted.bandwidth_hz != null) {
        const top = Math.max(0, ...frf.closed_loop.freq_hz.filter((_, i) => frf.closed_loop.trusted[i]));
        parts.push(`bandwidth not measured: |T| stays within 3 dB up to ${readout(top, 1, ' Hz')}, where the run's trusted points end (${readout(v.predicted.bandwidth_hz, 2, ' Hz')} predicted)`);
      }
      const pm = run.results?.frf?.margins?.phase_margin_deg;
      if (pm != null && v.predicted.margins.phase_margin_deg != null) parts.push(`phase margin ${readout(pm, 1, '°')} measured, ${readout(v.predicted.margins.phase_margin_deg, 1, '°')} predicted`);
      const rise = run.results?.step?.against_step.rise_time_s;
      if (rise != null && v.predicted.rise_time_s != null) parts.push(`rise ${readout(rise * 1000, 1, ' ms')} measured, ${readout(v.predicted.rise_time_s * 1000, 1, ' ms')} predicted`);
      out.textContent = parts.join(' · ');
      out.dataset.fitPct = String(p.runFitPct);
      const chart = this.$('sg-replay');
      chart.hidden = false;
      await this.replay.show(p.runTS, [{ label: 'measured', values: p.runMeasured }, { label: 'predicted', values: p.runPredicted, dash: [6, 3] }]);
    } catch (e) {
      out.textContent = `Validation run ${run.summary.id}: ${errorMessage(e)}`;
    }
  }
}
