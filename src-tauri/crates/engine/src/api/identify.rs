//! A run's mechanics through the API: the model identified from a stored run (any run
//! that recorded the drive's output), with its confidence intervals, fit quality and
//! physical units; offline, from the store alone (no drive needs to be connected).

use super::tune::run_data;
use super::{Api, ApiError};
use crate::tuning::model::{ModelResults, identify_run};

impl Api {
    /// Identifies the mechanics of run `id`'s drive from its readings.
    pub fn tune_identify(&self, id: i64) -> Result<ModelResults, ApiError> {
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
        identify_run(&data, profile.as_ref())
            .map_err(|reason| ApiError::Invalid(format!("run {id}: {reason}")))
    }
}
