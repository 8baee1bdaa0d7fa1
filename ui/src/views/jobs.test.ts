import { beforeEach, describe, expect, it } from 'vitest';
import { FakeBackend } from '../backend/fake';
import type { JobView } from '../backend/types';
import { DEFAULT_FILTER, Journal, jobQuery, jobScope, jobTiming, journalMatches } from './jobs';

const job = (over: Partial<JobView>): JobView => ({
  id: 1, session: 1, command: 'setTarget', link: 1, drive: { link: 1, id: 1 }, priority: 'user', state: 'done', reason: null,
  queuedAtMs: 1000, deadlineAtMs: null, sentAtMs: 1002, finishedAtMs: 1010, ...over,
});

describe('journal filters', () => {
  const ctx = { session: 7, chartRangeMs: [5000, 9000] as [number, number], nowMs: 100_000 };

  it('builds the store query from the filter bar', () => {
    expect(jobQuery(DEFAULT_FILTER, ctx)).toEqual({ limit: 200, session: 7 });
    expect(jobQuery({ ...DEFAULT_FILTER, scope: 'all' }, ctx)).toEqual({ limit: 200 });
    expect(jobQuery({ scope: 'session', drive: { link: 1, id: 2 }, command: ' jog ', state: 'failed', time: 'chart' }, ctx)).toEqual({
      limit: 200, session: 7, drive: { link: 1, id: 2 }, command: 'jog', state: 'failed', sinceMs: 5000, untilMs: 9000,
    });
    expect(jobQuery({ ...DEFAULT_FILTER, time: 60 }, ctx)).toMatchObject({ sinceMs: 40_000 });
    expect(jobQuery({ ...DEFAULT_FILTER, time: 'chart' }, { ...ctx, chartRangeMs: null })).toEqual({ limit: 200, session: 7 });
  });

  it('matches jobs the way the store filters them', () => {
    expect(journalMatches(job({}), {})).toBe(true);
    expect(journalMatches(job({}), { session: 2 })).toBe(false);
    expect(journalMatches(job({}), { drive: { link: 1, id: 2 } })).toBe(false);
    expect(journalMatches(job({ drive: null, command: 'eStop' }), { drive: { link: 1, id: 1 } })).toBe(false);
    expect(journalMatches(job({}), { command: 'jog' })).toBe(false);
    expect(journalMatches(job({}), { state: 'failed' })).toBe(false);
    expect(journalMatches(job({}), { sinceMs: 1000, untilMs: 1001 })).toBe(true);
    expect(journalMatches(job({}), { sinceMs: 1001 })).toBe(false);
    expect(journalMatches(job({}), { untilMs: 1000 })).toBe(false);
  });

  it('says what each job addressed: a drive, a link, every drive, or no link yet', () => {
    expect(jobScope(job({}))).toBe('1/1');
    expect(jobScope(job({ command: 'disconnect', drive: null, link: 3 }))).toBe('link 3');
    expect(jobScope(job({ command: 'eStop', drive: null, link: null, priority: 'eStop' }))).toBe('all');
    expect(jobScope(job({ command: 'connect', drive: null, link: null }))).toBe('—');
  });

  it('times each step: queued → sent → finished', () => {
    expect(jobTiming(job({}))).toEqual({ waitMs: 2, runMs: 8, totalMs: 10 });
    expect(jobTiming(job({ state: 'queued', sentAtMs: null, finishedAtMs: null }))).toEqual({ waitMs: null, runMs: null, totalMs: null });
    expect(jobTiming(job({ state: 'cancelled', sentAtMs: null, finishedAtMs: 1005 }))).toEqual({ waitMs: null, runMs: null, totalMs: 5 });
  });
});

describe('journal panel', () => {
  beforeEach(() => {
    document.body.innerHTML = '<section id="journal"></section>';
  });

  it('lists the shown session\'s jobs with timing, and narrows by the filter bar', async () => {
    const backend = new FakeBackend();
    backend.addJob({ session: 1, command: 'enable', drive: { link: 1, id: 1 }, state: 'done', reason: null, queuedAtMs: 1000, sentAtMs: 1001, finishedAtMs: 1004 });
    backend.addJob({ session: 1, command: 'setTarget', drive: { link: 1, id: 2 }, state: 'failed', reason: 'timed out', queuedAtMs: 2000, sentAtMs: 2003, finishedAtMs: 2050 });
    backend.addJob({ session: 2, command: 'eStop', drive: null, state: 'done', reason: null, queuedAtMs: 3000, sentAtMs: 3000, finishedAtMs: 3001 });
    const journal = new Journal(document.getElementById('journal')!, backend, () => ({ session: 1, chartRangeMs: null, nowMs: 4000 }));
    journal.setDrives([{ link: 1, id: 1 }, { link: 1, id: 2 }]);
    await journal.refresh();
    const rows = () => [...document.querySelectorAll<HTMLTableRowElement>('#jobs tr.job')].map((r) => [...r.cells].map((c) => c.textContent));
    expect(rows().map((r) => r[2])).toEqual(['setTarget', 'enable']);
    expect(rows()[0].slice(3)).toEqual(['user', '1/2', 'failed', '3.00', '47.0', '50.0', 'timed out']);
    const select = (id: string, value: string) => {
      const el = document.getElementById(id) as HTMLSelectElement;
      el.value = value;
      el.dispatchEvent(new Event('change'));
    };
    select('jf-drive', '1/1');
    await journal.refresh();
    expect(rows().map((r) => r[2])).toEqual(['enable']);
    select('jf-drive', '');
    select('jf-scope', 'all');
    select('jf-state', 'done');
    await journal.refresh();
    expect(rows().map((r) => r[2])).toEqual(['eStop', 'enable']);
    expect(document.getElementById('jf-count')!.textContent).toBe('2 jobs');
  });
});
