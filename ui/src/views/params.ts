// The Parameters panel of the selected drive: its profile's control table as a grid with
// units, limits and read-only marks; values typed but not written are highlighted; Write
// checks every value first (a bad one gets a message beside its cell and nothing is
// sent); Read all replaces unwritten values with the drive's; Save to flash; Backup to a JSON file; Restore from one after a diff preview;
// compare two snapshots (of any session). The ID and Baud Rate rows are not written here:
// the Bus set-up bar (driveSetup.ts) changes them, and reboots or resets the drive.
import type { Backend } from '../backend/index';
import type { DriveRef, JobView, ParamDiffView, ParamRegisterView, ParamTable, SnapshotView } from '../backend/types';
import { errorMessage } from '../backend/types';
import { shownRegister, unitSystem } from '../units';
import type { Shown } from '../units';
import { DriveSetupBar } from './driveSetup';

/** The registers that move the drive away from its link: the Bus set-up bar changes them. */
export const SETUP_REGISTERS: Record<string, string> = {
  ID: 'The ID is changed with Bus set-up (Change ID…), which moves the link with the drive',
  'Baud Rate': 'The baud rate is changed with Bus set-up (Change baud…), which moves the link with the drive',
};

/** A value as the grid shows it: six significant digits, no trailing zeros. */
export function formatValue(value: number | null): string {
  if (value === null) return '';
  return String(Number(value.toPrecision(6)));
}

export type CellCheck = { ok: true; value: number } | { ok: false; message: string };

/** How a register is shown and typed in the unit system in use (the table itself is SI). */
export function registerShown(register: Pick<ParamRegisterView, 'unit' | 'scale' | 'min' | 'max'>): Shown {
  return shownRegister(unitSystem(), register.unit, register.scale, Math.max(Math.abs(register.min), Math.abs(register.max)));
}

/** An SI value of `register` as the grid shows it. */
export function showValue(register: Pick<ParamRegisterView, 'unit' | 'scale' | 'min' | 'max'>, si: number | null): string {
  return si === null ? '' : formatValue(registerShown(register).toShown(si));
}

/** Checks a typed value against its register: writable, a number, within the limits once
 * rounded to the register's resolution (as the bus rounds it). */
export function checkParam(register: ParamRegisterView, text: string): CellCheck {
  if (register.access !== 'rw') return { ok: false, message: `${register.name} is read only` };
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, message: 'Enter a value' };
  const typed = Number(trimmed);
  if (!Number.isFinite(typed) || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed)) {
    return { ok: false, message: `"${trimmed}" is not a number` };
  }
  return checkParamSi(register, registerShown(register).toSi(typed));
}

/** Checks an SI value (typed and converted, or from a backup) against its register. */
export function checkParamSi(register: ParamRegisterView, value: number): CellCheck {
  if (register.access !== 'rw') return { ok: false, message: `${register.name} is read only` };
  const step = Math.abs(register.scale);
  const rounded = step > 0 ? Math.round(value / register.scale) * register.scale : value;
  const slack = step * 1e-9;
  if (rounded < register.min - slack || rounded > register.max + slack) {
    const shown = registerShown(register).unit;
    const unit = shown ? ` ${shown}` : '';
    return { ok: false, message: `Outside ${showValue(register, register.min)} … ${showValue(register, register.max)}${unit}` };
  }
  return { ok: true, value };
}

/** Whether a cell's text differs from the register's last read value. */
export function isChanged(register: ParamRegisterView, text: string | undefined): boolean {
  if (text === undefined || register.access !== 'rw') return false;
  const trimmed = text.trim();
  if (register.value === null) return trimmed !== '';
  const number = registerShown(register).toSi(Number(trimmed));
  if (trimmed === '' || !Number.isFinite(number)) return true;
  return Math.round(number / register.scale) !== Math.round(register.value / register.scale);
}

