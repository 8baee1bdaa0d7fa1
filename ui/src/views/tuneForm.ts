// The Tuning view's test form: each excitation's settings as fields in the user's units
// (units.ts), read back into a TestSpec in SI, and checked against the drive's TestLimits
// before anything reaches the backend.
import type { Excitation, TestKind, TestLimits, TestLoop, TestSpec } from '../backend/types';
import { shownFor, unitSystem } from '../units';
import type { Shown } from '../units';

/** What a field holds: an amplitude in the loop's unit, an angle, a speed, a rate of the
 * loop's unit per second, a time, a frequency, a count, a choice. */
type FieldKind = 'amp' | 'angle' | 'speed' | 'rate' | 's' | 'ms' | 'hz' | 'hzList' | 'int' | 'bool' | 'sweep';
type Field = { key: string; label: string; kind: FieldKind; help: string };

export const FIELDS: Record<TestKind, Field[]> = {
  step: [
    { key: 'size', label: 'size', kind: 'amp', help: 'step size' },
    { key: 'holdS', label: 'hold', kind: 's', help: 'how long each level is held' },
    { key: 'repeats', label: 'repeats', kind: 'int', help: 'up-and-down cycles (1–20)' },
  ],
  ramp: [
    { key: 'rate', label: 'slope', kind: 'rate', help: 'ramp slope' },
    { key: 'durationS', label: 'duration', kind: 's', help: 'how long the ramp lasts' },
  ],
  chirp: [
    { key: 'startHz', label: 'from', kind: 'hz', help: 'first frequency' },
    { key: 'endHz', label: 'to', kind: 'hz', help: 'last frequency (at most half the wire limit)' },
    { key: 'amplitude', label: 'amplitude', kind: 'amp', help: 'sine amplitude' },
    { key: 'durationS', label: 'duration', kind: 's', help: 'sweep time' },
    { key: 'sweep', label: 'sweep', kind: 'sweep', help: 'linear or logarithmic sweep' },
    { key: 'fallingAmplitude', label: '1/f amplitude', kind: 'bool', help: 'amplitude falling as 1/f above the start (the speed of the start, bounded)' },
  ],
  prbs: [
    { key: 'order', label: 'order', kind: 'int', help: 'shift-register order (2–20): the period is 2^order − 1 bits' },
    { key: 'bitTimeS', label: 'bit time', kind: 'ms', help: 'how long each bit lasts (at least one poll period)' },
    { key: 'amplitude', label: 'amplitude', kind: 'amp', help: '± amplitude' },
    { key: 'periods', label: 'periods', kind: 'int', help: 'whole periods played' },
  ],
  multisine: [
    { key: 'frequenciesHz', label: 'frequencies', kind: 'hzList', help: 'frequencies, comma separated (multiples of 1 / period)' },
    { key: 'amplitude', label: 'peak', kind: 'amp', help: 'peak amplitude of the sum' },
    { key: 'periodS', label: 'period', kind: 's', help: 'period of the signal' },
    { key: 'periods', label: 'periods', kind: 'int', help: 'periods played' },
  ],
  relay: [
    { key: 'amplitude', label: 'relay output', kind: 'speed', help: 'relay output (a velocity)' },
    { key: 'hysteresis', label: 'hysteresis', kind: 'angle', help: 'hysteresis on the position error' },
    { key: 'durationS', label: 'duration', kind: 's', help: 'how long the relay runs' },
  ],
};

const SECOND: Shown = { unit: 's', digits: 3, toShown: (s) => s, toSi: (s) => s };
const MS: Shown = { unit: 'ms', digits: 2, toShown: (s) => s * 1e3, toSi: (ms) => ms / 1e3 };
const HZ: Shown = { unit: 'Hz', digits: 2, toShown: (f) => f, toSi: (f) => f };
const PLAIN: Shown = { unit: '', digits: 0, toShown: (n) => n, toSi: (n) => n };

