//! A run's mechanics through the API: the model identified from a stored run (any run
//! that recorded the drive's output), with its confidence intervals, fit quality and
//! physical units; offline, from the store alone (no drive needs to be connected).
//!
//! A run that ended never changes, so its readings and model are kept once fitted
//! (a few runs, the newest kept): what-if updates reuse them rather than fitting again.

use super::tune::run_data;
use super::{Api, ApiError};
use crate::tuning::RunData;
use crate::tuning::model::{ModelResults, identify_run};
use drivedeck_proto::profile::Profile;
use drivedeck_store::RunRow;
use std::sync::Arc;

/// Runs whose readings and models are kept.
pub(super) const KEPT_MODELS: usize = 8;

/// A stored run with its readings and, where one could be fitted, its model.
pub(super) struct FittedRun {
    /// The run as stored.
    pub row: RunRow,
    /// Its readings.
    pub data: RunData,
    /// Its drive's profile (None: no longer known).
    pub profile: Option<Profile>,
    /// The model, or why none could be fitted.
    pub model: Result<ModelResults, String>,
}

impl Api {
    /// Identifies the mechanics of run `id`'s drive from its readings.
    pub fn tune_identify(&self, id: i64) -> Result<ModelResults, ApiError> {
        let fitted = self.fitted_run(id)?;
        fitted
            .model
            .clone()
            .map_err(|reason| ApiError::Invalid(format!("run {id}: {reason}")))
    }

    /// Run `id` with its readings and model, from the kept ones or fitted now.
    pub(super) fn fitted_run(&self, id: i64) -> Result<Arc<FittedRun>, ApiError> {
        {
            let kept = self.models.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, f)) = kept.iter().find(|(k, _)| *k == id) {
                return Ok(Arc::clone(f));
            }
        }
        let reader = self.engine.reader()?;
        let row = reader
            .run(id)?
            .ok_or_else(|| ApiError::NotFound(format!("no run {id}")))?;
        if row.state == "running" {
            return Err(ApiError::Invalid(format!("run {id} is still running")));
        }
        let data = run_data(&reader, &row)?;
        // A profile no longer known (a custom one removed) leaves the model per unit.
        let profile = self.engine.profile_named(&row.profile).ok();
        let resonances = row
            .results
            .clone()
            .and_then(|r| serde_json::from_value::<super::RunResults>(r).ok())
            .and_then(|r| r.frf)
            .map(|f| f.resonances)
            .unwrap_or_default();
        let model = identify_run(&data, profile.as_ref(), &resonances);
        let fitted = Arc::new(FittedRun {
            row,
            data,
            profile,
            model,
        });
        // A run whose analysis is still to come is fitted again next time (its
        // resonances come from the analysis).
        if fitted.row.results.is_none() {
            return Ok(fitted);
        }
        let mut kept = self.models.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|(k, _)| *k != id);
        kept.push((id, Arc::clone(&fitted)));
        if kept.len() > KEPT_MODELS {
            kept.remove(0);
        }
        Ok(fitted)
    }
}
