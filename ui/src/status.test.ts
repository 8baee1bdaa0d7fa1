import { describe, expect, it } from 'vitest';
import { linkText } from './status';
import type { LinkView } from './backend/types';

const link: LinkView = {
  id: 1, port: '/dev/ttyUSB0', protocol: 'dynamixel2', baud: 1_000_000, up: true, simulated: false,
  health: { rttP50Ms: 1, rttP99Ms: 20, exchanges: 10, timeouts: 0, corrupt: 0, retries: 0, pollHz: 199.6, pollTargetHz: 200, adapterWarning: null },
};

describe('linkText', () => {
  it('says where, whether up, and how healthy', () => {
    expect(linkText(link)).toBe('/dev/ttyUSB0 · 1000000 baud · up · rtt ≤1 / ≤20 ms (p50/p99) · 200/200 Hz · no errors');
  });

  it('shouts when the link is lost and counts errors', () => {
    const bad = { ...link, up: false, health: { ...link.health!, timeouts: 7, corrupt: 2, retries: 3, adapterWarning: 'FTDI 16 ms' } };
    expect(linkText(bad)).toContain('LINK LOST');
    expect(linkText(bad)).toContain('7 timeouts, 2 bad frames, 3 retries');
    expect(linkText(bad)).toContain('adapter latency');
  });
});
