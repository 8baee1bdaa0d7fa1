//! DriveDeck's read side: a SQLite query store fed by the bus's events.
//!
//! One writer thread owns the only write connection and applies events in batched
//! transactions; after each commit it publishes the highest committed sample sequence
//! (the cursor live charts tail by). Readers open their own read-only connections and
//! never block the writer (WAL).
//!
//! - [`schema`]: the tables and the versioned migrations.
//! - [`writer`]: the single writer: batching, projections, the committed cursor.
//! - [`reader`]: queries: sessions, channels, tail by cursor, job journal, drives.
//! - [`tail`]: the binary form of a tail batch sent to charts (typed arrays, not JSON).

pub mod reader;
pub mod schema;
pub mod tail;
pub mod writer;

pub use reader::{ChannelRow, DriveRow, JobRow, Reader, SessionRow};
pub use tail::{Series, TailBatch};
pub use writer::{Store, StoreWriter};

/// A session's ID (its row in `sessions`).
pub type SessionId = i64;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
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
    /// The writer thread is gone (the store was closed or failed).
    #[error("the store's writer has stopped: {0}")]
    WriterGone(String),
    /// Something that is not in the store.
    #[error("{0} not found")]
    NotFound(String),
}