/** How a field of `kind` is shown for a test of `loop`. */
export function shownOf(kind: FieldKind, loop: TestLoop): Shown {
  const angle = shownFor(unitSystem(), 'angle');
  const speed = shownFor(unitSystem(), 'speed');
  switch (kind) {
    case 'amp': return loop === 'position' ? angle : speed;
    case 'angle': return angle;
    case 'speed': return speed;
    case 'rate': return loop === 'position' ? speed : { ...speed, unit: `${speed.unit}/s` };
    case 's': return SECOND;
    case 'ms': return MS;
    case 'hz': case 'hzList': return HZ;
    default: return PLAIN;
  }
}

/** A field's text: a few more decimals than a readout, so a default survives a round trip. */
const num = (v: number, digits: number) => String(Number(v.toFixed(Math.max(digits, 2) + 2)));
/** A value to read (limits, messages): the unit's own decimals, trailing zeros dropped. */
const short = (v: number, digits: number) => String(Number(v.toFixed(digits)));

/** The limit a field of `kind` is checked against, for its tooltip. */
function limitNote(kind: FieldKind, spec: TestSpec, limits: TestLimits): string {
  const angle = shownFor(unitSystem(), 'angle');
  const speed = shownFor(unitSystem(), 'speed');
  const travel = `${short(angle.toShown(spec.travelWindowRad), angle.digits)} ${angle.unit}`;
  const vmax = `${short(speed.toShown(limits.velocityMaxRadS), speed.digits)} ${speed.unit}`;
  switch (kind) {
    case 'amp': return spec.loop === 'position' ? `; at most the travel window (±${travel}), and its speed at most ${vmax}` : `; at most ${vmax}`;
    case 'speed': case 'rate': return `; the speed it asks for at most ${vmax}`;
    case 'hz': case 'hzList': return `; above 0, at most ${(limits.wireLimitHz / 2).toFixed(0)} Hz (half the wire limit)`;
    case 'ms': return `; at least ${(1e3 / limits.wireLimitHz).toFixed(2)} ms (one poll at the wire limit)`;
    case 's': return `; the whole test at most ${limits.durationMaxS} s`;
    default: return '';
  }
}

/** The form's fields for `spec`, prefilled in the user's units. */
export function formHtml(spec: TestSpec, limits: TestLimits): string {
  const e = spec.excitation as Record<string, unknown>;
  const angle = shownFor(unitSystem(), 'angle');
  const rows = FIELDS[spec.excitation.kind].map((f) => {
    const s = shownOf(f.kind, spec.loop);
    const v = e[f.key];
    const title = `${f.help}${s.unit ? ` (${s.unit})` : ''}${limitNote(f.kind, spec, limits)}`;
    let input: string;
    if (f.kind === 'bool') input = `<input type="checkbox" data-key="${f.key}" ${v ? 'checked' : ''} title="${title}">`;
    else if (f.kind === 'sweep') {
      input = `<select data-key="${f.key}" title="${title}">${['log', 'linear'].map((k) => `<option value="${k}" ${v === k ? 'selected' : ''}>${k}</option>`).join('')}</select>`;
    } else {
      const text = f.kind === 'hzList' ? (v as number[]).join(', ') : num(s.toShown(v as number), s.digits);
      input = `<input data-key="${f.key}" size="8" inputmode="decimal" value="${text}" title="${title}">`;
    }
    return `<label class="tune-field">${f.label} ${input} <span class="muted">${s.unit}</span></label>`;
  });
  const travelTitle = `most the position may move from where it starts (${angle.unit}, at most ${num(angle.toShown(limits.travelMaxRad), angle.digits)})`;
  rows.push(`<label class="tune-field">travel window ± <input data-key="travelWindowRad" size="8" inputmode="decimal" value="${num(angle.toShown(spec.travelWindowRad), angle.digits)}" title="${travelTitle}"> <span class="muted">${angle.unit}</span></label>`);
  rows.push(`<label class="tune-field">settle <input data-key="settleS" size="8" inputmode="decimal" value="${num(spec.settleS, 3)}" title="time held before and after the excitation (s)"> <span class="muted">s</span></label>`);
  return rows.join('');
}

