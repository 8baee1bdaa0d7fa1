import { describe, expect, it } from 'vitest';
import { cursorReadouts, lowerBound, valueAt } from './cursors';
import type { ChartChannel } from './channels';

const f64 = (xs: number[]) => Float64Array.from(xs);

describe('cursors', () => {
  it('finds values between samples by linear interpolation, never outside them', () => {
    const p = { t: f64([0, 1, 2, 4]), v: f64([0, 10, 30, 30]) };
    expect(valueAt(p, 0)).toBe(0);
    expect(valueAt(p, 0.5)).toBe(5);
    expect(valueAt(p, 1.5)).toBe(20);
    expect(valueAt(p, 2)).toBe(30);
    expect(valueAt(p, 4)).toBe(30);
    expect(valueAt(p, -0.1)).toBeNull();
    expect(valueAt(p, 4.1)).toBeNull();
    expect(valueAt({ t: f64([]), v: f64([]) }, 0)).toBeNull();
    expect(lowerBound(p.t, 3)).toBe(3);
  });

  it('reads each channel at A and B in display units, with deltas and the time between', () => {
    const position: ChartChannel = { id: 1, drive: { link: 1, id: 1 }, name: 'position' };
    const velocity: ChartChannel = { id: 2, drive: { link: 1, id: 2 }, name: 'velocity' };
    const data = new Map([
      [1, { t: f64([0, 1, 2]), v: f64([0, Math.PI / 2, Math.PI]) }], // rad
      [2, { t: f64([0, 2]), v: f64([0, 2 * Math.PI]) }], // rad/s
    ]);
    const r = cursorReadouts([position, velocity], data, 0.5, 2);
    expect(r.dt).toBe(1.5);
    expect(r.hz).toBeCloseTo(1 / 1.5, 12);
    const [p, v] = r.rows;
    expect(p.unit).toBe('°');
    expect(p.a).toBeCloseTo(45, 9);
    expect(p.b).toBeCloseTo(180, 9);
    expect(p.delta).toBeCloseTo(135, 9);
    expect(v.unit).toBe('rpm');
    expect(v.a).toBeCloseTo(15, 9); // π/2 rad/s = 15 rpm
    expect(v.delta).toBeCloseTo(45, 9);
  });

  it('leaves out what a missing cursor or channel cannot give', () => {
    const c: ChartChannel = { id: 7, drive: { link: 1, id: 1 }, name: 'current' };
    const only = cursorReadouts([c], new Map([[7, { t: f64([0, 1]), v: f64([1, 3]) }]]), 0.5, null);
    expect(only.rows[0]).toMatchObject({ a: 2, b: null, delta: null });
    expect(only.dt).toBeNull();
    expect(only.hz).toBeNull();
    const none = cursorReadouts([c], new Map(), 0.5, 0.7);
    expect(none.rows[0]).toMatchObject({ a: null, b: null, delta: null });
    expect(none.dt).toBeCloseTo(0.2, 12);
  });
});