/** The registers whose cells were changed and not written, in table order. */
export function changedNames(table: ParamTable, edits: Map<string, string>): string[] {
  return table.registers.filter((r) => isChanged(r, edits.get(r.name))).map((r) => r.name);
}

export type WritePlan = { values: [string, number][]; errors: Map<string, string> };

/** The values to write for `names` (table order); any error means nothing is sent. */
export function planWrite(table: ParamTable, edits: Map<string, string>, names: string[]): WritePlan {
  const values: [string, number][] = [];
  const errors = new Map<string, string>();
  for (const register of table.registers) {
    if (!names.includes(register.name)) continue;
    if (SETUP_REGISTERS[register.name]) {
      errors.set(register.name, SETUP_REGISTERS[register.name]);
      continue;
    }
    const text = edits.get(register.name);
    const check = text === undefined ? (register.value === null ? checkParam(register, '') : checkParamSi(register, register.value)) : checkParam(register, text);
    if (check.ok) values.push([register.name, check.value]);
    else errors.set(register.name, check.message);
  }
  return { values, errors };
}

export type Backup = { model: string | null; label: string | null; values: Map<string, number> };

/** Reads a backup file: `{"values": {"Register": number, …}}` (as Backup writes it) or a
 * plain `{"Register": number, …}`. */
export function parseBackup(text: string): Backup | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return `Not JSON: ${errorMessage(e)}`;
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return 'A backup is a JSON object';
  const root = json as Record<string, unknown>;
  const body = root.values && typeof root.values === 'object' && !Array.isArray(root.values) ? (root.values as Record<string, unknown>) : root;
  const values = new Map<string, number>();
  for (const [name, value] of Object.entries(body)) {
    if (body === root && ['model', 'label', 'drive', 'takenAtMs', 'units'].includes(name)) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) return `${name}: ${JSON.stringify(value)} is not a number`;
    values.set(name, value);
  }
  if (values.size === 0) return 'The backup holds no values';
  const text_ = (v: unknown) => (typeof v === 'string' ? v : null);
  return { model: text_(root.model), label: text_(root.label), values };
}

export type RestoreRow = { register: string; unit: string; current: number | null; backup: number; note: string };
export type RestorePlan = { rows: RestoreRow[]; values: [string, number][]; problems: string[] };

/** What restoring `backup` would change: the rows that differ from the current values
 * (or cannot be written), the values to send, and what stops it being sent at all. */
export function restorePreview(table: ParamTable, backup: Backup): RestorePlan {
  const rows: RestoreRow[] = [];
  const values: [string, number][] = [];
  const problems: string[] = [];
  if (backup.model && backup.model !== table.model) problems.push(`The backup is of a ${backup.model}, this drive is a ${table.model}`);
  for (const [name, value] of backup.values) {
    const register = table.registers.find((r) => r.name === name);
    if (!register) {
      problems.push(`${table.model} has no register "${name}"`);
      rows.push({ register: name, unit: '', current: null, backup: value, note: 'unknown register' });
      continue;
    }
    const same = register.value !== null && Math.round(register.value / register.scale) === Math.round(value / register.scale);
    if (register.access !== 'rw') {
      if (!same) rows.push({ register: name, unit: register.unit, current: register.value, backup: value, note: 'read only: kept' });
      continue;
    }
    const check = checkParamSi(register, value);
    if (!check.ok) {
      problems.push(`${name}: ${check.message}`);
      rows.push({ register: name, unit: register.unit, current: register.value, backup: value, note: check.message });
      continue;
    }
    values.push([name, value]);
    if (!same) rows.push({ register: name, unit: register.unit, current: register.value, backup: value, note: register.value === null ? 'not read yet' : 'changes' });
  }
  if (values.length === 0 && problems.length === 0) problems.push('The backup holds no writable values');
  return { rows, values, problems };
}

const FINISHED = ['done', 'failed', 'timedOut', 'cancelled'];

