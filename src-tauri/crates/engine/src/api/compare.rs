//! Runs compared through the API: any runs — other gains, other sessions, other drives
//! of one model — side by side with their settings, gains, models and figures, their
//! steps and closed loops overlaid, the drives whose model stands out from their
//! siblings' flagged, and the comparison written as a report (PNG/SVG, CSV, JSON).

use super::{Api, ApiError, GainView, RunSummary};
use crate::tuning::compare::{ModelOf, SiblingFlag, normalised_step, sibling_flags};
use crate::tuning::compare_report;
use drivedeck_domain::{Excitation, TestSpec};
use drivedeck_tune::frf::FrequencyResponse;
use drivedeck_tune::identify::{MechanicalModel, PhysicalModel};
use serde::Serialize;
use std::path::PathBuf;
use ts_rs::TS;

/// The most runs one comparison takes.
pub const MAX_COMPARED: usize = 12;

/// One run in a comparison.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ComparedRun {
    /// Its line in the run list.
    pub summary: RunSummary,
    /// The test as it was run.
    pub spec: TestSpec,
    /// The gains in force.
    pub gains: Vec<GainView>,
    /// 10–90 % rise time of its step (measured, or predicted where `stepSource` says).
    pub rise_time_s: Option<f64>,
    /// Overshoot, %.
    pub overshoot_pct: Option<f64>,
    /// Settling into ±2 %, s.
    pub settling_time_2pct_s: Option<f64>,
    /// −3 dB bandwidth, Hz.
    pub bandwidth_hz: Option<f64>,
    /// Phase margin, degrees.
    pub phase_margin_deg: Option<f64>,
    /// Gain margin, dB.
    pub gain_margin_db: Option<f64>,
    /// Its identified model.
    pub model: Option<MechanicalModel>,
    /// In physical units.
    pub physical: Option<PhysicalModel>,
    /// Why there is no model.
    pub model_note: Option<String>,
    /// `measured`, `predicted` (on its model with its gains) or `none`.
    pub step_source: String,
    /// The step: times from its edge, s.
    pub step_t_s: Vec<f64>,
    /// The response normalised: 0 before, 1 the step's size.
    pub step_response: Vec<f64>,
    /// `measured`, `predicted` or `none`.
    pub bode_source: String,
    /// The closed loop T.
    pub closed_loop: Option<FrequencyResponse>,
}

/// Runs side by side.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// The runs, in the order asked.
    pub runs: Vec<ComparedRun>,
    /// Drives whose model stands out from their siblings'.
    pub flags: Vec<SiblingFlag>,
    /// What the comparison noticed.
    pub notes: Vec<String>,
}

