// Resizable panels: the drives column and the journal have splitters; their sizes are
// CSS variables on the page, remembered in the settings store (look settings). Drag a
// splitter, or focus it and use the arrow keys; double-click restores the default.

export type PanelSizes = { sidebarPx: number; journalPx: number };
export const DEFAULT_SIZES: PanelSizes = { sidebarPx: 300, journalPx: 128 };
export const LIMITS = { sidebarPx: [160, 900], journalPx: [60, 900] } as const;

export function clampSize(which: keyof PanelSizes, px: number): number {
  const [lo, hi] = LIMITS[which];
  return Math.round(Math.min(hi, Math.max(lo, px)));
}

export function applySizes(root: HTMLElement, sizes: PanelSizes): void {
  root.style.setProperty('--sidebar', `${sizes.sidebarPx}px`);
  root.style.setProperty('--journal', `${sizes.journalPx}px`);
}

/** Makes `handle` resize `which`; `sizes()` reads the current sizes, `set` applies and
 * `commit` saves them (on release). */
export function splitter(
  handle: HTMLElement,
  which: keyof PanelSizes,
  sizes: () => PanelSizes,
  set: (s: PanelSizes) => void,
  commit: () => void,
): void {
  // The journal grows upwards: dragging down makes it smaller.
  const sign = which === 'journalPx' ? -1 : 1;
  const axis = which === 'journalPx' ? 'clientY' : 'clientX';
  handle.tabIndex = 0;
  handle.setAttribute('role', 'separator');
  handle.setAttribute('aria-orientation', which === 'journalPx' ? 'horizontal' : 'vertical');
  const resize = (px: number) => set({ ...sizes(), [which]: clampSize(which, px) });
  handle.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    const start = e[axis];
    const from = sizes()[which];
    handle.classList.add('dragging');
    const move = (m: PointerEvent) => resize(from + sign * (m[axis] - start));
    const up = () => {
      handle.classList.remove('dragging');
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      commit();
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  });
  handle.addEventListener('keydown', (e) => {
    const step = e.shiftKey ? 50 : 10;
    const keys: Record<string, number> = which === 'journalPx' ? { ArrowUp: step, ArrowDown: -step } : { ArrowRight: step, ArrowLeft: -step };
    const d = keys[e.key];
    if (d === undefined) return;
    e.preventDefault();
    resize(sizes()[which] + d);
    commit();
  });
  handle.addEventListener('dblclick', () => {
    resize(DEFAULT_SIZES[which]);
    commit();
  });
}

/** What the user folded away to give the chart room: the control panel, the journal, or
 * everything but the chart (key F). Remembered in the webview's local storage. */
export type Folds = { control: boolean; journal: boolean; chartOnly: boolean };
export const NO_FOLDS: Folds = { control: false, journal: false, chartOnly: false };
const FOLDS_KEY = 'drivedeck.folds';

export function loadFolds(store: Pick<Storage, 'getItem'> | null): Folds {
  try {
    const raw = store?.getItem(FOLDS_KEY);
    if (!raw) return { ...NO_FOLDS };
    const v = JSON.parse(raw) as Partial<Folds>;
    return { control: v.control === true, journal: v.journal === true, chartOnly: v.chartOnly === true };
  } catch {
    return { ...NO_FOLDS };
  }
}

export function saveFolds(store: Pick<Storage, 'setItem'> | null, folds: Folds): void {
  try {
    store?.setItem(FOLDS_KEY, JSON.stringify(folds));
  } catch {
    // A full or disabled storage only loses the memory of the folds.
  }
}

/** Shows `folds` as classes on the app's root; CSS hides what is folded. */
export function applyFolds(root: HTMLElement, folds: Folds): void {
  root.classList.toggle('fold-control', folds.control);
  root.classList.toggle('fold-journal', folds.journal);
  root.classList.toggle('chart-only', folds.chartOnly);
}