/** Reads the form under `root` back into a spec (SI), or says which field is not a number. */
export function readForm(root: HTMLElement, base: TestSpec): TestSpec | string {
  const kind = base.excitation.kind;
  const e: Record<string, unknown> = { kind };
  const value = (key: string) => root.querySelector<HTMLInputElement | HTMLSelectElement>(`[data-key="${key}"]`);
  for (const f of FIELDS[kind]) {
    const el = value(f.key);
    if (!el) return `the field ${f.label} is missing`;
    if (f.kind === 'bool') { e[f.key] = (el as HTMLInputElement).checked; continue; }
    if (f.kind === 'sweep') { e[f.key] = el.value; continue; }
    const s = shownOf(f.kind, base.loop);
    if (f.kind === 'hzList') {
      const list = el.value.split(/[,\s]+/).filter((x) => x !== '').map(Number);
      if (list.length === 0 || list.some((x) => !Number.isFinite(x))) return `${f.label}: type frequencies in Hz, comma separated`;
      e[f.key] = list;
      continue;
    }
    const text = el.value.trim();
    const n = text === '' ? NaN : Number(text);
    if (!Number.isFinite(n)) return `${f.label}: “${el.value}” is not a number`;
    if (f.kind === 'int' && !Number.isInteger(n)) return `${f.label}: a whole number is needed`;
    e[f.key] = s.toSi(n);
  }
  const angle = shownFor(unitSystem(), 'angle');
  const travel = Number(value('travelWindowRad')?.value.trim() || NaN);
  const settle = Number(value('settleS')?.value.trim() || NaN);
  if (!Number.isFinite(travel)) return 'travel window: not a number';
  if (!Number.isFinite(settle)) return 'settle: not a number';
  return { loop: base.loop, excitation: e as Excitation, travelWindowRad: angle.toSi(travel), settleS: settle };
}

/** How long a test plays, s (settle before and after included). */
export function durationS(spec: TestSpec): number {
  const e = spec.excitation;
  const body = e.kind === 'step' ? 2 * e.holdS * e.repeats
    : e.kind === 'prbs' ? (2 ** e.order - 1) * e.bitTimeS * e.periods
      : e.kind === 'multisine' ? e.periodS * e.periods
        : e.durationS;
  return 2 * spec.settleS + body;
}

/** How far the reference moves from the start (rad, position loop) and the fastest it
 * asks for (rad/s), as far as the settings tell. */
export function extent(spec: TestSpec): { travelRad: number; speedRadS: number | null } {
  const e = spec.excitation;
  const pos = spec.loop === 'position';
  switch (e.kind) {
    case 'step': return { travelRad: pos ? Math.abs(e.size) : 0, speedRadS: pos ? null : Math.abs(e.size) };
    case 'ramp': return { travelRad: pos ? Math.abs(e.rate * e.durationS) : 0, speedRadS: pos ? Math.abs(e.rate) : Math.abs(e.rate * e.durationS) };
    case 'chirp': {
      const f = e.fallingAmplitude ? e.startHz : e.endHz;
      return { travelRad: pos ? Math.abs(e.amplitude) : 0, speedRadS: pos ? 2 * Math.PI * f * Math.abs(e.amplitude) : Math.abs(e.amplitude) };
    }
    case 'prbs': return { travelRad: pos ? Math.abs(e.amplitude) : 0, speedRadS: pos ? null : Math.abs(e.amplitude) };
    case 'multisine': return { travelRad: pos ? Math.abs(e.amplitude) : 0, speedRadS: pos ? null : Math.abs(e.amplitude) };
    case 'relay': return { travelRad: 0, speedRadS: Math.abs(e.amplitude) };
  }
}

