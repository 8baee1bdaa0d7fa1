import { describe, expect, it } from 'vitest';
import { guardLocale, isUsableLocale } from './locale';

describe('locale guard', () => {
  it('knows a usable tag from the C locale', () => {
    expect(isUsableLocale('en-US')).toBe(true);
    expect(isUsableLocale('de-DE')).toBe(true);
    expect(isUsableLocale('C')).toBe(false);
    expect(isUsableLocale('')).toBe(false);
  });

  it('replaces "C" with en-US so Intl (and uPlot) can format numbers', () => {
    const nav = { language: 'C', languages: ['C'] } as unknown as Navigator;
    expect(guardLocale(nav)).toBe(true);
    expect(nav.language).toBe('en-US');
    expect(nav.languages).toEqual(['en-US']);
    expect(() => new Intl.NumberFormat(nav.language).format(1.5)).not.toThrow();
  });

  it('leaves a good language alone', () => {
    const nav = { language: 'fr-FR', languages: ['fr-FR'] } as unknown as Navigator;
    expect(guardLocale(nav)).toBe(false);
    expect(nav.language).toBe('fr-FR');
  });
});
