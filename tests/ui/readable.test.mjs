// End-to-end (issue 19, items 1 and 2): charts an engineer can read, and one set of units
// everywhere, in the real window at 1280×800 on the built-in simulated rig.
//
// The y tick labels are drawn on uPlot's canvas; each panel also writes the labels it drew
// to its `data-ticks` attribute (chart/panels.ts), which is what these tests read. The
// README's chart screenshots (default view, chart only) are written to
// tests/ui/screenshots/; every step's screenshot goes to tests/ui/artifacts/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchApp, until } from './webdriver.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
const screenshots = join(here, 'screenshots');
mkdirSync(artifacts, { recursive: true });
mkdirSync(screenshots, { recursive: true });

const drive = (id) => `#drive-list .drive[data-link="1"][data-drive-id="${id}"]`;
const number = (text) => Number.parseFloat(String(text).replace(/[^0-9.+-]/g, ''));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every chart panel as drawn: its unit, its tick labels, its plot area and its legend. */
const panels = (s) => s.exec(`return [...document.querySelectorAll('#chart .panel-plot')].map((p) => {
  const over = p.querySelector('.u-over').getBoundingClientRect();
  return { unit: p.dataset.unit, ticks: (p.dataset.ticks || '').split(' ').filter((t) => t !== ''),
    top: over.top, height: over.height, legend: (p.querySelector('.u-legend') || {}).textContent || '' };
})`);
/** The chart area's box (what the panels share). */
const chartBox = (s) => s.exec("const r = document.getElementById('chart').getBoundingClientRect(); return { top: r.top, height: r.height }");

/** The step between tick labels, checked to be one 1/2/5 × 10ⁿ step throughout. */
function niceStep(labels) {
  const values = labels.map(Number);
  assert.ok(values.every(Number.isFinite), `numeric tick labels: ${labels.join(' ')}`);
  const step = values[1] - values[0];
  assert.ok(step > 0, `ascending ticks: ${labels.join(' ')}`);
  for (let i = 1; i < values.length; i++) {
    assert.ok(Math.abs(values[i] - values[i - 1] - step) <= step * 1e-6, `even steps: ${labels.join(' ')}`);
  }
  const exponent = Math.floor(Math.log10(step) + 1e-9);
  const mantissa = step / 10 ** exponent;
  assert.ok([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6), `a 1/2/5 × 10ⁿ step, not ${step} (${labels.join(' ')})`);
  return step;
}

/** Asserts the panel of `unit` shows at least four 1/2/5 ticks and names its unit. */
function readable(panel, unit) {
  assert.ok(panel, `a ${unit} panel`);
  assert.equal(panel.unit, unit);
  assert.ok(panel.ticks.length >= 4, `at least four labelled y ticks on the ${unit} panel: ${panel.ticks.join(' ')} (plot ${panel.height} px)`);
  assert.ok(panel.legend.includes(`(${unit})`), `the ${unit} panel's legend names its unit: ${panel.legend}`);
  // Labels an eye can tell apart: no more than one per 16 px of plot (chart/ticks.ts).
  assert.ok(panel.ticks.length <= Math.floor(panel.height / 16) + 1, `${panel.ticks.length} labels do not overlap on ${panel.height} px`);
  return niceStep(panel.ticks);
}

