//! The transport-neutral API: what a client of DriveDeck can ask, as request and view
//! types of its own (serde; ts-rs for the ones the web UI reads), answered by [`Api`].
//!
//! The Tauri shell turns each IPC command into one call here; the CLI and a future
//! network service can make the same calls. Nothing here knows about a webview: chart
//! data comes back as bytes, errors as an [`ApiError`] with a [`ErrorKind`] a client
//! can branch on.
//!
//! One file per area, each an `impl Api` block with its view types:
//! - `stops`: why drives stopped (supervisor stops, links lost, tests aborted), for the
//!   window's stop banner.
//! - `status`: the status line (session, links and their health, the committed cursor).
//! - `drives`: the drives with their readings; submitting commands; the heartbeat.
//! - `connect`: serial ports, scans, drive models, connecting and disconnecting links.
//! - `sessions`: the session browser, recording, notes, a session's faults.
//! - `journal`: the job journal and its filter.
//! - `charts`: recorded channels, the live tail, zoomed windows, exports of a range.
//! - `params`: a drive's control table, parameter snapshots, diffs and backups.
//! - `setup`: a drive's set-up steps (new ID, new rate, reboot, factory reset) and the
//!   guided "one drive at a time" assignment.
//! - `tune`: tuning runs: default tests and limits, start and abort, the run list, a
//!   run with its results, reports.
//! - `identify`: a stored run's mechanics as a fitted model.
//! - `whatif`: gains predicted on a run's model and suggested for a target.
//! - `passive`: a step response estimated from a session range of ordinary moves.
//! - `compare`: runs side by side, siblings' models checked, the comparison's report.

mod charts;
mod compare;
mod connect;
mod drives;
mod identify;
mod journal;
mod params;
mod passive;
mod sessions;
mod setup;
mod status;
mod stops;
#[cfg(test)]
mod test_rig;
mod tune;
mod whatif;

pub use charts::{ChannelView, ExportRequest, ExportUnit};
pub use compare::{ComparedRun, Comparison};
pub use connect::{Connected, ProfileView, SerialRequest, SimRequest, ports};
pub use drives::DriveView;
pub use journal::{JobQuery, JobView};
pub use params::{ParamDiffView, ParamExport, ParamRegisterView, ParamTable, SnapshotView};
pub use passive::PassiveRequest;
pub use sessions::{FaultView, SessionDriveView, SessionSummary};
pub use setup::{AssignDone, AssignRequest, SetupDone};
pub use status::{AppStatus, HealthView, LinkView, SessionView};
pub use stops::StopNotice;
pub use tune::{
    FrfResults, GainView, ResonanceView, RunQuery, RunResults, RunSummary, RunView, TestLimits,
    TuneDefaults,
};
pub use whatif::{GainValue, PredictRequest, SuggestRequest, SuggestionView};

use crate::{Engine, EngineError};
use drivedeck_store::{Reader, StoreError};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// What class of failure an [`ApiError`] is, for a client to branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: nothing was sent, nothing changed.
    Invalid,
    /// No such drive, link, session or snapshot.
    NotFound,
    /// A link, port, scan or simulator failed.
    Link,
    /// The store (or a file written beside it) failed.
    Store,
}

impl ErrorKind {
    /// The kind's name on the wire: `invalid`, `notFound`, `link`, `store`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "invalid",
            ErrorKind::NotFound => "notFound",
            ErrorKind::Link => "link",
            ErrorKind::Store => "store",
        }
    }
}

/// A refused or failed API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request makes no sense; nothing was done.
    #[error("{0}")]
    Invalid(String),
    /// What the request names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A store query failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file beside the store (an export) could not be written.
    #[error("{0}")]
    File(String),
}

impl ApiError {
    /// Its class (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        use drivedeck_bus::SubmitError;
        match self {
            ApiError::Invalid(_) => ErrorKind::Invalid,
            ApiError::NotFound(_) => ErrorKind::NotFound,
            ApiError::File(_) => ErrorKind::Store,
            ApiError::Engine(e) => match e {
                EngineError::Submit(SubmitError::UnknownDrive(_)) => ErrorKind::NotFound,
                EngineError::Submit(SubmitError::Invalid(_)) => ErrorKind::Invalid,
                EngineError::Submit(SubmitError::LinkDown(_)) | EngineError::Link(_) => {
                    ErrorKind::Link
                }
                EngineError::Rig(_) | EngineError::Scan(_) | EngineError::Ports(_) => {
                    ErrorKind::Link
                }
                EngineError::Invalid(_) => ErrorKind::Invalid,
                EngineError::Job(_) => ErrorKind::Link,
                EngineError::Store(_) => ErrorKind::Store,
            },
            ApiError::Store(e) => match e {
                StoreError::Invalid(_) => ErrorKind::Invalid,
                StoreError::NotFound(_) => ErrorKind::NotFound,
                _ => ErrorKind::Store,
            },
        }
    }
}

/// The API over one engine: the engine and a read-only store connection kept open
/// between calls.
pub struct Api {
    engine: Arc<Engine>,
    reader: Mutex<Reader>,
    /// Ended runs with their readings and models, oldest first (see `identify`).
    models: Mutex<Vec<(i64, Arc<identify::FittedRun>)>>,
}

impl Api {
    /// The API of `engine`, with a reader of its store.
    pub fn new(engine: Arc<Engine>) -> Result<Api, EngineError> {
        let reader = engine.reader()?;
        Ok(Api {
            engine,
            reader: Mutex::new(reader),
            models: Mutex::new(Vec::new()),
        })
    }

    /// The engine behind it (for start-up and shutdown).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    fn reader(&self) -> MutexGuard<'_, Reader> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `exports` folder beside the database.
    fn exports_dir(&self) -> PathBuf {
        self.engine
            .db_path()
            .parent()
            .map(|p| p.join("exports"))
            .unwrap_or_else(|| "exports".into())
    }
}

/// `name` with everything but letters, digits and `-` replaced by `_` (a file name).
fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes an export's `bytes` to `path`, saying which file failed.
fn write_export(path: &std::path::Path, bytes: &[u8]) -> Result<(), ApiError> {
    std::fs::write(path, bytes).map_err(|e| ApiError::File(format!("{}: {e}", path.display())))
}

/// Creates the exports folder `dir`, saying why it could not.
fn create_exports_dir(dir: &std::path::Path) -> Result<(), ApiError> {
    std::fs::create_dir_all(dir).map_err(|e| ApiError::File(format!("{}: {e}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_letters_digits_and_dashes() {
        assert_eq!(
            safe_name("Live 2026-12-03 20:01:45 UTC"),
            "Live_2026-12-03_20_01_45_UTC"
        );
        assert_eq!(safe_name("Tür/../x"), "Tür____x");
    }

    #[test]
    fn errors_keep_their_kind() {
        let kind = |e: ApiError| e.kind().name();
        assert_eq!(kind(ApiError::Invalid("x".into())), "invalid");
        assert_eq!(kind(ApiError::NotFound("x".into())), "notFound");
        assert_eq!(kind(ApiError::File("x".into())), "store");
        assert_eq!(kind(StoreError::Invalid("x".into()).into()), "invalid");
        assert_eq!(kind(StoreError::NotFound("x".into()).into()), "notFound");
        // Through the engine, every store failure is a store failure.
        let engine_store = EngineError::Store(StoreError::Invalid("x".into()));
        assert_eq!(kind(engine_store.into()), "store");
        assert_eq!(kind(EngineError::Ports("x".into()).into()), "link");
        assert_eq!(kind(EngineError::Invalid("x".into()).into()), "invalid");
    }
}
