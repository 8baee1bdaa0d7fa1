//! The single writer: the only connection that writes, on its own thread.
//!
//! Everything that changes the store arrives as a [`Write`] on a channel. The thread
//! takes the first waiting write, gathers whatever else arrives within
//! [`BATCH_WINDOW`] (or until [`BATCH_MAX`] writes), applies them all in one transaction
//! and commits; only then does it publish the new committed cursor (the number of
//! samples on disk). A sample counted by that cursor has been committed.
//!
//! Samples go to chunks ([`crate::chunk`]): each channel keeps its open chunk in
//! memory. Every commit writes the samples that arrived since the last one as a small
//! *fragment* row (so they are on disk and readable at once); when the open chunk
//! reaches [`CHUNK`] samples, one sealed row replaces its fragments in the same
//! transaction. Rollups (min/max per 32, 256, 2,048 and 16,384 samples) are projections kept
//! the same way: complete rows are written as they fill, the open part is written when
//! the session stops. After a crash, [`Store::open`] repairs what the last run left
//! open: fragments become a chunk, missing rollups are rebuilt from the samples.
//!
//! Other projections kept here: `channels` (created on a drive's first sample, with its
//! sample count), `jobs` (the journal, one row per job, updated through its lifecycle),
//! `link_events` (ups and downs: the gaps), `drive_state` (each drive's last status and
//! last sample), `session_drives` (what a session used), `faults` (raised and cleared),
//! `snapshots` (parameter values around writes, backups, restores), and `tuning_runs`
//! with each run's readings as channels (see [`crate::runs`]: a run starting with no
//! session open gets an automatic one, for the length of the run).
//!
//! A failed commit (disk full, file made read-only) rolls back whole: what was
//! committed before is intact. The writer then stops recording — later writes are
//! dropped and counted — and says why through [`StoreWriter::failure`]; starting a new
//! session tries again.

use crate::chunk::{self, CHUNK, ROLLUP_LEVELS, ROLLUP_ROW, ROLLUP_SPAN, Summary};
use crate::runs::{self, RunProjection};
use crate::{SessionId, StoreError, schema};
use drivedeck_domain::{
    DriveRef, DriveStatus, Event, JobState, LinkId, Micros, ParamSnapshot, TelemetrySample,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the writer gathers writes into one transaction.
pub const BATCH_WINDOW: Duration = Duration::from_millis(5);
/// The most writes in one transaction.
pub const BATCH_MAX: usize = 4096;
/// The most telemetry samples (drive readings) in one transaction: keeps the WAL and
/// the page cache small when a backlog is drained.
pub const BATCH_MAX_SAMPLES: usize = 100_000;

/// The channels recorded for every drive: (name, unit).
pub const DRIVE_CHANNELS: [(&str, &str); 3] =
    [("position", "rad"), ("velocity", "rad/s"), ("current", "A")];

enum Write {
    Event(Event),
    StartSession {
        name: String,
        notes: String,
        at: Micros,
        reply: mpsc::SyncSender<Result<SessionId, String>>,
    },
    StopSession {
        at: Micros,
    },
    SetNotes {
        session: SessionId,
        name: Option<String>,
        notes: String,
        reply: mpsc::SyncSender<Result<(), String>>,
    },
    SetRunResults {
        run: i64,
        results: String,
        at: Micros,
        reply: mpsc::SyncSender<Result<(), StoreError>>,
    },
    Flush(mpsc::SyncSender<Result<(), String>>),
    Shutdown,
}

/// The store: its file, its writer thread, its committed cursor.
pub struct Store {
    path: PathBuf,
    writer: StoreWriter,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// A cheap handle that sends writes to the writer thread.
#[derive(Clone)]
pub struct StoreWriter {
    tx: mpsc::Sender<Write>,
    committed: Arc<AtomicI64>,
    dropped: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<String>>>,
}

/// How a store is opened.
#[derive(Clone, Debug, Default)]
pub struct StoreOptions {
    /// A cap on the database file's size: when a commit would grow the file past it,
    /// recording stops as it would on a full disk (for small disks, and for tests of
    /// exactly that).
    pub max_bytes: Option<u64>,
}

/// Opens the file for writing with the store's settings, and migrates it.
pub(crate) fn open_connection(
    path: &Path,
    options: &StoreOptions,
) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    // SQLite quietly falls back to read-only when the file cannot be written; the
    // store must be told at once, not at the first commit.
    if conn.is_readonly(rusqlite::MAIN_DB)? {
        return Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
            None,
        )));
    }
    conn.busy_timeout(Duration::from_secs(5))?;
    if let Some(max) = options.max_bytes {
        let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pages = (max / page.max(512) as u64).max(1) as i64;
        // Returns the new maximum as a row.
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode: a commit survives a crash of the app (the OS has the pages);
    // only a power loss can roll back the last transactions.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    schema::migrate(&mut conn, &path.display().to_string())?;
    Ok(conn)
}

