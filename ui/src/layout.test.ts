import { describe, expect, it } from 'vitest';
import { NO_FOLDS, applyFolds, loadFolds, saveFolds } from './layout';

const memory = () => {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
};

describe('folds', () => {
  it('remembers what was folded', () => {
    const store = memory();
    expect(loadFolds(store)).toEqual(NO_FOLDS);
    saveFolds(store, { control: true, journal: false, chartOnly: true });
    expect(loadFolds(store)).toEqual({ control: true, journal: false, chartOnly: true });
  });

  it('reads garbage as nothing folded', () => {
    const store = memory();
    store.setItem('drivedeck.folds', '{not json');
    expect(loadFolds(store)).toEqual(NO_FOLDS);
    store.setItem('drivedeck.folds', '{"control":"yes"}');
    expect(loadFolds(store)).toEqual(NO_FOLDS);
    expect(loadFolds(null)).toEqual(NO_FOLDS);
  });

  it('shows folds as classes on the root', () => {
    const root = document.createElement('div');
    applyFolds(root, { control: true, journal: true, chartOnly: false });
    expect([...root.classList].sort()).toEqual(['fold-control', 'fold-journal']);
    applyFolds(root, { control: false, journal: false, chartOnly: true });
    expect([...root.classList]).toEqual(['chart-only']);
  });
});
