import { describe, expect, it } from 'vitest';
import { parseTarget, rangeText } from './validate';
import { degToRad, radSToRpm, rpmToRadS } from './units';
import type { DriveView } from './backend/types';

const position: Pick<DriveView, 'mode' | 'positionLimits' | 'velocityLimit'> = {
  mode: 'position',
  positionLimits: [0, 2 * Math.PI],
  velocityLimit: rpmToRadS(45.8),
};
const velocity = { ...position, mode: 'velocity' as const };

describe('parseTarget', () => {
  it('asks for a target when empty', () => {
    expect(parseTarget('', position)).toEqual({ ok: false, message: 'Enter a target' });
    expect(parseTarget('   ', position)).toEqual({ ok: false, message: 'Enter a target' });
  });

  it.each(['abc', 'NaN', 'Infinity', '-Infinity', '1e999', '0x10', '1,5', '12abc', '--1'])('refuses %s as not a number', (text) => {
    expect(parseTarget(text, position)).toEqual({ ok: false, message: 'Not a number' });
  });

  it('refuses values outside the range on both sides, naming the range', () => {
    expect(parseTarget('360.5', position)).toEqual({ ok: false, message: 'Out of range: 0 – 360 °' });
    expect(parseTarget('-0.1', position)).toEqual({ ok: false, message: 'Out of range: 0 – 360 °' });
    expect(parseTarget('46', velocity)).toEqual({ ok: false, message: 'Out of range: -45.8 – 45.8 rpm' });
    expect(parseTarget('-46', velocity)).toMatchObject({ ok: false });
  });

  it('converts degrees to radians and rpm to rad/s', () => {
    expect(parseTarget('90', position)).toEqual({ ok: true, target: { position: degToRad(90) } });
    expect(parseTarget(' 360 ', position)).toEqual({ ok: true, target: { position: 2 * Math.PI } });
    const spin = parseTarget('-30', velocity);
    expect(spin.ok && 'velocity' in spin.target && spin.target.velocity).toBeCloseTo(rpmToRadS(-30), 12);
    expect(radSToRpm(rpmToRadS(12.5))).toBeCloseTo(12.5, 12);
  });

  it('accepts the limit exactly as shown', () => {
    expect(parseTarget('45.8', velocity).ok).toBe(true);
    expect(parseTarget('0', position).ok).toBe(true);
  });

  it('describes the range in display units', () => {
    expect(rangeText(position)).toBe('0 – 360 °');
    expect(rangeText(velocity)).toBe('-45.8 – 45.8 rpm');
  });
});

describe('targets and soft limits in the unit system chosen', () => {
  it('reads a typed target in turns, radians or rps and sends SI', async () => {
    const { setUnitSystem } = await import('./units');
    const { parseSoftLimits } = await import('./validate');
    try {
      setUnitSystem('turns');
      expect(parseTarget('0.25', position)).toEqual({ ok: true, target: { position: Math.PI / 2 } });
      expect(rangeText(position)).toBe('0 – 1 turn');
      expect(parseTarget('1.5', position)).toMatchObject({ ok: false, message: 'Out of range: 0 – 1 turn' });
      const v = parseTarget('0.5', velocity);
      expect(v.ok && 'velocity' in v.target && v.target.velocity).toBeCloseTo(Math.PI, 12);
      setUnitSystem('radians');
      expect(parseTarget('3', position)).toEqual({ ok: true, target: { position: 3 } });
      expect(rangeText(position)).toBe('0 – 6.283 rad');
      const soft = parseSoftLimits('-1', '1', '2');
      expect(soft).toEqual({ ok: true, limits: { position: [-1, 1], velocity: 2 } });
    } finally {
      setUnitSystem('degrees');
    }
    expect(parseTarget('90', position)).toEqual({ ok: true, target: { position: degToRad(90) } });
  });
});
