// The job journal: every command with its state and timing (queued → sent → finished),
// filtered by session, drive, command, state and time. The filtering is done by the store
// (the `jobs` query); `journalMatches` states the same rules for the fake backend.
import type { Backend } from '../backend/index';
import type { DriveRef, JobQuery, JobState, JobView } from '../backend/types';
import { JOB_STATES } from '../backend/types';

/** Commands the bus knows today (the command filter also takes any other name). */
export const KNOWN_COMMANDS = ['arm', 'enable', 'disable', 'setMode', 'setTarget', 'jog', 'eStop', 'safeStop'];

/** What the filter bar says. `time`: any, the chart's visible range, or the last N s. */
export type JournalFilter = {
  scope: 'session' | 'all';
  drive: DriveRef | null;
  command: string;
  state: JobState | null;
  time: 'any' | 'chart' | number;
};

export const DEFAULT_FILTER: JournalFilter = { scope: 'session', drive: null, command: '', state: null, time: 'any' };

/** Where the journal is looking: the session shown, the chart's range (ms since the
 * epoch), and now. */
export type JournalContext = { session: number | null; chartRangeMs: [number, number] | null; nowMs: number };

/** The store query for a filter. */
export function jobQuery(filter: JournalFilter, ctx: JournalContext, limit = 200): JobQuery {
  const query: JobQuery = { limit };
  if (filter.scope === 'session' && ctx.session !== null) query.session = ctx.session;
  if (filter.drive) query.drive = { ...filter.drive };
  const command = filter.command.trim();
  if (command) query.command = command;
  if (filter.state) query.state = filter.state;
  if (filter.time === 'chart' && ctx.chartRangeMs) {
    query.sinceMs = ctx.chartRangeMs[0];
    query.untilMs = ctx.chartRangeMs[1];
  } else if (typeof filter.time === 'number') {
    query.sinceMs = ctx.nowMs - filter.time * 1000;
  }
  return query;
}

/** Whether `job` passes `query` (the store's rules: every field set must match; times
 * are queued-at, `since` inclusive, `until` exclusive). */
export function journalMatches(job: JobView, query: JobQuery): boolean {
  if (query.session != null && job.session !== query.session) return false;
  if (query.drive != null && !(job.drive && job.drive.link === query.drive.link && job.drive.id === query.drive.id)) return false;
  if (query.command != null && query.command !== '' && job.command !== query.command) return false;
  if (query.state != null && job.state !== query.state) return false;
  if (query.sinceMs != null && job.queuedAtMs < query.sinceMs) return false;
  if (query.untilMs != null && job.queuedAtMs >= query.untilMs) return false;
  return true;
}

/** A job's timing, ms: waiting in the queue (queued → sent), on the wire (sent →
 * finished) and in all (queued → finished); null where a step has not happened. */
export function jobTiming(job: JobView): { waitMs: number | null; runMs: number | null; totalMs: number | null } {
  const { queuedAtMs: q, sentAtMs: s, finishedAtMs: f } = job;
  return {
    waitMs: s === null ? null : s - q,
    runMs: s === null || f === null ? null : f - s,
    totalMs: f === null ? null : f - q,
  };
}

const ms = (v: number | null): string => (v === null ? '' : v < 10 ? v.toFixed(2) : v.toFixed(1));

/** hh:mm:ss.mmm local time. */
export function clockTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** What a job addressed: a drive (link/ID), a whole link, every drive (stops), or
 * nothing yet (a connect or a scan, before there is a link). */
export function jobScope(job: JobView): string {
  if (job.drive) return `${job.drive.link}/${job.drive.id}`;
  if (job.link !== null) return `link ${job.link}`;
  return job.command === 'eStop' || job.command === 'safeStop' ? 'all' : '—';
}

