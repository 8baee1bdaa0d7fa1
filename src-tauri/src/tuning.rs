//! The tuning view's IPC commands: each one call of the engine API's tuning part
//! ([`drivedeck_engine::api::Api::tune_start`] and its neighbours), its error mapped.

use crate::error::IpcError;
use drivedeck_domain::{DriveRef, TestSpec};
use drivedeck_engine::api::{
    Api, Comparison, PassiveRequest, PredictRequest, RunQuery, RunSummary, RunView, SuggestRequest,
    SuggestionView, TuneDefaults,
};
use drivedeck_engine::tuning::model::ModelResults;
use drivedeck_engine::tuning::passive::PassiveView;
use drivedeck_engine::tuning::whatif::Prediction;
use tauri::State;

/// The drive's default tests and the limits a test keeps.
#[tauri::command]
pub async fn tune_defaults(api: State<'_, Api>, drive: DriveRef) -> Result<TuneDefaults, IpcError> {
    Ok(api.tune_defaults(drive)?)
}

/// Starts a test; the run's ID.
#[tauri::command]
pub async fn tune_start(
    api: State<'_, Api>,
    drive: DriveRef,
    test: TestSpec,
) -> Result<u64, IpcError> {
    Ok(api.tune_start(drive, test)?)
}

/// Ends the drive's running test now.
#[tauri::command]
pub async fn tune_abort(api: State<'_, Api>, drive: DriveRef) -> Result<(), IpcError> {
    Ok(api.tune_abort(drive)?)
}

/// The run list.
#[tauri::command]
pub async fn tune_runs(api: State<'_, Api>, query: RunQuery) -> Result<Vec<RunSummary>, IpcError> {
    Ok(api.tune_runs(query)?)
}

/// One run with its results.
#[tauri::command]
pub async fn tune_run(api: State<'_, Api>, id: i64) -> Result<RunView, IpcError> {
    Ok(api.tune_run(id)?)
}

/// A stored run's mechanics: the fitted model, its intervals and traces.
#[tauri::command]
pub async fn tune_identify(api: State<'_, Api>, id: i64) -> Result<ModelResults, IpcError> {
    Ok(api.tune_identify(id)?)
}

/// Gains suggested for a target on a stored run's model, with their prediction.
#[tauri::command]
pub async fn tune_suggest(
    api: State<'_, Api>,
    request: SuggestRequest,
) -> Result<SuggestionView, IpcError> {
    Ok(api.tune_suggest(&request)?)
}

/// What candidate gains are predicted to do on a stored run's model (the what-if).
#[tauri::command]
pub async fn tune_predict(
    api: State<'_, Api>,
    request: PredictRequest,
) -> Result<Prediction, IpcError> {
    Ok(api.tune_predict(&request)?)
}

/// A session range's step response, estimated from ordinary moves (no test run).
#[tauri::command]
pub async fn tune_passive(
    api: State<'_, Api>,
    request: PassiveRequest,
) -> Result<PassiveView, IpcError> {
    Ok(api.tune_passive(&request)?)
}

/// Stored runs side by side.
#[tauri::command]
pub async fn tune_compare(api: State<'_, Api>, runs: Vec<i64>) -> Result<Comparison, IpcError> {
    Ok(api.tune_compare(&runs)?)
}

/// Writes a comparison's report (`png`, `svg`, `csv`, `json`); the file's path.
#[tauri::command]
pub async fn tune_compare_export(
    api: State<'_, Api>,
    runs: Vec<i64>,
    format: String,
) -> Result<String, IpcError> {
    Ok(api
        .tune_compare_export(&runs, &format)?
        .display()
        .to_string())
}

/// Writes a run's report (`png`, `svg`, `csv`, `json`); the file's path.
#[tauri::command]
pub async fn tune_export(api: State<'_, Api>, id: i64, format: String) -> Result<String, IpcError> {
    Ok(api.tune_export(id, &format)?.display().to_string())
}
