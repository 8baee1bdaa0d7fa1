// The fake backend's tuning: runs kept in memory, ended by the fake's clock, with results
// from a known loop so the Tuning view and its tests see real numbers.
//
// The model: an open loop L(s) = K·e^(−sτ) / (s·(s/p + 1)) (K = 60 /s, p = 80 rad/s,
// τ = 4 ms), so T = L / (1 + L). A step plays the delay-free closed loop, a second-order
// system with ωn = √(K·p) and ζ = p / (2·ωn): its overshoot is FAKE_OVERSHOOT_PCT.
// Chirp, PRBS and multisine runs report the Bode of T, L and S with a coherence of 0.99 up
// to the observable limit and falling above it.
import type {
  DriveRef, DriveView, Excitation, FrequencyResponse, IpcError, Margins, ModelResults, ObservableRange, RunQuery, RunResults, RunSummary, RunView,
  StepReport, TestSpec, TuneDefaults, TuneExportFormat,
} from './types';

const K = 60;
const P = 80;
const TAU = 0.004;
const WN = Math.sqrt(K * P);
const ZETA = P / (2 * WN);
/** The step overshoot of the fake's closed loop, %. */
export const FAKE_OVERSHOOT_PCT = 100 * Math.exp((-ZETA * Math.PI) / Math.sqrt(1 - ZETA * ZETA));
/** The fake's polling rate during a test and the wire-time limit, Hz. */
export const FAKE_RATE_HZ = 500;
export const FAKE_WIRE_LIMIT_HZ = 550;
/** The model `identify` reports: an XM430's shaft (g rad/s² per unit, a 1/s, c rad/s²). */
export const FAKE_MODEL = { gain: 341, damping: 71, coulomb: 4.2, fitPct: 96.5 };
/** Where coherence starts to fall: the fake link's observable limit, Hz. */
export const FAKE_OBSERVABLE_HZ = 60;
const COHERENCE_THRESHOLD = 0.9;
/** Channel IDs of runs start here, apart from the fake's telemetry channels. */
export const TUNE_CHANNEL_BASE = 100_000;

/** How long a test plays, s (its settle time before and after included). */
export function testDurationS(test: TestSpec): number {
  const e = test.excitation;
  const body = e.kind === 'step' ? 2 * e.holdS * e.repeats
    : e.kind === 'prbs' ? (2 ** e.order - 1) * e.bitTimeS * e.periods
      : e.kind === 'multisine' ? e.periodS * e.periods
        : e.durationS;
  return 2 * test.settleS + body;
}

/** The reference an excitation asks for `t` s after it starts (offset from the start). */
export function referenceAt(e: Excitation, t: number): number {
  switch (e.kind) {
    case 'step': return Math.floor(t / e.holdS) % 2 === 0 && t < 2 * e.holdS * e.repeats ? e.size : 0;
    case 'ramp': return e.rate * Math.min(t, e.durationS);
    case 'chirp': {
      if (t > e.durationS) return 0;
      const f0 = e.startHz, f1 = e.endHz, T = e.durationS;
      const phase = e.sweep === 'log'
        ? (2 * Math.PI * f0 * T * ((f1 / f0) ** (t / T) - 1)) / Math.log(f1 / f0)
        : 2 * Math.PI * (f0 * t + ((f1 - f0) * t * t) / (2 * T));
      const f = e.sweep === 'log' ? f0 * (f1 / f0) ** (t / T) : f0 + ((f1 - f0) * t) / T;
      return (e.fallingAmplitude ? (e.amplitude * f0) / f : e.amplitude) * Math.sin(phase);
    }
    case 'prbs': {
      const bit = Math.floor(t / e.bitTimeS);
      // A fixed pseudo-random ±1 per bit (a hash, not a real LFSR: enough for the fake).
      return ((Math.sin(bit * 12.9898) * 43758.5453) % 1 + 1) % 1 < 0.5 ? -e.amplitude : e.amplitude;
    }
    case 'multisine': {
      const s = e.frequenciesHz.reduce((acc, f, i) => acc + Math.sin(2 * Math.PI * f * t + (Math.PI * i * i) / e.frequenciesHz.length), 0);
      return (e.amplitude * s) / Math.max(1, e.frequenciesHz.length);
    }
    case 'relay': return t < e.durationS ? e.amplitude * Math.sign(Math.sin(2 * Math.PI * 9 * t)) * 0.01 : 0;
  }
}

