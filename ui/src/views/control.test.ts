import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeBackend } from '../backend/fake';
import { ControlPanel } from './control';
import { installEStop } from '../estop';

async function mount() {
  document.body.innerHTML = '<button id="estop"></button><div id="control"></div>';
  const backend = new FakeBackend();
  const submit = vi.spyOn(backend, 'submit');
  const panel = new ControlPanel(document.getElementById('control')!, backend);
  const [drive] = await backend.drives();
  panel.update(drive);
  const $ = <T extends HTMLElement>(css: string) => document.querySelector(css) as T;
  return { backend, submit, panel, drive, $ };
}

const type = (input: HTMLInputElement, text: string) => {
  input.value = text;
  input.dispatchEvent(new Event('input'));
};

describe('control panel', () => {
  beforeEach(() => {
    document.body.innerHTML = '';
  });

  it('sends nothing for bad input and says why beside the field', async () => {
    const { submit, $ } = await mount();
    const input = $<HTMLInputElement>('#target');
    for (const [text, message] of [
      ['', 'Enter a target'],
      ['abc', 'Not a number'],
      ['NaN', 'Not a number'],
      ['400', 'Out of range: 0 – 360 °'],
      ['-1', 'Out of range: 0 – 360 °'],
    ]) {
      type(input, text);
      $<HTMLButtonElement>('#move').click();
      await Promise.resolve();
      expect($('#target-error').textContent).toBe(message);
      expect(input.classList.contains('invalid')).toBe(true);
    }
    expect(submit).not.toHaveBeenCalled();
  });

  it('sends a valid target in radians and clears the message', async () => {
    const { submit, panel, drive, $ } = await mount();
    type($<HTMLInputElement>('#target'), '90');
    expect(await panel.submitTarget()).toBe(true);
    expect(submit).toHaveBeenCalledTimes(1);
    expect(submit).toHaveBeenCalledWith({ kind: 'setTarget', drive: drive.drive, target: { position: Math.PI / 2 } });
    expect($('#target-error').textContent).toBe('');
  });

  it('shows the backend refusal beside the field', async () => {
    const { backend, panel, $ } = await mount();
    vi.spyOn(backend, 'submit').mockRejectedValueOnce({ kind: 'invalid', message: 'drive 1 is in velocity mode' });
    type($<HTMLInputElement>('#target'), '10');
    expect(await panel.submitTarget()).toBe(false);
    expect($('#target-error').textContent).toBe('drive 1 is in velocity mode');
  });

  it('enables only after the user confirms arming, then arm + enable', async () => {
    const { submit, panel, drive, $ } = await mount();
    $<HTMLButtonElement>('#enable').click();
    expect($('#arm-dialog').hidden).toBe(false);
    expect($('#arm-text').textContent).toContain('ID 1');
    expect(submit).not.toHaveBeenCalled();
    $<HTMLButtonElement>('#arm-cancel').click();
    expect($('#arm-dialog').hidden).toBe(true);
    expect(submit).not.toHaveBeenCalled();
    $<HTMLButtonElement>('#enable').click();
    await panel.armAndEnable();
    expect(submit.mock.calls.map((c) => c[0])).toEqual([
      { kind: 'arm', drive: drive.drive },
      { kind: 'enable', drive: drive.drive },
    ]);
  });

  it('locks the mode while the drive is enabled and shows the range', async () => {
    const { backend, panel, $ } = await mount();
    await backend.submit({ kind: 'arm', drive: { link: 1, id: 1 } });
    await backend.submit({ kind: 'enable', drive: { link: 1, id: 1 } });
    panel.update((await backend.drives())[0]);
    expect($<HTMLSelectElement>('#mode').disabled).toBe(true);
    expect($<HTMLButtonElement>('#enable').disabled).toBe(true);
    expect($('#target-range').textContent).toBe('0 – 360 °');
  });
});