impl Store {
    /// Opens (creating and upgrading as needed) the store at `path`, repairs what a
    /// crashed run left open, and starts the writer.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with(path, StoreOptions::default())
    }

    /// [`Store::open`] with options.
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Io {
                path: parent.display().to_string(),
                error: e.to_string(),
            })?;
        }
        let mut conn = open_connection(&path, &options).map_err(|e| e.in_file(&path))?;
        repair(&mut conn).map_err(|e| e.in_file(&path))?;
        let committed: i64 =
            conn.query_row("SELECT coalesce(sum(samples), 0) FROM channels", [], |r| {
                r.get(0)
            })?;
        let committed = Arc::new(AtomicI64::new(committed));
        let failure = Arc::new(Mutex::new(None));
        let dropped = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::channel();
        let mut thread_state = WriterThread {
            path: path.clone(),
            conn,
            rx,
            committed: Arc::clone(&committed),
            dropped: Arc::clone(&dropped),
            failure: Arc::clone(&failure),
            failed: false,
            session: None,
            automatic: None,
            projection: Projection::default(),
        };
        let thread = std::thread::Builder::new()
            .name("store writer".into())
            .spawn(move || thread_state.run())
            .map_err(|e| StoreError::WriterGone(e.to_string()))?;
        Ok(Store {
            path,
            writer: StoreWriter {
                tx,
                committed,
                dropped,
                failure,
            },
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A handle for sending writes.
    pub fn writer(&self) -> StoreWriter {
        self.writer.clone()
    }

    /// A new read-only connection.
    pub fn reader(&self) -> Result<crate::Reader, StoreError> {
        crate::Reader::open(&self.path)
    }

    /// The ID the next job should take (one past the journal's highest).
    pub fn next_job_id(&self) -> Result<u64, StoreError> {
        let reader = self.reader()?;
        Ok(reader.max_job_id()? as u64 + 1)
    }

    /// Commits everything sent so far (closing the open session's chunks and rollups),
    /// stops the writer thread and waits for it.
    pub fn close(&self) {
        let _ = self.writer.tx.send(Write::Shutdown);
        if let Some(thread) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

impl StoreWriter {
    /// Queues an event for the next batch. Never blocks.
    pub fn apply(&self, event: Event) {
        let _ = self.tx.send(Write::Event(event));
    }

    /// Starts a session (stopping the current one); later events belong to it. After a
    /// failure this tries the file again.
    pub fn start_session(
        &self,
        name: &str,
        notes: &str,
        at: Micros,
    ) -> Result<SessionId, StoreError> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.tx
            .send(Write::StartSession {
                name: name.to_string(),
                notes: notes.to_string(),
                at,
                reply,
            })
            .map_err(|_| self.gone())?;
        rx.recv()
            .map_err(|_| self.gone())?
            .map_err(StoreError::WriterGone)
    }

    /// Stops the current session: its open chunks and rollups are written out.
    pub fn stop_session(&self, at: Micros) {
        let _ = self.tx.send(Write::StopSession { at });
    }

    /// Changes a session's notes (and its name, when given).
    pub fn set_notes(
        &self,
        session: SessionId,
        name: Option<&str>,
        notes: &str,
    ) -> Result<(), StoreError> {
        if let Some(name) = name
            && name.trim().is_empty()
        {
            return Err(StoreError::Invalid("a session needs a name".into()));
        }
        let (reply, rx) = mpsc::sync_channel(1);
        self.tx
            .send(Write::SetNotes {
                session,
                name: name.map(str::to_string),
                notes: notes.to_string(),
                reply,
            })
            .map_err(|_| self.gone())?;
        rx.recv()
            .map_err(|_| self.gone())?
            .map_err(StoreError::Invalid)
    }

    /// Keeps the analysis of tuning run `run` (its results as JSON, computed at `at`),
    /// replacing an earlier one. Like notes, this is written outside the batches, on
    /// the writer's connection, after every event sent before it has been committed
    /// (so a run that just ended is there to take them).
    pub fn set_run_results(&self, run: i64, results: String, at: Micros) -> Result<(), StoreError> {
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&results) {
            return Err(StoreError::Invalid(format!(
                "the results of run {run} are not JSON: {e}"
            )));
        }
        let (reply, rx) = mpsc::sync_channel(1);
        self.tx
            .send(Write::SetRunResults {
                run,
                results,
                at,
                reply,
            })
            .map_err(|_| self.gone())?;
        rx.recv().map_err(|_| self.gone())?
    }

    /// Waits until every write sent before this call is committed; an error when the
    /// writer has failed (the writes were not recorded).
    pub fn flush(&self) -> Result<(), StoreError> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.tx.send(Write::Flush(reply)).map_err(|_| self.gone())?;
        rx.recv()
            .map_err(|_| self.gone())?
            .map_err(StoreError::WriterGone)
    }

    /// How many samples are on disk: every sample counted here has been committed.
    pub fn committed(&self) -> i64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Writes dropped because the writer had failed.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The writer's last failure, if it failed (disk full, file read-only…).
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn gone(&self) -> StoreError {
        StoreError::WriterGone(self.failure().unwrap_or_else(|| "closed".into()))
    }
}

/// A rollup level being built: the entry in progress and the complete entries not yet
/// in a sealed row.
#[derive(Debug)]
struct RollupLevel {
    level: i64,
    span: u64,
    row: usize,
    current: Option<Summary>,
    current_len: u64,
    entries: Vec<Summary>,
    /// Sample index of `entries[0]`.
    idx0: u64,
}

impl RollupLevel {
    fn new(index: usize, idx0: u64) -> RollupLevel {
        RollupLevel {
            level: index as i64 + 1,
            span: ROLLUP_SPAN[index],
            row: ROLLUP_ROW[index],
            current: None,
            current_len: 0,
            entries: Vec::new(),
            idx0,
        }
    }

