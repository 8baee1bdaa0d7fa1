//! The single writer: the only connection that writes, on its own thread.
//!
//! Everything that changes the store arrives as a [`Write`] on a channel. The thread
//! takes the first waiting write, gathers whatever else arrives within
//! [`BATCH_WINDOW`] (or until [`BATCH_MAX`] writes), applies them all in one transaction
//! and commits; only then does it publish the new committed cursor (the highest sample
//! `seq` on disk). A sample at or below that cursor has been committed.
//!
//! Projections kept here: `channels` (created on a drive's first sample), `jobs` (the
//! journal, one row per job, updated through its lifecycle), `link_events`, and
//! `drive_state` (each drive's last status and last sample).

use crate::{SessionId, StoreError, schema};
use drivedeck_domain::{Event, JobState, Micros, TelemetrySample};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the writer gathers writes into one transaction.
pub const BATCH_WINDOW: Duration = Duration::from_millis(5);
/// The most writes in one transaction.
pub const BATCH_MAX: usize = 4096;

/// The channels recorded for every drive: (name, unit).
pub const DRIVE_CHANNELS: [(&str, &str); 3] =
    [("position", "rad"), ("velocity", "rad/s"), ("current", "A")];

enum Write {
    Event(Event),
    StartSession {
        name: String,
        at: Micros,
        reply: mpsc::SyncSender<Result<SessionId, String>>,
    },
    StopSession {
        at: Micros,
    },
    Flush(mpsc::SyncSender<()>),
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
    failure: Arc<Mutex<Option<String>>>,
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode: a commit survives a crash of the app (the OS has the pages);
    // only a power loss can roll back the last transactions.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(Duration::from_secs(5))?;
    schema::migrate(&mut conn, &path.display().to_string())?;
    Ok(conn)
}

