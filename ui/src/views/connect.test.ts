import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeBackend } from '../backend/fake';
import { ConnectPanel, checkConnect, parseIds, portText } from './connect';

async function mount() {
  document.body.innerHTML = '<div id="connect"></div>';
  const backend = new FakeBackend();
  const notify = vi.fn();
  const panel = new ConnectPanel(document.getElementById('connect')!, backend, notify);
  await panel.open();
  const $ = <T extends HTMLElement>(css: string) => document.querySelector(css) as T;
  return { backend, notify, panel, $ };
}

const set = (el: HTMLInputElement | HTMLSelectElement, value: string) => {
  el.value = value;
  el.dispatchEvent(new Event('change'));
};
const flush = () => new Promise((r) => setTimeout(r, 0));

describe('drive IDs', () => {
  it('takes lists and ranges, refuses the rest with a reason', () => {
    expect(parseIds('1, 2,5-7')).toEqual([1, 2, 5, 6, 7]);
    expect(parseIds('')).toMatch(/at least one/);
    expect(parseIds('0')).toMatch(/1 to 253/);
    expect(parseIds('254')).toMatch(/1 to 253/);
    expect(parseIds('3,3')).toMatch(/twice/);
    expect(parseIds('2-1')).toMatch(/backwards/);
    expect(parseIds('1.5')).toMatch(/not a drive ID/);
    expect(parseIds('x')).toMatch(/not a drive ID/);
  });

  it('checks the whole form', () => {
    const good = checkConnect({ port: ' /dev/ttyUSB0 ', protocol: 'feetech', baud: '1000000', ids: '1-3' }, true);
    expect(good).toEqual({ ok: true, port: '/dev/ttyUSB0', protocol: 'feetech', baud: 1_000_000, ids: [1, 2, 3] });
    const bad = checkConnect({ port: '', protocol: 'can', baud: '12.5', ids: '' }, true);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(Object.keys(bad.errors).sort()).toEqual(['baud', 'ids', 'port', 'protocol']);
    expect(checkConnect({ port: '', protocol: 'dynamixel2', baud: '57600', ids: '1' }, false).ok).toBe(true);
  });

  it('shows a port with its USB identity', () => {
    expect(portText({ path: '/dev/ttyUSB0', kind: 'usb', vid: 0x403, pid: 0x6014, manufacturer: 'FTDI', product: 'FT232H', serialNumber: 'A1' }))
      .toBe('/dev/ttyUSB0 USB 0403:6014 FTDI FT232H #A1');
    expect(portText({ path: '/dev/ttyS0', kind: 'unknown', vid: null, pid: null, manufacturer: null, product: null, serialNumber: null }))
      .toBe('/dev/ttyS0');
  });
});

describe('connect panel', () => {
  beforeEach(() => {
    vi.useRealTimers();
  });

  it('lists ports and follows plugging and unplugging', async () => {
    const { backend, panel, $ } = await mount();
    expect($('#connect-ports').textContent).toContain('USB 0403:6014 FTDI');
    backend.portList = [];
    await panel.refreshPorts();
    expect($('#connect-ports').textContent).toMatch(/No serial ports/);
    panel.close();
  });

  it('sends nothing for bad input and says why beside each field', async () => {
    const { backend, $ } = await mount();
    set($<HTMLInputElement>('#connect-port'), '');
    set($<HTMLInputElement>('#connect-baud'), 'fast');
    set($<HTMLInputElement>('#connect-ids'), '300');
    $('#connect-go').click();
    await flush();
    expect($('.field-error[data-for="port"]').textContent).toMatch(/serial port/);
    expect($('.field-error[data-for="baud"]').textContent).toMatch(/whole number/);
    expect($('.field-error[data-for="ids"]').textContent).toMatch(/1 to 253/);
    expect(backend.connections).toEqual([]);
  });

  it('picks the protocol’s usual baud and connects by hand with a model', async () => {
    const { backend, notify, $ } = await mount();
    set($<HTMLSelectElement>('#connect-protocol'), 'feetech');
    expect($<HTMLInputElement>('#connect-baud').value).toBe('1000000');
    set($<HTMLInputElement>('#connect-port'), '/dev/ttyUSB0');
    set($<HTMLInputElement>('#connect-ids'), '1,2');
    set($<HTMLSelectElement>('#connect-model'), 'STS3215');
    $('#connect-go').click();
    await flush();
    expect(backend.connections).toEqual([{ port: '/dev/ttyUSB0', protocol: 'feetech', baud: 1_000_000, ids: [1, 2], model: 'STS3215' }]);
    expect(notify).toHaveBeenCalledWith(true, expect.stringContaining('Connected 2 drive(s)'));
  });

  it('scans, shows what answered, and connects the checked drives per protocol', async () => {
    const { backend, $ } = await mount();
    backend.scanFinds = [
      { protocol: 'dynamixel2', baud: 57600, id: 1, modelNumber: 1020, model: 'XM430-W350', firmware: '46', rttUs: 900, idConflict: false, note: null },
      { protocol: 'dynamixel2', baud: 57600, id: 4, modelNumber: 1020, model: 'XM430-W350', firmware: '46', rttUs: 950, idConflict: true, note: null },
      { protocol: 'feetech', baud: 1000000, id: 7, modelNumber: 777, model: 'STS3215', firmware: '3.10', rttUs: 400, idConflict: false, note: null },
    ];
    set($<HTMLInputElement>('#connect-port'), '/dev/ttyUSB0');
    $('#connect-scan').click();
    await flush();
    await flush();
    const rows = [...document.querySelectorAll('#scan-results tbody tr')];
    expect(rows.map((r) => r.textContent?.includes('ID conflict'))).toEqual([false, true, false]);
    // A conflicting ID is not checked by default.
    $('#connect-found').click();
    await flush();
    await flush();
    expect(backend.connections).toEqual([
      { port: '/dev/ttyUSB0', protocol: 'dynamixel2', baud: 57600, ids: [1], model: 'XM430-W350' },
      { port: '/dev/ttyUSB0', protocol: 'feetech', baud: 1_000_000, ids: [7], model: 'STS3215' },
    ]);
  });

  it('reports a port that cannot be scanned beside the port', async () => {
    const { $ } = await mount();
    set($<HTMLInputElement>('#connect-port'), 'COM99');
    $('#connect-scan').click();
    await flush();
    await flush();
    expect($('.field-error[data-for="port"]').textContent).toMatch(/cannot open COM99/);
  });

  it('starts another simulated rig of the chosen protocol', async () => {
    const { backend, $ } = await mount();
    set($<HTMLSelectElement>('#connect-protocol'), 'modbus-rtu');
    set($<HTMLInputElement>('#connect-ids'), '1-2');
    $('#connect-sim').click();
    await flush();
    expect(backend.connections).toEqual([{ port: 'sim', protocol: 'modbus-rtu', baud: 1_000_000, ids: [1, 2], model: null }]);
  });
});
