import { describe, expect, it, vi } from 'vitest';
import { FakeBackend } from '../backend/fake';
import { FAKE_SETUP_PORT, FAKE_TWO_SERVOS_PORT } from '../backend/fakeSetup';
import { ConnectPanel } from './connect';
import { checkSetup, checkSetupId, nextSetupId } from './setup';

async function mount() {
  document.body.innerHTML = '<div id="connect" hidden></div>';
  const backend = new FakeBackend();
  const notify = vi.fn();
  const panel = new ConnectPanel(document.getElementById('connect')!, backend, notify);
  await panel.open();
  const $ = <T extends HTMLElement>(css: string) => document.querySelector(css) as T;
  $('#connect-setup').click();
  const assign = vi.spyOn(backend, 'setupAssign');
  return { backend, notify, panel, $, assign };
}

const set = (el: HTMLInputElement | HTMLSelectElement, value: string) => {
  el.value = value;
  el.dispatchEvent(new Event('input'));
  el.dispatchEvent(new Event('change'));
};
const flush = () => new Promise((r) => setTimeout(r, 0));
const doneItems = () => [...document.querySelectorAll('#setup-done li')].map((li) => li.textContent ?? '');

describe('set-up input', () => {
  it('takes an ID 1–252 not given yet, and says why not otherwise', () => {
    expect(checkSetupId(' 7 ', [])).toBe(7);
    expect(checkSetupId('', [])).toMatch(/Enter the ID/);
    expect(checkSetupId('0', [])).toMatch(/outside 1–252/);
    expect(checkSetupId('253', [])).toMatch(/outside 1–252/);
    expect(checkSetupId('2.5', [])).toMatch(/not an ID/);
    expect(checkSetupId('-1', [])).toMatch(/not an ID/);
    expect(checkSetupId('3', [1, 3])).toMatch(/already given/);
  });

  it('checks the whole form: port, a protocol with its own set-up, a rate it can encode', () => {
    expect(checkSetup({ port: ' /dev/ttyUSB0 ', protocol: 'feetech', id: '4', baud: '500000' }, []))
      .toEqual({ ok: true, port: '/dev/ttyUSB0', protocol: 'feetech', to: 4, baud: 500_000 });
    expect(checkSetup({ port: '/dev/ttyUSB0', protocol: 'dynamixel2', id: '1', baud: 'keep' }, []))
      .toMatchObject({ ok: true, baud: null });
    const bad = checkSetup({ port: '', protocol: 'modbus-rtu', id: 'x', baud: 'keep' }, []);
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(Object.keys(bad.errors).sort()).toEqual(['id', 'port', 'protocol']);
      expect(bad.errors.protocol).toMatch(/vendor parameters/);
    }
    // Feetech servos have no 9600 baud code.
    const rate = checkSetup({ port: '/dev/ttyUSB0', protocol: 'feetech', id: '1', baud: '9600' }, []);
    expect(rate.ok === false && rate.errors.baud).toMatch(/cannot run at 9600/);
  });

  it('offers the ID after the last one given, skipping IDs given', () => {
    expect(nextSetupId(1, [1])).toBe(2);
    expect(nextSetupId(2, [1, 2, 3])).toBe(4);
    expect(nextSetupId(252, [252])).toBe(252);
  });
});

