//! Ultimate gain and period from a relay test (Åström–Hägglund).
//!
//! A relay of amplitude d (with hysteresis ε) in the loop drives a plant with enough
//! phase lag into a limit cycle at the frequency where the plant's phase is −180° (less
//! the hysteresis' lag). By the describing function of the relay, N(a) = 4d/(π·a) for an
//! ideal relay, the **ultimate gain** is Ku = 4d/(π·a), a the oscillation's amplitude;
//! with hysteresis, N(a) = 4d/(π·a)·(√(1 − (ε/a)²) − j·ε/a), and the gain at the
//! crossing of the negative real axis is corrected to Ku = 4d/(π·√(a² − ε²)).
//! The **ultimate period** Tu is the mean spacing of the output's upward zero crossings
//! (about its mean), interpolated between samples. Assumption: the plant filters the
//! relay's harmonics (first-harmonic approximation); the first cycles are transient and
//! only the last `cycles` are used.

use crate::TuneError;
use serde::{Deserialize, Serialize};

/// What a relay test measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct RelayResult {
    /// Ultimate gain Ku (effort per unit output).
    pub ultimate_gain: f64,
    /// Ultimate period Tu.
    pub ultimate_period_s: f64,
    /// Oscillation amplitude a (half peak-to-peak of the output).
    pub oscillation_amplitude: f64,
    /// Cycles measured.
    pub cycles: usize,
}

/// Analyses the last `cycles` cycles of a relay test's output `output` sampled every
/// `sample_period_s`, for a relay of amplitude `relay_amplitude` and hysteresis `hysteresis`.
pub fn analyse(
    output: &[f64],
    sample_period_s: f64,
    relay_amplitude: f64,
    hysteresis: f64,
    cycles: usize,
) -> Result<RelayResult, TuneError> {
    if cycles == 0 || !sample_period_s.is_finite() || sample_period_s <= 0.0 {
        return Err(TuneError::InvalidParameter(
            "cycles and sample period must be positive".into(),
        ));
    }
    let mean = output.iter().sum::<f64>() / output.len().max(1) as f64;
    let ups: Vec<f64> = output
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] - mean < 0.0 && w[1] - mean >= 0.0)
        .map(|(i, w)| (i as f64 + (mean - w[0]) / (w[1] - w[0])) * sample_period_s)
        .collect();
    if ups.len() < cycles + 1 {
        return Err(TuneError::TooShort {
            got: ups.len().saturating_sub(1),
            need: cycles,
        });
    }
    let last = &ups[ups.len() - cycles - 1..];
    let period = (last[cycles] - last[0]) / cycles as f64;
    let start = (last[0] / sample_period_s).floor() as usize;
    let end = ((last[cycles] / sample_period_s).ceil() as usize).min(output.len());
    let seg = &output[start..end];
    let (lo, hi) = seg
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let a = (hi - lo) / 2.0;
    if a <= hysteresis {
        return Err(TuneError::InvalidParameter(format!(
            "oscillation amplitude {a} within hysteresis {hysteresis}"
        )));
    }
    Ok(RelayResult {
        ultimate_gain: 4.0 * relay_amplitude
            / (std::f64::consts::PI * (a * a - hysteresis * hysteresis).sqrt()),
        ultimate_period_s: period,
        oscillation_amplitude: a,
        cycles,
    })
}
