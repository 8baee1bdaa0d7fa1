// The Tuning view's metrics table: a run's results as rows (name, value in the user's
// units, what it means). Times read in ms where that reads better.
import type { Estimate, ModelResults, RunView } from '../backend/types';
import { readout, shownFor, shownTime, unitSystem } from '../units';

export type MetricRow = { key: string; name: string; value: string; title: string };

const time = (s: number | null | undefined): string => {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  const t = shownTime(s);
  return readout(t.toShown(s), t.unit === 's' ? 3 : t.unit === 'ms' ? 1 : 0, ` ${t.unit}`);
};

export function metricRows(run: RunView): MetricRow[] {
  const r = run.results;
  const rows: MetricRow[] = [];
  const add = (key: string, name: string, value: string, title: string) => rows.push({ key, name, value, title });
  const loopUnit = shownFor(unitSystem(), run.spec.loop === 'position' ? 'angle' : 'speed');
  const q = (si: number | null | undefined) => (si == null ? '—' : readout(loopUnit.toShown(si), loopUnit.digits, ` ${loopUnit.unit}`));
  if (r?.step) {
    const s = r.step.against_step;
    add('rise', 'rise time (10–90 %)', time(s.rise_time_s), 'from 10 % to 90 % of the step');
    add('delay', 'delay (50 %)', time(s.delay_s), 'time to 50 % of the step');
    add('overshoot', 'overshoot', readout(s.overshoot_pct, 1, ' %'), 'peak beyond the step, % of the step');
    add('settle2', 'settling (2 %)', time(s.settling_time_2pct_s), 'time until the response stays within ±2 %');
    add('settle5', 'settling (5 %)', time(s.settling_time_5pct_s), 'time until the response stays within ±5 %');
    add('sse', 'steady-state error', q(s.steady_state_error), 'target − final mean');
    add('iae', 'IAE', readout(loopUnit.toShown(s.iae), 4, ` ${loopUnit.unit}·s`), '∫|target − response| dt');
    add('effort', 'peak effort', readout(s.peak_effort, 3, ''), 'max |effort| (current or PWM, as recorded)');
    const f = r.step.against_trajectory;
    if (f) {
      add('follow-max', 'following error (max)', q(f.max_following_error), 'max |trajectory − response|, against the trajectory the drive followed');
      add('follow-rms', 'following error (rms)', q(f.rms_following_error), 'rms of trajectory − response');
      add('follow-lag', 'lag behind trajectory', time(f.lag_s), 'lag of the 50 % crossing behind the trajectory');
    }
  }
  if (r?.frf) {
    const m = r.frf.margins;
    add('bandwidth', 'bandwidth (−3 dB)', readout(r.frf.bandwidth_hz, 2, ' Hz'), '−3 dB bandwidth of the closed loop');
    add('gm', 'gain margin', m?.gain_margin_db == null ? '—' : `${readout(m.gain_margin_db, 1, ' dB')} at ${readout(m.phase_crossover_hz, 2, ' Hz')}`, 'at the phase crossover (∠L = −180°)');
    add('pm', 'phase margin', m?.phase_margin_deg == null ? '—' : `${readout(m.phase_margin_deg, 1, '°')} at ${readout(m.gain_crossover_hz, 2, ' Hz')}`, 'at the gain crossover (|L| = 1)');
    add('dm', 'delay margin', time(m?.delay_margin_s), 'extra loop delay that would make the loop unstable');
    add('ms', 'peak sensitivity Ms', m ? `${readout(m.peak_sensitivity, 2, '')} at ${readout(m.peak_sensitivity_hz, 2, ' Hz')}` : '—', 'max |S| (below 2 is robust)');
  }
  if (r?.relay) {
    add('ku', 'ultimate gain Ku', readout(r.relay.ultimate_gain, 3, ''), 'relay test: effort per unit output at the oscillation');
    add('pu', 'ultimate period Pu', time(r.relay.ultimate_period_s), `over ${r.relay.cycles} cycles`);
  }
  const s = run.summary;
  // Above the limit only where no wire paces the bytes: the built-in simulated rig.
  const unpaced = (r?.rate_of_limit_pct ?? 0) > 105 ? '; faster than a real wire: the simulator is not paced' : '';
  add('rate', 'achieved rate', s.achievedRateHz == null ? '—'
    : `${readout(s.achievedRateHz, 0, ' Hz')} (${readout(r?.rate_of_limit_pct, 0, ' %')} of the ${readout(run.wireLimitHz, 0, ' Hz')} wire limit${unpaced})`, 'mean reading rate against the wire-time limit (goal ≥ 90 %)');
  add('jitter', 'jitter', readout(s.jitterMs, 2, ' ms'), 'standard deviation of the reading intervals');
  if (r) {
    add('observable', 'observable range', `${readout(r.observable.lowest_hz, 2, '')} – ${readout(r.observable.highest_hz, 1, ' Hz')}`, r.observable.rule);
    for (const [i, n] of r.notes.entries()) add(`note${i}`, 'note', n, 'what the analysis noticed');
  }
  add('clock', 'timestamps', run.clock === 'drive' ? "the drive's clock" : "the host's receive time", 'where the run\'s timestamps come from');
  for (const g of run.gains) add(`gain:${g.name}`, g.name, `${Number(g.value.toPrecision(6))}${g.unit ? ` ${g.unit}` : ''}`, 'a gain in force when the run started');
  return rows;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

export function metricsHtml(rows: MetricRow[]): string {
  return `<table class="tune-metrics"><tbody>${rows
    .map((r) => `<tr data-metric="${r.key}" title="${esc(r.title)}"><th>${esc(r.name)}</th><td class="num">${esc(r.value)}</td></tr>`)
    .join('')}</tbody></table>`;
}

/** An estimate with its 95 % interval, to `digits` significant figures. */
const pm = (e: Estimate, unit: string): string => {
  if (!Number.isFinite(e.value)) return '—';
  const d = Math.max(0, 3 - Math.floor(Math.log10(Math.abs(e.value) || 1)));
  return `${e.value.toFixed(d)} ± ${e.ci95.toFixed(d)}${unit ? ` ${unit}` : ''}`;
};

/** A run's identified model as rows: per unit of the drive's output, then in physical
 * units where the profile gives the torque its output stands for. */
export function modelRows(m: ModelResults): MetricRow[] {
  const rows: MetricRow[] = [];
  const add = (key: string, name: string, value: string, title: string) => rows.push({ key, name, value, title });
  const md = m.model;
  add('g', 'gain g', pm(md.gain, `rad/s² per ${m.output_unit}`), 'acceleration per unit of the drive\'s output (95 % interval)');
  add('a', 'damping a = B/J', pm(md.damping_per_s, '1/s'), 'viscous damping over inertia (with a PWM output, the back-EMF too)');
  add('c', 'friction c = τc/J', pm(md.coulomb_accel, 'rad/s²'), 'Coulomb friction over inertia');
  add('tau', 'delay τ', `${readout(md.delay_s * 1e3, 1, ' ms')} (${md.delay_samples} samples)`, 'from the output to the acceleration, whole samples');
  add('fit', 'fit', `${readout(md.fit_pct, 1, ' %')} (R² ${md.r_squared.toFixed(4)}, ${md.windows} windows)`,
    'how well the model driven by the recorded output alone reproduces the velocity (NRMSE fit)');
  if (m.physical) {
    add('J', 'inertia J', pm(m.physical.inertia, 'kg·m²'), `from ${m.physical.torque_per_output} N·m per unit of output`);
    add('B', 'viscous B', pm(m.physical.viscous, 'N·m·s/rad'), 'damping at the output, back-EMF included with a PWM output');
    add('Tc', 'Coulomb τc', pm(m.physical.coulomb, 'N·m'), 'dry friction at the output');
  }
  const r = m.resonance;
  if (r) {
    add('antires', 'anti-resonance', readout(r.antiresonance_hz, 2, ' Hz'), 'the load on its coupling against a held motor (a dip of the plant)');
    if (r.resonance_hz !== null) add('res', 'resonance', readout(r.resonance_hz, 2, ' Hz'), 'the coupled mode above it (a peak of the plant)');
    if (r.load_to_motor_inertia !== null) add('j2j1', 'J₂/J₁', readout(r.load_to_motor_inertia, 2, ''), '(f_r/f_ar)² − 1: the load\'s inertia over the motor side\'s');
    if (r.stiffness !== null) add('k', 'coupling stiffness k', readout(r.stiffness, 3, ' N·m/rad'), 'J₂·(2π·f_ar)²');
  }
  return rows;
}
