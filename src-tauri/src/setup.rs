//! The bus set-up IPC commands: a connected drive's set-up step, and one servo of the
//! guided "one drive at a time" set-up — each one call of the engine API's set-up part
//! ([`drivedeck_engine::api::Api::setup`], [`drivedeck_engine::api::Api::setup_assign`]).

use crate::error::IpcError;
use drivedeck_domain::{DriveRef, SetupStep};
use drivedeck_engine::api::{Api, AssignDone, AssignRequest, SetupDone};
use tauri::State;

/// Runs a set-up step on a connected drive; where the drive is now.
#[tauri::command]
pub async fn setup_drive(
    api: State<'_, Api>,
    drive: DriveRef,
    step: SetupStep,
) -> Result<SetupDone, IpcError> {
    Ok(api.setup(drive, step).await?)
}

/// Finds the one servo on a port and gives it an ID (and rate).
#[tauri::command]
pub async fn setup_assign(
    api: State<'_, Api>,
    request: AssignRequest,
) -> Result<AssignDone, IpcError> {
    Ok(api.setup_assign(request).await?)
}
