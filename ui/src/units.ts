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
