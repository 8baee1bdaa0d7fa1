// What the chart shows of a channel: its label, colour, display unit and conversion from
// the store's SI values into the user's unit system (units.ts), and how channels stack into panels
// (one panel per display unit).
import type { ChannelName, ChannelPick, ChannelView, DriveRef } from '../backend/types';
import { CHANNEL_NAMES } from '../backend/types';
import { angleShown, speedShown } from '../units';

export type ChartChannel = { id: number; drive: DriveRef; name: ChannelName };

type Display = { unit: string; digits: number; toDisplay: (si: number) => number; toSi: (shown: number) => number };

const CURRENT: Display = { unit: 'A', digits: 3, toDisplay: (a) => a, toSi: (a) => a };
const asDisplay = (s: { unit: string; digits: number; toShown: (si: number) => number; toSi: (v: number) => number }): Display => ({
  unit: s.unit,
  digits: s.digits,
  toDisplay: s.toShown,
  toSi: s.toSi,
});
// Made once per unit system, not per frame: the chart reads these on every render.
const cache = new Map<string, Display>();
const cached = (key: string, make: () => Display): Display => {
  let d = cache.get(key);
  if (!d) cache.set(key, (d = make()));
  return d;
};

/** Each channel's display, in the unit system chosen now (units.ts). */
export const DISPLAY: Record<ChannelName, Display> = {
  get position() {
    const s = angleShown();
    return cached(`p ${s.unit}`, () => asDisplay(s));
  },
  get velocity() {
    const s = speedShown();
    return cached(`v ${s.unit}`, () => asDisplay(s));
  },
  current: CURRENT,
};

const PALETTE = ['#2f9bff', '#43d17a', '#ffb02e', '#e05cff', '#ff5d5d', '#2ed3c6', '#a3b340', '#ff8a3d', '#8f7bff', '#d4a373'];

export const driveKey = (d: DriveRef): string => `${d.link}/${d.id}`;
export const channelLabel = (c: { drive: DriveRef; name: ChannelName }): string => `${driveKey(c.drive)} ${c.name}`;

/** A colour per (drive, name) that stays the same whatever else is shown. */
export function channelColor(c: { drive: DriveRef; name: ChannelName }): string {
  const index = ((c.drive.link - 1) * 16 + (c.drive.id - 1)) * CHANNEL_NAMES.length + CHANNEL_NAMES.indexOf(c.name);
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

export const samePick = (a: ChannelPick, b: ChannelPick): boolean =>
  a.drive.link === b.drive.link && a.drive.id === b.drive.id && a.name === b.name;

/** The session's channels for these picks, in pick order (picks the session lacks are
 * skipped). */
export function resolvePicks(picks: ChannelPick[], channels: ChannelView[]): ChartChannel[] {
  const out: ChartChannel[] = [];
  for (const pick of picks) {
    const found = channels.find((c) => samePick(c, pick));
    if (found && !out.some((c) => c.id === found.id)) out.push({ id: found.id, drive: found.drive, name: found.name });
  }
  return out;
}

/** Channels grouped into stacked panels, one per display unit, in position / velocity /
 * current order; each panel's channels by drive. */
export function panelsOf(channels: ChartChannel[]): { name: ChannelName; unit: string; channels: ChartChannel[] }[] {
  return CHANNEL_NAMES.map((name) => ({
    name,
    unit: DISPLAY[name].unit,
    channels: channels
      .filter((c) => c.name === name)
      .sort((a, b) => a.drive.link - b.drive.link || a.drive.id - b.drive.id),
  })).filter((p) => p.channels.length > 0);
}