    fn push(&mut self, t: i64, v: f32) {
        let one = Summary::of(t, v);
        match &mut self.current {
            // NaN never becomes a min or max: a summary of NaNs keeps +inf/-inf.
            Some(s) if v.is_nan() => s.t_last = t,
            Some(s) => s.absorb(&one),
            None if v.is_nan() => {
                self.current = Some(Summary {
                    min: f32::INFINITY,
                    max: f32::NEG_INFINITY,
                    count: 0,
                    ..one
                })
            }
            None => self.current = Some(one),
        }
        self.current_len += 1;
        if self.current_len == self.span
            && let Some(done) = self.current.take()
        {
            self.entries.push(done);
            self.current_len = 0;
        }
    }

    /// Writes full rows; with `all`, the rest too (the entry in progress included).
    fn write(
        &mut self,
        tx: &Transaction<'_>,
        channel: i64,
        next_idx: u64,
        all: bool,
    ) -> Result<(), StoreError> {
        while self.entries.len() >= self.row {
            let rest = self.entries.split_off(self.row);
            let idx1 = self.idx0 + self.row as u64 * self.span;
            insert_summaries(tx, channel, self.level, self.idx0, idx1, &self.entries)?;
            self.entries = rest;
            self.idx0 = idx1;
        }
        if all {
            if let Some(partial) = self.current.take() {
                self.entries.push(partial);
                self.current_len = 0;
            }
            if !self.entries.is_empty() {
                insert_summaries(tx, channel, self.level, self.idx0, next_idx, &self.entries)?;
                self.entries.clear();
                self.idx0 = next_idx;
            }
        }
        Ok(())
    }
}

fn insert_summaries(
    tx: &Transaction<'_>,
    channel: i64,
    level: i64,
    idx0: u64,
    idx1: u64,
    entries: &[Summary],
) -> Result<(), StoreError> {
    let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
        return Ok(());
    };
    let (vmin, vmax) = entries
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |a, e| {
            (a.0.min(e.min), a.1.max(e.max))
        });
    let mut stmt = tx.prepare_cached(
        "INSERT INTO chunks (channel_id, level, idx0, idx1, n, t0_us, t1_us, vmin, vmax, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    stmt.execute(params![
        channel,
        level,
        idx0 as i64,
        idx1 as i64,
        entries.len() as i64,
        first.t_first,
        last.t_last,
        finite_or_zero(vmin),
        finite_or_zero(vmax),
        chunk::encode_summaries(entries)
    ])?;
    Ok(())
}

/// SQLite stores NaN as NULL; the bounds columns hold a number, always.
fn finite_or_zero(v: f32) -> f64 {
    if v.is_finite() { f64::from(v) } else { 0.0 }
}

/// One channel's samples on their way to disk: the open chunk (with how much of it is
/// already on disk as fragments) and the rollup levels.
#[derive(Debug)]
pub(crate) struct ChannelSeries {
    id: i64,
    next_idx: u64,
    last_t: i64,
    open_idx0: u64,
    open_t: Vec<i64>,
    open_v: Vec<f32>,
    persisted: usize,
    rollups: [RollupLevel; ROLLUP_LEVELS],
}

impl ChannelSeries {
    /// A series for channel `id` whose next sample has index `next_idx`.
    pub(crate) fn new(id: i64, next_idx: u64, last_t: i64) -> ChannelSeries {
        ChannelSeries {
            id,
            next_idx,
            last_t,
            open_idx0: next_idx,
            open_t: Vec::with_capacity(CHUNK),
            open_v: Vec::with_capacity(CHUNK),
            persisted: 0,
            rollups: std::array::from_fn(|i| RollupLevel::new(i, next_idx)),
        }
    }

    /// Appends a sample. Times never go backwards within a channel (queries rely on
    /// it): a sample stamped before its predecessor takes the predecessor's time.
    pub(crate) fn push(&mut self, t: i64, v: f32) {
        let t = if t < self.last_t {
            log::warn!("channel {}: sample time went backwards", self.id);
            self.last_t
        } else {
            t
        };
        self.last_t = t;
        self.open_t.push(t);
        self.open_v.push(v);
        self.next_idx += 1;
        for level in &mut self.rollups {
            level.push(t, v);
        }
    }

    /// Writes what arrived since the last call: sealed chunks, a fragment, full rollup
    /// rows, and the channel's sample count.
    pub(crate) fn write(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        while self.open_t.len() >= CHUNK {
            let t: Vec<i64> = self.open_t.drain(..CHUNK).collect();
            let v: Vec<f32> = self.open_v.drain(..CHUNK).collect();
            delete_fragments(tx, self.id, self.open_idx0, self.open_idx0 + CHUNK as u64)?;
            insert_samples(tx, self.id, self.open_idx0, &t, &v)?;
            self.open_idx0 += CHUNK as u64;
            self.persisted = 0;
        }
        if self.open_t.len() > self.persisted {
            let from = self.persisted;
            insert_samples(
                tx,
                self.id,
                self.open_idx0 + from as u64,
                &self.open_t[from..],
                &self.open_v[from..],
            )?;
            self.persisted = self.open_t.len();
        }
        for level in &mut self.rollups {
            level.write(tx, self.id, self.next_idx, false)?;
        }
        tx.prepare_cached("UPDATE channels SET samples = ?2 WHERE id = ?1")?
            .execute(params![self.id, self.next_idx as i64])?;
        Ok(())
    }

