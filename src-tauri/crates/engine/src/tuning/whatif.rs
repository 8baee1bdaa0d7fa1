//! What-if and suggestions on a stored run: the run's identified model closed by the
//! drive family's own loop ([`LoopStructure`]) with candidate gains — the gains in force,
//! a suggestion's, or any a user sets — predicted as a step, as T and L, and as the run
//! replayed (its recorded reference played through the model, against what was measured:
//! the prediction error of a validation run). Offline: the model, the gains and the
//! reference all come from the store.

use super::RunData;
use super::analysis::{resample, uniform_grid};
use super::model::ModelResults;
use drivedeck_proto::profile::Profile;
use drivedeck_tune::frf::FrequencyResponse;
use drivedeck_tune::identify::fit_pct;
use drivedeck_tune::loops::{LoopKind, LoopStructure, Term};
use drivedeck_tune::predict::{ClosedLoop, Plant};
use drivedeck_tune::suggest::{Predicted, predict, prediction_frequencies, step_reference};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Points of a replayed run's traces (decimated for drawing).
const TRACE_POINTS: usize = 2000;

/// One gain of a prediction, in the register's counts, in SI per unit of output and in
/// physical units.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GainSetting {
    /// Register name.
    pub name: String,
    /// The term it sets.
    pub term: Term,
    /// Its counts.
    pub counts: f64,
    /// The counts in force when the run was taken (None: the run did not record it).
    pub in_run: Option<f64>,
    /// The register's range.
    pub min: f64,
    /// See `min`.
    pub max: f64,
    /// How the vendor reads it.
    pub rule: String,
    /// Output (PWM fraction) per unit of the term's input.
    pub si: f64,
    /// The SI unit of `si` (`1/rad`).
    pub si_unit: String,
    /// In physical units, where the profile gives the torque of a full output.
    pub physical: Option<f64>,
    /// Its unit (`N·m/rad`).
    pub physical_unit: String,
}

/// What candidate gains are predicted to do on a run's model.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Prediction {
    /// The run whose model predicts.
    #[ts(type = "number")]
    pub model_run: i64,
    /// The run replayed.
    #[ts(type = "number")]
    pub run: i64,
    /// The loop structure.
    pub structure: String,
    /// The gains.
    pub gains: Vec<GainSetting>,
    /// Bandwidth, margins and the step's metrics.
    pub predicted: Predicted,
    /// The predicted step: times, s.
    pub step_t_s: Vec<f64>,
    /// Its size (rad or rad/s).
    pub step_size: f64,
    /// The response.
    pub step_response: Vec<f64>,
    /// The output, PWM fraction.
    pub step_output: Vec<f64>,
    /// The predicted closed loop T.
    pub closed_loop: FrequencyResponse,
    /// The predicted open loop L.
    pub open_loop: FrequencyResponse,
    /// The replayed run: times, s from its start.
    pub run_t_s: Vec<f64>,
    /// Its reference.
    pub run_reference: Vec<f64>,
    /// What it measured.
    pub run_measured: Vec<f64>,
    /// What the model predicts for its reference.
    pub run_predicted: Vec<f64>,
    /// NRMSE fit of prediction to measurement, % (100: exact).
    pub run_fit_pct: f64,
    /// RMS of measured − predicted.
    pub run_rms_error: f64,
    /// Largest |measured − predicted|.
    pub run_max_error: f64,
    /// What the prediction rests on.
    pub notes: Vec<String>,
}

/// The loop structure of a drive of `profile` in `test_loop` (`position`/`velocity`),
/// with the profile's register ranges; `None` where DriveDeck does not know its law.
pub fn structure_for(profile: &Profile, test_loop: &str) -> Option<LoopStructure> {
    let kind = match test_loop {
        "velocity" => LoopKind::Velocity,
        _ => LoopKind::Position,
    };
    let names: Vec<&str> = profile.registers.iter().map(|r| r.name.as_str()).collect();
    let structure = LoopStructure::for_registers(&names, kind)?;
    Some(structure.with_ranges(|name| {
        profile.register(name).map(|r| {
            let l = r.limits();
            (*l.start() as f64, *l.end() as f64)
        })
    }))
}

