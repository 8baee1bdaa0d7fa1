// Unit conversions and readout formatting. The backend speaks SI (rad, rad/s, A); people
// at the bench read degrees and rpm.

export const RAD_PER_DEG = Math.PI / 180;
export const RAD_S_PER_RPM = (2 * Math.PI) / 60;

export const degToRad = (deg: number): number => deg * RAD_PER_DEG;
export const radToDeg = (rad: number): number => rad / RAD_PER_DEG;
export const rpmToRadS = (rpm: number): number => rpm * RAD_S_PER_RPM;
export const radSToRpm = (radS: number): number => radS / RAD_S_PER_RPM;

/** `value` with `digits` decimals and `unit`, or an em dash when unknown. */
export function readout(value: number | null | undefined, digits: number, unit: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  // Avoid "-0.0": a shaft at rest should read 0.
  const fixed = value.toFixed(digits);
  const clean = /^-0\.?0*$/.test(fixed) ? fixed.slice(1) : fixed;
  return `${clean}${unit}`;
}

// --- The user's unit system -------------------------------------------------------------
// The store and the IPC keep SI; what is shown and typed follows one system the user
// picks in Settings: degrees and rpm (the default), radians and rad/s, turns and rps, or
// the drive's raw counts (which need the register's or drive's own scale, SI per count).

export type UnitSystem = 'degrees' | 'radians' | 'turns' | 'counts';
export const UNIT_SYSTEMS: { system: UnitSystem; label: string }[] = [
  { system: 'degrees', label: 'degrees, rpm' },
  { system: 'radians', label: 'radians, rad/s' },
  { system: 'turns', label: 'turns, rps' },
  { system: 'counts', label: 'raw counts' },
];

/** What a physical quantity is, from its SI unit. */
export type Quantity = 'angle' | 'speed' | 'time' | 'other';
export function quantityOf(siUnit: string): Quantity {
  if (siUnit === 'rad') return 'angle';
  if (siUnit === 'rad/s') return 'speed';
  if (siUnit === 's') return 'time';
  return 'other';
}

/** How one quantity is shown: its unit, decimals, and the conversion both ways. */
export type Shown = { unit: string; digits: number; toShown: (si: number) => number; toSi: (shown: number) => number };

const TAU = 2 * Math.PI;
const linear = (unit: string, digits: number, perSi: number): Shown => ({
  unit,
  digits,
  toShown: (si) => si * perSi,
  toSi: (shown) => shown / perSi,
});

/** Physical (not raw) units of an angle or a speed in `system`. Counts without a scale fall
 * back to degrees and rpm: a value is never shown in counts it was not measured in. */
export function shownFor(system: UnitSystem, quantity: 'angle' | 'speed', siPerCount?: number): Shown {
  if (system === 'counts' && siPerCount !== undefined && siPerCount > 0 && Number.isFinite(siPerCount)) {
    return linear(quantity === 'angle' ? 'counts' : 'counts/s', 0, 1 / siPerCount);
  }
  switch (system) {
    case 'radians':
      return quantity === 'angle' ? linear('rad', 4, 1) : linear('rad/s', 3, 1);
    case 'turns':
      return quantity === 'angle' ? linear('turn', 4, 1 / TAU) : linear('rps', 3, 1 / TAU);
    default:
      return quantity === 'angle' ? linear('°', 2, 1 / RAD_PER_DEG) : linear('rpm', 1, 1 / RAD_S_PER_RPM);
  }
}

/** A time shown in the unit that reads best for values up to `largestS`: µs below 10 ms,
 * ms below 10 s, else s. */
export function shownTime(largestS: number): Shown {
  const m = Math.abs(largestS);
  if (m > 0 && m < 0.01) return linear('µs', 0, 1e6);
  if (m > 0 && m < 10) return linear('ms', 3, 1e3);
  return linear('s', 3, 1);
}

/** How a register in `siUnit` (with `scale` SI per raw count, and `largest` its largest
 * value in SI) is shown in `system`: raw counts in the counts system, else its physical
 * unit converted the same way as everywhere else. */
export function shownRegister(system: UnitSystem, siUnit: string, scale: number, largest: number): Shown {
  if (system === 'counts') {
    if (scale > 0 && Number.isFinite(scale)) return linear('counts', 0, 1 / scale);
    return linear(siUnit, 6, 1);
  }
  const q = quantityOf(siUnit);
  if (q === 'angle' || q === 'speed') return shownFor(system, q);
  if (q === 'time') return shownTime(largest);
  return linear(siUnit, 6, 1);
}

const UNITS_KEY = 'drivedeck.units';
let current: UnitSystem = 'degrees';
const listeners: ((s: UnitSystem) => void)[] = [];

export const isUnitSystem = (s: unknown): s is UnitSystem => UNIT_SYSTEMS.some((u) => u.system === s);

/** The unit system in use. */
export const unitSystem = (): UnitSystem => current;

/** Switches the unit system (remembered in `store`) and tells every view. */
export function setUnitSystem(system: UnitSystem, store?: Pick<Storage, 'setItem'> | null): void {
  if (!isUnitSystem(system)) return;
  current = system;
  try {
    store?.setItem(UNITS_KEY, system);
  } catch {
    // Only the memory of the choice is lost.
  }
  for (const l of listeners) l(system);
}

/** The remembered unit system, or degrees. */
export function loadUnitSystem(store: Pick<Storage, 'getItem'> | null): UnitSystem {
  try {
    const v = store?.getItem(UNITS_KEY);
    return isUnitSystem(v) ? v : 'degrees';
  } catch {
    return 'degrees';
  }
}

/** Calls `listener` after every switch of the unit system. */
export function onUnitSystem(listener: (s: UnitSystem) => void): void {
  listeners.push(listener);
}

/** Angle and speed as shown now. */
export const angleShown = (): Shown => shownFor(current, 'angle');
export const speedShown = (): Shown => shownFor(current, 'speed');

/** The units a CSV export is written in for `system`: angles and speeds as every view
 * shows them (counts, having no one scale for a whole export, as degrees and rpm, like the
 * chart's axes), or none — SI as stored — when `keepSi` or the system is radians. */
export function exportUnits(system: UnitSystem, keepSi: boolean): { siUnit: string; unit: string; perSi: number }[] {
  if (keepSi || system === 'radians') return [];
  return (['angle', 'speed'] as const).map((q) => {
    const shown = shownFor(system, q);
    return { siUnit: q === 'angle' ? 'rad' : 'rad/s', unit: shown.unit, perSi: shown.toShown(1) };
  });
}