/** The delay-free closed loop's unit step response `t` s after the step. */
export function stepResponse(t: number): number {
  if (t <= 0) return 0;
  const wd = WN * Math.sqrt(1 - ZETA * ZETA);
  return 1 - (Math.exp(-ZETA * WN * t) / Math.sqrt(1 - ZETA * ZETA)) * Math.sin(wd * t + Math.acos(ZETA));
}

type C = { re: number; im: number };
const mul = (a: C, b: C): C => ({ re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re });
const div = (a: C, b: C): C => {
  const d = b.re * b.re + b.im * b.im;
  return { re: (a.re * b.re + a.im * b.im) / d, im: (a.im * b.re - a.re * b.im) / d };
};
const loopAt = (f: number): C => {
  const w = 2 * Math.PI * f;
  const delay = { re: Math.cos(w * TAU), im: -Math.sin(w * TAU) };
  return div(mul({ re: K, im: 0 }, delay), mul({ re: 0, im: w }, { re: 1, im: w / P }));
};

function response(freq: number[], h: (f: number) => C, coherence: (f: number) => number): FrequencyResponse {
  const hs = freq.map(h);
  const phase: number[] = [];
  for (const c of hs) {
    let p = (Math.atan2(c.im, c.re) * 180) / Math.PI;
    const prev = phase[phase.length - 1];
    if (prev !== undefined) while (p - prev > 180) p -= 360;
    if (prev !== undefined) while (p - prev < -180) p += 360;
    phase.push(p);
  }
  const coh = freq.map(coherence);
  return {
    freq_hz: freq, re: hs.map((c) => c.re), im: hs.map((c) => c.im),
    magnitude_db: hs.map((c) => 20 * Math.log10(Math.hypot(c.re, c.im))), phase_deg: phase,
    coherence: coh, coherence_threshold: COHERENCE_THRESHOLD, trusted: coh.map((g) => g >= COHERENCE_THRESHOLD),
  };
}

/** First `f` in [lo, hi] where `g` changes sign (bisection), or null. */
function root(g: (f: number) => number, lo: number, hi: number): number | null {
  let a = lo, b = hi;
  if (Math.sign(g(a)) === Math.sign(g(b))) return null;
  for (let i = 0; i < 60; i++) {
    const m = Math.sqrt(a * b);
    if (Math.sign(g(m)) === Math.sign(g(a))) a = m;
    else b = m;
  }
  return Math.sqrt(a * b);
}

const phaseOfL = (f: number) => -90 - (Math.atan(2 * Math.PI * f / P) * 180) / Math.PI - 360 * f * TAU;
const magOfL = (f: number) => Math.hypot(loopAt(f).re, loopAt(f).im);

function margins(freq: number[]): Margins {
  const gc = root((f) => magOfL(f) - 1, 0.01, 1000);
  const pc = root((f) => phaseOfL(f) + 180, 0.01, 1000);
  const pm = gc === null ? null : 180 + phaseOfL(gc);
  let ms = 0, msHz = freq[0];
  for (const f of freq) {
    const l = loopAt(f);
    const s = 1 / Math.hypot(1 + l.re, l.im);
    if (s > ms) [ms, msHz] = [s, f];
  }
  return {
    gain_margin_db: pc === null ? null : -20 * Math.log10(magOfL(pc)), phase_crossover_hz: pc,
    phase_margin_deg: pm, gain_crossover_hz: gc, delay_margin_s: gc === null || pm === null ? null : pm / 360 / gc,
    peak_sensitivity: ms, peak_sensitivity_hz: msHz,
  };
}

