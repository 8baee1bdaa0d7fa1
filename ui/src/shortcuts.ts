// Keyboard shortcuts. Esc is the E-stop everywhere (estop.ts); the others act only when
// the focus is not in a text field, and are listed in the help overlay (?).

export type Shortcut = { keys: string; what: string; run?: () => void };

/** The key a shortcut is bound to, as `KeyboardEvent.key` reports it. */
export function shortcutKey(e: KeyboardEvent): string {
  if (e.key === ' ') return 'Space';
  return e.key.length === 1 ? e.key.toLowerCase() : e.key;
}

/** True when typing in a field should keep the key. */
export function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) return !['checkbox', 'radio', 'button', 'range'].includes(target.type);
  return false;
}

/** Binds `bindings` (key → action; keys as `shortcutKey` names them) on `doc`. */
export function installShortcuts(doc: Document, bindings: Map<string, () => void>): void {
  doc.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || typingIn(e.target)) return;
    const key = shortcutKey(e);
    const run = bindings.get(key === '?' || (key === '/' && e.shiftKey) ? '?' : key);
    if (!run) return;
    e.preventDefault();
    run();
  });
}

/** The help overlay's table. */
export function shortcutsHtml(list: Shortcut[]): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<table class="keys">${list
    .map((s) => `<tr><td>${s.keys.split(' ').map((k) => `<kbd>${esc(k)}</kbd>`).join(' ')}</td><td>${esc(s.what)}</td></tr>`)
    .join('')}</table>`;
}
