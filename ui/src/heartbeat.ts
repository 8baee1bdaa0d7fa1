// Heartbeats tell the supervisor someone is watching the drives. The clock ticks in a Web
// Worker (heartbeat.worker.ts) so a hidden window keeps sending; each tick is answered on
// the page's main thread, so a hung or dead page stops them and the supervisor stops the
// drives within its timeout. Where workers are missing (tests, old webviews) a page timer
// stands in.

/** What ticks the heartbeat: a worker-like source of messages. */
export type TickSource = { onmessage: ((e: MessageEvent) => void) | null; terminate(): void };

export type Heartbeat = { stop(): void; readonly clock: 'worker' | 'page' };

/** The worker that ticks, or null where none can be made. */
export function heartbeatWorker(): TickSource | null {
  if (typeof Worker === 'undefined') return null;
  try {
    return new Worker(new URL('./heartbeat.worker.ts', import.meta.url), { type: 'module' });
  } catch {
    return null;
  }
}

/** Sends `send()` on every tick of `source` (or every `periodMs` of a page timer without
 * one); a heartbeat still in flight makes the next tick wait rather than pile up. */
export function startHeartbeat(send: () => Promise<void>, source: TickSource | null, periodMs = 100): Heartbeat {
  let busy = false;
  const beat = () => {
    if (busy) return;
    busy = true;
    send()
      .catch((e) => console.warn('heartbeat', e))
      .finally(() => (busy = false));
  };
  beat();
  if (source) {
    source.onmessage = () => beat();
    return { stop: () => source.terminate(), clock: 'worker' };
  }
  const timer = setInterval(beat, periodMs);
  return { stop: () => clearInterval(timer), clock: 'page' };
}