function observable(): ObservableRange {
  return {
    sample_rate_hz: FAKE_RATE_HZ, jitter_rms_s: 0.0004, nyquist_hz: FAKE_RATE_HZ / 2, lowest_hz: 0.1, highest_hz: FAKE_OBSERVABLE_HZ,
    limited_by: 'JitterPhase',
    rule: `timing jitter of 0.40 ms rms costs more than 10° of phase above ${FAKE_OBSERVABLE_HZ} Hz (f ≤ 10° / (360° · jitter · 1.16))`,
  };
}

/** The fake's frequency response over [startHz, endHz]. */
export function fakeFrf(startHz: number, endHz: number): RunResults['frf'] {
  const n = 120;
  const lo = Math.max(0.05, startHz), hi = Math.min(FAKE_RATE_HZ / 2, Math.max(endHz, lo * 2));
  const freq = Array.from({ length: n }, (_, i) => lo * (hi / lo) ** (i / (n - 1)));
  const coherence = (f: number) => (f <= FAKE_OBSERVABLE_HZ ? 0.99 : 0.99 * Math.exp(-(f - FAKE_OBSERVABLE_HZ) / 25));
  const T = (f: number) => { const l = loopAt(f); return div(l, { re: 1 + l.re, im: l.im }); };
  const closed = response(freq, T, coherence);
  const bw = root((f) => Math.hypot(T(f).re, T(f).im) - Math.SQRT1_2, lo, hi);
  return {
    closed_loop: closed,
    plant: null,
    open_loop: response(freq, loopAt, coherence),
    sensitivity: response(freq, (f) => { const l = loopAt(f); return div({ re: 1, im: 0 }, { re: 1 + l.re, im: l.im }); }, coherence),
    margins: margins(freq),
    bandwidth_hz: bw,
    // The fake loop has no mechanical resonance.
    resonances: [],
  };
}

/** Step metrics of the fake's step response to a step of `size`, sampled at the fake's rate. */
export function fakeStep(size: number, holdS: number): StepReport {
  const dt = 1 / FAKE_RATE_HZ;
  const ts: number[] = [], ys: number[] = [];
  for (let t = 0; t <= holdS; t += dt) { ts.push(t); ys.push(size * stepResponse(t)); }
  const first = (p: (y: number) => boolean) => { const i = ys.findIndex(p); return i < 0 ? null : ts[i]; };
  const t10 = first((y) => y >= 0.1 * size), t90 = first((y) => y >= 0.9 * size);
  const settle = (band: number) => {
    let last = -1;
    ys.forEach((y, i) => { if (Math.abs(y - size) > band * Math.abs(size)) last = i; });
    return last < 0 ? 0 : last + 1 < ts.length ? ts[last + 1] : null;
  };
  const peak = Math.max(...ys);
  return {
    against_step: {
      rise_time_s: t10 === null || t90 === null ? null : t90 - t10,
      delay_s: first((y) => y >= 0.5 * size),
      overshoot_pct: (100 * (peak - size)) / size,
      settling_time_2pct_s: settle(0.02),
      settling_time_5pct_s: settle(0.05),
      steady_state_error: size - ys[ys.length - 1],
      iae: ys.reduce((a, y) => a + Math.abs(size - y) * dt, 0),
      peak_effort: 0.42,
    },
    against_trajectory: { max_following_error: 0.6 * size, rms_following_error: 0.12 * size, iae: 0.8 * ys.reduce((a, y) => a + Math.abs(size - y) * dt, 0), lag_s: 0.006 },
  };
}

type FakeRun = { view: RunView; endsAtMs: number };
export type TuneHost = {
  now(): number;
  drive(ref: DriveRef): DriveView | undefined;
  /** The session being recorded: its ID and start (ms). */
  session(): { id: number; startedAtMs: number };
};

const invalid = (message: string): IpcError => ({ kind: 'invalid', message } as IpcError);

/** The tuning half of the fake backend. */
export class FakeTuning {
  private runs: FakeRun[] = [];
  private samples = new Map<number, { t: number[]; v: number[] }>();
  private nextRun = 1;
  /** Tests calls made, for assertions. */
  readonly started: { drive: DriveRef; test: TestSpec }[] = [];
  readonly exported: { id: number; format: TuneExportFormat }[] = [];