/// The gain registers' counts in force in a run, from its stored gains (SI values).
pub fn gains_in_run(profile: &Profile, stored: &serde_json::Value) -> Vec<(String, f64)> {
    let pairs: Vec<(String, Option<f64>)> =
        serde_json::from_value(stored.clone()).unwrap_or_default();
    pairs
        .into_iter()
        .filter_map(|(name, value)| {
            let scale = profile.register(&name).map_or(1.0, |r| r.scale);
            Some((name, value? / scale))
        })
        .collect()
}

fn units(kind: LoopKind, term: Term) -> (&'static str, &'static str) {
    match (kind, term) {
        (LoopKind::Position, Term::Proportional) => ("1/rad", "N·m/rad"),
        (LoopKind::Position, Term::Integral) => ("1/(rad·s)", "N·m/(rad·s)"),
        (LoopKind::Position, Term::Derivative | Term::FeedforwardVelocity)
        | (LoopKind::Velocity, Term::Proportional) => ("s/rad", "N·m·s/rad"),
        (LoopKind::Position, Term::FeedforwardAcceleration) => ("s²/rad", "N·m·s²/rad"),
        (LoopKind::Velocity, Term::Integral) => ("1/rad", "N·m/rad"),
        (LoopKind::Velocity, _) => ("", ""),
    }
}

/// What to predict: a run's model, the run to replay, the gains.
pub struct WhatIf<'a> {
    /// The model's run ID.
    pub model_run: i64,
    /// The model.
    pub model: &'a ModelResults,
    /// The replayed run's ID.
    pub run: i64,
    /// Its readings.
    pub data: &'a RunData,
    /// Its loop (`position`, `velocity`).
    pub test_loop: &'a str,
    /// The gains in force when it was taken (counts).
    pub in_run: &'a [(String, f64)],
    /// The gains to predict with (counts); registers not named keep `in_run`'s.
    pub gains: &'a [(String, f64)],
    /// The step predicted (rad or rad/s).
    pub step_size: f64,
}

