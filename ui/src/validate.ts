// Checks what the user typed as a target before anything is sent. A target is typed in
// the user's unit system (units.ts: degrees or rpm by default) and leaves here in SI, within the
// drive's limits — or as a message to show beside the field.
import type { DriveMode, DriveView, SoftLimits, Target } from './backend/types';
import { angleShown, speedShown } from './units';

export type TargetCheck = { ok: true; target: Target } | { ok: false; message: string };

/** The range the user may type, in display units: [min, max, unit]. */
export function displayRange(drive: Pick<DriveView, 'mode' | 'positionLimits' | 'velocityLimit'>): [number, number, string] {
  if (drive.mode === 'position') {
    const angle = angleShown();
    return [angle.toShown(drive.positionLimits[0]), angle.toShown(drive.positionLimits[1]), angle.unit];
  }
  const speed = speedShown();
  const limit = speed.toShown(drive.velocityLimit);
  return [-limit, limit, speed.unit];
}

/** Human form of the allowed range, e.g. "0 – 360 °" or "−45.8 – 45.8 rpm". */
export function rangeText(drive: Pick<DriveView, 'mode' | 'positionLimits' | 'velocityLimit'>): string {
  const [lo, hi, unit] = displayRange(drive);
  // One decimal for degrees and rpm; radians and turns need more to mean anything.
  const places = unit === '°' || unit === 'rpm' ? 1 : 3;
  const fmt = (v: number) => String(Number(v.toFixed(places)));
  return `${fmt(lo)} – ${fmt(hi)} ${unit}`;
}

export function parseTarget(
  input: string,
  drive: Pick<DriveView, 'mode' | 'positionLimits' | 'velocityLimit'>,
): TargetCheck {
  const text = input.trim();
  if (text === '') return { ok: false, message: 'Enter a target' };
  // Number() accepts "", "0x10", "1e3", " 5 "; we want plain decimal numbers only.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    return { ok: false, message: 'Not a number' };
  }
  const value = Number(text);
  if (!Number.isFinite(value)) return { ok: false, message: 'Not a number' };
  const [lo, hi] = displayRange(drive);
  // A hair of tolerance so that typing the limit shown (rounded) is accepted.
  const eps = 1e-9 * Math.max(1, Math.abs(lo), Math.abs(hi));
  if (value < lo - eps || value > hi + eps) {
    return { ok: false, message: `Out of range: ${rangeText(drive)}` };
  }
  const clamped = Math.min(hi, Math.max(lo, value));
  const mode: DriveMode = drive.mode;
  const target: Target =
    mode === 'position' ? { position: angleShown().toSi(clamped) } : { velocity: speedShown().toSi(clamped) };
  // Round-tripping through degrees can land a hair outside the SI limit: clamp in SI too.
  if ('position' in target) {
    target.position = Math.min(drive.positionLimits[1], Math.max(drive.positionLimits[0], target.position));
  } else {
    target.velocity = Math.min(drive.velocityLimit, Math.max(-drive.velocityLimit, target.velocity));
  }
  return { ok: true, target };
}

export type SoftLimitsCheck = { ok: true; limits: SoftLimits } | { ok: false; message: string };

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Reads the soft-limit fields (position min/max and speed in the unit system; empty: not
 * set) into SI. Whether they fit inside the drive's own limits the bus checks. */
export function parseSoftLimits(minDeg: string, maxDeg: string, rpm: string): SoftLimitsCheck {
  const num = (text: string): number | null | 'bad' => {
    const t = text.trim();
    if (t === '') return null;
    if (!DECIMAL.test(t)) return 'bad';
    const v = Number(t);
    return Number.isFinite(v) ? v : 'bad';
  };
  const [lo, hi, speed] = [num(minDeg), num(maxDeg), num(rpm)];
  if (lo === 'bad' || hi === 'bad' || speed === 'bad') return { ok: false, message: 'Not a number' };
  if ((lo === null) !== (hi === null)) return { ok: false, message: 'Give both ends of the position range, or neither' };
  if (lo !== null && hi !== null && lo >= hi) return { ok: false, message: 'The lower limit must be below the upper' };
  if (speed !== null && speed <= 0) return { ok: false, message: 'The speed limit must be above zero' };
  return {
    ok: true,
    limits: {
      position: lo !== null && hi !== null ? [angleShown().toSi(lo), angleShown().toSi(hi)] : null,
      velocity: speed !== null ? speedShown().toSi(speed) : null,
    },
  };
}
