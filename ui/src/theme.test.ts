import { describe, expect, it, vi } from 'vitest';
import { FakeBackend } from './backend/fake';
import { installTheme, nextTheme, resolveTheme } from './theme';
import { clampSize, splitter } from './layout';
import { installShortcuts, typingIn } from './shortcuts';

describe('theme', () => {
  it('follows the OS when the choice is "system", else the choice', () => {
    expect(resolveTheme('system', true)).toBe('dark');
    expect(resolveTheme('system', false)).toBe('light');
    expect(resolveTheme('light', true)).toBe('light');
    expect(resolveTheme('dark', false)).toBe('dark');
    expect(['system', 'dark', 'light'].map((t) => nextTheme(t as never))).toEqual(['dark', 'light', 'system']);
  });

  it('marks the page and reports changes', () => {
    const changed = vi.fn();
    const set = installTheme(document.documentElement, 'light', changed);
    expect(document.documentElement.dataset.theme).toBe('light');
    expect(changed).toHaveBeenCalledWith('light');
    set('dark');
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(document.documentElement.dataset.themeChoice).toBe('dark');
    set('dark');
    expect(changed).toHaveBeenCalledTimes(2);
  });

  it('is kept with the panel sizes in the settings store, which refuses bad sizes', async () => {
    const backend = new FakeBackend();
    expect((await backend.settings()).look.theme).toBe('system');
    await backend.setLookSettings({ theme: 'light', sidebarPx: 250, journalPx: 120 });
    expect((await backend.settings()).look).toEqual({ theme: 'light', sidebarPx: 250, journalPx: 120 });
    await expect(backend.setLookSettings({ theme: 'dark', sidebarPx: 5, journalPx: 120 })).rejects.toMatchObject({ kind: 'settings' });
    expect((await backend.settings()).look.theme).toBe('light');
  });
});

describe('panel sizes', () => {
  it('clamps to what the layout can use', () => {
    expect(clampSize('sidebarPx', 10)).toBe(160);
    expect(clampSize('sidebarPx', 5000)).toBe(900);
    expect(clampSize('journalPx', 123.4)).toBe(123);
  });

  it('resizes from the keyboard and saves on each change', () => {
    document.body.innerHTML = '<div id="split"></div>';
    let sizes = { sidebarPx: 300, journalPx: 200 };
    const commit = vi.fn();
    const handle = document.getElementById('split')!;
    splitter(handle, 'journalPx', () => sizes, (s) => (sizes = s), commit);
    handle.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowUp' }));
    expect(sizes.journalPx).toBe(210);
    handle.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', shiftKey: true }));
    expect(sizes.journalPx).toBe(160);
    handle.dispatchEvent(new MouseEvent('dblclick'));
    expect(sizes.journalPx).toBe(128); // the default
    expect(commit).toHaveBeenCalledTimes(3);
  });
});

describe('shortcuts', () => {
  it('act outside text fields only', () => {
    document.body.innerHTML = '<input id="text"><input id="box" type="checkbox"><div id="plain"></div>';
    const run = vi.fn();
    installShortcuts(document, new Map([['Space', run], ['?', run]]));
    const press = (id: string, key: string) => document.getElementById(id)!.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
    press('text', ' ');
    expect(run).not.toHaveBeenCalled();
    press('box', ' ');
    press('plain', '?');
    expect(run).toHaveBeenCalledTimes(2);
    expect(typingIn(document.getElementById('text'))).toBe(true);
    expect(typingIn(document.getElementById('plain'))).toBe(false);
  });
});