describe('jog', () => {
  it('renews while held and stops renewing when released', async () => {
    vi.useFakeTimers();
    try {
      const { backend, panel, submit, $ } = await mount();
      const drive = { link: 1, id: 1 };
      await backend.submit({ kind: 'setMode', drive, mode: 'velocity' });
      await backend.submit({ kind: 'arm', drive });
      await backend.submit({ kind: 'enable', drive });
      panel.update((await backend.drives())[0]);
      submit.mockClear();
      const plus = $<HTMLButtonElement>('#jog-plus');
      expect(plus.disabled).toBe(false);
      plus.dispatchEvent(new Event('pointerdown'));
      await vi.advanceTimersByTimeAsync(450);
      const jogs = submit.mock.calls.map((c) => c[0]).filter((c) => c.kind === 'jog');
      expect(jogs.length).toBe(5); // at 0, 100, 200, 300, 400 ms
      expect(jogs[0]).toMatchObject({ kind: 'jog', drive, holdMs: 300 });
      expect((jogs[0] as { velocity: number }).velocity).toBeCloseTo(0.25 * 4.8);
      plus.dispatchEvent(new Event('pointerup'));
      submit.mockClear();
      await vi.advanceTimersByTimeAsync(1000);
      expect(submit).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });

  it('is off in position mode', async () => {
    const { $ } = await mount();
    expect($<HTMLButtonElement>('#jog-plus').disabled).toBe(true);
  });
});

describe('E-stop', () => {
  it('Esc submits exactly one eStop even with focus in the target field', async () => {
    const { backend, submit, $ } = await mount();
    const sent: string[] = [];
    installEStop(document, backend, (_ok, m) => sent.push(m));
    const input = $<HTMLInputElement>('#target');
    input.focus();
    type(input, '12');
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    await new Promise((r) => setTimeout(r, 0));
    expect(submit).toHaveBeenCalledTimes(1);
    expect(submit).toHaveBeenCalledWith({ kind: 'eStop' });
    expect(sent).toEqual(['E-stop sent']);
  });

  it('the button stops every drive', async () => {
    const { backend, $ } = await mount();
    installEStop(document, backend, () => {});
    for (const id of [1, 2]) {
      await backend.submit({ kind: 'arm', drive: { link: 1, id } });
      await backend.submit({ kind: 'enable', drive: { link: 1, id } });
    }
    await expect(backend.submit({ kind: 'enable', drive: { link: 1, id: 1 } })).rejects.toMatchObject({ kind: 'invalid' });
    $<HTMLButtonElement>('#estop').click();
    await new Promise((r) => setTimeout(r, 0));
    expect((await backend.drives()).every((d) => !d.enabled)).toBe(true);
  });
});

describe('soft limits', () => {
  it('refuses bad fields beside them and sends nothing', async () => {
    const { submit, panel, $ } = await mount();
    for (const [min, max, rpm, message] of [
      ['abc', '', '', 'Not a number'],
      ['10', '', '', 'Give both ends of the position range, or neither'],
      ['90', '10', '', 'The lower limit must be below the upper'],
      ['', '', '0', 'The speed limit must be above zero'],
    ]) {
      type($<HTMLInputElement>('#soft-min'), min);
      type($<HTMLInputElement>('#soft-max'), max);
      type($<HTMLInputElement>('#soft-speed'), rpm);
      expect(await panel.setSoftLimits(false)).toBe(false);
      expect($('#soft-error').textContent).toBe(message);
    }
    expect(submit).not.toHaveBeenCalled();
  });

  it('narrows the range targets are checked against, and clears', async () => {
    const { backend, panel, $ } = await mount();
    type($<HTMLInputElement>('#soft-min'), '45');
    type($<HTMLInputElement>('#soft-max'), '90');
    expect(await panel.setSoftLimits(false)).toBe(true);
    panel.update((await backend.drives())[0]);
    expect($('#target-range').textContent).toBe('45 – 90 ° (soft limits)');
    type($<HTMLInputElement>('#target'), '120');
    expect(await panel.submitTarget()).toBe(false);
    expect($('#target-error').textContent).toBe('Out of range: 45 – 90 °');
    // Wider than the drive's own range: the backend refuses, shown beside the fields.
    type($<HTMLInputElement>('#soft-max'), '400');
    expect(await panel.setSoftLimits(false)).toBe(false);
    expect($('#soft-error').textContent).toContain('can only narrow');
    expect(await panel.setSoftLimits(true)).toBe(true);
    panel.update((await backend.drives())[0]);
    expect($('#target-range').textContent).toBe('0 – 360 °');
  });
});

describe('faults', () => {
  it('shows the decoded fault with Clear fault, which submits the job and hides once cleared', async () => {
    const { backend, submit, panel, $ } = await mount();
    expect($('#fault-row').hidden).toBe(true);
    backend.setDriveFault(1, 'overheating (hardware error bit 2)');
    panel.update((await backend.drives())[0]);
    expect($('#fault-row').hidden).toBe(false);
    expect($('#drive-fault').textContent).toBe('Fault: overheating (hardware error bit 2)');
    $<HTMLButtonElement>('#clear-fault').click();
    await Promise.resolve();
    expect(submit).toHaveBeenCalledWith({ kind: 'clearFault', drive: { link: 1, id: 1 } });
    panel.update((await backend.drives())[0]);
    expect($('#fault-row').hidden).toBe(true);
  });
});

describe('help on every control', () => {
  it('gives each button, field and pick of the control panel a tooltip, with units where it takes a value', async () => {
    document.body.innerHTML = '<div id="control"></div>';
    const backend = new FakeBackend();
    const panel = new ControlPanel(document.getElementById('control')!, backend);
    const drive = (await backend.drives())[0];
    panel.update(drive);
    const controls = [...document.querySelectorAll<HTMLElement>('#control button, #control input, #control select')];
    expect(controls.length).toBeGreaterThan(8);
    for (const c of controls) {
      const help = c.title || c.closest('label')?.title || '';
      expect(help, c.id).not.toBe('');
    }
    expect(document.querySelector<HTMLInputElement>('#target')!.title).toMatch(/°/);
    expect(document.querySelector<HTMLInputElement>('#soft-speed')!.title).toContain('rpm');
    expect(document.querySelector<HTMLButtonElement>('#jog-plus')!.title).toContain('rpm');
  });
});
