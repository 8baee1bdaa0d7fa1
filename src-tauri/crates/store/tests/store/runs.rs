//! Tuning runs: the row through a run's life, its readings as channels, the automatic
//! session, the run list, results, crash repair, and the upgrade of a v3 file.

use crate::common::{DRIVE, T0, sample, store_with_session};
use drivedeck_domain::{
    DriveMode, DriveRef, Event, Excitation, JobId, RunClock, RunEnd, RunOutcome, RunStart, Target,
    TestLoop, TestSpec, TuneSample,
};
use drivedeck_store::{ChannelRow, RunFilter, Store, schema};
use rusqlite::Connection;

fn step() -> Excitation {
    Excitation::Step {
        size: 0.1,
        hold_s: 0.5,
        repeats: 2,
    }
}

fn chirp() -> Excitation {
    Excitation::Chirp {
        start_hz: 0.5,
        end_hz: 40.0,
        amplitude: 0.05,
        duration_s: 10.0,
        sweep: drivedeck_domain::SweepKind::Log,
        falling_amplitude: false,
    }
}

fn start(job: u64, drive: DriveRef, test_loop: TestLoop, excitation: Excitation, at: i64) -> Event {
    Event::RunStarted {
        start: Box::new(RunStart {
            job: JobId(job),
            drive,
            test: TestSpec {
                test_loop,
                excitation,
                travel_window_rad: 0.5,
                settle_s: 0.2,
            },
            profile: "XM430-W350".into(),
            clock: RunClock::Drive,
            mode_before: Some(DriveMode::Position),
            target_before: Some(Target::Position(1.25)),
            start_position: 1.25,
            gains: vec![
                ("Position P Gain".into(), 6.25),
                ("Position D Gain".into(), 0.0),
            ],
            wire_limit_hz: 1800.0,
            at,
        }),
    }
}

fn end(job: u64, drive: DriveRef, outcome: RunOutcome, at: i64) -> Event {
    end_played(job, drive, outcome, at, None)
}

/// [`end`] with the wire-time limit of the cycles as played.
fn end_played(
    job: u64,
    drive: DriveRef,
    outcome: RunOutcome,
    at: i64,
    played_limit_hz: Option<f64>,
) -> Event {
    Event::RunEnded {
        end: RunEnd {
            job: JobId(job),
            drive,
            outcome,
            samples: 4,
            achieved_rate_hz: 1000.0,
            jitter_s: 0.000_05,
            played_limit_hz,
            at,
        },
    }
}

/// Readings `k` in `range` of `drive`, 1 ms apart from `from`: reference k/10, output
/// NaN on every third, drive clock k ms (NaN on the first).
fn readings(drive: DriveRef, from: i64, range: std::ops::Range<u32>) -> Event {
    Event::TuneSamples {
        samples: range
            .map(|k| TuneSample {
                drive,
                t_us: from + i64::from(k) * 1000,
                reference: f64::from(k) / 10.0,
                output: if k % 3 == 2 {
                    f64::NAN
                } else {
                    f64::from(k) * 0.25
                },
                drive_time_s: if k == 0 {
                    f64::NAN
                } else {
                    f64::from(k) / 1000.0
                },
            })
            .collect(),
    }
}

fn channel<'a>(channels: &'a [ChannelRow], drive: DriveRef, name: &str) -> &'a ChannelRow {
    channels
        .iter()
        .find(|c| c.drive == drive && c.name == name)
        .unwrap_or_else(|| panic!("channel {name} of {drive}"))
}

