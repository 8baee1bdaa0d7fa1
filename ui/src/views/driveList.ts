// The drive list: one card per drive with its state and live readouts, kept in place
// between polls (keyed by link and ID) so clicks and focus survive updates.
import type { DriveRef, DriveView } from '../backend/types';
import { angleShown, readout, speedShown } from '../units';

export type DriveState = 'enabled' | 'disabled' | 'fault' | 'unsafe' | 'stale';

/** Older samples than this mean the readouts are not live. */
export const STALE_MS = 1000;

export function driveState(d: DriveView): DriveState {
  if (!d.linkUp) return 'unsafe';
  if (d.fault) return 'fault';
  if (d.sampleAgeMs === null || d.sampleAgeMs > STALE_MS) return 'stale';
  return d.enabled ? 'enabled' : 'disabled';
}

export const sameDrive = (a: DriveRef | null, b: DriveRef | null): boolean =>
  !!a && !!b && a.link === b.link && a.id === b.id;

export class DriveList {
  private cards = new Map<string, HTMLElement>();

  constructor(private readonly root: HTMLElement, private readonly onSelect: (drive: DriveRef) => void) {}

  render(drives: DriveView[], selected: DriveRef | null): void {
    const seen = new Set<string>();
    for (const d of drives) {
      const key = `${d.drive.link}:${d.drive.id}`;
      seen.add(key);
      let card = this.cards.get(key);
      if (!card) {
        card = document.createElement('button');
        card.className = 'drive';
        card.dataset.link = String(d.drive.link);
        card.dataset.driveId = String(d.drive.id);
        card.innerHTML = `
          <div class="drive-head"><span class="model"></span><span class="id"></span><span class="state"></span></div>
          <div class="readouts">
            <span><label>pos</label><b class="position"></b></span>
            <span><label>vel</label><b class="velocity"></b></span>
            <span><label>cur</label><b class="current"></b></span>
          </div>
          <div class="fault"></div>`;
        const drive = d.drive;
        card.addEventListener('click', () => this.onSelect(drive));
        this.root.appendChild(card);
        this.cards.set(key, card);
      }
      const state = driveState(d);
      card.dataset.state = state;
      card.classList.toggle('selected', sameDrive(d.drive, selected));
      setText(card, '.model', d.model);
      setText(card, '.id', `ID ${d.drive.id}`);
      setText(card, '.state', state);
      const angle = angleShown();
      const speed = speedShown();
      const sep = (u: string) => (u === '°' ? u : ` ${u}`);
      setText(card, '.position', readout(d.position === null ? null : angle.toShown(d.position), Math.max(1, angle.digits - 1), sep(angle.unit)));
      setText(card, '.velocity', readout(d.velocity === null ? null : speed.toShown(d.velocity), Math.max(1, speed.digits - 1), sep(speed.unit)));
      setText(card, '.current', readout(d.current, 3, ' A'));
      setText(card, '.fault', d.fault ?? '');
    }
    for (const [key, card] of this.cards) {
      if (!seen.has(key)) {
        card.remove();
        this.cards.delete(key);
      }
    }
  }
}

function setText(root: HTMLElement, css: string, text: string): void {
  const el = root.querySelector(css);
  if (el && el.textContent !== text) el.textContent = text;
}
