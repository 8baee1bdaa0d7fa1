// End-to-end: the real DriveDeck window (release UI, debug binary) under Xvfb, driven
// through WebKitWebDriver, on the built-in simulated rig. Each step saves a screenshot
// to tests/ui/artifacts/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchApp, until, KEY } from './webdriver.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

const drive = (id) => `#drive-list .drive[data-link="1"][data-drive-id="${id}"]`;
const number = (text) => Number.parseFloat(String(text).replace(/[^0-9.+-]/g, ''));

describe('the DriveDeck window on the simulated rig', () => {
  let app;
  let s;

  before(async () => {
    app = await launchApp();
    s = app.session;
  });

  after(async () => {
    await app?.close();
  });

  it('shows both simulated drives with live readouts', async () => {
    await until('two drive cards', async () => (await s.findAll('#drive-list .drive')).length === 2, 20_000);
    assert.equal(await s.attr(drive(1), 'data-state'), 'disabled');
    assert.match(await s.text(`${drive(1)} .position`), /°/);
    assert.match(await s.text('#status'), /pts/);
    await s.screenshot(join(artifacts, 'main.png'));
  });

  it('refuses bad targets with a message and sends nothing', async () => {
    await s.click(drive(1));
    // Let the journal settle, then remember what it holds.
    await new Promise((r) => setTimeout(r, 700));
    const jobsBefore = (await s.findAll('#jobs tr.job')).length;
    for (const [input, message] of [
      ['', /enter a target/i],
      ['abc', /not a number/i],
      ['NaN', /not a number/i],
      ['400', /out of range/i],
      ['-5', /out of range/i],
    ]) {
      await s.type('#target', input);
      await s.click('#move');
      await until(`message for ${JSON.stringify(input)}`, async () => message.test(await s.text('#target-error')), 3_000);
    }
    await s.screenshot(join(artifacts, 'bad-input.png'));
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await s.findAll('#jobs tr.job')).length, jobsBefore, 'no job was submitted');
  });

  it('enables drive 1, moves it to 90°, and the chart follows', async () => {
    await s.click(drive(1));
    await s.click('#enable');
    // Enabling asks first: nothing happens until the user arms.
    await until('the arming question', async () => (await s.exec("return document.getElementById('arm-dialog').hidden")) === false);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await s.attr(drive(1), 'data-state'), 'disabled');
    await s.screenshot(join(artifacts, 'arm.png'));
    await s.click('#arm-confirm');
    await until('drive 1 enabled', async () => (await s.attr(drive(1), 'data-state')) === 'enabled');
    await s.type('#target', '90');
    await s.click('#move');
    assert.equal(await s.text('#target-error'), '');
    await until('drive 1 at 90°', async () => Math.abs(number(await s.text(`${drive(1)} .position`)) - 90) < 2, 10_000);
    await until('the chart to show the move', async () => {
      const points = Number(await s.attr('#chart', 'data-points'));
      const last = Number(await s.attr('#chart', 'data-last-position'));
      return points > 20 && Math.abs(last - 90) < 2;
    });
    await until('the journal to show the move done', async () => {
      const states = await s.exec(
        "return [...document.querySelectorAll('#jobs tr.job')].map(r => r.textContent)",
      );
      return states.some((t) => /setTarget/.test(t) && /done/.test(t));
    });
    await s.screenshot(join(artifacts, 'moved.png'));
  });

  it('Esc (with focus in the target field) stops every drive', async () => {
    await s.type('#target', '300');
    await s.click('#move');
    await until('drive 1 moving', async () => Math.abs(number(await s.text(`${drive(1)} .velocity`))) > 5, 5_000);
    await s.keys('#target', KEY.Escape);
    await until('both drives disabled', async () =>
      (await s.attr(drive(1), 'data-state')) === 'disabled' && (await s.attr(drive(2), 'data-state')) === 'disabled', 5_000);
    await until('drive 1 standing still', async () => Math.abs(number(await s.text(`${drive(1)} .velocity`))) < 0.5, 10_000);
    await until('the E-stop in the journal', async () => {
      const rows = await s.exec("return [...document.querySelectorAll('#jobs tr.job')].map(r => r.textContent)");
      return rows.some((t) => /eStop/.test(t) && /done/.test(t));
    });
    await s.screenshot(join(artifacts, 'estop.png'));
  });

  it('jogs only while the button is held', async () => {
    await s.click(drive(1));
    await s.click('#mode option[value="velocity"]');
    await until('velocity mode', async () => (await s.exec("return document.getElementById('target-unit').textContent")) === 'rpm');
    await s.click('#enable');
    await s.click('#arm-confirm');
    await until('drive 1 enabled', async () => (await s.attr(drive(1), 'data-state')) === 'enabled');
    await s.press('#jog-plus', true);
    await until('drive 1 turning', async () => number(await s.text(`${drive(1)} .velocity`)) > 5, 5_000);
    await s.screenshot(join(artifacts, 'jog.png'));
    await s.press('#jog-plus', false);
    await until('drive 1 at rest after release', async () => Math.abs(number(await s.text(`${drive(1)} .velocity`))) < 0.5, 5_000);
    assert.equal(await s.attr(drive(1), 'data-state'), 'enabled', 'releasing the jog does not disable');
  });
});

describe('settings across a restart', () => {
  it('keeps the chart choices', async () => {
    const first = await launchApp();
    try {
      const s = first.session;
      await until('the chart choices', async () => (await s.findAll('#chart-choices input')).length === 3);
      assert.equal(await s.exec("return document.querySelector('#chart-choices input[data-channel=current]').checked"), false);
      await s.click('#chart-choices input[data-channel="current"]');
      await s.click('#chart-choices input[data-channel="velocity"]');
      // The save is asynchronous; give it a moment before the window goes.
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await first.close();
    }
    const second = await launchApp({ dataDir: first.dataDir });
    try {
      const s = second.session;
      await until('the chart choices', async () => (await s.findAll('#chart-choices input')).length === 3);
      const checked = await s.exec(
        "return [...document.querySelectorAll('#chart-choices input')].filter(b => b.checked).map(b => b.dataset.channel)",
      );
      assert.deepEqual(checked, ['position', 'current']);
      await s.screenshot(join(artifacts, 'restarted.png'));
    } finally {
      await second.close();
    }
  });
});
