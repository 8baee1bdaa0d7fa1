//! Stability margins and bandwidth from sampled frequency-response data (after
//! python-control's `stability_margins`, but from measured points).
//!
//! Crossings are located between samples by linear interpolation on a logarithmic
//! frequency axis (magnitude in dB, unwrapped phase in degrees):
//! - gain crossover f_c: |L| = 1 (0 dB); **phase margin** PM = 180° + ∠L(f_c), with ∠L
//!   unwrapped, taken modulo 360° into (−180°, 180°];
//! - phase crossover f_p: ∠L = −180° (mod 360°); **gain margin** GM = −20·log10|L(f_p)| dB;
//! - **delay margin** = PM_rad / (2π·f_c): the extra loop delay that closes the margin;
//! - **peak sensitivity** Ms = max |1/(1 + L)| over the points (1/Ms is the shortest
//!   distance from L to −1);
//! - **−3 dB bandwidth** of T: the first frequency where |T| falls 3 dB below its value at
//!   the lowest measured frequency.
//!
//! Where several crossings exist the smallest margin is reported; where none exists in the
//! measured range the margin is `None` ("none", not infinity: it may lie outside the data).
//! Only points marked trusted are used.

use crate::frf::FrequencyResponse;
use serde::{Deserialize, Serialize};

/// Margins of a loop L(jω).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Margins {
    /// Gain margin, dB (None: no phase crossover in the data).
    pub gain_margin_db: Option<f64>,
    /// Where the phase crosses −180°.
    pub phase_crossover_hz: Option<f64>,
    /// Phase margin, degrees (None: no gain crossover in the data).
    pub phase_margin_deg: Option<f64>,
    /// Where |L| crosses 1.
    pub gain_crossover_hz: Option<f64>,
    /// Delay margin, seconds.
    pub delay_margin_s: Option<f64>,
    /// Peak sensitivity Ms = max |S|.
    pub peak_sensitivity: f64,
    /// Where Ms occurs.
    pub peak_sensitivity_hz: f64,
}

fn interp_log_f(f0: f64, f1: f64, frac: f64) -> f64 {
    (f0.ln() + frac * (f1.ln() - f0.ln())).exp()
}

/// Margins of the open loop `l`, from its trusted points.
pub fn margins(l: &FrequencyResponse) -> Margins {
    let idx: Vec<usize> = (0..l.freq_hz.len())
        .filter(|&i| l.trusted[i] && l.freq_hz[i] > 0.0)
        .collect();
    let mut pm: Option<(f64, f64)> = None;
    let mut gm: Option<(f64, f64)> = None;
    let mut dm: Option<f64> = None;
    for w in idx.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (fa, fb) = (l.freq_hz[a], l.freq_hz[b]);
        let (ma, mb) = (l.magnitude_db[a], l.magnitude_db[b]);
        let (pa, pb) = (l.phase_deg[a], l.phase_deg[b]);
        if (ma >= 0.0) != (mb >= 0.0) && ma != mb {
            let frac = ma / (ma - mb);
            let fc = interp_log_f(fa, fb, frac);
            let phase = pa + frac * (pb - pa);
            let margin = (phase + 180.0).rem_euclid(360.0);
            let margin = if margin > 180.0 {
                margin - 360.0
            } else {
                margin
            };
            if pm.is_none_or(|(m, _)| margin < m) {
                pm = Some((margin, fc));
            }
            let delay = margin.to_radians() / (std::f64::consts::TAU * fc);
            if dm.is_none_or(|d| delay < d) {
                dm = Some(delay);
            }
        }
        // Phase crossings of −180° + k·360°.
        let k_lo = ((pa.min(pb) + 180.0) / 360.0).ceil() as i64;
        let k_hi = ((pa.max(pb) + 180.0) / 360.0).floor() as i64;
        for k in k_lo..=k_hi {
            let target = -180.0 + 360.0 * k as f64;
            if pa == pb {
                continue;
            }
            // Half-open [a, b): a crossing exactly on a sample is counted once.
            let frac = (target - pa) / (pb - pa);
            if !(0.0..1.0).contains(&frac) {
                continue;
            }
            let fp = interp_log_f(fa, fb, frac);
            let g = -(ma + frac * (mb - ma));
            if gm.is_none_or(|(m, _)| g < m) {
                gm = Some((g, fp));
            }
        }
    }
    let (mut ms, mut ms_hz) = (0.0, 0.0);
    for &i in &idx {
        let s = 1.0 / (crate::Complex64::new(1.0, 0.0) + l.at(i)).norm();
        if s > ms {
            ms = s;
            ms_hz = l.freq_hz[i];
        }
    }
    Margins {
        gain_margin_db: gm.map(|g| g.0),
        phase_crossover_hz: gm.map(|g| g.1),
        phase_margin_deg: pm.map(|p| p.0),
        gain_crossover_hz: pm.map(|p| p.1),
        delay_margin_s: dm,
        peak_sensitivity: ms,
        peak_sensitivity_hz: ms_hz,
    }
}

/// −3 dB bandwidth of a closed-loop response T (None if |T| never falls 3 dB below its
/// lowest-frequency value within the trusted data).
pub fn bandwidth_hz(t: &FrequencyResponse) -> Option<f64> {
    let idx: Vec<usize> = (0..t.freq_hz.len())
        .filter(|&i| t.trusted[i] && t.freq_hz[i] > 0.0)
        .collect();
    let level = t.magnitude_db[*idx.first()?] - 3.0;
    for w in idx.windows(2) {
        let (ma, mb) = (t.magnitude_db[w[0]], t.magnitude_db[w[1]]);
        if ma >= level && mb < level {
            let frac = (ma - level) / (ma - mb);
            return Some(interp_log_f(t.freq_hz[w[0]], t.freq_hz[w[1]], frac));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Complex64;

    fn log_grid(f0: f64, f1: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| interp_log_f(f0, f1, i as f64 / (n - 1) as f64))
            .collect()
    }

    #[test]
    fn first_order_loop_has_no_phase_crossover() {
        // L = 10/(s+1): gain crossover at ω = √99, PM = 180 − atan(√99).
        let f = log_grid(0.01, 100.0, 2000);
        let l: Vec<Complex64> = f
            .iter()
            .map(|&f| 10.0 / (Complex64::new(1.0, std::f64::consts::TAU * f)))
            .collect();
        let m = margins(&FrequencyResponse::computed(f, &l));
        assert_eq!(m.gain_margin_db, None);
        let want = 180.0 - 99f64.sqrt().atan().to_degrees();
        assert!((m.phase_margin_deg.expect("pm") - want).abs() < 0.05);
    }

    #[test]
    fn bandwidth_of_first_order_lag() {
        let f = log_grid(0.01, 100.0, 2000);
        let t: Vec<Complex64> = f
            .iter()
            .map(|&f| 1.0 / Complex64::new(1.0, f / 2.0))
            .collect();
        // Corner at 2 Hz; −3 dB is at 2·√(10^0.3 − 1) ≈ 1.995 Hz.
        let want = 2.0 * (10f64.powf(0.3) - 1.0).sqrt();
        let got = bandwidth_hz(&FrequencyResponse::computed(f, &t)).expect("bw");
        assert!((got - want).abs() < 0.01, "{got} vs {want}");
    }
}