#[test]
fn a_run_round_trips_its_row_and_its_readings_as_three_channels_with_gaps() {
    let (_dir, store, session) = store_with_session("run");
    let writer = store.writer();
    writer.apply(start(7, DRIVE, TestLoop::Position, step(), T0 + 1000));
    writer.apply(Event::Samples {
        samples: (0..4).map(|k| sample(T0 + 2000 + k * 1000, 1.0)).collect(),
    });
    writer.apply(readings(DRIVE, T0 + 2000, 0..4));
    writer.flush().expect("flush");
    let reader = store.reader().expect("reader");
    let running = reader.run(7).expect("run").expect("kept");
    assert_eq!(running.state, "running");
    assert_eq!(running.finished_us, None);
    assert_eq!(running.samples, None);
    // The limit as played replaces the one known at the start (1800 Hz).
    writer.apply(end_played(
        7,
        DRIVE,
        RunOutcome::Completed,
        T0 + 9000,
        Some(2400.0),
    ));
    writer.flush().expect("flush");
    // While the session is open the channels are readable (fragments).
    let channels = reader.channels(session).expect("channels");
    let reference = channel(&channels, DRIVE, "reference");
    assert_eq!(reference.unit, "rad");
    let values = reader.channel_samples(reference.id).expect("reference");
    let reference_values: Vec<(i64, f64)> = (0..4)
        .map(|k| (T0 + 2000 + k * 1000, f64::from((k as f64 / 10.0) as f32)))
        .collect();
    assert_eq!(values, reference_values);
    writer.stop_session(T0 + 10_000);
    writer.flush().expect("flush");

    let run = reader.run(7).expect("run").expect("kept");
    assert_eq!(run.session, Some(session));
    assert_eq!(run.drive, DRIVE);
    assert_eq!(
        (run.test.as_str(), run.test_loop.as_str()),
        ("step", "position")
    );
    assert_eq!(run.spec["excitation"]["kind"], "step");
    assert_eq!(run.spec["loop"], "position");
    assert_eq!(run.spec["travelWindowRad"], 0.5);
    assert_eq!(run.profile, "XM430-W350");
    assert_eq!(run.clock, "drive");
    assert_eq!(
        run.gains,
        serde_json::json!([["Position P Gain", 6.25], ["Position D Gain", 0.0]])
    );
    assert_eq!(run.start_position, Some(1.25));
    assert_eq!(run.mode_before.as_deref(), Some("position"));
    assert_eq!(
        run.target_before,
        Some(serde_json::json!({"position": 1.25}))
    );
    assert_eq!(run.wire_limit_hz, Some(2400.0));
    assert_eq!(
        (run.started_us, run.finished_us),
        (T0 + 1000, Some(T0 + 9000))
    );
    assert_eq!(
        (run.state.as_str(), run.reason.as_deref()),
        ("completed", None)
    );
    assert_eq!(run.samples, Some(4));
    assert_eq!(run.achieved_rate_hz, Some(1000.0));
    assert_eq!(run.jitter_s, Some(0.000_05));
    assert_eq!((run.results.as_ref(), run.results_at_us), (None, None));

    let channels = reader.channels(session).expect("channels");
    let names: Vec<(&str, &str)> = channels
        .iter()
        .map(|c| (c.name.as_str(), c.unit.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("position", "rad"),
            ("velocity", "rad/s"),
            ("current", "A"),
            ("reference", "rad"),
            ("output", "1"),
            ("drive_time", "s"),
        ]
    );
    let reference = channel(&channels, DRIVE, "reference");
    assert_eq!(
        reader.channel_samples(reference.id).expect("reference"),
        reference_values
    );
    // Output: a NaN is a gap at its time (not a zero, not a missing time).
    let output = reader
        .channel_samples(channel(&channels, DRIVE, "output").id)
        .expect("output");
    assert_eq!(output.len(), 4);
    assert_eq!(output[0], (T0 + 2000, 0.0));
    assert_eq!(output[1], (T0 + 3000, 0.25));
    assert_eq!(output[2].0, T0 + 4000);
    assert!(output[2].1.is_nan(), "a gap: {:?}", output[2]);
    assert_eq!(output[3], (T0 + 5000, 0.75));
    // The drive clock's channel starts at its first real reading.
    let drive_time = reader
        .channel_samples(channel(&channels, DRIVE, "drive_time").id)
        .expect("drive_time");
    let expected: Vec<(i64, f64)> = (1..4)
        .map(|k| (T0 + 2000 + k * 1000, f64::from((k as f64 / 1000.0) as f32)))
        .collect();
    assert_eq!(drive_time, expected);
    // Every value counts in the committed cursor, as a reopened store counts them.
    let committed = writer.committed();
    assert_eq!(committed, 4 * 3 + 4 + 4 + 3);
    drop(reader);
    store.close();
    let again = Store::open(store.path()).expect("reopen");
    assert_eq!(again.writer().committed(), committed);
}

