//! The error every IPC command returns: a kind the UI can branch on and a message it
//! shows as it is (the API's own kinds, and `settings` for the settings file).

use drivedeck_engine::api::ApiError;
use serde::Serialize;

/// A refused or failed IPC call, serialised as `{ kind, message }`.
#[derive(Debug, Serialize, thiserror::Error, ts_rs::TS)]
#[error("{message}")]
pub struct IpcError {
    /// `invalid` (bad input, nothing sent), `notFound`, `link`, `store`, `settings`.
    pub kind: &'static str,
    /// For a human.
    pub message: String,
}

impl IpcError {
    /// An error of `kind` with `message`.
    pub fn new(kind: &'static str, message: impl Into<String>) -> IpcError {
        IpcError {
            kind,
            message: message.into(),
        }
    }
}

impl From<ApiError> for IpcError {
    fn from(e: ApiError) -> IpcError {
        IpcError::new(e.kind().name(), e.to_string())
    }
}
