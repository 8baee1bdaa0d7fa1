//! Migrations: a v1 file (a row per sample) opens, upgrades, and reads the same.

use drivedeck_store::{Store, TailCursor, schema};
use rusqlite::{Connection, params};

#[test]
fn a_v1_file_is_upgraded_and_its_samples_read_back_the_same() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    {
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch(schema::MIGRATIONS[0].0)
            .expect("v1 schema");
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO sessions (id, name, started_us, stopped_us) VALUES (1, 'old run', 1000, 9000000);
             INSERT INTO channels (id, session_id, link, drive_id, name, unit)
                 VALUES (1, 1, 0, 1, 'position', 'rad'), (2, 1, 0, 1, 'velocity', 'rad/s');",
        )
        .expect("v1 rows");
        let mut insert = conn
            .prepare("INSERT INTO samples (channel_id, t_us, value) VALUES (?1, ?2, ?3)")
            .expect("insert");
        for k in 0..5000i64 {
            insert
                .execute(params![1, 1000 + k * 1000, k as f64 * 0.5])
                .expect("row");
            insert
                .execute(params![2, 1000 + k * 1000, -(k as f64)])
                .expect("row");
        }
    }
    let store = Store::open(&path).expect("upgraded");
    assert_eq!(store.writer().committed(), 10_000);
    let reader = store.reader().expect("reader");
    let channels = reader.channels(1).expect("channels");
    assert_eq!(channels[0].samples, 5000);
    let samples = reader.channel_samples(channels[0].id).expect("samples");
    assert_eq!(samples.len(), 5000);
    assert_eq!(samples[4999], (1000 + 4999 * 1000, 2499.5));
    let tail = reader
        .tail(1, &[channels[1].id], &TailCursor::new(), None, 3)
        .expect("tail");
    assert_eq!(tail.series[0].values, [0.0, -1.0, -2.0]);
    assert_eq!(tail.series[0].t, [0.0, 0.001, 0.002]);
    // Rollups were built: a coarse window is served from level 1.
    let window = reader
        .window(1, &[channels[0].id], 0.0, 5.0, 50)
        .expect("window");
    assert_eq!(window.series[0].level, 1);
    assert_eq!(window.series[0].values.first(), Some(&0.0));
    let conn = Connection::open(&path).expect("raw");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, schema::current_version());
    let old_table: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'samples'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(old_table, 0, "the row-per-sample table is gone");
}

#[test]
fn a_file_from_a_newer_drivedeck_is_refused_by_the_store_and_by_readers() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("future.db");
    Connection::open(&path)
        .expect("create")
        .execute_batch("CREATE TABLE future (x); PRAGMA user_version = 42;")
        .expect("future");
    let err = Store::open(&path).err().expect("refused");
    assert!(err.to_string().contains("schema v42"), "{err}");
    let err = drivedeck_store::Reader::open(&path).err().expect("refused");
    assert!(err.to_string().contains("newer DriveDeck"), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_refused_clearly_and_left_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("notes.db");
    std::fs::write(&path, b"these are my notes, not a database").expect("write");
    let err = Store::open(&path).err().expect("refused");
    assert!(
        err.to_string().contains("not a DriveDeck database"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).expect("read"),
        b"these are my notes, not a database"
    );
}

#[test]
fn a_v2_journal_keeps_its_jobs_and_learns_their_classes() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("v2.db");
    {
        let conn = Connection::open(&path).expect("create");
        for (sql, _) in &schema::MIGRATIONS[..2] {
            conn.execute_batch(sql).expect("v1 + v2 schema");
        }
        conn.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO sessions (id, name, started_us) VALUES (1, 'old', 0);
             INSERT INTO jobs (id, session_id, command, link, drive_id, detail, state, queued_us)
                 VALUES (1, 1, 'enable', 1, 3, '{}', 'done', 10),
                        (2, 1, 'eStop', NULL, NULL, '{}', 'done', 20);",
        )
        .expect("v2 rows");
    }
    let store = Store::open(&path).expect("upgraded");
    let jobs = store
        .reader()
        .expect("reader")
        .jobs(&drivedeck_store::JobFilter::default())
        .expect("jobs");
    let classes: Vec<(i64, &str, Option<i64>)> = jobs
        .iter()
        .map(|j| (j.id, j.priority.as_str(), j.deadline_us))
        .collect();
    assert_eq!(classes, [(2, "eStop", None), (1, "user", None)]);
    assert_eq!(store.next_job_id().expect("next"), 3);
}
