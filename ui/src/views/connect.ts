// The Connect panel: serial ports (with their USB identity, refreshed while the panel is
// open so plugging and unplugging shows), protocol, baud and drive IDs, a scan that
// lists what answers, a connection by hand, and another simulated rig in one click.
// Bad input gets a message beside its field and nothing is sent.
import type { Backend } from '../backend/index';
import type { FoundDrive, PortInfo, ProfileView, ProtocolName, ScanReport } from '../backend/types';
import { PROTOCOLS, errorMessage } from '../backend/types';

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

const FIELDS: (keyof ConnectForm)[] = ['port', 'protocol', 'baud', 'ids'];

export class ConnectPanel {
  private ports: PortInfo[] = [];
  private profiles: ProfileView[] = [];
  private refresh: ReturnType<typeof setInterval> | undefined;
  private lastScan: ScanReport | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly backend: Backend,
    private readonly notify: (ok: boolean, message: string) => void,
  ) {
    root.innerHTML = `
      <div class="connect">
        <h2>Connect</h2>
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
          <button id="connect-close">Close</button>
        </div>
        <table id="scan-results" hidden>
          <thead><tr><th></th><th>ID</th><th>model</th><th>protocol</th><th>baud</th><th>firmware</th><th>rtt</th><th></th></tr></thead>
          <tbody></tbody>
        </table>
        <button id="connect-found" hidden>Connect the checked drives</button>
      </div>`;
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
  }

  private $<T extends HTMLElement>(css: string): T {
    return this.root.querySelector(css) as T;
  }

  get isOpen(): boolean {
    return !this.root.hidden;
  }

  async open(): Promise<void> {
    this.root.hidden = false;
    try {
      this.profiles = await this.backend.profiles();
    } catch (e) {
      this.notify(false, `Drive models unavailable: ${errorMessage(e)}`);
    }
    this.fillModels();
    await this.refreshPorts();
    // Plugging or unplugging an adapter shows within two seconds.
    clearInterval(this.refresh);
    this.refresh = setInterval(() => void this.refreshPorts(), 2000);
    this.$<HTMLInputElement>('#connect-port').focus();
  }

  close(): void {
    clearInterval(this.refresh);
    this.root.hidden = true;
  }

  private fillModels(): void {
    const protocol = this.$<HTMLSelectElement>('#connect-protocol').value;
    const mine = this.profiles.filter((p) => p.protocol === protocol);
    this.$<HTMLSelectElement>('#connect-model').innerHTML =
      '<option value="">built-in model</option>' +
      mine.map((p) => `<option value="${p.name}">${p.vendor} ${p.name}</option>`).join('');
  }

  async refreshPorts(): Promise<void> {
    try {
      this.ports = await this.backend.ports();
    } catch (e) {
      this.ports = [];
      this.$('#connect-ports').textContent = `Ports unavailable: ${errorMessage(e)}`;
      return;
    }
    const list = this.$('#connect-ports');
    list.innerHTML = '';
    if (this.ports.length === 0) list.textContent = 'No serial ports found (type a path, e.g. a simulator’s /dev/pts/N)';
    for (const port of this.ports) {
      const item = document.createElement('li');
      item.textContent = portText(port);
      item.dataset.path = port.path;
      item.addEventListener('click', () => (this.$<HTMLInputElement>('#connect-port').value = port.path));
      list.appendChild(item);
    }
    this.$('#connect-port-list').innerHTML = this.ports.map((p) => `<option value="${p.path}">`).join('');
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
    this.notify(
      report.drives.length > 0,
      report.drives.length > 0
        ? `Found ${report.drives.length} drive(s) on ${report.port} in ${(report.elapsedMs / 1000).toFixed(1)} s`
        : `No drive answered on ${report.port}`,
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
