// End-to-end: the Parameters panel of the real window on the built-in rig (DYNAMIXEL
// XM430-W350 simulated over a pty). Read all fills the grid from the drive; a value in
// range is written and shows after the read-back; a value out of range is refused beside
// its cell and nothing is written; a backup lands in exports/ as JSON and restores after a
// diff preview. Screenshots go to tests/ui/artifacts/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchApp, until } from './webdriver.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

const cell = (name) => `#params-grid input[data-register=${JSON.stringify(name)}]`;

describe('the Parameters panel', () => {
  let app;
  let s;

  /** Types `text` into a register's cell as a user would (an input event). */
  const typeInto = (name, text) =>
    s.exec(
      'const el = document.querySelector(arguments[0]); el.value = arguments[1]; el.dispatchEvent(new Event("input", { bubbles: true }));',
      cell(name),
      text,
    );
  const value = (name) => s.exec('return document.querySelector(arguments[0]).value', cell(name));
  /** True once the panel's status matches `re`; else throws the status, which `until`
   * reports if it times out (a failed job says why there). */
  const statusIs = async (re) => {
    const text = await s.text('#params-status');
    if (!re.test(text)) throw new Error(`status: ${text}`);
    return true;
  };
  const rowText = (name) =>
    s.exec('return [...document.querySelectorAll("#params-grid tr[data-row]")].find((r) => r.dataset.row === arguments[0]).textContent', name);

  before(async () => {
    app = await launchApp();
    s = app.session;
    await until('the built-in rig', async () => (await s.findAll('#drive-list .drive')).length === 2, 20_000);
  });

  after(async () => {
    await app?.close();
  });

  it('reads every register of the selected drive', async () => {
    await s.click('#open-params');
    await until('the grid', async () => (await s.findAll('#params-grid tr[data-row]')).length > 20);
    assert.match(await s.text('#params-title'), /XM430-W350 · ID 1/);
    await s.click('#params-read');
    await until('Read all: done', () => statusIs(/Read all: done/), 15_000);
    // "done" shows once the grid shows what was read.
    assert.equal(await value('Temperature Limit'), '80');
    // Model Number 1020 (XM430-W350), read only: no input.
    assert.match(await rowText('Model Number'), /1020/);
    assert.equal((await s.findAll(cell('Model Number'))).length, 0);
    // Speeds in the unit system in use: degrees and rpm by default (issue 19, units.ts).
    assert.match(await rowText('Profile Velocity'), /\brpm\b/);
    await s.screenshot(join(artifacts, 'params-read.png'));
  });

  it('writes a value in range and shows it after the read-back', async () => {
    await typeInto('Position P Gain', '640');
    await until('the changed mark', async () =>
      s.exec('return [...document.querySelectorAll("#params-grid tr.changed")].map((r) => r.dataset.row).join()').then((t) => t === 'Position P Gain'));
    await s.click('#params-write');
    await until('the write to finish', () => statusIs(/Write 1: done/), 15_000);
    // "done" shows once the grid shows the value read back after the write.
    assert.equal(await value('Position P Gain'), '640');
    assert.equal((await s.findAll('#params-grid tr.changed')).length, 0);
    // A fresh read from the drive agrees.
    await s.click('#params-read');
    await until('Read all: done', () => statusIs(/Read all: done/), 15_000);
    assert.equal(await value('Position P Gain'), '640');
  });

  it('refuses a value out of range beside its cell and writes nothing', async () => {
    await typeInto('Temperature Limit', '150');
    await s.click('#params-write');
    await until('the message beside the cell', async () => /Outside 0 … 100 °C/.test(await rowText('Temperature Limit')));
    assert.match(await s.text('#params-status'), /Nothing written/);
    assert.equal(await s.exec('return document.activeElement.dataset.register'), 'Temperature Limit');
    await s.screenshot(join(artifacts, 'params-refused.png'));
    // Read all discards what was typed and shows what the drive holds: still 80.
    await s.click('#params-read');
    await until('Read all: done', () => statusIs(/Read all: done/), 15_000);
    assert.equal(await value('Temperature Limit'), '80');
    // The journal holds the one write that went out, none for the refused value.
    const journal = () => s.exec('return [...document.querySelectorAll("#jobs tr")].map((r) => r.textContent)');
    await until('the journal to show the last read', async () => (await journal()).filter((t) => t.includes('readParams')).length === 3, 10_000);
    assert.equal((await journal()).filter((t) => t.includes('writeParams')).length, 1);
  });

  it('backs up to exports/ as JSON and restores it after a diff preview', async () => {
    await s.click('#params-backup');
    await until('the backup file', () => statusIs(/Backup saved to /), 15_000);
    const path = (await s.text('#params-status')).replace(/^.*Backup saved to /, '').trim();
    assert.ok(path.startsWith(join(app.dataDir, 'exports')), path);
    const text = readFileSync(path, 'utf8');
    const backup = JSON.parse(text);
    assert.equal(backup.model, 'XM430-W350');
    assert.equal(backup.values['Temperature Limit'], 80);
    assert.equal(backup.units['Temperature Limit'], '°C');
    assert.ok(!('Position P Gain' in backup.values), 'RAM registers are not in a backup');
    // Change a persistent value, then restore the backup.
    await typeInto('Temperature Limit', '72');
    await s.click('#params-write');
    await until('the write', () => statusIs(/Write 1: done/), 15_000);
    assert.equal(await value('Temperature Limit'), '72');
    await s.click('#params-restore-open');
    await s.exec('const t = document.getElementById("params-json"); t.value = arguments[0];', text);
    await s.click('#params-preview');
    const diff = await s.exec(
      'return [...document.querySelectorAll("#params-diff tr[data-register]")].map((r) => [...r.cells].map((c) => c.textContent.trim()).join("|"))');
    assert.deepEqual(diff, ['Temperature Limit|72|80|°C|changes']);
    await s.screenshot(join(artifacts, 'params-restore-preview.png'));
    await s.click('#params-restore-send');
    await until('the restore', () => statusIs(/Restore: done/), 15_000);
    assert.equal(await value('Temperature Limit'), '80');
  });
});