/** Waits for job `id` of `drive` to finish; resolves with its journal entry. */
export async function waitJob(backend: Backend, drive: DriveRef, id: number, timeoutMs = 15_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const jobs = await backend.jobs({ drive, limit: 200 });
    const job = jobs.find((j) => j.id === id);
    if (job && FINISHED.includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export class ParamsPanel {
  private drive: DriveRef | null = null;
  table: ParamTable | null = null;
  /** Cell texts typed by the user, by register. */
  readonly edits = new Map<string, string>();
  /** Messages beside cells, by register. */
  readonly errors = new Map<string, string>();
  private readonly selected = new Set<string>();
  private restorePlan: RestorePlan | null = null;
  private restoreLabel = '';
  private snapshots: SnapshotView[] = [];

  /** The drive's set-up steps (new ID, new rate, reboot, factory reset). */
  readonly setup: DriveSetupBar;

  constructor(
    private readonly root: HTMLElement,
    private readonly backend: Backend,
    private readonly notify: (ok: boolean, message: string) => void,
    /** A set-up step moved the drive to another ID (the selection should follow). */
    private readonly moved: (from: DriveRef, to: DriveRef) => void = () => {},
  ) {
    root.innerHTML = `
      <div class="params-head">
        <h2 id="params-title">Parameters</h2>
        <span class="spacer"></span>
        <button id="params-read" title="Read every register from the drive">Read all</button>
        <button id="params-write" class="primary" title="Write the selected rows, or every changed one">Write changed</button>
        <button id="params-flash" title="Keep the parameters across a power cycle">Save to flash</button>
        <button id="params-backup" title="Read the persistent registers and save them as JSON">Backup…</button>
        <button id="params-restore-open" title="Write a backup back, after a preview">Restore…</button>
        <button id="params-close">Close</button>
      </div>
      <div id="params-setup" class="params-setup"></div>
      <div id="params-status" class="muted small" role="status"></div>
      <div id="params-restore" class="params-restore" hidden>
        <div class="row">
          <input id="params-file" type="file" accept=".json,application/json" />
          <span class="muted small">or paste the JSON:</span>
        </div>
        <textarea id="params-json" rows="4" spellcheck="false" placeholder='{"values": {"Return Delay Time": 0.0005}}'></textarea>
        <div class="row"><button id="params-preview">Preview</button>
          <button id="params-restore-send" class="primary" disabled>Restore these values</button>
          <button id="params-restore-cancel">Cancel</button></div>
        <div id="params-restore-error" class="error" role="alert"></div>
        <table id="params-diff" class="params-grid"></table>
      </div>
      <div class="row">
        <label class="small">Compare snapshots <select id="params-left"></select></label>
        <label class="small">with <select id="params-right"></select></label>
        <button id="params-compare">Compare</button>
      </div>
      <table id="params-compare-table" class="params-grid"></table>
      <table id="params-grid" class="params-grid"></table>`;
    this.setup = new DriveSetupBar(this.$('#params-setup'), backend, notify, (from, to) => void this.follow(from, to));
    this.$('#params-close').addEventListener('click', () => this.close());
    this.$('#params-read').addEventListener('click', () => void this.readAll());
    this.$('#params-write').addEventListener('click', () => void this.write());
    this.$('#params-flash').addEventListener('click', () => void this.saveToFlash());
    this.$('#params-backup').addEventListener('click', () => void this.backup());
    this.$('#params-restore-open').addEventListener('click', () => {
      this.$('#params-restore').hidden = !this.$('#params-restore').hidden;
    });
    this.$('#params-restore-cancel').addEventListener('click', () => this.cancelRestore());
    this.$('#params-preview').addEventListener('click', () => this.preview(this.$<HTMLTextAreaElement>('#params-json').value));
    this.$('#params-restore-send').addEventListener('click', () => void this.restore());
    this.$('#params-compare').addEventListener('click', () => void this.compare());
    this.$<HTMLInputElement>('#params-file').addEventListener('change', (e) => {
      const file = (e.target as HTMLInputElement).files?.[0];
      if (!file) return;
      this.restoreLabel = file.name;
      void file.text().then((text) => {
        this.$<HTMLTextAreaElement>('#params-json').value = text;
        this.preview(text);
      });
    });
    const grid = this.$('#params-grid');
    grid.addEventListener('input', (e) => {
      const input = e.target as HTMLInputElement;
      const name = input.dataset.register;
      if (!name || !this.table) return;
      this.edits.set(name, input.value);
      this.errors.delete(name);
      this.paintRow(name);
    });
    grid.addEventListener('change', (e) => {
      const box = e.target as HTMLInputElement;
      const name = box.dataset.select;
      if (!name) return;
      if (box.checked) this.selected.add(name);
      else this.selected.delete(name);
      this.paintButtons();
    });
  }

  private $<T extends HTMLElement>(css: string): T {
    return this.root.querySelector(css) as T;
  }

  get isOpen(): boolean {
    return !this.root.hidden;
  }

  /** Opens the panel on `drive` (keeps typed values when it is the same drive). */
  async open(drive: DriveRef | null): Promise<void> {
    this.root.hidden = false;
    if (!drive) {
      this.drive = null;
      this.table = null;
      this.$('#params-title').textContent = 'Parameters: no drive selected';
      await this.setup.setDrive(null);
      this.render();
      return;
    }
    if (!this.drive || this.drive.link !== drive.link || this.drive.id !== drive.id) {
      this.edits.clear();
      this.errors.clear();
      this.selected.clear();
      this.cancelRestore();
    }
    this.drive = drive;
    await this.setup.setDrive(drive);
    await this.refresh();
  }

  /** A set-up step gave the drive another ID: the panel, and whoever selected it, follow
   * (typed values stay: it is the same drive). */
  private async follow(from: DriveRef, to: DriveRef): Promise<void> {
    if (this.drive && this.drive.link === from.link && this.drive.id === from.id) this.drive = to;
    this.moved(from, to);
    await this.refresh();
  }

  close(): void {
    this.root.hidden = true;
  }

  private status(text: string): void {
    this.$('#params-status').textContent = text;
  }

  /** Counts refreshes: only the newest one paints. */
  private refreshes = 0;
  private latest: Promise<void> = Promise.resolve();

  /** Reloads the table and values from the store. Resolves once the grid shows the newest
   * answer: an older refresh that answers late is dropped, never painted over a newer one
   * (or over another drive's). */
  async refresh(): Promise<void> {
    const load = this.load(++this.refreshes);
    this.latest = load;
    let seen = load;
    await seen;
    while (this.latest !== seen) {
      seen = this.latest;
      await seen;
    }
  }

  private async load(ticket: number): Promise<void> {
    const drive = this.drive;
    if (!drive) return;
    let table: ParamTable | null = null;
    let snapshots: SnapshotView[] | null = null;
    let problem: string | null = null;
    try {
      table = await this.backend.params(drive);
      snapshots = await this.backend.paramSnapshots(drive);
    } catch (e) {
      problem = errorMessage(e);
    }
    if (ticket !== this.refreshes) return;
    this.table = problem === null ? table : null;
    if (snapshots) this.snapshots = snapshots;
    if (this.table) this.$('#params-title').textContent = `Parameters · ${this.table.model} · ID ${drive.id}`;
    if (problem !== null) this.status(problem);
    this.render();
  }

  /** Submits a job, waits for it, then reloads the grid; true when the job ended done.
   * "done" shows only once the grid shows what the job left in the store, so whoever
   * reads the status (an engineer, a test) never sees the values from before the job. */
  private async run(what: string, command: Parameters<Backend['submit']>[0], onDone?: () => void): Promise<boolean> {
    if (!this.drive) return false;
    const drive = this.drive;
    this.status(`${what}…`);
    let ok = false;
    try {
      const id = await this.backend.submit(command);
      const job = await waitJob(this.backend, drive, id);
      ok = job.state === 'done';
      if (!ok) {
        this.status(`${what}: ${job.state}${job.reason ? `: ${job.reason}` : ''}`);
        this.notify(false, `${what} ${job.state}${job.reason ? `: ${job.reason}` : ''}`);
      }
    } catch (e) {
      this.status(`${what}: ${errorMessage(e)}`);
      this.notify(false, `${what} refused: ${errorMessage(e)}`);
      return false;
    }
    if (ok) onDone?.();
    await this.refresh();
    if (ok) this.status(`${what}: done`);
    return ok;
  }

  async readAll(): Promise<void> {
    if (!this.drive) return;
    // What the drive holds replaces what was typed and not written.
    await this.run('Read all', { kind: 'readParams', drive: this.drive, registers: [] }, () => {
      this.edits.clear();
      this.errors.clear();
    });
  }

  /** Writes the selected rows, or every changed one; nothing is sent if any is bad. */
  async write(): Promise<boolean> {
    if (!this.drive || !this.table) return false;
    const names = this.selected.size > 0 ? [...this.selected] : changedNames(this.table, this.edits);
    if (names.length === 0) {
      this.status('Nothing to write: change a value or tick a row');
      return false;
    }
    const plan = planWrite(this.table, this.edits, names);
    this.errors.clear();
    for (const [name, message] of plan.errors) this.errors.set(name, message);
    if (plan.errors.size > 0) {
      this.render();
      this.status(`Nothing written: ${plan.errors.size} value${plan.errors.size > 1 ? 's' : ''} to fix`);
      // Bring the first bad cell into view, ready to be corrected.
      const first = this.$('#params-grid').querySelector<HTMLInputElement>('input.invalid');
      first?.scrollIntoView?.({ block: 'center' });
      first?.focus();
      return false;
    }
    return this.run(`Write ${plan.values.length}`, { kind: 'writeParams', drive: this.drive, values: plan.values }, () => {
      for (const [name] of plan.values) this.edits.delete(name);
      this.selected.clear();
    });
  }

  async saveToFlash(): Promise<void> {
    if (!this.drive) return;
    await this.run('Save to flash', { kind: 'saveToFlash', drive: this.drive });
  }

  /** Backs up the persistent registers, then writes the snapshot as a JSON file. */
  async backup(): Promise<string | null> {
    if (!this.drive) return null;
    const label = `backup ${new Date().toISOString().slice(0, 19).replace('T', ' ')}`;
    const drive = this.drive;
    let id: number;
    try {
      id = await this.backend.submit({ kind: 'backupParams', drive, label });
    } catch (e) {
      this.status(`Backup refused: ${errorMessage(e)}`);
      return null;
    }
    try {
      const job = await waitJob(this.backend, drive, id);
      if (job.state !== 'done') throw new Error(`backup ${job.state}${job.reason ? `: ${job.reason}` : ''}`);
      const snapshots = await this.backend.paramSnapshots(drive);
      const snapshot = snapshots.find((s) => s.job === id && s.kind === 'backup');
      if (!snapshot) throw new Error('the backup snapshot is not in the store');
      const file = await this.backend.paramExport(snapshot.id);
      if (!('__TAURI_INTERNALS__' in window)) download(file.path.split('/').pop() ?? 'backup.json', file.text);
      this.status(`Backup saved to ${file.path}`);
      this.notify(true, `Backup saved to ${file.path}`);
      await this.refresh();
      return file.path;
    } catch (e) {
      this.status(`Backup: ${errorMessage(e)}`);
      return null;
    }
  }

  /** Shows what restoring `text` would change; enables Restore when it can be sent. */
  preview(text: string): RestorePlan | null {
    const error = this.$('#params-restore-error');
    const send = this.$<HTMLButtonElement>('#params-restore-send');
    const diff = this.$('#params-diff');
    this.restorePlan = null;
    send.disabled = true;
    diff.innerHTML = '';
    if (!this.table) {
      error.textContent = 'Read the drive first';
      return null;
    }
    const backup = parseBackup(text);
    if (typeof backup === 'string') {
      error.textContent = backup;
      return null;
    }
    if (backup.label && !this.restoreLabel) this.restoreLabel = backup.label;
    const plan = restorePreview(this.table, backup);
    error.textContent = plan.problems.join('; ');
    diff.innerHTML = `<tr><th>Register</th><th>Now</th><th>Backup</th><th>Unit</th><th></th></tr>` + (plan.rows.length === 0
      ? '<tr><td colspan="5" class="muted">No differences: the drive already holds these values</td></tr>'
      : plan.rows.map((r) => {
        const reg = this.table?.registers.find((x) => x.name === r.register);
        const [now, was, unit] = reg ? [showValue(reg, r.current), showValue(reg, r.backup), registerShown(reg).unit] : [formatValue(r.current), formatValue(r.backup), r.unit];
        return `<tr data-register="${escape(r.register)}"><td>${escape(r.register)}</td><td>${now}</td>
          <td>${was}</td><td>${escape(unit)}</td><td class="muted">${escape(r.note)}</td></tr>`;
      }).join(''));
    if (plan.problems.length === 0) {
      this.restorePlan = plan;
      send.disabled = false;
    }
    return plan;
  }

  async restore(): Promise<boolean> {
    if (!this.drive || !this.restorePlan) return false;
    return this.run('Restore', {
      kind: 'restoreParams', drive: this.drive, values: this.restorePlan.values, label: this.restoreLabel || 'restore',
    }, () => this.cancelRestore());
  }

  private cancelRestore(): void {
    this.restorePlan = null;
    this.restoreLabel = '';
    this.$('#params-restore').hidden = true;
    this.$<HTMLTextAreaElement>('#params-json').value = '';
    this.$('#params-diff').innerHTML = '';
    this.$('#params-restore-error').textContent = '';
    this.$<HTMLButtonElement>('#params-restore-send').disabled = true;
  }

  async compare(): Promise<ParamDiffView[] | null> {
    const left = Number(this.$<HTMLSelectElement>('#params-left').value);
    const right = Number(this.$<HTMLSelectElement>('#params-right').value);
    const out = this.$('#params-compare-table');
    if (!left || !right) {
      out.innerHTML = '<tr><td class="muted">Pick two snapshots</td></tr>';
      return null;
    }
    try {
      const diff = await this.backend.paramDiff(left, right);
      out.innerHTML = `<tr><th>Register</th><th>#${left}</th><th>#${right}</th><th>Unit</th></tr>` + (diff.length === 0
        ? '<tr><td colspan="4" class="muted">Identical</td></tr>'
        : diff.map((d) => `<tr><td>${escape(d.register)}</td><td>${formatValue(d.left)}</td><td>${formatValue(d.right)}</td>
            <td>${escape(d.unit)}</td></tr>`).join(''));
      return diff;
    } catch (e) {
      out.innerHTML = `<tr><td class="error">${escape(errorMessage(e))}</td></tr>`;
      return null;
    }
  }

  private snapshotOptions(): string {
    return '<option value="">—</option>' + this.snapshots.map((s) => {
      const when = new Date(s.atMs).toISOString().slice(0, 19).replace('T', ' ');
      return `<option value="${s.id}">#${s.id} ${escape(s.kind)} ${when}${s.label ? ` ${escape(s.label)}` : ''} (session ${s.session ?? '—'})</option>`;
    }).join('');
  }

  /** The unit system changed: values typed in the old units are dropped (they would
   * mean something else now) and the grid is shown again. */
  unitsChanged(): void {
    if (this.edits.size > 0) this.edits.clear();
    this.errors.clear();
    if (this.table) this.render();
  }

  private render(): void {
    const grid = this.$('#params-grid');
    for (const id of ['#params-left', '#params-right']) {
      const select = this.$<HTMLSelectElement>(id);
      const value = select.value;
      select.innerHTML = this.snapshotOptions();
      select.value = value;
    }
    if (!this.table) {
      grid.innerHTML = '';
      this.paintButtons();
      return;
    }
    grid.innerHTML = `<tr><th></th><th>Register</th><th>Addr</th><th>Type</th><th>Value</th><th>Unit</th><th>Range</th><th></th></tr>` +
      this.table.registers.map((r) => {
        const bySetup = SETUP_REGISTERS[r.name];
        const readOnly = r.access !== 'rw' || !!bySetup;
        const text = this.edits.get(r.name) ?? showValue(r, r.value);
        const shown = registerShown(r);
        const title = escape(r.description ?? '');
        const input = readOnly
          ? `<span class="ro-value">${showValue(r, r.value)}</span>`
          : `<input type="text" inputmode="decimal" spellcheck="false" autocomplete="off" data-register="${escape(r.name)}" value="${escape(text)}"
              title="${escape(`${r.name}: ${showValue(r, r.min)} … ${showValue(r, r.max)} ${shown.unit}`.trim())}" />`;
        return `<tr data-row="${escape(r.name)}" class="${readOnly ? 'read-only' : ''}" title="${title}">
          <td>${readOnly ? '' : `<input type="checkbox" data-select="${escape(r.name)}" ${this.selected.has(r.name) ? 'checked' : ''} />`}</td>
          <td>${escape(r.name)}${r.persistent ? ' <span class="muted small" title="Kept across a power cycle (EEPROM)">●</span>' : ''}</td>
          <td class="num">${r.address}</td><td>${escape(r.type)}</td>
          <td>${input}</td><td class="unit">${escape(shown.unit)}</td>
          <td class="muted small"${bySetup ? ` title="${escape(bySetup)}"` : ''}>${bySetup ? 'Bus set-up ↑' : readOnly ? 'read only' : `${showValue(r, r.min)} … ${showValue(r, r.max)}`}</td>
          <td class="error small cell-error"></td></tr>`;
      }).join('');
    for (const r of this.table.registers) this.paintRow(r.name);
  }

  /** Marks a row changed/invalid and shows its message. */
  private paintRow(name: string): void {
    if (!this.table) return;
    const register = this.table.registers.find((r) => r.name === name);
    const row = [...this.$('#params-grid').querySelectorAll<HTMLElement>('tr[data-row]')].find((tr) => tr.dataset.row === name);
    if (!register || !row) return;
    const message = this.errors.get(name) ?? '';
    row.classList.toggle('changed', isChanged(register, this.edits.get(name)));
    row.querySelector('input[type="text"]')?.classList.toggle('invalid', message !== '');
    row.querySelector('.cell-error')!.textContent = message;
    this.paintButtons();
  }

  private paintButtons(): void {
    const none = !this.table;
    for (const id of ['#params-read', '#params-write', '#params-flash', '#params-backup', '#params-restore-open']) {
      this.$<HTMLButtonElement>(id).disabled = none;
    }
    if (this.table) {
      const changed = changedNames(this.table, this.edits).length;
      this.$('#params-write').textContent = this.selected.size > 0 ? `Write selected (${this.selected.size})` : `Write changed (${changed})`;
      this.$<HTMLButtonElement>('#params-write').disabled = this.selected.size === 0 && changed === 0;
    }
  }
}

/** Offers `text` as a file download (a plain browser; the app writes to exports/). */
function download(name: string, text: string): void {
  if (typeof URL.createObjectURL !== 'function') return;
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
