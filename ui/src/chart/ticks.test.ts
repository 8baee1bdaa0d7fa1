import { describe, expect, it } from 'vitest';
import { LABEL_PX, niceStep, tickCount, tickLabels, yRange, yTicks } from './ticks';

const isNice = (step: number) => {
  const m = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
  return [1, 2, 5].some((n) => Math.abs(m - n) < 1e-6);
};

describe('y ticks', () => {
  it('gives at least four ticks with a 1/2/5 step on a 250 px panel', () => {
    for (const [min, max] of [[0, 90], [-0.3, 90.4], [89.5, 90.5], [-3000, 3000], [0, 0.0012], [-1, 1], [12.3, 12.31]]) {
      const ticks = yTicks(min, max, 250);
      expect(ticks.length, `${min}..${max}`).toBeGreaterThanOrEqual(4);
      expect(ticks.length).toBeLessThanOrEqual(Math.floor(250 / 16));
      const step = ticks[1] - ticks[0];
      expect(isNice(Number(step.toPrecision(6))), `${min}..${max} step ${step}`).toBe(true);
      for (const t of ticks) {
        expect(t).toBeGreaterThanOrEqual(min - 1e-9);
        expect(t).toBeLessThanOrEqual(max + 1e-9);
      }
    }
  });

  it('steps 0..90 on a tall panel by 10 or 20, not by 25 or 30', () => {
    const step = niceStep(0, 90, 300);
    expect([10, 20]).toContain(step);
    expect(yTicks(0, 90, 300)).toContain(0);
    expect(yTicks(0, 90, 300)).toContain(80);
  });

  it('shows min and max on a panel too short for four labels', () => {
    expect(yTicks(-1.5, 91.25, 50)).toEqual([-1.5, 91.25]);
    expect(tickLabels([-1.5, 91.25])).toEqual(['-1.5', '91.3']);
  });

  it('copes with a flat or empty range', () => {
    expect(yTicks(5, 5, 200)).toEqual([5]);
    expect(yTicks(NaN, 1, 200)).toEqual([]);
  });

  it('writes labels with the decimals their spacing needs and no -0', () => {
    expect(tickLabels([-0.1, 0, 0.1, 0.2])).toEqual(['-0.1', '0.0', '0.1', '0.2']);
    expect(tickLabels([0, 20, 40, 60, 80])).toEqual(['0', '20', '40', '60', '80']);
    expect(tickLabels([0.005, 0.01, 0.015])).toEqual(['0.005', '0.010', '0.015']);
  });

  it('counts ticks of a step inside a range', () => {
    expect(tickCount(0, 90, 20)).toBe(5);
    expect(tickCount(-0.3, 0.3, 0.1)).toBe(7);
  });
});

describe('a panel too short for four 1/2/5 ticks of its range', () => {
  it('shows the most ticks that fit, never more labels than fit', () => {
    // 0–100 on 79 px: four labels fit, but no 1/2/5 step gives exactly four.
    const ticks = yTicks(0, 100, 79);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks.length).toBeLessThanOrEqual(Math.floor(79 / LABEL_PX));
  });
});

describe('y range', () => {
  it('widens 0..100 on a panel that fits four or five labels to whole steps with four ticks', () => {
    for (const h of [64, 70, 79, 90]) {
      const [lo, hi] = yRange(0, 100, h);
      const ticks = yTicks(lo, hi, h);
      expect(ticks.length, `${h} px: ${lo}..${hi} → ${ticks}`).toBeGreaterThanOrEqual(4);
      expect(ticks.length).toBeLessThanOrEqual(Math.floor(h / LABEL_PX));
      expect(isNice(ticks[1] - ticks[0])).toBe(true);
      expect(lo).toBeLessThanOrEqual(0);
      expect(hi).toBeGreaterThanOrEqual(100);
    }
  });

  it('leaves data that already shows four ticks with a little headroom only', () => {
    expect(yRange(0, 90, 200)).toEqual([-4.5, 94.5]);
    const [lo, hi] = yRange(-1, 1, 120);
    expect(lo).toBeCloseTo(-1.1);
    expect(hi).toBeCloseTo(1.1);
  });

  it('gives four ticks for any span on a panel that fits them', () => {
    for (const [min, max] of [[0, 100], [0, 7], [-3, 41], [89.5, 90.5], [0, 0.0013], [-250, 1e4]]) {
      for (const h of [64, 72, 81, 95, 110, 300]) {
        const [lo, hi] = yRange(min, max, h);
        expect(lo).toBeLessThanOrEqual(min);
        expect(hi).toBeGreaterThanOrEqual(max);
        expect(yTicks(lo, hi, h).length, `${min}..${max} on ${h} px → ${lo}..${hi}`).toBeGreaterThanOrEqual(4);
      }
    }
  });

  it('keeps the data range on a panel too short for four labels, and centres a flat trace', () => {
    expect(yRange(0, 100, 50)).toEqual([-5, 105]);
    expect(yRange(90, 90, 200)).toEqual([85.5, 94.5]);
    expect(yRange(0, 0, 200)).toEqual([-1, 1]);
  });

  it('gives four ticks before any data and on a flat trace of a short panel', () => {
    for (const h of [64, 76, 90]) {
      for (const [min, max] of [[NaN, NaN], [0, 0], [90, 90], [-2.5, -2.5]]) {
        const [lo, hi] = yRange(min, max, h);
        const ticks = yTicks(lo, hi, h);
        expect(ticks.length, `${min}..${max} on ${h} px → ${lo}..${hi}: ${ticks}`).toBeGreaterThanOrEqual(4);
        expect(ticks.length).toBeLessThanOrEqual(Math.floor(h / LABEL_PX));
        if (Number.isFinite(min)) {
          expect(lo).toBeLessThan(min);
          expect(hi).toBeGreaterThan(max);
        }
      }
    }
    expect(yRange(NaN, NaN, 76)).toEqual([0, 1.5]);
  });
});
