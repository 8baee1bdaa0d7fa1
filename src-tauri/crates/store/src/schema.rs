//! The store's tables, created and upgraded by numbered migrations.
//!
//! `PRAGMA user_version` holds the schema version. Opening runs every migration the file
//! has not seen, each in its own transaction; a file from a newer DriveDeck (a version
//! beyond [`MIGRATIONS`]) is refused rather than guessed at.

use crate::StoreError;
use rusqlite::{Connection, Transaction};

/// A migration's Rust part: moves data inside the migration's transaction.
pub type MigrationStep = fn(&Transaction<'_>) -> Result<(), StoreError>;

/// Migration `i` takes a file from version `i` to `i + 1`: SQL, then (for some) a step
/// in Rust that moves data the SQL cannot.
pub const MIGRATIONS: &[(&str, Option<MigrationStep>)] = &[
    (V1, None),
    (V2, Some(samples_rows_to_chunks)),
    (V3, None),
    (V4, None),
];

// v1: sessions, channels, samples (a row per sample), the job journal, link events and
// the drive-state projection.
const V1: &str = r#"
    CREATE TABLE sessions (
        id          INTEGER PRIMARY KEY,
        name        TEXT    NOT NULL,
        started_us  INTEGER NOT NULL,
        stopped_us  INTEGER,
        notes       TEXT    NOT NULL DEFAULT ''
    );
    CREATE TABLE channels (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER NOT NULL REFERENCES sessions(id),
        link        INTEGER NOT NULL,
        drive_id    INTEGER NOT NULL,
        name        TEXT    NOT NULL,
        unit        TEXT    NOT NULL,
        UNIQUE (session_id, link, drive_id, name)
    );
    CREATE TABLE samples (
        seq         INTEGER PRIMARY KEY,
        channel_id  INTEGER NOT NULL REFERENCES channels(id),
        t_us        INTEGER NOT NULL,
        value       REAL    NOT NULL
    );
    CREATE INDEX samples_by_channel_time ON samples (channel_id, t_us);
    CREATE TABLE jobs (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER REFERENCES sessions(id),
        command     TEXT    NOT NULL,
        link        INTEGER,
        drive_id    INTEGER,
        detail      TEXT    NOT NULL,
        state       TEXT    NOT NULL,
        reason      TEXT,
        queued_us   INTEGER NOT NULL,
        sent_us     INTEGER,
        finished_us INTEGER
    );
    CREATE INDEX jobs_by_session ON jobs (session_id, id);
    CREATE TABLE link_events (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER REFERENCES sessions(id),
        link        INTEGER NOT NULL,
        kind        TEXT    NOT NULL,
        detail      TEXT    NOT NULL,
        at_us       INTEGER NOT NULL
    );
    CREATE TABLE drive_state (
        session_id  INTEGER NOT NULL REFERENCES sessions(id),
        link        INTEGER NOT NULL,
        drive_id    INTEGER NOT NULL,
        status      TEXT,
        changed_us  INTEGER,
        position    REAL,
        velocity    REAL,
        current     REAL,
        sample_us   INTEGER,
        PRIMARY KEY (session_id, link, drive_id)
    );
"#;

// v2: samples in chunks with rollup levels (see `chunk`), the drives a session used,
// parameter snapshots, faults; the row-per-sample table is converted and dropped.
const V2: &str = r#"
    CREATE TABLE chunks (
        id          INTEGER PRIMARY KEY,
        channel_id  INTEGER NOT NULL REFERENCES channels(id),
        level       INTEGER NOT NULL,   -- 0: samples; 1, 2: rollups (see chunk.rs)
        idx0        INTEGER NOT NULL,   -- the channel's sample index of the first covered
        idx1        INTEGER NOT NULL,   -- one past the last covered
        n           INTEGER NOT NULL,   -- values or entries in data
        t0_us       INTEGER NOT NULL,
        t1_us       INTEGER NOT NULL,
        vmin        REAL    NOT NULL,
        vmax        REAL    NOT NULL,
        data        BLOB    NOT NULL,
        UNIQUE (channel_id, level, idx0)
    );
    CREATE INDEX chunks_by_end_time ON chunks (channel_id, level, t1_us, idx0);
    ALTER TABLE channels ADD COLUMN samples INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE session_drives (
        session_id  INTEGER NOT NULL REFERENCES sessions(id),
        link        INTEGER NOT NULL,
        drive_id    INTEGER NOT NULL,
        model       TEXT    NOT NULL,
        port        TEXT    NOT NULL DEFAULT '',
        protocol    TEXT    NOT NULL DEFAULT '',
        PRIMARY KEY (session_id, link, drive_id)
    );
    CREATE TABLE snapshots (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER REFERENCES sessions(id),
        link        INTEGER NOT NULL,
        drive_id    INTEGER NOT NULL,
        model       TEXT    NOT NULL,
        kind        TEXT    NOT NULL,   -- read, before-write, after-write, backup, restore
        job_id      INTEGER,
        label       TEXT    NOT NULL DEFAULT '',
        at_us       INTEGER NOT NULL
    );
    CREATE INDEX snapshots_by_drive ON snapshots (link, drive_id, at_us);
    CREATE TABLE snapshot_values (
        snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
        register    TEXT    NOT NULL,
        raw         INTEGER NOT NULL,
        value       REAL    NOT NULL,
        unit        TEXT    NOT NULL,
        PRIMARY KEY (snapshot_id, register)
    );
    CREATE TABLE faults (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER REFERENCES sessions(id),
        link        INTEGER NOT NULL,
        drive_id    INTEGER NOT NULL,
        text        TEXT    NOT NULL,
        raised_us   INTEGER NOT NULL,
        cleared_us  INTEGER
    );
    CREATE INDEX faults_by_session ON faults (session_id, raised_us);
    CREATE INDEX jobs_by_time ON jobs (queued_us);
    CREATE INDEX link_events_by_session ON link_events (session_id, at_us);
"#;

// v3: each job's class on the link and its deadline. Older jobs were user jobs, their
// stops excepted (those always ran in the E-stop class); none had a deadline.
const V3: &str = r#"
    ALTER TABLE jobs ADD COLUMN priority TEXT NOT NULL DEFAULT 'user';
    ALTER TABLE jobs ADD COLUMN deadline_us INTEGER;
    UPDATE jobs SET priority = 'eStop' WHERE command IN ('eStop', 'safeStop');
"#;

// v4: tuning runs, one row per run (its id is the run's job), with its settings, what
// it will restore, how it ended and, once analysed, its results. The run's readings are
// channels of its session (`reference`, `output`, `drive_time` beside the telemetry).
// Numbers a drive may not give (a NaN start position, a rate of a run that never read)
// are NULL, never a made-up zero.
const V4: &str = r#"
    CREATE TABLE tuning_runs (
        id               INTEGER PRIMARY KEY,  -- the run's job
        session_id       INTEGER REFERENCES sessions(id),  -- where its channels are
        link             INTEGER NOT NULL,
        drive_id         INTEGER NOT NULL,
        test             TEXT    NOT NULL,     -- step, ramp, chirp, prbs, multisine, relay
        loop             TEXT    NOT NULL,     -- position, velocity
        spec             TEXT    NOT NULL,     -- the TestSpec, JSON
        profile          TEXT    NOT NULL,
        clock            TEXT    NOT NULL,     -- host, drive
        gains            TEXT    NOT NULL,     -- JSON [[name, SI value], ...]
        start_position   REAL,
        mode_before      TEXT,
        target_before    TEXT,                 -- the Target, JSON
        wire_limit_hz    REAL,
        started_us       INTEGER NOT NULL,
        finished_us      INTEGER,
        state            TEXT    NOT NULL DEFAULT 'running',  -- running, completed, aborted
        reason           TEXT,
        samples          INTEGER,
        achieved_rate_hz REAL,
        jitter_s         REAL,
        results          TEXT,                 -- the analysis, JSON; NULL until analysed
        results_at_us    INTEGER
    );
    CREATE INDEX tuning_runs_by_drive ON tuning_runs (link, drive_id, started_us);
    CREATE INDEX tuning_runs_by_test ON tuning_runs (test, started_us);
"#;

/// v1 → v2: every channel's rows become chunks (and rollups); then the table goes.
fn samples_rows_to_chunks(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let channels: Vec<i64> = {
        let mut stmt = tx.prepare("SELECT DISTINCT channel_id FROM samples")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    for channel in channels {
        let mut stmt =
            tx.prepare("SELECT t_us, value FROM samples WHERE channel_id = ?1 ORDER BY seq")?;
        let rows: Vec<(i64, f64)> = stmt
            .query_map([channel], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut series = crate::writer::ChannelSeries::new(channel, 0, i64::MIN);
        for (t, v) in rows {
            series.push(t, v as f32);
        }
        series.finish(tx)?;
    }
    tx.execute_batch("DROP TABLE samples;")?;
    Ok(())
}

/// The schema version this build writes.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings `conn`'s file up to [`current_version`], or refuses a newer file.
pub fn migrate(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = current_version();
    if found > known {
        return Err(StoreError::TooNew {
            path: path.to_string(),
            found,
            known,
        });
    }
    for (version, (sql, step)) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if let Some(step) = step {
            step(&tx)?;
        }
        tx.pragma_update(None, "user_version", version as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_file_reaches_the_current_version_and_reopening_is_a_no_op() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("s.db");
        let mut conn = Connection::open(&path).expect("open");
        migrate(&mut conn, "s.db").expect("migrate");
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, current_version());
        migrate(&mut conn, "s.db").expect("again");
    }

    #[test]
    fn a_file_from_a_newer_drivedeck_is_refused_untouched() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("new.db");
        let mut conn = Connection::open(&path).expect("open");
        conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
            .expect("future file");
        let err = migrate(&mut conn, "new.db").expect_err("refused");
        assert!(err.to_string().contains("schema v99"), "{err}");
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type='table'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(tables, 1, "nothing was created in the newer file");
    }
}
