// Dark and light themes. The choice is "system" (follow the OS), "dark" or "light", kept
// in the settings store; the page carries the resolved one as <html data-theme>.
import type { Theme } from './backend/types';

export const THEMES: Theme[] = ['system', 'dark', 'light'];

/** The theme to show for a choice, given whether the OS prefers dark. */
export function resolveTheme(choice: Theme, osPrefersDark: boolean): 'dark' | 'light' {
  return choice === 'system' ? (osPrefersDark ? 'dark' : 'light') : choice;
}

/** The next choice in the toggle's cycle: system → dark → light → system. */
export function nextTheme(choice: Theme): Theme {
  return THEMES[(THEMES.indexOf(choice) + 1) % THEMES.length];
}

/** Shows `choice` now and again whenever the OS preference changes (while it is
 * "system"); calls `changed` with the resolved theme. Returns a function to apply another
 * choice. */
export function installTheme(root: HTMLElement, initial: Theme, changed: (shown: 'dark' | 'light') => void): (choice: Theme) => void {
  const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
  let choice = initial;
  const apply = () => {
    // With no media query (tests) or no OS preference, dark is the bench default.
    const shown = resolveTheme(choice, media ? media.matches || !matchMedia('(prefers-color-scheme: light)').matches : true);
    const before = root.dataset.theme;
    root.dataset.theme = shown;
    root.dataset.themeChoice = choice;
    if (before !== shown) changed(shown);
  };
  media?.addEventListener('change', apply);
  apply();
  return (next: Theme) => {
    choice = next;
    apply();
  };
}
