// The Tuning view (an overlay over the main window, for the selected drive): the test
// form with the limits it keeps beside it, Run / Abort with the run's state polled until
// it ends, the run's time chart and (for chirp, PRBS, multisine) its Bode chart, the
// metrics table, and the run list (filter by drive, test and date; click reopens a run
// exactly as measured; export PNG/SVG/CSV/JSON); the model fitted to the run shown, with
// gains suggested on it and what-if sliders (tuneSuggest.ts); runs ticked in the list
// compared (tuneCompare.ts).
import type { Backend } from '../backend/index';
import type { DriveRef, ModelResults, RunSummary, RunView, TestKind, TestSpec, TuneDefaults, TuneExportFormat } from '../backend/types';
import { TEST_KINDS, errorMessage } from '../backend/types';
import { shownFor, unitSystem } from '../units';
import { checkSpec, formHtml, limitRows, readForm } from './tuneForm';
import { metricRows, metricsHtml, modelRows } from './tuneMetrics';
import { bodeData } from '../chart/bode';
import { BodeChart, RunTimeChart, joinOnTime } from '../chart/tuneCharts';
import { SUGGEST_LAYOUT, SuggestPanel } from './tuneSuggest';
import { COMPARE_LAYOUT, ComparePanel } from './tuneCompare';
import { PASSIVE_LAYOUT, PassivePanel } from './tunePassive';

const LABELS: Record<TestKind, string> = { step: 'step', ramp: 'ramp', chirp: 'chirp', prbs: 'PRBS', multisine: 'multisine', relay: 'relay' };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

const LAYOUT = `
  <div class="tune-head"><h2>Tuning <span id="tune-drive" class="muted"></span></h2><span class="spacer"></span>
    <button id="tune-close" title="Close the Tuning view (U)">Close</button></div>
  <div class="tune-top">
    <form id="tune-form" class="tune-form">
      <label title="The excitation the test plays into the loop">test <select id="tune-kind">${TEST_KINDS.map((k) => `<option value="${k}">${LABELS[k]}</option>`).join('')}</select></label>
      <span id="tune-loop" class="muted" title="A test runs in the drive's current mode: change the mode in the control panel"></span>
      <div id="tune-fields" class="tune-fields"></div>
      <div class="tune-actions">
        <button id="tune-run" type="submit" title="Check the settings against the limits and run the test">Run</button>
        <button id="tune-abort" type="button" title="Abort the running test: the drive holds, the run ends aborted">Abort</button>
        <span id="tune-state" class="tune-state"></span>
      </div>
      <div id="tune-error" class="error" role="alert"></div>
    </form>
    <div class="tune-limits"><h3 title="A test outside these is refused before anything is sent">Limits the test keeps</h3><table id="tune-limits"></table></div>
  </div>
  <div id="tune-reason" class="tune-reason bad" role="alert" hidden></div>
  <div class="tune-results">
    <div class="tune-charts"><div id="tune-time" class="tune-chart"></div><div id="tune-bode" class="tune-chart" hidden></div>
      <div id="tune-model-chart" class="tune-chart" hidden title="The measured velocity and the model's, driven by the recorded output alone"></div></div>
    <div class="tune-side"><h3>Metrics</h3><div id="tune-metrics"></div>
      <div class="tune-export">${(['png', 'svg', 'csv', 'json'] as TuneExportFormat[])
    .map((f) => `<button data-export="${f}" title="Export the run's report as ${f.toUpperCase()}">${f.toUpperCase()}</button>`).join('')}
        <div id="tune-export-path" class="muted small"></div></div>
      <h3 title="A low-order model of the drive's mechanics fitted to this run by least squares">Model</h3>
      <button id="tune-identify" title="Fit inertia, damping, friction and delay to this run">Identify</button>
      <div id="tune-model"></div><div id="tune-model-notes" class="muted small"></div>${PASSIVE_LAYOUT}</div>
  </div>${SUGGEST_LAYOUT}${COMPARE_LAYOUT}
  <div class="tune-runs"><div class="tune-head"><h3>Runs</h3>
    <button id="tune-compare" title="Compare the runs ticked in the list (2 to 12)" disabled>Compare</button></div>
    <div class="tune-filter">
      <label title="Only runs on the selected drive"><input type="checkbox" id="tune-f-drive" checked> this drive</label>
      <label title="Only runs of this test">test <select id="tune-f-test"><option value="">any</option>${TEST_KINDS.map((k) => `<option value="${k}">${LABELS[k]}</option>`).join('')}</select></label>
      <label title="Only runs started on or after this day (UTC)">since <input id="tune-f-since" type="date"></label>
      <label title="Only runs started before the end of this day (UTC)">until <input id="tune-f-until" type="date"></label>
    </div>
    <table id="tune-runs" class="tune-run-list"></table></div>`;

