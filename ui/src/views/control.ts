// The control panel of the selected drive: enable/disable, mode, target entry. Input is
// checked here first; anything invalid is shown beside the field and nothing is sent.
import type { Backend } from '../backend/index';
import { errorMessage, type DriveMode, type DriveView } from '../backend/types';
import { angleShown, speedShown } from '../units';
import { parseSoftLimits, parseTarget, rangeText } from '../validate';

export class ControlPanel {
  private drive: DriveView | null = null;
  private readonly title: HTMLElement;
  private readonly enable: HTMLButtonElement;
  private readonly disable: HTMLButtonElement;
  private readonly mode: HTMLSelectElement;
  private readonly target: HTMLInputElement;
  private readonly unit: HTMLElement;
  private readonly range: HTMLElement;
  private readonly move: HTMLButtonElement;
  private readonly error: HTMLElement;
  private readonly fault: HTMLElement;
  private readonly armDialog: HTMLElement;
  private readonly jogButtons: HTMLButtonElement[];
  private readonly softMin: HTMLInputElement;
  private readonly softMax: HTMLInputElement;
  private readonly softSpeed: HTMLInputElement;
  private readonly softError: HTMLElement;
  private readonly faultRow: HTMLElement;
  private jogTimer: ReturnType<typeof setInterval> | null = null;