  constructor(private readonly host: TuneHost) {}

  defaults(drive: DriveRef): TuneDefaults {
    const d = this.host.drive(drive);
    if (!d) throw { kind: 'notFound', message: `drive ${drive.id} is not connected` };
    const position = d.mode === 'position';
    const amp = (rad: number, radS: number) => (position ? rad : radS);
    const loop = position ? 'position' : 'velocity';
    const spec = (excitation: Excitation): TestSpec => ({ loop, excitation, travelWindowRad: 0.5236, settleS: 0.5 });
    return {
      drive: { ...drive },
      loop,
      tests: [
        spec({ kind: 'step', size: amp(0.1745, 1), holdS: 1, repeats: 1 }),
        spec({ kind: 'ramp', rate: amp(0.5, 2), durationS: 2 }),
        spec({ kind: 'chirp', startHz: 0.5, endHz: 100, amplitude: amp(0.0524, 0.5), durationS: 10, sweep: 'log', fallingAmplitude: true }),
        spec({ kind: 'prbs', order: 9, bitTimeS: 0.004, amplitude: amp(0.035, 0.3), periods: 2 }),
        spec({ kind: 'multisine', frequenciesHz: [1, 2, 5, 10, 20, 50], amplitude: amp(0.05, 0.5), periodS: 2, periods: 3 }),
        spec({ kind: 'relay', amplitude: 1, hysteresis: 0.01, durationS: 5 }),
      ],
      limits: {
        positionRad: d.position,
        travelMaxRad: Math.PI / 2,
        velocityMaxRadS: d.softLimits.velocity ?? d.velocityLimit,
        softMinRad: d.softLimits.position?.[0] ?? null,
        softMaxRad: d.softLimits.position?.[1] ?? null,
        wireLimitHz: FAKE_WIRE_LIMIT_HZ,
        durationMaxS: 60,
      },
    };
  }

  start(drive: DriveRef, test: TestSpec): number {
    const d = this.host.drive(drive);
    if (!d) throw { kind: 'notFound', message: `drive ${drive.id} is not connected` };
    if (!d.enabled) throw invalid(`drive ${drive.id} is not enabled: arm and enable it before a test`);
    if (this.runs.some((r) => r.view.summary.state === 'running' && r.view.summary.drive.id === drive.id && this.tick(r))) {
      throw invalid(`drive ${drive.id} is already running a test`);
    }
    const limits = this.defaults(drive).limits;
    if (!(test.travelWindowRad > 0 && test.travelWindowRad <= limits.travelMaxRad)) throw invalid('travel window is outside 0–90°');
    const duration = testDurationS(test);
    if (!(duration <= limits.durationMaxS)) throw invalid(`the test lasts ${duration.toFixed(1)} s, longer than ${limits.durationMaxS} s`);
    this.started.push({ drive: { ...drive }, test: structuredClone(test) });
    const id = this.nextRun++;
    const now = this.host.now();
    const session = this.host.session();
    const fromS = (now - session.startedAtMs) / 1000;
    const channels = ['reference', test.loop].map((name, i) => ({
      id: TUNE_CHANNEL_BASE + id * 10 + i, drive: { ...drive }, name, unit: test.loop === 'position' ? 'rad' : 'rad/s', samples: 0,
    }));
    const start = d.position ?? 0;
    const ref: number[] = [], res: number[] = [], t: number[] = [];
    const dt = 1 / FAKE_RATE_HZ;
    const e = test.excitation;
    for (let k = 0; k * dt <= duration; k++) {
      const tt = k * dt;
      const local = tt - test.settleS;
      const r = local < 0 ? 0 : referenceAt(e, local);
      t.push(fromS + tt);
      ref.push(start + r);
      let y = r;
      if (e.kind === 'step') {
        // The step response, edge by edge (up at 0, down at holdS, …).
        const edge = Math.floor(Math.max(0, local) / e.holdS);
        const since = local - edge * e.holdS;
        const level = edge % 2 === 0 ? e.size : 0;
        const before = edge === 0 ? 0 : edge % 2 === 0 ? 0 : e.size;
        y = local < 0 ? 0 : edge >= 2 * e.repeats ? 0 : before + (level - before) * stepResponse(since);
      }
      res.push(start + y);
    }
    this.samples.set(channels[0].id, { t, v: ref });
    this.samples.set(channels[1].id, { t, v: res });
    for (const c of channels) c.samples = t.length;
    this.runs.push({
      endsAtMs: now + duration * 1000,
      view: {
        summary: {
          id, session: session.id, drive: { ...drive }, test: e.kind, loop: test.loop, state: 'running', reason: null,
          profile: 'XM430-W350 (fake)', startedAtMs: now, finishedAtMs: null, achievedRateHz: null, jitterMs: null,
        },
        spec: structuredClone(test),
        gains: [{ name: 'Position P Gain', value: 800, unit: '' }, { name: 'Position D Gain', value: 0, unit: '' }],
        clock: 'drive', wireLimitHz: FAKE_WIRE_LIMIT_HZ, fromS, toS: fromS + duration, channels, results: null,
      },
    });
    return id;
  }

