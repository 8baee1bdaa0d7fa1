import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeBackend } from '../backend/fake';
import { FAKE_OBSERVABLE_HZ } from '../backend/fakeTune';
import { setUnitSystem } from '../units';
import { TuningView } from './tuning';

const DRIVE = { link: 1, id: 1 };

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(ok()).toBe(true);
}

describe('Tuning view: suggest, what-if, apply, validate, compare', () => {
  let now = 1_790_000_000_000;
  let backend: FakeBackend;
  let root: HTMLElement;
  let view: TuningView;
  const $ = <T extends HTMLElement>(id: string) => root.querySelector(`#${id}`) as T;
  const candidate = (key: string) => root.querySelector(`#sg-predicted tr[data-key="${key}"] [data-candidate]`)?.textContent ?? '';
  const count = (name: string) => root.querySelector<HTMLInputElement>(`#sg-gains input.sg-count[data-gain="${name}"]`)!;
  const runTest = async () => {
    await backend.submit({ kind: 'arm', drive: DRIVE });
    await backend.submit({ kind: 'enable', drive: DRIVE });
    await view.start();
    now += 5000;
    await view.poll();
  };
  const identified = async () => {
    await runTest();
    await view.identify();
    await until(() => !$('sg-panel').hidden);
  };

  beforeEach(async () => {
    setUnitSystem('degrees');
    now = 1_790_000_000_000;
    backend = new FakeBackend({ now: () => now });
    root = document.createElement('div');
    document.body.appendChild(root);
    view = new TuningView(root, backend, { pollMs: 1e9 });
    await view.open(DRIVE);
  });
  afterEach(() => root.remove());

  it('shows the panel only with a model, and suggests stiffer gains for a faster loop without writing them', async () => {
    await runTest();
    expect($('sg-panel').hidden).toBe(true);
    await view.identify();
    await until(() => !$('sg-panel').hidden);
    // The gains in force to start with, and what they give.
    expect(count('Position P Gain').value).toBe('800');
    const before = candidate('bandwidth');
    $<HTMLInputElement>('sg-value').value = '12';
    const sent = backend.submitted.length;
    await view.suggest.suggest();
    expect(Number(count('Position P Gain').value)).toBeGreaterThan(800);
    expect(candidate('bandwidth')).not.toBe(before);
    expect(Number($('sg-panel').dataset.bandwidthHz)).toBeCloseTo(12, 0);
    expect($('sg-rule').textContent).toContain('pole placement');
    expect(root.querySelector('#sg-gains tr[data-row="Position P Gain"]')!.classList.contains('changed')).toBe(true);
    expect(backend.submitted.length).toBe(sent);
    // The charts show the candidate beside the gains in force.
    expect($('sg-step').dataset.series).toBe('these gains|gains in run');
  });

  it('recomputes the prediction live as a gain slider moves, the latest answer winning', async () => {
    await identified();
    const asked = backend.whatIf.predictions.length;
    const slider = root.querySelector<HTMLInputElement>('#sg-gains input[type="range"][data-gain="Position P Gain"]')!;
    const slow = Number($('sg-panel').dataset.bandwidthHz);
    slider.value = '3000';
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    slider.value = '4000';
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    await until(() => backend.whatIf.predictions.length > asked);
    await until(() => Number($('sg-panel').dataset.bandwidthHz) > slow);
    // The moves within the debounce make one request, with the last value.
    const last = backend.whatIf.predictions[backend.whatIf.predictions.length - 1];
    expect(last.gains.find((g) => g.name === 'Position P Gain')?.counts).toBe(4000);
    expect(count('Position P Gain').value).toBe('4000');
    // Out of its range: said, nothing asked.
    const n = backend.whatIf.predictions.length;
    count('Position P Gain').value = '99999';
    count('Position P Gain').dispatchEvent(new Event('input', { bubbles: true }));
    await new Promise((r) => setTimeout(r, 60));
    expect(backend.whatIf.predictions.length).toBe(n);
    expect($('sg-status').textContent).toContain('outside 0–16383');
  });

  it('refuses a target the link cannot observe, and says why', async () => {
    await identified();
    $<HTMLInputElement>('sg-value').value = String(FAKE_OBSERVABLE_HZ * 2);
    await view.suggest.suggest();
    expect($('sg-status').textContent).toContain('cannot observe');
    expect($('sg-status').classList.contains('bad')).toBe(true);
  });

  it('writes a suggestion only after the confirmation, as one parameter write', async () => {
    await identified();
    $<HTMLInputElement>('sg-value').value = '12';
    await view.suggest.suggest();
    const p = Number(count('Position P Gain').value);
    const sent = backend.submitted.length;
    $('sg-apply').click();
    expect($('sg-confirm').hidden).toBe(false);
    expect($('sg-confirm-text').textContent).toContain(`Position P Gain: 800 → ${p}`);
    expect(backend.submitted.length).toBe(sent);
    $('sg-confirm-cancel').click();
    expect($('sg-confirm').hidden).toBe(true);
    expect(backend.submitted.length).toBe(sent);
    $('sg-apply').click();
    $('sg-confirm-write').click();
    await until(() => $('sg-status').textContent!.startsWith('Written'));
    const write = backend.submitted.find((c) => c.kind === 'writeParams');
    expect(write).toMatchObject({ kind: 'writeParams', drive: DRIVE });
    expect(write && 'values' in write ? write.values : []).toContainEqual(['Position P Gain', p]);
  });

  it('validates: runs the test again and compares it with the prediction', async () => {
    await identified();
    const modelRun = view.run!.summary.id;
    await backend.submit({ kind: 'arm', drive: DRIVE });
    await backend.submit({ kind: 'enable', drive: DRIVE });
    await view.suggest.validate();
    const validation = view.run!.summary.id;
    expect(validation).not.toBe(modelRun);
    expect(backend.tuning.started[backend.tuning.started.length - 1].test).toEqual(backend.tuning.started[0].test);
    now += 5000;
    await view.poll();
    await until(() => ($('sg-validation').textContent ?? '').includes(`Validation run ${validation} against run ${modelRun}`));
    expect($('sg-validation').dataset.fitPct).toBe('95');
    expect($('sg-replay').hidden).toBe(false);
  });

  it('compares the runs ticked in the list and exports the comparison', async () => {
    await runTest();
    await runTest();
    await view.refreshRuns();
    const boxes = [...root.querySelectorAll<HTMLInputElement>('#tune-runs input[data-compare]')];
    expect(boxes.length).toBe(2);
    expect($<HTMLButtonElement>('tune-compare').disabled).toBe(true);
    const shown = view.run!.summary.id;
    for (const b of boxes) {
      b.checked = true;
      b.dispatchEvent(new Event('change', { bubbles: true }));
      b.click();
      b.checked = true;
    }
    // Ticking does not reopen a run.
    expect(view.run!.summary.id).toBe(shown);
    boxes[0].dispatchEvent(new Event('change', { bubbles: true }));
    expect($<HTMLButtonElement>('tune-compare').disabled).toBe(false);
    $('tune-compare').click();
    await until(() => root.querySelectorAll('#cmp-table thead th[data-run]').length === 2);
    expect(root.querySelector('#cmp-table tr[data-key="gain:Position P Gain"]')!.textContent).toContain('800');
    expect($('cmp-step').dataset.series?.split('|').length).toBe(2);
    root.querySelector<HTMLButtonElement>('[data-cmp-export="csv"]')!.click();
    await until(() => ($('cmp-export-path').textContent ?? '').includes('compare_runs_'));
  });
});

describe('Tuning view: the passive estimate', () => {
  it('estimates the step from the last seconds of the session, and refuses a range too short', async () => {
    const now = 1_790_000_000_000;
    const backend = new FakeBackend({ now: () => now });
    const root = document.createElement('div');
    document.body.appendChild(root);
    const view = new TuningView(root, backend, { pollMs: 1e9 });
    await view.open(DRIVE);
    const $ = <T extends HTMLElement>(id: string) => root.querySelector(`#${id}`) as T;
    $<HTMLInputElement>('tp-seconds').value = '30';
    await view.passive.estimate();
    expect($('tp-out').textContent).toContain('position loop, 40 moves');
    expect($('tp-chart').hidden).toBe(false);
    expect($('tp-chart').dataset.series).toBe('estimated from the session');
    $<HTMLInputElement>('tp-seconds').value = '2';
    await view.passive.estimate();
    expect($('tp-out').textContent).toContain('give 5 to 3600 seconds');
    root.remove();
  });
});
