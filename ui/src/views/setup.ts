// The guided "one servo at a time" set-up of a new bus, inside the Connect panel. Every
// servo leaves the factory with the same ID, so a new bus is set up one servo at a time:
// the user picks the port, the protocol, the ID the next servo gets and (optionally) the
// rate every servo moves to; connects one servo alone and presses Find & set
// (backend.setupAssign finds it at whatever ID and rate it has and gives it the ID and
// rate); the servos done are listed and the next ID goes up by one. Finish scans the
// whole bus at the rates used and hands the report to the Connect panel's scan results,
// from where the drives found are connected. Bad input gets a message beside its field
// and nothing is sent; a refusal (two servos answering, none) shows beside the button and
// nothing advances.
import type { Backend } from '../backend/index';
import type { AssignDone, ScanReport, SetupProtocol } from '../backend/types';
import { BAUD_RATES, MODBUS_SETUP_NOTE, SETUP_PROTOCOLS, errorMessage } from '../backend/types';

export type SetupForm = { port: string; protocol: string; id: string; baud: string };
export type SetupField = keyof SetupForm;
export type SetupCheck =
  | { ok: true; port: string; protocol: SetupProtocol; to: number; baud: number | null }
  | { ok: false; errors: Partial<Record<SetupField, string>> };

/** The ID the next servo gets, as typed: a whole number 1–252 not given yet in this set-up. */
export function checkSetupId(text: string, given: number[]): number | string {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return trimmed === '' ? 'Enter the ID to give (1–252)' : `"${trimmed}" is not an ID: a whole number 1–252`;
  const id = Number(trimmed);
  if (id < 1 || id > 252) return `ID ${id} is outside 1–252`;
  if (given.includes(id)) return `ID ${id} was already given in this set-up: pick another`;
  return id;
}

/** Checks the set-up form before anything is sent. */
export function checkSetup(form: SetupForm, given: number[]): SetupCheck {
  const errors: Partial<Record<SetupField, string>> = {};
  const port = form.port.trim();
  if (port === '') errors.port = 'Choose or type the serial port the servo is on';
  const protocol = SETUP_PROTOCOLS.find((p) => p === form.protocol);
  if (!protocol) errors.protocol = form.protocol === 'modbus-rtu' ? MODBUS_SETUP_NOTE : 'Choose a protocol';
  const to = checkSetupId(form.id, given);
  if (typeof to === 'string') errors.id = to;
  let baud: number | null = null;
  if (form.baud !== 'keep') {
    baud = Number(form.baud);
    if (protocol && !BAUD_RATES[protocol].includes(baud)) errors.baud = `A ${protocol} servo cannot run at ${form.baud} baud`;
  }
  if (Object.keys(errors).length > 0 || !protocol || typeof to === 'string') return { ok: false, errors };
  return { ok: true, port, protocol, to, baud };
}

