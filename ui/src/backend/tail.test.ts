import { describe, expect, it } from 'vitest';
import { decodeTail, encodeTail } from './tail';

describe('decodeTail', () => {
  it('decodes the layout the Rust store writes', () => {
    // Built byte by byte as src-tauri/crates/store/src/tail.rs lays it out.
    const buffer = new ArrayBuffer(16 + 8 + 2 * 16);
    const view = new DataView(buffer);
    view.setUint32(0, 2, true); // cursor lo
    view.setUint32(4, 1, true); // cursor hi → 2^32 + 2
    view.setUint32(8, 1, true); // one series
    view.setUint32(16, 7, true); // channel 7
    view.setUint32(20, 2, true); // two samples
    view.setFloat64(24, 0.5, true);
    view.setFloat64(32, 1.0, true);
    view.setFloat64(40, -1.25, true);
    view.setFloat64(48, 3.0, true);
    const batch = decodeTail(buffer);
    expect(batch.cursor).toBe(2 ** 32 + 2);
    expect(batch.series).toHaveLength(1);
    expect(batch.series[0].channel).toBe(7);
    expect(Array.from(batch.series[0].t)).toEqual([0.5, 1.0]);
    expect(Array.from(batch.series[0].v)).toEqual([-1.25, 3.0]);
    // Views on the same buffer: nothing copied.
    expect(batch.series[0].t.buffer).toBe(buffer);
  });

  it('round-trips several series and an empty batch', () => {
    const input = { cursor: 42, series: [{ channel: 1, t: [1, 2, 3], v: [4, 5, 6] }, { channel: 9, t: [7], v: [8] }] };
    const out = decodeTail(encodeTail(input));
    expect(out.cursor).toBe(42);
    expect(out.series.map((s) => [s.channel, Array.from(s.t), Array.from(s.v)])).toEqual([
      [1, [1, 2, 3], [4, 5, 6]],
      [9, [7], [8]],
    ]);
    expect(decodeTail(encodeTail({ cursor: 0, series: [] }))).toEqual({ cursor: 0, series: [] });
  });

  it('refuses truncated or padded buffers with a clear error', () => {
    const good = encodeTail({ cursor: 1, series: [{ channel: 1, t: [1, 2], v: [3, 4] }] });
    expect(() => decodeTail(good.slice(0, 8))).toThrow(/too short/);
    expect(() => decodeTail(good.slice(0, good.byteLength - 8))).toThrow(/truncated/);
    const padded = new Uint8Array(good.byteLength + 8);
    padded.set(new Uint8Array(good));
    expect(() => decodeTail(padded.buffer)).toThrow(/stray/);
  });
});