/// Predicts `w` for a drive of `profile`.
pub fn predict_run(w: &WhatIf<'_>, profile: &Profile) -> Result<Prediction, String> {
    let structure = structure_for(profile, w.test_loop).ok_or_else(|| {
        format!(
            "DriveDeck does not know the {} loop law of the {} (its gain registers): no prediction can be made",
            w.test_loop, profile.name
        )
    })?;
    let mut counts: Vec<(String, f64)> = Vec::new();
    for r in &structure.registers {
        let given = w.gains.iter().find(|(n, _)| *n == r.name).map(|(_, v)| *v);
        let before = w.in_run.iter().find(|(n, _)| *n == r.name).map(|(_, v)| *v);
        let value = given.or(before).unwrap_or(0.0);
        if !value.is_finite() || value < r.min || value > r.max || value.fract() != 0.0 {
            return Err(format!(
                "{} = {value} is not a count within its range {}–{}",
                r.name, r.min, r.max
            ));
        }
        counts.push((r.name.clone(), value));
    }
    if let Some((name, _)) = w
        .gains
        .iter()
        .find(|(n, _)| !structure.registers.iter().any(|r| r.name == *n))
    {
        return Err(format!("{name} is not a gain of the {}", structure.name));
    }
    let law = structure.law(&counts);
    let torque = profile.motor.as_ref().map(|m| m.stall_torque);
    let gains = structure
        .registers
        .iter()
        .zip(&counts)
        .map(|(r, (_, c))| {
            let (si_unit, physical_unit) = units(structure.kind, r.term);
            GainSetting {
                name: r.name.clone(),
                term: r.term,
                counts: *c,
                in_run: w.in_run.iter().find(|(n, _)| *n == r.name).map(|(_, v)| *v),
                min: r.min,
                max: r.max,
                rule: r.rule.clone(),
                si: c * r.si_per_count,
                si_unit: si_unit.into(),
                physical: torque.map(|t| c * r.si_per_count * t),
                physical_unit: physical_unit.into(),
            }
        })
        .collect();
    let cl = ClosedLoop {
        plant: Plant::from(&w.model.model),
        kind: structure.kind,
        law,
        control_period_s: structure.control_period_s,
        output_cap: 1.0,
    };
    let predicted = predict(&cl, w.step_size);
    let (step_t_s, reference) = step_reference(&cl, w.step_size, predicted.bandwidth_hz);
    let fs = 1.0 / (step_t_s[1] - step_t_s[0]);
    let step = cl.simulate(&reference, fs, 0.0);
    let freqs = prediction_frequencies(structure.control_period_s);
    let replay = replay(&cl, w.data, structure.kind);
    let mut notes = vec![
        format!(
            "the model of run {} (fit {:.0} %) closed by the {} with the gains shown, its output capped at 100 %; the reference is played as goals (no profile), so feedforward does not act",
            w.model_run, w.model.model.fit_pct, structure.name
        ),
        "Coulomb friction and the cap are in the step and the replay, not in T and L (small signal)".into(),
    ];
    if w.model_run != w.run {
        notes.push(format!(
            "run {} replayed through run {}'s model: its prediction error is the validation's",
            w.run, w.model_run
        ));
    }
    Ok(Prediction {
        model_run: w.model_run,
        run: w.run,
        structure: structure.name.clone(),
        gains,
        predicted,
        step_t_s,
        step_size: w.step_size,
        step_response: step.response,
        step_output: step.output,
        closed_loop: cl.closed_loop(&freqs),
        open_loop: cl.open_loop(&freqs),
        run_t_s: replay.t,
        run_reference: replay.reference,
        run_measured: replay.measured,
        run_predicted: replay.predicted,
        run_fit_pct: replay.fit_pct,
        run_rms_error: replay.rms,
        run_max_error: replay.max,
        notes,
    })
}

struct Replay {
    t: Vec<f64>,
    reference: Vec<f64>,
    measured: Vec<f64>,
    predicted: Vec<f64>,
    fit_pct: f64,
    rms: f64,
    max: f64,
}

/// The run's reference through `cl`, against what the run measured.
fn replay(cl: &ClosedLoop, data: &RunData, kind: LoopKind) -> Replay {
    let n = data.t_s.len();
    let empty = Replay {
        t: vec![],
        reference: vec![],
        measured: vec![],
        predicted: vec![],
        fit_pct: 0.0,
        rms: 0.0,
        max: 0.0,
    };
    if n < 3 {
        return empty;
    }
    let (rate, t0, count) = uniform_grid(&data.t_s);
    if rate <= 0.0 || count < 3 {
        return empty;
    }
    let reference = resample(&data.t_s, &data.reference, t0, rate, count);
    let measured = match kind {
        LoopKind::Position => resample(&data.t_s, &data.position, t0, rate, count),
        LoopKind::Velocity => resample(&data.t_s, &data.velocity, t0, rate, count),
    };
    let start = match kind {
        LoopKind::Position => measured[0],
        LoopKind::Velocity => 0.0,
    };
    let predicted = cl.simulate(&reference, rate, start).response;
    let errors: Vec<f64> = measured
        .iter()
        .zip(&predicted)
        .map(|(m, p)| m - p)
        .collect();
    let rms = (errors.iter().map(|e| e * e).sum::<f64>() / count as f64).sqrt();
    let max = errors.iter().fold(0.0_f64, |m, e| m.max(e.abs()));
    let fit = fit_pct(&measured, &predicted);
    let step = count.div_ceil(TRACE_POINTS).max(1);
    let pick = |x: &[f64]| x.iter().step_by(step).copied().collect::<Vec<f64>>();
    Replay {
        t: (0..count)
            .step_by(step)
            .map(|k| t0 + k as f64 / rate)
            .collect(),
        reference: pick(&reference),
        measured: pick(&measured),
        predicted: pick(&predicted),
        fit_pct: fit,
        rms,
        max,
    }
}
