import { describe, expect, it } from 'vitest';
import { LABEL_PX, niceStep, tickCount, tickLabels, yTicks } from './ticks';

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
