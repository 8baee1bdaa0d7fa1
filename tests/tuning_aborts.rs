//! Every way a tuning run can be cut short, end to end on the simulated XM430s over a
//! real pty: a fault the drive reports, the UI's heartbeat lost, the link lost, the
//! drive pushed out of the run's travel window. Each ends the run at once with the drive
//! holding or stopped, the run stored as aborted with its reason, the journal saying
//! why, and — where the drive can still be reached — the mode, target and gains it had
//! before put back. (The user's abort and the E-stop are in `tuning.rs`.)

use drivedeck_domain::{Command, DriveRef, Excitation, JobState, TestLoop, TestSpec};
use drivedeck_e2e::*;
use drivedeck_engine::{Engine, EngineConfig};
use drivedeck_proto::profile::Protocol;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const DRIVE_1: DriveRef = DriveRef { link: 1, id: 1 };

/// A long step: the run is still playing when the test cuts it short.
fn long_step() -> TestSpec {
    TestSpec {
        test_loop: TestLoop::Position,
        excitation: Excitation::Step {
            size: 0.2,
            hold_s: 4.0,
            repeats: 1,
        },
        travel_window_rad: 0.5,
        settle_s: 0.2,
    }
}

/// Drive 1 enabled on an engine over simulated XM430s 1 and 2, its position known.
async fn enabled(engine: &Engine) {
    assert_eq!(enable(engine, DRIVE_1).await, JobState::Done);
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// What a run left behind: the run's stored state and reason, the tune job's journal
/// reason.
struct Ended {
    state: JobState,
    run_state: String,
    run_reason: String,
    journal_reason: String,
    took: Duration,
}

/// Starts `test` on drive 1, lets it play for `after`, does `cut`, and waits for the
/// run's end.
async fn cut_short(engine: &Engine, after: Duration, cut: impl FnOnce()) -> Ended {
    let job = engine
        .submit(Command::Tune {
            drive: DRIVE_1,
            test: long_step(),
        })
        .expect("accepted");
    let id = job.id.0 as i64;
    tokio::time::sleep(after).await;
    let cut_at = Instant::now();
    cut();
    let state = outcome(job).await;
    let took = cut_at.elapsed();
    engine.flush().expect("flush");
    let reader = engine.reader().expect("reader");
    let run = reader
        .runs(&Default::default())
        .expect("runs")
        .into_iter()
        .next()
        .expect("the run is stored");
    let journal_reason = journal(engine)
        .into_iter()
        .find(|row| row.id == id)
        .and_then(|row| row.reason)
        .unwrap_or_default();
    Ended {
        state,
        run_state: run.state,
        run_reason: run.reason.unwrap_or_default(),
        journal_reason,
        took,
    }
}

impl Ended {
    fn assert_aborted(&self, says: &str) {
        assert!(
            matches!(&self.state, JobState::Failed { reason } if reason.contains(says)),
            "job: {:?}, wanted {says:?}",
            self.state
        );
        assert_eq!(self.run_state, "aborted", "{}", self.run_reason);
        assert!(self.run_reason.contains(says), "run: {}", self.run_reason);
        assert!(
            self.journal_reason.contains(says),
            "journal: {:?}",
            self.journal_reason
        );
        // Cut short, not played out: the step alone holds for 4 s.
        assert!(self.took < Duration::from_secs(3), "took {:?}", self.took);
    }
}

/// The gains of drive 1's position loop, read off the simulated drive.
fn gains(engine: &Engine) -> Vec<i64> {
    ["Position P Gain", "Position I Gain", "Position D Gain"]
        .iter()
        .map(|name| sim_raw(engine, 1, name))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_the_drive_reports_aborts_the_run() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    // Shutdown as a user sets it to stop on a sagging supply too (bit 0, Input Voltage
    // Error, beside the factory's overheating, electrical shock and overload).
    engine
        .with_sim_rig(1, |rig| {
            rig.with_drives(|drives| {
                let shutdown = drives[0]
                    .profile()
                    .register("Shutdown")
                    .expect("Shutdown")
                    .address;
                drives[0].write(shutdown, &[0x35]).expect("written");
            })
        })
        .expect("the rig");
    enabled(&engine).await;
    let gains_before = gains(&engine);
    let ended = cut_short(&engine, Duration::from_millis(600), || {
        // The supply sags below Min Voltage Limit: the XM430 latches an Input Voltage
        // error in Hardware Error Status and shuts its torque off.
        engine
            .with_sim_rig(1, |rig| {
                rig.with_drives(|drives| drives[0].set_supply_voltage(6.0))
            })
            .expect("the rig");
    })
    .await;
    ended.assert_aborted("drive 1 reports a fault");
    assert!(
        ended.run_reason.to_lowercase().contains("voltage"),
        "{}",
        ended.run_reason
    );
    assert_eq!(gains(&engine), gains_before, "the gains are as they were");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_heartbeat_lost_aborts_the_run_and_stops_the_drive() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = EngineConfig::new(dir.path().join("e2e.db"));
    config.heartbeat_timeout = Some(Duration::from_millis(500));
    let engine = Arc::new(Engine::start(config).expect("engine"));
    let beating = Arc::new(AtomicBool::new(true));
    let beats = {
        let (engine, beating) = (Arc::clone(&engine), Arc::clone(&beating));
        tokio::spawn(async move {
            while beating.load(Ordering::Relaxed) {
                engine.heartbeat();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    engine
        .connect_sim_rig(Protocol::Dynamixel2, &[1, 2])
        .await
        .expect("sim rig");
    enabled(&engine).await;
    let ended = cut_short(&engine, Duration::from_millis(600), || {
        beating.store(false, Ordering::Relaxed);
    })
    .await;
    beats.await.expect("beats ended");
    ended.assert_aborted("safe stop");
    // The supervisor's stop says why, and the drive is off: nothing re-enables it.
    let stop = journal(&engine)
        .into_iter()
        .find(|row| row.command == "safeStop")
        .expect("a safe stop journaled");
    assert!(
        stop.reason
            .as_deref()
            .unwrap_or_default()
            .contains("heartbeat"),
        "{:?}",
        stop.reason
    );
    assert_eq!(sim_raw(&engine, 1, "Torque Enable"), 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sim_raw(&engine, 1, "Torque Enable"), 0, "still off");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_lost_aborts_the_run_and_the_drive_stops_itself() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = std::sync::Arc::new(sim_engine(&dir, Protocol::Dynamixel2).await);
    enabled(&engine).await;
    let ended = cut_short(&engine, Duration::from_millis(600), || {
        // The host's side of the cable breaks: nothing reaches the drives any more.
        engine
            .with_sim_rig(1, |rig| rig.set_deaf(true))
            .expect("the rig");
    })
    .await;
    ended.assert_aborted("stopped answering");
    // The drive's own Bus Watchdog, armed when it was enabled, stops it.
    wait_until(
        "the drive's watchdog stopped it",
        Duration::from_secs(5),
        Duration::from_millis(20),
        || with_sim_drive(&engine, 1, |d| d.watchdog_tripped()),
    )
    .await;
    engine
        .with_sim_rig(1, |rig| rig.set_deaf(false))
        .expect("the rig");
    // Heard again, it is not started again: the link only finds it stopped.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        with_sim_drive(&engine, 1, |d| d.watchdog_tripped() || !d.torque_enabled()),
        "never restarted by DriveDeck"
    );
    // The window's stop banner is told both: the link lost with what stops the drive,
    // and the run it aborted.
    engine.flush().expect("committed");
    let api = drivedeck_engine::api::Api::new(std::sync::Arc::clone(&engine)).expect("api");
    let notices = api.stop_notices(0.0).expect("notices");
    let lost = notices
        .iter()
        .find(|n| n.kind == "linkLost")
        .unwrap_or_else(|| panic!("no link lost in {notices:?}"));
    assert!(
        lost.reason
            .contains("drive 1 was enabled: its Bus Watchdog stops it"),
        "{lost:?}"
    );
    let aborted = notices
        .iter()
        .find(|n| n.kind == "testAborted")
        .unwrap_or_else(|| panic!("no aborted run in {notices:?}"));
    assert!(aborted.reason.contains("aborted"), "{aborted:?}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drive_pushed_out_of_its_travel_window_aborts_the_run_and_is_put_back() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = std::sync::Arc::new(sim_engine(&dir, Protocol::Dynamixel2).await);
    enabled(&engine).await;
    let goal_before = sim_raw(&engine, 1, "Goal Position");
    let gains_before = gains(&engine);
    let ended = cut_short(&engine, Duration::from_millis(600), || {
        // Something else on the bus (a second master, a script) sends drive 1 a goal a
        // full turn away while the step holds: the drive runs out of the ±0.5 rad window.
        engine
            .with_sim_rig(1, |rig| {
                rig.with_drives(|drives| {
                    let address = drives[0]
                        .profile()
                        .register("Goal Position")
                        .expect("Goal Position")
                        .address;
                    let far = (goal_before + 1024).to_le_bytes();
                    drives[0].write(address, &far[..4]).expect("written")
                })
            })
            .expect("the rig");
    })
    .await;
    ended.assert_aborted("travel window");
    // Put back: the goal it had before the run, and its gains.
    assert!(
        (sim_raw(&engine, 1, "Goal Position") - goal_before).abs() <= 2,
        "goal {} ≠ {goal_before}",
        sim_raw(&engine, 1, "Goal Position")
    );
    assert_eq!(gains(&engine), gains_before);
    assert_eq!(
        sim_raw(&engine, 1, "Torque Enable"),
        1,
        "holding, still enabled"
    );
    // Told to the window's stop banner; the user's own Abort would not be.
    engine.flush().expect("committed");
    let api = drivedeck_engine::api::Api::new(std::sync::Arc::clone(&engine)).expect("api");
    let notices = api.stop_notices(0.0).expect("notices");
    assert!(
        notices
            .iter()
            .any(|n| n.kind == "testAborted" && n.reason.contains("travel window")),
        "{notices:?}"
    );
    engine.shutdown().await;
}