    /// Writes everything: the open chunk as one row (replacing its fragments) and the
    /// open rollups. For a channel that gets no more samples (session stopped).
    pub(crate) fn finish(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        self.write(tx)?;
        if !self.open_t.is_empty() {
            let end = self.open_idx0 + self.open_t.len() as u64;
            delete_fragments(tx, self.id, self.open_idx0, end)?;
            insert_samples(tx, self.id, self.open_idx0, &self.open_t, &self.open_v)?;
            self.open_idx0 = end;
            self.open_t.clear();
            self.open_v.clear();
            self.persisted = 0;
        }
        for level in &mut self.rollups {
            level.write(tx, self.id, self.next_idx, true)?;
        }
        Ok(())
    }
}

fn delete_fragments(
    tx: &Transaction<'_>,
    channel: i64,
    from: u64,
    to: u64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "DELETE FROM chunks WHERE channel_id = ?1 AND level = 0 AND idx0 >= ?2 AND idx0 < ?3",
    )?
    .execute(params![channel, from as i64, to as i64])?;
    Ok(())
}

fn insert_samples(
    tx: &Transaction<'_>,
    channel: i64,
    idx0: u64,
    times: &[i64],
    values: &[f32],
) -> Result<(), StoreError> {
    let (Some(t0), Some(t1)) = (times.first(), times.last()) else {
        return Ok(());
    };
    let (vmin, vmax) = values
        .iter()
        .filter(|v| !v.is_nan())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |a, v| {
            (a.0.min(*v), a.1.max(*v))
        });
    tx.prepare_cached(
        "INSERT INTO chunks (channel_id, level, idx0, idx1, n, t0_us, t1_us, vmin, vmax, data)
         VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        channel,
        idx0 as i64,
        (idx0 + times.len() as u64) as i64,
        times.len() as i64,
        t0,
        t1,
        finite_or_zero(vmin),
        finite_or_zero(vmax),
        chunk::encode_samples(times, values)
    ])?;
    Ok(())
}

/// The fault each drive has raised and not cleared, and its row in `faults`.
type OpenFaults = HashMap<DriveRef, (String, i64)>;

/// What the writer keeps in memory for the current session.
#[derive(Default)]
struct Projection {
    /// Channel series per (link, drive), in [`DRIVE_CHANNELS`] order.
    drives: HashMap<(LinkId, u8), [ChannelSeries; 3]>,
    /// Drives with new samples since the last commit, and their latest sample.
    latest: HashMap<(LinkId, u8), TelemetrySample>,
    /// The last fault seen per drive, and its row.
    faults: OpenFaults,
    /// Port and protocol of each link's last LinkUp.
    links: HashMap<LinkId, (String, String)>,
    /// Tuning runs going on, and their channels in this session.
    runs: RunProjection,
}

