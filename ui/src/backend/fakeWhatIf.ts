// The fake backend's suggestions, what-ifs and comparisons: the fake runs' model (the XM430
// shaft of FAKE_MODEL: dω/dt = g·u − a·ω) closed by the DYNAMIXEL X position PD (the
// derivative on the measurement), with the same pole placement and register scaling as
// the engine, so the Tuning view's tests see numbers that move the right way. The delay
// and friction the engine models are left out here.
import type {
  Comparison, FrequencyResponse, GainSetting, IpcError, PassiveRequest, PassiveView, PredictRequest, Predicted, Prediction, RunView, SuggestRequest, SuggestionView,
} from './types';
import { FAKE_MODEL, FAKE_OBSERVABLE_HZ } from './fakeTune';

const invalid = (message: string): IpcError => ({ kind: 'invalid', message });

/** Output fraction per count of each DYNAMIXEL X position gain (pulses per rad / 885). */
const PER_PULSE = 4096 / (2 * Math.PI) / 885;
const REGISTERS: { name: string; term: GainSetting['term']; si: number; rule: string; siUnit: string; physicalUnit: string }[] = [
  { name: 'Position P Gain', term: 'proportional', si: PER_PULSE / 128, rule: 'KPP = P/128', siUnit: '1/rad', physicalUnit: 'N·m/rad' },
  { name: 'Position I Gain', term: 'integral', si: PER_PULSE / 65536 / 0.001, rule: 'KPI = I/65536', siUnit: '1/(rad·s)', physicalUnit: 'N·m/(rad·s)' },
  { name: 'Position D Gain', term: 'derivative', si: (PER_PULSE / 16) * 0.001, rule: 'KPD = D/16', siUnit: 's/rad', physicalUnit: 'N·m·s/rad' },
];
const MAX_COUNTS = 16383;
const STALL_TORQUE = 4.1;

type Gains = { kp: number; kd: number };

function response(g: Gains, f: number): { re: number; im: number } {
  // T = g·Kp / (s² + (a + g·Kd)s + g·Kp) at s = jω.
  const w = 2 * Math.PI * f;
  const { gain, damping } = FAKE_MODEL;
  const num = gain * g.kp;
  const re = num - w * w;
  const im = (damping + gain * g.kd) * w;
  const d = re * re + im * im;
  return { re: (num * re) / d, im: (-num * im) / d };
}

const FREQS = Array.from({ length: 200 }, (_, k) => 0.05 * Math.pow(450 / 0.05, k / 199));

function frf(g: Gains): FrequencyResponse {
  const h = FREQS.map((f) => response(g, f));
  return {
    freq_hz: FREQS, re: h.map((v) => v.re), im: h.map((v) => v.im),
    magnitude_db: h.map((v) => 10 * Math.log10(v.re * v.re + v.im * v.im)),
    phase_deg: h.map((v) => (Math.atan2(v.im, v.re) * 180) / Math.PI),
    coherence: FREQS.map(() => 1), coherence_threshold: 0, trusted: FREQS.map(() => true),
  };
}

function bandwidth(t: FrequencyResponse): number | null {
  for (let i = 1; i < t.freq_hz.length; i++) if (t.magnitude_db[i] < -3) return t.freq_hz[i];
  return null;
}

function step(g: Gains, size: number): { t: number[]; y: number[]; u: number[] } {
  const dt = 0.001;
  const { gain, damping } = FAKE_MODEL;
  let x = 0, v = 0;
  const t: number[] = [], y: number[] = [], u: number[] = [];
  for (let k = 0; k < 1000; k++) {
    const r = k * dt >= 0.05 ? size : 0;
    const out = Math.max(-1, Math.min(1, g.kp * (r - x) - g.kd * v));
    t.push(k * dt); y.push(x); u.push(out);
    v += dt * (gain * out - damping * v);
    x += dt * v;
  }
  return { t, y, u };
}

