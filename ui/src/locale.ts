// Locale guard. On a machine with a C/POSIX locale the webview reports
// navigator.language "C", which Intl rejects ("invalid language tag") — and uPlot builds
// its number formatter from it at import time. Imported first by main.ts, this swaps such
// a tag for en-US before anything formats a number.

/** True if Intl accepts `tag` as a locale. */
export function isUsableLocale(tag: string | undefined | null): boolean {
  if (!tag) return false;
  try {
    new Intl.NumberFormat(tag);
    return true;
  } catch {
    return false;
  }
}

/** Replaces an unusable navigator.language(s) with en-US. Returns true if it did. */
export function guardLocale(nav: Navigator = navigator, fallback = 'en-US'): boolean {
  if (isUsableLocale(nav.language)) return false;
  Object.defineProperty(nav, 'language', { configurable: true, get: () => fallback });
  Object.defineProperty(nav, 'languages', { configurable: true, get: () => [fallback] });
  return true;
}

guardLocale();
