//! Every protocol end to end: the engine against the simulator over a real pty.
//!
//! For DYNAMIXEL 2.0 (XM430-W350), DYNAMIXEL 1.0 (AX-12A), Feetech (STS3215) and Modbus
//! RTU (Kinco FD5P, CiA 402; its fault test uses the simulator's CiA 402 test drive, which
//! has the temperature limit and error code entries the FD5P profile lacks):
//! - a scan finds exactly the simulated IDs and their models;
//! - a position and a velocity target land in the simulated drive's goal registers as
//!   the raw counts the profile's scale and the protocol's sign encoding make, and the
//!   telemetry read back is the simulated drive's present values, scaled;
//! - a target outside the profile's range is refused before the wire: the simulator
//!   hears no write;
//! - an over-temperature fault raised in the simulator shows in the store's drive status
//!   in the protocol's words.

use drivedeck_bus::SubmitError;
use drivedeck_domain::{Command, DriveMode, JobState, Target};
use drivedeck_e2e::{
    DRIVE_1, DRIVE_2, enable, heard, one_rig_at_a_time, run, sim_engine, sim_raw, wait_for_drive,
    wait_until, with_sim_drive, writes_heard,
};
use drivedeck_engine::{Engine, EngineConfig, EngineError, ScanOptions};
use drivedeck_proto::profile::{Profile, Protocol, Role};
use drivedeck_sim::{RigOptions, SimRig};
use std::time::Duration;

