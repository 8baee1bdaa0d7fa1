// Where the chart's data comes from, and when to ask for more. No DOM, no timers: the
// page asks `request()` once per animation frame (only while no request is in flight),
// runs it against the backend and hands the answer to `accept()`.
//
// - live: following the live edge. The store's tail, by per-channel cursor, appended to
//   buffers trimmed to the window; the view is [edge − window, edge].
// - paused: the view stays where it was (data keeps being recorded). Zoom and pan are
//   allowed; any range not already on screen is fetched as a decimated window.
// - captured: a trigger fired; the view is frozen on [t − pre, t + post], fetched as a
//   window from the store.
// A past session (replay) is never live: it opens paused over its whole length.
import { SeriesBuffer } from '../buffer';
import type { TailBatch, TailCursor } from '../backend/types';
import { advanceCursor } from '../backend/tail';
import type { ChartChannel } from './channels';
import { TriggerDetector } from './trigger';

export type FeedMode = 'live' | 'paused' | 'captured';
export type Points = { t: Float64Array; v: Float64Array };

export type FeedRequest =
  | { kind: 'tail'; generation: number; session: number; channels: number[]; cursor: TailCursor; sinceS?: number }
  | { kind: 'window'; generation: number; session: number; channels: number[]; fromS: number; toS: number; widthPx: number; key: string };

/** The smallest range a zoom may reach, s. */
export const MIN_SPAN_S = 0.01;

export class ChartFeed {
  session: number | null = null;
  channels: ChartChannel[] = [];
  mode: FeedMode = 'live';
  /** A past session: no tail, its whole length in reach. */
  replay = false;
  /** Replay: the session's length, s. */
  endS = 0;
  windowSeconds = 10;
  trigger: TriggerDetector | null = null;
  /** Set whenever what `view()` returns changed; the page clears it after drawing. */
  dirty = true;
  /** Where a fresh live view starts (s since the session started), if known. */
  liveStart: () => number | undefined = () => undefined;

  private generation = 0;
  private buffers = new Map<number, SeriesBuffer>();
  private cursor: TailCursor = new Map();
  private edge: number | null = null;
  private range: [number, number] | null = null;
  private windowData = new Map<number, Points>();
  private fetchedKey = '';

  /** Shows `channels` of `session`: live (following), or a past session (replay). */
  setSource(session: number, channels: ChartChannel[], replay: { endS: number } | null): void {
    this.session = session;
    this.replay = replay !== null;
    this.endS = replay?.endS ?? 0;
    this.trigger = null;
    this.edge = null;
    this.channels = channels;
    if (replay) {
      this.mode = 'paused';
      this.range = [0, Math.max(this.endS, MIN_SPAN_S)];
    } else {
      this.mode = 'live';
      this.range = null;
    }
    this.reset();
  }

  /** Other channels of the same session; the view keeps its range and mode. */
  setChannels(channels: ChartChannel[]): void {
    this.channels = channels;
    if (this.mode === 'live') this.reset();
    else {
      this.generation++;
      this.fetchedKey = '';
      this.dirty = true;
    }
  }

  setWindowSeconds(seconds: number): void {
    this.windowSeconds = seconds;
    if (this.mode === 'live') this.reset();
  }

  private reset(): void {
    this.generation++;
    this.buffers = new Map(this.channels.map((c) => [c.id, new SeriesBuffer()]));
    this.cursor = new Map();
    this.windowData = new Map();
    this.fetchedKey = '';
    this.dirty = true;
  }

  /** The last live time seen (s since the session started). */
  liveEdge(): number | null {
    return this.edge;
  }

  /** What to ask the backend for now, if anything. */
  request(widthPx: number): FeedRequest | null {
    if (this.session === null || this.channels.length === 0) return null;
    const channels = this.channels.map((c) => c.id);
    if (this.mode === 'live') {
      const req: FeedRequest = { kind: 'tail', generation: this.generation, session: this.session, channels, cursor: this.cursor };
      if (this.cursor.size === 0) {
        const since = this.liveStart();
        if (since !== undefined) req.sinceS = Math.max(0, since);
      }
      return req;
    }
    const range = this.range;
    if (!range) return null;
    const width = Math.max(1, Math.min(16384, Math.round(widthPx)));
    const key = `${range[0]}|${range[1]}|${width}|${channels.join(',')}`;
    if (key === this.fetchedKey) return null;
    return { kind: 'window', generation: this.generation, session: this.session, channels, fromS: range[0], toS: range[1], widthPx: width, key };
  }

