//! The journal, sessions, drives, faults and link gaps.

use crate::common::{DRIVE, sample};
use drivedeck_domain::{
    Command, DriveMode, DriveRef, DriveStatus, Event, JobId, JobState, Priority,
};
use drivedeck_store::{JobFilter, Store};

fn status(fault: Option<&str>) -> DriveStatus {
    DriveStatus {
        drive: DRIVE,
        model: "XM430-W350".into(),
        enabled: true,
        mode: DriveMode::Position,
        fault: fault.map(str::to_string),
        target: None,
        position_limits: (0.0, 3.0),
        velocity_limit: 4.8,
        soft_limits: Default::default(),
    }
}

#[test]
fn the_job_journal_follows_each_job_to_one_terminal_state() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("j.db")).expect("open");
    let writer = store.writer();
    writer.start_session("s", "", 0).expect("session");
    let command = Command::Enable { drive: DRIVE };
    writer.apply(Event::JobQueued {
        job: JobId(7),
        command: command.clone(),
        priority: Priority::Safety,
        deadline: Some(15),
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
        priority: Priority::EStop,
        deadline: None,
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
    let jobs = store
        .reader()
        .expect("reader")
        .jobs(&JobFilter::default())
        .expect("jobs");
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
    assert_eq!(enable.link, Some(DRIVE.link));
    assert_eq!(
        (enable.priority.as_str(), enable.deadline_us),
        ("safety", Some(15))
    );
    assert_eq!(
        (jobs[0].priority.as_str(), jobs[0].deadline_us),
        ("eStop", None)
    );
    assert_eq!(store.next_job_id().expect("next"), 9);
}

#[test]
fn a_safe_stop_fills_the_reason_column_and_keeps_it_when_it_fails() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("stop.db")).expect("open");
    let writer = store.writer();
    writer.start_session("s", "", 0).expect("session");
    let why = "no heartbeat from the UI for 581 ms while a drive was enabled";
    for (job, outcome) in [
        (1, JobState::Done),
        (
            2,
            JobState::Failed {
                reason: "link lost: port closed".into(),
            },
        ),
    ] {
        writer.apply(Event::JobQueued {
            job: JobId(job),
            command: Command::SafeStop { reason: why.into() },
            priority: Priority::EStop,
            deadline: None,
            at: 10 * job as i64,
        });
        for state in [JobState::Sent, outcome] {
            writer.apply(Event::JobChanged {
                job: JobId(job),
                state,
                at: 10 * job as i64 + 5,
            });
        }
    }
    writer.flush().expect("flush");
    let jobs = store
        .reader()
        .expect("reader")
        .jobs(&JobFilter::default())
        .expect("jobs");
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[1].state, "done");
    assert_eq!(jobs[1].reason.as_deref(), Some(why));
    assert_eq!(jobs[0].state, "failed");
    assert_eq!(
        jobs[0].reason.as_deref(),
        Some(format!("{why} — link lost: port closed").as_str())
    );
}

#[test]
fn drive_state_projection_keeps_the_last_status_and_sample() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("d.db")).expect("open");
    let writer = store.writer();
    let session = writer.start_session("s", "", 0).expect("session");
    let status = status(None);
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
        writer
            .start_session("first", "bench run", 0)
            .expect("session");
        writer.apply(Event::Samples {
            samples: vec![sample(1, 0.5)],
        });
        writer.start_session("second", "", 100).expect("session");
        store.close();
    }
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.writer().committed(), 3);
    let reader = store.reader().expect("reader");
    let sessions = reader.sessions(None).expect("sessions");
    let names: Vec<&str> = sessions.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["second", "first"]);
    assert_eq!(
        sessions[1].stopped_us,
        Some(100),
        "starting a session stops the last"
    );
}

