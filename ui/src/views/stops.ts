// The stop banner: every stop DriveDeck did not make at the user's word — the supervisor's
// safe stops (heartbeat lost …), a link lost (its drives' own Bus Watchdog stops them) and
// a tuning run aborted by anything but the user's Abort — stays on screen with its reason
// and time until the user acknowledges it. The backend gathers them from the journal, the
// link gaps and the runs (`stop_notices`); a stop the user made (E-stop, Abort) is the
// user's own and needs no banner.
import type { Backend } from '../backend/index';
import type { StopNotice } from '../backend/types';

export type Stop = { key: string; kind: string; reason: string; atMs: number };

/** The notices not yet acknowledged, oldest first. */
export function unacknowledged(notices: StopNotice[], acknowledged: Set<string>): Stop[] {
  return notices
    .filter((n) => !acknowledged.has(n.key))
    .map((n) => ({ key: n.key, kind: n.kind, reason: n.reason.trim() || 'safe stop (no reason recorded)', atMs: n.atMs }))
    .sort((a, b) => a.atMs - b.atMs || a.key.localeCompare(b.key));
}

/** "14:03:07": a stop's wall-clock time. */
export const clockTime = (ms: number): string => new Date(ms).toLocaleTimeString('en-GB', { hour12: false });

/** The banner's heading for each kind of stop. */
const HEADINGS: Record<string, string> = { safeStop: 'Drives stopped', linkLost: 'Link lost', testAborted: 'Test aborted' };

export class StopBanner {
  private readonly acknowledged = new Set<string>();
  private stops: Stop[] = [];

  /** `sinceMs`: stops older than this run are history, in the journal only. */
  constructor(private readonly root: HTMLElement, private readonly backend: Backend, private readonly sinceMs: number) {
    root.setAttribute('role', 'alert');
    root.hidden = true;
    root.addEventListener('click', (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-ack]');
      if (!button) return;
      this.acknowledge(button.dataset.ack!);
    });
  }

  /** The stops shown now. */
  get shown(): Stop[] {
    return this.stops;
  }

  async refresh(): Promise<void> {
    const next = unacknowledged(await this.backend.stopNotices(this.sinceMs), this.acknowledged);
    if (next.map((s) => s.key).join() === this.stops.map((s) => s.key).join()) return;
    this.stops = next;
    this.paint();
  }

  acknowledge(key: string): void {
    this.acknowledged.add(key);
    this.stops = this.stops.filter((s) => s.key !== key);
    this.paint();
  }

  private paint(): void {
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
    this.root.hidden = this.stops.length === 0;
    this.root.innerHTML = this.stops
      .map((s) => `<div class="stop" data-key="${esc(s.key)}" data-kind="${esc(s.kind)}"><b>${HEADINGS[s.kind] ?? 'Drives stopped'}</b> at ${clockTime(s.atMs)}: <span class="stop-reason">${esc(s.reason)}</span>
        <button data-ack="${esc(s.key)}" title="Acknowledge: hide this notice (the journal keeps it)">OK</button></div>`)
      .join('');
  }
}
