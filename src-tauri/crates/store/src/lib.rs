//! DriveDeck's read side: a SQLite query store fed by the bus's events.
//!
//! One writer thread owns the only write connection and applies events in batched
//! transactions; after each commit it publishes how many samples are on disk (the
//! committed cursor). Readers open their own read-only connections and never block the
//! writer (WAL). Samples live in chunks of a thousand values per channel with rollup
//! levels beside them, so a window over tens of millions of samples reads a few
//! thousand rows.
//!
//! - [`schema`]: the tables and the versioned migrations.
//! - [`chunk`]: the byte layout of sample chunks and rollup chunks.
//! - [`writer`]: the single writer: batching, chunking, projections, crash repair.
//! - [`reader`]: queries: sessions and search, channels, job journal, drives, faults,
//!   link gaps, parameter history and diffs.
//! - [`runs`]: tuning runs: their rows, their readings as channels, the run list.
//! - [`window`]: decimated windows (≤ 4 points per pixel) for zoomed charts.
//! - [`tail`]: the live tail by per-channel cursor, and the binary form charts receive
//!   (typed arrays, not JSON).
//! - [`export`]: CSV, PNG and SVG of a session or a part of it.

pub mod chunk;
pub mod export;
pub mod reader;
pub mod runs;
pub mod schema;
pub mod tail;
pub mod window;
pub mod writer;

pub use reader::{
    ChannelRow, DriveRow, FaultRow, GapRow, JobFilter, JobRow, ParamDiff, Reader, SessionDrive,
    SessionRow, SnapshotRow,
};
pub use runs::{RunFilter, RunRow};
pub use tail::{Series, SeriesBatch, TailCursor};
pub use writer::{Store, StoreOptions, StoreWriter};

/// A session's ID (its row in `sessions`).
pub type SessionId = i64;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// SQLite said no, about a file we name.
    #[error("{path}: {message}")]
    File {
        /// The database file.
        path: String,
        /// What SQLite said, in words.
        message: String,
    },
    /// The file was written by a newer DriveDeck.
    #[error(
        "{path} uses store schema v{found}, but this DriveDeck only knows up to v{known}: \
         open it with a newer DriveDeck"
    )]
    TooNew {
        /// The database file.
        path: String,
        /// Its schema version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// A file or folder could not be used.
    #[error("{path}: {error}")]
    Io {
        /// The path.
        path: String,
        /// What the OS said.
        error: String,
    },
    /// The writer thread is gone (the store was closed or failed).
    #[error("the store's writer has stopped: {0}")]
    WriterGone(String),
    /// Something that is not in the store.
    #[error("{0} not found")]
    NotFound(String),
    /// A request that makes no sense (bad range, empty name…).
    #[error("{0}")]
    Invalid(String),
    /// Stored bytes that do not decode.
    #[error(transparent)]
    Chunk(#[from] chunk::ChunkError),
}

impl StoreError {
    /// Names the file in SQLite's errors, and says the usual causes in words.
    pub fn in_file(self, path: &std::path::Path) -> StoreError {
        use rusqlite::ErrorCode;
        let StoreError::Sqlite(error) = self else {
            return self;
        };
        let message = match error.sqlite_error_code() {
            Some(ErrorCode::ReadOnly) => {
                "the database file (or its folder) is read-only: DriveDeck needs to write it"
                    .to_string()
            }
            Some(ErrorCode::DiskFull) => "the disk is full".to_string(),
            Some(ErrorCode::NotADatabase) => {
                "this is not a DriveDeck database (not an SQLite file)".to_string()
            }
            Some(ErrorCode::CannotOpen) => "the file cannot be opened".to_string(),
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
                "the database is busy (another DriveDeck is writing it?)".to_string()
            }
            _ => error.to_string(),
        };
        StoreError::File {
            path: path.display().to_string(),
            message,
        }
    }
}
