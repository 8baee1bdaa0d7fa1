import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeBackend } from '../backend/fake';
import { FAKE_OBSERVABLE_HZ, FAKE_OVERSHOOT_PCT } from '../backend/fakeTune';
import { bodeData } from '../chart/bode';
import { setUnitSystem } from '../units';
import { TuningView } from './tuning';
import { checkSpec } from './tuneForm';
import { metricRows } from './tuneMetrics';

const DRIVE = { link: 1, id: 1 };

/** Waits (up to a second) for `ok`. */
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(ok()).toBe(true);
}

describe('Tuning view', () => {
  let now = 1_790_000_000_000;
  let backend: FakeBackend;
  let root: HTMLElement;
  let view: TuningView;
  const $ = <T extends HTMLElement>(id: string) => root.querySelector(`#${id}`) as T;
  const field = (key: string) => root.querySelector<HTMLInputElement>(`[data-key="${key}"]`)!;
  const enable = async () => {
    await backend.submit({ kind: 'arm', drive: DRIVE });
    await backend.submit({ kind: 'enable', drive: DRIVE });
  };
  const pick = (kind: string) => {
    $<HTMLSelectElement>('tune-kind').value = kind;
    $('tune-kind').dispatchEvent(new Event('change'));
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
  afterEach(() => {
    root.remove();
    setUnitSystem('degrees');
  });

  it('prefills the form from the defaults in the chosen units, with the limits beside it', async () => {
    expect($('tune-loop').textContent).toBe('position loop');
    // Opened with defaults, the test can be run (and nothing runs to abort).
    expect($<HTMLButtonElement>('tune-run').disabled).toBe(false);
    expect($<HTMLButtonElement>('tune-abort').disabled).toBe(true);
    expect(Number(field('size').value)).toBeCloseTo(10, 1); // 0.1745 rad
    expect(field('size').title).toContain('°');
    expect(Number(field('travelWindowRad').value)).toBeCloseTo(30, 1);
    expect(root.querySelector('[data-limit="travel max"]')!.textContent).toBe('± 90 °');
    expect(root.querySelector('[data-limit="wire limit"]')!.textContent).toBe('550 Hz');
    expect(root.querySelector('[data-limit="max duration"]')!.textContent).toBe('60 s');
    setUnitSystem('radians');
    view.unitsChanged();
    expect(Number(field('size').value)).toBeCloseTo(0.1745, 4);
    expect(root.querySelector('[data-limit="travel max"]')!.textContent).toBe('± 1.5708 rad');
  });

  it('gives every control a tooltip, with the unit and limits on the test settings', () => {
    for (const kind of ['step', 'ramp', 'chirp', 'prbs', 'multisine', 'relay']) {
      pick(kind);
      for (const el of root.querySelectorAll<HTMLElement>('input, select, button')) {
        const title = el.title || el.closest<HTMLElement>('[title]')?.title || '';
        expect(title, `${kind}: ${el.id || el.dataset.key || el.outerHTML}`).not.toBe('');
      }
    }
    pick('chirp');
    expect(field('endHz').title).toContain('at most 275 Hz');
    expect(field('amplitude').title).toContain('°');
    expect(field('amplitude').title).toContain('±30 °');
  });

  it('refuses values beyond the limits without calling tune_start', async () => {
    await enable();
    field('travelWindowRad').value = '120';
    await view.start();
    expect($('tune-error').textContent).toContain('wider than the limit ±90');
    field('travelWindowRad').value = '30';
    field('size').value = '40';
    await view.start();
    expect($('tune-error').textContent).toContain('beyond the travel window');
    field('size').value = 'ten';
    await view.start();
    expect($('tune-error').textContent).toContain('not a number');
    pick('chirp');
    field('endHz').value = '400';
    await view.start();
    expect($('tune-error').textContent).toContain('above half the wire limit');
    expect(backend.tuning.started).toHaveLength(0);
    expect(view.run).toBeNull();
  });

  it('identifies the mechanics of a finished run, not of a running one, and forgets them on another run', async () => {
    await enable();
    await view.start();
    // While the run plays there is nothing to fit yet.
    expect($<HTMLButtonElement>('tune-identify').disabled).toBe(true);
    now += 5000;
    await view.poll();
    expect($('tune-state').dataset.state).toBe('completed');
    expect($<HTMLButtonElement>('tune-identify').disabled).toBe(false);
    $('tune-identify').click();
    await new Promise((r) => setTimeout(r, 0));
    await view.identify();
    const cell = (key: string) => root.querySelector(`#tune-model [data-metric="${key}"] td`)?.textContent ?? '';
    expect(cell('g')).toBe('341.0 ± 2.0 rad/s² per PWM fraction');
    expect(cell('J')).toMatch(/^0\.01202 ± 0\.00010 kg·m²$/);
    expect(cell('fit')).toContain('96.5 %');
    expect($('tune-model-chart').hidden).toBe(false);
    expect($('tune-model-chart').dataset.points).toBe('200');
    expect($('tune-model-chart').dataset.unit).toBe('rpm');
    // Another run shown: its model is not this one's.
    const first = view.run!.summary.id;
    await enable();
    await view.start();
    now += 5000;
    await view.poll();
    expect(view.run!.summary.id).not.toBe(first);
    expect(cell('g')).toBe('');
    expect($('tune-model-chart').hidden).toBe(true);
    // A run that is gone: the reason, no table.
    view.run!.summary.id = 999;
    await view.identify();
    expect($('tune-model-notes').textContent).toContain('No model from run 999');
    expect(cell('g')).toBe('');
  });

  it('keeps polling a run that ended until its analysis is stored', async () => {
    view = new TuningView(root, backend, { pollMs: 5 });
    await view.open(DRIVE);
    await enable();
    // The first two readings after the end come before the analysis is stored.
    const real = backend.tuneRun.bind(backend);
    let withheld = 0;
    backend.tuneRun = async (id: number) => {
      const run = await real(id);
      if (run.summary.state !== 'running' && withheld < 2) {
        withheld += 1;
        return { ...run, results: null };
      }
      return run;
    };
    await view.start();
    now += 5000;
    await new Promise((r) => setTimeout(r, 10));
    await until(() => withheld === 2 && !!root.querySelector('#tune-metrics [data-metric="overshoot"]'));
    expect(root.querySelector('#tune-metrics')!.textContent).not.toContain('analysing');
  });

  it('shows a refusal from the backend beside the form (drive not enabled)', async () => {
    await view.start();
    expect($('tune-error').textContent).toContain('not enabled');
    expect(view.run).toBeNull();
  });

  it('runs a step: running, then completed with the model\'s overshoot in the metrics', async () => {
    await enable();
    await view.start();
    expect(backend.tuning.started[0].test.excitation).toMatchObject({ kind: 'step' });
    expect((backend.tuning.started[0].test.excitation as { size: number }).size).toBeCloseTo(0.1745, 3);
    expect($('tune-state').dataset.state).toBe('running');
    expect($<HTMLButtonElement>('tune-run').disabled).toBe(true);
    expect($<HTMLButtonElement>('tune-abort').disabled).toBe(false);
    expect($('tune-metrics').textContent).toContain('running');
    now += 1000;
    await view.poll();
    // A second in, a second of samples (500 Hz).
    expect(Number($('tune-time').dataset.points)).toBeGreaterThan(450);
    expect(Number($('tune-time').dataset.points)).toBeLessThan(550);
    now += 2500;
    await view.poll();
    expect($('tune-state').dataset.state).toBe('completed');
    expect($<HTMLButtonElement>('tune-run').disabled).toBe(false);
    const overshoot = root.querySelector('[data-metric="overshoot"] td')!.textContent!;
    expect(Number.parseFloat(overshoot)).toBeCloseTo(FAKE_OVERSHOOT_PCT, 0);
    expect(root.querySelector('[data-metric="rise"] td')!.textContent).toMatch(/ ms$/);
    expect(root.querySelector('[data-metric="rate"] td')!.textContent).toContain('91 % of the 550 Hz wire limit');
    expect(root.querySelector('[data-metric="rate"] td')!.textContent).not.toContain('not paced');
    // Twice the limit: only an unpaced simulator reads that fast, and the row says so.
    const unpaced = structuredClone(view.run!);
    unpaced.results!.rate_of_limit_pct = 212;
    const rate = metricRows(unpaced).find((row) => row.key === 'rate')!;
    expect(rate.value).toContain('212 % of the 550 Hz wire limit; faster than a real wire: the simulator is not paced');
    expect(root.querySelector('[data-metric="gain:Position P Gain"] td')!.textContent).toBe('800');
    expect(root.querySelector('[data-metric="clock"] td')!.textContent).toBe("the drive's clock");
    // The time chart came from the run's own samples through `window`.
    const w = backend.windows[backend.windows.length - 1];
    expect(w.session).toBe(view.run!.summary.session);
    expect(w.channels).toEqual(view.run!.channels.map((c) => c.id));
    expect([w.fromS, w.toS]).toEqual([view.run!.fromS, view.run!.toS]);
    expect(Number($('tune-time').dataset.points)).toBeGreaterThan(1000);
    expect($('tune-time').dataset.unit).toBe('°');
    expect($('tune-bode').hidden).toBe(true);
  });

  it('waits for a started run to appear in the store before showing it', async () => {
    await enable();
    // As the app's engine does: tune_start answers with the run's id as soon as the job
    // is accepted; the run is found a moment later, once the link has begun it.
    const real = backend.tuneRun.bind(backend);
    let misses = 0;
    backend.tuneRun = async (id: number) => {
      if (misses < 3) {
        misses += 1;
        throw new Error(`not found: no run ${id}`);
      }
      return real(id);
    };
    const started = view.start();
    await Promise.resolve();
    expect($<HTMLButtonElement>('tune-run').disabled).toBe(true);
    await started;
    expect(misses).toBe(3);
    expect($('tune-error').textContent).toBe('');
    expect($('tune-state').dataset.state).toBe('running');
  });

  it('polls tune_run by itself until the run is no longer running', async () => {
    await enable();
    const polled = new TuningView(root, backend, { pollMs: 5 });
    await polled.open(DRIVE);
    await polled.start();
    expect(polled.run!.summary.state).toBe('running');
    now += 4000;
    for (let i = 0; i < 40 && polled.run!.summary.state === 'running'; i++) await new Promise((r) => setTimeout(r, 5));
    expect(polled.run!.summary.state).toBe('completed');
    expect(root.querySelector('#tune-runs tbody tr')!.textContent).toContain('completed');
  });

  it('a chirp run gives a Bode with dimmed low-coherence points and the observable marker', async () => {
    await enable();
    pick('chirp');
    await view.start();
    now += 12_000;
    await view.poll();
    const run = view.run!;
    expect(run.summary.state).toBe('completed');
    const data = bodeData(run.results!.frf!, run.results!.observable);
    const above = data.freq.map((f, i) => [f, i] as const).filter(([f]) => f > FAKE_OBSERVABLE_HZ + 5);
    expect(above.length).toBeGreaterThan(0);
    // Dimmed, not hidden: every point is in one series or the other.
    for (const [, i] of above) {
      expect(data.magTrusted[i]).toBeNull();
      expect(data.magDimmed[i]).not.toBeNull();
    }
    expect(data.freq.every((_f, i) => data.magTrusted[i] !== null || data.magDimmed[i] !== null)).toBe(true);
    expect(data.magTrusted[0]).not.toBeNull();
    const marker = data.marks.find((m) => m.kind === 'observable')!;
    expect(marker.hz).toBe(FAKE_OBSERVABLE_HZ);
    expect(marker.title).toContain(run.results!.observable.rule);
    expect(data.marks.map((m) => m.kind)).toEqual(expect.arrayContaining(['gain', 'phase', 'bandwidth']));
    // The view shows it.
    expect($('tune-bode').hidden).toBe(false);
    expect(Number($('tune-bode').dataset.dimmed)).toBe(data.dimmedCount);
    expect($('tune-bode').dataset.observableHz).toBe(String(FAKE_OBSERVABLE_HZ));
    expect(root.querySelector<HTMLElement>('.bode-mark[data-kind="observable"]')!.title).toContain('jitter');
    expect(root.querySelector('[data-metric="pm"] td')!.textContent).toMatch(/°/);
    expect(root.querySelector('[data-metric="gm"] td')!.textContent).toMatch(/dB/);
  });

  it('abort calls tune_abort and shows the reason prominently', async () => {
    await enable();
    pick('chirp');
    await view.start();
    now += 2000;
    root.querySelector<HTMLButtonElement>('#tune-abort')!.click();
    await new Promise((r) => setTimeout(r, 0));
    await view.poll();
    expect(view.run!.summary.state).toBe('aborted');
    expect($('tune-reason').hidden).toBe(false);
    expect($('tune-reason').textContent).toContain('aborted by the user');
  });

  it('lists runs by drive, test and date, reopens one as measured, and exports it', async () => {
    await enable();
    await view.start(); // step
    now += 4000;
    await view.poll();
    pick('chirp');
    await view.start();
    now += 12_000;
    await view.poll();
    let runs = await view.refreshRuns();
    expect(runs.map((r) => r.test)).toEqual(['chirp', 'step']);
    $<HTMLSelectElement>('tune-f-test').value = 'step';
    runs = await view.refreshRuns();
    expect(runs.map((r) => r.test)).toEqual(['step']);
    expect(root.querySelectorAll('#tune-runs tbody tr')).toHaveLength(1);
    $<HTMLInputElement>('tune-f-since').value = '2099-01-01';
    expect(await view.refreshRuns()).toHaveLength(0);
    $<HTMLInputElement>('tune-f-since').value = '';
    $<HTMLSelectElement>('tune-f-test').value = '';
    await view.refreshRuns();
    const stepRow = [...root.querySelectorAll<HTMLElement>('#tune-runs tr[data-run]')].find((r) => r.textContent!.includes('step'))!;
    const before = backend.windows.length;
    stepRow.querySelector('td')!.click();
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    expect(view.run!.summary.test).toBe('step');
    expect(backend.windows.length).toBe(before + 1);
    expect(root.querySelector('[data-metric="overshoot"]')).not.toBeNull();
    root.querySelector<HTMLButtonElement>('[data-export="svg"]')!.click();
    await new Promise((r) => setTimeout(r, 0));
    expect(backend.tuning.exported).toEqual([{ id: view.run!.summary.id, format: 'svg' }]);
    expect($('tune-export-path').textContent).toContain(`/fake/exports/run-${view.run!.summary.id}.svg`);
  });
});

describe('test limits', () => {
  const limits = { positionRad: 3, travelMaxRad: 1.5, velocityMaxRadS: 4, softMinRad: 2.9, softMaxRad: 4, wireLimitHz: 500, durationMaxS: 20 };
  const step = (size: number) => ({ loop: 'position' as const, excitation: { kind: 'step' as const, size, holdS: 1, repeats: 1 }, travelWindowRad: 0.5, settleS: 0.5 });
  it('refuses what would leave the soft limits, the velocity limit or the duration', () => {
    setUnitSystem('degrees');
    expect(checkSpec(step(0.05), limits)).toBeNull();
    expect(checkSpec(step(0.2), limits)).toContain('below the soft limit');
    expect(checkSpec({ ...step(0.05), excitation: { kind: 'step', size: 0.05, holdS: 15, repeats: 1 } }, limits)).toContain('longer than the limit of 20 s');
    const chirp = { loop: 'position' as const, excitation: { kind: 'chirp' as const, startHz: 1, endHz: 100, amplitude: 0.05, durationS: 5, sweep: 'log' as const, fallingAmplitude: false }, travelWindowRad: 0.5, settleS: 0 };
    expect(checkSpec(chirp, limits)).toContain('above the velocity limit');
    expect(checkSpec({ ...chirp, excitation: { ...chirp.excitation, fallingAmplitude: true } }, limits)).toBeNull();
  });
});
