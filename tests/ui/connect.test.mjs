// End-to-end: the Connect panel of the real window. A `drivedeck-cli sim` child serves
// Feetech drives on its own pty (as a USB adapter would); the panel scans that port,
// lists what answered, and connects it beside the built-in rig. Bad input is refused
// beside its field. Screenshots go to tests/ui/artifacts/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { launchApp, until } from './webdriver.mjs';

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
    // The status bar's spans come back empty through WebDriver's element text: read innerText.
    await until('the new link in the status bar', async () =>
      String(await s.exec("return document.getElementById('status').innerText")).includes(sim.port), 5_000);
    await s.screenshot(join(artifacts, 'connect-feetech.png'));
  });
});