  /** Ends a run whose time has come; true while it still runs. */
  private tick(r: FakeRun): boolean {
    if (r.view.summary.state !== 'running') return false;
    if (this.host.now() < r.endsAtMs) return true;
    this.finish(r, 'completed', null);
    return false;
  }

  private finish(r: FakeRun, state: 'completed' | 'aborted', reason: string | null): void {
    const s = r.view.summary;
    s.state = state;
    s.reason = reason;
    s.finishedAtMs = Math.min(this.host.now(), r.endsAtMs);
    s.achievedRateHz = FAKE_RATE_HZ;
    s.jitterMs = 0.4;
    if (state === 'aborted') {
      r.view.toS = r.view.fromS + (s.finishedAtMs - s.startedAtMs) / 1000;
      for (const c of r.view.channels) {
        const all = this.samples.get(c.id)!;
        const keep = all.t.filter((t) => t <= r.view.toS).length;
        this.samples.set(c.id, { t: all.t.slice(0, keep), v: all.v.slice(0, keep) });
        c.samples = keep;
      }
    }
    const e = r.view.spec.excitation;
    const frfKind = e.kind === 'chirp' || e.kind === 'prbs' || e.kind === 'multisine';
    const span = e.kind === 'chirp' ? [e.startHz, e.endHz] : e.kind === 'multisine' ? [Math.min(...e.frequenciesHz), Math.max(...e.frequenciesHz)]
      : e.kind === 'prbs' ? [1 / ((2 ** e.order - 1) * e.bitTimeS), 1 / (2 * e.bitTimeS)] : [0, 0];
    const notes = state === 'aborted' ? ['the run was aborted: results cover what was recorded'] : [];
    if (frfKind && span[1] > FAKE_OBSERVABLE_HZ) notes.push(`above ${FAKE_OBSERVABLE_HZ} Hz the link's timing jitter makes the response untrustworthy`);
    const pc = margins([1]).phase_crossover_hz;
    r.view.results = {
      step: e.kind === 'step' && state === 'completed' ? fakeStep(e.size, e.holdS) : null,
      frf: frfKind && state === 'completed' ? fakeFrf(span[0], span[1]) : null,
      relay: e.kind === 'relay' && state === 'completed' && pc !== null
        ? { ultimate_gain: 1 / magOfL(pc), ultimate_period_s: 1 / pc, oscillation_amplitude: 0.012, cycles: Math.floor(e.durationS * pc) }
        : null,
      observable: observable(),
      rate_of_limit_pct: (100 * FAKE_RATE_HZ) / FAKE_WIRE_LIMIT_HZ,
      notes,
    };
  }

  abort(drive: DriveRef): void {
    const r = this.runs.find((x) => x.view.summary.drive.id === drive.id && x.view.summary.drive.link === drive.link && this.tick(x));
    if (!r) throw invalid(`drive ${drive.id} is not running a test`);
    this.finish(r, 'aborted', 'aborted by the user (Abort)');
  }

