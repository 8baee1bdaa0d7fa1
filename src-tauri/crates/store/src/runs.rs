//! Tuning runs in the store: the `tuning_runs` projection (one row per run, its id the
//! run's job), the run's readings as channels of its session, and the run list.
//!
//! A run is always kept. Telemetry without a recording session is dropped (nobody asked
//! for it), but a tuning run is a measurement someone asked for: when a run starts with
//! no session open, the writer opens an automatic one named after the run ("Tuning run
//! 12 · chirp on drive 1/3") so that its readings, and the drive's telemetry beside
//! them, land on disk; it stops that session when the run ends, so the session is
//! exactly the run and the writer is back to not recording. A run started inside a
//! session (the usual case in the app) records into it, and the row keeps which session
//! that was. Should a new session start while a run is going, the rest of its readings go
//! to the new session with the telemetry they belong beside; the row still names the
//! session it started in.
//!
//! A run's readings ([`TuneSample`]) become three channels of the drive in the session,
//! written through the same chunks and rollups as the telemetry:
//! - `reference` (the tested loop's unit: `rad` or `rad/s`) — the set point asked for.
//!   A session holds one `reference` channel per drive; if it already has one in the
//!   other loop's unit (a position test, then a velocity test, in one session), the new
//!   run's reference goes to `reference.velocity` (or `reference.position`), so no
//!   channel mixes units;
//! - `output` (`1`): the drive's own output as a fraction (PWM), or a current where the
//!   drive reports that;
//! - `drive_time` (`s`): the drive's own clock.
//!
//! `output` and `drive_time` are NaN where the drive does not report them. A NaN is kept
//! as it is kept for a drive's `current` today: a gap (windows and rollups skip it,
//! exports leave the cell empty), never a zero, and the channel keeps the same times as
//! the drive's other channels. A channel is only created by its first real value, so a
//! run on a drive without a clock (or without a readable output) has no channel full of
//! gaps.

use crate::reader::Reader;
use crate::writer::ChannelSeries;
use crate::{SessionId, StoreError};
use drivedeck_domain::{DriveRef, LinkId, Micros, RunEnd, RunStart, TestLoop, TuneSample};
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::{HashMap, HashSet};

/// The reason kept for a run that was still running when DriveDeck stopped.
pub const STOPPED_DURING_RUN: &str = "DriveDeck stopped during the run";

/// The channel of a run's set point, in the tested loop's unit.
pub const REFERENCE: &str = "reference";
/// The channel of the drive's output (PWM fraction, or current), unit `1`.
pub const OUTPUT: (&str, &str) = ("output", "1");
/// The channel of the drive's own clock, unit `s`.
pub const DRIVE_TIME: (&str, &str) = ("drive_time", "s");

/// A tuning run as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    /// The run (its job's ID).
    pub id: i64,
    /// The session its channels are in (the one open when it started).
    pub session: Option<SessionId>,
    /// The drive.
    pub drive: DriveRef,
    /// The excitation: `step`, `ramp`, `chirp`, `prbs`, `multisine`, `relay`.
    pub test: String,
    /// The loop excited: `position` or `velocity`.
    pub test_loop: String,
    /// The `TestSpec` as it was run (JSON).
    pub spec: serde_json::Value,
    /// The drive's profile.
    pub profile: String,
    /// Where the timestamps come from: `host` or `drive`.
    pub clock: String,
    /// The gains in force at the start: `[[name, SI value], …]` (JSON; a value the
    /// drive gave as NaN is `null`).
    pub gains: serde_json::Value,
    /// The position the excitation was played around, rad.
    pub start_position: Option<f64>,
    /// The drive's mode before the run (`position`, `velocity`).
    pub mode_before: Option<String>,
    /// The drive's target before the run (JSON, `{"position": 1.2}`).
    pub target_before: Option<serde_json::Value>,
    /// The wire-time limit of polling the drive alone, Hz.
    pub wire_limit_hz: Option<f64>,
    /// When it started, µs since the epoch.
    pub started_us: Micros,
    /// When it ended.
    pub finished_us: Option<Micros>,
    /// `running`, `completed` or `aborted`.
    pub state: String,
    /// Why it was aborted.
    pub reason: Option<String>,
    /// Readings taken (as the bus counted them).
    pub samples: Option<i64>,
    /// Mean reading rate, Hz.
    pub achieved_rate_hz: Option<f64>,
    /// Standard deviation of the reading intervals, s.
    pub jitter_s: Option<f64>,
    /// The analysis (JSON), once one was kept.
    pub results: Option<serde_json::Value>,
    /// When the analysis was kept.
    pub results_at_us: Option<Micros>,
}