describe('readable charts at 1280×800', () => {
  let app;
  let s;

  before(async () => {
    app = await launchApp();
    s = app.session;
    await until('two drive cards', async () => (await s.findAll('#drive-list .drive')).length === 2, 20_000);
  });

  after(async () => {
    await app?.close();
  });

  it('shows at least four labelled 1/2/5 ticks and the unit on each default panel', async (t) => {
    const size = await s.exec('return [window.innerWidth, window.innerHeight]');
    assert.deepEqual(size, [1280, 800], 'the window fills the 1280×800 screen');
    // Laid out: two panels with ticks, their plot areas equal (the chart shares its height).
    // What it saw last is in the error when it times out (a thrown message is kept).
    const shown = await until('two laid-out panels with ticks', async () => {
      const p = await panels(s);
      if (p.length === 2 && p.every((x) => x.ticks.length > 0) && Math.abs(p[0].height - p[1].height) <= 1) return p;
      throw new Error(`panels ${JSON.stringify(p.map((x) => [x.unit, x.height, x.ticks.length]))}`);
    }, 15_000);
    const box = await chartBox(s);
    const used = shown.reduce((sum, p) => sum + p.height, 0);
    assert.ok(used >= box.height * 0.5, `the plots take at least half the chart's ${box.height} px, not ${used}`);
    t.diagnostic(`chart ${JSON.stringify(await chartBox(s))}; panels ${JSON.stringify(shown.map((p) => [p.unit, p.height, p.ticks.join(' ')]))}`);
    readable(shown[0], '°');
    readable(shown[1], 'rpm');
  });

  it('keeps the chart in place while the arming prompt shows, and labels 90° after the move', async () => {
    await s.click(drive(1));
    const before = await chartBox(s);
    const panelsBefore = await panels(s);
    await s.click('#enable');
    await until('the arming question', async () => (await s.exec("return document.getElementById('arm-dialog').hidden")) === false);
    await sleep(300);
    const during = await chartBox(s);
    const panelsDuring = await panels(s);
    await s.screenshot(join(artifacts, 'readable-arm.png'));
    assert.deepEqual(during, before, 'the chart area does not move or shrink under the prompt');
    assert.deepEqual(panelsDuring.map((p) => [p.top, p.height]), panelsBefore.map((p) => [p.top, p.height]), 'nor does any panel');
    await s.click('#arm-confirm');
    await until('drive 1 enabled', async () => (await s.attr(drive(1), 'data-state')) === 'enabled');
    await s.type('#target', '90');
    await s.click('#move');
    await until('drive 1 at 90°', async () => Math.abs(number(await s.text(`${drive(1)} .position`)) - 90) < 1, 10_000);
    // The live window (10 s) scrolls until the move leaves it: wait for a tick near 90.
    const position = await until('a position tick within a step of 90°', async () => {
      const [p] = await panels(s);
      const ticks = p.ticks.map(Number);
      if (ticks.length < 2) return null;
      const step = ticks[1] - ticks[0];
      return ticks.some((t) => Math.abs(t - 90) <= step) ? p : null;
    }, 15_000);
    await sleep(500);
    await s.screenshot(join(artifacts, 'readable-default.png'));
    copyFileSync(join(artifacts, 'readable-default.png'), join(screenshots, 'chart-default.png'));
    readable(position, '°');
  });

  it('gives the chart more height when the controls, the journal and everything else fold away', async () => {
    const base = await chartBox(s);
    await s.click('#fold-control');
    const noControls = await until('a taller chart without the controls', async () => {
      const b = await chartBox(s);
      return b.height > base.height + 40 ? b : null;
    });
    await s.click('#fold-journal');
    const noJournal = await until('a taller chart without the journal', async () => {
      const b = await chartBox(s);
      return b.height > noControls.height + 40 ? b : null;
    });
    assert.equal(await s.attr('#fold-control', 'aria-pressed'), 'true');
    assert.equal(await s.attr('#fold-journal', 'aria-pressed'), 'true');
    // The panels grow with the chart (and still label their ticks).
    await until('panels sharing the taller chart', async () => {
      const p = await panels(s);
      return p.length === 2 && p.every((x) => x.height > (base.height / 2) * 1.3) && p.every((x) => x.ticks.length >= 4);
    });
    const folded = await panels(s);
    readable(folded[0], '°');
    readable(folded[1], 'rpm');
    await s.screenshot(join(artifacts, 'readable-folded.png'));

    await s.click('#chart-title'); // the focus out of any field: F is a shortcut
    await s.keyboard('f');
    const chartOnly = await until('the chart only', async () => {
      const b = await chartBox(s);
      return b.height >= noJournal.height && (await s.exec("return document.getElementById('app').classList.contains('chart-only')")) ? b : null;
    });
    const wide = await s.exec("return document.getElementById('chart').getBoundingClientRect().width");
    assert.equal(await s.exec("return getComputedStyle(document.getElementById('sidebar')).display"), 'none', 'the drives column is hidden');
    assert.ok(wide > 1200, `the chart takes the window's width: ${wide} px`);
    await until('panels drawn across the whole width', async () => {
      const p = await panels(s);
      return p.length === 2 && p.every((x) => x.ticks.length >= 4);
    });
    await sleep(500);
    await s.screenshot(join(artifacts, 'readable-chart-only.png'));
    copyFileSync(join(artifacts, 'readable-chart-only.png'), join(screenshots, 'chart-only.png'));
    await s.keyboard('f');
    await until('the chart-only view left', async () => {
      const b = await chartBox(s);
      return Math.abs(b.height - noJournal.height) < 2 && (await s.exec("return !document.getElementById('app').classList.contains('chart-only')"));
    });
    assert.ok(chartOnly.height >= noJournal.height);
  });

  it('remembers the folded controls and journal after a restart', async () => {
    const folded = await chartBox(s);
    await app.close();
    app = await launchApp({ dataDir: app.dataDir });
    s = app.session;
    await until('two drive cards', async () => (await s.findAll('#drive-list .drive')).length === 2, 20_000);
    const classes = await s.exec("return [...document.getElementById('app').classList].sort().join(' ')");
    assert.equal(classes, 'fold-control fold-journal');
    assert.equal(await s.exec("return getComputedStyle(document.getElementById('control')).display"), 'none');
    assert.equal(await s.exec("return getComputedStyle(document.getElementById('journal')).display"), 'none');
    await until('the chart as tall as before the restart', async () => Math.abs((await chartBox(s)).height - folded.height) < 2);
  });
});

