//! Step-response metrics, against the step asked for and against the trajectory the
//! drive actually followed (when a profile shaped the reference), both reported.
//!
//! Definitions, for a step from `from` to `to` asked for at `step_time_s`
//! (Δ = to − from, e = target − response):
//! - **rise time**: from the first crossing of from + 10 %·Δ to the first of 90 %·Δ;
//! - **delay**: first crossing of 50 %·Δ, after the step time;
//! - **overshoot**: (peak beyond `to`) / |Δ|, in percent (0 if never beyond);
//! - **settling time** (2 %, 5 %): after the step time, the last instant the response is
//!   outside to ± band·|Δ| (None if still outside at the end of the run);
//! - **steady-state error**: `to` − mean of the response over the last 10 % of the run;
//! - **IAE**: ∫|e| dt (trapezoidal), over the run after the step time;
//! - **peak effort**: max |current or PWM| after the step time.
//!
//! Crossings are interpolated linearly between samples.
//! Against the trajectory: the following error trajectory − response (max |·|, rms, IAE)
//! and the lag of the response's 50 % crossing behind the trajectory's.

use crate::TuneError;
use serde::{Deserialize, Serialize};

/// One step of a tuning run.
#[derive(Clone, Copy, Debug)]
pub struct StepRun<'a> {
    /// Sample times.
    pub time_s: &'a [f64],
    /// The measured response.
    pub response: &'a [f64],
    /// The trajectory the drive followed (the profile-shaped reference), if recorded.
    pub trajectory: Option<&'a [f64]>,
    /// Current or PWM, if recorded.
    pub effort: Option<&'a [f64]>,
    /// When the step was asked for.
    pub step_time_s: f64,
    /// Level before the step.
    pub from: f64,
    /// Level asked for.
    pub to: f64,
}

/// Metrics against the step asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct StepMetrics {
    /// 10–90 % rise time.
    pub rise_time_s: Option<f64>,
    /// Time to 50 % after the step.
    pub delay_s: Option<f64>,
    /// Overshoot, % of the step.
    pub overshoot_pct: f64,
    /// Settling time into ±2 %.
    pub settling_time_2pct_s: Option<f64>,
    /// Settling time into ±5 %.
    pub settling_time_5pct_s: Option<f64>,
    /// Target − final mean.
    pub steady_state_error: f64,
    /// ∫|target − response| dt.
    pub iae: f64,
    /// max |effort|, if effort was recorded.
    pub peak_effort: Option<f64>,
}

/// Metrics against the trajectory the drive followed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct FollowingMetrics {
    /// max |trajectory − response|.
    pub max_following_error: f64,
    /// rms following error.
    pub rms_following_error: f64,
    /// ∫|trajectory − response| dt.
    pub iae: f64,
    /// Lag of the response's 50 % crossing behind the trajectory's.
    pub lag_s: Option<f64>,
}

/// Both views of a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct StepReport {
    /// Against the step asked for.
    pub against_step: StepMetrics,
    /// Against the followed trajectory (None if none was recorded).
    pub against_trajectory: Option<FollowingMetrics>,
}

/// First time after `after_s` at which `x` crosses `level` going in the step's direction.
fn first_crossing(t: &[f64], x: &[f64], level: f64, rising: bool, after_s: f64) -> Option<f64> {
    let sign = if rising { 1.0 } else { -1.0 };
    for i in 1..t.len() {
        if t[i] < after_s {
            continue;
        }
        let (a, b) = (sign * (x[i - 1] - level), sign * (x[i] - level));
        if a < 0.0 && b >= 0.0 {
            return Some(t[i - 1] + (t[i] - t[i - 1]) * (-a / (b - a)));
        }
        if i == 1 && a >= 0.0 && t[0] >= after_s {
            return Some(t[0]);
        }
    }
    None
}

fn trapezoid_abs(t: &[f64], e: impl Fn(usize) -> f64, after_s: f64) -> f64 {
    (1..t.len())
        .filter(|&i| t[i - 1] >= after_s)
        .map(|i| 0.5 * (e(i - 1).abs() + e(i).abs()) * (t[i] - t[i - 1]))
        .sum()
}