#[test]
fn a_run_with_no_session_open_records_into_an_automatic_session_for_its_length() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("auto.db")).expect("open");
    let writer = store.writer();
    let drive = DriveRef { link: 2, id: 5 };
    // Telemetry with no session is dropped, as always.
    writer.apply(Event::Samples {
        samples: vec![sample(T0, 0.5)],
    });
    writer.apply(start(12, drive, TestLoop::Velocity, chirp(), T0 + 1000));
    writer.apply(readings(drive, T0 + 2000, 0..3));
    writer.apply(end(
        12,
        drive,
        RunOutcome::Aborted {
            reason: "travel window left".into(),
        },
        T0 + 6000,
    ));
    // After the run, the writer is back to not recording.
    writer.apply(readings(drive, T0 + 7000, 3..5));
    writer.flush().expect("flush");
    let reader = store.reader().expect("reader");
    let sessions = reader.sessions(None).expect("sessions");
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let session = &sessions[0];
    assert_eq!(session.name, "Tuning run 12 · chirp on drive 2/5");
    assert_eq!(
        (session.started_us, session.stopped_us),
        (T0 + 1000, Some(T0 + 6000))
    );
    let run = reader.run(12).expect("run").expect("kept");
    assert_eq!(run.session, Some(session.id));
    assert_eq!(run.state, "aborted");
    assert_eq!(run.reason.as_deref(), Some("travel window left"));
    let channels = reader.channels(session.id).expect("channels");
    let reference = channel(&channels, drive, "reference");
    assert_eq!(reference.unit, "rad/s", "the velocity loop's unit");
    assert_eq!(reference.samples, 3);
    assert_eq!(
        writer.committed(),
        3 + 3 + 2,
        "a gap counts once its channel exists"
    );
    // A session the user opens later is theirs, not the run's.
    let later = writer
        .start_session("bench", "", T0 + 20_000)
        .expect("session");
    writer.apply(start(13, drive, TestLoop::Velocity, step(), T0 + 21_000));
    writer.apply(end(13, drive, RunOutcome::Completed, T0 + 22_000));
    writer.apply(Event::Samples {
        samples: vec![sample(T0 + 23_000, 1.0)],
    });
    writer.flush().expect("flush");
    assert_eq!(reader.sessions(None).expect("sessions").len(), 2);
    assert_eq!(reader.session(later).expect("session").stopped_us, None);
    assert_eq!(
        reader.run(13).expect("run").expect("kept").session,
        Some(later)
    );
}

#[test]
fn a_session_with_runs_in_both_loops_keeps_one_unit_per_reference_channel() {
    let (_dir, store, session) = store_with_session("loops");
    let writer = store.writer();
    writer.apply(start(1, DRIVE, TestLoop::Position, step(), T0));
    writer.apply(readings(DRIVE, T0 + 1000, 0..2));
    writer.apply(end(1, DRIVE, RunOutcome::Completed, T0 + 5000));
    writer.apply(start(2, DRIVE, TestLoop::Velocity, chirp(), T0 + 10_000));
    writer.apply(readings(DRIVE, T0 + 11_000, 0..3));
    writer.apply(end(2, DRIVE, RunOutcome::Completed, T0 + 20_000));
    writer.apply(start(3, DRIVE, TestLoop::Position, step(), T0 + 30_000));
    writer.apply(readings(DRIVE, T0 + 31_000, 0..1));
    writer.apply(end(3, DRIVE, RunOutcome::Completed, T0 + 40_000));
    writer.stop_session(T0 + 50_000);
    writer.flush().expect("flush");
    let reader = store.reader().expect("reader");
    let channels = reader.channels(session).expect("channels");
    let position = channel(&channels, DRIVE, "reference");
    assert_eq!((position.unit.as_str(), position.samples), ("rad", 3));
    let velocity = channel(&channels, DRIVE, "reference.velocity");
    assert_eq!((velocity.unit.as_str(), velocity.samples), ("rad/s", 3));
    let times: Vec<i64> = reader
        .channel_samples(position.id)
        .expect("samples")
        .iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(times, [T0 + 1000, T0 + 2000, T0 + 31_000]);
}

