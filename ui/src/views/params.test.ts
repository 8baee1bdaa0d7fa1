import { describe, expect, it, vi } from 'vitest';
import { FakeBackend } from '../backend/fake';
import type { ParamRegisterView } from '../backend/types';
import { ParamsPanel, checkParam, isChanged, parseBackup, planWrite, restorePreview } from './params';
import { setUnitSystem } from '../units';

const DRIVE = { link: 1, id: 1 };
const last = (backend: FakeBackend) => backend.submitted[backend.submitted.length - 1];

async function mount(read = true) {
  document.body.innerHTML = '<div id="params"></div>';
  const backend = new FakeBackend();
  const notify = vi.fn();
  const panel = new ParamsPanel(document.getElementById('params')!, backend, notify);
  await panel.open(DRIVE);
  if (read) await panel.readAll();
  const $ = <T extends HTMLElement>(css: string) => document.querySelector(css) as T;
  const row = (name: string) => [...document.querySelectorAll<HTMLElement>('tr[data-row]')].find((tr) => tr.dataset.row === name)!;
  const type = (name: string, text: string) => {
    const input = row(name).querySelector<HTMLInputElement>('input[type="text"]')!;
    input.value = text;
    input.dispatchEvent(new Event('input', { bubbles: true }));
  };
  return { backend, notify, panel, $, row, type };
}

const register = (over: Partial<ParamRegisterView> = {}): ParamRegisterView => ({
  name: 'Return Delay Time', address: 9, size: 1, type: 'u8', unit: 's', scale: 2e-6, min: 0, max: 254 * 2e-6,
  access: 'rw', persistent: true, description: null, raw: 250, value: 250 * 2e-6, ...over,
});

describe('checkParam', () => {
  it('takes a number within the limits once rounded to the resolution', () => {
    // Typed in µs (a return delay reads better so), checked and sent in SI.
    expect(checkParam(register(), '500')).toEqual({ ok: true, value: 0.0005 });
    // 254.4 counts rounds to 254: still in range, as the bus rounds it.
    expect(checkParam(register(), String(254.4 * 2))).toMatchObject({ ok: true });
  });
  it('refuses empty, not a number, out of range and read-only', () => {
    expect(checkParam(register(), '  ')).toEqual({ ok: false, message: 'Enter a value' });
    expect(checkParam(register(), '1,5')).toMatchObject({ ok: false, message: '"1,5" is not a number' });
    expect(checkParam(register(), 'NaN').ok).toBe(false);
    expect(checkParam(register(), '0x10').ok).toBe(false);
    expect(checkParam(register(), String(255 * 2))).toMatchObject({ ok: false, message: expect.stringContaining('Outside 0 … 508 µs') });
    expect(checkParam(register(), '-10').ok).toBe(false);
    expect(checkParam(register({ access: 'r' }), '1')).toMatchObject({ ok: false, message: 'Return Delay Time is read only' });
  });
  it('calls a value changed only when it lands on another raw count', () => {
    expect(isChanged(register(), undefined)).toBe(false);
    expect(isChanged(register(), '500')).toBe(false);
    expect(isChanged(register(), '500.0001')).toBe(false);
    expect(isChanged(register(), '502')).toBe(true);
    expect(isChanged(register(), 'abc')).toBe(true);
    expect(isChanged(register({ access: 'r' }), '7')).toBe(false);
    expect(isChanged(register({ value: null, raw: null }), '')).toBe(false);
  });
});

