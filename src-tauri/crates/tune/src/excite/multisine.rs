//! A multisine: a sum of tones at chosen frequencies with phases chosen to lower the
//! crest factor (peak / rms), so more power fits under the drive's amplitude limit.
//!
//! Phases start from Schroeder's rule φ_k = −π·k·(k − 1)/K (K tones), then improve by
//! clipping-and-projection iterations: evaluate one period on a grid, clip at a fraction
//! of the peak, and take each tone's phase from the clipped signal's projection on that
//! tone; an iteration is kept only when it lowers the crest factor. Amplitudes are not
//! changed. The zero-phase sum (all cosines aligned) has crest factor √(2K) and is the
//! baseline to beat.

use crate::TuneError;
use serde::{Deserialize, Serialize};

/// A multisine excitation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Multisine {
    /// Tone frequencies; integer multiples of 1/`period_s` for a periodic signal.
    pub frequencies_hz: Vec<f64>,
    /// Amplitude of each tone.
    pub amplitude: f64,
    /// Phase of each tone.
    pub phases_rad: Vec<f64>,
    /// Common period.
    pub period_s: f64,
}

impl Multisine {
    /// All phases zero (the worst-case crest factor).
    pub fn zero_phase(frequencies_hz: Vec<f64>, amplitude: f64, period_s: f64) -> Self {
        let phases_rad = vec![0.0; frequencies_hz.len()];
        Self {
            frequencies_hz,
            amplitude,
            phases_rad,
            period_s,
        }
    }

    /// Phases optimised for a low crest factor, evaluated on `grid` points per period.
    pub fn crest_optimised(
        frequencies_hz: Vec<f64>,
        amplitude: f64,
        period_s: f64,
        grid: usize,
        iterations: usize,
    ) -> Result<Self, TuneError> {
        if frequencies_hz.is_empty() || grid < 4 || !period_s.is_finite() || period_s <= 0.0 {
            return Err(TuneError::InvalidParameter(
                "multisine needs tones, a period and a grid".into(),
            ));
        }
        let k = frequencies_hz.len() as f64;
        let phases_rad = (0..frequencies_hz.len())
            .map(|i| -std::f64::consts::PI * (i as f64 + 1.0) * i as f64 / k)
            .collect();
        let mut best = Self {
            frequencies_hz,
            amplitude,
            phases_rad,
            period_s,
        };
        let mut best_cf = best.crest_factor(grid);
        let mut trial = best.clone();
        for _ in 0..iterations {
            let x = trial.sampled(grid);
            let peak = x.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            let clip = 0.8 * peak;
            let clipped: Vec<f64> = x.iter().map(|v| v.clamp(-clip, clip)).collect();
            let dt = period_s / grid as f64;
            for (f, phase) in trial.frequencies_hz.iter().zip(trial.phases_rad.iter_mut()) {
                let (mut c, mut s) = (0.0, 0.0);
                for (n, v) in clipped.iter().enumerate() {
                    let w = std::f64::consts::TAU * f * n as f64 * dt;
                    c += v * w.cos();
                    s += v * w.sin();
                }
                // x = Σ A·cos(ωt + φ): projection gives cos φ ∝ c, sin φ ∝ −s.
                *phase = (-s).atan2(c);
            }
            let cf = trial.crest_factor(grid);
            if cf < best_cf {
                best_cf = cf;
                best = trial.clone();
            }
        }
        Ok(best)
    }

    /// The reference at `t_s`: Σ A·cos(2π f_k t + φ_k).
    pub fn value_at(&self, t_s: f64) -> f64 {
        self.frequencies_hz
            .iter()
            .zip(&self.phases_rad)
            .map(|(f, p)| self.amplitude * (std::f64::consts::TAU * f * t_s + p).cos())
            .sum()
    }

    fn sampled(&self, grid: usize) -> Vec<f64> {
        (0..grid)
            .map(|n| self.value_at(n as f64 * self.period_s / grid as f64))
            .collect()
    }

    /// Peak / rms over one period on `grid` points.
    pub fn crest_factor(&self, grid: usize) -> f64 {
        let x = self.sampled(grid);
        let peak = x.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let rms = (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt();
        peak / rms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimised_crest_factor_beats_zero_phase() {
        let f: Vec<f64> = (1..=20).map(|k| k as f64 * 0.5).collect();
        let zero = Multisine::zero_phase(f.clone(), 1.0, 2.0);
        let cf0 = zero.crest_factor(4096);
        assert!((cf0 - 40f64.sqrt()).abs() < 0.01, "zero-phase crest {cf0}");
        let opt = Multisine::crest_optimised(f, 1.0, 2.0, 4096, 30).expect("multisine");
        let cf = opt.crest_factor(4096);
        assert!(cf < 2.0 && cf < cf0 / 3.0, "optimised crest {cf} vs {cf0}");
    }
}
