// The Connect panel: the recent connections (kept across restarts, one click to
// reconnect, × to forget), serial ports (with their USB identity, refreshed while the
// panel is open so plugging and unplugging shows), protocol, baud and drive IDs, a scan
// that lists what answers, a connection by hand, and another simulated rig in one click;
// "Set up a new bus…" opens the guided one-servo-at-a-time set-up (setup.ts), whose
// final scan lands in the same scan results. Bad input gets a message beside its field
// and nothing is sent.
import type { Backend } from '../backend/index';
import type { FoundDrive, PortInfo, ProfileView, ProtocolName, Recent, RecentConnection, ScanReport } from '../backend/types';
import { PROTOCOLS, errorMessage } from '../backend/types';
import { BusSetup } from './setup';

/** The usual baud rate of each protocol's factory settings. */
export const DEFAULT_BAUD: Record<ProtocolName, number> = {
  dynamixel2: 57_600,
  dynamixel1: 1_000_000,
  feetech: 1_000_000,
  'modbus-rtu': 19_200,
};

export type ConnectForm = { port: string; protocol: string; baud: string; ids: string };
export type ConnectCheck =
  | { ok: true; port: string; protocol: ProtocolName; baud: number; ids: number[] }
  | { ok: false; errors: Partial<Record<keyof ConnectForm, string>> };

/** Drive IDs as typed: "1,2,5-7" → [1, 2, 5, 6, 7]; a message when they are not. */
export function parseIds(text: string): number[] | string {
  const ids: number[] = [];
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) return 'Enter at least one drive ID';
  for (const part of parts) {
    const range = /^(\d+)\s*-\s*(\d+)$/.exec(part);
    const [lo, hi] = range ? [Number(range[1]), Number(range[2])] : [Number(part), Number(part)];
    if (!/^\d+(\s*-\s*\d+)?$/.test(part) || !Number.isInteger(lo) || !Number.isInteger(hi)) {
      return `"${part}" is not a drive ID`;
    }
    if (lo > hi) return `"${part}" runs backwards`;
    if (lo < 1 || hi > 253) return `IDs go from 1 to 253 ("${part}")`;
    for (let id = lo; id <= hi; id++) {
      if (ids.includes(id)) return `ID ${id} is listed twice`;
      ids.push(id);
    }
  }
  return ids;
}

/** Checks the form before anything is sent. */
export function checkConnect(form: ConnectForm, needPort: boolean): ConnectCheck {
  const errors: Partial<Record<keyof ConnectForm, string>> = {};
  const port = form.port.trim();
  if (needPort && port === '') errors.port = 'Choose or type a serial port';
  const protocol = PROTOCOLS.find((p) => p === form.protocol);
  if (!protocol) errors.protocol = 'Choose a protocol';
  const baud = Number(form.baud.trim());
  if (!/^\d+$/.test(form.baud.trim()) || baud < 300 || baud > 20_000_000) {
    errors.baud = 'Baud: a whole number from 300 to 20000000';
  }
  const ids = parseIds(form.ids);
  if (typeof ids === 'string') errors.ids = ids;
  if (Object.keys(errors).length > 0 || !protocol || typeof ids === 'string') return { ok: false, errors };
  return { ok: true, port, protocol, baud, ids };
}

/** How a port reads in the list: path, then what the USB descriptor says. */
export function portText(port: PortInfo): string {
  const hex = (v: number | null) => (v === null ? '????' : v.toString(16).padStart(4, '0'));
  const usb = port.kind === 'usb' ? ` USB ${hex(port.vid)}:${hex(port.pid)}` : '';
  const words = [port.manufacturer, port.product].filter((w) => !!w).join(' ');
  const serial = port.serialNumber ? ` #${port.serialNumber}` : '';
  return `${port.path}${usb}${words ? ` ${words}` : ''}${serial}`;
}

/** Drive IDs as the IDs field takes them, runs folded: [1, 2, 3, 7] → "1-3,7". */
export function idsText(ids: number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j - i >= 2 ? `${sorted[i]}-${sorted[j]}` : sorted.slice(i, j + 1).join(','));
    i = j;
  }
  return parts.join(',');
}