#[test]
fn the_run_list_filters_by_drive_test_time_and_limit_newest_first() {
    let (_dir, store, _session) = store_with_session("list");
    let writer = store.writer();
    let other = DriveRef { link: 2, id: 3 };
    let runs = [
        (1, DRIVE, step()),
        (2, DRIVE, chirp()),
        (3, other, step()),
        (4, DRIVE, step()),
        (5, other, chirp()),
    ];
    for (job, drive, excitation) in runs {
        let at = T0 + job as i64 * 1_000_000;
        writer.apply(start(job, drive, TestLoop::Position, excitation, at));
        writer.apply(end(job, drive, RunOutcome::Completed, at + 500_000));
    }
    writer.flush().expect("flush");
    let reader = store.reader().expect("reader");
    let ids = |filter: RunFilter| -> Vec<i64> {
        reader
            .runs(&filter)
            .expect("runs")
            .iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(ids(RunFilter::default()), [5, 4, 3, 2, 1]);
    let on_drive = RunFilter {
        link: Some(DRIVE.link),
        drive_id: Some(DRIVE.id),
        ..RunFilter::default()
    };
    assert_eq!(ids(on_drive.clone()), [4, 2, 1]);
    assert_eq!(
        ids(RunFilter {
            drive_id: Some(3),
            ..RunFilter::default()
        }),
        [5, 4, 3, 2, 1],
        "both drives have bus ID 3"
    );
    assert_eq!(
        ids(RunFilter {
            test: Some("step".into()),
            ..on_drive.clone()
        }),
        [4, 1]
    );
    assert_eq!(
        ids(RunFilter {
            test: Some("chirp".into()),
            ..RunFilter::default()
        }),
        [5, 2]
    );
    assert_eq!(
        ids(RunFilter {
            since_us: Some(T0 + 2_000_000),
            until_us: Some(T0 + 4_000_000),
            ..RunFilter::default()
        }),
        [3, 2],
        "since is inclusive, until exclusive"
    );
    assert_eq!(
        ids(RunFilter {
            limit: 2,
            ..RunFilter::default()
        }),
        [5, 4]
    );
    assert!(
        ids(RunFilter {
            test: Some("relay".into()),
            ..RunFilter::default()
        })
        .is_empty()
    );
    assert_eq!(reader.run(99).expect("query"), None);
}

#[test]
fn results_are_kept_replaced_and_refused_when_not_json_or_for_no_run() {
    let (_dir, store, _session) = store_with_session("results");
    let writer = store.writer();
    writer.apply(start(4, DRIVE, TestLoop::Position, step(), T0));
    writer.apply(end(4, DRIVE, RunOutcome::Completed, T0 + 1000));
    // Sent right behind the run's events: they are committed first.
    writer
        .set_run_results(
            4,
            r#"{"step":{"rise_time_s":0.02},"notes":[]}"#.into(),
            T0 + 2000,
        )
        .expect("results");
    let reader = store.reader().expect("reader");
    let run = reader.run(4).expect("run").expect("kept");
    assert_eq!(
        run.results.as_ref().map(|r| &r["step"]["rise_time_s"]),
        Some(&serde_json::json!(0.02))
    );
    assert_eq!(run.results_at_us, Some(T0 + 2000));
    writer
        .set_run_results(4, r#"{"notes":["re-analysed"]}"#.into(), T0 + 3000)
        .expect("again");
    let run = reader.run(4).expect("run").expect("kept");
    assert_eq!(
        run.results,
        Some(serde_json::json!({"notes": ["re-analysed"]}))
    );
    assert_eq!(run.results_at_us, Some(T0 + 3000));
    let err = writer
        .set_run_results(4, "{not json".into(), T0 + 4000)
        .expect_err("not JSON");
    assert!(err.to_string().contains("not JSON"), "{err}");
    let err = writer
        .set_run_results(5, "{}".into(), T0 + 4000)
        .expect_err("no run 5");
    assert!(err.to_string().contains("run 5 not found"), "{err}");
    let run = reader.run(4).expect("run").expect("kept");
    assert_eq!(
        run.results_at_us,
        Some(T0 + 3000),
        "refusals changed nothing"
    );
    // The writer goes on recording after a refusal.
    writer.apply(start(6, DRIVE, TestLoop::Position, step(), T0 + 5000));
    writer.flush().expect("flush");
    assert!(reader.run(6).expect("run").is_some());
}

#[test]
fn a_run_still_running_when_the_store_crashed_is_aborted_on_reopen() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("crash.db");
    let crashed = Store::open(&path).expect("open");
    let writer = crashed.writer();
    writer.start_session("crash", "", T0).expect("session");
    writer.apply(start(8, DRIVE, TestLoop::Position, step(), T0 + 1000));
    writer.apply(readings(DRIVE, T0 + 2000, 0..5));
    writer.apply(start(
        9,
        DriveRef { link: 1, id: 4 },
        TestLoop::Position,
        step(),
        T0 + 3000,
    ));
    writer.apply(end(7, DRIVE, RunOutcome::Completed, T0 + 3000));
    writer.flush().expect("flush");
    // The process dies: nothing closes the session or ends the runs.
    std::mem::forget(crashed);
    let store = Store::open(&path).expect("reopen");
    let reader = store.reader().expect("reader");
    let run = reader.run(8).expect("run").expect("kept");
    assert_eq!(run.state, "aborted");
    assert_eq!(
        run.reason.as_deref(),
        Some("DriveDeck stopped during the run")
    );
    assert_eq!(
        run.finished_us,
        Some(T0 + 6000),
        "its last reference reading"
    );
    let silent = reader.run(9).expect("run").expect("kept");
    assert_eq!(silent.state, "aborted");
    assert_eq!(
        silent.finished_us,
        Some(T0 + 3000),
        "no readings: its start"
    );
    let session = reader.session_named("crash").expect("session");
    let channels = reader.channels(session.id).expect("channels");
    let reference = channel(&channels, DRIVE, "reference");
    assert_eq!(reference.samples, 5);
    assert_eq!(
        reader.channel_samples(reference.id).expect("samples").len(),
        5
    );
}

#[test]
fn a_run_going_when_the_store_closes_is_aborted_and_its_session_exports_its_channels() {
    let (_dir, store, session) = store_with_session("closed");
    let writer = store.writer();
    writer.apply(start(3, DRIVE, TestLoop::Position, step(), T0 + 1000));
    writer.apply(readings(DRIVE, T0 + 2000, 0..2));
    writer.flush().expect("flush");
    store.close();
    let reader = store.reader().expect("reader");
    let run = reader.run(3).expect("run").expect("kept");
    assert_eq!(run.state, "aborted");
    assert_eq!(
        run.reason.as_deref(),
        Some("DriveDeck stopped during the run")
    );
    assert_eq!(run.finished_us, Some(T0 + 3000));
    let mut out = Vec::new();
    let range = drivedeck_store::export::ExportRange {
        session,
        channels: Vec::new(),
        from_s: None,
        to_s: None,
    };
    let rows = drivedeck_store::export::write_csv(&reader, &range, &mut out).expect("csv");
    assert_eq!(rows, 2);
    let text = String::from_utf8(out).expect("utf-8");
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "time_s,link1.drive3 reference [rad],link1.drive3 output [1],link1.drive3 drive_time [s]"
    );
    assert_eq!(
        lines[1], "0.002000,0,0,",
        "no drive clock yet: an empty cell"
    );
    assert_eq!(lines[2], "0.003000,0.1,0.25,0.001");
}

