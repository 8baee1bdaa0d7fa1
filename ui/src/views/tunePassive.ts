// The Tuning view's passive estimate: the selected drive's step response from the last
// seconds of the session being recorded — its ordinary moves, no test run — with its
// metrics, and the shown step run's measured rise beside it when there is one.
import type { Backend } from '../backend/index';
import type { DriveRef, PassiveView, RunView } from '../backend/types';
import { errorMessage } from '../backend/types';
import { readout } from '../units';
import { OverlayChart } from '../chart/tuneCharts';

export const PASSIVE_LAYOUT = `
  <h3 title="The loop's step response estimated from ordinary moves (the targets given and what the drive did), no test run">From the session</h3>
  <div class="sg-row"><label title="How much of the session being recorded to estimate from">last <input id="tp-seconds" type="number" min="5" max="3600" step="1" value="30"> s</label>
    <button id="tp-estimate" title="Estimate the selected drive's step response from its moves in that range">Estimate step</button></div>
  <div id="tp-out" class="small"></div>
  <div id="tp-chart" class="tune-chart" hidden></div>`;

export class PassivePanel {
  view: PassiveView | null = null;
  private readonly chart: OverlayChart;

  constructor(private readonly root: HTMLElement, private readonly backend: Backend, private readonly host: { drive(): DriveRef | null; run(): RunView | null }) {
    this.chart = new OverlayChart(this.$('tp-chart'), { xLabel: 'time from the step (s)', yLabel: 'response / step' });
    this.$('tp-estimate').addEventListener('click', () => void this.estimate());
  }

  private $<T extends HTMLElement>(id: string): T {
    return this.root.querySelector(`#${id}`) as T;
  }

  /** Estimates from the last `tp-seconds` of the current session. */
  async estimate(): Promise<void> {
    const out = this.$('tp-out');
    const drive = this.host.drive();
    const seconds = Number(this.$<HTMLInputElement>('tp-seconds').value);
    this.view = null;
    if (!drive) return;
    if (!(seconds >= 5 && seconds <= 3600)) {
      out.textContent = `${this.$<HTMLInputElement>('tp-seconds').value} s: give 5 to 3600 seconds`;
      return;
    }
    try {
      const status = await this.backend.appStatus();
      if (!status.session) throw new Error('no session is being recorded');
      const toS = (Date.now() - status.session.startedAtMs) / 1000;
      const view = await this.backend.tunePassive({ session: status.session.id, drive, fromS: Math.max(0, toS - seconds), toS });
      this.view = view;
      const m = view.metrics;
      out.textContent = `${view.loop} loop, ${view.moves} moves: rise ${readout(m?.rise_time_s == null ? null : m.rise_time_s * 1000, 1, ' ms')}, overshoot ${readout(m?.overshoot_pct, 1, ' %')} · ${view.notes.join(' · ')}`;
      out.dataset.riseS = String(m?.rise_time_s ?? '');
      // The shown step run's measured rise, for comparison.
      const run = this.host.run();
      if (run?.spec.excitation.kind === 'step' && run.results?.step) {
        const rise = run.results.step.against_step.rise_time_s;
        out.textContent += ` · run ${run.summary.id}'s step test: rise ${readout(rise == null ? null : rise * 1000, 1, ' ms')}`;
      }
      const chart = this.$('tp-chart');
      chart.hidden = false;
      await this.chart.show(view.estimate.t_s, [{ label: 'estimated from the session', values: view.estimate.step }]);
    } catch (e) {
      out.textContent = `No estimate: ${errorMessage(e)}`;
    }
  }
}
