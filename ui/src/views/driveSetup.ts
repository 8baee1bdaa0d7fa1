// The Parameters panel's "Bus set-up" bar: a connected drive's set-up steps — Change ID…,
// Change baud…, Reboot…, Factory reset… (with what it keeps). The grid does not write
// the ID and Baud Rate registers (the link would lose the drive); these steps move the
// link with it. Each step opens a small inline dialog: the new value, or for a reboot or
// a reset the consequences and a button that is the confirmation. An enabled drive is
// refused before anything is sent ("disable it first"), a bad ID beside its field; the
// outcome shows under the bar, and after a new ID the panel (and the selected drive)
// follows the drive to its new DriveRef.
import type { Backend } from '../backend/index';
import type { DriveRef, LinkView, ResetKeep, SetupDone, SetupStep } from '../backend/types';
import { BAUD_RATES, MODBUS_SETUP_NOTE, SETUP_PROTOCOLS, errorMessage } from '../backend/types';

export type SetupAction = SetupStep['step'];

/** What a factory reset keeps, as the dialog offers it. */
export const KEEP_CHOICES: { keep: ResetKeep; label: string }[] = [
  { keep: 'idAndBaud', label: 'keep the ID and baud rate' },
  { keep: 'id', label: 'keep the ID (baud back to the factory rate)' },
  { keep: 'nothing', label: 'keep nothing (ID and baud back to the factory values)' },
];

/** A new ID for drive `id`, as typed: a whole number 1–252, not its own, not another
 * connected drive's on the same link (`others`). */
export function checkNewId(text: string, id: number, others: number[]): number | string {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return trimmed === '' ? 'Enter the new ID (1–252)' : `"${trimmed}" is not an ID: a whole number 1–252`;
  const to = Number(trimmed);
  if (to < 1 || to > 252) return `ID ${to} is outside 1–252`;
  if (to === id) return `The drive already has ID ${to}`;
  if (others.includes(to)) return `ID ${to} is taken: drive ${to} is on this link`;
  return to;
}

/** What the user is asked before each step (the button that follows confirms it). */
function question(action: SetupAction, id: number, link: LinkView | null): string {
  switch (action) {
    case 'changeId': return `Give drive ${id} another bus ID (1–252). The link follows the drive to it.`;
    case 'changeBaud': return `Move drive ${id} to another baud rate (now ${link ? `${link.baud} baud` : 'unknown'}). `
      + 'The link reopens at the new rate; the drive must be alone on its link.';
    case 'reboot': return `Reboot drive ${id}? It restarts with torque off and its RAM settings back to their defaults.`;
    case 'factoryReset': return `Factory reset drive ${id}? Every setting goes back to the factory value, except what you keep.`;
  }
}

const APPLY: Record<SetupAction, string> = {
  changeId: 'Change ID', changeBaud: 'Change baud', reboot: 'Reboot', factoryReset: 'Factory reset',
};

export class DriveSetupBar {
  private drive: DriveRef | null = null;
  private link: LinkView | null = null;
  /** The step whose dialog is open. */
  private pending: SetupAction | null = null;
  private busy = false;

