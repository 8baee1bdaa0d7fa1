import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeBackend } from '../backend/fake';
import { ConnectPanel, agoText, checkConnect, idsText, parseIds, portText, recentText, sameConnection } from './connect';

async function mount() {
  document.body.innerHTML = '<div id="connect" hidden></div>';
  const backend = new FakeBackend();
  const notify = vi.fn();
  const panel = new ConnectPanel(document.getElementById('connect')!, backend, notify);
  await panel.open();
  const $ = <T extends HTMLElement>(css: string) => document.querySelector(css) as T;
  /** Closes and opens the panel again (it reloads its lists on opening). */
  const reopen = async () => {
    panel.close();
    await panel.open();
  };
  return { backend, notify, panel, $, reopen };
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

describe('recent connections', () => {
  const recentItems = () => [...document.querySelectorAll<HTMLElement>('#recent-list li')];
  const texts = () => recentItems().map((li) => li.querySelector('.recent-text')!.textContent);

  it('reads IDs back as the IDs field takes them, and names each connection', () => {
    expect(idsText([7, 1, 2, 3])).toBe('1-3,7');
    expect(idsText([1, 2])).toBe('1,2');
    expect(idsText([4])).toBe('4');
    expect(parseIds(idsText([9, 1, 2, 3, 5, 6, 7, 11]))).toEqual([1, 2, 3, 5, 6, 7, 9, 11]);
    expect(recentText({ kind: 'serial', port: '/dev/ttyUSB0', protocol: 'feetech', baud: 1_000_000, ids: [3, 8], model: 'STS3215' }))
      .toBe('/dev/ttyUSB0 · feetech · 1000000 baud · IDs 3, 8 · STS3215');
    expect(recentText({ kind: 'sim', protocol: 'modbus-rtu', ids: [1] })).toBe('Simulated rig · modbus-rtu · ID 1');
    expect(sameConnection({ kind: 'sim', protocol: 'feetech', ids: [2, 1] }, { kind: 'sim', protocol: 'feetech', ids: [1, 2] })).toBe(true);
    expect(sameConnection({ kind: 'sim', protocol: 'feetech', ids: [1] }, { kind: 'sim', protocol: 'dynamixel1', ids: [1] })).toBe(false);
    expect(agoText(1_000, 31_000)).toBe('just now');
    expect(agoText(0, 5 * 60_000)).toBe('5 min ago');
    expect(agoText(0, 3 * 3_600_000)).toBe('3 h ago');
  });

  it('lists every connection made, most recent first and once, hidden while there are none', async () => {
    const { backend, $, reopen } = await mount();
    expect($('#connect-recent').hidden).toBe(true);
    await backend.connectSerial('/dev/ttyUSB0', 'feetech', 1_000_000, [8, 3], null);
    await backend.connectSim('modbus-rtu', [1, 2]);
    await backend.connectSerial('/dev/ttyUSB0', 'feetech', 1_000_000, [3, 8], null);
    await reopen();
    expect($('#connect-recent').hidden).toBe(false);
    expect(texts()).toEqual([
      '/dev/ttyUSB0 · feetech · 1000000 baud · IDs 3, 8',
      'Simulated rig · modbus-rtu · IDs 1, 2',
    ]);
  });

  it('a connection made in the panel joins the list the next time it opens', async () => {
    const { panel, $, reopen } = await mount();
    set($<HTMLSelectElement>('#connect-protocol'), 'dynamixel1');
    set($<HTMLInputElement>('#connect-ids'), '4');
    $('#connect-sim').click();
    await flush();
    expect(panel.isOpen).toBe(false);
    await reopen();
    expect(texts()).toEqual(['Simulated rig · dynamixel1 · ID 4']);
  });

  it('reconnects in one click with what was remembered', async () => {
    const { backend, panel, notify, reopen } = await mount();
    await backend.connectSerial('/dev/ttyUSB1', 'dynamixel2', 57_600, [1, 2, 3], 'XM430-W350');
    await backend.connectSim('feetech', [5]);
    await reopen();
    backend.connections.length = 0;
    recentItems()[1].querySelector<HTMLButtonElement>('.recent-go')!.click();
    await flush();
    expect(backend.connections).toEqual([{ port: '/dev/ttyUSB1', protocol: 'dynamixel2', baud: 57_600, ids: [1, 2, 3], model: 'XM430-W350' }]);
    expect(notify).toHaveBeenLastCalledWith(true, 'Connected 3 drive(s) on /dev/ttyUSB1');
    expect(panel.isOpen).toBe(false);
    // It moved to the top.
    await reopen();
    expect(texts()[0]).toBe('/dev/ttyUSB1 · dynamixel2 · 57600 baud · IDs 1-3 · XM430-W350');
    recentItems()[1].querySelector<HTMLButtonElement>('.recent-go')!.click();
    await flush();
    expect(backend.connections[1]).toEqual({ port: 'sim', protocol: 'feetech', baud: 1_000_000, ids: [5], model: null });
  });

  it('shows a failed reconnect beside its entry and keeps the panel open', async () => {
    const { backend, panel, $, reopen } = await mount();
    await backend.connectSerial('/dev/ttyUSB0', 'feetech', 1_000_000, [1], null);
    await reopen();
    backend.refuseConnect = 'cannot open /dev/ttyUSB0: No such file or directory';
    recentItems()[0].querySelector<HTMLButtonElement>('.recent-go')!.click();
    await flush();
    expect(recentItems()[0].querySelector('.recent-error')!.textContent).toMatch(/No such file/);
    expect(panel.isOpen).toBe(true);
    expect($<HTMLButtonElement>('.recent-go').disabled).toBe(false);
  });

  it('forgets an entry with ×', async () => {
    const { backend, $, reopen } = await mount();
    await backend.connectSim('feetech', [5]);
    await backend.connectSim('dynamixel2', [1]);
    await reopen();
    recentItems()[0].querySelector<HTMLButtonElement>('.recent-forget')!.click();
    await flush();
    expect(texts()).toEqual(['Simulated rig · feetech · ID 5']);
    expect((await backend.recentConnections()).map((r) => r.connection)).toEqual([{ kind: 'sim', protocol: 'feetech', ids: [5] }]);
    recentItems()[0].querySelector<HTMLButtonElement>('.recent-forget')!.click();
    await flush();
    expect($('#connect-recent').hidden).toBe(true);
  });

  it('puts an entry in the form when its text is clicked', async () => {
    const { backend, $, reopen } = await mount();
    await backend.connectSerial('/dev/ttyUSB0', 'feetech', 500_000, [3, 4, 5, 9], 'STS3215');
    await reopen();
    recentItems()[0].querySelector<HTMLElement>('.recent-text')!.click();
    expect($<HTMLInputElement>('#connect-port').value).toBe('/dev/ttyUSB0');
    expect($<HTMLSelectElement>('#connect-protocol').value).toBe('feetech');
    expect($<HTMLInputElement>('#connect-baud').value).toBe('500000');
    expect($<HTMLInputElement>('#connect-ids').value).toBe('3-5,9');
    expect($<HTMLSelectElement>('#connect-model').value).toBe('STS3215');
    expect(backend.connections.length).toBe(1);
  });
});

describe('opening the panel', () => {
  it('shows the panel only once its lists are filled, so nothing moves under the pointer', async () => {
    document.body.innerHTML = '<div id="connect" hidden></div>';
    const backend = new FakeBackend();
    await backend.connectSim('feetech', [5]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ports = backend.ports.bind(backend);
    backend.ports = async () => {
      await gate;
      return ports();
    };
    const panel = new ConnectPanel(document.getElementById('connect')!, backend, vi.fn());
    const opening = panel.open();
    await flush();
    await flush();
    expect(panel.isOpen).toBe(false);
    // A second click meanwhile does not open it twice; the lists are rendered once.
    void panel.open();
    release();
    await opening;
    expect(panel.isOpen).toBe(true);
    expect(document.querySelectorAll('#recent-list li').length).toBe(1);
    expect(document.querySelector('#connect-ports')!.textContent).toContain('/dev/ttyUSB0');
    panel.close();
  });

  it('stays closed when closed while it was loading', async () => {
    document.body.innerHTML = '<div id="connect" hidden></div>';
    const backend = new FakeBackend();
    const panel = new ConnectPanel(document.getElementById('connect')!, backend, vi.fn());
    const opening = panel.open();
    panel.close();
    await opening;
    expect(panel.isOpen).toBe(false);
  });

  it('rebuilds the port list only when the ports change', async () => {
    const { backend, panel, $ } = await mount();
    const first = $('#connect-ports').querySelector('li');
    await panel.refreshPorts();
    expect($('#connect-ports').querySelector('li')).toBe(first);
    backend.portList = [...backend.portList, { path: '/dev/ttyACM0', kind: 'usb', vid: 0x2341, pid: 0x43, manufacturer: null, product: null, serialNumber: null }];
    await panel.refreshPorts();
    expect($('#connect-ports').querySelectorAll('li').length).toBe(2);
    panel.close();
  });
});
