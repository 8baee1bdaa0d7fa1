// The chart's only buffer: per-channel arrays of (t, v) appended from store tail batches
// and trimmed to the visible window. Growable Float64Arrays, so appending a frame's worth
// of samples does not allocate per value.

export class SeriesBuffer {
  private t: Float64Array;
  private v: Float64Array;
  private start = 0;
  private end = 0;

  constructor(capacity = 4096) {
    this.t = new Float64Array(capacity);
    this.v = new Float64Array(capacity);
  }

  get length(): number {
    return this.end - this.start;
  }

  /** Appends samples (times must not go backwards). */
  append(t: ArrayLike<number>, v: ArrayLike<number>): void {
    const n = Math.min(t.length, v.length);
    if (n === 0) return;
    if (this.end + n > this.t.length) this.compact(n);
    for (let i = 0; i < n; i++) {
      this.t[this.end + i] = t[i];
      this.v[this.end + i] = v[i];
    }
    this.end += n;
  }

  /** Drops samples older than `tMin`. */
  trimBefore(tMin: number): void {
    while (this.start < this.end && this.t[this.start] < tMin) this.start++;
  }

  /** Views (no copy) of the live part. */
  times(): Float64Array {
    return this.t.subarray(this.start, this.end);
  }

  values(): Float64Array {
    return this.v.subarray(this.start, this.end);
  }

  last(): { t: number; v: number } | null {
    return this.length === 0 ? null : { t: this.t[this.end - 1], v: this.v[this.end - 1] };
  }

  clear(): void {
    this.start = 0;
    this.end = 0;
  }

  private compact(extra: number): void {
    const live = this.length;
    const needed = live + extra;
    let capacity = this.t.length;
    while (capacity < needed * 1.5) capacity *= 2;
    const t = capacity === this.t.length ? this.t : new Float64Array(capacity);
    const v = capacity === this.v.length ? this.v : new Float64Array(capacity);
    // set() copies correctly even when source and target share a buffer.
    t.set(this.t.subarray(this.start, this.end));
    v.set(this.v.subarray(this.start, this.end));
    this.t = t;
    this.v = v;
    this.start = 0;
    this.end = live;
  }
}