/// SQLite errors are not `Clone`; the code and message are what a report needs.
fn clone_sqlite_error(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

struct WriterThread {
    path: PathBuf,
    conn: Connection,
    rx: mpsc::Receiver<Write>,
    committed: Arc<AtomicI64>,
    dropped: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<String>>>,
    failed: bool,
    session: Option<SessionId>,
    /// The session the writer opened for a run that started with none open, and that
    /// run's job: the session stops when the run ends.
    automatic: Option<(SessionId, i64)>,
    projection: Projection,
}

impl WriterThread {
    fn run(&mut self) {
        let mut batch = Vec::with_capacity(BATCH_MAX);
        loop {
            let Ok(first) = self.rx.recv() else {
                self.shut_down();
                return;
            };
            let weight = |w: &Write| match w {
                Write::Event(Event::Samples { samples }) => samples.len(),
                Write::Event(Event::TuneSamples { samples }) => samples.len(),
                _ => 0,
            };
            let mut samples = weight(&first);
            batch.push(first);
            let until = Instant::now() + BATCH_WINDOW;
            while batch.len() < BATCH_MAX && samples < BATCH_MAX_SAMPLES {
                let left = until.saturating_duration_since(Instant::now());
                match self.rx.recv_timeout(left) {
                    Ok(write) => {
                        samples += weight(&write);
                        batch.push(write);
                    }
                    Err(_) => break,
                }
            }
            let shutdown = batch.iter().any(|w| matches!(w, Write::Shutdown));
            self.commit(&mut batch);
            batch.clear();
            if shutdown {
                self.shut_down();
                return;
            }
        }
    }

    /// The store closes: the session's open chunks and rollups are written, and a run
    /// still going is aborted now (as a reopen would repair it), so readers of the
    /// closed file never see a run "running" that nothing is running.
    fn shut_down(&mut self) {
        self.close_session(None);
        if self.failed {
            return;
        }
        let result = (|| -> Result<(), StoreError> {
            let tx = self.conn.transaction()?;
            runs::repair(&tx)?;
            tx.commit()?;
            Ok(())
        })();
        if let Err(e) = result {
            self.fail(&e);
        }
    }

    fn fail(&mut self, e: &StoreError) {
        let e = match e {
            StoreError::Sqlite(inner) => {
                StoreError::Sqlite(clone_sqlite_error(inner)).in_file(&self.path)
            }
            _ => StoreError::Invalid(e.to_string()),
        };
        log::error!("store writer: {e}; recording stopped");
        self.failed = true;
        *self.failure.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(format!("{e}; recording stopped"));
    }

    fn commit(&mut self, batch: &mut Vec<Write>) {
        let mut flushes = Vec::new();
        let mut writes = Vec::with_capacity(batch.len());
        for write in batch.drain(..) {
            match write {
                Write::Flush(reply) => flushes.push(reply),
                Write::Shutdown => {}
                Write::StartSession {
                    name,
                    notes,
                    at,
                    reply,
                } => {
                    // A session boundary: commit what came before it on its own.
                    self.commit_events(&mut writes);
                    let result = self.start_session(&name, &notes, at);
                    let _ = reply.send(result.map_err(|e| e.to_string()));
                }
                Write::StopSession { at } => {
                    self.commit_events(&mut writes);
                    self.close_session(Some(at));
                }
                Write::SetNotes {
                    session,
                    name,
                    notes,
                    reply,
                } => {
                    let _ = reply.send(self.set_notes(session, name, &notes));
                }
                Write::SetRunResults {
                    run,
                    results,
                    at,
                    reply,
                } => {
                    // The run's row may be in this very batch.
                    self.commit_events(&mut writes);
                    let _ = reply.send(runs::set_results(&self.conn, run, &results, at));
                }
                Write::Event(Event::RunStarted { start })
                    if self.session.is_none() && !self.failed =>
                {
                    // A run is always kept: it gets a session of its own (see `runs`).
                    self.commit_events(&mut writes);
                    let name = runs::automatic_session_name(&start);
                    if let Ok(session) = self.start_session(&name, "", start.at) {
                        self.automatic = Some((session, start.job.0 as i64));
                    }
                    writes.push(Event::RunStarted { start });
                }
                Write::Event(Event::RunEnded { end }) => {
                    let at = end.at;
                    let closes = self
                        .automatic
                        .is_some_and(|(s, job)| job == end.job.0 as i64 && self.session == Some(s));
                    writes.push(Event::RunEnded { end });
                    if closes {
                        self.commit_events(&mut writes);
                        self.close_session(Some(at));
                    }
                }
                Write::Event(event) => writes.push(event),
            }
        }
        self.commit_events(&mut writes);
        let status = match self.failure() {
            Some(f) if self.failed => Err(f),
            _ => Ok(()),
        };
        for reply in flushes {
            let _ = reply.send(status.clone());
        }
    }

    fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn commit_events(&mut self, events: &mut Vec<Event>) {
        if events.is_empty() {
            return;
        }
        if self.failed {
            self.dropped
                .fetch_add(events.len() as u64, Ordering::Relaxed);
            events.clear();
            return;
        }
        let result = (|| -> Result<i64, StoreError> {
            let tx = self.conn.transaction()?;
            let mut added = 0i64;
            for event in events.drain(..) {
                added += apply_event(&tx, self.session, &mut self.projection, event)?;
            }
            write_samples(&tx, &mut self.projection)?;
            tx.commit()?;
            Ok(added)
        })();
        events.clear();
        match result {
            Ok(added) => {
                self.committed.fetch_add(added, Ordering::AcqRel);
            }
            Err(e) => self.fail(&e),
        }
    }

    fn start_session(&mut self, name: &str, notes: &str, at: Micros) -> Result<SessionId, String> {
        if name.trim().is_empty() {
            return Err("a session needs a name".into());
        }
        let previous = self.session;
        self.close_session(Some(at));
        if self.failed {
            // Try the file again: a new session starts with nothing in memory.
            self.failed = false;
            *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        let result = (|| -> Result<(SessionId, OpenFaults), StoreError> {
            let tx = self.conn.transaction()?;
            tx.execute(
                "INSERT INTO sessions (name, notes, started_us) VALUES (?1, ?2, ?3)",
                params![name, notes, at],
            )?;
            let id = tx.last_insert_rowid();
            let faults = match previous {
                Some(previous) => carry_over(&tx, previous, id, at)?,
                None => HashMap::new(),
            };
            tx.commit()?;
            Ok((id, faults))
        })();
        match result {
            Ok((id, faults)) => {
                self.session = Some(id);
                self.projection = Projection {
                    links: std::mem::take(&mut self.projection.links),
                    runs: self.projection.runs.for_new_session(),
                    faults,
                    ..Projection::default()
                };
                Ok(id)
            }
            Err(e) => {
                self.fail(&e);
                Err(e.to_string())
            }
        }
    }

    /// Writes out the session's open chunks and rollups and marks it stopped.
    fn close_session(&mut self, at: Option<Micros>) {
        self.automatic = None;
        let Some(session) = self.session.take() else {
            return;
        };
        if self.failed {
            self.projection.runs.clear_series();
            return;
        }
        let result = (|| -> Result<(), StoreError> {
            let tx = self.conn.transaction()?;
            write_samples(&tx, &mut self.projection)?;
            for series in self.projection.drives.values_mut() {
                for channel in series.iter_mut() {
                    channel.finish(&tx)?;
                }
            }
            self.projection.runs.finish(&tx)?;
            let stopped = match at {
                Some(at) => at,
                None => last_time(&tx, session)?,
            };
            tx.execute(
                "UPDATE sessions SET stopped_us = ?1 WHERE id = ?2 AND stopped_us IS NULL",
                params![stopped, session],
            )?;
            tx.commit()?;
            Ok(())
        })();
        self.projection.drives.clear();
        self.projection.runs.clear_series();
        if let Err(e) = result {
            self.fail(&e);
        }
    }

    fn set_notes(
        &mut self,
        session: SessionId,
        name: Option<String>,
        notes: &str,
    ) -> Result<(), String> {
        let changed = self
            .conn
            .execute(
                "UPDATE sessions SET name = coalesce(?2, name), notes = ?3 WHERE id = ?1",
                params![session, name, notes],
            )
            .map_err(|e| e.to_string())?;
        if changed == 0 {
            return Err(format!("session {session} not found"));
        }
        Ok(())
    }
}

/// The time of a session's last record: its last sample, or its start.
fn last_time(tx: &Transaction<'_>, session: SessionId) -> Result<Micros, StoreError> {
    Ok(tx.query_row(
        "SELECT max(coalesce((SELECT max(c.t1_us) FROM chunks c JOIN channels ch ON ch.id = c.channel_id
                              WHERE ch.session_id = ?1 AND c.level = 0), 0), started_us)
         FROM sessions WHERE id = ?1",
        [session],
        |r| r.get(0),
    )?)
}