/// Computes both views of a step.
pub fn step_report(run: &StepRun<'_>) -> Result<StepReport, TuneError> {
    let (t, y) = (run.time_s, run.response);
    if t.len() != y.len() {
        return Err(TuneError::LengthMismatch(t.len(), y.len()));
    }
    if t.len() < 3 {
        return Err(TuneError::TooShort {
            got: t.len(),
            need: 3,
        });
    }
    let delta = run.to - run.from;
    if delta == 0.0 {
        return Err(TuneError::InvalidParameter("zero step".into()));
    }
    let rising = delta > 0.0;
    let at = |frac: f64| run.from + frac * delta;
    let t10 = first_crossing(t, y, at(0.1), rising, run.step_time_s);
    let t90 = first_crossing(t, y, at(0.9), rising, run.step_time_s);
    let t50 = first_crossing(t, y, at(0.5), rising, run.step_time_s);
    let beyond = y
        .iter()
        .zip(t)
        .filter(|(_, ti)| **ti >= run.step_time_s)
        .map(|(v, _)| (v - run.to) * delta.signum())
        .fold(0.0_f64, f64::max);
    let settling = |band: f64| -> Option<f64> {
        let tol = band * delta.abs();
        let last_out = (0..t.len())
            .rev()
            .find(|&i| t[i] >= run.step_time_s && (y[i] - run.to).abs() > tol);
        match last_out {
            None => Some(0.0),
            Some(i) if i + 1 >= t.len() => None,
            Some(i) => {
                // Interpolate where the excursion re-enters the band.
                let edge = run.to + tol * (y[i] - run.to).signum();
                let frac = (y[i] - edge) / (y[i] - y[i + 1]);
                Some(t[i] + frac.clamp(0.0, 1.0) * (t[i + 1] - t[i]) - run.step_time_s)
            }
        }
    };
    let tail = (t.len() / 10).max(1);
    let final_mean = y[y.len() - tail..].iter().sum::<f64>() / tail as f64;
    let peak_effort = match run.effort {
        Some(u) if u.len() == t.len() => Some(
            u.iter()
                .zip(t)
                .filter(|(_, ti)| **ti >= run.step_time_s)
                .map(|(v, _)| v.abs())
                .fold(0.0, f64::max),
        ),
        Some(u) => return Err(TuneError::LengthMismatch(t.len(), u.len())),
        None => None,
    };
    let against_step = StepMetrics {
        rise_time_s: t10.zip(t90).map(|(a, b)| b - a),
        delay_s: t50.map(|v| v - run.step_time_s),
        overshoot_pct: 100.0 * beyond / delta.abs(),
        settling_time_2pct_s: settling(0.02),
        settling_time_5pct_s: settling(0.05),
        steady_state_error: run.to - final_mean,
        iae: trapezoid_abs(t, |i| run.to - y[i], run.step_time_s),
        peak_effort,
    };
    let against_trajectory = match run.trajectory {
        None => None,
        Some(r) if r.len() != t.len() => return Err(TuneError::LengthMismatch(t.len(), r.len())),
        Some(r) => {
            let e: Vec<f64> = r.iter().zip(y).map(|(a, b)| a - b).collect();
            let from = run.step_time_s;
            let n = t.iter().filter(|&&ti| ti >= from).count().max(1);
            let lag = first_crossing(t, r, at(0.5), rising, from)
                .zip(t50)
                .map(|(a, b)| b - a);
            Some(FollowingMetrics {
                max_following_error: e
                    .iter()
                    .zip(t)
                    .filter(|(_, ti)| **ti >= from)
                    .map(|(v, _)| v.abs())
                    .fold(0.0, f64::max),
                rms_following_error: (e
                    .iter()
                    .zip(t)
                    .filter(|(_, ti)| **ti >= from)
                    .map(|(v, _)| v * v)
                    .sum::<f64>()
                    / n as f64)
                    .sqrt(),
                iae: trapezoid_abs(t, |i| e[i], from),
                lag_s: lag,
            })
        }
    };
    Ok(StepReport {
        against_step,
        against_trajectory,
    })
}
