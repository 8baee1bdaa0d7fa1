//! Tuning runs end to end: the engine, the simulated rig over a real pty and a real
//! store file. A test is one job: refused before anything is sent when it leaves the
//! limits; played at the link's full rate; aborted by an abort, an E-stop or the travel
//! window; the drive put back as it was.

use drivedeck_domain::{Command, DriveRef, Excitation, JobState, TestLoop, TestSpec};
use drivedeck_e2e::*;
use drivedeck_proto::profile::Protocol;
use std::time::Duration;

const DRIVE_1: DriveRef = DriveRef { link: 1, id: 1 };

fn step(size: f64, hold_s: f64) -> TestSpec {
    TestSpec {
        test_loop: TestLoop::Position,
        excitation: Excitation::Step {
            size,
            hold_s,
            repeats: 1,
        },
        travel_window_rad: 0.5,
        settle_s: 0.2,
    }
}

/// An engine on the simulated XM430s with drive 1 enabled and its position known.
async fn enabled_rig(dir: &tempfile::TempDir) -> drivedeck_engine::Engine {
    let engine = sim_engine(dir, Protocol::Dynamixel2).await;
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    // The first telemetry gives the link the position a test starts from.
    tokio::time::sleep(Duration::from_millis(200)).await;
    engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_test_plays_the_step_and_puts_the_drive_back() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = enabled_rig(&dir).await;
    let goal_before = sim_raw(&engine, 1, "Goal Position");
    let heard_before = heard(&engine).len();
    let job = engine
        .submit(Command::Tune {
            drive: DRIVE_1,
            test: step(0.2, 0.6),
        })
        .expect("accepted");
    let state = tokio::time::timeout(Duration::from_secs(10), job.outcome())
        .await
        .expect("the run ended");
    assert_eq!(state, JobState::Done);
    // The step went out: a goal 0.2 rad (≈ 133 counts) above the start, then back.
    let goals: Vec<i64> = heard(&engine)[heard_before..]
        .iter()
        .filter(|p| {
            p.id == 1 && p.instruction == 0x03 && p.params.get(..2) == Some(&116u16.to_le_bytes())
        })
        .map(|p| {
            i64::from(i32::from_le_bytes(
                p.params[2..6].try_into().expect("4 bytes"),
            ))
        })
        .collect();
    let up = (0.2 / (std::f64::consts::TAU / 4096.0)).round() as i64;
    assert!(goals.len() >= 3, "goals written: {goals:?}");
    assert!(
        goals.iter().any(|g| (g - goal_before - up).abs() <= 2),
        "a goal {up} counts above {goal_before} in {goals:?}"
    );
    // Put back where it stood.
    assert!((sim_raw(&engine, 1, "Goal Position") - goal_before).abs() <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_outside_the_limits_is_refused_and_sends_nothing() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = enabled_rig(&dir).await;
    let writes = writes_heard(&engine, Protocol::Dynamixel2);
    // Beyond its own travel window.
    let err = engine
        .submit(Command::Tune {
            drive: DRIVE_1,
            test: step(0.8, 0.5),
        })
        .expect_err("refused");
    assert!(err.to_string().contains("travel window"), "{err}");
    // Drive 2 is not enabled.
    let err = engine
        .submit(Command::Tune {
            drive: DriveRef { link: 1, id: 2 },
            test: step(0.1, 0.5),
        })
        .expect_err("refused");
    assert!(err.to_string().contains("not enabled"), "{err}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(writes_heard(&engine, Protocol::Dynamixel2), writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_and_an_estop_end_a_run_early() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = enabled_rig(&dir).await;
    let goal_before = sim_raw(&engine, 1, "Goal Position");
    let job = engine
        .submit(Command::Tune {
            drive: DRIVE_1,
            test: step(0.2, 3.0),
        })
        .expect("accepted");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let abort = engine
        .submit_with(
            Command::AbortTune { drive: DRIVE_1 },
            drivedeck_bus::JobOptions {
                priority: drivedeck_domain::Priority::Safety,
                ..Default::default()
            },
        )
        .expect("abort accepted");
    let started = std::time::Instant::now();
    let state = outcome(job).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "aborted at once"
    );
    assert!(
        matches!(&state, JobState::Failed { reason } if reason.contains("aborted by the user")),
        "{state:?}"
    );
    assert_eq!(outcome(abort).await, JobState::Done);
    assert!((sim_raw(&engine, 1, "Goal Position") - goal_before).abs() <= 2);
    // An E-stop ends the next run and leaves the drive stopped.
    let job = engine
        .submit(Command::Tune {
            drive: DRIVE_1,
            test: step(0.2, 3.0),
        })
        .expect("accepted");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(run(&engine, Command::EStop).await, JobState::Done);
    let state = outcome(job).await;
    assert!(
        matches!(&state, JobState::Failed { reason } if reason.contains("E-stop")),
        "{state:?}"
    );
    assert_eq!(sim_raw(&engine, 1, "Torque Enable"), 0);
}