  /** Aborts the drive's running test with `reason`, as a fault or a stop would (tests). */
  abortWith(drive: DriveRef, reason: string): void {
    const r = this.runs.find((x) => x.view.summary.drive.id === drive.id && this.tick(x));
    if (r) this.finish(r, 'aborted', reason);
  }

  list(query: RunQuery): RunSummary[] {
    const limit = query.limit ?? 100;
    if (!(limit >= 1 && limit <= 1000)) throw invalid(`run list limit ${limit} is outside 1–1000`);
    for (const r of this.runs) this.tick(r);
    return this.runs
      .map((r) => r.view.summary)
      .filter((s) => (!query.drive || (s.drive.link === query.drive.link && s.drive.id === query.drive.id))
        && (!query.test || s.test === query.test)
        && (query.sinceMs == null || s.startedAtMs >= query.sinceMs)
        && (query.untilMs == null || s.startedAtMs < query.untilMs))
      .slice(-limit)
      .reverse()
      .map((s) => structuredClone(s));
  }

  run(id: number): RunView {
    const r = this.runs.find((x) => x.view.summary.id === id);
    if (!r) throw { kind: 'notFound', message: `run ${id} not found` };
    this.tick(r);
    return structuredClone(r.view);
  }

  /** A model of the fake's shaft: the XM430's figures, the trace a damped sine. */
  identify(id: number): ModelResults {
    const view = this.run(id);
    if (view.summary.state === 'running') throw invalid(`run ${id} is still running`);
    const est = (value: number, ci95: number) => ({ value, ci95 });
    const t = Array.from({ length: 200 }, (_, k) => k * 0.01);
    return {
      model: {
        gain: est(FAKE_MODEL.gain, 2), damping_per_s: est(FAKE_MODEL.damping, 0.5), coulomb_accel: est(FAKE_MODEL.coulomb, 0.2),
        delay_s: 0.002, delay_samples: 1, sample_rate_hz: FAKE_RATE_HZ, fit_pct: FAKE_MODEL.fitPct, r_squared: 0.995, windows: 600,
      },
      output_unit: 'PWM fraction',
      physical: {
        torque_per_output: 4.1, inertia: est(4.1 / FAKE_MODEL.gain, 0.0001),
        viscous: est((4.1 / FAKE_MODEL.gain) * FAKE_MODEL.damping, 0.01), coulomb: est((4.1 / FAKE_MODEL.gain) * FAKE_MODEL.coulomb, 0.002),
      },
      trace_t_s: t,
      trace_measured: t.map((x) => Math.sin(2 * Math.PI * x)),
      trace_model: t.map((x) => 0.97 * Math.sin(2 * Math.PI * x)),
      resonance: null,
      notes: ['fitted by the fake backend'],
    };
  }

  export(id: number, format: TuneExportFormat): string {
    this.run(id);
    if (!['png', 'svg', 'csv', 'json'].includes(format)) throw invalid(`unknown export format ${format}`);
    this.exported.push({ id, format });
    return `/fake/exports/run-${id}.${format}`;
  }

  /** Whether `channel` is a run's channel. */
  owns(channel: number): boolean {
    return this.samples.has(channel);
  }

  /** A run channel's samples in [fromS, toS]. */
  window(channel: number, fromS: number, toS: number): { t: number[]; v: number[] } {
    const s = this.samples.get(channel)!;
    // While a run plays, only what was recorded so far is in the store.
    const run = this.runs.find((r) => r.view.channels.some((c) => c.id === channel));
    const recorded = run && this.tick(run) ? run.view.fromS + (this.host.now() - run.view.summary.startedAtMs) / 1000 : Infinity;
    const t: number[] = [], v: number[] = [];
    s.t.forEach((x, i) => { if (x >= fromS && x <= toS && x <= recorded) { t.push(x); v.push(s.v[i]); } });
    return { t, v };
  }
}
