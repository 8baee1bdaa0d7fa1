// End-to-end: the Tuning view of the real window on the built-in rig (DYNAMIXEL XM430-W350
// simulated over a pty). A step on drive 1 ends completed with its metrics and its time
// chart; a chirp ends with a Bode chart (magnitude, phase, coherence) and its margins, and
// its mechanics are identified (the model's table and velocity); gains are suggested for
// a bandwidth on that model, a slider moves the prediction, the gains are applied (after
// the confirmation) and validated by a second chirp, and the two chirps are compared;
// both are in the run list, and clicking the step reopens it as it was measured. A test
// outside the limits is refused beside the form and nothing is sent. Screenshots go to
// tests/ui/artifacts/ (tuning-step.png and tuning-chirp.png are in the README).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchApp, until } from './webdriver.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

const drive = (id) => `#drive-list .drive[data-link="1"][data-drive-id="${id}"]`;
const number = (text) => Number.parseFloat(String(text).replace(/[^0-9.+-]/g, ''));

describe('the Tuning view', () => {
  let app;
  let s;
  let stepRun;
  let stepMetrics;

  /** The metrics table as { key: shown value }. */
  const metrics = () =>
    s.exec('return Object.fromEntries([...document.querySelectorAll("#tune-metrics tr[data-metric]")].map((r) => [r.dataset.metric, r.cells[1].innerText.trim()]))');
  /** Sets a form field as a user typing would (an input event). */
  const field = (key, value) =>
    s.exec(
      'const el = document.querySelector(`#tune-fields [data-key="${arguments[0]}"]`); el.value = arguments[1]; el.dispatchEvent(new Event("input", { bubbles: true }));',
      key,
      value,
    );
  const chooseTest = (kind) =>
    s.exec('const el = document.getElementById("tune-kind"); el.value = arguments[0]; el.dispatchEvent(new Event("change", { bubbles: true }));', kind);
  const runState = () => s.attr('#tune-state', 'data-state');
  const stateText = () => s.shown('#tune-state');
  /** Runs the form's test and waits for it to end; the run's id. */
  const runTest = async (timeoutMs) => {
    const shownBefore = await stateText();
    await s.click('#tune-run');
    await until('the run to start', async () => {
      const error = await s.shown('#tune-error');
      if (error) throw new Error(error);
      const text = await stateText();
      if (!/^run \d+/.test(text) || text.split(':')[0] === shownBefore.split(':')[0]) throw new Error(`shown: ${text}`);
      return true;
    }, 10_000);
    await until('the run to end', async () => {
      const state = await runState();
      if (state === 'running') return false;
      if (state !== 'completed') throw new Error(`${state}: ${await s.shown('#tune-reason')}`);
      return true;
    }, timeoutMs, 250);
    // The analysis is stored a moment after the run ends; the view keeps polling for it.
    await until('its results', async () => (await s.findAll('#tune-metrics tr[data-metric]')).length > 0, 10_000);
    return Number((await stateText()).match(/^run (\d+)/)[1]);
  };
  const jobCount = async () => (await s.findAll('#jobs tr.job')).length;

  before(async () => {
    app = await launchApp();
    s = app.session;
    await until('the built-in rig', async () => (await s.findAll('#drive-list .drive')).length === 2, 20_000);
    await s.click(drive(1));
    await s.click('#enable');
    await until('the arming question', async () => (await s.exec("return document.getElementById('arm-dialog').hidden")) === false);
    await s.click('#arm-confirm');
    await until('drive 1 enabled', async () => (await s.attr(drive(1), 'data-state')) === 'enabled', 10_000);
    // Away from the end of the range, so a test may swing both ways.
    await s.type('#target', '90');
    await s.click('#move');
    await until('drive 1 at 90°', async () => Math.abs(number(await s.text(`${drive(1)} .position`)) - 90) < 2, 10_000);
    await s.click('#open-tuning');
    await until('the test form', async () => (await s.findAll('#tune-fields [data-key]')).length > 2, 10_000);
  });

  after(async () => {
    await app?.close();
  });

  it('shows the limits a test keeps and refuses a step beyond them, sending nothing', async () => {
    assert.match(await s.shown('#tune-drive'), /drive 1:1/i);
    assert.match(await s.shown('#tune-loop'), /position loop/);
    const limits = await s.exec('return [...document.querySelectorAll("#tune-limits tr")].length');
    assert.ok(limits >= 3, `${limits} limit rows`);
    await new Promise((r) => setTimeout(r, 700));
    const before = await jobCount();
    // Far beyond the travel window: refused by the form before anything is sent.
    await field('size', '300');
    await s.click('#tune-run');
    await until('the refusal', async () => /Refused: .*Nothing was sent/.test(await s.shown('#tune-error')), 3_000);
    assert.equal(await stateText(), '', 'no run started');
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(await jobCount(), before, 'no job was submitted');
  });

  it('runs a step and shows its metrics and its time chart', async () => {
    await field('size', '10'); // degrees
    await field('holdS', '0.5');
    await field('repeats', '1');
    stepRun = await runTest(20_000);
    stepMetrics = await metrics();
    // The XM430's factory loop rises a 10° step in tens of milliseconds, with little
    // overshoot (the simulator's own figures: sim/src/firmware/dynamixel_x/tests.rs).
    const rise = stepMetrics.rise;
    assert.match(rise, /\d+(\.\d+)? ms/, rise);
    assert.ok(number(rise) > 5 && number(rise) < 300, rise);
    assert.ok(number(stepMetrics.overshoot) < 30, stepMetrics.overshoot);
    // The built-in rig is not paced: where it reads faster than a real wire, it says so.
    const rate = stepMetrics.rate.match(/Hz \((\d+) % of the \d+ Hz wire limit(; faster than a real wire: the simulator is not paced)?\)/);
    assert.ok(rate, stepMetrics.rate);
    assert.equal(Boolean(rate[2]), Number(rate[1]) > 105, stepMetrics.rate);
    assert.match(stepMetrics.clock, /drive's clock/, 'timestamps from Realtime Tick');
    assert.ok('gain:Position P Gain' in stepMetrics, Object.keys(stepMetrics).join());
    assert.equal(await s.exec('return document.getElementById("tune-bode").hidden'), true, 'no Bode for a step');
    await until('the time chart', async () => Number(await s.attr('#tune-time', 'data-points')) > 100, 5_000);
    assert.equal(await s.attr('#tune-time', 'data-unit'), '°');
    assert.equal((await s.findAll('#tune-time canvas')).length, 1);
    await s.screenshot(join(artifacts, 'tuning-step.png'));
    // The drive is back where it was and still enabled.
    assert.equal(await s.attr(drive(1), 'data-state'), 'enabled');
  });

  it('runs a chirp and shows its Bode chart with coherence and margins', async () => {
    await chooseTest('chirp');
    await until('the chirp form', async () => (await s.findAll('#tune-fields [data-key="startHz"]')).length === 1);
    await field('startHz', '1');
    // Past the −3 dB point of the faster loop the validation below measures.
    await field('endHz', '20');
    await field('durationS', '8');
    const run = await runTest(40_000);
    assert.ok(run > stepRun, `${run} after ${stepRun}`);
    assert.equal(await s.exec('return document.getElementById("tune-bode").hidden'), false);
    const points = Number(await s.attr('#tune-bode', 'data-points'));
    assert.ok(points > 20, `${points} frequencies`);
    // The frequency range the link could observe, marked on the chart (its upper end set
    // by the reading rate and its jitter: some hertz to some tens of hertz here).
    const observable = Number(await s.attr('#tune-bode', 'data-observable-hz'));
    assert.ok(observable > 2 && observable < 700, `observable up to ${observable} Hz`);
    // Magnitude, phase and coherence panels, and the marks above them.
    assert.equal((await s.findAll('#tune-bode canvas')).length, 3);
    const marks = await s.exec('return [...document.querySelectorAll("#tune-bode .bode-mark")].map((m) => m.dataset.kind)');
    assert.ok(marks.includes('observable'), marks.join());
    const m = await metrics();
    assert.match(m.bandwidth, /\d Hz/, m.bandwidth);
    // The factory position loop of an XM430 closes at a few hertz.
    assert.ok(number(m.bandwidth) > 1 && number(m.bandwidth) < 20, m.bandwidth);
    assert.match(m.pm, /°/, m.pm);
    await s.screenshot(join(artifacts, 'tuning-chirp.png'));
  });

  it("fits the chirp's mechanics: the simulated XM430's inertia, the model's velocity over the measured", async () => {
    await s.click('#tune-identify');
    const cell = (key) => s.exec('const r = document.querySelector(`#tune-model tr[data-metric="${arguments[0]}"]`); return r ? r.cells[1].innerText.trim() : ""', key);
    await until('the model', async () => {
      const notes = await s.shown('#tune-model-notes');
      if (notes.startsWith('No model')) throw new Error(notes);
      return (await cell('J')) !== '';
    }, 10_000);
    // The built-in XM430's profile puts 0.012 kg·m² at its output.
    const j = await cell('J');
    assert.match(j, /^[\d.]+ ± [\d.]+ kg·m²$/, j);
    assert.ok(Math.abs(number(j) / 0.012 - 1) < 0.3, j);
    assert.match(await cell('fit'), /%/);
    assert.equal(await s.exec('return document.getElementById("tune-model-chart").hidden'), false);
    assert.equal((await s.findAll('#tune-model-chart canvas')).length, 1);
    await s.exec('document.getElementById("tune-model").scrollIntoView({ block: "center" })');
    await s.screenshot(join(artifacts, 'tuning-model.png'));
  });

  it('suggests gains on the model, moves the prediction with a slider, applies and validates them, and compares the runs', async () => {
    const chirpRun = Number((await stateText()).match(/^run (\d+)/)[1]);
    await until('the suggestion panel', async () => (await s.exec('return document.getElementById("sg-panel").hidden')) === false, 10_000);
    await s.exec('const v = document.getElementById("sg-value"); v.value = "10"; document.getElementById("sg-panel").scrollIntoView({ block: "start" });');
    await s.click('#sg-suggest');
    await until('the suggestion', async () => {
      const status = await s.shown('#sg-status');
      if (status.startsWith('No suggestion')) throw new Error(status);
      return /pole placement/.test(await s.shown('#sg-rule'));
    }, 10_000);
    const bandwidth = async () => Number(await s.attr('#sg-panel', 'data-bandwidth-hz'));
    const suggested = await bandwidth();
    assert.ok(Math.abs(suggested / 10 - 1) < 0.05, `predicted ${suggested} Hz for a 10 Hz target`);
    const counts = () => s.exec('return Object.fromEntries([...document.querySelectorAll("#sg-gains input.sg-count")].map((i) => [i.dataset.gain, Number(i.value)]))');
    const gains = await counts();
    assert.ok(gains['Position P Gain'] > 800, JSON.stringify(gains));
    // A softer P on its slider: the prediction follows.
    await s.exec(
      'const el = document.querySelector(\'#sg-gains input[type="range"][data-gain="Position P Gain"]\'); el.value = String(arguments[0]); el.dispatchEvent(new Event("input", { bubbles: true }));',
      Math.round(gains['Position P Gain'] / 2),
    );
    await until('the prediction to follow the slider', async () => (await bandwidth()) < 0.9 * suggested, 5_000);
    await s.click('#sg-suggest');
    await until('the suggestion again', async () => Math.abs((await bandwidth()) - suggested) < 0.01, 5_000);
    await s.screenshot(join(artifacts, 'tuning-suggest.png'));
    // Apply asks first; nothing is written until Write.
    const jobsBefore = await jobCount();
    await s.click('#sg-apply');
    await until('the confirmation', async () => (await s.exec('return document.getElementById("sg-confirm").hidden')) === false);
    assert.match(await s.shown('#sg-confirm-text'), new RegExp(`Position P Gain: 800 → ${gains['Position P Gain']}`));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await jobCount(), jobsBefore, 'nothing written before the confirmation');
    await s.click('#sg-confirm-write');
    await until('the gains written', async () => {
      const status = await s.shown('#sg-status');
      if (status.startsWith('Not written')) throw new Error(status);
      return status.startsWith('Written');
    }, 10_000);
    // Validate: the chirp again, with the new gains, against the prediction.
    await s.click('#sg-validate');
    await until('the validation', async () => /^Validation run \d+ against run \d+/.test(await s.shown('#sg-validation')), 60_000, 250);
    const validation = await s.shown('#sg-validation');
    const validationRun = Number(validation.match(/^Validation run (\d+)/)[1]);
    const fit = Number(await s.attr('#sg-validation', 'data-fit-pct'));
    assert.ok(fit > 50, `validation fit ${fit} %: ${validation}`);
    // Measured where the chirp reaches the −3 dB point, else said why not.
    assert.match(validation, /bandwidth ([\d.]+ Hz measured, [\d.]+ Hz predicted|not measured: \|T\| stays within 3 dB up to [\d.]+ Hz)/, validation);
    await s.exec('document.getElementById("sg-validation").scrollIntoView({ block: "center" })');
    await s.screenshot(join(artifacts, 'tuning-validate.png'));
    // The two chirps compared: before and after.
    await until('both chirps listed', async () => (await s.findAll(`#tune-runs input[data-compare="${validationRun}"]`)).length === 1, 5_000);
    for (const id of [chirpRun, validationRun]) {
      await s.exec('const el = document.querySelector(`#tune-runs input[data-compare="${arguments[0]}"]`); el.checked = true; el.dispatchEvent(new Event("change", { bubbles: true }));', id);
    }
    await s.click('#tune-compare');
    await until('the comparison', async () => (await s.findAll('#cmp-table th[data-run]')).length === 2, 10_000);
    // After the suggestion the loop is faster: its step (each run's model with its own
    // gains) rises sooner.
    const rise = await s.exec('return [...document.querySelectorAll(\'#cmp-table tr[data-key="rise"] td\')].map((c) => c.innerText)');
    assert.ok(number(rise[1]) < number(rise[0]), `rise before and after: ${rise}`);
    assert.equal(await s.attr('#cmp-step', 'data-series').then((x) => x.split('|').length), 2);
    await s.exec('document.getElementById("cmp-panel").scrollIntoView({ block: "start" })');
    await s.screenshot(join(artifacts, 'tuning-compare.png'));
    await s.click('[data-cmp-export="png"]');
    await until('the report', async () => /compare_runs_\d+_\d+\.png/.test(await s.shown('#cmp-export-path')), 10_000);
  });

  it('lists both runs and reopens the step as it was measured', async () => {
    const rows = () => s.exec('return [...document.querySelectorAll("#tune-runs tr[data-run]")].map((r) => [Number(r.dataset.run), r.cells[3].innerText, r.cells[5].innerText])');
    await until('both runs listed', async () => (await rows()).length >= 2, 5_000);
    const listed = await rows();
    assert.deepEqual(listed.find((r) => r[0] === stepRun).slice(1), ['step', 'completed']);
    assert.deepEqual(listed.find((r) => r[0] !== stepRun).slice(1), ['chirp', 'completed']);
    // The test filter.
    await s.exec('const el = document.getElementById("tune-f-test"); el.value = "step"; el.dispatchEvent(new Event("change", { bubbles: true }));');
    await until('only the step', async () => (await rows()).every((r) => r[1] === 'step'), 5_000);
    const row = `#tune-runs tr[data-run="${stepRun}"]`;
    await s.exec('document.querySelector(arguments[0]).scrollIntoView({ block: "center" })', row);
    await s.click(`${row} td:nth-child(2)`);
    await until('the step reopened', async () => (await stateText()) === `run ${stepRun}: completed`, 5_000);
    assert.equal(await s.exec('return document.getElementById("tune-bode").hidden'), true);
    assert.deepEqual(await metrics(), stepMetrics, 'the metrics as they were measured');
    await until('its time chart', async () => Number(await s.attr('#tune-time', 'data-points')) > 100, 5_000);
  });
});