/// Which runs to list. Every field set narrows; the default lists the newest 100.
#[derive(Clone, Debug, PartialEq)]
pub struct RunFilter {
    /// Only runs on this link.
    pub link: Option<LinkId>,
    /// Only runs on drives with this bus ID.
    pub drive_id: Option<u8>,
    /// Only this test (`step`, `chirp`, …).
    pub test: Option<String>,
    /// Only runs started at or after this time.
    pub since_us: Option<Micros>,
    /// Only runs started before this time.
    pub until_us: Option<Micros>,
    /// At most this many, newest first.
    pub limit: usize,
}

impl Default for RunFilter {
    fn default() -> RunFilter {
        RunFilter {
            link: None,
            drive_id: None,
            test: None,
            since_us: None,
            until_us: None,
            limit: 100,
        }
    }
}

const RUN_COLUMNS: &str = "id, session_id, link, drive_id, test, loop, spec, profile, clock,
     gains, start_position, mode_before, target_before, wire_limit_hz, started_us,
     finished_us, state, reason, samples, achieved_rate_hz, jitter_s, results, results_at_us";

/// Stored JSON back as a value; text that is not JSON (written by hand?) comes back as
/// a string rather than failing the whole list.
fn json(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        session: r.get(1)?,
        drive: DriveRef {
            link: r.get(2)?,
            id: r.get(3)?,
        },
        test: r.get(4)?,
        test_loop: r.get(5)?,
        spec: json(r.get(6)?),
        profile: r.get(7)?,
        clock: r.get(8)?,
        gains: json(r.get(9)?),
        start_position: r.get(10)?,
        mode_before: r.get(11)?,
        target_before: r.get::<_, Option<String>>(12)?.map(json),
        wire_limit_hz: r.get(13)?,
        started_us: r.get(14)?,
        finished_us: r.get(15)?,
        state: r.get(16)?,
        reason: r.get(17)?,
        samples: r.get(18)?,
        achieved_rate_hz: r.get(19)?,
        jitter_s: r.get(20)?,
        results: r.get::<_, Option<String>>(21)?.map(json),
        results_at_us: r.get(22)?,
    })
}

impl Reader {
    /// Runs that pass `filter`, newest first.
    pub fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM tuning_runs
             WHERE (?1 IS NULL OR link = ?1)
               AND (?2 IS NULL OR drive_id = ?2)
               AND (?3 IS NULL OR test = ?3)
               AND (?4 IS NULL OR started_us >= ?4)
               AND (?5 IS NULL OR started_us < ?5)
             ORDER BY started_us DESC, id DESC LIMIT ?6"
        ))?;
        let rows = stmt.query_map(
            params![
                filter.link,
                filter.drive_id,
                filter.test,
                filter.since_us,
                filter.until_us,
                filter.limit as i64
            ],
            run_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One run, if there is one with this ID.
    pub fn run(&self, id: i64) -> Result<Option<RunRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM tuning_runs WHERE id = ?1"),
                [id],
                run_row,
            )
            .optional()?)
    }
}

/// The name of the session opened for a run that started with none open.
pub(crate) fn automatic_session_name(start: &RunStart) -> String {
    format!(
        "Tuning run {} · {} on drive {}/{}",
        start.job.0,
        start.test.excitation.name(),
        start.drive.link,
        start.drive.id
    )
}

/// SQLite keeps NaN as NULL; say so explicitly, for the nullable columns.
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// A run that is going on a drive: what its readings are recorded against.
#[derive(Clone, Copy, Debug)]
struct OpenRun {
    job: i64,
    test_loop: TestLoop,
}

/// A run's channel series in the current session, with the unit it was created in.
struct RunSeries {
    unit: &'static str,
    series: ChannelSeries,
}

/// What the writer keeps in memory for tuning runs: the runs going on (across sessions)
/// and the current session's run channels.
#[derive(Default)]
pub(crate) struct RunProjection {
    open: HashMap<DriveRef, OpenRun>,
    /// Channel series by (drive, channel name), for the current session.
    series: HashMap<(DriveRef, String), RunSeries>,
    /// Series with samples not yet written.
    dirty: HashSet<(DriveRef, String)>,
}