fn write_samples(tx: &Transaction<'_>, projection: &mut Projection) -> Result<(), StoreError> {
    let mut latest = tx.prepare_cached(
        "UPDATE drive_state SET position = ?4, velocity = ?5, current = ?6, sample_us = ?7
         WHERE session_id = (SELECT session_id FROM channels WHERE id = ?1)
           AND link = ?2 AND drive_id = ?3",
    )?;
    for (key, sample) in projection.latest.drain() {
        let Some(series) = projection.drives.get_mut(&key) else {
            continue;
        };
        for channel in series.iter_mut() {
            channel.write(tx)?;
        }
        latest.execute(params![
            series[0].id,
            key.0,
            key.1,
            sample.position,
            sample.velocity,
            sample.current,
            sample.t_us
        ])?;
    }
    projection.runs.write(tx)?;
    Ok(())
}

/// Applies one event; returns how many samples it added.
fn apply_event(
    tx: &Transaction<'_>,
    session: Option<SessionId>,
    projection: &mut Projection,
    event: Event,
) -> Result<i64, StoreError> {
    match event {
        Event::Samples { samples } => {
            let Some(session) = session else {
                return Ok(0);
            };
            for sample in &samples {
                let key = (sample.drive.link, sample.drive.id);
                let series = match projection.drives.entry(key) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(drive_series(tx, session, sample.drive)?)
                    }
                };
                let values = [sample.position, sample.velocity, sample.current];
                for (channel, value) in series.iter_mut().zip(values) {
                    channel.push(sample.t_us, value as f32);
                }
                projection.latest.insert(key, *sample);
            }
            Ok(samples.len() as i64 * DRIVE_CHANNELS.len() as i64)
        }
        Event::JobQueued {
            job,
            command,
            priority,
            deadline,
            at,
        } => {
            tx.execute(
                "INSERT INTO jobs (id, session_id, command, link, drive_id, detail, state, queued_us,
                                   priority, deadline_us, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?9, ?10)",
                params![
                    job.0 as i64,
                    session,
                    command.name(),
                    command.link(),
                    command.drive().map(|d| d.id),
                    serde_json::to_string(&command).unwrap_or_default(),
                    at,
                    priority.name(),
                    deadline,
                    command.reason()
                ],
            )?;
            Ok(0)
        }
        Event::JobChanged { job, state, at } => {
            let (sent, finished) = match &state {
                JobState::Sent => (Some(at), None),
                s if s.is_terminal() => (None, Some(at)),
                _ => (None, None),
            };
            // A job that carries its own reason (a safe stop's) keeps it; an outcome's
            // reason (why it failed) follows it.
            tx.execute(
                "UPDATE jobs SET state = ?2,
                        reason = CASE WHEN ?3 IS NULL THEN reason
                                      WHEN reason IS NULL THEN ?3
                                      ELSE reason || ' — ' || ?3 END,
                        sent_us = coalesce(?4, sent_us), finished_us = coalesce(?5, finished_us)
                 WHERE id = ?1 AND finished_us IS NULL",
                params![job.0 as i64, state.name(), state.reason(), sent, finished],
            )?;
            Ok(0)
        }
        Event::LinkUp {
            link,
            port,
            protocol,
            baud,
            at,
        } => {
            tx.execute(
                "INSERT INTO link_events (session_id, link, kind, detail, at_us) VALUES (?1, ?2, 'up', ?3, ?4)",
                params![session, link, format!("{port} {protocol} {baud}"), at],
            )?;
            projection.links.insert(link, (port, protocol));
            Ok(0)
        }
        Event::LinkDown { link, reason, at } => {
            tx.execute(
                "INSERT INTO link_events (session_id, link, kind, detail, at_us) VALUES (?1, ?2, 'down', ?3, ?4)",
                params![session, link, reason, at],
            )?;
            Ok(0)
        }
        Event::DriveChanged { status, at } => {
            let Some(session) = session else {
                return Ok(0);
            };
            drive_changed(tx, session, projection, &status, at)?;
            Ok(0)
        }
        Event::ParamSnapshot { snapshot } => {
            insert_snapshot(tx, session, &snapshot)?;
            Ok(0)
        }
        Event::RunStarted { start } => runs::run_started(tx, session, &mut projection.runs, &start),
        Event::TuneSamples { samples } => {
            runs::tune_samples(tx, session, &mut projection.runs, &samples)
        }
        Event::RunEnded { end } => runs::run_ended(tx, &mut projection.runs, &end),
        Event::DriveReaddressed { link, from, to, at } => {
            // The drive's live state moves to its new ID (the DriveChanged under `to`
            // follows); its samples, session entry and journal under `from` stay.
            let old = DriveRef { link, id: from };
            projection.latest.remove(&(link, from));
            if let Some((_, row)) = projection.faults.remove(&old) {
                tx.execute(
                    "UPDATE faults SET cleared_us = ?2 WHERE id = ?1",
                    params![row, at],
                )?;
            }
            if let Some(session) = session {
                tx.execute(
                    "DELETE FROM drive_state WHERE session_id = ?1 AND link = ?2 AND drive_id = ?3",
                    params![session, link, from],
                )?;
            }
            log::info!("link {link}: drive {from} is now drive {to}");
            Ok(0)
        }
    }
}