describe('the guided set-up', () => {
  it('gives two servos in a row IDs 1 and 2, then Finish scans the bus and connects them', async () => {
    const { backend, $, assign } = await mount();
    expect($('#connect-setup-section').hidden).toBe(false);
    set($<HTMLInputElement>('#setup-port'), FAKE_SETUP_PORT);
    expect($('#setup-prompt').textContent).toContain('Connect servo 1 alone, then press Find & set (it becomes ID 1)');
    $('#setup-find').click();
    await vi.waitFor(() => expect(doneItems()).toHaveLength(1));
    // The factory-fresh servo already is ID 1: nothing written, but it counts as done.
    expect(doneItems()[0]).toContain('already is ID 1');
    expect($<HTMLInputElement>('#setup-id').value).toBe('2');
    expect($('#setup-prompt').textContent).toContain('connect the next servo, servo 2, alone');
    $('#setup-find').click();
    await vi.waitFor(() => expect(doneItems()).toHaveLength(2));
    expect(doneItems()[1]).toContain('ID 1 at 57600 baud → ID 2 at 57600 baud');
    expect($<HTMLInputElement>('#setup-id').value).toBe('3');
    expect(assign.mock.calls.map(([r]) => r)).toEqual([
      { port: FAKE_SETUP_PORT, protocol: 'dynamixel2', to: 1, baud: null },
      { port: FAKE_SETUP_PORT, protocol: 'dynamixel2', to: 2, baud: null },
    ]);
    expect(backend.setup.ports.get(FAKE_SETUP_PORT)!.setUp.map((s) => s.id)).toEqual([1, 2]);

    $('#setup-finish').click();
    await vi.waitFor(() => expect($('#setup-found').textContent).toContain('Found IDs 1, 2'));
    expect(backend.scans[backend.scans.length - 1]).toEqual({ port: FAKE_SETUP_PORT, protocols: ['dynamixel2'], bauds: [57_600] });
    // The Connect panel's scan results list them, checked, to connect.
    const rows = [...document.querySelectorAll<HTMLElement>('#scan-results tbody tr')];
    expect(rows.map((r) => r.dataset.id)).toEqual(['1', '2']);
    expect($('#connect-found').hidden).toBe(false);
    $('#connect-found').click();
    await vi.waitFor(() => expect(backend.connections).toHaveLength(1));
    expect(backend.connections[0]).toEqual({ port: FAKE_SETUP_PORT, protocol: 'dynamixel2', baud: 57_600, ids: [1, 2], model: 'XM430-W350' });
  });

  it('moves every servo to the rate chosen and scans at it', async () => {
    const { backend, $ } = await mount();
    set($<HTMLInputElement>('#setup-port'), FAKE_SETUP_PORT);
    set($<HTMLInputElement>('#setup-id'), '5');
    set($<HTMLSelectElement>('#setup-baud'), '1000000');
    $('#setup-find').click();
    await vi.waitFor(() => expect(doneItems()).toHaveLength(1));
    expect(doneItems()[0]).toContain('ID 1 at 57600 baud → ID 5 at 1000000 baud');
    expect($<HTMLInputElement>('#setup-id').value).toBe('6');
    $('#setup-finish').click();
    await vi.waitFor(() => expect($('#setup-found').textContent).toContain('Found ID 5'));
    expect(backend.scans[backend.scans.length - 1]!.bauds).toEqual([1_000_000]);
  });

  it('shows "not alone" beside the button and does not advance', async () => {
    const { backend, $, assign } = await mount();
    set($<HTMLInputElement>('#setup-port'), FAKE_TWO_SERVOS_PORT);
    $('#setup-find').click();
    await vi.waitFor(() => expect($('#setup-error').textContent).not.toBe(''));
    expect($('#setup-error').textContent).toContain('2 servos answer (IDs 1, 2)');
    expect($('#setup-error').textContent).toContain('connect one servo at a time; nothing was changed');
    expect(assign).toHaveBeenCalledTimes(1);
    expect(doneItems()).toEqual([]);
    expect($<HTMLInputElement>('#setup-id').value).toBe('1');
    expect($('#setup-prompt').textContent).toContain('Connect servo 1 alone');
    expect(backend.setup.ports.get(FAKE_TWO_SERVOS_PORT)!.connected.map((s) => s.id)).toEqual([1, 2]);
  });

  it('refuses a bad ID, an ID given already or no port beside the field and sends nothing', async () => {
    const { $, assign } = await mount();
    set($<HTMLInputElement>('#setup-port'), '');
    set($<HTMLInputElement>('#setup-id'), '0');
    $('#setup-find').click();
    await flush();
    expect($('.field-error[data-for="setup-id"]').textContent).toMatch(/outside 1–252/);
    expect($('.field-error[data-for="setup-port"]').textContent).toMatch(/serial port/);
    set($<HTMLInputElement>('#setup-port'), FAKE_SETUP_PORT);
    set($<HTMLInputElement>('#setup-id'), 'two');
    $('#setup-find').click();
    await flush();
    expect($('.field-error[data-for="setup-id"]').textContent).toMatch(/not an ID/);
    expect(assign).not.toHaveBeenCalled();
    // One servo given ID 1; asking for 1 again is refused before sending.
    set($<HTMLInputElement>('#setup-id'), '1');
    $('#setup-find').click();
    await vi.waitFor(() => expect(doneItems()).toHaveLength(1));
    set($<HTMLInputElement>('#setup-id'), '1');
    $('#setup-find').click();
    await flush();
    expect($('.field-error[data-for="setup-id"]').textContent).toMatch(/already given/);
    expect(assign).toHaveBeenCalledTimes(1);
  });

  it('reports no servo, and a port a link holds, with the backend’s words', async () => {
    const { backend, $ } = await mount();
    set($<HTMLInputElement>('#setup-port'), '/dev/ttyUSB0');
    $('#setup-find').click();
    await vi.waitFor(() => expect($('#setup-error').textContent).toMatch(/no dynamixel2 servo answered on \/dev\/ttyUSB0/));
    const link = await backend.connectSerial(FAKE_SETUP_PORT, 'dynamixel2', 57_600, [1], null);
    set($<HTMLInputElement>('#setup-port'), FAKE_SETUP_PORT);
    $('#setup-find').click();
    await vi.waitFor(() => expect($('#setup-error').textContent).toContain(`open on link ${link}: disconnect it first`));
    await backend.disconnect(link);
    $('#setup-find').click();
    await vi.waitFor(() => expect(doneItems()).toHaveLength(1));
    expect($('#setup-error').textContent).toBe('');
  });

  it('does not offer Modbus, and says why', async () => {
    const { $ } = await mount();
    const modbus = [...$<HTMLSelectElement>('#setup-protocol').options].find((o) => o.value === 'modbus-rtu')!;
    expect(modbus.disabled).toBe(true);
    expect(modbus.title).toMatch(/vendor parameters/);
    await expect(new FakeBackend().setupAssign({ port: FAKE_SETUP_PORT, protocol: 'modbus-rtu', to: 3, baud: null }))
      .rejects.toMatchObject({ kind: 'invalid', message: expect.stringContaining('vendor parameters') });
    // Every control says what it takes.
    for (const el of document.querySelectorAll<HTMLElement>('#connect-setup-section button, #connect-setup-section label')) {
      expect(el.title, el.textContent ?? '').not.toBe('');
    }
  });

  it('Finish before any servo is set up says so and scans nothing', async () => {
    const { backend, $ } = await mount();
    set($<HTMLInputElement>('#setup-port'), FAKE_SETUP_PORT);
    $('#setup-finish').click();
    await flush();
    expect($('#setup-error').textContent).toMatch(/No servo set up yet/);
    expect(backend.scans).toEqual([]);
  });
});
