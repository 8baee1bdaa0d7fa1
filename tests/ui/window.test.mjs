// End-to-end: the real DriveDeck window (the release app that goes into the installers) under Xvfb, driven
// through WebKitWebDriver, on the built-in simulated rig. Each step saves a screenshot
// to tests/ui/artifacts/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchApp, readSettings, until, KEY } from './webdriver.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

const drive = (id) => `#drive-list .drive[data-link="1"][data-drive-id="${id}"]`;
// An element's text as shown (see Session.shown).
const shownText = (s, id) => s.shown(`#${id}`);
const content = (s, css) => s.exec(`return document.querySelector('${css}').textContent`);
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
    await until('the link in the status bar', async () => /pts/.test(await shownText(s, 'status')), 5_000);
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

  it('records a named session, finds it, replays it, and exports the zoomed range as CSV', async () => {
    await s.click('#record');
    await s.type('#record-name', 'step test 42');
    await s.type('#record-notes', 'kp 8, no load, jog +');
    await s.click('#record-start');
    await until('the named recording', async () => /step test 42/.test(await shownText(s, 'rec-state')));
    assert.match(await s.attr('#record', 'class'), /recording/);
    // Something worth replaying: a jog (drive 1 is enabled in velocity mode).
    await s.press('#jog-plus', true);
    await until('drive 1 turning', async () => number(await s.text(`${drive(1)} .velocity`)) > 5, 5_000);
    await new Promise((r) => setTimeout(r, 1000));
    await s.press('#jog-plus', false);
    await until('drive 1 at rest', async () => Math.abs(number(await s.text(`${drive(1)} .velocity`))) < 0.5, 5_000);
    await new Promise((r) => setTimeout(r, 500));
    await s.screenshot(join(artifacts, 'recording.png'));
    await s.click('#record');
    await s.click('#record-stop');
    await until('an automatic session after the stop', async () => /recording into .Live /.test(await shownText(s, 'rec-state')));

    await s.click('#sessions-btn');
    await s.type('#session-search', 'KP 8');
    await until('the session found by its notes', async () => {
      const names = await s.exec("return [...document.querySelectorAll('#session-list .session-name')].map(e => e.textContent)");
      return names.length === 1 && names[0] === 'step test 42';
    });
    await s.screenshot(join(artifacts, 'sessions.png'));
    await s.click('#session-list tr.session-row button.open');
    await until('the replay of its samples', async () =>
      /Replay: step test 42/.test(await content(s, '#chart-title')) && Number(await s.attr('#chart', 'data-points')) > 100, 10_000)
      .catch(async (e) => {
        await s.screenshot(join(artifacts, 'replay-failed.png'));
        throw new Error(`${e.message}; chart: ${JSON.stringify(await s.exec("return {...document.getElementById('chart').dataset, title: document.getElementById('chart-title').textContent}"))}`);
      });
    assert.equal(await s.attr('#chart', 'data-mode'), 'paused');
    await until('the journal of that session (its jog)', async () => {
      const rows = await s.exec("return [...document.querySelectorAll('#jobs tr.job')].map(r => r.textContent)");
      // Its jog, and not the E-stop of the earlier session.
      return rows.some((t) => /jog/.test(t)) && !rows.some((t) => /eStop/.test(t));
    });
    const whole = (await s.attr('#chart', 'data-range')).split(',').map(Number);
    // Zoom by dragging across the middle of the first panel.
    await s.drag('#chart .panel-plot .u-over', 200, 0, { x: -100, y: 0 });
    await until('a zoomed range', async () => {
      const [a, b] = (await s.attr('#chart', 'data-range')).split(',').map(Number);
      return a > whole[0] && b < whole[1] && b - a < (whole[1] - whole[0]) / 2;
    });
    const zoomed = (await s.attr('#chart', 'data-range')).split(',').map(Number);
    await until('the zoomed window from the store', async () => Number(await s.attr('#chart', 'data-points')) > 10);
    // Two cursors and their deltas.
    await s.clickAt('#chart .panel-plot .u-over', { x: -60, y: 0 });
    await s.clickAt('#chart .panel-plot .u-over', { x: 60, y: 0 }, { shift: true });
    await until('cursor readouts with a delta', async () => {
      const dt = await s.exec("const h = document.querySelector('#readouts th:nth-child(4)'); return h ? h.textContent : ''");
      return /Δ \d+\.\d+ s/.test(dt);
    }).catch(async (e) => {
      await s.screenshot(join(artifacts, 'cursors-failed.png'));
      throw e;
    });
    await s.screenshot(join(artifacts, 'replay.png'));

    await s.click('#export-format option[value="csv"]');
    await s.click('#export');
    const path = await until('the export path', async () => s.attr('#export', 'data-last-path'));
    assert.ok(existsSync(path), `${path} exists`);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    assert.match(lines[0], /^time_s,/);
    assert.ok(lines.length > 10, `${lines.length} lines`);
    const times = lines.slice(1).map((l) => Number(l.split(',')[0]));
    assert.ok(times[0] >= zoomed[0] - 0.01 && times[times.length - 1] <= zoomed[1] + 0.01, 'only the zoomed range');
    // In the units shown (degrees and rpm by default), the header naming them...
    const header = lines[0].split(',');
    const position = header.findIndex((h) => /drive1 position/.test(h));
    assert.match(header[position], /\[°\]$/, lines[0]);
    assert.ok(!/\[rad(\/s)?\]/.test(lines[0]), lines[0]);
    await s.screenshot(join(artifacts, 'exported.png'));
    // ...or in SI when asked: the same rows, the angle in radians.
    await s.click('#export-si');
    await s.click('#export');
    const siPath = await until('the SI export', async () => {
      const p = await s.attr('#export', 'data-last-path');
      return p && readFileSync(p, 'utf8').includes('[rad]') ? p : false;
    });
    const si = readFileSync(siPath, 'utf8').trim().split('\n');
    assert.equal(si.length, lines.length, 'the same rows');
    const row = lines.findIndex((l, i) => i > 0 && l.split(',')[position] !== '');
    const degrees = Number(lines[row].split(',')[position]);
    const radians = Number(si[row].split(',')[position]);
    assert.ok(Math.abs(degrees - (radians * 180) / Math.PI) <= 1e-6 * Math.max(1, Math.abs(degrees)), `${degrees}° vs ${radians} rad`);
    await s.click('#export-si');

    await s.click('#back-live');
    await until('live again', async () => (await s.attr('#chart', 'data-mode')) === 'live' && (await content(s, '#chart-title')) === 'Live');
  });

  it('captures around a level trigger with the pre-trigger part', async () => {
    const velocityBox = '#chart-choices input[data-link="1"][data-drive-id="1"][data-channel="velocity"]';
    if (!(await s.exec(`return document.querySelector('${velocityBox}').checked`))) await s.click(velocityBox);
    await until('velocity of drive 1 charted', async () =>
      s.exec("return document.querySelector('#chart-choices input[data-link=\"1\"][data-drive-id=\"1\"][data-channel=\"velocity\"]').checked"));
    await until('the velocity channel as a trigger source', async () =>
      (await s.exec("return [...document.querySelectorAll('#trig-source option')].map(o => o.textContent)")).includes('1/1 velocity'));
    await s.click('#trigger-toggle');
    await until('the trigger row', async () => (await s.exec("return document.getElementById('trigger-row').hidden")) === false);
    const source = await s.exec("return [...document.querySelectorAll('#trig-source option')].find(o => o.textContent === '1/1 velocity').value");
    await s.click(`#trig-source option[value="${source}"]`);
    await s.click('#trig-edge option[value="rising"]');
    await s.type('#trig-level', '10');
    await s.type('#trig-pre', '0.5');
    await s.type('#trig-post', '0.5');
    await s.click('#trig-arm');
    await until('armed', async () => (await s.attr('#chart', 'data-trigger')) === 'armed').catch(async (e) => {
      await s.screenshot(join(artifacts, 'trigger-failed.png'));
      throw new Error(`${e.message}: ${await content(s, '#trig-state')}`);
    });
    await new Promise((r) => setTimeout(r, 300));
    await s.press('#jog-plus', true);
    await until('captured', async () => (await s.attr('#chart', 'data-trigger')) === 'captured', 8_000);
    await s.press('#jog-plus', false);
    assert.equal(await s.attr('#chart', 'data-mode'), 'captured');
    const [a, b] = (await s.attr('#chart', 'data-range')).split(',').map(Number);
    assert.ok(Math.abs(b - a - 1) < 0.01, `capture spans pre + post: ${a}..${b}`);
    await until('the capture drawn from the store', async () => Number(await s.attr('#chart', 'data-points')) > 20);
    await s.screenshot(join(artifacts, 'trigger.png'));
    await s.click('#trig-arm'); // disarm
    await s.click('#follow');
    await until('live again', async () => (await s.attr('#chart', 'data-mode')) === 'live');
  });

  it('the E-STOP button stops every drive, even mid-jog', async () => {
    await s.click(drive(1));
    await until('drive 1 enabled in velocity mode', async () =>
      (await s.attr(drive(1), 'data-state')) === 'enabled'
      && (await s.exec("return document.getElementById('target-unit').textContent")) === 'rpm');
    const stops = async () => (await s.exec("return [...document.querySelectorAll('#jobs tr.job')].map(r => r.textContent)"))
      .filter((t) => /eStop/.test(t) && /done/.test(t)).length;
    const before = await stops();
    await s.press('#jog-plus', true);
    await until('drive 1 turning', async () => number(await s.text(`${drive(1)} .velocity`)) > 5, 5_000);
    await s.click('#estop');
    await until('both drives disabled', async () =>
      (await s.attr(drive(1), 'data-state')) === 'disabled' && (await s.attr(drive(2), 'data-state')) === 'disabled', 5_000);
    await s.press('#jog-plus', false);
    await until('drive 1 standing still', async () => Math.abs(number(await s.text(`${drive(1)} .velocity`))) < 0.5, 10_000);
    await until('the E-stop in the journal', async () => (await stops()) > before);
    await s.screenshot(join(artifacts, 'estop-button.png'));
  });

  it('lists the keyboard shortcuts on ?', async () => {
    await s.click('#chart-title'); // focus out of any field
    await s.keyboard('?');
    await until('the help overlay', async () => (await s.exec("return document.getElementById('help').hidden")) === false);
    assert.match(await s.text('#help-keys'), /E-stop/);
    await s.screenshot(join(artifacts, 'help.png'));
    await s.keyboard('?');
    await until('the help closed', async () => (await s.exec("return document.getElementById('help').hidden")) === true);
  });
});