/// A new session starts where the last one left off: the bus reports a drive's state
/// only when it changes, so the drives (their last state, what they are, and any fault
/// still raised) are copied from `previous` into `session` as of `at`. Returns the
/// faults carried over, for the projection.
fn carry_over(
    tx: &Transaction<'_>,
    previous: SessionId,
    session: SessionId,
    at: Micros,
) -> Result<OpenFaults, StoreError> {
    tx.execute(
        "INSERT INTO drive_state (session_id, link, drive_id, status, changed_us)
         SELECT ?2, link, drive_id, status, ?3 FROM drive_state
         WHERE session_id = ?1 AND status IS NOT NULL",
        params![previous, session, at],
    )?;
    tx.execute(
        "INSERT INTO session_drives (session_id, link, drive_id, model, port, protocol)
         SELECT ?2, link, drive_id, model, port, protocol FROM session_drives
         WHERE session_id = ?1",
        params![previous, session],
    )?;
    tx.execute(
        "INSERT INTO faults (session_id, link, drive_id, text, raised_us)
         SELECT ?2, link, drive_id, text, ?3 FROM faults
         WHERE session_id = ?1 AND cleared_us IS NULL",
        params![previous, session, at],
    )?;
    let mut stmt =
        tx.prepare("SELECT id, link, drive_id, text FROM faults WHERE session_id = ?1")?;
    let rows = stmt.query_map([session], |r| {
        Ok((
            DriveRef {
                link: r.get(1)?,
                id: r.get(2)?,
            },
            (r.get::<_, String>(3)?, r.get::<_, i64>(0)?),
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn drive_changed(
    tx: &Transaction<'_>,
    session: SessionId,
    projection: &mut Projection,
    status: &DriveStatus,
    at: Micros,
) -> Result<(), StoreError> {
    let drive = status.drive;
    tx.execute(
        "INSERT INTO drive_state (session_id, link, drive_id, status, changed_us)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (session_id, link, drive_id)
         DO UPDATE SET status = excluded.status, changed_us = excluded.changed_us",
        params![
            session,
            drive.link,
            drive.id,
            serde_json::to_string(status).unwrap_or_default(),
            at
        ],
    )?;
    let (port, protocol) = projection
        .links
        .get(&drive.link)
        .cloned()
        .unwrap_or_default();
    tx.execute(
        "INSERT INTO session_drives (session_id, link, drive_id, model, port, protocol)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (session_id, link, drive_id) DO UPDATE SET model = excluded.model,
            port = CASE WHEN excluded.port = '' THEN port ELSE excluded.port END,
            protocol = CASE WHEN excluded.protocol = '' THEN protocol ELSE excluded.protocol END",
        params![session, drive.link, drive.id, status.model, port, protocol],
    )?;
    let previous = projection.faults.get(&drive).cloned();
    if previous.as_ref().map(|p| &p.0) != status.fault.as_ref() {
        if let Some((_, row)) = previous {
            tx.execute(
                "UPDATE faults SET cleared_us = ?2 WHERE id = ?1",
                params![row, at],
            )?;
            projection.faults.remove(&drive);
        }
        if let Some(text) = &status.fault {
            tx.execute(
                "INSERT INTO faults (session_id, link, drive_id, text, raised_us) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![session, drive.link, drive.id, text, at],
            )?;
            projection
                .faults
                .insert(drive, (text.clone(), tx.last_insert_rowid()));
        }
    }
    Ok(())
}

fn insert_snapshot(
    tx: &Transaction<'_>,
    session: Option<SessionId>,
    snapshot: &ParamSnapshot,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO snapshots (session_id, link, drive_id, model, kind, job_id, label, at_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            session,
            snapshot.drive.link,
            snapshot.drive.id,
            snapshot.model,
            snapshot.kind.name(),
            snapshot.job.map(|j| j.0 as i64),
            snapshot.label,
            snapshot.at
        ],
    )?;
    let id = tx.last_insert_rowid();
    let mut stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO snapshot_values (snapshot_id, register, raw, value, unit)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for value in &snapshot.values {
        stmt.execute(params![
            id,
            value.register,
            value.raw,
            value.value,
            value.unit
        ])?;
    }
    Ok(())
}

/// The series of a drive's channel `name` in a session: the channel is created (with
/// `unit`) if the session does not have it, else continued where it ended.
pub(crate) fn channel_series(
    tx: &Transaction<'_>,
    session: SessionId,
    drive: DriveRef,
    name: &str,
    unit: &str,
) -> Result<ChannelSeries, StoreError> {
    let existing: Option<(i64, i64)> = tx
        .query_row(
            "SELECT id, samples FROM channels
             WHERE session_id = ?1 AND link = ?2 AND drive_id = ?3 AND name = ?4",
            params![session, drive.link, drive.id, name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (id, samples) = match existing {
        Some(found) => found,
        None => {
            tx.execute(
                "INSERT INTO channels (session_id, link, drive_id, name, unit) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![session, drive.link, drive.id, name, unit],
            )?;
            (tx.last_insert_rowid(), 0)
        }
    };
    Ok(ChannelSeries::new(id, samples as u64, i64::MIN))
}

/// The three channel series of a drive in a session, created on its first sample.
fn drive_series(
    tx: &Transaction<'_>,
    session: SessionId,
    drive: DriveRef,
) -> Result<[ChannelSeries; 3], StoreError> {
    let make = |(name, unit): (&str, &str)| channel_series(tx, session, drive, name, unit);
    tx.execute(
        "INSERT INTO drive_state (session_id, link, drive_id) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
        params![session, drive.link, drive.id],
    )?;
    Ok([
        make(DRIVE_CHANNELS[0])?,
        make(DRIVE_CHANNELS[1])?,
        make(DRIVE_CHANNELS[2])?,
    ])
}

/// Finishes what a crashed run left open: sessions never stopped get their chunks
/// sealed, their rollups rebuilt from the samples, and a stop time (their last sample);
/// tuning runs still running are aborted ([`runs::repair`]).
fn repair(conn: &mut Connection) -> Result<(), StoreError> {
    let open: Vec<SessionId> = {
        let mut stmt = conn.prepare("SELECT id FROM sessions WHERE stopped_us IS NULL")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    let running: i64 = conn.query_row(
        "SELECT count(*) FROM tuning_runs WHERE state = 'running'",
        [],
        |r| r.get(0),
    )?;
    if open.is_empty() && running == 0 {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for session in open {
        let channels: Vec<i64> = {
            let mut stmt = tx.prepare("SELECT id FROM channels WHERE session_id = ?1")?;
            stmt.query_map([session], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        for channel in channels {
            repair_channel(&tx, channel)?;
        }
        let stopped = last_time(&tx, session)?;
        tx.execute(
            "UPDATE sessions SET stopped_us = ?2 WHERE id = ?1",
            params![session, stopped],
        )?;
        log::info!("store: session {session} was left open by a crash; closed and repaired");
    }
    runs::repair(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Rebuilds a channel's open chunk and rollups from what is on disk.
fn repair_channel(tx: &Transaction<'_>, channel: i64) -> Result<(), StoreError> {
    // Where each rollup level's sealed rows end, and where the samples end.
    let coverage = |level: i64| -> Result<u64, StoreError> {
        let end: i64 = tx.query_row(
            "SELECT coalesce(max(idx1), 0) FROM chunks WHERE channel_id = ?1 AND level = ?2",
            params![channel, level],
            |r| r.get(0),
        )?;
        Ok(end as u64)
    };
    let samples_end = coverage(0)?;
    let mut covered = [0u64; ROLLUP_LEVELS];
    for (i, end) in covered.iter_mut().enumerate() {
        *end = coverage(i as i64 + 1)?;
    }
    let from = covered.iter().copied().min().unwrap_or(0);
    // Every sample from the first one a rollup lacks, oldest first.
    let rows: Vec<(i64, i64, Vec<u8>)> = {
        let mut stmt = tx.prepare(
            "SELECT idx0, t0_us, data FROM chunks
             WHERE channel_id = ?1 AND level = 0 AND idx1 > ?2 ORDER BY idx0",
        )?;
        stmt.query_map(params![channel, from as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?
    };
    // Rebuild through a series that starts at `from`; levels already covered further
    // skip the samples they have.
    let mut level_series: [RollupLevel; ROLLUP_LEVELS] =
        std::array::from_fn(|i| RollupLevel::new(i, covered[i]));
    let mut fragments: (u64, Vec<i64>, Vec<f32>) = (0, Vec::new(), Vec::new());
    for (idx0, t0, data) in rows {
        let (times, values) = chunk::decode_samples(&data, t0)?;
        let sealed = times.len() == CHUNK;
        for (k, (t, v)) in times.iter().zip(&values).enumerate() {
            let idx = idx0 as u64 + k as u64;
            if idx < from {
                continue;
            }
            for (i, level) in level_series.iter_mut().enumerate() {
                if idx >= covered[i] {
                    level.push(*t, *v);
                }
            }
        }
        if !sealed {
            if fragments.1.is_empty() {
                fragments.0 = idx0 as u64;
            }
            fragments.1.extend(times);
            fragments.2.extend(values);
        }
    }
    // Fragments (and short chunks) after the last full one become one chunk.
    if !fragments.1.is_empty() {
        delete_fragments(tx, channel, fragments.0, samples_end)?;
        insert_samples(tx, channel, fragments.0, &fragments.1, &fragments.2)?;
    }
    for level in &mut level_series {
        level.write(tx, channel, samples_end, true)?;
    }
    tx.execute(
        "UPDATE channels SET samples = ?2 WHERE id = ?1",
        params![channel, samples_end as i64],
    )?;
    Ok(())
}