impl Api {
    /// Runs `ids` compared (2 to [`MAX_COMPARED`], each once).
    pub fn tune_compare(&self, ids: &[i64]) -> Result<Comparison, ApiError> {
        if ids.len() < 2 || ids.len() > MAX_COMPARED {
            return Err(ApiError::Invalid(format!(
                "a comparison takes 2 to {MAX_COMPARED} runs, not {}",
                ids.len()
            )));
        }
        if let Some(dup) = ids
            .iter()
            .find(|id| ids.iter().filter(|o| o == id).count() > 1)
        {
            return Err(ApiError::Invalid(format!("run {dup} is named twice")));
        }
        let mut runs = Vec::new();
        let mut fitted = Vec::new();
        let mut notes = Vec::new();
        for &id in ids {
            let view = self.tune_run(id)?;
            let f = self.fitted_run(id)?;
            let results = view.results.as_ref();
            let step = results
                .and_then(|r| r.step.as_ref())
                .map(|s| &s.against_step);
            let frf = results.and_then(|r| r.frf.as_ref());
            let model = f.model.as_ref().ok();
            let mut compared = ComparedRun {
                summary: view.summary.clone(),
                spec: view.spec.clone(),
                gains: view.gains.clone(),
                rise_time_s: step.and_then(|s| s.rise_time_s),
                overshoot_pct: step.map(|s| s.overshoot_pct),
                settling_time_2pct_s: step.and_then(|s| s.settling_time_2pct_s),
                bandwidth_hz: frf.and_then(|f| f.bandwidth_hz),
                phase_margin_deg: frf.and_then(|f| f.margins.as_ref()?.phase_margin_deg),
                gain_margin_db: frf.and_then(|f| f.margins.as_ref()?.gain_margin_db),
                model: model.map(|m| m.model.clone()),
                physical: model.and_then(|m| m.physical.clone()),
                model_note: f.model.as_ref().err().cloned(),
                step_source: "none".into(),
                step_t_s: vec![],
                step_response: vec![],
                bode_source: "none".into(),
                closed_loop: frf.map(|f| f.closed_loop.clone()),
            };
            if compared.closed_loop.is_some() {
                compared.bode_source = "measured".into();
            }
            if let Excitation::Step { size, hold_s, .. } = view.spec.excitation {
                let response = if f.row.test_loop == "velocity" {
                    &f.data.velocity
                } else {
                    &f.data.position
                };
                let from = if f.row.test_loop == "velocity" {
                    0.0
                } else {
                    f.row.start_position.unwrap_or_default()
                };
                let (t, y) = normalised_step(
                    &f.data.t_s,
                    response,
                    from,
                    size,
                    view.spec.settle_s,
                    hold_s,
                );
                compared.step_t_s = t;
                compared.step_response = y;
                compared.step_source = "measured".into();
            }
            // Where the run did not measure a step or a closed loop, its model predicts
            // them with its own gains.
            if model.is_some() && (compared.step_source == "none" || compared.bode_source == "none")
            {
                match self.tune_predict(&super::PredictRequest {
                    model_run: id,
                    run: None,
                    gains: vec![],
                    step_size: None,
                }) {
                    Ok(p) => {
                        if compared.step_source == "none" {
                            compared.step_t_s = p
                                .step_t_s
                                .iter()
                                .map(|t| t - drivedeck_tune::suggest::STEP_AT_S)
                                .filter(|t| *t >= 0.0)
                                .collect();
                            let skip = p.step_t_s.len() - compared.step_t_s.len();
                            compared.step_response = p.step_response[skip..]
                                .iter()
                                .map(|y| y / p.step_size)
                                .collect();
                            compared.rise_time_s = p.predicted.rise_time_s;
                            compared.overshoot_pct = Some(p.predicted.overshoot_pct);
                            compared.settling_time_2pct_s = p.predicted.settling_time_2pct_s;
                            compared.step_source = "predicted".into();
                        }
                        if compared.bode_source == "none" {
                            compared.bandwidth_hz = p.predicted.bandwidth_hz;
                            compared.phase_margin_deg = p.predicted.margins.phase_margin_deg;
                            compared.gain_margin_db = p.predicted.margins.gain_margin_db;
                            compared.closed_loop = Some(p.closed_loop);
                            compared.bode_source = "predicted".into();
                        }
                    }
                    Err(e) => notes.push(format!("run {id}: no prediction: {e}")),
                }
            }
            fitted.push(f);
            runs.push(compared);
        }
        let models: Vec<ModelOf<'_>> = fitted
            .iter()
            .filter_map(|f| {
                Some(ModelOf {
                    run: f.row.id,
                    drive: f.row.drive,
                    profile: &f.row.profile,
                    model: &f.model.as_ref().ok()?.model,
                })
            })
            .collect();
        let flags = sibling_flags(&models);
        if runs
            .iter()
            .any(|r| r.step_source == "predicted" || r.bode_source == "predicted")
        {
            notes.push(
                "a step or closed loop marked predicted is the run's model with its own gains, not a measurement".into(),
            );
        }
        Ok(Comparison { runs, flags, notes })
    }

    /// Writes the comparison of `ids` into the `exports` folder as `png`/`svg` (steps and
    /// closed loops overlaid), `csv` (a row per run) or `json`; returns the file.
    pub fn tune_compare_export(&self, ids: &[i64], format: &str) -> Result<PathBuf, ApiError> {
        let image = match format {
            "png" => Some(compare_report::Image::Png),
            "svg" => Some(compare_report::Image::Svg),
            "csv" | "json" => None,
            other => {
                return Err(ApiError::Invalid(format!(
                    "unknown report format {other:?} (png, svg, csv or json)"
                )));
            }
        };
        let comparison = self.tune_compare(ids)?;
        let dir = self.exports_dir();
        super::create_exports_dir(&dir)?;
        let names: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
        let path = dir.join(format!("compare_runs_{}.{format}", names.join("_")));
        match image {
            Some(image) => compare_report::write_chart(&comparison, image, &path, (1200, 1000))
                .map_err(|e| ApiError::File(format!("{}: {e}", path.display())))?,
            None if format == "csv" => {
                super::write_export(&path, compare_report::csv(&comparison).as_bytes())?
            }
            None => {
                let json = serde_json::to_vec_pretty(&comparison)
                    .map_err(|e| ApiError::File(format!("comparison: {e}")))?;
                super::write_export(&path, &json)?;
            }
        }
        Ok(path)
    }
}