function predicted(g: Gains, size: number): Predicted {
  const t = frf(g);
  const s = step(g, size);
  const peak = Math.max(...s.y);
  const at = (frac: number) => s.t[s.y.findIndex((v) => v >= frac * size)] ?? null;
  const t10 = at(0.1), t90 = at(0.9);
  // The PD's phase margin, from the open loop g(Kp + Kd·s)/(s(s + a)) at its crossover.
  let pm: number | null = null;
  for (const f of FREQS) {
    const w = 2 * Math.PI * f;
    const mag = (FAKE_MODEL.gain * Math.hypot(g.kp, g.kd * w)) / (w * Math.hypot(w, FAKE_MODEL.damping));
    if (mag < 1) {
      pm = 180 - 90 - (Math.atan2(w, FAKE_MODEL.damping) * 180) / Math.PI + (Math.atan2(g.kd * w, g.kp) * 180) / Math.PI;
      break;
    }
  }
  return {
    bandwidth_hz: bandwidth(t),
    margins: { gain_margin_db: null, phase_crossover_hz: null, phase_margin_deg: pm, gain_crossover_hz: null, delay_margin_s: null, peak_sensitivity: 1.2, peak_sensitivity_hz: 5 },
    overshoot_pct: Math.max(0, ((peak - size) / size) * 100),
    rise_time_s: t10 !== null && t90 !== null ? t90 - t10 : null,
    settling_time_2pct_s: null,
    peak_output: Math.max(...s.u.map(Math.abs)),
    saturates: s.u.some((v) => Math.abs(v) >= 1),
    max_linear_step: 1 / g.kp,
  };
}

export class FakeWhatIf {
  /** Predictions asked for, for assertions. */
  readonly predictions: PredictRequest[] = [];

  constructor(private readonly run: (id: number) => RunView) {}

  private counts(view: RunView, name: string): number {
    return view.gains.find((g) => g.name === name)?.value ?? 0;
  }

  predict(request: PredictRequest): Prediction {
    this.predictions.push(structuredClone(request));
    const model = this.run(request.modelRun);
    if (model.summary.state === 'running') throw invalid(`run ${request.modelRun} is still running`);
    const replayed = this.run(request.run ?? request.modelRun);
    const counts = REGISTERS.map((r) => {
      const given = request.gains.find((g) => g.name === r.name)?.counts;
      const value = given ?? this.counts(replayed, r.name);
      if (!Number.isInteger(value) || value < 0 || value > MAX_COUNTS) throw invalid(`${r.name} = ${value} is not a count within its range 0–${MAX_COUNTS}`);
      return value;
    });
    const g: Gains = { kp: counts[0] * REGISTERS[0].si, kd: counts[2] * REGISTERS[2].si };
    const size = request.stepSize ?? 0.1745;
    const s = step(g, size);
    const replay = step(g, size);
    return {
      modelRun: request.modelRun, run: request.run ?? request.modelRun, structure: 'DYNAMIXEL X position PID → PWM',
      gains: REGISTERS.map((r, i) => ({
        name: r.name, term: r.term, counts: counts[i], inRun: this.counts(replayed, r.name), min: 0, max: MAX_COUNTS, rule: r.rule,
        si: counts[i] * r.si, siUnit: r.siUnit, physical: counts[i] * r.si * STALL_TORQUE, physicalUnit: r.physicalUnit,
      })),
      predicted: predicted(g, size),
      stepTS: s.t, stepSize: size, stepResponse: s.y, stepOutput: s.u,
      closedLoop: frf(g), openLoop: frf(g),
      runTS: replay.t, runReference: replay.t.map((t) => (t >= 0.05 ? size : 0)),
      runMeasured: replay.y.map((y) => y * 1.02), runPredicted: replay.y,
      runFitPct: 95, runRmsError: 0.002, runMaxError: 0.005,
      notes: ['predicted by the fake backend'],
    };
  }

