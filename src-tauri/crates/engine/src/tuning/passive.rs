//! A session range's step response, estimated passively: the set points the user gave
//! (the journal's target jobs, held from when each went out) against what the drive did
//! (its recorded position, or velocity for velocity targets), resampled onto one grid
//! at the recording's rate and deconvolved (see [`drivedeck_tune::passive`]); the
//! estimate's step metrics beside it.

use super::analysis::{resample, uniform_grid};
use drivedeck_tune::passive::{PassiveConfig, PassiveEstimate, step_estimate};
use drivedeck_tune::step::{StepMetrics, StepRun, step_report};
use serde::Serialize;
use ts_rs::TS;

/// A passive estimate with what it rests on.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PassiveView {
    /// The estimate.
    pub estimate: PassiveEstimate,
    /// Its step metrics (against a unit step).
    pub metrics: Option<StepMetrics>,
    /// The loop the set points were for: `position` or `velocity`.
    #[serde(rename = "loop")]
    pub test_loop: String,
    /// Set points given in the range.
    pub moves: usize,
    /// The recording's rate, Hz.
    pub rate_hz: f64,
    /// What it rests on and what it noticed.
    pub notes: Vec<String>,
}

/// The estimate from `targets` (time s, value: the set points in force from each time,
/// the first one in force from the range's start) and the recorded `t_s`/`response`.
pub fn estimate(
    targets: &[(f64, f64)],
    t_s: &[f64],
    response: &[f64],
    test_loop: &str,
) -> Result<PassiveView, String> {
    if t_s.len() < 100 {
        return Err(format!("{} readings in the range: too few", t_s.len()));
    }
    if targets.len() < 2 {
        return Err(format!(
            "{} set point{} in the range: a passive estimate needs the drive to be moved, several times",
            targets.len(),
            if targets.len() == 1 { "" } else { "s" }
        ));
    }
    let (rate, t0, count) = uniform_grid(t_s);
    let y = resample(t_s, response, t0, rate, count);
    let mut j = 0;
    let r: Vec<f64> = (0..count)
        .map(|k| {
            let t = t0 + k as f64 / rate;
            while j + 1 < targets.len() && targets[j + 1].0 <= t {
                j += 1;
            }
            targets[j].1
        })
        .collect();
    let estimate =
        step_estimate(&r, &y, rate, &PassiveConfig::default()).map_err(|e| e.to_string())?;
    let metrics = step_report(&StepRun {
        time_s: &estimate.t_s,
        response: &estimate.step,
        trajectory: None,
        effort: None,
        step_time_s: 0.0,
        from: 0.0,
        to: 1.0,
    })
    .ok()
    .map(|r| r.against_step);
    let notes = vec![
        format!(
            "{} set points over {:.1} s, read at {rate:.0} Hz; {} of {} windows of 2 s moved; mean coherence {:.2} up to {:.1} Hz",
            targets.len(),
            count as f64 / rate,
            estimate.windows_used,
            estimate.windows_total,
            estimate.coherence_mean,
            estimate.band_hz
        ),
        "the set point is the target as sent (the drive's own profile, if any, is part of the response)".into(),
    ];
    Ok(PassiveView {
        estimate,
        metrics,
        test_loop: test_loop.into(),
        moves: targets.len(),
        rate_hz: rate,
        notes,
    })
}
