//! Queries. Each [`Reader`] owns a read-only connection; WAL lets it read a consistent
//! snapshot while the writer keeps committing.
//!
//! Sessions (list, search, the drives they used), channels, the live tail, the job
//! journal with filters, drives' last state, faults, link gaps, and parameter history:
//! snapshots, their values, and diffs between two snapshots or two sessions. Decimated
//! windows are in [`crate::window`].

use crate::chunk;
use crate::tail::{Series, SeriesBatch, TailCursor};
use crate::{SessionId, StoreError};
use drivedeck_domain::{DriveRef, DriveStatus, LinkId, Micros};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::BTreeMap;
use std::path::Path;

/// A session as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRow {
    /// Its ID.
    pub id: SessionId,
    /// Its name.
    pub name: String,
    /// Its notes.
    pub notes: String,
    /// Start, µs since the epoch.
    pub started_us: Micros,
    /// Stop, if stopped.
    pub stopped_us: Option<Micros>,
    /// Samples recorded, all channels.
    pub samples: i64,
}

/// A drive a session used.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionDrive {
    /// The drive.
    pub drive: DriveRef,
    /// Its model (profile name).
    pub model: String,
    /// The port its link used.
    pub port: String,
    /// The protocol its link spoke.
    pub protocol: String,
}

/// A recorded channel.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelRow {
    /// Its ID (what sample batches name).
    pub id: i64,
    /// The drive it belongs to.
    pub drive: DriveRef,
    /// `position`, `velocity` or `current`.
    pub name: String,
    /// SI unit.
    pub unit: String,
    /// Samples recorded.
    pub samples: i64,
}

/// One job of the journal.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRow {
    /// The job ID.
    pub id: i64,
    /// The session it ran in.
    pub session: Option<SessionId>,
    /// The command's name.
    pub command: String,
    /// The link, for drive commands and link-level ones (a disconnect).
    pub link: Option<LinkId>,
    /// The drive, for drive commands.
    pub drive: Option<DriveRef>,
    /// Its class on the link: `telemetry`, `user`, `safety`, `eStop`.
    pub priority: String,
    /// By when it had to be sent, if it had a deadline.
    pub deadline_us: Option<Micros>,
    /// The command as JSON.
    pub detail: String,
    /// `queued`, `sent`, `done`, `failed`, `timedOut`, `cancelled`.
    pub state: String,
    /// Why it failed or was cancelled.
    pub reason: Option<String>,
    /// When it was queued.
    pub queued_us: Micros,
    /// When its bytes went out.
    pub sent_us: Option<Micros>,
    /// When it ended.
    pub finished_us: Option<Micros>,
}

/// Which jobs to list. Every field narrows; the default lists the newest 100.
#[derive(Clone, Debug, PartialEq)]
pub struct JobFilter {
    /// Only this session's.
    pub session: Option<SessionId>,
    /// Only this drive's.
    pub drive: Option<DriveRef>,
    /// Only this command (`setTarget`, …).
    pub command: Option<String>,
    /// Only jobs in this state (`failed`, …).
    pub state: Option<String>,
    /// Only jobs queued at or after this time.
    pub since_us: Option<Micros>,
    /// Only jobs queued before this time.
    pub until_us: Option<Micros>,
    /// At most this many, newest first.
    pub limit: usize,
}

impl Default for JobFilter {
    fn default() -> JobFilter {
        JobFilter {
            session: None,
            drive: None,
            command: None,
            state: None,
            since_us: None,
            until_us: None,
            limit: 100,
        }
    }
}

/// A drive's last known status and sample in a session.
#[derive(Clone, Debug, PartialEq)]
pub struct DriveRow {
    /// The drive.
    pub drive: DriveRef,
    /// Its last status, if one was recorded.
    pub status: Option<DriveStatus>,
    /// Last position, rad.
    pub position: Option<f64>,
    /// Last velocity, rad/s.
    pub velocity: Option<f64>,
    /// Last current, A.
    pub current: Option<f64>,
    /// When the last sample was taken.
    pub sample_us: Option<Micros>,
}

