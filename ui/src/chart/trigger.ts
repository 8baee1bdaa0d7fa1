// Triggered capture, as on a scope: armed on a channel crossing a level (rising or
// falling) or on a drive's fault; when it fires at t, the chart freezes on
// [t − pre, t + post] once the live edge has passed t + post. The samples around the
// trigger come from the store, so the pre-trigger part needs no buffer of its own.

export type Edge = 'rising' | 'falling';
export type TriggerSpec =
  | { kind: 'level'; channel: number; level: number; edge: Edge; preS: number; postS: number }
  | { kind: 'fault'; preS: number; postS: number };

/** Why a trigger setting is unusable, or null. */
export function checkTrigger(spec: TriggerSpec): string | null {
  if (!(Number.isFinite(spec.preS) && spec.preS >= 0 && spec.preS <= 600)) return 'Pre-trigger must be 0 – 600 s';
  if (!(Number.isFinite(spec.postS) && spec.postS >= 0 && spec.postS <= 600)) return 'Post-trigger must be 0 – 600 s';
  if (spec.preS + spec.postS <= 0) return 'Pre + post must be more than 0 s';
  if (spec.kind === 'level' && !Number.isFinite(spec.level)) return 'Enter a trigger level';
  return null;
}

export class TriggerDetector {
  /** When it fired (s since the session started), or null while armed. */
  firedAt: number | null = null;
  private last: { t: number; v: number } | null = null;

  /** Armed at `armedAtS`: crossings before it do not count. */
  constructor(readonly spec: TriggerSpec, readonly armedAtS: number) {}

  /** Scans new samples of the trigger channel (in time order, any batch size); returns
   * the trigger time when this batch fires it. The time is where the line between the
   * two samples crosses the level. */
  feed(t: ArrayLike<number>, v: ArrayLike<number>): number | null {
    if (this.firedAt !== null || this.spec.kind !== 'level') return null;
    const { level, edge } = this.spec;
    const n = Math.min(t.length, v.length);
    for (let i = 0; i < n; i++) {
      const cur = { t: t[i], v: v[i] };
      const prev = this.last;
      this.last = cur;
      if (!prev || cur.t < this.armedAtS || !Number.isFinite(cur.v) || !Number.isFinite(prev.v)) continue;
      const crossed = edge === 'rising' ? prev.v < level && cur.v >= level : prev.v > level && cur.v <= level;
      if (crossed) {
        const f = (level - prev.v) / (cur.v - prev.v);
        this.firedAt = Math.max(this.armedAtS, prev.t + f * (cur.t - prev.t));
        return this.firedAt;
      }
    }
    return null;
  }

  /** Fires from outside (a fault), unless it already fired or `t` is before arming. */
  fire(t: number): boolean {
    if (this.firedAt !== null || t < this.armedAtS) return false;
    this.firedAt = t;
    return true;
  }

  /** The range to freeze on once fired: [t − pre, t + post] (not before 0). */
  captureRange(): [number, number] | null {
    if (this.firedAt === null) return null;
    return [Math.max(0, this.firedAt - this.spec.preS), this.firedAt + this.spec.postS];
  }

  /** True once it fired and the live edge has reached the end of the capture. */
  complete(liveEdgeS: number): boolean {
    const range = this.captureRange();
    return range !== null && liveEdgeS >= range[1];
  }
}
