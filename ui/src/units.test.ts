import { describe, expect, it } from 'vitest';
import {
  loadUnitSystem, onUnitSystem, quantityOf, readout, setUnitSystem, shownFor, shownRegister, shownTime, unitSystem, angleShown, exportUnits,
} from './units';

const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-9 * Math.max(1, Math.abs(b)));

describe('unit systems', () => {
  it('converts angles both ways in every system', () => {
    const quarter = Math.PI / 2;
    close(shownFor('degrees', 'angle').toShown(quarter), 90);
    close(shownFor('radians', 'angle').toShown(quarter), quarter);
    close(shownFor('turns', 'angle').toShown(quarter), 0.25);
    // XM430: 4096 counts per turn.
    close(shownFor('counts', 'angle', (2 * Math.PI) / 4096).toShown(quarter), 1024);
    for (const s of ['degrees', 'radians', 'turns'] as const) close(shownFor(s, 'angle').toSi(shownFor(s, 'angle').toShown(1.234)), 1.234);
    close(shownFor('counts', 'angle', 0.0015).toSi(1000), 1.5);
    expect(shownFor('degrees', 'angle').unit).toBe('°');
    expect(shownFor('turns', 'angle').unit).toBe('turn');
    expect(shownFor('counts', 'angle', 0.001).unit).toBe('counts');
  });

  it('converts speeds both ways in every system', () => {
    const oneRps = 2 * Math.PI;
    close(shownFor('degrees', 'speed').toShown(oneRps), 60);
    close(shownFor('radians', 'speed').toShown(oneRps), oneRps);
    close(shownFor('turns', 'speed').toShown(oneRps), 1);
    // XM430 velocity: 0.229 rpm per count.
    const perCount = 0.229 * (2 * Math.PI) / 60;
    close(shownFor('counts', 'speed', perCount).toShown(oneRps), 60 / 0.229);
    close(shownFor('turns', 'speed').toSi(2), 2 * oneRps);
    expect(shownFor('degrees', 'speed').unit).toBe('rpm');
    expect(shownFor('radians', 'speed').unit).toBe('rad/s');
    expect(shownFor('turns', 'speed').unit).toBe('rps');
    expect(shownFor('counts', 'speed', perCount).unit).toBe('counts/s');
  });

  it('falls back to degrees and rpm when counts have no scale', () => {
    expect(shownFor('counts', 'angle').unit).toBe('°');
    expect(shownFor('counts', 'speed', 0).unit).toBe('rpm');
    expect(shownFor('counts', 'speed', Number.NaN).unit).toBe('rpm');
  });

  it('shows times in µs, ms or s, whichever reads better', () => {
    const delay = shownTime(0.000508);
    expect(delay.unit).toBe('µs');
    close(delay.toShown(0.0005), 500);
    close(delay.toSi(500), 0.0005);
    expect(shownTime(2).unit).toBe('ms');
    close(shownTime(2).toShown(0.25), 250);
    expect(shownTime(60).unit).toBe('s');
    expect(shownTime(0).unit).toBe('s');
  });

  it('converts each register by its own unit, or to raw counts', () => {
    expect(quantityOf('rad')).toBe('angle');
    expect(quantityOf('rad/s')).toBe('speed');
    expect(quantityOf('s')).toBe('time');
    expect(quantityOf('A')).toBe('other');
    const limit = shownRegister('degrees', 'rad', 0.001534, 6.28);
    expect(limit.unit).toBe('°');
    close(limit.toShown(Math.PI), 180);
    const delay = shownRegister('degrees', 's', 2e-6, 0.000508);
    expect(delay.unit).toBe('µs');
    close(delay.toShown(0.0005), 500);
    expect(shownRegister('turns', 'rad/s', 0.024, 30).unit).toBe('rps');
    const amps = shownRegister('radians', 'A', 0.00269, 3.2);
    expect(amps.unit).toBe('A');
    close(amps.toShown(1.5), 1.5);
    const raw = shownRegister('counts', 's', 2e-6, 0.000508);
    expect(raw.unit).toBe('counts');
    close(raw.toShown(0.0005), 250);
    close(raw.toSi(250), 0.0005);
    expect(shownRegister('counts', '', 0, 1).unit).toBe('');
  });

  it('remembers the system chosen and tells the views', () => {
    const m = new Map<string, string>();
    const store = { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
    expect(loadUnitSystem(store)).toBe('degrees');
    const seen: string[] = [];
    onUnitSystem((s) => seen.push(s));
    setUnitSystem('turns', store);
    expect(unitSystem()).toBe('turns');
    expect(angleShown().unit).toBe('turn');
    expect(loadUnitSystem(store)).toBe('turns');
    expect(seen).toEqual(['turns']);
    m.set('drivedeck.units', 'furlongs');
    expect(loadUnitSystem(store)).toBe('degrees');
    setUnitSystem('degrees', store);
  });

  it('formats readouts without -0', () => {
    expect(readout(-0.001, 1, '°')).toBe('0.0°');
    expect(readout(null, 1, '°')).toBe('—');
  });
});

describe('the units of a CSV export', () => {
  it('follow the system shown: degrees and rpm, turns and rps', () => {
    const deg = exportUnits('degrees', false);
    expect(deg.map((u) => [u.siUnit, u.unit])).toEqual([['rad', '°'], ['rad/s', 'rpm']]);
    expect(deg[0].perSi).toBeCloseTo(180 / Math.PI, 12);
    expect(deg[1].perSi).toBeCloseTo(60 / (2 * Math.PI), 12);
    const turns = exportUnits('turns', false);
    expect(turns.map((u) => [u.unit, u.perSi])).toEqual([['turn', 1 / (2 * Math.PI)], ['rps', 1 / (2 * Math.PI)]]);
  });

  it('are SI as stored when asked, in radians, and as degrees for counts (no one scale)', () => {
    expect(exportUnits('degrees', true)).toEqual([]);
    expect(exportUnits('radians', false)).toEqual([]);
    expect(exportUnits('counts', false).map((u) => u.unit)).toEqual(['°', 'rpm']);
  });
});