#[test]
fn a_v3_file_is_upgraded_and_keeps_runs_from_then_on() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("v3.db");
    {
        let conn = Connection::open(&path).expect("create");
        for (sql, _) in &schema::MIGRATIONS[..3] {
            conn.execute_batch(sql).expect("v1..v3 schema");
        }
        conn.execute_batch(
            "PRAGMA user_version = 3;
             INSERT INTO sessions (id, name, started_us, stopped_us) VALUES (1, 'old', 0, 10);
             INSERT INTO jobs (id, session_id, command, link, drive_id, detail, state, queued_us)
                 VALUES (1, 1, 'enable', 1, 3, '{}', 'done', 5);",
        )
        .expect("v3 rows");
    }
    let store = Store::open(&path).expect("upgraded");
    assert_eq!(store.next_job_id().expect("next"), 2);
    let reader = store.reader().expect("reader");
    assert_eq!(reader.session(1).expect("old").name, "old");
    assert!(reader.runs(&RunFilter::default()).expect("runs").is_empty());
    let writer = store.writer();
    writer.start_session("new", "", T0).expect("session");
    writer.apply(start(2, DRIVE, TestLoop::Position, step(), T0 + 1000));
    writer.flush().expect("flush");
    assert_eq!(reader.runs(&RunFilter::default()).expect("runs").len(), 1);
    let conn = Connection::open(&path).expect("raw");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, schema::current_version());
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tuning_runs' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("names");
    assert_eq!(indexes, ["tuning_runs_by_drive", "tuning_runs_by_test"]);
}