describe('the grid', () => {
  it('shows units, limits and read-only registers without an input', async () => {
    const { row } = await mount();
    // rad/s in the store, rpm on screen (the default unit system).
    expect(row('Velocity Limit').textContent).toContain('rpm');
    expect(row('Velocity Limit').textContent).toContain('0 … 234.267');
    expect(row('Model Number').classList.contains('read-only')).toBe(true);
    expect(row('Model Number').querySelector('input')).toBeNull();
    expect(row('Model Number').textContent).toContain('1020');
    expect(row('Return Delay Time').querySelector<HTMLInputElement>('input[type="text"]')!.value).toBe('500');
    expect(row('Return Delay Time').textContent).toContain('µs');
  });

  it('follows the unit system: radians, then raw counts, typed and sent in SI', async () => {
    const { backend, panel, row, type } = await mount();
    try {
      setUnitSystem('radians');
      panel.unitsChanged();
      expect(row('Velocity Limit').textContent).toContain('rad/s');
      expect(row('Velocity Limit').textContent).toContain('0 … 24.5');
      setUnitSystem('counts');
      panel.unitsChanged();
      expect(row('Velocity Limit').textContent).toContain('0 … 1023');
      expect(row('Velocity Limit').querySelector('td.unit')!.textContent).toBe('counts');
      expect(row('Return Delay Time').querySelector<HTMLInputElement>('input[type="text"]')!.value).toBe('250');
      type('Return Delay Time', '100');
      expect(await panel.write()).toBe(true);
      const sent = last(backend) as { values: [string, number][] };
      expect(sent.values[0][0]).toBe('Return Delay Time');
      expect(sent.values[0][1]).toBeCloseTo(100 * 2e-6, 12);
    } finally {
      setUnitSystem('degrees');
    }
  });

  it('shows no values before a read, and the store values after Read all', async () => {
    const { backend, panel, row } = await mount(false);
    expect(row('Model Number').textContent).not.toContain('1020');
    await panel.readAll();
    expect(backend.submitted).toEqual([{ kind: 'readParams', drive: DRIVE, registers: [] }]);
    expect(row('Model Number').textContent).toContain('1020');
  });

  it('highlights changed cells until they are written, then shows the value read back', async () => {
    const { backend, panel, row, type, $ } = await mount();
    type('Temperature Limit', '75');
    expect(row('Temperature Limit').classList.contains('changed')).toBe(true);
    expect(row('Position P Gain').classList.contains('changed')).toBe(false);
    type('Position P Gain', '800');
    expect(row('Position P Gain').classList.contains('changed')).toBe(false);
    expect($('#params-write').textContent).toBe('Write changed (1)');
    expect(await panel.write()).toBe(true);
    expect(last(backend)).toEqual({ kind: 'writeParams', drive: DRIVE, values: [['Temperature Limit', 75]] });
    expect(row('Temperature Limit').classList.contains('changed')).toBe(false);
    expect(row('Temperature Limit').querySelector<HTMLInputElement>('input[type="text"]')!.value).toBe('75');
  });

  it('refuses an out-of-range or non-number value beside its cell and sends nothing', async () => {
    const { backend, panel, row, type } = await mount();
    const before = backend.submitted.length;
    type('Temperature Limit', '150');
    type('Position P Gain', 'lots');
    type('Return Delay Time', '100');
    expect(await panel.write()).toBe(false);
    expect(backend.submitted.length).toBe(before);
    expect(row('Temperature Limit').querySelector('.cell-error')!.textContent).toBe('Outside 0 … 100 °C');
    expect(row('Temperature Limit').querySelector('input[type="text"]')!.classList.contains('invalid')).toBe(true);
    expect(row('Position P Gain').querySelector('.cell-error')!.textContent).toBe('"lots" is not a number');
    expect(row('Return Delay Time').querySelector('.cell-error')!.textContent).toBe('');
    // Fixing the cell clears its message; the write then goes through.
    type('Temperature Limit', '90');
    type('Position P Gain', '900');
    expect(row('Temperature Limit').querySelector('.cell-error')!.textContent).toBe('');
    expect(await panel.write()).toBe(true);
    expect(last(backend)).toMatchObject({ kind: 'writeParams', values: [['Return Delay Time', 0.0001], ['Temperature Limit', 90], ['Position P Gain', 900]] });
  });

  it('Read all replaces values typed and not written with what the drive holds', async () => {
    const { panel, row, type } = await mount();
    type('Temperature Limit', '150');
    await panel.write();
    expect(row('Temperature Limit').querySelector('.cell-error')!.textContent).not.toBe('');
    await panel.readAll();
    expect(row('Temperature Limit').querySelector<HTMLInputElement>('input[type="text"]')!.value).toBe('80');
    expect(row('Temperature Limit').classList.contains('changed')).toBe(false);
    expect(row('Temperature Limit').querySelector('.cell-error')!.textContent).toBe('');
  });

  it('says "Read all: done" only once the grid shows what the drive holds', async () => {
    const { backend, panel, row, type, $ } = await mount();
    type('Temperature Limit', '150');
    await panel.write();
    // The grid reloads after the read: slowly, as over IPC. Until it has painted, the
    // status must not claim the read is done (a reader would see the typed 150).
    const params = backend.params.bind(backend);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let loading = false;
    backend.params = async (drive) => {
      loading = true;
      await gate;
      return params(drive);
    };
    const reading = panel.readAll();
    await vi.waitFor(() => expect(loading).toBe(true));
    expect($('#params-status').textContent).toBe('Read all…');
    release();
    await reading;
    expect($('#params-status').textContent).toBe('Read all: done');
    expect(row('Temperature Limit').querySelector<HTMLInputElement>('input[type="text"]')!.value).toBe('80');
  });

  it('drops a reload that answers after a newer one, and waits for the newest', async () => {
    const { backend, panel, row } = await mount();
    // The first reload answers late with the old value; the second, quick, with the new.
    const old = await backend.params(DRIVE);
    backend.setRegister(1, 'Temperature Limit', 60);
    await backend.submit({ kind: 'readParams', drive: DRIVE, registers: [] });
    const params = backend.params.bind(backend);
    let calls = 0;
    backend.params = async (drive) => {
      calls += 1;
      if (calls === 1) {
        await new Promise((r) => setTimeout(r, 30));
        return old;
      }
      return params(drive);
    };
    const slow = panel.refresh();
    const quick = panel.refresh();
    await slow;
    // The slow (older) refresh resolves only once the newest has painted.
    const cell = () => row('Temperature Limit').querySelector<HTMLInputElement>('input[type="text"]')!.value;
    expect(cell()).toBe('60');
    await quick;
    await new Promise((r) => setTimeout(r, 40));
    expect(cell()).toBe('60');
    expect(panel.table!.registers.find((r) => r.name === 'Temperature Limit')!.value).toBe(60);
  });

  it('writes only the ticked rows when some are selected', async () => {
    const { backend, panel, row, type } = await mount();
    type('Temperature Limit', '70');
    type('Position P Gain', '700');
    const box = row('Position P Gain').querySelector<HTMLInputElement>('input[type="checkbox"]')!;
    box.checked = true;
    box.dispatchEvent(new Event('change', { bubbles: true }));
    expect(await panel.write()).toBe(true);
    expect(last(backend)).toMatchObject({ values: [['Position P Gain', 700]] });
    expect(row('Temperature Limit').classList.contains('changed')).toBe(true);
  });

  it('backs up to a JSON file of the persistent values', async () => {
    const { backend, panel } = await mount();
    const path = await panel.backup();
    expect(path).toMatch(/\.json$/);
    expect(last(backend)).toMatchObject({ kind: 'backupParams', drive: DRIVE });
    const snapshots = await backend.paramSnapshots(DRIVE);
    const file = await backend.paramExport(snapshots.find((s) => s.kind === 'backup')!.id);
    const backup = parseBackup(file.text);
    if (typeof backup === 'string') throw new Error(backup);
    expect([...backup.values.keys()]).toEqual(['Model Number', 'Return Delay Time', 'Temperature Limit', 'Velocity Limit']);
  });
});