/// A fault a drive reported.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRow {
    /// The drive.
    pub drive: DriveRef,
    /// The fault, decoded.
    pub text: String,
    /// When it appeared.
    pub raised_us: Micros,
    /// When it went away, if it did.
    pub cleared_us: Option<Micros>,
}

/// A time a link was down.
#[derive(Clone, Debug, PartialEq)]
pub struct GapRow {
    /// The link.
    pub link: u32,
    /// Why it went down.
    pub reason: String,
    /// When it went down.
    pub from_us: Micros,
    /// When it came back (`None`: not within the session).
    pub to_us: Option<Micros>,
}

/// A parameter snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotRow {
    /// Its ID.
    pub id: i64,
    /// The session it was taken in.
    pub session: Option<SessionId>,
    /// The drive.
    pub drive: DriveRef,
    /// The drive's model.
    pub model: String,
    /// `read`, `before-write`, `after-write`, `backup`, `restore`.
    pub kind: String,
    /// The job that took it.
    pub job: Option<i64>,
    /// Its label.
    pub label: String,
    /// When.
    pub at_us: Micros,
}

/// One register whose value differs between two sides.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDiff {
    /// The register.
    pub register: String,
    /// Its unit.
    pub unit: String,
    /// Left side (raw, value); `None` if it was not read there.
    pub left: Option<(i64, f64)>,
    /// Right side.
    pub right: Option<(i64, f64)>,
}

/// A read-only connection to the store.
pub struct Reader {
    pub(crate) conn: Connection,
}

fn drive_ref(link: Option<u32>, id: Option<u8>) -> Option<DriveRef> {
    Some(DriveRef {
        link: link?,
        id: id?,
    })
}

/// The drive whose link and bus ID are in columns `i` and `i + 1`.
fn drive_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<DriveRef> {
    Ok(DriveRef {
        link: r.get(i)?,
        id: r.get(i + 1)?,
    })
}

/// One level-0 row: where it starts and its decoded samples.
pub(crate) struct SampleRow {
    pub idx0: u64,
    pub times: Vec<i64>,
    pub values: Vec<f32>,
}

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        name: r.get(1)?,
        notes: r.get(2)?,
        started_us: r.get(3)?,
        stopped_us: r.get(4)?,
        samples: r.get(5)?,
    })
}

const SESSION_COLUMNS: &str = "s.id, s.name, s.notes, s.started_us, s.stopped_us,
     (SELECT coalesce(sum(samples), 0) FROM channels c WHERE c.session_id = s.id)";

