// End-to-end (issue 19, item 7): help where users look for it, in the real window on the
// built-in simulated rig. Every control of the control panel has a tooltip naming its unit
// or limits; `?` lists the shortcuts and the "first steps" (connect, arm, move, record,
// export, tune). Screenshots go to tests/ui/artifacts/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchApp, until } from './webdriver.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

const drive = (id) => `#drive-list .drive[data-link="1"][data-drive-id="${id}"]`;

describe('help in the window', () => {
  let app;
  let s;

  before(async () => {
    app = await launchApp();
    s = app.session;
    await until('two drive cards', async () => (await s.findAll('#drive-list .drive')).length === 2, 20_000);
    await s.click(drive(1));
    await until('drive 1 in the control panel', async () => /ID 1/.test(await s.text('#selected-drive')));
  });

  after(async () => {
    await app?.close();
  });

  it('gives every control of the control panel a tooltip, with units and limits on the values', async () => {
    // A control's tooltip is its own title or its label's (a select inside a titled label).
    const tips = await s.exec(`return [...document.querySelectorAll('#control button, #control input, #control select')].map((el) => ({
      id: el.id, title: (el.title || el.closest('label')?.title || '').trim() }))`);
    assert.ok(tips.length >= 12, `the controls: ${tips.map((t) => t.id).join(' ')}`);
    const untitled = tips.filter((t) => t.title === '').map((t) => t.id || '(no id)');
    assert.deepEqual(untitled, [], 'controls without a tooltip');
    const tip = (id) => tips.find((t) => t.id === id)?.title ?? '';
    // Position mode at 1280×800 in degrees: the target's range, the soft limits' units, the jog's speed.
    assert.match(tip('target'), /-?\d+(\.\d+)? – \d+(\.\d+)? °/, `target: ${tip('target')}`);
    assert.match(tip('soft-min'), /°/);
    assert.match(tip('soft-max'), /°/);
    assert.match(tip('soft-speed'), /rpm/);
    assert.match(tip('jog-minus'), /\d+(\.\d+)? rpm/, `jog: ${tip('jog-minus')}`);
    assert.match(tip('jog-plus'), /\d+(\.\d+)? rpm/);
    assert.match(tip('move'), /limit/i);
    // The tooltips follow the unit system.
    await s.click('#units option[value="radians"]');
    await until('the target tooltip in rad', async () => / rad\b/.test(await s.attr('#target', 'title')));
    assert.match(await s.attr('#soft-speed', 'title'), /rad\/s/);
    assert.match(await s.attr('#jog-plus', 'title'), /rad\/s/);
    await s.click('#units option[value="degrees"]');
    await until('the target tooltip in °', async () => /°/.test(await s.attr('#target', 'title')));
  });

  it('lists the shortcuts on ? and the first steps: connect, arm, move, record, export, tune', async () => {
    await s.click('#chart-title'); // focus out of any field
    await s.keyboard('?');
    await until('the help overlay', async () => (await s.exec("return document.getElementById('help').hidden")) === false);
    const keys = await s.shown('#help-keys');
    for (const what of [/E-stop/, /this help/, /chart only/i, /record/, /export/, /pause/]) assert.match(keys, what);
    const kbd = await s.exec("return [...document.querySelectorAll('#help-keys kbd')].map((k) => k.textContent)");
    for (const key of ['Esc', '?', 'Space', 'f', 'r', 's', 'e']) assert.ok(kbd.includes(key), `the ${key} key is listed: ${kbd.join(' ')}`);
    // The first steps are part of the same help: scrolled to, they are on screen.
    await s.exec("document.getElementById('first-steps').scrollIntoView()");
    const steps = await s.exec(`const h = document.getElementById('first-steps'); const r = h.getBoundingClientRect();
      return { inHelp: !!h.closest('#help'), onScreen: r.bottom > 0 && r.top < innerHeight && r.height > 0,
        items: [...document.querySelectorAll('#help .first-steps li')].map((li) => li.innerText) }`);
    assert.ok(steps.inHelp && steps.onScreen, `the first steps in the help overlay, on screen: ${JSON.stringify(steps)}`);
    const firsts = steps.items.map((t) => t.split(':')[0].trim().toLowerCase());
    assert.deepEqual(firsts, ['connect', 'arm', 'move', 'record', 'export', 'tune']);
    for (const item of steps.items) assert.ok(item.length > 40, `a step says how: ${item}`);
    await s.screenshot(join(artifacts, 'help-first-steps.png'));
    await s.click('#help-close');
    await until('the help closed', async () => (await s.exec("return document.getElementById('help').hidden")) === true);
    // The status bar's ? opens the same help.
    await s.click('#help-btn');
    await until('the help again', async () => (await s.exec("return document.getElementById('help').hidden")) === false);
    await s.keyboard('?');
    await until('the help closed by ?', async () => (await s.exec("return document.getElementById('help').hidden")) === true);
  });
});