  suggest(request: SuggestRequest): SuggestionView {
    const { gain, damping } = FAKE_MODEL;
    const zeta = request.damping ?? 0.9;
    if (request.target.kind !== 'bandwidth_hz') throw invalid('the fake suggests for a bandwidth only');
    const f = request.target.value;
    if (!(f > 0)) throw invalid(`a bandwidth target must be a positive frequency, not ${f}`);
    if (f > FAKE_OBSERVABLE_HZ) throw invalid(`the link cannot observe ${f} Hz: this run's readings observe up to ${FAKE_OBSERVABLE_HZ} Hz`);
    const ratio = Math.sqrt(1 - 2 * zeta * zeta + Math.sqrt(4 * zeta ** 4 - 4 * zeta * zeta + 2));
    const wn = (2 * Math.PI * f) / ratio;
    const wanted = [(wn * wn) / gain / REGISTERS[0].si, 0, Math.max(0, (2 * zeta * wn - damping) / gain) / REGISTERS[2].si];
    const counts = wanted.map((c) => Math.min(MAX_COUNTS, Math.round(c)));
    const prediction = this.predict({ modelRun: request.run, run: null, gains: REGISTERS.map((r, i) => ({ name: r.name, counts: counts[i] })), stepSize: null });
    const current = this.predict({ modelRun: request.run, run: null, gains: [], stepSize: null }).predicted;
    return {
      suggestion: {
        structure: prediction.structure, rule: 'pole placement for the DYNAMIXEL X position PID → PWM: Kp = ωn²/g, Kd = (2ζωn − a)/g',
        target: request.target, natural_frequency_hz: wn / (2 * Math.PI), damping: zeta,
        gains: REGISTERS.map((r, i) => ({ name: r.name, term: r.term, counts: counts[i], wanted_counts: wanted[i], si: counts[i] * r.si, rule: r.rule, clipped: counts[i] !== Math.round(wanted[i]) })),
        law: { kp: counts[0] * REGISTERS[0].si, ki: 0, kd: counts[2] * REGISTERS[2].si, ff_velocity: 0, ff_acceleration: 0 },
        predicted: prediction.predicted, notes: [],
      },
      prediction, current,
    };
  }

  /** The fake loop's step as the estimate (its 800-count P), refused for a short range. */
  passive(request: PassiveRequest): PassiveView {
    if (!(request.toS - request.fromS >= 5)) throw invalid(`${request.toS - request.fromS} s: too few readings`);
    const s = step({ kp: 800 * REGISTERS[0].si, kd: 0 }, 1);
    const t = s.t.slice(50, 550).map((x) => x - 0.05);
    const y = s.y.slice(50, 550);
    return {
      estimate: { t_s: t, step: y, windows_used: 20, windows_total: 24, coherence_mean: 0.93, band_hz: 20 },
      metrics: null, loop: 'position', moves: 40, rateHz: 200, notes: ['estimated by the fake backend'],
    };
  }

  compare(ids: number[]): Comparison {
    if (ids.length < 2 || ids.length > 12) throw invalid(`a comparison takes 2 to 12 runs, not ${ids.length}`);
    return {
      runs: ids.map((id) => {
        const view = this.run(id);
        const p = this.predict({ modelRun: id, run: null, gains: [], stepSize: null });
        return {
          summary: view.summary, spec: view.spec, gains: view.gains,
          riseTimeS: p.predicted.rise_time_s, overshootPct: p.predicted.overshoot_pct, settlingTime2pctS: null,
          bandwidthHz: p.predicted.bandwidth_hz, phaseMarginDeg: p.predicted.margins.phase_margin_deg, gainMarginDb: null,
          model: null, physical: null, modelNote: null,
          stepSource: 'predicted', stepTS: p.stepTS, stepResponse: p.stepResponse.map((y) => y / p.stepSize),
          bodeSource: 'predicted', closedLoop: p.closedLoop,
        };
      }),
      flags: [], notes: ['compared by the fake backend'],
    };
  }
}