  constructor(
    private readonly root: HTMLElement,
    private readonly backend: Backend,
    private readonly notify: (ok: boolean, message: string) => void,
    /** A step moved the drive (a new ID, a reset to the factory ID). */
    private readonly moved: (from: DriveRef, to: DriveRef) => void,
  ) {
    root.innerHTML = `
      <div class="row">
        <span class="muted small" title="A drive's bus ID, baud rate, reboot and factory reset: set-up jobs that move the link with the drive (drive disabled)">Bus set-up</span>
        <button id="setup-change-id" data-action="changeId" title="Give the drive another bus ID (a whole number 1–252, free on the bus); the link follows it">Change ID…</button>
        <button id="setup-change-baud" data-action="changeBaud" title="Move the drive to another baud rate (bits/s, one its protocol can encode); it must be alone on its link">Change baud…</button>
        <button id="setup-reboot" data-action="reboot" title="Restart the drive (asks first): torque off, RAM settings back to their defaults">Reboot…</button>
        <button id="setup-reset" data-action="factoryReset" title="Every setting back to the factory value (asks first), keeping the ID and/or the baud rate if chosen">Factory reset…</button>
      </div>
      <div id="setup-dialog" class="arm" role="alertdialog" aria-labelledby="setup-question" hidden>
        <p id="setup-question"></p>
        <div class="row">
          <label id="setup-id-field" title="The new bus ID: a whole number 1–252, not one another drive has">New ID
            <input id="setup-new-id" inputmode="numeric" size="4"></label>
          <label id="setup-baud-field" title="The new baud rate, bits/s: the rates the drive's protocol can encode">New rate
            <select id="setup-new-baud"></select></label>
          <label id="setup-keep-field" title="What survives the factory reset">Keep
            <select id="setup-keep">${KEEP_CHOICES.map((c) => `<option value="${c.keep}">${c.label}</option>`).join('')}</select></label>
          <button id="setup-apply" class="danger" title="Send the set-up step (this is the confirmation)"></button>
          <button id="setup-cancel" title="Close without sending anything">Cancel</button>
        </div>
        <div id="setup-dialog-error" class="error small" role="alert"></div>
      </div>
      <div id="setup-status" class="muted small" role="status"></div>`;
    for (const button of root.querySelectorAll<HTMLButtonElement>('button[data-action]')) {
      button.dataset.tip = button.title;
      button.addEventListener('click', () => void this.ask(button.dataset.action as SetupAction));
    }
    this.$('#setup-apply').addEventListener('click', () => void this.apply());
    this.$('#setup-cancel').addEventListener('click', () => this.cancel());
    this.$('#setup-new-id').addEventListener('input', () => (this.$('#setup-dialog-error').textContent = ''));
    this.$('#setup-new-id').addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Enter') void this.apply();
    });
    this.paint();
  }

  private $<T extends HTMLElement>(css: string): T {
    return this.root.querySelector(css) as T;
  }

  private status(text: string): void {
    this.$('#setup-status').textContent = text;
  }

  /** Shows the bar for `drive` (or none); reads which link it is on, at what rate. */
  async setDrive(drive: DriveRef | null): Promise<void> {
    const same = !!drive && !!this.drive && drive.link === this.drive.link && drive.id === this.drive.id;
    this.drive = drive;
    if (!same) {
      this.cancel();
      this.status('');
    }
    this.link = null;
    if (drive) {
      try {
        this.link = (await this.backend.appStatus()).links.find((l) => l.id === drive.link) ?? null;
      } catch {
        this.link = null;
      }
    }
    this.paint();
  }

  private get modbus(): boolean {
    return this.link?.protocol === 'modbus-rtu';
  }

  private paint(): void {
    for (const button of this.root.querySelectorAll<HTMLButtonElement>('button[data-action]')) {
      button.disabled = !this.drive || this.modbus || this.busy;
      button.title = this.modbus ? MODBUS_SETUP_NOTE : button.dataset.tip ?? '';
    }
  }

  /** The drive as the backend has it now: enabled or not, and the other IDs on its link. */
  private async state(drive: DriveRef): Promise<{ enabled: boolean; others: number[] } | null> {
    const drives = await this.backend.drives();
    const mine = drives.find((d) => d.drive.link === drive.link && d.drive.id === drive.id);
    if (!mine) return null;
    return { enabled: mine.enabled, others: drives.filter((d) => d.drive.link === drive.link && d.drive.id !== drive.id).map((d) => d.drive.id) };
  }

  /** Refuses an enabled (or gone) drive before anything is sent, saying so under the
   * bar; the other IDs on its link when the step may go on, null otherwise. */
  private async ready(drive: DriveRef): Promise<{ others: number[] } | null> {
    let state: Awaited<ReturnType<DriveSetupBar['state']>>;
    try {
      state = await this.state(drive);
    } catch (e) {
      this.status(`Set-up: ${errorMessage(e)}`);
      return null;
    }
    if (!state) {
      this.status(`Drive ${drive.id} is not connected`);
      return null;
    }
    if (state.enabled) {
      this.cancel();
      this.status(`Drive ${drive.id} is enabled: disable it first (set-up steps are made with torque off); nothing was sent`);
      return null;
    }
    return state;
  }

  /** Opens the dialog of `action` (nothing is sent yet). */
  async ask(action: SetupAction): Promise<boolean> {
    const drive = this.drive;
    if (!drive || this.busy) return false;
    if (this.modbus) {
      this.status(MODBUS_SETUP_NOTE);
      return false;
    }
    if (!(await this.ready(drive))) return false;
    this.pending = action;
    this.$('#setup-question').textContent = question(action, drive.id, this.link);
    this.$('#setup-id-field').hidden = action !== 'changeId';
    this.$('#setup-baud-field').hidden = action !== 'changeBaud';
    this.$('#setup-keep-field').hidden = action !== 'factoryReset';
    if (action === 'changeId') this.$<HTMLInputElement>('#setup-new-id').value = '';
    if (action === 'changeBaud') this.fillRates();
    if (action === 'factoryReset') this.$<HTMLSelectElement>('#setup-keep').value = 'idAndBaud';
    const apply = this.$<HTMLButtonElement>('#setup-apply');
    apply.textContent = APPLY[action];
    // A new ID or rate is a value typed and sent; a reboot or reset is the dangerous one.
    apply.classList.toggle('danger', action === 'reboot' || action === 'factoryReset');
    apply.classList.toggle('primary', action === 'changeId' || action === 'changeBaud');
    this.$('#setup-dialog-error').textContent = '';
    this.$('#setup-dialog').hidden = false;
    if (action === 'changeId') this.$<HTMLInputElement>('#setup-new-id').focus();
    return true;
  }

  private fillRates(): void {
    const protocol = SETUP_PROTOCOLS.find((p) => p === this.link?.protocol);
    const rates = protocol ? BAUD_RATES[protocol].filter((r) => r !== this.link?.baud) : [];
    this.$<HTMLSelectElement>('#setup-new-baud').innerHTML = rates.map((r) => `<option value="${r}">${r} baud</option>`).join('');
  }

  cancel(): void {
    this.pending = null;
    this.$('#setup-dialog').hidden = true;
    this.$('#setup-dialog-error').textContent = '';
  }

  /** Sends the step of the open dialog (its button is the confirmation); the outcome,
   * or null when it was refused (here, or by the backend). */
  async apply(): Promise<SetupDone | null> {
    const drive = this.drive;
    const action = this.pending;
    if (!drive || !action || this.busy) return null;
    const error = this.$('#setup-dialog-error');
    const state = await this.ready(drive);
    if (!state) return null;
    let step: SetupStep;
    switch (action) {
      case 'changeId': {
        const to = checkNewId(this.$<HTMLInputElement>('#setup-new-id').value, drive.id, state.others);
        if (typeof to === 'string') {
          error.textContent = to;
          return null;
        }
        step = { step: 'changeId', to };
        break;
      }
      case 'changeBaud': {
        const baud = Number(this.$<HTMLSelectElement>('#setup-new-baud').value);
        if (!baud) {
          error.textContent = this.link ? `No other rate for a ${this.link.protocol} drive` : 'The link of this drive is not known: reopen the panel';
          return null;
        }
        step = { step: 'changeBaud', baud };
        break;
      }
      case 'reboot':
        step = { step: 'reboot', confirm: true };
        break;
      case 'factoryReset':
        step = { step: 'factoryReset', keep: this.$<HTMLSelectElement>('#setup-keep').value as ResetKeep, confirm: true };
        break;
    }
    this.busy = true;
    this.paint();
    this.status(`${APPLY[action]}…`);
    try {
      const done = await this.backend.setupDrive(drive, step);
      this.cancel();
      const outcome = this.outcome(step, drive, done);
      this.status(outcome);
      this.notify(true, outcome);
      if (done.drive.link !== drive.link || done.drive.id !== drive.id) {
        this.drive = done.drive;
        this.moved(drive, done.drive);
      }
      if (this.link) this.link = { ...this.link, baud: done.baud };
      return done;
    } catch (e) {
      error.textContent = errorMessage(e);
      this.status(`${APPLY[action]} refused: ${errorMessage(e)}`);
      return null;
    } finally {
      this.busy = false;
      this.paint();
    }
  }

  private outcome(step: SetupStep, from: DriveRef, done: SetupDone): string {
    const where = `ID ${done.drive.id} at ${done.baud} baud`;
    switch (step.step) {
      case 'changeId': return `Drive ${from.id} is now ID ${done.drive.id} (job ${done.job})`;
      case 'changeBaud': return `Drive ${from.id} now talks at ${done.baud} baud (job ${done.job})`;
      case 'reboot': return `Drive ${from.id} rebooted: torque off, ${where} (job ${done.job})`;
      case 'factoryReset': return `Drive ${from.id} reset to the factory values: now ${where}; Read all to see them (job ${done.job})`;
    }
  }
}
