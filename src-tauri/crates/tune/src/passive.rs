//! A passive step-response estimate: the loop's step response deconvolved from ordinary
//! operation (the set points a user gave and what the drive did), with no test run — the
//! way drone-log tools (PIDtoolbox, PID-Analyzer) read a flight log, for servos.
//!
//! The recording is cut into overlapping windows (Hann, half overlapping). Windows in
//! which the set point hardly moves carry nothing to deconvolve and are left out. Over the
//! rest, the regularised (Wiener) estimate of the closed loop is
//! `H(f) = Σ Y·X̄ / (Σ |X|² + λ)` with `λ` a small fraction of the input's mean power (it
//! keeps the division bounded where the set point has no energy), each frequency weighted
//! by its coherence `γ²` against a threshold (a frequency the set point does not explain
//! is faded out rather than trusted). The impulse response is the inverse transform of `H`;
//! its running sum over the first `horizon_s` is the step response. Refused, with the
//! reason, when too few windows move or the coherence over the loop's band is too low.

use crate::{Complex64, TuneError};
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How the estimate is made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct PassiveConfig {
    /// Window length, s.
    pub window_s: f64,
    /// How much of the step response is estimated, s.
    pub horizon_s: f64,
    /// λ as a fraction of the input's mean power per frequency.
    pub regularisation: f64,
    /// Coherence below which a frequency is faded out.
    pub coherence_threshold: f64,
    /// A window counts when its set point's range is at least this (rad or rad/s).
    pub min_activity: f64,
}

impl Default for PassiveConfig {
    /// 2 s windows, a 0.5 s horizon, λ = 1 % of the mean power, γ² 0.5, 0.01 of activity.
    fn default() -> Self {
        PassiveConfig {
            window_s: 2.0,
            horizon_s: 0.5,
            regularisation: 0.01,
            coherence_threshold: 0.5,
            min_activity: 0.01,
        }
    }
}

/// A step response estimated from ordinary operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct PassiveEstimate {
    /// Times from the step, s.
    pub t_s: Vec<f64>,
    /// The response to a unit step.
    pub step: Vec<f64>,
    /// Windows whose set point moved, of all windows.
    pub windows_used: usize,
    /// All windows.
    pub windows_total: usize,
    /// Mean coherence over the band the estimate rests on.
    pub coherence_mean: f64,
    /// That band's upper end, Hz (a tenth of the sample rate, or where the set point's
    /// energy ends).
    pub band_hz: f64,
}

