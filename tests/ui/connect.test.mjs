// End-to-end: the Connect panel of the real window. A `drivedeck-cli sim` child serves
// Feetech drives on its own pty (as a USB adapter would); the panel scans that port,
// lists what answered, and connects it beside the built-in rig. Bad input is refused
// beside its field. After a restart the connection is in the recent list, reconnects in
// one click, and can be forgotten. Screenshots go to tests/ui/artifacts/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { launchApp, readSettings, until } from './webdriver.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

/** A simulator child and the pty it prints first. */
async function simulator(args) {
  const cli = join(dirname(process.env.DRIVEDECK_APP), 'drivedeck-cli');
  const child = spawn(cli, ['sim', ...args, '--until-stdin-closes'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise((resolve, reject) => {
    lines.once('line', (line) => (line.startsWith('port: ') ? resolve(line.slice(6).trim()) : reject(new Error(line))));
    child.once('exit', (code) => reject(new Error(`sim exited with ${code}`)));
  });
  lines.on('line', () => {}); // keep reading: the simulator must never meet a closed pipe
  return { port, stop: () => child.stdin.end() };
}

describe('the Connect panel', () => {
  let app;
  let s;
  let sim;

  before(async () => {
    sim = await simulator(['--protocol', 'feetech', '--ids', '3,8']);
    app = await launchApp();
    s = app.session;
    await until('the built-in rig', async () => (await s.findAll('#drive-list .drive')).length === 2, 20_000);
  });

  after(async () => {
    await app?.close();
    sim?.stop();
  });

  it('refuses bad input beside the fields and connects nothing', async () => {
    await s.click('#open-connect');
    await until('the panel', async () => (await s.exec("return !document.getElementById('connect-panel').hidden")));
    await s.exec("document.getElementById('connect-port').value = ''");
    await s.exec("document.getElementById('connect-ids').value = '0,300'");
    await s.click('#connect-go');
    await until('the messages', async () => (await s.text('.field-error[data-for="ids"]')).includes('1 to 253'));
    assert.match(await s.text('.field-error[data-for="port"]'), /serial port/);
    assert.equal((await s.findAll('#drive-list .drive')).length, 2, 'nothing connected');
    await s.screenshot(join(artifacts, 'connect-refused.png'));
  });

  it('scans a Feetech bus on another port and connects the drives it found', async () => {
    await s.exec(`document.getElementById('connect-port').value = ${JSON.stringify(sim.port)}`);
    await s.exec("document.getElementById('connect-ids').value = '1'");
    // Feetech at 1 Mbaud (choosing the protocol sets its usual baud rate).
    await s.exec("const p = document.getElementById('connect-protocol'); p.value = 'feetech'; p.dispatchEvent(new Event('change'))");
    await s.click('#connect-scan');
    await until('the scan results', async () => (await s.findAll('#scan-results tbody tr')).length === 2, 60_000, 250);
    const rows = await s.exec("return [...document.querySelectorAll('#scan-results tbody tr')].map((r) => r.textContent)");
    assert.ok(rows.every((r) => r.includes('STS3215') && r.includes('feetech')), rows.join(' | '));
    await s.screenshot(join(artifacts, 'connect-scan.png'));
    await s.click('#connect-found');
    await until('four drives on two links', async () => (await s.findAll('#drive-list .drive')).length === 4, 20_000);
    const links = await s.exec("return [...document.querySelectorAll('#drive-list .drive')].map((d) => d.dataset.link + ':' + d.dataset.driveId)");
    assert.ok(links.includes('2:3') && links.includes('2:8'), links.join(', '));
    await until('the new link in the status bar', async () =>
      (await s.shown('#status')).includes(sim.port), 5_000);
    await s.screenshot(join(artifacts, 'connect-feetech.png'));
  });
  it('remembers the connection across a restart, reconnects from the recent list, and forgets it', async () => {
    const remembered = (settings) => (settings?.recentConnections ?? [])
      .filter((r) => r.connection.kind === 'serial' && r.connection.port === sim.port);
    // connect_serial saves the list before it answers; the file is the real condition.
    await until('the connection in the settings file', async () => remembered(readSettings(app.dataDir)).length === 1);
    assert.deepEqual(remembered(readSettings(app.dataDir))[0].connection,
      { kind: 'serial', port: sim.port, protocol: 'feetech', baud: 1000000, ids: [3, 8], model: 'STS3215' });
    await app.close();
    app = await launchApp({ dataDir: app.dataDir });
    s = app.session;
    await until('the built-in rig', async () => (await s.findAll('#drive-list .drive')).length === 2, 20_000);
    // The panel shows once its lists are filled.
    const panelShown = async () => s.exec("return !document.getElementById('connect-panel').hidden");
    await s.click('#open-connect');
    await until('the panel', panelShown);
    const entries = () => s.exec("return [...document.querySelectorAll('#recent-list li')].map((li) => li.querySelector('.recent-text').textContent)");
    assert.deepEqual(await entries(), [`${sim.port} · feetech · 1000000 baud · IDs 3, 8 · STS3215`]);
    await s.screenshot(join(artifacts, 'connect-recent.png'));
    await s.click('#recent-list li[data-index="0"] .recent-go');
    await until('four drives on two links', async () => {
      if ((await s.findAll('#drive-list .drive')).length === 4) return true;
      // A refused reconnect says why beside its entry (and in the banner).
      throw new Error(await s.exec("return (document.querySelector('.recent-error')?.textContent ?? '') + ' | ' + document.getElementById('banner').textContent"));
    }, 20_000);
    const links = await s.exec("return [...document.querySelectorAll('#drive-list .drive')].map((d) => d.dataset.link + ':' + d.dataset.driveId)");
    assert.ok(links.includes('2:3') && links.includes('2:8'), links.join(', '));
    assert.equal(await s.exec("return document.getElementById('connect-panel').hidden"), true, 'the panel closes');
    // Forget it: gone from the list and from the file.
    await s.click('#open-connect');
    await until('the panel', panelShown);
    assert.equal((await entries()).length, 1);
    await s.click('#recent-list li[data-index="0"] .recent-forget');
    await until('the entry forgotten', async () => (await entries()).length === 0
      && (await s.exec("return document.getElementById('connect-recent').hidden")) === true);
    assert.equal(remembered(readSettings(app.dataDir)).length, 0);
  });
});

describe('recent connections in a damaged settings file', () => {
  it('drops the bad entries with a log line and lists the good one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'drivedeck-e2e-'));
    const folder = join(dataDir, 'data', 'dev.drivedeck.DriveDeck');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'settings.json'), JSON.stringify({
      recentConnections: [
        'garbage',
        { connection: { kind: 'sim', protocol: 'canopen', ids: [1] }, atMs: 3 },
        { connection: { kind: 'serial', port: '/dev/ttyUSB9', protocol: 'feetech', baud: 12, ids: [1], model: null }, atMs: 2 },
        { connection: { kind: 'sim', protocol: 'feetech', ids: [5] }, atMs: 1 },
        { connection: { kind: 'sim', protocol: 'modbus-rtu', ids: [0] }, atMs: 0 },
      ],
    }));
    const app = await launchApp({ dataDir });
    try {
      const s = app.session;
      await until('the built-in rig', async () => (await s.findAll('#drive-list .drive')).length === 2, 20_000);
      await s.click('#open-connect');
      await until('the panel', async () => s.exec("return !document.getElementById('connect-panel').hidden"));
      const entries = await s.exec("return [...document.querySelectorAll('#recent-list li')].map((li) => li.querySelector('.recent-text').textContent)");
      assert.deepEqual(entries, ['Simulated rig · feetech · ID 5']);
      const log = readFileSync(app.logFile, 'utf8');
      assert.equal(log.match(/a recent connection in settings\.json dropped/g)?.length, 4, log);
    } finally {
      await app.close();
    }
  });
});