#[test]
fn the_journal_filters_by_session_drive_command_state_and_time() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("f.db")).expect("open");
    let writer = store.writer();
    let first = writer.start_session("one", "", 0).expect("session");
    let other = DriveRef { link: 2, id: 1 };
    let jobs = [
        (1, Command::Enable { drive: DRIVE }, JobState::Done, 100),
        (2, Command::Disable { drive: other }, JobState::Done, 200),
        (
            3,
            Command::Enable { drive: other },
            JobState::Failed {
                reason: "not armed".into(),
            },
            300,
        ),
    ];
    for (id, command, state, at) in jobs.clone() {
        writer.apply(Event::JobQueued {
            job: JobId(id),
            command,
            priority: Priority::User,
            deadline: None,
            at,
        });
        writer.apply(Event::JobChanged {
            job: JobId(id),
            state,
            at: at + 5,
        });
    }
    let second = writer.start_session("two", "", 1000).expect("session");
    writer.apply(Event::JobQueued {
        job: JobId(4),
        command: Command::EStop,
        priority: Priority::EStop,
        deadline: None,
        at: 1100,
    });
    writer.flush().expect("flush");
    let reader = store.reader().expect("reader");
    let ids = |filter: JobFilter| -> Vec<i64> {
        reader
            .jobs(&filter)
            .expect("jobs")
            .iter()
            .map(|j| j.id)
            .collect()
    };
    assert_eq!(ids(JobFilter::default()), [4, 3, 2, 1]);
    let session = |s| JobFilter {
        session: Some(s),
        ..JobFilter::default()
    };
    assert_eq!(ids(session(first)), [3, 2, 1]);
    assert_eq!(ids(session(second)), [4]);
    assert_eq!(
        ids(JobFilter {
            drive: Some(other),
            ..JobFilter::default()
        }),
        [3, 2]
    );
    assert_eq!(
        ids(JobFilter {
            command: Some("enable".into()),
            ..JobFilter::default()
        }),
        [3, 1]
    );
    assert_eq!(
        ids(JobFilter {
            state: Some("failed".into()),
            ..JobFilter::default()
        }),
        [3]
    );
    assert_eq!(
        ids(JobFilter {
            since_us: Some(200),
            until_us: Some(1000),
            ..JobFilter::default()
        }),
        [3, 2]
    );
    assert_eq!(
        ids(JobFilter {
            limit: 1,
            ..JobFilter::default()
        }),
        [4]
    );
}