/** The next ID to offer after `done`: one above the last given, skipping any given. */
export function nextSetupId(last: number, given: number[]): number {
  let id = last + 1;
  while (given.includes(id) && id < 252) id++;
  return Math.min(id, 252);
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const FIELDS: SetupField[] = ['port', 'protocol', 'id', 'baud'];

export class BusSetup {
  /** The servos set up, in order. */
  readonly done: AssignDone[] = [];
  private busy = false;

  constructor(
    private readonly root: HTMLElement,
    private readonly backend: Backend,
    /** Finish found these: the Connect panel lists them to connect. */
    private readonly scanned: (report: ScanReport) => void,
  ) {
    root.innerHTML = `
      <div class="setup">
        <h3>Set up a new bus, one servo at a time</h3>
        <p class="muted small">Servos leave the factory with the same ID. Connect them one at a time:
          each is found at whatever ID and rate it has and given the next ID (and the rate chosen).</p>
        <label title="The serial port the servos are connected to, one at a time (no link may have it open)">Port
          <input id="setup-port" list="connect-port-list" placeholder="/dev/ttyUSB0">
          <span class="field-error" data-for="setup-port"></span></label>
        <label title="The servos' protocol. ${escapeHtml(MODBUS_SETUP_NOTE)}.">Protocol <select id="setup-protocol">
          ${SETUP_PROTOCOLS.map((p) => `<option value="${p}">${p}</option>`).join('')}
          <option value="modbus-rtu" disabled title="${escapeHtml(MODBUS_SETUP_NOTE)}">modbus-rtu (not here: vendor parameters)</option>
        </select><span class="field-error" data-for="setup-protocol"></span></label>
        <label title="The bus ID the next servo gets: a whole number 1–252, not one already given in this set-up">Next ID
          <input id="setup-id" value="1" inputmode="numeric" size="4">
          <span class="field-error" data-for="setup-id"></span></label>
        <label title="The rate every servo is moved to, bits/s (keep: each keeps the rate it has)">Baud rate
          <select id="setup-baud"></select>
          <span class="field-error" data-for="setup-baud"></span></label>
        <p id="setup-prompt" class="setup-prompt" role="status"></p>
        <div class="buttons">
          <button id="setup-find" class="primary" title="Find the one servo connected (at any ID and rate) and give it the next ID and the rate chosen; refused when more than one answers">Find &amp; set</button>
          <button id="setup-finish" title="Scan the whole bus (every servo connected) at the rate used and list the IDs found, to connect them">Finish</button>
          <button id="setup-restart" title="Forget the servos listed here and start again at ID 1 (the servos keep what they were given)">Start over</button>
        </div>
        <div id="setup-error" class="error small" role="alert"></div>
        <ol id="setup-done" class="setup-done small"></ol>
        <div id="setup-found" class="small" role="status"></div>
      </div>`;
    this.$('#setup-protocol').addEventListener('change', () => this.fillRates());
    this.$('#setup-find').addEventListener('click', () => void this.findAndSet());
    this.$('#setup-finish').addEventListener('click', () => void this.finish());
    this.$('#setup-restart').addEventListener('click', () => this.restart());
    for (const field of FIELDS) {
      this.$(`#setup-${field}`).addEventListener('input', () => {
        this.showErrors({});
        this.prompt();
      });
    }
    this.fillRates();
    this.prompt();
  }

  private $<T extends HTMLElement>(css: string): T {
    return this.root.querySelector(css) as T;
  }

  /** Puts `port` in the port field when it is empty (the Connect panel's choice). */
  suggestPort(port: string): void {
    const input = this.$<HTMLInputElement>('#setup-port');
    if (input.value.trim() === '' && port.trim() !== '') input.value = port.trim();
  }

  private fillRates(): void {
    const protocol = SETUP_PROTOCOLS.find((p) => p === this.$<HTMLSelectElement>('#setup-protocol').value) ?? 'dynamixel2';
    const select = this.$<HTMLSelectElement>('#setup-baud');
    const chosen = select.value;
    select.innerHTML = `<option value="keep">keep (each servo's own)</option>` +
      BAUD_RATES[protocol].map((r) => `<option value="${r}">${r} baud</option>`).join('');
    select.value = [...select.options].some((o) => o.value === chosen) ? chosen : 'keep';
  }

  private form(): SetupForm {
    return {
      port: this.$<HTMLInputElement>('#setup-port').value,
      protocol: this.$<HTMLSelectElement>('#setup-protocol').value,
      id: this.$<HTMLInputElement>('#setup-id').value,
      baud: this.$<HTMLSelectElement>('#setup-baud').value,
    };
  }

  private showErrors(errors: Partial<Record<SetupField, string>>): void {
    for (const field of FIELDS) this.$(`.field-error[data-for="setup-${field}"]`).textContent = errors[field] ?? '';
  }

  private given(): number[] {
    return this.done.map((d) => d.id);
  }

  /** "Connect servo N alone, then press Find & set", with the ID it will get. */
  private prompt(): void {
    const n = this.done.length + 1;
    const id = checkSetupId(this.form().id, this.given());
    const next = this.done.length === 0 ? `Connect servo ${n} alone` : `Now connect the next servo, servo ${n}, alone`;
    this.$('#setup-prompt').textContent =
      `${next}, then press Find & set${typeof id === 'number' ? ` (it becomes ID ${id})` : ''}. Press Finish when every servo is done.`;
  }

  /** Sets up the servo connected now; true when it was given its ID. */
  async findAndSet(): Promise<boolean> {
    if (this.busy) return false;
    const check = checkSetup(this.form(), this.given());
    this.$('#setup-error').textContent = '';
    if (!check.ok) {
      this.showErrors(check.errors);
      return false;
    }
    this.showErrors({});
    const button = this.$<HTMLButtonElement>('#setup-find');
    this.busy = true;
    button.disabled = true;
    button.textContent = 'Finding…';
    try {
      const result = await this.backend.setupAssign({ port: check.port, protocol: check.protocol, to: check.to, baud: check.baud });
      this.done.push(result);
      // The port and protocol stay for the next servo; the ID moves on.
      this.$<HTMLInputElement>('#setup-id').value = String(nextSetupId(result.id, this.given()));
      this.renderDone();
      return true;
    } catch (e) {
      this.$('#setup-error').textContent = errorMessage(e);
      return false;
    } finally {
      this.busy = false;
      button.disabled = false;
      button.textContent = 'Find & set';
      this.prompt();
    }
  }

  private renderDone(): void {
    this.$('#setup-done').innerHTML = this.done.map((d, i) =>
      `<li data-id="${d.id}">Servo ${i + 1}${d.model ? ` (${escapeHtml(d.model)})` : ''}: ${escapeHtml(d.message)}</li>`).join('');
  }

  /** Scans the whole bus at the rates the servos were left at and lists what answers. */
  async finish(): Promise<ScanReport | null> {
    const form = this.form();
    const port = form.port.trim();
    const protocol = SETUP_PROTOCOLS.find((p) => p === form.protocol);
    const found = this.$('#setup-found');
    if (port === '' || !protocol) {
      this.showErrors(port === '' ? { port: 'Choose or type the serial port the servos are on' } : { protocol: 'Choose a protocol' });
      return null;
    }
    if (this.done.length === 0) {
      this.$('#setup-error').textContent = 'No servo set up yet: connect one alone and press Find & set first';
      return null;
    }
    this.$('#setup-error').textContent = '';
    const rates = [...new Set(this.done.map((d) => d.baud))];
    found.textContent = `Connect every servo to ${port}; scanning at ${rates.join(', ')} baud…`;
    try {
      const report = await this.backend.scan(port, [protocol], rates);
      const ids = report.drives.map((d) => d.id);
      const missing = this.given().filter((id) => !ids.includes(id));
      found.textContent = (ids.length > 0 ? `Found ID${ids.length > 1 ? 's' : ''} ${ids.join(', ')} on ${port}` : `No servo answered on ${port}`)
        + (missing.length > 0 ? `; not answering: ${missing.join(', ')} (check that every servo is connected)` : '')
        + (ids.length > 0 ? '. Check the ones to connect below.' : '');
      this.scanned(report);
      return report;
    } catch (e) {
      found.textContent = '';
      this.$('#setup-error').textContent = errorMessage(e);
      return null;
    }
  }

  /** Forgets the servos listed (not what they were given) and starts again at ID 1. */
  restart(): void {
    this.done.length = 0;
    this.$<HTMLInputElement>('#setup-id').value = '1';
    this.$('#setup-error').textContent = '';
    this.$('#setup-found').textContent = '';
    this.showErrors({});
    this.renderDone();
    this.prompt();
  }
}
