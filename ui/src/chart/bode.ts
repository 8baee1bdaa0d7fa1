// A Bode chart's data from a run's frequency response: magnitude (dB), phase (deg) and
// coherence over frequency, split into trusted and dimmed series (points below the
// coherence threshold are kept and shown dimmed, never hidden), and the marks drawn
// across it: the observable limit with its rule, the crossovers and the bandwidth.
import type { FrfResults, ObservableRange } from '../backend/types';

export type BodeMark = { hz: number; label: string; title: string; kind: 'observable' | 'gain' | 'phase' | 'bandwidth' };

export type BodeData = {
  freq: number[];
  /** Trusted points (null where untrusted), and the untrusted ones (null where trusted);
   * each dimmed run keeps its trusted neighbours so the line stays joined. */
  magTrusted: (number | null)[];
  magDimmed: (number | null)[];
  phaseTrusted: (number | null)[];
  phaseDimmed: (number | null)[];
  coherence: number[];
  threshold: number;
  dimmedCount: number;
  marks: BodeMark[];
};

function split(values: number[], trusted: boolean[]): [(number | null)[], (number | null)[]] {
  const t = values.map((v, i) => (trusted[i] ? v : null));
  const d = values.map((v, i) => (!trusted[i] || (i > 0 && !trusted[i - 1]) || (i + 1 < values.length && !trusted[i + 1]) ? v : null));
  return [t, d];
}

export function bodeData(frf: FrfResults, observable: ObservableRange): BodeData {
  const T = frf.closed_loop;
  const [magTrusted, magDimmed] = split(T.magnitude_db, T.trusted);
  const [phaseTrusted, phaseDimmed] = split(T.phase_deg, T.trusted);
  const marks: BodeMark[] = [{
    hz: observable.highest_hz, kind: 'observable', label: `observable ≤ ${observable.highest_hz.toFixed(1)} Hz`,
    title: `Highest observable frequency (${observable.limited_by}): ${observable.rule}`,
  }];
  const m = frf.margins;
  if (m?.gain_crossover_hz != null) {
    marks.push({
      hz: m.gain_crossover_hz, kind: 'gain',
      label: `PM ${m.phase_margin_deg == null ? '—' : m.phase_margin_deg.toFixed(1)}°`,
      title: `phase margin at the gain crossover, ${m.gain_crossover_hz.toFixed(2)} Hz (|L| = 1)`,
    });
  }
  if (m?.phase_crossover_hz != null) {
    marks.push({
      hz: m.phase_crossover_hz, kind: 'phase',
      label: `GM ${m.gain_margin_db == null ? '—' : m.gain_margin_db.toFixed(1)} dB`,
      title: `gain margin at the phase crossover, ${m.phase_crossover_hz.toFixed(2)} Hz (∠L = −180°)`,
    });
  }
  if (frf.bandwidth_hz != null) {
    marks.push({ hz: frf.bandwidth_hz, kind: 'bandwidth', label: `BW ${frf.bandwidth_hz.toFixed(2)} Hz`, title: '−3 dB bandwidth of the closed loop T' });
  }
  return {
    freq: T.freq_hz, magTrusted, magDimmed, phaseTrusted, phaseDimmed, coherence: T.coherence, threshold: T.coherence_threshold,
    dimmedCount: T.trusted.filter((x) => !x).length, marks,
  };
}