export function renderJobs(body: HTMLElement, jobs: JobView[]): void {
  const rows = jobs.map((j) => {
    const tr = document.createElement('tr');
    tr.className = `job state-${j.state}`;
    tr.dataset.jobId = String(j.id);
    if (j.deadlineAtMs !== null) tr.title = `deadline ${clockTime(j.deadlineAtMs)}`;
    const t = jobTiming(j);
    const cells = [
      String(j.id),
      clockTime(j.queuedAtMs),
      j.command,
      j.priority,
      jobScope(j),
      j.state,
      ms(t.waitMs),
      ms(t.runMs),
      ms(t.totalMs),
      j.reason ?? '',
    ];
    cells.forEach((text, i) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (i === 5) td.className = 'job-state';
      if (i >= 6 && i <= 8) td.className = 'num';
      tr.appendChild(td);
    });
    return tr;
  });
  body.replaceChildren(...rows);
}

export const JOURNAL_HTML = `
  <div class="journal-head">
    <h2>Job journal</h2>
    <span id="journal-filters" class="filters">
      <select id="jf-scope" title="Which session's jobs"><option value="session">shown session</option><option value="all">all sessions</option></select>
      <select id="jf-drive" title="Drive"><option value="">all drives</option></select>
      <input id="jf-command" list="jf-commands" placeholder="command" size="10" title="Command (exact name)">
      <datalist id="jf-commands">${KNOWN_COMMANDS.map((c) => `<option value="${c}">`).join('')}</datalist>
      <select id="jf-state" title="State"><option value="">any state</option>${JOB_STATES.map((s) => `<option value="${s}">${s}</option>`).join('')}</select>
      <select id="jf-time" title="Queued when">
        <option value="any">any time</option><option value="chart">chart's range</option>
        <option value="60">last minute</option><option value="600">last 10 min</option><option value="3600">last hour</option>
      </select>
      <span id="jf-count" class="muted"></span>
    </span>
  </div>
  <div class="scroll"><table>
    <thead><tr><th>#</th><th>queued</th><th>command</th><th title="class on the link">class</th><th>drive</th><th>state</th>
      <th title="queued → sent">wait ms</th><th title="sent → finished">run ms</th><th title="queued → finished">total ms</th><th>reason</th></tr></thead>
    <tbody id="jobs"></tbody>
  </table></div>`;

/** The journal panel: its filter bar and table. `refresh` runs the query now. */
export class Journal {
  filter: JournalFilter = { ...DEFAULT_FILTER };
  private generation = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly backend: Backend,
    private readonly context: () => JournalContext,
  ) {
    root.innerHTML = JOURNAL_HTML;
    const el = <T extends HTMLElement>(id: string) => root.querySelector(`#${id}`) as T;
    const read = () => {
      const drive = el<HTMLSelectElement>('jf-drive').value;
      const time = el<HTMLSelectElement>('jf-time').value;
      this.filter = {
        scope: el<HTMLSelectElement>('jf-scope').value as 'session' | 'all',
        drive: drive ? { link: Number(drive.split('/')[0]), id: Number(drive.split('/')[1]) } : null,
        command: el<HTMLInputElement>('jf-command').value,
        state: (el<HTMLSelectElement>('jf-state').value || null) as JobState | null,
        time: time === 'any' || time === 'chart' ? time : Number(time),
      };
      void this.refresh();
    };
    for (const id of ['jf-scope', 'jf-drive', 'jf-state', 'jf-time']) el(id).addEventListener('change', read);
    el('jf-command').addEventListener('input', read);
  }

  /** Offers these drives in the drive filter (keeps the choice when still there). */
  setDrives(drives: DriveRef[]): void {
    const select = this.root.querySelector('#jf-drive') as HTMLSelectElement;
    const keys = drives.map((d) => `${d.link}/${d.id}`);
    const have = [...select.options].slice(1).map((o) => o.value);
    if (have.join() === keys.join()) return;
    const chosen = select.value;
    select.replaceChildren(new Option('all drives', ''), ...keys.map((k) => new Option(`drive ${k}`, k)));
    select.value = keys.includes(chosen) ? chosen : '';
  }

  async refresh(): Promise<void> {
    const asked = ++this.generation;
    const query = jobQuery(this.filter, this.context());
    const jobs = await this.backend.jobs(query);
    if (asked !== this.generation) return; // a newer filter won
    renderJobs(this.root.querySelector('#jobs')!, jobs);
    (this.root.querySelector('#jf-count') as HTMLElement).textContent = `${jobs.length}${jobs.length >= (query.limit ?? 0) ? '+' : ''} jobs`;
  }
}