/** Switches the unit system with the status bar's pick (as a user would). */
async function pickUnits(s, system) {
  await s.click(`#units option[value="${system}"]`);
  await until(`the ${system} system picked`, async () => (await s.exec("return document.getElementById('units').value")) === system);
}

describe('one set of units, chosen by the user', () => {
  let app;
  let s;
  const cell = (name) => `#params-grid input[data-register=${JSON.stringify(name)}]`;
  const row = (name) => `#params-grid tr[data-row=${JSON.stringify(name)}]`;
  /** A register's value (its input, or the text of a read-only row) and its unit cell. */
  const register = (name) => s.exec(`const r = document.querySelector(arguments[0]); if (!r) return null;
    const input = r.querySelector('input[data-register]');
    return { value: input ? input.value : r.cells[4].textContent.trim(), unit: r.querySelector('td.unit').textContent.trim() };`, row(name));
  const statusIs = async (re) => {
    const text = await s.text('#params-status');
    if (!re.test(text)) throw new Error(`status: ${text}`);
    return true;
  };
  const readAll = async () => {
    await s.click('#params-read');
    await until('Read all: done', () => statusIs(/Read all: done/), 15_000);
  };
  const positionUnit = async () => (await panels(s))[0]?.unit;

  before(async () => {
    app = await launchApp();
    s = app.session;
    await until('two drive cards', async () => (await s.findAll('#drive-list .drive')).length === 2, 20_000);
  });

  after(async () => {
    await app?.close();
  });

  // Max Position Limit holds 4095 counts (0.00153398 rad each): 359.91°, 6.2817 rad,
  // 0.99976 turn. Velocity Limit is in rad/s: rpm, rad/s, rps, counts.
  const systems = [
    { system: 'degrees', angle: '°', speed: 'rpm', maxPosition: 359.91, grid: '°', gridSpeed: 'rpm' },
    { system: 'radians', angle: 'rad', speed: 'rad/s', maxPosition: 6.2817, grid: 'rad', gridSpeed: 'rad/s' },
    { system: 'turns', angle: 'turn', speed: 'rps', maxPosition: 0.99976, grid: 'turn', gridSpeed: 'rps' },
  ];

  it('reads the Parameters grid in degrees and rpm by default', async () => {
    assert.equal(await s.exec("return document.getElementById('units').value"), 'degrees');
    await s.click(drive(1));
    await s.click('#open-params');
    await until('the grid', async () => (await s.findAll('#params-grid tr[data-row]')).length > 20);
    await readAll();
    const max = await register('Max Position Limit');
    assert.equal(max.unit, '°');
    assert.ok(Math.abs(Number(max.value) - 359.91) < 0.01, `Max Position Limit ${max.value} °`);
    assert.equal((await register('Velocity Limit')).unit, 'rpm');
    assert.equal(await positionUnit(), '°');
  });

  for (const u of systems.slice(1)) {
    it(`switches to ${u.system}: the grid, the chart axis and the target follow`, async () => {
      await pickUnits(s, u.system);
      await until(`the grid in ${u.angle}`, async () => (await register('Max Position Limit'))?.unit === u.grid);
      const max = await register('Max Position Limit');
      assert.ok(Math.abs(Number(max.value) - u.maxPosition) <= u.maxPosition * 1e-4, `Max Position Limit ${max.value} ${max.unit}, not ${u.maxPosition}`);
      assert.equal((await register('Velocity Limit')).unit, u.gridSpeed);
      await until(`the position axis in ${u.angle}`, async () => (await positionUnit()) === u.angle);
      // At least the axis's two ends, in the new unit (how many fit is the chart tests' part).
      await until('ticks on the position axis', async () => (await panels(s))[0].ticks.length >= 2);
      assert.equal((await panels(s))[1].unit, u.speed, 'the velocity axis too');
      // The drive card follows on its next reading.
      const card = new RegExp(u.angle === '°' ? '°' : ` ?${u.angle}`);
      await until(`the drive card in ${u.angle}`, async () => card.test(await s.text(`${drive(1)} .position`)), 5_000);
      assert.equal(await s.exec("return document.getElementById('target-unit').textContent"), u.angle, 'the target field');
      assert.match(await s.attr('#target', 'title'), new RegExp(`${u.angle}\\b`), "the target's tooltip gives its limits in the same unit");
    });
  }

  it('moves the drive to 180° on a target of 0.5 turns', async () => {
    assert.equal(await s.exec("return document.getElementById('units').value"), 'turns');
    await s.click('#params-close');
    await until('the Parameters panel closed', async () => s.exec("return document.getElementById('params-panel').hidden"));
    await s.click(drive(1));
    await s.click('#enable');
    await until('the arming question', async () => (await s.exec("return document.getElementById('arm-dialog').hidden")) === false);
    await s.click('#arm-confirm');
    await until('drive 1 enabled', async () => (await s.attr(drive(1), 'data-state')) === 'enabled');
    await s.type('#target', '0.5');
    await s.click('#move');
    assert.equal(await s.text('#target-error'), '');
    await until('drive 1 at 0.5 turn', async () => Math.abs(number(await s.text(`${drive(1)} .position`)) - 0.5) < 0.005, 10_000);
    await until('the chart at 0.5 turn', async () => Math.abs(Number(await s.attr('#chart', 'data-last-position')) - 0.5) < 0.005);
    await s.screenshot(join(artifacts, 'units-turns.png'));
    // In degrees the same drive stands at 180°.
    await pickUnits(s, 'degrees');
    await until('drive 1 at 180°', async () => Math.abs(number(await s.text(`${drive(1)} .position`)) - 180) < 1.5);
    assert.equal(await positionUnit(), '°');
  });

  it('shows raw counts in the grid, and the choice survives a restart', async () => {
    await pickUnits(s, 'counts');
    await s.click('#open-params');
    await until('the grid', async () => (await s.findAll('#params-grid tr[data-row]')).length > 20);
    await until('the grid in counts', async () => (await register('Max Position Limit'))?.unit === 'counts');
    assert.equal((await register('Max Position Limit')).value, '4095');
    // Counts need a scale: the chart and the target field show what every other place
    // without one shows (units.ts: never counts a value was not measured in), and agree.
    const target = await s.exec("return document.getElementById('target-unit').textContent");
    await until('the position axis in the target unit', async () => (await positionUnit()) === target);
    await s.screenshot(join(artifacts, 'units-counts.png'));
    await app.close();
    app = await launchApp({ dataDir: app.dataDir });
    s = app.session;
    await until('two drive cards', async () => (await s.findAll('#drive-list .drive')).length === 2, 20_000);
    assert.equal(await s.exec("return document.getElementById('units').value"), 'counts', 'the pick after the restart');
    await s.click(drive(1));
    await s.click('#open-params');
    await until('the grid', async () => (await s.findAll('#params-grid tr[data-row]')).length > 20);
    await readAll();
    assert.deepEqual(await register('Max Position Limit'), { value: '4095', unit: 'counts' });
  });
});