describe('restore', () => {
  it('previews only what would change, then restores it', async () => {
    const { backend, panel, $, row } = await mount();
    await panel.backup();
    const snapshots = await backend.paramSnapshots(DRIVE);
    const { text } = await backend.paramExport(snapshots.find((s) => s.kind === 'backup')!.id);
    // The drive changes after the backup.
    backend.setRegister(1, 'Temperature Limit', 60);
    await panel.readAll();
    const sent = backend.submitted.length;
    const plan = panel.preview(text)!;
    expect(plan.rows.map((r) => [r.register, r.current, r.backup])).toEqual([['Temperature Limit', 60, 80]]);
    expect($('#params-diff').textContent).toContain('Temperature Limit');
    expect($('#params-diff').textContent).not.toContain('Velocity Limit');
    expect(backend.submitted.length).toBe(sent);
    expect($<HTMLButtonElement>('#params-restore-send').disabled).toBe(false);
    expect(await panel.restore()).toBe(true);
    const restore = last(backend)!;
    expect(restore.kind).toBe('restoreParams');
    // Read-only registers of the backup are not sent.
    expect(restore.kind === 'restoreParams' && restore.values.map(([n]) => n)).toEqual(['Return Delay Time', 'Temperature Limit', 'Velocity Limit']);
    expect(row('Temperature Limit').querySelector<HTMLInputElement>('input[type="text"]')!.value).toBe('80');
  });

  it('refuses a backup with a bad value, an unknown register or another model, and sends nothing', async () => {
    const { backend, panel, $ } = await mount();
    const sent = backend.submitted.length;
    panel.preview('{"values": {"Temperature Limit": 500}}');
    expect($('#params-restore-error').textContent).toContain('Temperature Limit: Outside 0 … 100 °C');
    expect($<HTMLButtonElement>('#params-restore-send').disabled).toBe(true);
    panel.preview('{"values": {"Flux Capacitor": 1}}');
    expect($('#params-restore-error').textContent).toContain('no register "Flux Capacitor"');
    panel.preview('{"model": "AX-12A", "values": {"Temperature Limit": 70}}');
    expect($('#params-restore-error').textContent).toContain('The backup is of a AX-12A');
    panel.preview('{"values": {"Temperature Limit": "hot"}}');
    expect($('#params-restore-error').textContent).toBe('Temperature Limit: "hot" is not a number');
    panel.preview('not json');
    expect($('#params-restore-error').textContent).toMatch(/^Not JSON/);
    expect(await panel.restore()).toBe(false);
    expect(backend.submitted.length).toBe(sent);
  });

  it('accepts a plain name → value object and reports no differences when there are none', async () => {
    const { panel } = await mount();
    const table = panel.table!;
    const backup = parseBackup('{"Temperature Limit": 80, "Position P Gain": 800}');
    if (typeof backup === 'string') throw new Error(backup);
    const plan = restorePreview(table, backup);
    expect(plan.rows).toEqual([]);
    expect(plan.problems).toEqual([]);
    expect(plan.values).toEqual([['Temperature Limit', 80], ['Position P Gain', 800]]);
  });
});

