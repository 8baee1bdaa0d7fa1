import { describe, expect, it } from 'vitest';
import { driveState, STALE_MS } from './driveList';
import type { DriveView } from '../backend/types';

const base: DriveView = {
  drive: { link: 1, id: 1 }, model: 'm', enabled: false, mode: 'position', fault: null, target: null,
  positionLimits: [0, 1], velocityLimit: 1, softLimits: { position: null, velocity: null }, position: 0, velocity: 0, current: 0, sampleAgeMs: 5, linkUp: true,
};

describe('driveState', () => {
  it('ranks a lost link above a fault above staleness above enabled/disabled', () => {
    expect(driveState(base)).toBe('disabled');
    expect(driveState({ ...base, enabled: true })).toBe('enabled');
    expect(driveState({ ...base, sampleAgeMs: STALE_MS + 1 })).toBe('stale');
    expect(driveState({ ...base, sampleAgeMs: null })).toBe('stale');
    expect(driveState({ ...base, fault: 'overload', sampleAgeMs: null })).toBe('fault');
    expect(driveState({ ...base, fault: 'overload', linkUp: false, enabled: true })).toBe('unsafe');
  });
});
