//! The frequency range a link can observe, from its achieved sample rate and timing jitter.
//!
//! Rule (stated in every result):
//! - **upper limit** = min(Nyquist = fs/2, the jitter limit). A sample taken σ_t (rms) off
//!   its nominal instant reads a sinusoid of frequency f with a phase error of
//!   2π·f·σ_t rad rms; averaging over many samples attenuates it by
//!   exp(−(2π·f·σ_t)²/2). The jitter limit is the lowest frequency where the phase error
//!   exceeds `max_phase_error_deg` or the attenuation exceeds `max_attenuation_db`;
//! - **lower limit** = the estimate's resolution fs/segment_len (one cycle per segment).
//!
//! Jitter is measured as the rms deviation of the timestamps from their least-squares
//! line t_k ≈ t_0 + k·T, and the achieved rate as 1/T.

use crate::TuneError;
use serde::{Deserialize, Serialize};

/// What bounds the upper end of the observable range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub enum UpperLimit {
    /// Half the achieved sample rate.
    Nyquist,
    /// Timing jitter's phase error.
    JitterPhase,
    /// Timing jitter's attenuation.
    JitterAttenuation,
}

/// The frequencies a run can be trusted over.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ObservableRange {
    /// Achieved sample rate.
    pub sample_rate_hz: f64,
    /// Timing jitter, rms.
    pub jitter_rms_s: f64,
    /// Half the sample rate.
    pub nyquist_hz: f64,
    /// Lowest observable frequency (resolution).
    pub lowest_hz: f64,
    /// Highest observable frequency.
    pub highest_hz: f64,
    /// What sets `highest_hz`.
    pub limited_by: UpperLimit,
    /// The rule, in words, for display beside every Bode plot.
    pub rule: String,
}

/// Bounds on jitter's effect.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct JitterBounds {
    /// Largest rms phase error accepted.
    pub max_phase_error_deg: f64,
    /// Largest attenuation accepted.
    pub max_attenuation_db: f64,
}

impl Default for JitterBounds {
    fn default() -> Self {
        Self {
            max_phase_error_deg: 5.0,
            max_attenuation_db: 1.0,
        }
    }
}

/// Achieved sample rate and rms jitter from sample timestamps.
pub fn rate_and_jitter(timestamps_s: &[f64]) -> Result<(f64, f64), TuneError> {
    let n = timestamps_s.len();
    if n < 3 {
        return Err(TuneError::TooShort { got: n, need: 3 });
    }
    let k_mean = (n - 1) as f64 / 2.0;
    let t_mean = timestamps_s.iter().sum::<f64>() / n as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for (k, &t) in timestamps_s.iter().enumerate() {
        num += (k as f64 - k_mean) * (t - t_mean);
        den += (k as f64 - k_mean).powi(2);
    }
    let period = num / den;
    if !period.is_finite() || period <= 0.0 {
        return Err(TuneError::InvalidParameter(
            "timestamps do not increase".into(),
        ));
    }
    let var = timestamps_s
        .iter()
        .enumerate()
        .map(|(k, &t)| (t - (t_mean + (k as f64 - k_mean) * period)).powi(2))
        .sum::<f64>()
        / n as f64;
    Ok((1.0 / period, var.sqrt()))
}

/// The observable range for a sample rate, jitter and segment length.
pub fn observable_range(
    sample_rate_hz: f64,
    jitter_rms_s: f64,
    segment_len: usize,
    bounds: JitterBounds,
) -> ObservableRange {
    let nyquist = sample_rate_hz / 2.0;
    let tau = std::f64::consts::TAU;
    let (phase_limit, atten_limit) = if jitter_rms_s > 0.0 {
        // 2π f σ = φ_max ⇒ f = φ_max/(2πσ); exp(−x²/2) = 10^(−A/20) ⇒ x = √(A·ln10/10).
        let x_atten = (bounds.max_attenuation_db * std::f64::consts::LN_10 / 10.0).sqrt();
        (
            bounds.max_phase_error_deg.to_radians() / (tau * jitter_rms_s),
            x_atten / (tau * jitter_rms_s),
        )
    } else {
        (f64::INFINITY, f64::INFINITY)
    };
    let (highest, limited_by) = if nyquist <= phase_limit && nyquist <= atten_limit {
        (nyquist, UpperLimit::Nyquist)
    } else if phase_limit <= atten_limit {
        (phase_limit, UpperLimit::JitterPhase)
    } else {
        (atten_limit, UpperLimit::JitterAttenuation)
    };
    let lowest = sample_rate_hz / segment_len.max(1) as f64;
    let rule = format!(
        "observable {lowest:.3}–{highest:.1} Hz: upper = min(Nyquist {nyquist:.1} Hz, jitter {:.1} µs rms reaching {:.1}° phase error or {:.1} dB attenuation); lower = fs/segment",
        jitter_rms_s * 1e6,
        bounds.max_phase_error_deg,
        bounds.max_attenuation_db
    );
    ObservableRange {
        sample_rate_hz,
        jitter_rms_s,
        nyquist_hz: nyquist,
        lowest_hz: lowest,
        highest_hz: highest,
        limited_by,
        rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_clock_is_nyquist_limited() {
        let t: Vec<f64> = (0..1000).map(|k| k as f64 * 1e-3).collect();
        let (fs, j) = rate_and_jitter(&t).expect("rate");
        assert!((fs - 1000.0).abs() < 1e-6 && j < 1e-12);
        let r = observable_range(fs, j, 1024, JitterBounds::default());
        assert_eq!(r.limited_by, UpperLimit::Nyquist);
        assert!((r.highest_hz - 500.0).abs() < 1e-6);
    }

    #[test]
    fn large_jitter_limits_the_range() {
        // 100 µs rms: 5° at 5/360/(100e-6) ≈ 138.9 Hz, below Nyquist 500 Hz.
        let r = observable_range(1000.0, 100e-6, 1024, JitterBounds::default());
        assert_eq!(r.limited_by, UpperLimit::JitterPhase);
        assert!((r.highest_hz - 5.0 / 360.0 / 100e-6).abs() < 1e-6);
    }

    #[test]
    fn jitter_is_measured_off_the_line() {
        let t: Vec<f64> = (0..10_000)
            .map(|k| k as f64 * 2e-3 + if k % 2 == 0 { 50e-6 } else { -50e-6 })
            .collect();
        let (fs, j) = rate_and_jitter(&t).expect("rate");
        assert!((fs - 500.0).abs() < 0.01);
        assert!((j - 50e-6).abs() < 1e-7);
    }
}
