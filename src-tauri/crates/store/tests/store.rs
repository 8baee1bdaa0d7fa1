//! The store end to end on a real SQLite file: writer thread, batching, readers.

use drivedeck_domain::{
    Command, DriveMode, DriveRef, DriveStatus, Event, JobId, JobState, TelemetrySample,
};
use drivedeck_store::Store;

const DRIVE: DriveRef = DriveRef { link: 1, id: 3 };

fn sample(t_us: i64, position: f64) -> TelemetrySample {
    TelemetrySample {
        drive: DRIVE,
        t_us,
        position,
        velocity: position * 2.0,
        current: 0.1,
    }
}

#[test]
fn samples_are_tailed_by_cursor_in_order_and_nothing_is_seen_twice() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("a.db")).expect("open");
    let writer = store.writer();
    let session = writer.start_session("bench", 1_000_000).expect("session");
    for batch in 0..10 {
        let samples = (0..50)
            .map(|i| {
                sample(
                    1_000_000 + (batch * 50 + i) * 5_000,
                    f64::from((batch * 50 + i) as i32),
                )
            })
            .collect();
        writer.apply(Event::Samples { samples });
    }
    writer.flush().expect("flush");
    assert_eq!(writer.committed(), 500 * 3, "three channels per sample");

    let mut reader = store.reader().expect("reader");
    let channels = reader.channels(session).expect("channels");
    let names: Vec<&str> = channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["position", "velocity", "current"]);
    let position = channels[0].id;

    // Page through the position channel 120 rows at a time.
    let mut cursor = 0;
    let mut seen = Vec::new();
    loop {
        let batch = reader
            .tail(session, &[position], cursor, 120)
            .expect("tail");
        assert!(batch.cursor >= cursor);
        if batch.is_empty() {
            assert_eq!(batch.cursor, writer.committed());
            break;
        }
        cursor = batch.cursor;
        seen.extend(batch.series[0].values.iter().copied());
    }
    let expected: Vec<f64> = (0..500).map(f64::from).collect();
    assert_eq!(seen, expected);
    // Times are seconds since the session start.
    let first = reader.tail(session, &[position], 0, 2).expect("tail");
    assert_eq!(first.series[0].t, vec![0.0, 0.005]);
    // Starting at a time skips what came before it.
    let from = reader
        .cursor_at(&[position], 1_000_000 + 499 * 5_000)
        .expect("cursor");
    let last = reader.tail(session, &[position], from, 1000).expect("tail");
    assert_eq!(last.series[0].values, vec![499.0]);
}

#[test]
fn the_job_journal_follows_each_job_to_one_terminal_state() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("j.db")).expect("open");
    let writer = store.writer();
    writer.start_session("s", 0).expect("session");
    let command = Command::Enable { drive: DRIVE };
    writer.apply(Event::JobQueued {
        job: JobId(7),
        command: command.clone(),
        at: 10,
    });
    writer.apply(Event::JobChanged {
        job: JobId(7),
        state: JobState::Sent,
        at: 20,
    });
    writer.apply(Event::JobChanged {
        job: JobId(7),
        state: JobState::Done,
        at: 30,
    });
    // A late report after the terminal state does not rewrite history.
    writer.apply(Event::JobChanged {
        job: JobId(7),
        state: JobState::Failed {
            reason: "late".into(),
        },
        at: 40,
    });
    writer.apply(Event::JobQueued {
        job: JobId(8),
        command: Command::EStop,
        at: 50,
    });
    writer.apply(Event::JobChanged {
        job: JobId(8),
        state: JobState::Cancelled {
            reason: "E-stop".into(),
        },
        at: 60,
    });
    writer.flush().expect("flush");
    let jobs = store.reader().expect("reader").jobs(10).expect("jobs");
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].id, 8);
    assert_eq!(jobs[0].state, "cancelled");
    assert_eq!(jobs[0].reason.as_deref(), Some("E-stop"));
    assert_eq!(jobs[0].drive, None);
    let enable = &jobs[1];
    assert_eq!(
        (enable.command.as_str(), enable.state.as_str()),
        ("enable", "done")
    );
    assert_eq!(
        (enable.queued_us, enable.sent_us, enable.finished_us),
        (10, Some(20), Some(30))
    );
    assert_eq!(enable.drive, Some(DRIVE));
    assert_eq!(store.next_job_id().expect("next"), 9);
}

#[test]
fn drive_state_projection_keeps_the_last_status_and_sample() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("d.db")).expect("open");
    let writer = store.writer();
    let session = writer.start_session("s", 0).expect("session");
    let status = DriveStatus {
        drive: DRIVE,
        model: "XM430-W350".into(),
        enabled: true,
        mode: DriveMode::Position,
        fault: None,
        target: None,
        position_limits: (0.0, 3.0),
        velocity_limit: 4.8,
    };
    writer.apply(Event::DriveChanged {
        status: status.clone(),
        at: 5,
    });
    writer.apply(Event::Samples {
        samples: vec![sample(10, 1.0), sample(20, 2.0)],
    });
    writer.flush().expect("flush");
    let drives = store
        .reader()
        .expect("reader")
        .drives(session)
        .expect("drives");
    assert_eq!(drives.len(), 1);
    assert_eq!(drives[0].status.as_ref(), Some(&status));
    assert_eq!(drives[0].position, Some(2.0));
    assert_eq!(drives[0].sample_us, Some(20));
}

#[test]
fn committed_samples_survive_reopening_and_sessions_are_listed() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("r.db");
    {
        let store = Store::open(&path).expect("open");
        let writer = store.writer();
        writer.start_session("first", 0).expect("session");
        writer.apply(Event::Samples {
            samples: vec![sample(1, 0.5)],
        });
        writer.start_session("second", 100).expect("session");
        store.close();
    }
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.writer().committed(), 3);
    let reader = store.reader().expect("reader");
    let sessions = reader.sessions().expect("sessions");
    let names: Vec<&str> = sessions.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["second", "first"]);
    assert_eq!(
        sessions[1].stopped_us,
        Some(100),
        "starting a session stops the last"
    );
}
