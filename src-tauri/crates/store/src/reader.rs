//! Queries. Each [`Reader`] owns a read-only connection; WAL lets it read a consistent
//! snapshot while the writer keeps committing.

use crate::tail::{Series, TailBatch};
use crate::{SessionId, StoreError};
use drivedeck_domain::{DriveRef, DriveStatus, Micros};
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
    /// Start, µs since the epoch.
    pub started_us: Micros,
    /// Stop, if stopped.
    pub stopped_us: Option<Micros>,
}

/// A recorded channel.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelRow {
    /// Its ID (what tail batches name).
    pub id: i64,
    /// The drive it belongs to.
    pub drive: DriveRef,
    /// `position`, `velocity` or `current`.
    pub name: String,
    /// SI unit.
    pub unit: String,
}

/// One job of the journal.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRow {
    /// The job ID.
    pub id: i64,
    /// The command's name.
    pub command: String,
    /// The drive, for drive commands.
    pub drive: Option<DriveRef>,
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

/// A read-only connection to the store.
pub struct Reader {
    conn: Connection,
}

fn drive_ref(link: Option<u32>, id: Option<u8>) -> Option<DriveRef> {
    Some(DriveRef {
        link: link?,
        id: id?,
    })
}

impl Reader {
    /// Opens a read-only connection to the store at `path`.
    pub fn open(path: &Path) -> Result<Reader, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Reader { conn })
    }

    /// Every session, newest first.
    pub fn sessions(&self) -> Result<Vec<SessionRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, started_us, stopped_us FROM sessions ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SessionRow {
                id: r.get(0)?,
                name: r.get(1)?,
                started_us: r.get(2)?,
                stopped_us: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One session.
    pub fn session(&self, id: SessionId) -> Result<SessionRow, StoreError> {
        self.conn
            .query_row(
                "SELECT id, name, started_us, stopped_us FROM sessions WHERE id = ?1",
                [id],
                |r| {
                    Ok(SessionRow {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        started_us: r.get(2)?,
                        stopped_us: r.get(3)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("session {id}")))
    }

    /// The channels recorded in a session.
    pub fn channels(&self, session: SessionId) -> Result<Vec<ChannelRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, link, drive_id, name, unit FROM channels WHERE session_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([session], |r| {
            Ok(ChannelRow {
                id: r.get(0)?,
                drive: DriveRef {
                    link: r.get(1)?,
                    id: r.get(2)?,
                },
                name: r.get(3)?,
                unit: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The cursor just before the first sample of `channels` taken at or after `since`:
    /// a chart opening on a long session starts there instead of at the beginning.
    pub fn cursor_at(&self, channels: &[i64], since: Micros) -> Result<i64, StoreError> {
        let mut first: Option<i64> = None;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT min(seq) FROM samples WHERE channel_id = ?1 AND t_us >= ?2")?;
        for channel in channels {
            let seq: Option<i64> = stmt.query_row(params![channel, since], |r| r.get(0))?;
            if let Some(seq) = seq {
                first = Some(first.map_or(seq, |f: i64| f.min(seq)));
            }
        }
        match first {
            Some(seq) => Ok(seq - 1),
            None => {
                Ok(self
                    .conn
                    .query_row("SELECT coalesce(max(seq), 0) FROM samples", [], |r| {
                        r.get(0)
                    })?)
            }
        }
    }

    /// Samples of `channels` (of `session`) committed after `after`, at most `limit`,
    /// and the cursor to continue from.
    pub fn tail(
        &mut self,
        session: SessionId,
        channels: &[i64],
        after: i64,
        limit: usize,
    ) -> Result<TailBatch, StoreError> {
        let started_us = self.session(session)?.started_us;
        let tx = self.conn.transaction()?;
        let high: i64 = tx.query_row("SELECT coalesce(max(seq), 0) FROM samples", [], |r| {
            r.get(0)
        })?;
        let mut by_channel: BTreeMap<i64, Series> = BTreeMap::new();
        let mut cursor = after.max(0);
        if !channels.is_empty() && high > cursor {
            // Channel IDs are integers we format ourselves: no injection possible.
            let list = channels
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let sql = format!(
                "SELECT seq, channel_id, t_us, value FROM samples
                 WHERE seq > ?1 AND seq <= ?2 AND channel_id IN ({list})
                 ORDER BY seq LIMIT ?3"
            );
            let mut stmt = tx.prepare(&sql)?;
            let mut rows = stmt.query(params![cursor, high, limit as i64])?;
            let mut count = 0usize;
            let mut last = cursor;
            while let Some(row) = rows.next()? {
                let seq: i64 = row.get(0)?;
                let channel: i64 = row.get(1)?;
                let t_us: i64 = row.get(2)?;
                let value: f64 = row.get(3)?;
                let series = by_channel.entry(channel).or_insert_with(|| Series {
                    channel,
                    t: Vec::new(),
                    values: Vec::new(),
                });
                series.t.push((t_us - started_us) as f64 / 1e6);
                series.values.push(value);
                last = seq;
                count += 1;
            }
            // A full page continues after its last row; otherwise everything up to the
            // snapshot's high-water mark has been seen.
            cursor = if count >= limit { last } else { high };
        } else {
            cursor = cursor.max(high);
        }
        Ok(TailBatch {
            cursor,
            series: by_channel.into_values().collect(),
        })
    }

    /// The newest `limit` jobs of the journal, newest first.
    pub fn jobs(&self, limit: usize) -> Result<Vec<JobRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, command, link, drive_id, detail, state, reason, queued_us, sent_us, finished_us
             FROM jobs ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(JobRow {
                id: r.get(0)?,
                command: r.get(1)?,
                drive: drive_ref(r.get(2)?, r.get(3)?),
                detail: r.get(4)?,
                state: r.get(5)?,
                reason: r.get(6)?,
                queued_us: r.get(7)?,
                sent_us: r.get(8)?,
                finished_us: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The drives seen in a session, with their last status and sample.
    pub fn drives(&self, session: SessionId) -> Result<Vec<DriveRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT link, drive_id, status, position, velocity, current, sample_us
             FROM drive_state WHERE session_id = ?1 ORDER BY link, drive_id",
        )?;
        let rows = stmt.query_map([session], |r| {
            let status: Option<String> = r.get(2)?;
            Ok(DriveRow {
                drive: DriveRef {
                    link: r.get(0)?,
                    id: r.get(1)?,
                },
                status: status.and_then(|s| serde_json::from_str(&s).ok()),
                position: r.get(3)?,
                velocity: r.get(4)?,
                current: r.get(5)?,
                sample_us: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every sample of one channel, oldest first (for tests and exports).
    pub fn channel_samples(&self, channel: i64) -> Result<Vec<(Micros, f64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT t_us, value FROM samples WHERE channel_id = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([channel], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
