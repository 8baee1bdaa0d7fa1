import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeBackend } from '../backend/fake';
import type { SessionSummary } from '../backend/types';
import { SessionsView, filterSessions, formatDuration, isAutomatic } from './sessions';

const session = (id: number, name: string, notes = '', samples = 10): SessionSummary => ({
  id, name, notes, samples, startedAtMs: 0, stoppedAtMs: 1000, durationS: 1, recording: false, drives: [],
});

describe('session list', () => {
  const list = [
    session(4, 'Live 2026-01-02 10:00:00 UTC', '', 0),
    session(3, 'step test', 'Kp 8, no load'),
    session(2, 'Live 2026-01-01 09:00:00 UTC', '', 500),
    session(1, 'gain sweep', 'load 50 %'),
  ];

  it('tells automatic sessions from named ones', () => {
    expect(isAutomatic('Live 2026-01-02 10:00:00 UTC')).toBe(true);
    expect(isAutomatic('Live test on the bench')).toBe(false);
    expect(isAutomatic('step test')).toBe(false);
  });

  it('filters by text in name or notes (any case), named only, with samples; order kept', () => {
    const ids = (f: Parameters<typeof filterSessions>[1]) => filterSessions(list, f).map((s) => s.id);
    expect(ids({ text: '', namedOnly: false, withSamples: false })).toEqual([4, 3, 2, 1]);
    expect(ids({ text: 'kp 8', namedOnly: false, withSamples: false })).toEqual([3]);
    expect(ids({ text: 'LOAD', namedOnly: false, withSamples: false })).toEqual([3, 1]);
    expect(ids({ text: '', namedOnly: true, withSamples: false })).toEqual([3, 1]);
    expect(ids({ text: '', namedOnly: false, withSamples: true })).toEqual([3, 2, 1]);
    expect(ids({ text: 'live', namedOnly: true, withSamples: false })).toEqual([]);
  });

  it('formats lengths', () => {
    expect(formatDuration(7.9)).toBe('0:07');
    expect(formatDuration(724)).toBe('12:04');
    expect(formatDuration(3723)).toBe('1:02:03');
  });
});

describe('recording and browsing sessions', () => {
  beforeEach(() => {
    document.body.innerHTML = '';
  });

  async function mount() {
    const backend = new FakeBackend();
    const events = { recording: vi.fn(), open: vi.fn(), message: vi.fn() };
    const view = new SessionsView(document.body, backend, events);
    view.current = (await backend.sessions())[0];
    const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
    return { backend, events, view, $ };
  }

  it('starts a named recording with notes; stopping goes on in an automatic session', async () => {
    const { backend, events, view, $ } = await mount();
    expect(view.named()).toBe(false);
    view.openRecord();
    $('record-start').click();
    await Promise.resolve();
    expect($('record-error').textContent).toBe('Give the session a name');
    expect((await backend.sessions()).length).toBe(1);
    $<HTMLInputElement>('record-name').value = 'step test';
    $<HTMLTextAreaElement>('record-notes').value = 'kp 8';
    $('record-start').click();
    await vi.waitFor(() => expect(events.recording).toHaveBeenCalledTimes(1));
    expect(view.named()).toBe(true);
    expect(view.current).toMatchObject({ name: 'step test', notes: 'kp 8', recording: true });
    expect($('record-dialog').hidden).toBe(true);
    await view.stop();
    expect(isAutomatic(view.current!.name)).toBe(true);
    const all = await backend.sessions();
    expect(all.map((s) => s.name)[1]).toBe('step test');
    expect(all[1].stoppedAtMs).not.toBeNull();
  });

  it('lists sessions in the browser, hides automatic ones on request and opens one', async () => {
    const { backend, events, view, $ } = await mount();
    await backend.startSession('step test', 'kp 8');
    backend.record([0, 1], () => 1);
    await backend.stopSession();
    $<HTMLInputElement>('sessions-with-samples').checked = false;
    await view.openBrowser();
    expect(document.querySelectorAll('#session-list tr.session-row').length).toBe(3);
    $<HTMLInputElement>('sessions-named').checked = true;
    $('sessions-named').dispatchEvent(new Event('change'));
    const rows = [...document.querySelectorAll<HTMLElement>('#session-list tr.session-row')];
    expect(rows.map((r) => r.querySelector('.session-name')!.textContent)).toEqual(['step test']);
    rows[0].querySelector<HTMLButtonElement>('button.open')!.click();
    expect(events.open).toHaveBeenCalledWith(expect.objectContaining({ name: 'step test', samples: 12 }));
    expect($('sessions-dialog').hidden).toBe(true);
  });

  it('searches through the backend', async () => {
    const { backend, view, $ } = await mount();
    await backend.startSession('gain sweep', 'load 50 %');
    const sessions = vi.spyOn(backend, 'sessions');
    $<HTMLInputElement>('sessions-with-samples').checked = false;
    $<HTMLInputElement>('session-search').value = 'LOAD';
    await view.openBrowser();
    expect(sessions).toHaveBeenLastCalledWith('LOAD');
    expect([...document.querySelectorAll('#session-list .session-name')].map((e) => e.textContent)).toEqual(['gain sweep']);
  });
});
