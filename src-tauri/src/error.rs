//! The error every IPC command returns: a kind the UI can branch on and a message it
//! shows as it is.

use drivedeck_engine::EngineError;
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

impl From<EngineError> for IpcError {
    fn from(e: EngineError) -> IpcError {
        use drivedeck_bus::SubmitError;
        let kind = match &e {
            EngineError::Submit(SubmitError::UnknownDrive(_)) => "notFound",
            EngineError::Submit(SubmitError::Invalid(_)) => "invalid",
            EngineError::Submit(SubmitError::LinkDown(_)) | EngineError::Link(_) => "link",
            EngineError::Rig(_) | EngineError::Scan(_) | EngineError::Ports(_) => "link",
            EngineError::Invalid(_) => "invalid",
            EngineError::Store(_) => "store",
        };
        IpcError::new(kind, e.to_string())
    }
}

impl From<drivedeck_store::StoreError> for IpcError {
    fn from(e: drivedeck_store::StoreError) -> IpcError {
        use drivedeck_store::StoreError;
        let kind = match &e {
            StoreError::Invalid(_) => "invalid",
            StoreError::NotFound(_) => "notFound",
            _ => "store",
        };
        IpcError::new(kind, e.to_string())
    }
}
