// The status bar's words for a link: where it is, whether it is up, and its health.
import type { LinkView } from './backend/types';

export function linkText(link: LinkView): string {
  const parts = [`${link.simulated ? 'sim rig ' : ''}${link.port}`, `${link.baud} baud`, link.up ? 'up' : 'LINK LOST'];
  const h = link.health;
  if (h) {
    if (h.rttP50Ms !== null && h.rttP99Ms !== null) parts.push(`rtt ≤${h.rttP50Ms} / ≤${h.rttP99Ms} ms (p50/p99)`);
    parts.push(`${Math.round(h.pollHz)}/${Math.round(h.pollTargetHz)} Hz`);
    const errors = h.timeouts + h.corrupt;
    parts.push(errors === 0 ? 'no errors' : `${h.timeouts} timeouts, ${h.corrupt} bad frames, ${h.retries} retries`);
    if (h.adapterWarning) parts.push('⚠ adapter latency');
  }
  return parts.join(' · ');
}
