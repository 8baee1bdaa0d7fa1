import { describe, expect, it } from 'vitest';
import { advanceCursor, decodeTail, encodeTail } from './tail';

describe('decodeTail', () => {
  it('decodes the layout the Rust store writes', () => {
    // Built byte by byte as src-tauri/crates/store/src/tail.rs lays it out.
    const buffer = new ArrayBuffer(8 + 24 + 2 * 16);
    const view = new DataView(buffer);
    view.setUint32(0, 1, true); // one series
    view.setUint32(4, 0, true); // a tail batch
    view.setUint32(8, 7, true); // channel 7
    view.setUint32(12, 2, true); // two samples
    view.setUint32(16, 0, true); // level 0
    view.setUint32(20, 0, true); // not decimated
    view.setUint32(24, 2, true); // next lo
    view.setUint32(28, 1, true); // next hi → 2^32 + 2
    view.setFloat64(32, 0.5, true);
    view.setFloat64(40, 1.0, true);
    view.setFloat64(48, -1.25, true);
    view.setFloat64(56, 3.0, true);
    const batch = decodeTail(buffer);
    expect(batch.window).toBe(false);
    expect(batch.series).toHaveLength(1);
    expect(batch.series[0].channel).toBe(7);
    expect(batch.series[0].next).toBe(2 ** 32 + 2);
    expect(Array.from(batch.series[0].t)).toEqual([0.5, 1.0]);
    expect(Array.from(batch.series[0].v)).toEqual([-1.25, 3.0]);
    // Views on the same buffer: nothing copied.
    expect(batch.series[0].t.buffer).toBe(buffer);
  });

  it('round-trips several series, windows and an empty batch', () => {
    const input = {
      window: true,
      series: [
        { channel: 1, t: [1, 2, 3], v: [4, 5, 6], next: 0, level: 2, decimated: true },
        { channel: 9, t: [7], v: [8], next: 0, level: 0, decimated: false },
      ],
    };
    const out = decodeTail(encodeTail(input));
    expect(out.window).toBe(true);
    expect(out.series.map((s) => [s.channel, Array.from(s.t), Array.from(s.v), s.level, s.decimated])).toEqual([
      [1, [1, 2, 3], [4, 5, 6], 2, true],
      [9, [7], [8], 0, false],
    ]);
    expect(decodeTail(encodeTail({ series: [] }))).toEqual({ window: false, series: [] });
  });

  it('refuses truncated or padded buffers with a clear error', () => {
    const good = encodeTail({ series: [{ channel: 1, t: [1, 2], v: [3, 4], next: 2 }] });
    expect(() => decodeTail(good.slice(0, 4))).toThrow(/too short/);
    expect(() => decodeTail(good.slice(0, 16))).toThrow(/truncated in series 0 header/);
    expect(() => decodeTail(good.slice(0, good.byteLength - 8))).toThrow(/truncated/);
    const padded = new Uint8Array(good.byteLength + 8);
    padded.set(new Uint8Array(good));
    expect(() => decodeTail(padded.buffer)).toThrow(/stray/);
  });

  it('advances each channel cursor from the batch, keeping the others', () => {
    const batch = decodeTail(encodeTail({ series: [{ channel: 3, t: [1], v: [2], next: 11 }] }));
    const cursor = advanceCursor(new Map([[3, 10], [4, 7]]), batch);
    expect([...cursor.entries()]).toEqual([[3, 11], [4, 7]]);
  });
});