/** Whether two recent connections are the same one (IDs in any order). */
export function sameConnection(a: RecentConnection, b: RecentConnection): boolean {
  const ids = (c: RecentConnection) => idsText(c.ids);
  if (a.kind === 'sim' && b.kind === 'sim') return a.protocol === b.protocol && ids(a) === ids(b);
  if (a.kind === 'serial' && b.kind === 'serial') {
    return a.port === b.port && a.protocol === b.protocol && a.baud === b.baud && ids(a) === ids(b) && a.model === b.model;
  }
  return false;
}

/** How a recent connection reads in the list. */
export function recentText(c: RecentConnection): string {
  const ids = `ID${c.ids.length > 1 ? 's' : ''} ${idsText(c.ids).replace(/,/g, ', ')}`;
  if (c.kind === 'sim') return `Simulated rig · ${c.protocol} · ${ids}`;
  return `${c.port} · ${c.protocol} · ${c.baud} baud · ${ids}${c.model ? ` · ${c.model}` : ''}`;
}

/** "just now", "5 min ago", "3 h ago", or the date. */
export function agoText(atMs: number, nowMs: number): string {
  const s = Math.max(0, (nowMs - atMs) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(atMs).toISOString().slice(0, 10);
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const FIELDS: (keyof ConnectForm)[] = ['port', 'protocol', 'baud', 'ids'];

export class ConnectPanel {
  private ports: PortInfo[] = [];
  private profiles: ProfileView[] = [];
  private refresh: ReturnType<typeof setInterval> | undefined;
  private lastScan: ScanReport | null = null;
  private recent: Recent[] = [];

  constructor(
    private readonly root: HTMLElement,
    private readonly backend: Backend,
    private readonly notify: (ok: boolean, message: string) => void,
  ) {
    root.innerHTML = `
      <div class="connect">
        <h2>Connect</h2>
        <div id="connect-recent" class="recent" hidden>
          <h3 class="muted small">Recent</h3>
          <ul id="recent-list"></ul>
        </div>
        <label>Port <input id="connect-port" list="connect-port-list" placeholder="/dev/ttyUSB0">
          <span class="field-error" data-for="port"></span></label>
        <datalist id="connect-port-list"></datalist>
        <ul id="connect-ports" class="ports muted"></ul>
        <label>Protocol <select id="connect-protocol">
          ${PROTOCOLS.map((p) => `<option value="${p}">${p}</option>`).join('')}
        </select><span class="field-error" data-for="protocol"></span></label>
        <label>Baud <input id="connect-baud" value="${DEFAULT_BAUD.dynamixel2}" inputmode="numeric">
          <span class="field-error" data-for="baud"></span></label>
        <label>Drive IDs <input id="connect-ids" value="1" placeholder="1,2,5-7">
          <span class="field-error" data-for="ids"></span></label>
        <label>Model <select id="connect-model"></select></label>
        <label><input type="checkbox" id="connect-any"> Scan every protocol at its usual baud rates (slower)</label>
        <div class="buttons">
          <button id="connect-scan" title="Try the protocols and baud rates on this port">Scan</button>
          <button id="connect-go">Connect</button>
          <button id="connect-sim" title="Start another simulated rig of this protocol with these IDs">Simulated rig</button>
          <button id="connect-setup" title="A new bus whose servos all have the factory ID: give them their IDs (and a rate) one servo at a time" aria-expanded="false">Set up a new bus…</button>
          <button id="connect-close">Close</button>
        </div>
        <div id="connect-setup-section" class="setup-section" hidden></div>
        <table id="scan-results" hidden>
          <thead><tr><th></th><th>ID</th><th>model</th><th>protocol</th><th>baud</th><th>firmware</th><th>rtt</th><th></th></tr></thead>
          <tbody></tbody>
        </table>
        <button id="connect-found" hidden>Connect the checked drives</button>
      </div>`;
    this.setup = new BusSetup(this.$('#connect-setup-section'), backend, (report) => this.showScan(report));
    this.$('#connect-setup').addEventListener('click', () => this.toggleSetup());
    const protocol = this.$<HTMLSelectElement>('#connect-protocol');
    protocol.addEventListener('change', () => {
      const p = protocol.value as ProtocolName;
      if (DEFAULT_BAUD[p]) this.$<HTMLInputElement>('#connect-baud').value = String(DEFAULT_BAUD[p]);
      this.fillModels();
    });
    this.$('#connect-scan').addEventListener('click', () => void this.scan());
    this.$('#connect-go').addEventListener('click', () => void this.connect());
    this.$('#connect-sim').addEventListener('click', () => void this.sim());
    this.$('#connect-close').addEventListener('click', () => this.close());
    this.$('#connect-found').addEventListener('click', () => void this.connectFound());
    this.$('#recent-list').addEventListener('click', (e) => {
      const target = e.target as HTMLElement;
      const item = target.closest<HTMLElement>('li[data-index]');
      const entry = item ? this.recent[Number(item.dataset.index)] : undefined;
      if (!item || !entry) return;
      if (target.closest('.recent-forget')) void this.forget(entry.connection);
      else if (target.closest('.recent-go')) void this.reconnect(entry.connection, item);
      else this.fillForm(entry.connection);
    });
  }

  private $<T extends HTMLElement>(css: string): T {
    return this.root.querySelector(css) as T;
  }

  /** The guided set-up of a new bus (setup.ts). */
  readonly setup: BusSetup;

  /** Shows or hides the guided set-up; it starts on the port chosen above. */
  toggleSetup(open?: boolean): void {
    const section = this.$('#connect-setup-section');
    section.hidden = !(open ?? section.hidden);
    this.$('#connect-setup').setAttribute('aria-expanded', String(!section.hidden));
    if (!section.hidden) this.setup.suggestPort(this.$<HTMLInputElement>('#connect-port').value);
  }

  get isOpen(): boolean {
    return !this.root.hidden;
  }

  private opening = false;
  private wanted = false;

  /** Opens the panel once its lists (models, recent connections, ports) are filled, so
   * nothing moves under the pointer after it shows. */
  async open(): Promise<void> {
    this.wanted = true;
    if (this.isOpen || this.opening) return;
    this.opening = true;
    try {
      try {
        this.profiles = await this.backend.profiles();
      } catch (e) {
        this.notify(false, `Drive models unavailable: ${errorMessage(e)}`);
      }
      this.fillModels();
      await this.loadRecent();
      await this.refreshPorts();
    } finally {
      this.opening = false;
    }
    if (!this.wanted) return;
    this.root.hidden = false;
    // Plugging or unplugging an adapter shows within two seconds.
    clearInterval(this.refresh);
    this.refresh = setInterval(() => void this.refreshPorts(), 2000);
    this.$<HTMLInputElement>('#connect-port').focus();
  }

  close(): void {
    this.wanted = false;
    clearInterval(this.refresh);
    this.root.hidden = true;
  }

  /** Reads the recent connections and lists them. */
  async loadRecent(): Promise<void> {
    try {
      this.recent = await this.backend.recentConnections();
    } catch (e) {
      this.recent = [];
      this.notify(false, `Recent connections unavailable: ${errorMessage(e)}`);
    }
    this.renderRecent();
  }

  private renderRecent(): void {
    const now = Date.now();
    this.$('#connect-recent').hidden = this.recent.length === 0;
    this.$('#recent-list').innerHTML = this.recent.map((r, i) => `
      <li data-index="${i}" data-kind="${r.connection.kind}">
        <span class="recent-text" title="${escapeHtml(recentText(r.connection))} (click: put it in the form below)">${escapeHtml(recentText(r.connection))}</span>
        <span class="muted small">${agoText(r.atMs, now)}</span>
        <button class="recent-go" title="Connect again">Connect</button>
        <button class="recent-forget" title="Forget this connection" aria-label="Forget">×</button>
        <div class="error small recent-error"></div>
      </li>`).join('');
  }

  /** Puts a recent connection in the form, to change it before connecting. */
  private fillForm(c: RecentConnection): void {
    const protocol = this.$<HTMLSelectElement>('#connect-protocol');
    protocol.value = c.protocol;
    this.fillModels();
    this.$<HTMLInputElement>('#connect-ids').value = idsText(c.ids);
    if (c.kind === 'serial') {
      this.$<HTMLInputElement>('#connect-port').value = c.port;
      this.$<HTMLInputElement>('#connect-baud').value = String(c.baud);
      this.$<HTMLSelectElement>('#connect-model').value = c.model ?? '';
    }
  }

  /** Makes a recent connection again; a failure shows beside its entry. */
  async reconnect(c: RecentConnection, item?: HTMLElement): Promise<boolean> {
    const what = c.kind === 'sim' ? `a simulated ${c.protocol} rig` : `${c.ids.length} drive(s) on ${c.port}`;
    const button = item?.querySelector<HTMLButtonElement>('.recent-go');
    if (button) button.disabled = true;
    try {
      if (c.kind === 'sim') await this.backend.connectSim(c.protocol, c.ids);
      else await this.backend.connectSerial(c.port, c.protocol, c.baud, c.ids, c.model);
      this.notify(true, `Connected ${what}`);
      this.close();
      return true;
    } catch (e) {
      const slot = item?.querySelector('.recent-error');
      if (slot) slot.textContent = errorMessage(e);
      this.notify(false, `Could not connect ${what}: ${errorMessage(e)}`);
      return false;
    } finally {
      if (button) button.disabled = false;
    }
  }

  async forget(c: RecentConnection): Promise<void> {
    try {
      this.recent = await this.backend.forgetConnection(c);
    } catch (e) {
      this.notify(false, `Could not forget it: ${errorMessage(e)}`);
      return;
    }
    this.renderRecent();
  }

  private fillModels(): void {
    const protocol = this.$<HTMLSelectElement>('#connect-protocol').value;
    const mine = this.profiles.filter((p) => p.protocol === protocol);
    this.$<HTMLSelectElement>('#connect-model').innerHTML =
      '<option value="">built-in model</option>' +
      mine.map((p) => `<option value="${p.name}">${p.vendor} ${p.name}</option>`).join('');
  }

  async refreshPorts(): Promise<void> {
    const list = this.$('#connect-ports');
    try {
      this.ports = await this.backend.ports();
    } catch (e) {
      this.ports = [];
      list.dataset.shown = '';
      list.textContent = `Ports unavailable: ${errorMessage(e)}`;
      return;
    }
    // Rebuilt only when the ports changed: a list replaced every two seconds would
    // swallow a click on one of its items.
    const shown = this.ports.map(portText).join('\n');
    if (list.dataset.shown === shown && list.childNodes.length > 0) return;
    list.dataset.shown = shown;
    list.innerHTML = '';
    if (this.ports.length === 0) list.textContent = 'No serial ports found (type a path, e.g. a simulator’s /dev/pts/N)';
    for (const port of this.ports) {
      const item = document.createElement('li');
      item.textContent = portText(port);
      item.dataset.path = port.path;
      item.addEventListener('click', () => (this.$<HTMLInputElement>('#connect-port').value = port.path));
      list.appendChild(item);
    }
    this.$('#connect-port-list').innerHTML = this.ports.map((p) => `<option value="${escapeHtml(p.path)}">`).join('');
  }

  private form(): ConnectForm {
    return {
      port: this.$<HTMLInputElement>('#connect-port').value,
      protocol: this.$<HTMLSelectElement>('#connect-protocol').value,
      baud: this.$<HTMLInputElement>('#connect-baud').value,
      ids: this.$<HTMLInputElement>('#connect-ids').value,
    };
  }

  private showErrors(errors: Partial<Record<keyof ConnectForm, string>>): void {
    for (const field of FIELDS) {
      const slot = this.$(`.field-error[data-for="${field}"]`);
      slot.textContent = errors[field] ?? '';
    }
  }

  async scan(): Promise<void> {
    const form = this.form();
    const errors: Partial<Record<keyof ConnectForm, string>> = {};
    if (form.port.trim() === '') errors.port = 'Choose or type a serial port';
    this.showErrors(errors);
    if (errors.port) return;
    const any = this.$<HTMLInputElement>('#connect-any').checked;
    const baud = Number(form.baud.trim());
    if (!any && (!/^\d+$/.test(form.baud.trim()) || baud < 300 || baud > 20_000_000)) {
      this.showErrors({ baud: 'Baud: a whole number from 300 to 20000000' });
      return;
    }
    const button = this.$<HTMLButtonElement>('#connect-scan');
    button.disabled = true;
    button.textContent = 'Scanning…';
    try {
      // The chosen protocol and baud, or every protocol at its usual rates.
      const report = any
        ? await this.backend.scan(form.port.trim(), [], [])
        : await this.backend.scan(form.port.trim(), [form.protocol], [baud]);
      this.showScan(report);
    } catch (e) {
      this.showErrors({ port: errorMessage(e) });
    } finally {
      button.disabled = false;
      button.textContent = 'Scan';
    }
  }

  private showScan(report: ScanReport): void {
    this.lastScan = report;
    const table = this.$<HTMLTableElement>('#scan-results');
    const body = table.querySelector('tbody')!;
    body.innerHTML = '';
    report.drives.forEach((d: FoundDrive, i: number) => {
      const row = document.createElement('tr');
      row.dataset.id = String(d.id);
      row.innerHTML = `<td><input type="checkbox" data-index="${i}" ${d.idConflict ? '' : 'checked'}></td>
        <td>${d.id}</td><td>${d.model ?? `unknown (${d.modelNumber ?? '?'})`}</td><td>${d.protocol}</td>
        <td>${d.baud}</td><td>${d.firmware ?? ''}</td><td>${(d.rttUs / 1000).toFixed(2)} ms</td>
        <td class="bad">${d.idConflict ? 'ID conflict' : ''}${d.note ? ` ${d.note}` : ''}</td>`;
      body.appendChild(row);
    });
    table.hidden = report.drives.length === 0;
    this.$('#connect-found').hidden = report.drives.length === 0;
    const notes = (report.notes ?? []).map((n) => ` Note: ${n}`).join('');
    this.notify(
      report.drives.length > 0,
      (report.drives.length > 0
        ? `Found ${report.drives.length} drive(s) on ${report.port} in ${(report.elapsedMs / 1000).toFixed(1)} s`
        : `No drive answered on ${report.port}`) + notes,
    );
  }

  /** Connects the checked drives of the last scan: one link per protocol and baud. */
  async connectFound(): Promise<void> {
    const report = this.lastScan;
    if (!report) return;
    const checked = [...this.root.querySelectorAll<HTMLInputElement>('#scan-results input:checked')]
      .map((box) => report.drives[Number(box.dataset.index)]);
    if (checked.length === 0) {
      this.notify(false, 'Check at least one drive');
      return;
    }
    const groups = new Map<string, FoundDrive[]>();
    for (const d of checked) {
      const key = `${d.protocol}@${d.baud}@${d.model ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), d]);
    }
    for (const drives of groups.values()) {
      const { protocol, baud, model } = drives[0];
      try {
        await this.backend.connectSerial(report.port, protocol, baud, drives.map((d) => d.id), model);
        this.notify(true, `Connected ${drives.length} ${protocol} drive(s) on ${report.port}`);
      } catch (e) {
        this.notify(false, `Could not connect: ${errorMessage(e)}`);
        return;
      }
    }
    this.close();
  }

  async connect(): Promise<void> {
    const check = checkConnect(this.form(), true);
    if (!check.ok) {
      this.showErrors(check.errors);
      return;
    }
    this.showErrors({});
    const model = this.$<HTMLSelectElement>('#connect-model').value || null;
    try {
      await this.backend.connectSerial(check.port, check.protocol, check.baud, check.ids, model);
      this.notify(true, `Connected ${check.ids.length} drive(s) on ${check.port}`);
      this.close();
    } catch (e) {
      this.showErrors({ port: errorMessage(e) });
    }
  }

  async sim(): Promise<void> {
    const check = checkConnect(this.form(), false);
    if (!check.ok) {
      this.showErrors({ ...check.errors, port: undefined });
      if (Object.keys(check.errors).some((k) => k !== 'port')) return;
    }
    const protocol = this.$<HTMLSelectElement>('#connect-protocol').value;
    const ids = parseIds(this.form().ids);
    if (typeof ids === 'string') return;
    this.showErrors({});
    try {
      await this.backend.connectSim(protocol, ids);
      this.notify(true, `Started a simulated ${protocol} rig with IDs ${ids.join(', ')}`);
      this.close();
    } catch (e) {
      this.showErrors({ protocol: errorMessage(e) });
    }
  }
}