describe('settings across a restart', () => {
  it('keeps the chart channels, the theme and the panel sizes', async () => {
    const first = await launchApp();
    let widthBefore;
    try {
      const s = first.session;
      await until('the channel picker', async () => (await s.findAll('#chart-choices input')).length === 6, 20_000);
      const box = (id, name) => `#chart-choices input[data-link="1"][data-drive-id="${id}"][data-channel="${name}"]`;
      assert.equal(await s.exec(`return document.querySelector('${box(2, 'current')}').checked`), false);
      await s.click(box(2, 'current'));
      await s.click(box(1, 'velocity'));
      // Theme: system → dark → light.
      await s.click('#theme');
      await s.click('#theme');
      await until('the light theme', async () => (await s.exec('return document.documentElement.dataset.theme')) === 'light');
      widthBefore = await s.exec("return document.getElementById('sidebar').getBoundingClientRect().width");
      await s.drag('#split-sidebar', 120, 0);
      await s.drag('#split-journal', 0, 60);
      await until('wider drives column', async () =>
        (await s.exec("return document.getElementById('sidebar').getBoundingClientRect().width")) > widthBefore + 100);
      await s.screenshot(join(artifacts, 'light-before-restart.png'));
      // The saves are asynchronous: wait until the settings file holds all of them.
      await until('the settings saved', async () => {
        const saved = readSettings(first.dataDir);
        const picks = (saved?.chart?.channels ?? []).map((c) => `${c.drive.id} ${c.name}`).sort().join();
        const done = saved?.look?.theme === 'light' && saved.look.journalPx === 68 && saved.look.sidebarPx > widthBefore + 100
          && picks === '1 position,2 current';
        if (!done) throw new Error(`saved so far: ${JSON.stringify({ look: saved?.look, picks })}`);
        return true;
      });
    } finally {
      await first.close();
    }
    const second = await launchApp({ dataDir: first.dataDir });
    try {
      const s = second.session;
      await until('the channel picker', async () => (await s.findAll('#chart-choices input')).length === 6, 20_000);
      const checked = await s.exec(
        "return [...document.querySelectorAll('#chart-choices input')].filter(b => b.checked).map(b => `${b.dataset.driveId} ${b.dataset.channel}`)",
      );
      assert.deepEqual(checked, ['1 position', '2 current']);
      assert.equal(await s.exec('return document.documentElement.dataset.theme'), 'light');
      assert.equal(await s.exec('return document.documentElement.dataset.themeChoice'), 'light');
      const width = await s.exec("return document.getElementById('sidebar').getBoundingClientRect().width");
      assert.ok(Math.abs(width - (widthBefore + 120)) < 3, `drives column ${width} px (was ${widthBefore} + 120)`);
      const journal = await s.exec("return getComputedStyle(document.documentElement).getPropertyValue('--journal')");
      assert.equal(journal, '68px', 'journal 128 − 60 px (the default, less the drag)');
      // Both picked channels are charted, in their own panels (° and A).
      await until('two panels', async () =>
        (await s.exec("return [...document.querySelectorAll('#chart .panel-plot')].map(p => p.dataset.unit).join()")) === '°,A');
      await s.screenshot(join(artifacts, 'restarted.png'));
    } finally {
      await second.close();
    }
  });
});