impl RunProjection {
    /// The same runs going on, none of the previous session's channels: for a new
    /// session.
    pub(crate) fn for_new_session(&mut self) -> RunProjection {
        RunProjection {
            open: std::mem::take(&mut self.open),
            ..RunProjection::default()
        }
    }

    /// Writes what arrived since the last commit.
    pub(crate) fn write(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        for key in self.dirty.drain() {
            if let Some(run) = self.series.get_mut(&key) {
                run.series.write(tx)?;
            }
        }
        Ok(())
    }

    /// Writes everything (the session stops) and forgets the session's channels.
    pub(crate) fn finish(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        self.dirty.clear();
        for run in self.series.values_mut() {
            run.series.finish(tx)?;
        }
        self.series.clear();
        Ok(())
    }

    /// Forgets the session's channels without writing them (the session is gone).
    pub(crate) fn clear_series(&mut self) {
        self.series.clear();
        self.dirty.clear();
    }

    /// Appends `v` to the drive's channel `name`, creating the channel (in `session`,
    /// with `unit`) unless `v` is a gap and there is no channel yet. Returns how many
    /// values were added (0 or 1).
    fn push(
        &mut self,
        tx: &Transaction<'_>,
        session: SessionId,
        drive: DriveRef,
        (name, unit): (&str, &'static str),
        t_us: Micros,
        v: f64,
    ) -> Result<i64, StoreError> {
        let key = (drive, name.to_string());
        let run = match self.series.entry(key.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(_) if v.is_nan() => return Ok(0),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(RunSeries {
                unit,
                series: crate::writer::channel_series(tx, session, drive, name, unit)?,
            }),
        };
        run.series.push(t_us, v as f32);
        self.dirty.insert(key);
        Ok(1)
    }

    /// The name of the reference channel for a run in `test_loop` on `drive`:
    /// `reference`, unless the session's `reference` of this drive is in another unit.
    fn reference_name(
        &self,
        tx: &Transaction<'_>,
        session: SessionId,
        drive: DriveRef,
        test_loop: TestLoop,
    ) -> Result<String, StoreError> {
        let unit = test_loop.unit();
        let existing = match self.series.get(&(drive, REFERENCE.to_string())) {
            Some(run) => Some(run.unit.to_string()),
            None => tx
                .query_row(
                    "SELECT unit FROM channels
                     WHERE session_id = ?1 AND link = ?2 AND drive_id = ?3 AND name = ?4",
                    params![session, drive.link, drive.id, REFERENCE],
                    |r| r.get::<_, String>(0),
                )
                .optional()?,
        };
        Ok(match existing {
            Some(found) if found != unit => format!("{REFERENCE}.{}", test_loop.name()),
            _ => REFERENCE.to_string(),
        })
    }
}

/// A run started: its row, and the drive's open run. Returns 0 (no samples).
pub(crate) fn run_started(
    tx: &Transaction<'_>,
    session: Option<SessionId>,
    runs: &mut RunProjection,
    start: &RunStart,
) -> Result<i64, StoreError> {
    let mode_before = start
        .mode_before
        .and_then(|m| serde_json::to_value(m).ok())
        .and_then(|v| v.as_str().map(str::to_string));
    let target_before = start
        .target_before
        .and_then(|t| serde_json::to_string(&t).ok());
    // A job ID is unique; a repeated start (a replayed stream) keeps the first row
    // rather than failing the whole batch.
    let inserted = tx.execute(
        "INSERT INTO tuning_runs (id, session_id, link, drive_id, test, loop, spec, profile,
                                  clock, gains, start_position, mode_before, target_before,
                                  wire_limit_hz, started_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (id) DO NOTHING",
        params![
            start.job.0 as i64,
            session,
            start.drive.link,
            start.drive.id,
            start.test.excitation.name(),
            start.test.test_loop.name(),
            serde_json::to_string(&start.test).unwrap_or_default(),
            start.profile,
            start.clock.name(),
            serde_json::to_string(&start.gains).unwrap_or_default(),
            finite(start.start_position),
            mode_before,
            target_before,
            finite(start.wire_limit_hz),
            start.at
        ],
    )?;
    if inserted == 0 {
        log::warn!(
            "store: {} started again; the first start is kept",
            start.job
        );
    }
    runs.open.insert(
        start.drive,
        OpenRun {
            job: start.job.0 as i64,
            test_loop: start.test.test_loop,
        },
    );
    Ok(0)
}

/// A batch of run readings into the session's run channels. Returns how many values
/// were added.
pub(crate) fn tune_samples(
    tx: &Transaction<'_>,
    session: Option<SessionId>,
    runs: &mut RunProjection,
    samples: &[TuneSample],
) -> Result<i64, StoreError> {
    let Some(session) = session else {
        return Ok(0);
    };
    let mut added = 0;
    // The reference channel's name, per drive, for this batch.
    let mut references: HashMap<DriveRef, String> = HashMap::new();
    for sample in samples {
        let Some(run) = runs.open.get(&sample.drive).copied() else {
            log::warn!(
                "store: run readings of {} without a run going; dropped",
                sample.drive
            );
            continue;
        };
        let reference = match references.get(&sample.drive) {
            Some(name) => name.clone(),
            None => {
                let name = runs.reference_name(tx, session, sample.drive, run.test_loop)?;
                references.insert(sample.drive, name.clone());
                name
            }
        };
        added += runs.push(
            tx,
            session,
            sample.drive,
            (&reference, run.test_loop.unit()),
            sample.t_us,
            sample.reference,
        )?;
        added += runs.push(
            tx,
            session,
            sample.drive,
            OUTPUT,
            sample.t_us,
            sample.output,
        )?;
        added += runs.push(
            tx,
            session,
            sample.drive,
            DRIVE_TIME,
            sample.t_us,
            sample.drive_time_s,
        )?;
    }
    Ok(added)
}

/// A run ended: its row gets the outcome and the measured rate; the drive has no run
/// going any more.
pub(crate) fn run_ended(
    tx: &Transaction<'_>,
    runs: &mut RunProjection,
    end: &RunEnd,
) -> Result<i64, StoreError> {
    let job = end.job.0 as i64;
    let changed = tx.execute(
        "UPDATE tuning_runs SET finished_us = ?2, state = ?3, reason = ?4, samples = ?5,
                achieved_rate_hz = ?6, jitter_s = ?7,
                wire_limit_hz = COALESCE(?8, wire_limit_hz)
         WHERE id = ?1 AND state = 'running'",
        params![
            job,
            end.at,
            end.outcome.name(),
            end.outcome.reason(),
            i64::try_from(end.samples).unwrap_or(i64::MAX),
            finite(end.achieved_rate_hz),
            finite(end.jitter_s),
            end.played_limit_hz.and_then(finite)
        ],
    )?;
    if changed == 0 {
        log::warn!("store: {} ended, but no such run is going", end.job);
    }
    if runs.open.get(&end.drive).is_some_and(|r| r.job == job) {
        runs.open.remove(&end.drive);
    }
    Ok(0)
}

/// Keeps an analysis of a run. The JSON is checked before it is sent here.
pub(crate) fn set_results(
    conn: &rusqlite::Connection,
    run: i64,
    results: &str,
    at: Micros,
) -> Result<(), StoreError> {
    let changed = conn.execute(
        "UPDATE tuning_runs SET results = ?2, results_at_us = ?3 WHERE id = ?1",
        params![run, results, at],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("run {run}")));
    }
    Ok(())
}

/// After a crash (or a close in the middle of a run), runs still `running` are
/// `aborted`: they end at their last reference reading (or their start).
pub(crate) fn repair(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let repaired = tx.execute(
        "UPDATE tuning_runs SET state = 'aborted', reason = ?1,
                finished_us = coalesce(
                    (SELECT max(c.t1_us) FROM chunks c JOIN channels ch ON ch.id = c.channel_id
                     WHERE ch.session_id = tuning_runs.session_id
                       AND ch.link = tuning_runs.link AND ch.drive_id = tuning_runs.drive_id
                       AND (ch.name = 'reference' OR ch.name LIKE 'reference.%')
                       AND c.level = 0 AND c.t1_us >= tuning_runs.started_us),
                    started_us)
         WHERE state = 'running'",
        [STOPPED_DURING_RUN],
    )?;
    if repaired > 0 {
        log::info!("store: {repaired} tuning run(s) were still running; marked aborted");
    }
    Ok(())
}
