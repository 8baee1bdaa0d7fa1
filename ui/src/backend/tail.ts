// Decodes the binary sample batches (see src-tauri/crates/store/src/tail.rs):
//   [0..4) u32 series count, [4..8) u32 kind (0 tail, 1 window),
//   then per series: u32 channel, u32 n, u32 level, u32 flags (bit 0: decimated),
//   u64 next (the channel's tail cursor), f64 t[n], f64 v[n] — little-endian, 8-aligned,
// so the samples are Float64Array views on the buffer, not copies.
import type { TailBatch, TailSeries } from './types';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HEADER = 8;
const SERIES_HEADER = 24;

export function decodeTail(buffer: ArrayBuffer): TailBatch {
  if (buffer.byteLength < HEADER) {
    throw new Error(`sample batch too short: ${buffer.byteLength} bytes`);
  }
  const view = new DataView(buffer);
  const count = view.getUint32(0, true);
  const window = view.getUint32(4, true) === 1;
  const series: TailSeries[] = [];
  let offset = HEADER;
  for (let i = 0; i < count; i++) {
    if (offset + SERIES_HEADER > buffer.byteLength) throw new Error(`sample batch truncated in series ${i} header`);
    const channel = view.getUint32(offset, true);
    const n = view.getUint32(offset + 4, true);
    const level = view.getUint32(offset + 8, true);
    const decimated = (view.getUint32(offset + 12, true) & 1) === 1;
    const next = view.getUint32(offset + 16, true) + view.getUint32(offset + 20, true) * 2 ** 32;
    offset += SERIES_HEADER;
    const bytes = n * 8;
    if (offset + 2 * bytes > buffer.byteLength) {
      throw new Error(`sample batch truncated in series ${i}: ${n} samples announced`);
    }
    let t: Float64Array;
    let v: Float64Array;
    if (LITTLE_ENDIAN) {
      t = new Float64Array(buffer, offset, n);
      v = new Float64Array(buffer, offset + bytes, n);
    } else {
      t = new Float64Array(n);
      v = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        t[k] = view.getFloat64(offset + 8 * k, true);
        v[k] = view.getFloat64(offset + bytes + 8 * k, true);
      }
    }
    series.push({ channel, t, v, next, level, decimated });
    offset += 2 * bytes;
  }
  if (offset !== buffer.byteLength) {
    throw new Error(`sample batch has ${buffer.byteLength - offset} stray bytes`);
  }
  return { window, series };
}

type SeriesInput = { channel: number; t: ArrayLike<number>; v: ArrayLike<number>; next?: number; level?: number; decimated?: boolean };

/** Builds a batch in the wire format (for the fake backend and tests). */
export function encodeTail(batch: { window?: boolean; series: SeriesInput[] }): ArrayBuffer {
  const size = HEADER + batch.series.reduce((s, x) => s + SERIES_HEADER + 16 * x.t.length, 0);
  const buffer = new ArrayBuffer(size);
  const view = new DataView(buffer);
  view.setUint32(0, batch.series.length, true);
  view.setUint32(4, batch.window ? 1 : 0, true);
  let offset = HEADER;
  for (const s of batch.series) {
    const next = s.next ?? 0;
    view.setUint32(offset, s.channel, true);
    view.setUint32(offset + 4, s.t.length, true);
    view.setUint32(offset + 8, s.level ?? 0, true);
    view.setUint32(offset + 12, s.decimated ? 1 : 0, true);
    view.setUint32(offset + 16, next % 2 ** 32, true);
    view.setUint32(offset + 20, Math.floor(next / 2 ** 32), true);
    offset += SERIES_HEADER;
    for (let k = 0; k < s.t.length; k++) view.setFloat64(offset + 8 * k, s.t[k], true);
    offset += 8 * s.t.length;
    for (let k = 0; k < s.v.length; k++) view.setFloat64(offset + 8 * k, s.v[k], true);
    offset += 8 * s.v.length;
  }
  return buffer;
}

/** The per-channel cursors a batch hands back, merged into `cursor`. */
export function advanceCursor(cursor: Map<number, number>, batch: TailBatch): Map<number, number> {
  const next = new Map(cursor);
  for (const s of batch.series) next.set(s.channel, s.next);
  return next;
}
