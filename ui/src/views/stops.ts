// The stop banner: every stop the supervisor or a link made (heartbeat lost, link lost,
// bus watchdog …) stays on screen with its reason and time until the user acknowledges
// it. It reads the journal like every other view: safe-stop jobs of this run, their
// reason column. A stop the user made (E-stop) is the user's own and needs no banner.
import type { Backend } from '../backend/index';
import type { JobView } from '../backend/types';

export type Stop = { job: number; reason: string; atMs: number };

/** The stops among `jobs` not yet acknowledged, oldest first. */
export function unacknowledged(jobs: JobView[], acknowledged: Set<number>): Stop[] {
  return jobs
    .filter((j) => j.command === 'safeStop' && !acknowledged.has(j.id))
    .map((j) => ({ job: j.id, reason: j.reason?.trim() || 'safe stop (no reason recorded)', atMs: j.queuedAtMs }))
    .sort((a, b) => a.atMs - b.atMs || a.job - b.job);
}

/** "14:03:07": a stop's wall-clock time. */
export const clockTime = (ms: number): string => new Date(ms).toLocaleTimeString('en-GB', { hour12: false });

export class StopBanner {
  private readonly acknowledged = new Set<number>();
  private stops: Stop[] = [];

  /** `sinceMs`: stops older than this run are history, in the journal only. */
  constructor(private readonly root: HTMLElement, private readonly backend: Backend, private readonly sinceMs: number) {
    root.setAttribute('role', 'alert');
    root.hidden = true;
    root.addEventListener('click', (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-ack]');
      if (!button) return;
      this.acknowledge(Number(button.dataset.ack));
    });
  }

  /** The stops shown now. */
  get shown(): Stop[] {
    return this.stops;
  }

  async refresh(): Promise<void> {
    const jobs = await this.backend.jobs({ command: 'safeStop', sinceMs: this.sinceMs, limit: 50 });
    const next = unacknowledged(jobs, this.acknowledged);
    if (next.map((s) => s.job).join() === this.stops.map((s) => s.job).join()) return;
    this.stops = next;
    this.paint();
  }

  acknowledge(job: number): void {
    this.acknowledged.add(job);
    this.stops = this.stops.filter((s) => s.job !== job);
    this.paint();
  }

  private paint(): void {
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
    this.root.hidden = this.stops.length === 0;
    this.root.innerHTML = this.stops
      .map((s) => `<div class="stop" data-job="${s.job}"><b>Drives stopped</b> at ${clockTime(s.atMs)}: <span class="stop-reason">${esc(s.reason)}</span>
        <button data-ack="${s.job}" title="Acknowledge: hide this notice (the journal keeps it)">OK</button></div>`)
      .join('');
  }
}
