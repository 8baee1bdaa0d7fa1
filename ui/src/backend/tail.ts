// Decodes the binary tail batch (see src-tauri/crates/store/src/tail.rs):
//   [0..8) u64 cursor, [8..12) u32 series count, [12..16) reserved,
//   then per series: u32 channel, u32 n, f64 t[n], f64 v[n] — little-endian, 8-aligned,
// so the samples are Float64Array views on the buffer, not copies.
import type { TailBatch, TailSeries } from './types';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function decodeTail(buffer: ArrayBuffer): TailBatch {
  if (buffer.byteLength < 16) {
    throw new Error(`tail batch too short: ${buffer.byteLength} bytes`);
  }
  const view = new DataView(buffer);
  const cursor = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  const count = view.getUint32(8, true);
  const series: TailSeries[] = [];
  let offset = 16;
  for (let i = 0; i < count; i++) {
    if (offset + 8 > buffer.byteLength) throw new Error(`tail batch truncated in series ${i} header`);
    const channel = view.getUint32(offset, true);
    const n = view.getUint32(offset + 4, true);
    offset += 8;
    const bytes = n * 8;
    if (offset + 2 * bytes > buffer.byteLength) {
      throw new Error(`tail batch truncated in series ${i}: ${n} samples announced`);
    }
    if (LITTLE_ENDIAN) {
      series.push({
        channel,
        t: new Float64Array(buffer, offset, n),
        v: new Float64Array(buffer, offset + bytes, n),
      });
    } else {
      const t = new Float64Array(n);
      const v = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        t[k] = view.getFloat64(offset + 8 * k, true);
        v[k] = view.getFloat64(offset + bytes + 8 * k, true);
      }
      series.push({ channel, t, v });
    }
    offset += 2 * bytes;
  }
  if (offset !== buffer.byteLength) {
    throw new Error(`tail batch has ${buffer.byteLength - offset} stray bytes`);
  }
  return { cursor, series };
}

/** Builds a batch in the wire format (for the fake backend and tests). */
export function encodeTail(batch: { cursor: number; series: { channel: number; t: ArrayLike<number>; v: ArrayLike<number> }[] }): ArrayBuffer {
  const size = 16 + batch.series.reduce((s, x) => s + 8 + 16 * x.t.length, 0);
  const buffer = new ArrayBuffer(size);
  const view = new DataView(buffer);
  view.setUint32(0, batch.cursor % 2 ** 32, true);
  view.setUint32(4, Math.floor(batch.cursor / 2 ** 32), true);
  view.setUint32(8, batch.series.length, true);
  let offset = 16;
  for (const s of batch.series) {
    view.setUint32(offset, s.channel, true);
    view.setUint32(offset + 4, s.t.length, true);
    offset += 8;
    for (let k = 0; k < s.t.length; k++) view.setFloat64(offset + 8 * k, s.t[k], true);
    offset += 8 * s.t.length;
    for (let k = 0; k < s.v.length; k++) view.setFloat64(offset + 8 * k, s.v[k], true);
    offset += 8 * s.v.length;
  }
  return buffer;
}