/** Why `spec` may not run within `limits` (in the user's units), or null. */
export function checkSpec(spec: TestSpec, limits: TestLimits): string | null {
  const angle = shownFor(unitSystem(), 'angle');
  const speed = shownFor(unitSystem(), 'speed');
  const a = (rad: number) => `${short(angle.toShown(rad), angle.digits)} ${angle.unit}`;
  const v = (radS: number) => `${short(speed.toShown(radS), speed.digits)} ${speed.unit}`;
  const e = spec.excitation;
  const nyquist = limits.wireLimitHz / 2;
  if (!(spec.travelWindowRad > 0)) return 'the travel window must be above 0';
  if (spec.travelWindowRad > limits.travelMaxRad + 1e-12) return `the travel window ±${a(spec.travelWindowRad)} is wider than the limit ±${a(limits.travelMaxRad)}`;
  if (!(spec.settleS >= 0)) return 'the settle time cannot be negative';
  for (const [k, x] of Object.entries(e)) {
    if (typeof x === 'number' && k !== 'size' && k !== 'rate' && !(x > 0)) return `${k} must be above 0`;
  }
  if (e.kind === 'step' && e.size === 0) return 'a step of size 0 tests nothing';
  if (e.kind === 'step' && !(e.repeats >= 1 && e.repeats <= 20)) return 'repeats must be 1–20';
  if (e.kind === 'chirp') {
    if (!(e.startHz < e.endHz)) return 'the chirp must end above the frequency it starts at';
    if (e.endHz > nyquist) return `the chirp ends at ${e.endHz} Hz, above half the wire limit (${nyquist.toFixed(0)} Hz)`;
  }
  if (e.kind === 'prbs') {
    if (!(e.order >= 2 && e.order <= 20)) return 'the PRBS order must be 2–20';
    if (e.bitTimeS < 1 / limits.wireLimitHz) return `a bit of ${(e.bitTimeS * 1e3).toFixed(2)} ms is shorter than one poll at the wire limit (${(1e3 / limits.wireLimitHz).toFixed(2)} ms)`;
  }
  if (e.kind === 'multisine' && e.frequenciesHz.some((f) => !(f > 0 && f <= nyquist))) return `every frequency must be above 0 and at most ${nyquist.toFixed(0)} Hz`;
  const d = durationS(spec);
  if (d > limits.durationMaxS) return `the test lasts ${d.toFixed(1)} s, longer than the limit of ${limits.durationMaxS} s`;
  const { travelRad, speedRadS } = extent(spec);
  if (travelRad > spec.travelWindowRad + 1e-12) return `the reference moves ${a(travelRad)}, beyond the travel window ±${a(spec.travelWindowRad)}`;
  if (speedRadS !== null && speedRadS > limits.velocityMaxRadS + 1e-12) return `the test asks for ${v(speedRadS)}, above the velocity limit ${v(limits.velocityMaxRadS)}`;
  const p = limits.positionRad;
  if (p !== null) {
    const reach = Math.max(travelRad, spec.loop === 'position' ? 0 : spec.travelWindowRad);
    if (limits.softMinRad !== null && p - reach < limits.softMinRad - 1e-12) return `the test may reach ${a(p - reach)}, below the soft limit ${a(limits.softMinRad)}`;
    if (limits.softMaxRad !== null && p + reach > limits.softMaxRad + 1e-12) return `the test may reach ${a(p + reach)}, above the soft limit ${a(limits.softMaxRad)}`;
  }
  return null;
}

/** The limits beside the form, as label → value in the user's units. */
export function limitRows(limits: TestLimits): [string, string, string][] {
  const angle = shownFor(unitSystem(), 'angle');
  const speed = shownFor(unitSystem(), 'speed');
  const a = (rad: number | null) => (rad === null ? 'not set' : `${short(angle.toShown(rad), angle.digits)} ${angle.unit}`);
  return [
    ['position now', a(limits.positionRad), 'the last reading'],
    ['travel max', `± ${a(limits.travelMaxRad)}`, 'the widest travel window a test may set'],
    ['velocity max', `${short(speed.toShown(limits.velocityMaxRadS), speed.digits)} ${speed.unit}`, 'the most a test may ask of the velocity'],
    ['soft limits', limits.softMinRad === null && limits.softMaxRad === null ? 'not set' : `${a(limits.softMinRad)} … ${a(limits.softMaxRad)}`, 'your soft position limits'],
    ['wire limit', `${limits.wireLimitHz.toFixed(0)} Hz`, 'the fastest this drive can be polled alone; frequencies above half of it are refused'],
    ['max duration', `${limits.durationMaxS} s`, 'the longest test'],
  ];
}
