// Sessions: recording with a name and notes, and the browser of past sessions.
//
// Everything is always recorded. At start the app records into an automatic session
// ("Live <date> UTC"); Record starts a named one (the current one stops); Stop ends the
// named one and an automatic one takes over, so nothing is ever unrecorded.
import type { Backend } from '../backend/index';
import type { SessionSummary } from '../backend/types';
import { errorMessage } from '../backend/types';

/** Automatic sessions are named by the engine as "Live YYYY-MM-DD hh:mm:ss UTC". */
export function isAutomatic(name: string): boolean {
  return /^Live \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/.test(name);
}

export type SessionFilter = { text: string; namedOnly: boolean; withSamples: boolean };

/** The sessions passing `filter` (text: in the name or notes, any case), order kept. */
export function filterSessions(list: SessionSummary[], filter: SessionFilter): SessionSummary[] {
  const needle = filter.text.trim().toLowerCase();
  return list.filter(
    (s) =>
      (!needle || s.name.toLowerCase().includes(needle) || s.notes.toLowerCase().includes(needle)) &&
      (!filter.namedOnly || !isAutomatic(s.name)) &&
      (!filter.withSamples || s.samples > 0),
  );
}

/** 0:07, 12:04, 1:02:03. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

export function formatCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n);
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export const SESSIONS_HTML = `
  <div id="record-dialog" class="modal" hidden>
    <div class="modal-box">
      <h2 id="record-title">Record a session</h2>
      <label>Name <input id="record-name" maxlength="200" placeholder="e.g. step test, kp 8"></label>
      <label>Notes <textarea id="record-notes" rows="4" placeholder="load, gains, what you are trying"></textarea></label>
      <div id="record-error" class="error"></div>
      <div class="row">
        <button id="record-start" class="primary">Start recording</button>
        <button id="record-save" hidden>Save notes</button>
        <button id="record-stop" class="danger" hidden>Stop recording</button>
        <button id="record-cancel">Close</button>
      </div>
      <p class="muted small">Everything is always recorded: stopping a named recording goes on in an automatic “Live …” session.</p>
    </div>
  </div>
  <div id="sessions-dialog" class="modal" hidden>
    <div class="modal-box wide">
      <div class="row">
        <h2>Sessions</h2>
        <input id="session-search" type="search" placeholder="search name or notes" size="28">
        <label><input type="checkbox" id="sessions-named"> named only</label>
        <label><input type="checkbox" id="sessions-with-samples" checked> with samples</label>
        <button id="sessions-close">Close</button>
      </div>
      <div id="session-error" class="error"></div>
      <div class="scroll session-scroll"><table class="sessions">
        <thead><tr><th>name</th><th>started</th><th>length</th><th>samples</th><th>drives</th><th>notes</th><th></th></tr></thead>
        <tbody id="session-list"></tbody>
      </table></div>
    </div>
  </div>`;

/** The record button, its dialog, and the session browser. */
export class SessionsView {
  /** The session being recorded (from the status poll). */
  current: SessionSummary | null = null;
  private all: SessionSummary[] = [];
  private searchTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    root: HTMLElement,
    private readonly backend: Backend,
    private readonly events: {
      /** Recording switched to another session. */
      recording(session: SessionSummary): void;
      /** The user opened a session to replay. */
      open(session: SessionSummary): void;
      message(ok: boolean, text: string): void;
    },
  ) {
    root.insertAdjacentHTML('beforeend', SESSIONS_HTML);
    const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
    $('record-start').addEventListener('click', () => void this.start());
    $('record-stop').addEventListener('click', () => void this.stop());
    $('record-save').addEventListener('click', () => void this.saveNotes());
    $('record-cancel').addEventListener('click', () => ($('record-dialog').hidden = true));
    $('sessions-close').addEventListener('click', () => ($('sessions-dialog').hidden = true));
    $('session-search').addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => void this.load(), 150);
    });
    for (const id of ['sessions-named', 'sessions-with-samples']) $(id).addEventListener('change', () => this.renderList());
    $('record-name').addEventListener('keydown', (e) => {
      if (e.key === 'Enter') void (this.named() ? this.saveNotes() : this.start());
    });
  }

  /** True while a named (not automatic) session records. */
  named(): boolean {
    return !!this.current && !isAutomatic(this.current.name);
  }

  /** The record dialog: start a named recording, or edit/stop the one running. */
  openRecord(): void {
    const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
    const named = this.named();
    $('record-title').textContent = named ? `Recording “${this.current!.name}”` : 'Record a session';
    $<HTMLInputElement>('record-name').value = named ? this.current!.name : '';
    $<HTMLTextAreaElement>('record-notes').value = named ? this.current!.notes : '';
    $('record-start').hidden = named;
    $('record-save').hidden = !named;
    $('record-stop').hidden = !named;
    $('record-error').textContent = '';
    $('record-dialog').hidden = false;
    $('record-name').focus();
  }

  private async start(): Promise<void> {
    const name = (document.getElementById('record-name') as HTMLInputElement).value;
    const notes = (document.getElementById('record-notes') as HTMLTextAreaElement).value;
    const error = document.getElementById('record-error')!;
    if (!name.trim()) {
      error.textContent = 'Give the session a name';
      return;
    }
    try {
      const session = await this.backend.startSession(name, notes);
      this.current = session;
      document.getElementById('record-dialog')!.hidden = true;
      this.events.recording(session);
      this.events.message(true, `Recording “${session.name}”`);
    } catch (e) {
      error.textContent = errorMessage(e);
    }
  }

  async stop(): Promise<void> {
    const stopped = this.current;
    try {
      const session = await this.backend.stopSession();
      this.current = session;
      document.getElementById('record-dialog')!.hidden = true;
      this.events.recording(session);
      this.events.message(true, `Stopped “${stopped?.name ?? ''}”; recording goes on in “${session.name}”`);
    } catch (e) {
      this.events.message(false, `Could not stop: ${errorMessage(e)}`);
    }
  }

  private async saveNotes(): Promise<void> {
    if (!this.current) return;
    const name = (document.getElementById('record-name') as HTMLInputElement).value;
    const notes = (document.getElementById('record-notes') as HTMLTextAreaElement).value;
    try {
      this.current = await this.backend.setSessionNotes(this.current.id, name, notes);
      document.getElementById('record-dialog')!.hidden = true;
      this.events.message(true, 'Notes saved');
    } catch (e) {
      document.getElementById('record-error')!.textContent = errorMessage(e);
    }
  }

  /** The session browser. */
  async openBrowser(): Promise<void> {
    document.getElementById('sessions-dialog')!.hidden = false;
    (document.getElementById('session-search') as HTMLInputElement).focus();
    await this.load();
  }

  private async load(): Promise<void> {
    const search = (document.getElementById('session-search') as HTMLInputElement).value;
    try {
      this.all = await this.backend.sessions(search.trim() || undefined);
      document.getElementById('session-error')!.textContent = '';
    } catch (e) {
      document.getElementById('session-error')!.textContent = errorMessage(e);
    }
    this.renderList();
  }

  private renderList(): void {
    const filter: SessionFilter = {
      text: '', // the store already searched
      namedOnly: (document.getElementById('sessions-named') as HTMLInputElement).checked,
      withSamples: (document.getElementById('sessions-with-samples') as HTMLInputElement).checked,
    };
    const rows = filterSessions(this.all, filter).map((s) => {
      const tr = document.createElement('tr');
      tr.className = 'session-row' + (s.recording ? ' recording' : '');
      tr.dataset.sessionId = String(s.id);
      const drives = s.drives.map((d) => `${d.drive.link}/${d.drive.id} ${d.model}`).join(', ');
      tr.innerHTML = `
        <td class="session-name">${s.recording ? '<span class="rec-dot" title="recording"></span>' : ''}${escapeHtml(s.name)}</td>
        <td>${new Date(s.startedAtMs).toLocaleString()}</td>
        <td class="num">${formatDuration(s.durationS)}</td>
        <td class="num">${formatCount(s.samples)}</td>
        <td class="small">${escapeHtml(drives)}</td>
        <td class="session-notes small">${escapeHtml(s.notes)}</td>
        <td><button class="open">${s.recording ? 'Live' : 'Open'}</button></td>`;
      tr.querySelector('button.open')!.addEventListener('click', () => {
        document.getElementById('sessions-dialog')!.hidden = true;
        this.events.open(s);
      });
      return tr;
    });
    document.getElementById('session-list')!.replaceChildren(...rows);
  }
}