impl Store {
    /// Opens (creating and upgrading as needed) the store at `path` and starts its writer.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::WriterGone(format!("{}: {e}", parent.display())))?;
        }
        let conn = open_connection(&path)?;
        let committed: i64 =
            conn.query_row("SELECT coalesce(max(seq), 0) FROM samples", [], |r| {
                r.get(0)
            })?;
        let committed = Arc::new(AtomicI64::new(committed));
        let failure = Arc::new(Mutex::new(None));
        let (tx, rx) = mpsc::channel();
        let mut thread_state = WriterThread {
            conn,
            rx,
            committed: Arc::clone(&committed),
            failure: Arc::clone(&failure),
            session: None,
            channels: HashMap::new(),
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
        let conn = Connection::open(&self.path)?;
        let max: i64 = conn.query_row("SELECT coalesce(max(id), 0) FROM jobs", [], |r| r.get(0))?;
        Ok(max as u64 + 1)
    }

    /// Commits everything sent so far, stops the writer thread and waits for it.
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

    /// Starts a session (stopping the current one); later events belong to it.
    pub fn start_session(&self, name: &str, at: Micros) -> Result<SessionId, StoreError> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.tx
            .send(Write::StartSession {
                name: name.to_string(),
                at,
                reply,
            })
            .map_err(|_| self.gone())?;
        rx.recv()
            .map_err(|_| self.gone())?
            .map_err(StoreError::WriterGone)
    }

    /// Stops the current session.
    pub fn stop_session(&self, at: Micros) {
        let _ = self.tx.send(Write::StopSession { at });
    }

    /// Waits until every write sent before this call is committed.
    pub fn flush(&self) -> Result<(), StoreError> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.tx.send(Write::Flush(reply)).map_err(|_| self.gone())?;
        rx.recv().map_err(|_| self.gone())
    }

    /// The highest sample sequence known committed.
    pub fn committed(&self) -> i64 {
        self.committed.load(Ordering::Acquire)
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

struct WriterThread {
    conn: Connection,
    rx: mpsc::Receiver<Write>,
    committed: Arc<AtomicI64>,
    failure: Arc<Mutex<Option<String>>>,
    session: Option<SessionId>,
    channels: HashMap<(u32, u8, &'static str), i64>,
}

impl WriterThread {
    fn run(&mut self) {
        let mut batch = Vec::with_capacity(BATCH_MAX);
        loop {
            let Ok(first) = self.rx.recv() else { return };
            batch.push(first);
            let until = Instant::now() + BATCH_WINDOW;
            while batch.len() < BATCH_MAX {
                let left = until.saturating_duration_since(Instant::now());
                match self.rx.recv_timeout(left) {
                    Ok(write) => batch.push(write),
                    Err(_) => break,
                }
            }
            let shutdown = batch.iter().any(|w| matches!(w, Write::Shutdown));
            if let Err(e) = self.commit(&mut batch) {
                // A failed batch rolls back whole; what was committed before is intact.
                log::error!("store writer: {e}");
                *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
            }
            batch.clear();
            if shutdown {
                return;
            }
        }
    }

    fn commit(&mut self, batch: &mut Vec<Write>) -> Result<(), StoreError> {
        let mut replies = Vec::new();
        let mut flushes = Vec::new();
        let tx = self.conn.transaction()?;
        let mut last_seq = None;
        for write in batch.drain(..) {
            match write {
                Write::Event(event) => {
                    if let Some(seq) = apply_event(&tx, self.session, &mut self.channels, event)? {
                        last_seq = Some(seq);
                    }
                }
                Write::StartSession { name, at, reply } => {
                    if let Some(current) = self.session {
                        tx.execute(
                            "UPDATE sessions SET stopped_us = ?1 WHERE id = ?2 AND stopped_us IS NULL",
                            params![at, current],
                        )?;
                    }
                    tx.execute(
                        "INSERT INTO sessions (name, started_us) VALUES (?1, ?2)",
                        params![name, at],
                    )?;
                    let id = tx.last_insert_rowid();
                    self.session = Some(id);
                    self.channels.clear();
                    replies.push((reply, id));
                }
                Write::StopSession { at } => {
                    if let Some(current) = self.session.take() {
                        tx.execute(
                            "UPDATE sessions SET stopped_us = ?1 WHERE id = ?2",
                            params![at, current],
                        )?;
                    }
                }
                Write::Flush(reply) => flushes.push(reply),
                Write::Shutdown => {}
            }
        }
        let result = tx.commit().map_err(StoreError::from);
        if result.is_ok()
            && let Some(seq) = last_seq
        {
            self.committed.store(seq, Ordering::Release);
        }
        for (reply, id) in replies {
            let _ = reply.send(match &result {
                Ok(()) => Ok(id),
                Err(e) => Err(e.to_string()),
            });
        }
        for reply in flushes {
            let _ = reply.send(());
        }
        result
    }
}

/// Applies one event; returns the last sample `seq` it wrote, if any.
fn apply_event(
    tx: &rusqlite::Transaction<'_>,
    session: Option<SessionId>,
    channels: &mut HashMap<(u32, u8, &'static str), i64>,
    event: Event,
) -> Result<Option<i64>, StoreError> {
    match event {
        Event::Samples { samples } => {
            let Some(session) = session else {
                return Ok(None);
            };
            insert_samples(tx, session, channels, &samples)
        }
        Event::JobQueued { job, command, at } => {
            let drive = command.drive();
            tx.execute(
                "INSERT INTO jobs (id, session_id, command, link, drive_id, detail, state, queued_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7)",
                params![
                    job.0 as i64,
                    session,
                    command.name(),
                    drive.map(|d| d.link),
                    drive.map(|d| d.id),
                    serde_json::to_string(&command).unwrap_or_default(),
                    at
                ],
            )?;
            Ok(None)
        }
        Event::JobChanged { job, state, at } => {
            let (sent, finished) = match &state {
                JobState::Sent => (Some(at), None),
                s if s.is_terminal() => (None, Some(at)),
                _ => (None, None),
            };
            tx.execute(
                "UPDATE jobs SET state = ?2, reason = ?3,
                        sent_us = coalesce(?4, sent_us), finished_us = coalesce(?5, finished_us)
                 WHERE id = ?1 AND finished_us IS NULL",
                params![job.0 as i64, state.name(), state.reason(), sent, finished],
            )?;
            Ok(None)
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
            Ok(None)
        }
        Event::LinkDown { link, reason, at } => {
            tx.execute(
                "INSERT INTO link_events (session_id, link, kind, detail, at_us) VALUES (?1, ?2, 'down', ?3, ?4)",
                params![session, link, reason, at],
            )?;
            Ok(None)
        }
        Event::DriveChanged { status, at } => {
            let Some(session) = session else {
                return Ok(None);
            };
            tx.execute(
                "INSERT INTO drive_state (session_id, link, drive_id, status, changed_us)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (session_id, link, drive_id)
                 DO UPDATE SET status = excluded.status, changed_us = excluded.changed_us",
                params![
                    session,
                    status.drive.link,
                    status.drive.id,
                    serde_json::to_string(&status).unwrap_or_default(),
                    at
                ],
            )?;
            Ok(None)
        }
    }
}

fn channel_id(
    tx: &rusqlite::Transaction<'_>,
    session: SessionId,
    channels: &mut HashMap<(u32, u8, &'static str), i64>,
    link: u32,
    drive: u8,
    (name, unit): (&'static str, &'static str),
) -> Result<i64, StoreError> {
    if let Some(id) = channels.get(&(link, drive, name)) {
        return Ok(*id);
    }
    let existing: Option<i64> = tx
        .query_row(
            "SELECT id FROM channels WHERE session_id = ?1 AND link = ?2 AND drive_id = ?3 AND name = ?4",
            params![session, link, drive, name],
            |r| r.get(0),
        )
        .optional()?;
    let id = match existing {
        Some(id) => id,
        None => {
            tx.execute(
                "INSERT INTO channels (session_id, link, drive_id, name, unit) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![session, link, drive, name, unit],
            )?;
            tx.last_insert_rowid()
        }
    };
    channels.insert((link, drive, name), id);
    Ok(id)
}

fn insert_samples(
    tx: &rusqlite::Transaction<'_>,
    session: SessionId,
    channels: &mut HashMap<(u32, u8, &'static str), i64>,
    samples: &[TelemetrySample],
) -> Result<Option<i64>, StoreError> {
    let mut insert =
        tx.prepare_cached("INSERT INTO samples (channel_id, t_us, value) VALUES (?1, ?2, ?3)")?;
    let mut latest = tx.prepare_cached(
        "INSERT INTO drive_state (session_id, link, drive_id, position, velocity, current, sample_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (session_id, link, drive_id) DO UPDATE SET
            position = excluded.position, velocity = excluded.velocity,
            current = excluded.current, sample_us = excluded.sample_us",
    )?;
    let mut last = None;
    for sample in samples {
        let values = [sample.position, sample.velocity, sample.current];
        for (spec, value) in DRIVE_CHANNELS.iter().zip(values) {
            let channel = channel_id(
                tx,
                session,
                channels,
                sample.drive.link,
                sample.drive.id,
                *spec,
            )?;
            insert.execute(params![channel, sample.t_us, value])?;
            last = Some(tx.last_insert_rowid());
        }
        latest.execute(params![
            session,
            sample.drive.link,
            sample.drive.id,
            sample.position,
            sample.velocity,
            sample.current,
            sample.t_us
        ])?;
    }
    Ok(last)
}