describe('compare snapshots', () => {
  it('lists the registers that differ between two snapshots', async () => {
    const { panel, type, $ } = await mount();
    type('Position P Gain', '640');
    await panel.write();
    await panel.open(DRIVE);
    const options = [...$<HTMLSelectElement>('#params-left').options].map((o) => o.textContent ?? '');
    expect(options.some((o) => o.includes('before-write'))).toBe(true);
    const ids = [...$<HTMLSelectElement>('#params-left').options].map((o) => o.value).filter((v) => v !== '');
    const [after, before] = [ids[0], ids[1]];
    $<HTMLSelectElement>('#params-left').value = before;
    $<HTMLSelectElement>('#params-right').value = after;
    const diff = await panel.compare();
    expect(diff).toEqual([{ register: 'Position P Gain', unit: '', left: 800, right: 640 }]);
    expect($('#params-compare-table').textContent).toContain('Position P Gain');
  });
});

describe('bus set-up bar', () => {
  async function mountSetup() {
    document.body.innerHTML = '<div id="params"></div>';
    const backend = new FakeBackend();
    const notify = vi.fn();
    const moved = vi.fn();
    const panel = new ParamsPanel(document.getElementById('params')!, backend, notify, moved);
    await panel.open(DRIVE);
    const setupDrive = vi.spyOn(backend, 'setupDrive');
    const $ = <T extends HTMLElement>(css: string) => document.querySelector(css) as T;
    return { backend, notify, moved, panel, setupDrive, $ };
  }
  const ids = async (backend: FakeBackend) => (await backend.drives()).map((d) => d.drive.id);

  it('changes the ID and the panel and the selection follow the drive', async () => {
    const { backend, moved, panel, setupDrive, $ } = await mountSetup();
    await panel.readAll();
    backend.setRegister(1, 'Temperature Limit', 70);
    expect(await panel.setup.ask('changeId')).toBe(true);
    expect($('#setup-dialog').hidden).toBe(false);
    expect(setupDrive).not.toHaveBeenCalled();
    $<HTMLInputElement>('#setup-new-id').value = '7';
    const done = await panel.setup.apply();
    expect(setupDrive).toHaveBeenCalledWith(DRIVE, { step: 'changeId', to: 7 });
    expect(done?.drive).toEqual({ link: 1, id: 7 });
    expect(await ids(backend)).toEqual([7, 2]);
    expect(moved).toHaveBeenCalledWith(DRIVE, { link: 1, id: 7 });
    await vi.waitFor(() => expect($('#params-title').textContent).toContain('ID 7'));
    expect($('#setup-status').textContent).toContain('Drive 1 is now ID 7');
    expect($('#setup-dialog').hidden).toBe(true);
    // The drive's registers moved with it: the next read is of ID 7.
    await panel.readAll();
    expect(last(backend)).toEqual({ kind: 'readParams', drive: { link: 1, id: 7 }, registers: [] });
    expect(panel.table!.registers.find((r) => r.name === 'Temperature Limit')!.value).toBe(70);
    const journal = await backend.jobs({});
    expect(journal.find((j) => j.command === 'changeId')).toMatchObject({ state: 'done', reason: 'ID 1 → 7' });
  });

  it('refuses a bad or taken ID beside its field and sends nothing', async () => {
    const { panel, setupDrive, $ } = await mountSetup();
    await panel.setup.ask('changeId');
    for (const [text, says] of [['0', /outside 1–252/], ['x', /not an ID/], ['1', /already has ID 1/], ['2', /ID 2 is taken/]] as const) {
      $<HTMLInputElement>('#setup-new-id').value = text;
      expect(await panel.setup.apply()).toBeNull();
      expect($('#setup-dialog-error').textContent).toMatch(says);
    }
    expect(setupDrive).not.toHaveBeenCalled();
  });

  it('reboots only after the confirmation', async () => {
    const { setupDrive, $ } = await mountSetup();
    $('#setup-reboot').click();
    await vi.waitFor(() => expect($('#setup-dialog').hidden).toBe(false));
    expect($('#setup-question').textContent).toMatch(/Reboot drive 1\? It restarts with torque off/);
    expect(setupDrive).not.toHaveBeenCalled();
    $('#setup-cancel').click();
    expect($('#setup-dialog').hidden).toBe(true);
    expect(setupDrive).not.toHaveBeenCalled();
    $('#setup-reboot').click();
    await vi.waitFor(() => expect($('#setup-dialog').hidden).toBe(false));
    $('#setup-apply').click();
    await vi.waitFor(() => expect($('#setup-status').textContent).toContain('Drive 1 rebooted'));
    expect(setupDrive).toHaveBeenCalledTimes(1);
    expect(setupDrive).toHaveBeenCalledWith(DRIVE, { step: 'reboot', confirm: true });
  });

  it('refuses an enabled drive before sending: disable it first', async () => {
    const { backend, panel, setupDrive, $ } = await mountSetup();
    await backend.submit({ kind: 'arm', drive: DRIVE });
    await backend.submit({ kind: 'enable', drive: DRIVE });
    for (const id of ['#setup-change-id', '#setup-change-baud', '#setup-reboot', '#setup-reset']) {
      $('#setup-status').textContent = '';
      $(id).click();
      await vi.waitFor(() => expect($('#setup-status').textContent).toContain('Drive 1 is enabled: disable it first'));
      expect($('#setup-dialog').hidden).toBe(true);
    }
    // Enabled while the dialog was open: refused at the confirmation too.
    await backend.submit({ kind: 'disable', drive: DRIVE });
    await panel.setup.ask('factoryReset');
    await backend.submit({ kind: 'arm', drive: DRIVE });
    await backend.submit({ kind: 'enable', drive: DRIVE });
    expect(await panel.setup.apply()).toBeNull();
    expect(setupDrive).not.toHaveBeenCalled();
    // And the backend refuses it with the bus's words.
    await expect(backend.setupDrive(DRIVE, { step: 'reboot', confirm: true })).rejects.toMatchObject({ message: expect.stringContaining('disable drive 1 first') });
  });

  it('shows the backend’s refusal: a new rate with another drive on the link, a reset to a taken ID', async () => {
    const { backend, panel, setupDrive, $ } = await mountSetup();
    await panel.setup.ask('changeBaud');
    const rates = [...$<HTMLSelectElement>('#setup-new-baud').options].map((o) => Number(o.value));
    expect(rates).toContain(57_600);
    expect(rates).not.toContain(1_000_000);
    $<HTMLSelectElement>('#setup-new-baud').value = '57600';
    expect(await panel.setup.apply()).toBeNull();
    expect(setupDrive).toHaveBeenCalledWith(DRIVE, { step: 'changeBaud', baud: 57_600 });
    expect($('#setup-dialog-error').textContent).toContain('this link carries drives 2, 1');
    await panel.open({ link: 1, id: 2 });
    await panel.setup.ask('factoryReset');
    $<HTMLSelectElement>('#setup-keep').value = 'nothing';
    expect(await panel.setup.apply()).toBeNull();
    expect($('#setup-dialog-error').textContent).toContain('ID 1 is taken');
    // Keeping the ID and rate, the reset goes through; the drive stays where it is.
    $<HTMLSelectElement>('#setup-keep').value = 'idAndBaud';
    expect((await panel.setup.apply())?.drive).toEqual({ link: 1, id: 2 });
    expect(setupDrive).toHaveBeenLastCalledWith({ link: 1, id: 2 }, { step: 'factoryReset', keep: 'idAndBaud', confirm: true });
    expect(await ids(backend)).toEqual([1, 2]);
  });

  it('offers nothing for a Modbus drive, and says why', async () => {
    const { backend, panel, setupDrive, $ } = await mountSetup();
    const status = await backend.appStatus();
    backend.appStatus = async () => ({ ...status, links: status.links.map((l) => ({ ...l, protocol: 'modbus-rtu' })) });
    await panel.open({ link: 1, id: 2 });
    for (const id of ['#setup-change-id', '#setup-change-baud', '#setup-reboot', '#setup-reset']) {
      expect($<HTMLButtonElement>(id).disabled).toBe(true);
      expect($(id).title).toMatch(/vendor parameters/);
    }
    expect(await panel.setup.ask('changeId')).toBe(false);
    expect(setupDrive).not.toHaveBeenCalled();
    // Back on a DYNAMIXEL link, the actions and their own tooltips return.
    backend.appStatus = async () => status;
    await panel.open(DRIVE);
    expect($<HTMLButtonElement>('#setup-reboot').disabled).toBe(false);
    expect($('#setup-reboot').title).toMatch(/torque off/);
  });

  it('does not write the ID or the baud rate from the grid', async () => {
    const { panel } = await mountSetup();
    const table = { ...panel.table!, registers: [...panel.table!.registers, register({ name: 'ID', address: 7, scale: 1, min: 0, max: 252, raw: 1, value: 1 })] };
    const plan = planWrite(table, new Map([['ID', '5']]), ['ID']);
    expect(plan.values).toEqual([]);
    expect(plan.errors.get('ID')).toMatch(/Bus set-up \(Change ID…\)/);
  });
});