  constructor(root: HTMLElement, private readonly backend: Backend) {
    root.innerHTML = `
      <h2 id="selected-drive">No drive</h2>
      <div class="row">
        <button id="enable" class="good" title="Arm and enable the selected drive (asks first): the motor holds or moves at once">Enable</button>
        <button id="disable" title="Torque off: the selected drive coasts (Esc stops every drive)">Disable</button>
        <label title="Control mode; drives change mode only while disabled">Mode <select id="mode">
          <option value="position">position</option>
          <option value="velocity">velocity</option>
        </select></label>
      </div>
      <div class="row">
        <label for="target">Target</label>
        <input id="target" type="text" inputmode="decimal" autocomplete="off" spellcheck="false" />
        <span id="target-unit"></span>
        <button id="move" class="primary" title="Send the target (checked against the limits first; nothing is sent if it is outside)">Move</button>
        <span id="target-range" class="muted"></span>
      </div>
      <div class="row" id="jog-row">
        <span class="muted" title="Hold a button to turn at 25 % of the velocity limit (velocity mode, enabled)">Jog (hold)</span>
        <button id="jog-minus" title="Hold to turn backwards">◀ −</button>
        <button id="jog-plus" title="Hold to turn forwards">+ ▶</button>
      </div>
      <div class="row" id="soft-row">
        <span class="muted" title="Tighter than the drive's own limits: targets and jogs outside them are refused before anything is sent">Soft limits</span>
        <input id="soft-min" type="text" inputmode="decimal" size="6" placeholder="min °" aria-label="Soft position minimum, degrees" />
        <input id="soft-max" type="text" inputmode="decimal" size="6" placeholder="max °" aria-label="Soft position maximum, degrees" />
        <input id="soft-speed" type="text" inputmode="decimal" size="6" placeholder="max rpm" aria-label="Soft speed limit, rpm" />
        <button id="soft-set" title="Set the soft limits (tighter than the drive's own)">Set</button>
        <button id="soft-clear" title="Clear the soft limits: the drive's own limits apply">Clear</button>
      </div>
      <div id="soft-error" class="error" role="alert"></div>
      <div id="arm-dialog" class="arm" role="alertdialog" aria-labelledby="arm-text" hidden>
        <p id="arm-text"></p>
        <button id="arm-confirm" class="danger" title="Arm, then enable: the motor is powered">Arm &amp; enable</button>
        <button id="arm-cancel" title="Leave the drive disabled">Cancel</button>
      </div>
      <div id="target-error" class="error" role="alert"></div>
      <div class="row" id="fault-row" hidden>
        <span id="drive-fault" class="error"></span>
        <button id="clear-fault" title="Reboot (DYNAMIXEL) or Fault Reset (CiA 402); the drive stays disabled">Clear fault</button>
      </div>`;
    const q = <T extends HTMLElement>(css: string) => root.querySelector(css) as T;
    this.title = q('#selected-drive');
    this.enable = q('#enable');
    this.disable = q('#disable');
    this.mode = q('#mode');
    this.target = q('#target');
    this.unit = q('#target-unit');
    this.range = q('#target-range');
    this.move = q('#move');
    this.error = q('#target-error');
    this.fault = q('#drive-fault');
    this.armDialog = q('#arm-dialog');
    this.jogButtons = [q<HTMLButtonElement>('#jog-minus'), q<HTMLButtonElement>('#jog-plus')];
    this.softMin = q('#soft-min');
    this.softMax = q('#soft-max');
    this.softSpeed = q('#soft-speed');
    this.softError = q('#soft-error');
    this.faultRow = q('#fault-row');
    q<HTMLButtonElement>('#clear-fault').addEventListener('click', () => void this.clearFault());
    q<HTMLButtonElement>('#soft-set').addEventListener('click', () => void this.setSoftLimits(false));
    q<HTMLButtonElement>('#soft-clear').addEventListener('click', () => void this.setSoftLimits(true));
    for (const input of [this.softMin, this.softMax, this.softSpeed]) {
      input.addEventListener('input', () => this.showSoftError(''));
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') void this.setSoftLimits(false);
      });
    }
    this.jogButtons.forEach((button, i) => {
      const sign = i === 0 ? -1 : 1;
      button.addEventListener('pointerdown', () => this.startJog(sign));
      for (const end of ['pointerup', 'pointerleave', 'pointercancel', 'blur']) {
        button.addEventListener(end, () => this.stopJog());
      }
    });

    // Enabling is two deliberate steps: ask, then arm + enable.
    this.enable.addEventListener('click', () => this.askToArm());
    q<HTMLButtonElement>('#arm-confirm').addEventListener('click', () => void this.armAndEnable());
    q<HTMLButtonElement>('#arm-cancel').addEventListener('click', () => (this.armDialog.hidden = true));
    this.disable.addEventListener('click', () => this.send('disable'));
    this.mode.addEventListener('change', () => void this.changeMode(this.mode.value as DriveMode));
    this.move.addEventListener('click', () => void this.submitTarget());
    this.target.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') void this.submitTarget();
    });
    this.target.addEventListener('input', () => this.showError(''));
    this.update(null);
  }

  /** Shows `drive` (or nothing). Called on every poll. */
  update(drive: DriveView | null): void {
    const changedDrive = drive?.drive.id !== this.drive?.drive.id || drive?.drive.link !== this.drive?.drive.link;
    const changedMode = drive?.mode !== this.drive?.mode;
    this.drive = drive;
    const none = drive === null;
    for (const el of [this.enable, this.disable, this.move, this.target, ...this.jogButtons]) el.disabled = none;
    if (!drive) {
      this.faultRow.hidden = true;
      this.stopJog();
      this.title.textContent = 'No drive';
      this.armDialog.hidden = true;
      return;
    }
    this.title.textContent = `${drive.model} · ID ${drive.drive.id}`;
    this.enable.disabled = drive.enabled;
    const canJog = drive.enabled && drive.mode === 'velocity';
    for (const b of this.jogButtons) b.disabled = !canJog;
    if (!canJog) this.stopJog();
    this.disable.disabled = !drive.enabled;
    // Drives change mode only with torque off.
    this.mode.disabled = drive.enabled;
    if (document.activeElement !== this.mode) this.mode.value = drive.mode;
    this.unit.textContent = drive.mode === 'position' ? angleShown().unit : speedShown().unit;
    this.range.textContent = rangeText(drive) + (drive.softLimits.position || drive.softLimits.velocity ? ' (soft limits)' : '');
    this.target.title = `Target ${drive.mode === 'position' ? 'position' : 'velocity'}, ${rangeText(drive)} (Enter moves)`;
    this.showSoftUnits();
    const jog = `${rangeText({ ...drive, mode: 'velocity' }).split(' – ')[1] ?? ''}`;
    const jogTitle = `at 25 % of the velocity limit (${jog}); stops when released`;
    if (this.jogButtons[0].title !== `Hold to turn backwards, ${jogTitle}`) {
      this.jogButtons[0].title = `Hold to turn backwards, ${jogTitle}`;
      this.jogButtons[1].title = `Hold to turn forwards, ${jogTitle}`;
    }
    if (changedDrive) this.showSoftLimits(drive);
    this.fault.textContent = drive.fault ? `Fault: ${drive.fault}` : '';
    this.faultRow.hidden = !drive.fault;
    if (changedDrive || changedMode) this.showError('');
    if (changedDrive || drive.enabled) this.armDialog.hidden = true;
  }

  /** The unit system changed: the fields show the drive's values in the new units. */
  unitsChanged(): void {
    if (!this.drive) return;
    this.showSoftLimits(this.drive);
    this.update(this.drive);
  }

  /** Placeholders and tooltips of the soft-limit fields in the units in use. */
  private showSoftUnits(): void {
    const angle = angleShown().unit;
    const speed = speedShown().unit;
    if (this.softMin.title === `Soft position minimum, ${angle}` && this.softSpeed.title.startsWith(`Soft speed limit, ${speed} `)) return;
    this.softMin.placeholder = `min ${angle}`;
    this.softMax.placeholder = `max ${angle}`;
    this.softSpeed.placeholder = `max ${speed}`;
    const label = (input: HTMLInputElement, text: string) => {
      input.title = text;
      input.setAttribute('aria-label', text);
    };
    label(this.softMin, `Soft position minimum, ${angle}`);
    label(this.softMax, `Soft position maximum, ${angle}`);
    label(this.softSpeed, `Soft speed limit, ${speed} (above zero)`);
  }

  /** Fills the soft-limit fields from the drive's current soft limits. */
  private showSoftLimits(drive: DriveView): void {
    const angle = angleShown();
    const speed = speedShown();
    const fmt = (v: number, digits: number) => String(Number(v.toFixed(digits)));
    const { position, velocity } = drive.softLimits;
    this.softMin.value = position ? fmt(angle.toShown(position[0]), angle.digits) : '';
    this.softMax.value = position ? fmt(angle.toShown(position[1]), angle.digits) : '';
    this.softSpeed.value = velocity !== null ? fmt(speed.toShown(velocity), speed.digits) : '';
    this.showSoftError('');
  }

  private showSoftError(message: string): void {
    this.softError.textContent = message;
    for (const input of [this.softMin, this.softMax, this.softSpeed]) input.classList.toggle('invalid', message !== '');
  }

  /** Checks the soft-limit fields and sends them (or clears the limits); a refusal is
   * shown beside the fields and changes nothing. */
  async setSoftLimits(clear: boolean): Promise<boolean> {
    if (!this.drive) return false;
    const check = clear ? { ok: true as const, limits: { position: null, velocity: null } } : parseSoftLimits(this.softMin.value, this.softMax.value, this.softSpeed.value);
    if (!check.ok) {
      this.showSoftError(check.message);
      return false;
    }
    try {
      await this.backend.submit({ kind: 'setSoftLimits', drive: this.drive.drive, limits: check.limits });
      if (clear) for (const input of [this.softMin, this.softMax, this.softSpeed]) input.value = '';
      this.showSoftError('');
      return true;
    } catch (e) {
      this.showSoftError(errorMessage(e));
      return false;
    }
  }

  private showError(message: string): void {
    this.error.textContent = message;
    this.target.classList.toggle('invalid', message !== '');
  }

  /** Hold-to-run: a renewal every 100 ms, each good for 300 ms; letting go stops it. */
  startJog(sign: 1 | -1): void {
    this.stopJog();
    const d = this.drive;
    if (!d || !d.enabled || d.mode !== 'velocity') return;
    const send = () =>
      this.backend
        .submit({ kind: 'jog', drive: d.drive, velocity: sign * 0.25 * d.velocityLimit, holdMs: 300 })
        .catch((e) => {
          this.stopJog();
          this.showError(errorMessage(e));
        });
    void send();
    this.jogTimer = setInterval(() => void send(), 100);
  }

  stopJog(): void {
    if (this.jogTimer !== null) clearInterval(this.jogTimer);
    this.jogTimer = null;
  }

  private askToArm(): void {
    if (!this.drive) return;
    const d = this.drive;
    (this.armDialog.querySelector('#arm-text') as HTMLElement).textContent =
      `Arm ${d.model} ID ${d.drive.id}? Enabling powers the motor: it holds or moves to its target at once.`;
    this.armDialog.hidden = false;
  }

  /** The confirmed path: Arm, then Enable. */
  async armAndEnable(): Promise<void> {
    this.armDialog.hidden = true;
    if (!this.drive) return;
    const drive = this.drive.drive;
    try {
      await this.backend.submit({ kind: 'arm', drive });
      await this.backend.submit({ kind: 'enable', drive });
    } catch (e) {
      this.showError(errorMessage(e));
    }
  }

  /** Clears the drive's latched fault (a job; the drive stays disabled). */
  async clearFault(): Promise<boolean> {
    if (!this.drive) return false;
    try {
      await this.backend.submit({ kind: 'clearFault', drive: this.drive.drive });
      return true;
    } catch (e) {
      this.showError(errorMessage(e));
      return false;
    }
  }

  private async send(kind: 'disable'): Promise<void> {
    if (!this.drive) return;
    try {
      await this.backend.submit({ kind, drive: this.drive.drive });
    } catch (e) {
      this.showError(errorMessage(e));
    }
  }

  private async changeMode(mode: DriveMode): Promise<void> {
    if (!this.drive || mode === this.drive.mode) return;
    try {
      await this.backend.submit({ kind: 'setMode', drive: this.drive.drive, mode });
    } catch (e) {
      this.showError(errorMessage(e));
      this.mode.value = this.drive.mode;
    }
  }

  /** Checks the typed target; sends it only when valid. */
  async submitTarget(): Promise<boolean> {
    if (!this.drive) return false;
    const check = parseTarget(this.target.value, this.drive);
    if (!check.ok) {
      this.showError(check.message);
      return false;
    }
    this.showError('');
    try {
      await this.backend.submit({ kind: 'setTarget', drive: this.drive.drive, target: check.target });
      return true;
    } catch (e) {
      this.showError(errorMessage(e));
      return false;
    }
  }
}