/// The step response of the loop from `reference` to `response`, sampled together at
/// `fs` Hz (see the module doc).
pub fn step_estimate(
    reference: &[f64],
    response: &[f64],
    fs: f64,
    config: &PassiveConfig,
) -> Result<PassiveEstimate, TuneError> {
    if reference.len() != response.len() {
        return Err(TuneError::LengthMismatch(reference.len(), response.len()));
    }
    if !(fs.is_finite() && fs > 0.0) {
        return Err(TuneError::InvalidParameter(format!("sample rate {fs}")));
    }
    let n = ((config.window_s * fs).round() as usize).max(8);
    let horizon = ((config.horizon_s * fs).round() as usize).clamp(2, n / 2);
    if reference.len() < n {
        return Err(TuneError::TooShort {
            got: reference.len(),
            need: n,
        });
    }
    let hop = n / 2;
    let window: Vec<f64> = (0..n)
        .map(|k| 0.5 - 0.5 * (std::f64::consts::TAU * k as f64 / n as f64).cos())
        .collect();
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(n);
    let bins = n / 2 + 1;
    let mut sxx = vec![0.0; bins];
    let mut syy = vec![0.0; bins];
    let mut sxy = vec![Complex64::new(0.0, 0.0); bins];
    let (mut used, mut total) = (0, 0);
    let mut start = 0;
    while start + n <= reference.len() {
        total += 1;
        let r = &reference[start..start + n];
        let y = &response[start..start + n];
        start += hop;
        let (lo, hi) = r
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        let still = (hi - lo).is_nan() || hi - lo < config.min_activity;
        if still || r.iter().chain(y).any(|v| !v.is_finite()) {
            continue;
        }
        used += 1;
        // Each window about its own mean: the deconvolution sees the moves, not where
        // the shaft happens to be.
        let mean_r = r.iter().sum::<f64>() / n as f64;
        let mean_y = y.iter().sum::<f64>() / n as f64;
        let mut xr: Vec<f64> = r
            .iter()
            .zip(&window)
            .map(|(v, w)| (v - mean_r) * w)
            .collect();
        let mut yr: Vec<f64> = y
            .iter()
            .zip(&window)
            .map(|(v, w)| (v - mean_y) * w)
            .collect();
        let mut x = forward.make_output_vec();
        let mut yy = forward.make_output_vec();
        forward
            .process(&mut xr, &mut x)
            .map_err(|e| TuneError::InvalidParameter(e.to_string()))?;
        forward
            .process(&mut yr, &mut yy)
            .map_err(|e| TuneError::InvalidParameter(e.to_string()))?;
        for k in 0..bins {
            sxx[k] += x[k].norm_sqr();
            syy[k] += yy[k].norm_sqr();
            sxy[k] += yy[k] * x[k].conj();
        }
    }
    if used < 2 {
        return Err(TuneError::Invalid(format!(
            "the set point moved in {used} of {total} windows of {} s: too little motion to estimate a step response from (move the drive more, or take a longer range)",
            config.window_s
        )));
    }
    let mean_power = sxx.iter().sum::<f64>() / bins as f64;
    let lambda = config.regularisation * mean_power;
    let coherence: Vec<f64> = (0..bins)
        .map(|k| {
            let d = sxx[k] * syy[k];
            if d > 0.0 { sxy[k].norm_sqr() / d } else { 0.0 }
        })
        .collect();
    // The band the estimate rests on: up to a tenth of the rate, within the set point's
    // energy (bins holding at least a thousandth of its peak power).
    let df = fs / n as f64;
    let peak = sxx.iter().skip(1).cloned().fold(0.0, f64::max);
    let band_top = (1..bins)
        .take_while(|&k| (k as f64) * df <= fs / 10.0)
        .filter(|&k| sxx[k] >= 1e-3 * peak)
        .last()
        .unwrap_or(1);
    let band: Vec<f64> = (1..=band_top).map(|k| coherence[k]).collect();
    let coherence_mean = band.iter().sum::<f64>() / band.len().max(1) as f64;
    if coherence_mean < config.coherence_threshold {
        return Err(TuneError::Invalid(format!(
            "the response follows the set point too loosely (mean coherence {coherence_mean:.2} up to {:.1} Hz, below {}): no step response can be trusted from this range",
            band_top as f64 * df,
            config.coherence_threshold
        )));
    }
    let mut h: Vec<Complex64> = (0..bins)
        .map(|k| {
            let wiener = sxy[k] / (sxx[k] + lambda);
            let gate = (coherence[k] / config.coherence_threshold).min(1.0);
            wiener * gate
        })
        .collect();
    // A real impulse response: the DC and Nyquist bins carry no imaginary part.
    h[0].im = 0.0;
    if n.is_multiple_of(2) {
        h[bins - 1].im = 0.0;
    }
    let inverse = planner.plan_fft_inverse(n);
    let mut impulse = inverse.make_output_vec();
    inverse
        .process(&mut h, &mut impulse)
        .map_err(|e| TuneError::InvalidParameter(e.to_string()))?;
    let mut sum = 0.0;
    let step: Vec<f64> = impulse
        .iter()
        .take(horizon)
        .map(|v| {
            sum += v / n as f64;
            sum
        })
        .collect();
    Ok(PassiveEstimate {
        t_s: (0..horizon).map(|k| k as f64 / fs).collect(),
        step,
        windows_used: used,
        windows_total: total,
        coherence_mean,
        band_hz: band_top as f64 * df,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A discrete second-order loop (ωn 40 rad/s, ζ 0.5) driven by held steps.
    fn loop_response(reference: &[f64], fs: f64) -> Vec<f64> {
        let (wn, zeta): (f64, f64) = (40.0, 0.5);
        let dt = 1.0 / fs;
        let (mut x, mut v) = (0.0, 0.0);
        reference
            .iter()
            .map(|r| {
                let y = x;
                for _ in 0..10 {
                    let a = wn * wn * (r - x) - 2.0 * zeta * wn * v;
                    v += a * dt / 10.0;
                    x += v * dt / 10.0;
                }
                y
            })
            .collect()
    }

    #[test]
    fn finds_the_step_response_of_a_loop_driven_by_ordinary_moves() {
        let fs = 200.0;
        // Moves of varying size every 0.3–0.7 s, as a user jogging a servo.
        let mut reference = Vec::new();
        let mut level = 0.0;
        let mut rng = fastrand_like(7);
        while reference.len() < 60 * 200 {
            level += (rng() - 0.5) * 0.6;
            let hold = (0.3 + 0.4 * rng()) * fs;
            reference.extend(std::iter::repeat_n(level, hold as usize));
        }
        let response = loop_response(&reference, fs);
        let est = step_estimate(&reference, &response, fs, &PassiveConfig::default()).unwrap();
        // The truth: the same loop's response to a unit step.
        let unit: Vec<f64> = vec![1.0; 100];
        let truth = loop_response(&unit, fs);
        let peak = |s: &[f64]| s.iter().cloned().fold(f64::MIN, f64::max);
        // ζ 0.5: 16 % overshoot.
        assert!(
            (peak(&est.step) - peak(&truth)).abs() < 0.05,
            "{} {}",
            peak(&est.step),
            peak(&truth)
        );
        let late = est.step[60..100].iter().sum::<f64>() / 40.0;
        assert!((late - 1.0).abs() < 0.05, "{late}");
        for (k, (e, t)) in est.step.iter().zip(&truth).take(40).enumerate() {
            assert!((e - t).abs() < 0.08, "{k}: {e} against {t}");
        }
        assert!(est.windows_used > 50 && est.coherence_mean > 0.8, "{est:?}");
    }

    #[test]
    fn a_still_set_point_is_refused() {
        let reference = vec![1.0; 2000];
        let response = vec![1.0; 2000];
        let err =
            step_estimate(&reference, &response, 200.0, &PassiveConfig::default()).unwrap_err();
        assert!(err.to_string().contains("too little motion"), "{err}");
    }

    /// A small deterministic generator (0..1), so the test needs no crate.
    fn fastrand_like(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }
}
