//! Gains on a run's model through the API: what candidate gains are predicted to do
//! (`tune_predict`: the step, T and L, and a run replayed — the validation of a run taken
//! after applying them), and gains suggested for a target (`tune_suggest`). Offline: the
//! model and the run come from the store; nothing is written to a drive here (applying is
//! an ordinary parameter write, confirmed by the user).

use super::{Api, ApiError, RunResults};
use crate::tuning::whatif::{Prediction, WhatIf, gains_in_run, predict_run, structure_for};
use drivedeck_domain::{Excitation, TestSpec};
use drivedeck_tune::predict::Plant;
use drivedeck_tune::suggest::{GainTarget, Predicted, SuggestConfig, Suggestion, suggest};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A gain register's counts.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GainValue {
    /// Register name.
    pub name: String,
    /// Counts.
    pub counts: f64,
}

/// What to predict.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PredictRequest {
    /// The run whose model predicts.
    #[ts(type = "number")]
    pub model_run: i64,
    /// The run to replay (default: the model's own).
    #[ts(type = "number | null")]
    pub run: Option<i64>,
    /// The gains to predict with; registers not named keep the replayed run's.
    pub gains: Vec<GainValue>,
    /// The step to predict (default: the run's step or amplitude).
    pub step_size: Option<f64>,
}

/// What to suggest.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SuggestRequest {
    /// The run whose model the gains are placed on.
    #[ts(type = "number")]
    pub run: i64,
    /// The target.
    pub target: GainTarget,
    /// The damping ratio ζ (default 0.9).
    pub damping: Option<f64>,
    /// Whether to place an integral (default: no).
    pub integral: Option<bool>,
}

/// A suggestion with its prediction and what the run's own gains give.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SuggestionView {
    /// The gains and the rule.
    pub suggestion: Suggestion,
    /// The suggested gains on the model (step, T, L, the run replayed).
    pub prediction: Prediction,
    /// What the gains in force when the run was taken give on the same model.
    pub current: Predicted,
}

/// The size of the step a run's predictions show: its step, or its amplitude.
fn step_size_of(spec: &serde_json::Value, test_loop: &str) -> f64 {
    let fallback = if test_loop == "velocity" { 1.0 } else { 0.2 };
    let Ok(spec) = serde_json::from_value::<TestSpec>(spec.clone()) else {
        return fallback;
    };
    match spec.excitation {
        Excitation::Step { size, .. } => size,
        Excitation::Chirp { amplitude, .. } => amplitude,
        _ => fallback,
    }
}

impl Api {
    /// What `request.gains` are predicted to do on run `request.model_run`'s model.
    pub fn tune_predict(&self, request: &PredictRequest) -> Result<Prediction, ApiError> {
        let fitted = self.fitted_run(request.model_run)?;
        let model = fitted
            .model
            .as_ref()
            .map_err(|reason| ApiError::Invalid(format!("run {}: {reason}", request.model_run)))?;
        let replayed = match request.run {
            Some(id) if id != request.model_run => self.fitted_run(id)?,
            _ => std::sync::Arc::clone(&fitted),
        };
        if replayed.row.drive.id != fitted.row.drive.id
            || replayed.row.profile != fitted.row.profile
        {
            return Err(ApiError::Invalid(format!(
                "run {} is of another drive than run {}: a model predicts its own drive only",
                replayed.row.id, fitted.row.id
            )));
        }
        if replayed.row.test_loop != fitted.row.test_loop {
            return Err(ApiError::Invalid(format!(
                "run {} tested the {} loop and run {} the {} loop",
                replayed.row.id, replayed.row.test_loop, fitted.row.id, fitted.row.test_loop
            )));
        }
        let profile = fitted.profile.as_ref().ok_or_else(|| {
            ApiError::Invalid(format!(
                "run {}'s profile {} is no longer known",
                fitted.row.id, fitted.row.profile
            ))
        })?;
        let step_size = match request.step_size {
            Some(s) if s.is_finite() && s != 0.0 => s,
            Some(s) => return Err(ApiError::Invalid(format!("step size {s} is not a step"))),
            None => step_size_of(&replayed.row.spec, &replayed.row.test_loop),
        };
        let in_run = gains_in_run(profile, &replayed.row.gains);
        let gains: Vec<(String, f64)> = request
            .gains
            .iter()
            .map(|g| (g.name.clone(), g.counts))
            .collect();
        predict_run(
            &WhatIf {
                model_run: fitted.row.id,
                model,
                run: replayed.row.id,
                data: &replayed.data,
                test_loop: &replayed.row.test_loop,
                in_run: &in_run,
                gains: &gains,
                step_size,
            },
            profile,
        )
        .map_err(ApiError::Invalid)
    }

    /// Gains suggested for `request.target` on run `request.run`'s model.
    pub fn tune_suggest(&self, request: &SuggestRequest) -> Result<SuggestionView, ApiError> {
        let fitted = self.fitted_run(request.run)?;
        let id = request.run;
        let model = fitted
            .model
            .as_ref()
            .map_err(|reason| ApiError::Invalid(format!("run {id}: {reason}")))?;
        let profile = fitted.profile.as_ref().ok_or_else(|| {
            ApiError::Invalid(format!(
                "run {id}'s profile {} is no longer known",
                fitted.row.profile
            ))
        })?;
        let structure = structure_for(profile, &fitted.row.test_loop).ok_or_else(|| {
            ApiError::Invalid(format!(
                "DriveDeck does not know the {} loop law of the {}: no gains can be suggested",
                fitted.row.test_loop, profile.name
            ))
        })?;
        let mut config = SuggestConfig::for_target(request.target);
        if let Some(d) = request.damping {
            config.damping = d;
        }
        config.integral = request.integral.unwrap_or(false);
        config.step_amplitude = step_size_of(&fitted.row.spec, &fitted.row.test_loop);
        config.observable_max_hz = fitted
            .row
            .results
            .clone()
            .and_then(|r| serde_json::from_value::<RunResults>(r).ok())
            .map(|r| r.observable.highest_hz);
        let suggestion = suggest(&Plant::from(&model.model), &structure, &config)
            .map_err(|e| ApiError::Invalid(format!("run {id}: {e}")))?;
        let gains = suggestion
            .gains
            .iter()
            .map(|g| GainValue {
                name: g.name.clone(),
                counts: g.counts,
            })
            .collect();
        let prediction = self.tune_predict(&PredictRequest {
            model_run: id,
            run: None,
            gains,
            step_size: Some(config.step_amplitude),
        })?;
        let current = self
            .tune_predict(&PredictRequest {
                model_run: id,
                run: None,
                gains: vec![],
                step_size: Some(config.step_amplitude),
            })?
            .predicted;
        Ok(SuggestionView {
            suggestion,
            prediction,
            current,
        })
    }
}
