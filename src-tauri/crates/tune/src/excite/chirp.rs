//! A swept sine (chirp) from `start_hz` to `end_hz` over `duration_s`.
//!
//! Instantaneous frequency f(t): linear f0 + (f1 − f0)·t/T, or logarithmic f0·(f1/f0)^(t/T).
//! The phase is its integral, 2π∫f: linear 2π(f0·t + (f1 − f0)·t²/(2T)), logarithmic
//! 2π·f0·T/ln(f1/f0)·((f1/f0)^(t/T) − 1). With `amplitude_rolloff` = p the amplitude is
//! A·(f0/f(t))^p, e.g. p = 1 to keep the velocity of a position chirp bounded.

use serde::{Deserialize, Serialize};

/// How the frequency sweeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sweep {
    /// Frequency rises linearly in time.
    Linear,
    /// Frequency rises exponentially (equal time per decade).
    Log,
}

/// A chirp excitation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chirp {
    /// Frequency at t = 0.
    pub start_hz: f64,
    /// Frequency at t = duration.
    pub end_hz: f64,
    /// Amplitude at the start frequency.
    pub amplitude: f64,
    /// Sweep time.
    pub duration_s: f64,
    /// Linear or logarithmic.
    pub sweep: Sweep,
    /// Exponent p of the amplitude roll-off (f0/f)^p; 0 for constant amplitude.
    pub amplitude_rolloff: f64,
}

impl Chirp {
    /// Instantaneous frequency at `t_s` (clamped to the sweep).
    pub fn frequency_at_hz(&self, t_s: f64) -> f64 {
        let x = (t_s / self.duration_s).clamp(0.0, 1.0);
        match self.sweep {
            Sweep::Linear => self.start_hz + (self.end_hz - self.start_hz) * x,
            Sweep::Log => self.start_hz * (self.end_hz / self.start_hz).powf(x),
        }
    }

    /// Phase at `t_s` (0 at t = 0).
    pub fn phase_rad(&self, t_s: f64) -> f64 {
        let (f0, f1, d) = (self.start_hz, self.end_hz, self.duration_s);
        let t = t_s.clamp(0.0, d);
        let tau = std::f64::consts::TAU;
        match self.sweep {
            Sweep::Linear => tau * (f0 * t + (f1 - f0) * t * t / (2.0 * d)),
            Sweep::Log if (f1 / f0 - 1.0).abs() < 1e-12 => tau * f0 * t,
            Sweep::Log => tau * f0 * d / (f1 / f0).ln() * ((f1 / f0).powf(t / d) - 1.0),
        }
    }

    /// The reference at `t_s` (0 outside the sweep).
    pub fn value_at(&self, t_s: f64) -> f64 {
        if !(0.0..=self.duration_s).contains(&t_s) {
            return 0.0;
        }
        let gain = (self.start_hz / self.frequency_at_hz(t_s)).powf(self.amplitude_rolloff);
        self.amplitude * gain * self.phase_rad(t_s).sin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_derivative_is_the_instantaneous_frequency() {
        for sweep in [Sweep::Linear, Sweep::Log] {
            let c = Chirp {
                start_hz: 1.0,
                end_hz: 100.0,
                amplitude: 1.0,
                duration_s: 10.0,
                sweep,
                amplitude_rolloff: 0.0,
            };
            for t in [0.5, 3.0, 9.5] {
                let h = 1e-6;
                let f =
                    (c.phase_rad(t + h) - c.phase_rad(t - h)) / (2.0 * h) / std::f64::consts::TAU;
                assert!(
                    (f / c.frequency_at_hz(t) - 1.0).abs() < 1e-6,
                    "{sweep:?} at {t}"
                );
            }
        }
    }

    #[test]
    fn rolloff_lowers_amplitude_at_high_frequency() {
        let c = Chirp {
            start_hz: 1.0,
            end_hz: 100.0,
            amplitude: 2.0,
            duration_s: 10.0,
            sweep: Sweep::Log,
            amplitude_rolloff: 1.0,
        };
        let peak = (0..10_000)
            .map(|k| c.value_at(9.0 + k as f64 * 1e-4).abs())
            .fold(0.0, f64::max);
        // f(9 s..10 s) ≈ 63–100 Hz: amplitude 2/63 at most.
        assert!(peak <= 2.0 / c.frequency_at_hz(9.0) + 1e-12 && peak > 0.015);
    }
}