#[test]
fn sessions_are_searched_renamed_and_keep_their_drives_faults_and_gaps() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("g.db")).expect("open");
    let writer = store.writer();
    writer
        .start_session("gain sweep", "Kp 800 to 1200", 0)
        .expect("session");
    let tuning = writer
        .start_session("step test 50%_load", "", 10)
        .expect("session");
    writer.apply(Event::LinkUp {
        link: 1,
        port: "/dev/ttyUSB0".into(),
        protocol: "dynamixel2".into(),
        baud: 1_000_000,
        at: 11,
    });
    writer.apply(Event::DriveChanged {
        status: status(None),
        at: 12,
    });
    writer.apply(Event::DriveChanged {
        status: status(Some("overheating")),
        at: 20,
    });
    writer.apply(Event::LinkDown {
        link: 1,
        reason: "port vanished".into(),
        at: 30,
    });
    writer.apply(Event::LinkDown {
        link: 1,
        reason: "still down".into(),
        at: 35,
    });
    writer.apply(Event::LinkUp {
        link: 1,
        port: "/dev/ttyUSB0".into(),
        protocol: "dynamixel2".into(),
        baud: 1_000_000,
        at: 40,
    });
    writer.apply(Event::DriveChanged {
        status: status(None),
        at: 45,
    });
    writer.apply(Event::DriveChanged {
        status: status(Some("overload")),
        at: 50,
    });
    writer.apply(Event::LinkDown {
        link: 1,
        reason: "timeouts".into(),
        at: 60,
    });
    writer.flush().expect("flush");
    writer
        .set_notes(tuning, Some("step test"), "load 50 %, see scope shots")
        .expect("notes");
    assert!(
        writer.set_notes(tuning, Some("  "), "").is_err(),
        "empty name"
    );
    assert!(writer.set_notes(999, None, "x").is_err(), "no such session");
    let reader = store.reader().expect("reader");
    let names = |search: Option<&str>| -> Vec<String> {
        reader
            .sessions(search)
            .expect("sessions")
            .into_iter()
            .map(|s| s.name)
            .collect()
    };
    assert_eq!(names(None), ["step test", "gain sweep"]);
    assert_eq!(names(Some("KP 8")), ["gain sweep"], "notes, any case");
    assert_eq!(names(Some("scope")), ["step test"]);
    assert_eq!(
        names(Some("%")),
        ["step test"],
        "a literal percent in the notes"
    );
    assert_eq!(
        names(Some("_")),
        Vec::<String>::new(),
        "a literal underscore"
    );
    assert_eq!(reader.session_named("step test").expect("named").id, tuning);
    let drives = reader.session_drives(tuning).expect("drives");
    assert_eq!(drives.len(), 1);
    assert_eq!(
        (
            drives[0].model.as_str(),
            drives[0].port.as_str(),
            drives[0].protocol.as_str()
        ),
        ("XM430-W350", "/dev/ttyUSB0", "dynamixel2")
    );
    let faults = reader.faults(tuning).expect("faults");
    let faults: Vec<(&str, i64, Option<i64>)> = faults
        .iter()
        .map(|f| (f.text.as_str(), f.raised_us, f.cleared_us))
        .collect();
    assert_eq!(
        faults,
        [("overheating", 20, Some(45)), ("overload", 50, None)]
    );
    let gaps = reader.gaps(tuning).expect("gaps");
    let gaps: Vec<(&str, i64, Option<i64>)> = gaps
        .iter()
        .map(|g| (g.reason.as_str(), g.from_us, g.to_us))
        .collect();
    assert_eq!(
        gaps,
        [("port vanished", 30, Some(40)), ("timeouts", 60, None)]
    );
}

#[test]
fn a_new_session_starts_with_the_drives_as_the_last_one_left_them() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("carry.db")).expect("open");
    let writer = store.writer();
    let first = writer.start_session("warm-up", "", 0).expect("session");
    writer.apply(Event::LinkUp {
        link: 1,
        port: "/dev/ttyUSB0".into(),
        protocol: "dynamixel2".into(),
        baud: 1_000_000,
        at: 1,
    });
    writer.apply(Event::DriveChanged {
        status: status(Some("overheating")),
        at: 5,
    });
    writer.apply(Event::Samples {
        samples: vec![sample(6, 1.0)],
    });
    let second = writer.start_session("step test", "", 10).expect("session");
    writer.flush().expect("flush");
    let reader = store.reader().expect("reader");
    // The drive does not report again (nothing changed), yet the new session knows it.
    let drives = reader.drives(second).expect("drives");
    assert_eq!(drives.len(), 1);
    let carried = drives[0].status.as_ref().expect("status carried over");
    assert_eq!(carried.model, "XM430-W350");
    assert_eq!(carried.fault.as_deref(), Some("overheating"));
    writer.apply(Event::DriveChanged {
        status: status(None),
        at: 20,
    });
    writer.flush().expect("flush");
    let drives = reader.drives(second).expect("drives");
    assert_eq!(drives[0].status.as_ref().expect("status").fault, None);
    let used = reader.session_drives(second).expect("drives used");
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].port, "/dev/ttyUSB0");
    // The fault still raised at the switch is in the new session, and clears there.
    let faults = reader.faults(second).expect("faults");
    assert_eq!(faults.len(), 1);
    assert_eq!(
        (
            faults[0].text.as_str(),
            faults[0].raised_us,
            faults[0].cleared_us
        ),
        ("overheating", 10, Some(20))
    );
    // The old session keeps its own history and no samples of the new one.
    assert_eq!(reader.faults(first).expect("faults")[0].cleared_us, None);
    assert_eq!(reader.session(first).expect("first").stopped_us, Some(10));
    assert_eq!(reader.session(second).expect("second").samples, 0);
}