export type TuningOptions = { pollMs?: number };

/** How long a started run may take to appear in the store, and how often it is looked for. */
const START_WAIT_MS = 15_000;
const START_RETRY_MS = 100;

/** Polls after a run ended while its analysis is still to come (at the poll period). */
const ANALYSIS_POLLS = 40;

export class TuningView {
  private drive: DriveRef | null = null;
  private defaults: TuneDefaults | null = null;
  private kind: TestKind = 'step';
  /** The run shown (running or reopened). */
  run: RunView | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  /** Polls made since the shown run ended without results. */
  private analysisPolls = 0;
  /** A test was asked for and its run is not in the store yet. */
  private starting = false;
  private readonly pollMs: number;
  private readonly timeChart: RunTimeChart;
  private readonly bode: BodeChart;
  private modelChart: RunTimeChart;
  /** Gains suggested on the shown run's model (tuneSuggest.ts). */
  readonly suggest: SuggestPanel;
  /** Runs compared (tuneCompare.ts). */
  readonly compare: ComparePanel;
  /** The step response estimated from the session (tunePassive.ts). */
  readonly passive: PassivePanel;

  constructor(private readonly root: HTMLElement, private readonly backend: Backend, options: TuningOptions = {}) {
    this.pollMs = options.pollMs ?? 250;
    root.innerHTML = LAYOUT;
    this.timeChart = new RunTimeChart(this.$('tune-time'));
    this.bode = new BodeChart(this.$('tune-bode'));
    this.$('tune-close').addEventListener('click', () => this.close());
    this.$('tune-kind').addEventListener('change', () => {
      this.kind = this.$<HTMLSelectElement>('tune-kind').value as TestKind;
      this.renderForm();
    });
    this.$('tune-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.start();
    });
    this.$('tune-abort').addEventListener('click', () => void this.abort());
    this.$('tune-identify').addEventListener('click', () => void this.identify());
    this.modelChart = new RunTimeChart(this.$('tune-model-chart'));
    this.suggest = new SuggestPanel(root, backend, { startTest: (drive, spec) => this.startSpec(drive, spec) });
    this.compare = new ComparePanel(root, backend);
    this.passive = new PassivePanel(root, backend, { drive: () => this.drive, run: () => this.run });
    this.$('tune-compare').addEventListener('click', () => void this.compare.show(this.ticked()));
    for (const b of root.querySelectorAll<HTMLButtonElement>('[data-export]')) {
      b.addEventListener('click', () => void this.exportRun(b.dataset.export as TuneExportFormat));
    }
    for (const id of ['tune-f-drive', 'tune-f-test', 'tune-f-since', 'tune-f-until']) this.$(id).addEventListener('change', () => void this.refreshRuns());
    this.$('tune-runs').addEventListener('change', () => {
      const n = this.ticked().length;
      this.$<HTMLButtonElement>('tune-compare').disabled = n < 2 || n > 12;
    });
    this.$('tune-runs').addEventListener('click', (e) => {
      // Ticking a run for a comparison does not reopen it.
      if ((e.target as HTMLElement).closest('input, label')) return;
      const row = (e.target as HTMLElement).closest<HTMLElement>('tr[data-run]');
      if (!row) return;
      // A stored run: what it has is all it will have.
      this.analysisPolls = ANALYSIS_POLLS;
      void this.reopen(Number(row.dataset.run));
    });
    this.renderState();
  }

  private $<T extends HTMLElement>(id: string): T {
    return this.root.querySelector(`#${id}`) as T;
  }

  get isOpen(): boolean {
    return !this.root.hidden;
  }

  /** Opens the view for `drive`: its defaults, limits and runs. */
  async open(drive: DriveRef | null): Promise<void> {
    this.root.hidden = false;
    this.drive = drive;
    this.$('tune-drive').textContent = drive ? `drive ${drive.link}:${drive.id}` : 'no drive selected';
    this.$('tune-error').textContent = '';
    if (!drive) return;
    try {
      this.defaults = await this.backend.tuneDefaults(drive);
    } catch (e) {
      this.defaults = null;
      this.$('tune-error').textContent = `No tuning for this drive: ${errorMessage(e)}`;
    }
    this.renderForm();
    // Run is enabled now that there are defaults to run (it was disabled without them).
    this.renderState();
    await this.refreshRuns();
  }

  close(): void {
    this.root.hidden = true;
  }

  /** The unit system changed: the form and what is shown follow. */
  unitsChanged(): void {
    if (!this.defaults) return;
    this.renderForm();
    if (this.run) this.showRun(this.run);
  }

  private spec(): TestSpec | null {
    return this.defaults?.tests.find((t) => t.excitation.kind === this.kind) ?? null;
  }

  private renderForm(): void {
    const d = this.defaults;
    const spec = this.spec();
    this.$<HTMLSelectElement>('tune-kind').value = this.kind;
    this.$('tune-loop').textContent = d ? `${d.loop} loop` : '';
    this.$('tune-fields').innerHTML = d && spec ? formHtml(spec, d.limits) : '';
    this.$('tune-limits').innerHTML = d
      ? limitRows(d.limits).map(([k, v, t]) => `<tr title="${esc(t)}"><th>${k}</th><td class="num" data-limit="${k}">${esc(v)}</td></tr>`).join('')
      : '';
  }

  /** The shown run has ended but its analysis is not stored yet: polled a while longer
   * (a run too short to analyse never gets results, so not for ever). */
  private analysing(): boolean {
    const s = this.run?.summary;
    if (!s || s.state === 'running' || this.run?.results) return false;
    this.analysisPolls += 1;
    return this.analysisPolls <= ANALYSIS_POLLS;
  }

  private running(): boolean {
    return this.starting || this.run?.summary.state === 'running';
  }

  private renderState(): void {
    const running = this.running();
    this.$<HTMLButtonElement>('tune-run').disabled = running || !this.defaults;
    this.$<HTMLButtonElement>('tune-abort').disabled = !running;
    const s = this.run?.summary;
    const state = this.$('tune-state');
    state.textContent = s ? `run ${s.id}: ${s.state}` : '';
    state.dataset.state = s?.state ?? '';
    const reason = this.$('tune-reason');
    const bad = s && (s.state === 'aborted' || s.state === 'failed');
    reason.hidden = !bad;
    reason.textContent = bad ? `Run ${s.id} ${s.state}: ${s.reason ?? 'no reason given'}` : '';
    for (const b of this.root.querySelectorAll<HTMLButtonElement>('[data-export]')) b.disabled = !s || running;
    this.$<HTMLButtonElement>('tune-identify').disabled = !s || running;
  }

  /** Checks the form against the limits and starts the test; refusals show beside the form. */
  async start(): Promise<void> {
    const base = this.spec();
    const error = this.$('tune-error');
    error.textContent = '';
    if (!this.defaults || !base || !this.drive || this.running()) return;
    const spec = readForm(this.$('tune-fields'), base);
    if (typeof spec === 'string') {
      error.textContent = spec;
      return;
    }
    await this.startSpec(this.drive, spec);
  }

  /** Starts `spec` on `drive` after checking it against the limits; the run's ID, or null
   * when it was refused (the reason shown beside the form). */
  async startSpec(drive: DriveRef, spec: TestSpec): Promise<number | null> {
    const d = this.defaults;
    const error = this.$('tune-error');
    error.textContent = '';
    if (!d || this.running()) return null;
    if (!this.drive || this.drive.link !== drive.link || this.drive.id !== drive.id) {
      error.textContent = `Refused: the test is for drive ${drive.link}:${drive.id}; select it to run it. Nothing was sent.`;
      return null;
    }
    const problem = checkSpec(spec, d.limits);
    if (problem) {
      error.textContent = `Refused: ${problem}. Nothing was sent.`;
      return null;
    }
    let id: number;
    this.starting = true;
    this.renderState();
    try {
      id = await this.backend.tuneStart(drive, spec);
    } catch (e) {
      this.starting = false;
      this.renderState();
      error.textContent = `Refused: ${errorMessage(e)}`;
      return null;
    }
    this.$('tune-state').textContent = `run ${id}: starting`;
    this.$('tune-state').dataset.state = 'starting';
    // The run is in the store once the link has begun it (its gains read, its session
    // open), a moment after the job was accepted: until then it is not found.
    const since = Date.now();
    for (;;) {
      try {
        await this.reopen(id);
        break;
      } catch (e) {
        if (Date.now() - since > START_WAIT_MS) {
          this.starting = false;
          this.renderState();
          error.textContent = `Run ${id}: ${errorMessage(e)}`;
          return null;
        }
        await new Promise((r) => setTimeout(r, START_RETRY_MS));
      }
    }
    this.starting = false;
    this.analysisPolls = 0;
    this.renderState();
    this.schedulePoll();
    return id;
  }

  async abort(): Promise<void> {
    if (!this.drive) return;
    try {
      await this.backend.tuneAbort(this.drive);
    } catch (e) {
      this.$('tune-error').textContent = `Abort: ${errorMessage(e)}`;
    }
    await this.poll();
  }

  private schedulePoll(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => void this.poll().then(() => { if (this.running() || this.analysing()) this.schedulePoll(); }), this.pollMs);
  }

  /** Reads the shown run again (tune_run); it ends polling when the run has ended. */
  async poll(): Promise<void> {
    if (!this.run) return;
    const was = this.run.summary.state;
    try {
      await this.reopen(this.run.summary.id);
    } catch (e) {
      this.$('tune-error').textContent = `Run ${this.run.summary.id}: ${errorMessage(e)}`;
    }
    if (was === 'running' && !this.running()) await this.refreshRuns();
  }

  /** Shows run `id` with its charts as measured. */
  async reopen(id: number): Promise<void> {
    const run = await this.backend.tuneRun(id);
    this.run = run;
    await this.showRun(run);
  }

  private async showRun(run: RunView): Promise<void> {
    this.renderState();
    if (this.$('tune-model').dataset.run !== String(run.summary.id)) this.clearModel();
    const pending = run.summary.state === 'running' ? 'running…' : this.analysisPolls < ANALYSIS_POLLS ? 'analysing…' : 'no results';
    this.$('tune-metrics').innerHTML = run.results ? metricsHtml(metricRows(run)) : `<p class="muted">${pending}</p>`;
    const frf = run.results?.frf;
    this.$('tune-bode').hidden = !frf;
    if (frf && run.results) await this.bode.show(bodeData(frf, run.results.observable));
    await this.loadTime(run);
    await this.suggest.runShown(run, false);
  }

  private async loadTime(run: RunView): Promise<void> {
    const ref = run.channels.find((c) => c.name === 'reference');
    const res = run.channels.find((c) => c.name === run.spec.loop);
    if (!ref || !res || !(run.toS > run.fromS)) return;
    try {
      const batch = await this.backend.window(run.summary.session, [ref.id, res.id], run.fromS, run.toS, 1200);
      const r = batch.series.find((s) => s.channel === ref.id);
      const y = batch.series.find((s) => s.channel === res.id);
      if (!r || !y) return;
      const shown = shownFor(unitSystem(), run.spec.loop === 'position' ? 'angle' : 'speed');
      // Each channel comes decimated on its own (a pixel's first, last, lowest and highest
      // sample), so the two series have their own times: joined on them, not by index.
      const joined = joinOnTime(r.t, r.v, y.t, y.v);
      await this.timeChart.show(
        joined.t.map((x) => x - run.fromS),
        joined.a.map((v) => (v === null ? null : shown.toShown(v))),
        joined.b.map((v) => (v === null ? null : shown.toShown(v))),
        shown.unit,
      );
    } catch (e) {
      this.$('tune-error').textContent = `Samples of run ${run.summary.id}: ${errorMessage(e)}`;
    }
  }

  /** The run list, as the filter asks. */
  async refreshRuns(): Promise<RunSummary[]> {
    const day = (id: string, end: boolean): number | null => {
      const v = this.$<HTMLInputElement>(id).value;
      if (!v) return null;
      const ms = Date.parse(`${v}T00:00:00Z`);
      return Number.isFinite(ms) ? ms + (end ? 86_400_000 : 0) : null;
    };
    const test = this.$<HTMLSelectElement>('tune-f-test').value || null;
    const query = {
      drive: this.$<HTMLInputElement>('tune-f-drive').checked ? this.drive : null,
      test, sinceMs: day('tune-f-since', false), untilMs: day('tune-f-until', true), limit: 100,
    };
    let runs: RunSummary[] = [];
    try {
      runs = await this.backend.tuneRuns(query);
    } catch (e) {
      this.$('tune-error').textContent = `Runs: ${errorMessage(e)}`;
    }
    const ticked = new Set(this.ticked());
    this.$('tune-runs').innerHTML = `<thead><tr><th title="Tick runs to compare them">⊞</th><th>run</th><th>drive</th><th>test</th><th>loop</th><th>state</th><th>started (UTC)</th><th>rate</th></tr></thead><tbody>${runs
      .map((r) => `<tr data-run="${r.id}" class="${r.state}" title="Reopen run ${r.id} with its charts as measured${r.reason ? ` — ${esc(r.reason)}` : ''}">
        <td><input type="checkbox" data-compare="${r.id}" aria-label="compare run ${r.id}"${ticked.has(r.id) ? ' checked' : ''}></td><td class="num">${r.id}</td><td>${r.drive.link}:${r.drive.id}</td><td>${r.test}</td><td>${r.loop}</td><td>${r.state}</td>
        <td>${new Date(r.startedAtMs).toISOString().slice(0, 19).replace('T', ' ')}</td><td class="num">${r.achievedRateHz == null ? '—' : `${r.achievedRateHz.toFixed(0)} Hz`}</td></tr>`)
      .join('')}</tbody>`;
    return runs;
  }

  /** The runs ticked for a comparison, oldest first (before, then after). */
  ticked(): number[] {
    return [...this.root.querySelectorAll<HTMLInputElement>('#tune-runs input[data-compare]:checked')].map((i) => Number(i.dataset.compare)).sort((a, b) => a - b);
  }

  private clearModel(): void {
    const model = this.$('tune-model');
    model.replaceChildren();
    delete model.dataset.run;
    this.$('tune-model-notes').textContent = '';
    this.$('tune-model-chart').hidden = true;
  }

  /** Fits the model to the run shown: its table, notes, and the measured velocity against
   * the model's in the user's unit. */
  async identify(): Promise<void> {
    if (!this.run) return;
    const id = this.run.summary.id;
    const notes = this.$('tune-model-notes');
    this.clearModel();
    let m: ModelResults;
    try {
      m = await this.backend.tuneIdentify(id);
    } catch (e) {
      notes.textContent = `No model from run ${id}: ${errorMessage(e)}`;
      return;
    }
    const model = this.$('tune-model');
    model.innerHTML = metricsHtml(modelRows(m));
    model.dataset.run = String(id);
    notes.textContent = m.notes.join(' · ');
    const chart = this.$('tune-model-chart');
    chart.hidden = false;
    const speed = shownFor(unitSystem(), 'speed');
    await this.modelChart.show(m.trace_t_s, m.trace_measured.map((v) => speed.toShown(v)), m.trace_model.map((v) => speed.toShown(v)), speed.unit,
      ['measured velocity', 'model']);
    if (this.run?.summary.id === id) await this.suggest.runShown(this.run, true);
  }

  async exportRun(format: TuneExportFormat): Promise<void> {
    if (!this.run) return;
    const out = this.$('tune-export-path');
    try {
      out.textContent = `Written to ${await this.backend.tuneExport(this.run.summary.id, format)}`;
    } catch (e) {
      out.textContent = `Export failed: ${errorMessage(e)}`;
    }
  }
}
