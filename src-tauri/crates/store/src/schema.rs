//! The store's tables, created and upgraded by numbered migrations.
//!
//! `PRAGMA user_version` holds the schema version. Opening runs every migration the file
//! has not seen, each in its own transaction; a file from a newer DriveDeck (a version
//! beyond [`MIGRATIONS`]) is refused rather than guessed at.

use crate::StoreError;
use rusqlite::Connection;

/// Migration `i` takes a file from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // v1: sessions, channels, samples (a row per sample for now), the job journal, link
    // events and the drive-state projection.
    r#"
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
    "#,
];

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
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
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