  /** Takes the answer to `req` (answers to an outdated request are dropped). */
  accept(req: FeedRequest, batch: TailBatch): void {
    if (req.generation !== this.generation) return;
    if (req.kind === 'window') {
      this.windowData = new Map(batch.series.map((s) => [s.channel, { t: s.t, v: s.v }]));
      this.fetchedKey = req.key;
      this.dirty = true;
      return;
    }
    if (this.mode !== 'live') return; // paused meanwhile: the view stays
    this.cursor = advanceCursor(this.cursor, batch);
    let grew = false;
    for (const s of batch.series) {
      const buffer = this.buffers.get(s.channel);
      if (!buffer || s.t.length === 0) continue;
      buffer.append(s.t, s.v);
      grew = true;
      const last = s.t[s.t.length - 1];
      if (this.edge === null || last > this.edge) this.edge = last;
      const trigger = this.trigger;
      if (trigger && trigger.spec.kind === 'level' && trigger.spec.channel === s.channel) trigger.feed(s.t, s.v);
    }
    if (!grew) return;
    const edge = this.edge as number;
    for (const b of this.buffers.values()) b.trimBefore(edge - this.windowSeconds);
    this.dirty = true;
    if (this.trigger && this.trigger.complete(edge)) this.capture();
  }

  /** A request failed: a window is not asked again until the view changes (a tail is
   * retried next frame). */
  failed(req: FeedRequest): void {
    if (req.kind === 'window' && req.generation === this.generation) this.fetchedKey = req.key;
  }

  /** Arms a trigger from now (the live edge); the view follows live until it fires. */
  arm(trigger: (armedAtS: number) => TriggerDetector): TriggerDetector {
    if (this.mode !== 'live') this.follow();
    this.trigger = trigger(this.edge ?? 0);
    this.dirty = true;
    return this.trigger;
  }

  disarm(): void {
    this.trigger = null;
    this.dirty = true;
  }

  /** A fault at `t` fires an armed fault trigger. */
  fault(t: number): void {
    const trigger = this.trigger;
    if (!trigger || trigger.spec.kind !== 'fault' || !trigger.fire(t)) return;
    if (this.edge !== null && trigger.complete(this.edge)) this.capture();
  }

  private capture(): void {
    const range = this.trigger?.captureRange();
    if (!range) return;
    this.mode = 'captured';
    this.range = range;
    this.generation++;
    this.fetchedKey = '';
    this.dirty = true;
  }

  /** Stops following; the view stays. */
  pause(): void {
    if (this.mode !== 'live') return;
    const range = this.visibleRange();
    this.mode = 'paused';
    this.range = range;
    // What is on screen stays on screen: the live buffers become the window's data.
    this.windowData = new Map([...this.buffers].map(([id, b]) => [id, { t: b.times().slice(), v: b.values().slice() }]));
    this.fetchedKey = ''; // then the same range comes from the store, as any paused view
    this.dirty = true;
  }

  /** Back to the live edge (a replay stays on its session: shows it whole). */
  follow(): void {
    if (this.replay) {
      this.zoomTo(0, Math.max(this.endS, MIN_SPAN_S));
      return;
    }
    this.mode = 'live';
    this.range = null;
    this.reset();
  }

  /** Shows [from, to]; stops following. */
  zoomTo(from: number, to: number): void {
    if (!(Number.isFinite(from) && Number.isFinite(to))) return;
    if (to < from) [from, to] = [to, from];
    if (to - from < MIN_SPAN_S) {
      const mid = (from + to) / 2;
      from = mid - MIN_SPAN_S / 2;
      to = mid + MIN_SPAN_S / 2;
    }
    if (from < 0) {
      to -= from;
      from = 0;
    }
    if (this.mode === 'live') this.pause();
    if (this.mode === 'captured') this.mode = 'paused';
    this.range = [from, to];
    this.dirty = true;
  }

  /** Zooms by `factor` (< 1: in) around `center` (default: the middle). */
  zoomBy(factor: number, center?: number): void {
    const range = this.visibleRange();
    if (!range) return;
    const c = center ?? (range[0] + range[1]) / 2;
    this.zoomTo(c - (c - range[0]) * factor, c + (range[1] - c) * factor);
  }

  /** Moves the view by `fraction` of its width (negative: back in time). */
  panBy(fraction: number): void {
    const range = this.visibleRange();
    if (!range) return;
    const d = (range[1] - range[0]) * fraction;
    this.zoomTo(range[0] + d, range[1] + d);
  }

  /** Centres the view on `t`, keeping its width (the replay's playhead). */
  centerOn(t: number): void {
    const range = this.visibleRange();
    if (!range) return;
    const half = (range[1] - range[0]) / 2;
    this.zoomTo(t - half, t + half);
  }

  /** The time range on screen, s since the session started (null before any data). */
  visibleRange(): [number, number] | null {
    if (this.mode !== 'live') return this.range;
    if (this.edge === null) return null;
    return [Math.max(0, this.edge - this.windowSeconds), Math.max(this.edge, this.windowSeconds)];
  }

  /** The points to draw, per channel ID. */
  data(): Map<number, Points> {
    if (this.mode !== 'live') return this.windowData;
    return new Map([...this.buffers].map(([id, b]) => [id, { t: b.times(), v: b.values() }]));
  }
}