impl Reader {
    /// Runs a cached query and maps every row.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, map)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Opens a read-only connection to the store at `path`.
    pub fn open(path: &Path) -> Result<Reader, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::from(e).in_file(path))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let reader = Reader { conn };
        let version: i64 = reader
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| StoreError::from(e).in_file(path))?;
        let known = crate::schema::current_version();
        if version > known {
            return Err(StoreError::TooNew {
                path: path.display().to_string(),
                found: version,
                known,
            });
        }
        if version < known {
            return Err(StoreError::File {
                path: path.display().to_string(),
                message: format!(
                    "store schema v{version} is older than v{known}: open it once with the \
                     app (or any drivedeck-cli command that records) to upgrade it"
                ),
            });
        }
        Ok(reader)
    }

    /// Sessions, newest first; with `search`, only those whose name or notes contain
    /// it (case-insensitive).
    pub fn sessions(&self, search: Option<&str>) -> Result<Vec<SessionRow>, StoreError> {
        let pattern = search.map(|s| {
            format!(
                "%{}%",
                s.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s
             WHERE ?1 IS NULL OR s.name LIKE ?1 ESCAPE '\\' OR s.notes LIKE ?1 ESCAPE '\\'
             ORDER BY s.id DESC"
        ))?;
        let rows = stmt.query_map([pattern], session_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One session.
    pub fn session(&self, id: SessionId) -> Result<SessionRow, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = ?1"),
                [id],
                session_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("session {id}")))
    }

    /// The newest session with this name (names need not be unique).
    pub fn session_named(&self, name: &str) -> Result<SessionRow, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.name = ?1
                     ORDER BY s.id DESC LIMIT 1"
                ),
                [name],
                session_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("session named {name:?}")))
    }

    /// The drives a session used, with model, port and protocol.
    pub fn session_drives(&self, session: SessionId) -> Result<Vec<SessionDrive>, StoreError> {
        self.rows(
            "SELECT link, drive_id, model, port, protocol FROM session_drives
             WHERE session_id = ?1 ORDER BY link, drive_id",
            [session],
            |r| {
                Ok(SessionDrive {
                    drive: drive_at(r, 0)?,
                    model: r.get(2)?,
                    port: r.get(3)?,
                    protocol: r.get(4)?,
                })
            },
        )
    }

    /// The channels recorded in a session.
    pub fn channels(&self, session: SessionId) -> Result<Vec<ChannelRow>, StoreError> {
        self.rows(
            "SELECT id, link, drive_id, name, unit, samples FROM channels
             WHERE session_id = ?1 ORDER BY id",
            [session],
            |r| {
                Ok(ChannelRow {
                    id: r.get(0)?,
                    drive: drive_at(r, 1)?,
                    name: r.get(3)?,
                    unit: r.get(4)?,
                    samples: r.get(5)?,
                })
            },
        )
    }

    /// Checks that every channel belongs to the session; returns the session.
    pub(crate) fn session_with(
        &self,
        session: SessionId,
        channels: &[i64],
    ) -> Result<SessionRow, StoreError> {
        let row = self.session(session)?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT session_id FROM channels WHERE id = ?1")?;
        for channel in channels {
            let owner: Option<i64> = stmt.query_row([channel], |r| r.get(0)).optional()?;
            if owner != Some(session) {
                return Err(StoreError::Invalid(format!(
                    "channel {channel} is not recorded in session {session}"
                )));
            }
        }
        Ok(row)
    }

    /// Samples decoded from the level-0 rows of `channel` that hold indices at or
    /// after `from_idx`, oldest first, at most `max_rows` rows.
    pub(crate) fn sample_rows_from_index(
        &self,
        channel: i64,
        from_idx: u64,
        max_rows: usize,
    ) -> Result<Vec<SampleRow>, StoreError> {
        self.sample_rows_between(channel, from_idx, i64::MAX, max_rows)
    }

    /// Like [`Reader::sample_rows_from_index`], but only rows that start at or before
    /// `until` (µs): a window reads no chunk past its end.
    pub(crate) fn sample_rows_between(
        &self,
        channel: i64,
        from_idx: u64,
        until: Micros,
        max_rows: usize,
    ) -> Result<Vec<SampleRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT idx0, t0_us, data FROM chunks
             WHERE channel_id = ?1 AND level = 0 AND idx1 > ?2 AND t0_us <= ?4
               AND idx0 >= coalesce((SELECT max(idx0) FROM chunks
                                     WHERE channel_id = ?1 AND level = 0 AND idx0 <= ?2), 0)
             ORDER BY idx0 LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![channel, from_idx as i64, max_rows as i64, until],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (idx0, t0, data) = row?;
            let (times, values) = chunk::decode_samples(&data, t0)?;
            out.push(SampleRow {
                idx0: idx0 as u64,
                times,
                values,
            });
        }
        Ok(out)
    }

    /// How many samples of `channel` are committed (the end of its index range).
    pub fn channel_end(&self, channel: i64) -> Result<u64, StoreError> {
        // The last row by index (an index seek, not a scan of every row's end).
        let end: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT idx1 FROM chunks WHERE channel_id = ?1 AND level = 0
                 ORDER BY idx0 DESC LIMIT 1",
            )?
            .query_row([channel], |r| r.get(0))
            .optional()?;
        Ok(end.unwrap_or(0) as u64)
    }

    /// The index of the first sample of `channel` taken at or after `since` (the
    /// channel's end when there is none): a chart opening on a long session starts
    /// there instead of at the beginning.
    pub fn cursor_at(&self, channel: i64, since: Micros) -> Result<u64, StoreError> {
        let row: Option<(i64, i64, Vec<u8>)> = self
            .conn
            .prepare_cached(
                "SELECT idx0, t0_us, data FROM chunks
                 WHERE channel_id = ?1 AND level = 0 AND t1_us >= ?2 ORDER BY t1_us, idx0 LIMIT 1",
            )?
            .query_row(params![channel, since], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        match row {
            Some((idx0, t0, data)) => {
                let (times, _) = chunk::decode_samples(&data, t0)?;
                let k = times.partition_point(|t| *t < since);
                Ok(idx0 as u64 + k as u64)
            }
            None => self.channel_end(channel),
        }
    }

    /// Samples of `channels` (of `session`) committed after each channel's cursor, at
    /// most `limit` in all. A channel missing from `cursor` starts at its first sample
    /// at or after `since` (or at its beginning when `since` is `None`). Each series
    /// carries the cursor to continue from.
    pub fn tail(
        &self,
        session: SessionId,
        channels: &[i64],
        cursor: &TailCursor,
        since: Option<Micros>,
        limit: usize,
    ) -> Result<SeriesBatch, StoreError> {
        let started_us = self.session_with(session, channels)?.started_us;
        // One read transaction: every channel is read from the same snapshot.
        self.conn.execute_batch("BEGIN")?;
        let result = (|| {
            let mut series = Vec::with_capacity(channels.len());
            let mut budget = limit;
            for &channel in channels {
                let from = match (cursor.get(&channel), since) {
                    (Some(next), _) => *next,
                    (None, Some(since)) => self.cursor_at(channel, since)?,
                    (None, None) => 0,
                };
                let mut out = Series {
                    channel,
                    next: from,
                    ..Series::default()
                };
                let mut at = from;
                while budget > 0 {
                    let rows = self.sample_rows_from_index(channel, at, 64)?;
                    if rows.is_empty() {
                        break;
                    }
                    for row in &rows {
                        let skip = at.saturating_sub(row.idx0) as usize;
                        for (t, v) in row.times.iter().zip(&row.values).skip(skip) {
                            if budget == 0 {
                                break;
                            }
                            out.t.push((t - started_us) as f64 / 1e6);
                            out.values.push(f64::from(*v));
                            at += 1;
                            budget -= 1;
                        }
                    }
                    if rows.len() < 64 {
                        break;
                    }
                }
                out.next = at;
                series.push(out);
            }
            Ok(SeriesBatch {
                window: false,
                series,
            })
        })();
        self.conn.execute_batch("COMMIT")?;
        result
    }

    /// Every sample of one channel, oldest first (for tests and small exports).
    pub fn channel_samples(&self, channel: i64) -> Result<Vec<(Micros, f64)>, StoreError> {
        let mut out = Vec::new();
        let mut at = 0u64;
        loop {
            let rows = self.sample_rows_from_index(channel, at, 256)?;
            if rows.is_empty() {
                return Ok(out);
            }
            for row in &rows {
                let skip = at.saturating_sub(row.idx0) as usize;
                for (t, v) in row.times.iter().zip(&row.values).skip(skip) {
                    out.push((*t, f64::from(*v)));
                    at += 1;
                }
            }
        }
    }

    /// The highest job ID in the journal (0 when empty).
    pub fn max_job_id(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(id), 0) FROM jobs", [], |r| r.get(0))?)
    }

    /// Jobs of the journal that pass `filter`, newest first.
    pub fn jobs(&self, filter: &JobFilter) -> Result<Vec<JobRow>, StoreError> {
        self.rows(
            "SELECT id, session_id, command, link, drive_id, detail, state, reason,
                    queued_us, sent_us, finished_us, priority, deadline_us
             FROM jobs
             WHERE (?1 IS NULL OR session_id = ?1)
               AND (?2 IS NULL OR (link = ?2 AND drive_id = ?3))
               AND (?4 IS NULL OR command = ?4)
               AND (?5 IS NULL OR state = ?5)
               AND (?6 IS NULL OR queued_us >= ?6)
               AND (?7 IS NULL OR queued_us < ?7)
             ORDER BY id DESC LIMIT ?8",
            params![
                filter.session,
                filter.drive.map(|d| d.link),
                filter.drive.map(|d| d.id),
                filter.command,
                filter.state,
                filter.since_us,
                filter.until_us,
                filter.limit as i64
            ],
            |r| {
                Ok(JobRow {
                    id: r.get(0)?,
                    session: r.get(1)?,
                    command: r.get(2)?,
                    link: r.get(3)?,
                    drive: drive_ref(r.get(3)?, r.get(4)?),
                    priority: r.get(11)?,
                    deadline_us: r.get(12)?,
                    detail: r.get(5)?,
                    state: r.get(6)?,
                    reason: r.get(7)?,
                    queued_us: r.get(8)?,
                    sent_us: r.get(9)?,
                    finished_us: r.get(10)?,
                })
            },
        )
    }

    /// The drives seen in a session, with their last status and sample.
    pub fn drives(&self, session: SessionId) -> Result<Vec<DriveRow>, StoreError> {
        self.rows(
            "SELECT link, drive_id, status, position, velocity, current, sample_us
             FROM drive_state WHERE session_id = ?1 ORDER BY link, drive_id",
            [session],
            |r| {
                let status: Option<String> = r.get(2)?;
                Ok(DriveRow {
                    drive: drive_at(r, 0)?,
                    status: status.and_then(|s| serde_json::from_str(&s).ok()),
                    position: r.get(3)?,
                    velocity: r.get(4)?,
                    current: r.get(5)?,
                    sample_us: r.get(6)?,
                })
            },
        )
    }

    /// Faults raised in a session, oldest first.
    pub fn faults(&self, session: SessionId) -> Result<Vec<FaultRow>, StoreError> {
        self.rows(
            "SELECT link, drive_id, text, raised_us, cleared_us FROM faults
             WHERE session_id = ?1 ORDER BY raised_us, id",
            [session],
            |r| {
                Ok(FaultRow {
                    drive: drive_at(r, 0)?,
                    text: r.get(2)?,
                    raised_us: r.get(3)?,
                    cleared_us: r.get(4)?,
                })
            },
        )
    }

    /// The times a link was down during a session: each `down` to the link's next `up`.
    pub fn gaps(&self, session: SessionId) -> Result<Vec<GapRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT link, kind, detail, at_us FROM link_events
             WHERE session_id = ?1 ORDER BY at_us, id",
        )?;
        let events: Vec<(u32, String, String, Micros)> = stmt
            .query_map([session], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut open: BTreeMap<u32, usize> = BTreeMap::new();
        let mut gaps: Vec<GapRow> = Vec::new();
        for (link, kind, detail, at) in events {
            match kind.as_str() {
                "down" if !open.contains_key(&link) => {
                    open.insert(link, gaps.len());
                    gaps.push(GapRow {
                        link,
                        reason: detail,
                        from_us: at,
                        to_us: None,
                    });
                }
                "up" => {
                    if let Some(i) = open.remove(&link) {
                        gaps[i].to_us = Some(at);
                    }
                }
                _ => {}
            }
        }
        Ok(gaps)
    }

    /// Parameter snapshots, newest first: of one drive (any session) and/or one
    /// session.
    pub fn snapshots(
        &self,
        session: Option<SessionId>,
        drive: Option<DriveRef>,
    ) -> Result<Vec<SnapshotRow>, StoreError> {
        self.rows(
            "SELECT id, session_id, link, drive_id, model, kind, job_id, label, at_us
             FROM snapshots
             WHERE (?1 IS NULL OR session_id = ?1) AND (?2 IS NULL OR (link = ?2 AND drive_id = ?3))
             ORDER BY at_us DESC, id DESC",
            params![session, drive.map(|d| d.link), drive.map(|d| d.id)],
            |r| {
                Ok(SnapshotRow {
                    id: r.get(0)?,
                    session: r.get(1)?,
                    drive: drive_at(r, 2)?,
                    model: r.get(4)?,
                    kind: r.get(5)?,
                    job: r.get(6)?,
                    label: r.get(7)?,
                    at_us: r.get(8)?,
                })
            },
        )
    }

    /// A snapshot's values: register → (raw, value, unit).
    pub fn snapshot_values(
        &self,
        snapshot: i64,
    ) -> Result<BTreeMap<String, (i64, f64, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT register, raw, value, unit FROM snapshot_values WHERE snapshot_id = ?1",
        )?;
        let rows = stmt.query_map([snapshot], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })?;
        let values: BTreeMap<_, _> = rows.collect::<Result<_, _>>()?;
        if values.is_empty() {
            let exists: Option<i64> = self
                .conn
                .query_row("SELECT id FROM snapshots WHERE id = ?1", [snapshot], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_none() {
                return Err(StoreError::NotFound(format!("snapshot {snapshot}")));
            }
        }
        Ok(values)
    }

    /// A drive's parameters as last read in a session: each register's newest value.
    pub fn session_params(
        &self,
        session: SessionId,
        drive: DriveRef,
    ) -> Result<BTreeMap<String, (i64, f64, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT v.register, v.raw, v.value, v.unit FROM snapshot_values v
             JOIN snapshots s ON s.id = v.snapshot_id
             WHERE s.session_id = ?1 AND s.link = ?2 AND s.drive_id = ?3
             ORDER BY s.at_us, s.id",
        )?;
        let rows = stmt.query_map(params![session, drive.link, drive.id], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })?;
        // Later rows overwrite earlier ones: the newest value wins.
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One register's history for a drive, oldest first: (when, raw, value, why).
    pub fn param_history(
        &self,
        drive: DriveRef,
        register: &str,
    ) -> Result<Vec<(Micros, i64, f64, String)>, StoreError> {
        self.rows(
            "SELECT s.at_us, v.raw, v.value, s.kind FROM snapshot_values v
             JOIN snapshots s ON s.id = v.snapshot_id
             WHERE s.link = ?1 AND s.drive_id = ?2 AND v.register = ?3
             ORDER BY s.at_us, s.id",
            params![drive.link, drive.id, register],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
    }

    /// The registers whose values differ between two snapshots.
    pub fn diff_snapshots(&self, left: i64, right: i64) -> Result<Vec<ParamDiff>, StoreError> {
        Ok(diff(
            &self.snapshot_values(left)?,
            &self.snapshot_values(right)?,
        ))
    }

    /// The registers whose last values differ between a drive in one session and a
    /// drive in another (the same drive or its replacement).
    pub fn diff_sessions(
        &self,
        left: (SessionId, DriveRef),
        right: (SessionId, DriveRef),
    ) -> Result<Vec<ParamDiff>, StoreError> {
        self.session(left.0)?;
        self.session(right.0)?;
        Ok(diff(
            &self.session_params(left.0, left.1)?,
            &self.session_params(right.0, right.1)?,
        ))
    }
}

fn diff(
    left: &BTreeMap<String, (i64, f64, String)>,
    right: &BTreeMap<String, (i64, f64, String)>,
) -> Vec<ParamDiff> {
    let mut registers: Vec<&String> = left.keys().chain(right.keys()).collect();
    registers.sort();
    registers.dedup();
    registers
        .into_iter()
        .filter_map(|register| {
            let l = left.get(register);
            let r = right.get(register);
            if l.map(|v| v.0) == r.map(|v| v.0) {
                return None;
            }
            Some(ParamDiff {
                register: register.clone(),
                unit: l.or(r).map(|v| v.2.clone()).unwrap_or_default(),
                left: l.map(|v| (v.0, v.1)),
                right: r.map(|v| (v.0, v.1)),
            })
        })
        .collect()
}