/// What differs between the protocols in these tests.
struct Case {
    profile: Profile,
    /// A velocity the drive can turn at (negative where the profile allows reverse).
    velocity: f64,
    /// The raw Goal Velocity register value that velocity must become.
    velocity_raw: i64,
    /// Targets the profile's range refuses, with a word the refusal must contain.
    refused: Vec<(Target, &'static str)>,
    /// The temperature limit entry to lower, and the fault text that must appear.
    temperature_limit: &'static str,
    fault: &'static str,
    /// The model for the fault test, if not `profile`.
    fault_profile: Option<Profile>,
}

fn case(protocol: Protocol) -> Case {
    match protocol {
        Protocol::Dynamixel2 => Case {
            profile: Profile::xm430_w350(),
            velocity: -1.5,
            // 0.229 rev/min per count: -1.5 rad/s is -62.55 counts, two's complement.
            velocity_raw: -63,
            refused: vec![
                (Target::Position(7.0), "outside"),
                (Target::Position(-0.1), "outside"),
            ],
            temperature_limit: "Temperature Limit",
            fault: "overheating",
            fault_profile: None,
        },
        Protocol::Dynamixel1 => Case {
            profile: Profile::ax12a(),
            velocity: -1.5,
            // 0.111 rev/min per count: 129 counts clockwise, bit 10 set (sign-magnitude).
            velocity_raw: 1024 + 129,
            refused: vec![
                // 1023 counts of 0.29° is 5.24 rad.
                (Target::Position(5.5), "outside"),
                (Target::Position(-0.1), "outside"),
            ],
            temperature_limit: "Temperature Limit",
            fault: "Overheating Error",
            fault_profile: None,
        },
        Protocol::Feetech => Case {
            profile: Profile::sts3215(),
            velocity: 1.5,
            // 4096 steps per turn: 977.9 steps/s.
            velocity_raw: 978,
            refused: vec![
                (Target::Position(7.0), "outside"),
                // The profile keeps Goal Speed at 0..=32767: reverse (bit 15) is refused.
                (Target::Velocity(-1.5), "Goal Speed"),
            ],
            temperature_limit: "Max Temperature Limit",
            fault: "Overheat Error",
            fault_profile: None,
        },
        Protocol::ModbusRtu => Case {
            profile: Profile::kinco_fd5p(),
            velocity: -1.5,
            // 1875 / (512 × 65536) rev/min per count: -256337.06 counts, i32, low word first.
            velocity_raw: -256_337,
            refused: vec![
                // ±2³¹ increments of 2π/65536 rad: ±205887 rad.
                (Target::Position(3.0e5), "outside"),
                (Target::Position(-3.0e5), "outside"),
            ],
            temperature_limit: "Temperature Limit",
            fault: "error 4310h: excess temperature, drive",
            fault_profile: Some(
                Profile::load(
                    &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../src-tauri/crates/sim/testdata/cia402-contiguous.toml"),
                )
                .expect("the simulator's CiA 402 test drive"),
            ),
        },
    }
}

fn raw(engine: &Engine, id: u8, role: Role) -> i64 {
    with_sim_drive(engine, id, |d| d.raw(role))
}

// ---------------------------------------------------------------------------------------
// Scan

async fn scan_finds_exactly_the_simulated_ids_and_models(protocol: Protocol) {
    let _rig = one_rig_at_a_time().await;
    let profile = case(protocol).profile;
    let rig = SimRig::spawn(&profile, &[3, 8, 21]).expect("rig");
    let options = ScanOptions {
        protocols: vec![protocol],
        bauds: vec![1_000_000],
        timeout: Duration::from_millis(10),
        ..ScanOptions::new(Profile::builtin())
    };
    let report = drivedeck_engine::scan(&rig.port().to_string_lossy(), &options)
        .await
        .expect("scan");
    let found: Vec<(u8, Option<&str>, Option<u16>, bool)> = report
        .drives
        .iter()
        .map(|d| (d.id, d.model.as_deref(), d.model_number, d.id_conflict))
        .collect();
    let expected: Vec<(u8, Option<&str>, Option<u16>, bool)> = [3, 8, 21]
        .into_iter()
        .map(|id| {
            (
                id,
                Some(profile.name.as_str()),
                // Modbus has no ping: the FD5P is matched by its register map.
                (protocol != Protocol::ModbusRtu).then_some(profile.model_number),
                false,
            )
        })
        .collect();
    assert_eq!(found, expected, "{report:?}");
    assert!(
        report
            .drives
            .iter()
            .all(|d| d.rtt_us > 0 && d.baud == 1_000_000)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_dynamixel2() {
    scan_finds_exactly_the_simulated_ids_and_models(Protocol::Dynamixel2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_dynamixel1() {
    scan_finds_exactly_the_simulated_ids_and_models(Protocol::Dynamixel1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_feetech() {
    scan_finds_exactly_the_simulated_ids_and_models(Protocol::Feetech).await;
}

// ---------------------------------------------------------------------------------------
// Reads and writes

async fn reads_and_writes_land_at_the_right_addresses_with_the_right_scaling(protocol: Protocol) {
    let _rig = one_rig_at_a_time().await;
    let case = case(protocol);
    let profile = &case.profile;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, protocol).await;
    let goal = profile.role(Role::GoalPosition).expect("goal position");
    let present = profile
        .role(Role::PresentPosition)
        .expect("present position");

    // Position: 2 rad becomes round(2 / scale) counts in Goal Position.
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    assert!(
        engine
            .inspect_sim(1, |d| d[0].torque_enabled())
            .expect("sim")
    );
    let target = 2.0;
    assert_eq!(
        run(
            &engine,
            Command::SetTarget {
                drive: DRIVE_1,
                target: Target::Position(target),
            }
        )
        .await,
        JobState::Done
    );
    assert_eq!(
        raw(&engine, 1, Role::GoalPosition),
        (target / goal.scale).round() as i64
    );
    // The drive gets there; what the store holds is the drive's Present Position.
    wait_for_drive(&engine, DRIVE_1, "2 rad at rest", |r| {
        r.position.is_some_and(|p| (p - target).abs() < 0.03)
            && r.velocity.is_some_and(|v| v.abs() < 0.05)
    })
    .await;
    // The drive may still creep by a few counts: the latest stored sample must catch
    // up with it (a scaling or decoding error would never agree).
    let tolerance = (2.0 * present.scale).max(0.002);
    let mut last = (0.0, 0.0);
    let mut agreed = false;
    for _ in 0..50 {
        let stored = wait_for_drive(&engine, DRIVE_1, "a sample", |r| r.position.is_some())
            .await
            .position
            .expect("position");
        let at_the_drive = present.to_si(raw(&engine, 1, Role::PresentPosition));
        last = (stored, at_the_drive);
        if (stored - at_the_drive).abs() <= tolerance {
            agreed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(
        agreed,
        "stored {} rad, the drive says {} rad",
        last.0, last.1
    );

    // Velocity: the mode is changed with the drive off, then the target lands in Goal
    // Velocity in the protocol's own encoding.
    assert_eq!(
        run(&engine, Command::Disable { drive: DRIVE_1 }).await,
        JobState::Done
    );
    assert!(
        !engine
            .inspect_sim(1, |d| d[0].torque_enabled())
            .expect("sim")
    );
    assert_eq!(
        run(
            &engine,
            Command::SetMode {
                drive: DRIVE_1,
                mode: DriveMode::Velocity,
            }
        )
        .await,
        JobState::Done
    );
    if protocol == Protocol::ModbusRtu {
        assert_eq!(
            engine.inspect_sim(1, |d| d[0].cia402_state()).expect("sim"),
            Some(drivedeck_proto::cia402::State::SwitchOnDisabled)
        );
    }
    if protocol == Protocol::Dynamixel1 {
        // Wheel mode: both angle limits 0.
        assert_eq!(sim_raw(&engine, 1, "CW Angle Limit"), 0);
        assert_eq!(sim_raw(&engine, 1, "CCW Angle Limit"), 0);
    } else {
        assert_eq!(raw(&engine, 1, Role::OperatingMode), profile.modes.velocity);
    }
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    assert_eq!(
        run(
            &engine,
            Command::SetTarget {
                drive: DRIVE_1,
                target: Target::Velocity(case.velocity),
            }
        )
        .await,
        JobState::Done
    );
    assert_eq!(raw(&engine, 1, Role::GoalVelocity), case.velocity_raw);
    // Present Velocity read back with its sign, in rad/s.
    let velocity = case.velocity;
    wait_for_drive(&engine, DRIVE_1, "the velocity target", |r| {
        r.velocity.is_some_and(|v| (v - velocity).abs() < 0.35)
    })
    .await;
    // Drive 2 was never touched: torque off, still at its goal defaults.
    assert!(
        !engine
            .inspect_sim(1, |d| d[1].torque_enabled())
            .expect("sim")
    );
    // The DYNAMIXEL 1.0 servo does not measure current: the store holds a gap, not 0.
    let row = wait_for_drive(&engine, DRIVE_2, "a sample", |r| {
        r.current.is_some() || r.position.is_some()
    })
    .await;
    if protocol == Protocol::Dynamixel1 {
        assert!(row.current.is_none_or(f64::is_nan), "{row:?}");
    } else {
        assert!(row.current.is_some_and(f64::is_finite), "{row:?}");
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_writes_dynamixel2() {
    reads_and_writes_land_at_the_right_addresses_with_the_right_scaling(Protocol::Dynamixel2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_writes_dynamixel1() {
    reads_and_writes_land_at_the_right_addresses_with_the_right_scaling(Protocol::Dynamixel1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_writes_feetech() {
    reads_and_writes_land_at_the_right_addresses_with_the_right_scaling(Protocol::Feetech).await;
}

// ---------------------------------------------------------------------------------------
// Range

async fn out_of_range_targets_are_refused_before_the_wire(protocol: Protocol) {
    let _rig = one_rig_at_a_time().await;
    let case = case(protocol);
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, protocol).await;
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    for (target, _) in &case.refused {
        if target.mode() == DriveMode::Velocity {
            assert_eq!(
                run(&engine, Command::Disable { drive: DRIVE_1 }).await,
                JobState::Done
            );
            assert_eq!(
                run(
                    &engine,
                    Command::SetMode {
                        drive: DRIVE_1,
                        mode: DriveMode::Velocity
                    }
                )
                .await,
                JobState::Done
            );
            assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
            break;
        }
    }
    let goal_before = (
        raw(&engine, 1, Role::GoalPosition),
        raw(&engine, 1, Role::GoalVelocity),
    );
    let writes_before = writes_heard(&engine, protocol);
    for (target, needle) in &case.refused {
        if target.mode() == DriveMode::Position
            && case
                .refused
                .iter()
                .any(|(t, _)| t.mode() == DriveMode::Velocity)
        {
            continue; // the drive is in velocity mode for the velocity case
        }
        match engine.submit(Command::SetTarget {
            drive: DRIVE_1,
            target: *target,
        }) {
            Err(EngineError::Submit(SubmitError::Invalid(message))) => {
                assert!(message.contains(needle), "{target:?}: {message}")
            }
            Err(other) => panic!("{target:?}: unexpected error {other}"),
            Ok(_) => panic!("{target:?} was accepted"),
        }
    }
    // Telemetry goes on; not one write reached the drives, and the goals are as before.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(writes_heard(&engine, protocol), writes_before);
    assert_eq!(
        (
            raw(&engine, 1, Role::GoalPosition),
            raw(&engine, 1, Role::GoalVelocity)
        ),
        goal_before
    );
    assert!(heard(&engine).len() > 5, "telemetry kept polling");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_dynamixel2() {
    out_of_range_targets_are_refused_before_the_wire(Protocol::Dynamixel2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_dynamixel1() {
    out_of_range_targets_are_refused_before_the_wire(Protocol::Dynamixel1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_feetech() {
    out_of_range_targets_are_refused_before_the_wire(Protocol::Feetech).await;
}

// ---------------------------------------------------------------------------------------
// Faults

async fn a_fault_raised_in_the_sim_appears_decoded(protocol: Protocol) {
    let _rig = one_rig_at_a_time().await;
    let case = case(protocol);
    let dir = tempfile::tempdir().expect("dir");
    let engine = match &case.fault_profile {
        None => sim_engine(&dir, protocol).await,
        Some(profile) => {
            let engine =
                Engine::start(EngineConfig::new(dir.path().join("e2e.db"))).expect("engine");
            engine
                .connect_sim_rig_with(profile.clone(), &[1, 2], RigOptions::default())
                .await
                .expect("sim rig");
            engine
        }
    };
    let profile = case.fault_profile.as_ref().unwrap_or(&case.profile);
    wait_for_drive(&engine, DRIVE_2, "a status", |r| {
        r.status.as_ref().is_some_and(|s| s.fault.is_none())
    })
    .await;
    // The winding (25 °C ambient) is now above the drive's temperature limit.
    let limit = profile
        .register(case.temperature_limit)
        .expect("temperature limit")
        .clone();
    engine
        .inspect_sim(1, |drives| {
            let drive = drives.iter_mut().find(|d| d.id() == 2).expect("drive 2");
            match protocol {
                Protocol::ModbusRtu => {
                    drive.write_registers(limit.address, &limit.encode_words(10))
                }
                _ => drive.write(limit.address, &limit.encode(10)),
            }
            .expect("the drive takes the lower limit")
        })
        .expect("sim");
    let fault = case.fault;
    let row = wait_for_drive(&engine, DRIVE_2, fault, |r| {
        r.status
            .as_ref()
            .and_then(|s| s.fault.as_deref())
            .is_some_and(|f| f.contains(fault))
    })
    .await;
    assert!(!row.status.expect("status").enabled);
    // Drive 1 is fine.
    wait_for_drive(&engine, DRIVE_1, "no fault", |r| {
        r.status.as_ref().is_some_and(|s| s.fault.is_none())
    })
    .await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_dynamixel2() {
    a_fault_raised_in_the_sim_appears_decoded(Protocol::Dynamixel2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_dynamixel1() {
    a_fault_raised_in_the_sim_appears_decoded(Protocol::Dynamixel1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_feetech() {
    a_fault_raised_in_the_sim_appears_decoded(Protocol::Feetech).await;
}

// ---------------------------------------------------------------------------------------
// Modbus RTU

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_modbus_rtu() {
    scan_finds_exactly_the_simulated_ids_and_models(Protocol::ModbusRtu).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_writes_modbus_rtu() {
    reads_and_writes_land_at_the_right_addresses_with_the_right_scaling(Protocol::ModbusRtu).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_modbus_rtu() {
    out_of_range_targets_are_refused_before_the_wire(Protocol::ModbusRtu).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_modbus_rtu() {
    a_fault_raised_in_the_sim_appears_decoded(Protocol::ModbusRtu).await;
}

// ---------------------------------------------------------------------------------------
// E-stop (DYNAMIXEL 2.0's is in engine_sim.rs)

async fn estop_stops_every_drive_by_broadcast_first(protocol: Protocol) {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, protocol).await;
    for drive in [DRIVE_1, DRIVE_2] {
        assert_eq!(enable(&engine, drive).await, JobState::Done);
    }
    assert!(
        engine
            .inspect_sim(1, |d| d.iter().all(|d| d.torque_enabled()))
            .expect("sim")
    );
    let before = heard(&engine).len();
    let stop = engine.submit(Command::EStop).expect("accepted");
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(10), stop.outcome())
            .await
            .expect("the E-stop ended"),
        JobState::Done
    );
    // The first write after the request is the profile's safe stop to every drive at once.
    let broadcast = match protocol {
        Protocol::ModbusRtu => 0,
        _ => 0xFE,
    };
    let first_write = heard(&engine)
        .into_iter()
        .skip(before)
        .find(|p| match protocol {
            Protocol::ModbusRtu => p.instruction == 0x06 || p.instruction == 0x10,
            _ => p.instruction == 0x03,
        })
        .expect("a write");
    assert_eq!(first_write.id, broadcast, "{first_write:?}");
    // Every drive's power stage goes off (a CiA 402 drive brakes on its quick stop ramp
    // first, then switches off, per its quick stop option code).
    for _ in 0..200 {
        if engine
            .inspect_sim(1, |d| d.iter().all(|d| !d.torque_enabled()))
            .expect("sim")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        engine
            .inspect_sim(1, |d| d.iter().all(|d| !d.torque_enabled()))
            .expect("sim"),
        "a drive is still powered"
    );
    for drive in [DRIVE_1, DRIVE_2] {
        wait_for_drive(&engine, drive, "disabled", |r| {
            r.status.as_ref().is_some_and(|s| !s.enabled)
        })
        .await;
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estop_dynamixel1() {
    estop_stops_every_drive_by_broadcast_first(Protocol::Dynamixel1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estop_feetech() {
    estop_stops_every_drive_by_broadcast_first(Protocol::Feetech).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estop_modbus_rtu() {
    estop_stops_every_drive_by_broadcast_first(Protocol::ModbusRtu).await;
}

// ---------------------------------------------------------------------------------------
// Link loss (DYNAMIXEL 2.0's is in engine_sim.rs)

async fn silent_drives_lose_the_link_and_come_back_disabled(protocol: Protocol) {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, protocol).await;
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    engine
        .with_sim_rig(1, |rig| rig.set_muted(true))
        .expect("rig");
    wait_until(
        "link loss detected",
        Duration::from_secs(5),
        Duration::from_millis(10),
        || !engine.link_up(1),
    )
    .await;
    let torque = |engine: &Engine| {
        engine
            .inspect_sim(1, |d| {
                d.iter().map(|d| d.torque_enabled()).collect::<Vec<_>>()
            })
            .expect("rig")
    };
    assert_eq!(torque(&engine), [true, false], "only the wire broke");
    engine
        .with_sim_rig(1, |rig| rig.set_muted(false))
        .expect("rig");
    wait_until(
        "reconnected",
        Duration::from_secs(8),
        Duration::from_millis(10),
        || engine.link_up(1),
    )
    .await;
    assert_eq!(torque(&engine), [false, false], "nothing left enabled");
    wait_for_drive(&engine, DRIVE_1, "disabled", |r| {
        r.status.as_ref().is_some_and(|s| !s.enabled)
    })
    .await;
    // Enabling again is the user's act, and works.
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    assert_eq!(torque(&engine), [true, false]);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_loss_dynamixel1() {
    silent_drives_lose_the_link_and_come_back_disabled(Protocol::Dynamixel1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_loss_feetech() {
    silent_drives_lose_the_link_and_come_back_disabled(Protocol::Feetech).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_loss_modbus_rtu() {
    silent_drives_lose_the_link_and_come_back_disabled(Protocol::ModbusRtu).await;
}
