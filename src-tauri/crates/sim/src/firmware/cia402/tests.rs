//! Tests of the CiA 402 firmware through [`SimDrive`]: the enable sequence, profile
//! position and velocity, quick stop, faults and fault reset, on the Kinco FD5P profile and a
//! made-up contiguous one.

use super::*;
use crate::drive::{SimDrive, TableError};
use drivedeck_proto::cia402::controlword;
use drivedeck_proto::profile::{AddressSpace, Profile, Role};

fn kinco() -> SimDrive {
    SimDrive::new(Profile::kinco_fd5p(), 1)
}

/// The made-up drive with contiguous registers, a temperature limit, an Error Code and
/// a Modes of Operation Display.
fn test_drive() -> SimDrive {
    let profile = Profile::parse(
        include_str!("../../../testdata/cia402-contiguous.toml"),
        "testdata/cia402-contiguous.toml",
    )
    .expect("valid test profile");
    SimDrive::new(profile, 1)
}

/// Writes `raw` to the entry `name` as a Modbus master would.
fn write(drive: &mut SimDrive, name: &str, raw: i64) -> Result<(), TableError> {
    let register = drive.profile().register(name).expect("entry").clone();
    drive.write_registers(register.address, &register.encode_words(raw))
}

fn command(drive: &mut SimDrive, word: u16) {
    write(drive, "Controlword", i64::from(word)).expect("controlword");
}

/// The statusword, read over Modbus.
fn statusword(drive: &SimDrive) -> u16 {
    let register = drive
        .profile()
        .role(Role::StatusWord)
        .expect("6041h")
        .clone();
    drive
        .read_registers(AddressSpace::Holding, register.address, 1)
        .expect("readable")[0]
}

fn state(drive: &SimDrive) -> State {
    State::from_statusword(statusword(drive)).expect("a defined state")
}

fn run(drive: &mut SimDrive, seconds: f64) {
    for _ in 0..(seconds / 0.000_25) as usize {
        drive.step(0.000_25);
    }
}

fn si_to_raw(drive: &SimDrive, name: &str, si: f64) -> i64 {
    drive
        .profile()
        .register(name)
        .and_then(|r| r.from_si(si))
        .expect("representable")
}

fn enable(drive: &mut SimDrive) {
    for word in [
        controlword::SHUTDOWN,
        controlword::SWITCH_ON,
        controlword::ENABLE_OPERATION,
    ] {
        command(drive, word);
    }
    assert_eq!(state(drive), State::OperationEnabled);
}

#[test]
fn the_enable_sequence_moves_a_kinco_in_profile_velocity_and_not_before() {
    let mut drive = kinco();
    assert_eq!(state(&drive), State::SwitchOnDisabled, "power-up state");
    write(&mut drive, "Modes of Operation", 3).expect("profile velocity");
    let target = si_to_raw(&drive, "Target Velocity", 5.0);
    write(&mut drive, "Target Velocity", target).expect("target velocity");
    command(&mut drive, controlword::SHUTDOWN);
    assert_eq!(state(&drive), State::ReadyToSwitchOn);
    command(&mut drive, controlword::SWITCH_ON);
    assert_eq!(state(&drive), State::SwitchedOn);
    // Switched On: a target is stored but nothing moves.
    run(&mut drive, 0.5);
    assert_eq!(drive.motor().velocity, 0.0);
    assert_eq!(statusword(&drive) & status::TARGET_REACHED, 0);
    command(&mut drive, controlword::ENABLE_OPERATION);
    assert_eq!(state(&drive), State::OperationEnabled);
    run(&mut drive, 1.5);
    let velocity = drive.motor().velocity;
    assert!((velocity - 5.0).abs() < 0.1, "{velocity}");
    let word = statusword(&drive);
    assert_ne!(word & status::TARGET_REACHED, 0, "{word:#06x}");
    assert_ne!(word & status::REMOTE, 0);
    assert_ne!(word & 0x0010, 0, "voltage enabled");
    // Velocity Actual Value reads it back, scaled.
    let reported = drive
        .profile()
        .role(Role::PresentVelocity)
        .expect("606Ch")
        .to_si(drive.raw(Role::PresentVelocity));
    assert!(
        (reported - velocity).abs() < 0.01,
        "{reported} vs {velocity}"
    );
    // Halt (bit 8): stops and reports the target reached once at rest.
    command(&mut drive, controlword::ENABLE_OPERATION | control::HALT);
    run(&mut drive, 1.0);
    assert!(drive.motor().velocity.abs() < VELOCITY_WINDOW);
    assert_ne!(statusword(&drive) & status::TARGET_REACHED, 0);
    // Disable Voltage: the bridge opens.
    command(&mut drive, controlword::DISABLE_VOLTAGE);
    assert_eq!(state(&drive), State::SwitchOnDisabled);
    assert!(!drive.torque_enabled());
}

#[test]
fn profile_position_moves_only_on_a_new_set_point_in_operation_enabled() {
    let mut drive = test_drive();
    assert_eq!(drive.raw_named("Modes of Operation Display"), Some(1));
    write(&mut drive, "Profile Velocity", 3000).expect("3 rad/s");
    write(&mut drive, "Profile Acceleration", 20_000).expect("20 rad/s²");
    write(&mut drive, "Profile Deceleration", 20_000).expect("20 rad/s²");
    let one_rad = si_to_raw(&drive, "Target Position", 1.0);
    write(&mut drive, "Target Position", one_rad).expect("target");
    // A new set point in Switched On is ignored...
    command(&mut drive, controlword::SHUTDOWN);
    command(&mut drive, controlword::SWITCH_ON | control::NEW_SET_POINT);
    run(&mut drive, 0.5);
    assert_eq!(drive.motor().position, 0.0);
    // ...and enabling holds the present position rather than taking the target.
    command(&mut drive, controlword::ENABLE_OPERATION);
    run(&mut drive, 0.5);
    assert!(drive.motor().position.abs() < 0.01, "{:?}", drive.motor());
    assert_ne!(statusword(&drive) & status::TARGET_REACHED, 0);
    // Bit 4 rising in Operation Enabled: acknowledged, and the move runs.
    command(
        &mut drive,
        controlword::ENABLE_OPERATION | control::NEW_SET_POINT,
    );
    assert_ne!(statusword(&drive) & status::OPERATION_12, 0);
    let mut peak: f64 = 0.0;
    for _ in 0..300 {
        run(&mut drive, 0.005);
        peak = peak.max(drive.motor().velocity.abs());
    }
    assert!(peak <= 3.05, "profile velocity respected: {peak}");
    assert!(peak > 2.0, "{peak}");
    assert!((drive.motor().position - 1.0).abs() < POSITION_WINDOW);
    assert_ne!(statusword(&drive) & status::TARGET_REACHED, 0);
    command(&mut drive, controlword::ENABLE_OPERATION);
    assert_eq!(statusword(&drive) & status::OPERATION_12, 0, "bit 4 fell");
    // Relative (bit 6): another radian on top.
    command(
        &mut drive,
        controlword::ENABLE_OPERATION | control::NEW_SET_POINT | control::RELATIVE,
    );
    run(&mut drive, 2.0);
    assert!((drive.motor().position - 2.0).abs() < POSITION_WINDOW);
    // Homing on the spot: the present position becomes 0.
    write(&mut drive, "Modes of Operation", 6).expect("homing");
    command(&mut drive, controlword::ENABLE_OPERATION);
    command(
        &mut drive,
        controlword::ENABLE_OPERATION | control::NEW_SET_POINT,
    );
    run(&mut drive, 0.01);
    assert!(drive.raw(Role::PresentPosition).abs() <= 2, "home is here");
    let word = statusword(&drive);
    assert_ne!(word & (status::OPERATION_12 | status::TARGET_REACHED), 0);
    assert_eq!(drive.raw_named("Modes of Operation Display"), Some(6));
}

#[test]
fn modes_the_simulator_does_not_run_are_refused() {
    let mut drive = kinco();
    for mode in [2, 4, 5] {
        assert!(matches!(
            write(&mut drive, "Modes of Operation", mode),
            Err(TableError::Range(_))
        ));
    }
    assert_eq!(drive.raw(Role::OperatingMode), 1, "unchanged");
}

/// The test drive running at `speed` rad/s in profile velocity mode.
fn running(speed: f64) -> SimDrive {
    let mut drive = test_drive();
    write(&mut drive, "Modes of Operation", 3).expect("profile velocity");
    let target = si_to_raw(&drive, "Target Velocity", speed);
    write(&mut drive, "Target Velocity", target).expect("target");
    enable(&mut drive);
    run(&mut drive, 1.5);
    assert!((drive.motor().velocity - speed).abs() < 0.1);
    drive
}

#[test]
fn quick_stop_brakes_on_its_ramp_then_switches_off() {
    // Quick Stop Deceleration 20 rad/s² (the test profile's default): from 8 rad/s a
    // stop takes about 0.4 s.
    let mut drive = running(8.0);
    command(&mut drive, controlword::QUICK_STOP);
    assert_eq!(state(&drive), State::QuickStopActive);
    assert_eq!(statusword(&drive) & 0x0020, 0, "bit 5 (quick stop) is low");
    run(&mut drive, 0.2);
    let velocity = drive.motor().velocity;
    assert!(
        (3.0..5.5).contains(&velocity),
        "braking on the ramp: {velocity}"
    );
    assert!(drive.torque_enabled(), "powered while braking");
    run(&mut drive, 0.5);
    assert!(drive.motor().velocity.abs() < VELOCITY_WINDOW);
    assert_eq!(state(&drive), State::SwitchOnDisabled, "option code 2");
    assert!(!drive.torque_enabled());
    // Option code 6: brake, then stay in Quick Stop Active; Enable Operation returns.
    let mut drive = running(8.0);
    write(&mut drive, "Quick Stop Option Code", 6).expect("option 6");
    command(&mut drive, controlword::QUICK_STOP);
    run(&mut drive, 1.0);
    assert_eq!(state(&drive), State::QuickStopActive);
    assert!(drive.motor().velocity.abs() < VELOCITY_WINDOW);
    command(&mut drive, controlword::ENABLE_OPERATION);
    assert_eq!(state(&drive), State::OperationEnabled);
}

#[test]
fn overheating_faults_and_only_a_fault_reset_after_cooling_clears_it() {
    let mut drive = test_drive();
    write(&mut drive, "Temperature Limit", 40).expect("40 °C");
    // Held against a wall: the winding heats at full current.
    drive.set_load_inertia(1e9);
    write(&mut drive, "Modes of Operation", 3).expect("profile velocity");
    write(&mut drive, "Target Velocity", 5000).expect("5 rad/s");
    enable(&mut drive);
    let mut warned = false;
    for _ in 0..1200 {
        run(&mut drive, 0.1);
        warned |=
            statusword(&drive) & status::WARNING != 0 && state(&drive) == State::OperationEnabled;
        if state(&drive) == State::Fault {
            break;
        }
    }
    assert_eq!(state(&drive), State::Fault);
    assert!(warned, "the warning bit came first");
    assert!(!drive.torque_enabled());
    assert_eq!(drive.raw_named("Error Code"), Some(0x4310));
    assert_eq!(
        drive.raw(Role::HardwareError),
        i64::from(alarm::OVERHEATING)
    );
    // No command but a fault reset is taken; a reset while still hot changes nothing.
    command(&mut drive, controlword::ENABLE_OPERATION);
    assert_eq!(state(&drive), State::Fault);
    command(&mut drive, controlword::FAULT_RESET);
    assert_eq!(
        state(&drive),
        State::Fault,
        "not yet {TEMPERATURE_HYSTERESIS} K below the limit"
    );
    run(&mut drive, 400.0);
    assert!(drive.motor().temperature < 35.0);
    assert_eq!(state(&drive), State::Fault, "latched after cooling");
    // Bit 7 is still high: no rising edge yet.
    command(&mut drive, controlword::FAULT_RESET);
    assert_eq!(state(&drive), State::Fault);
    command(&mut drive, controlword::DISABLE_VOLTAGE);
    command(&mut drive, controlword::FAULT_RESET);
    assert_eq!(state(&drive), State::SwitchOnDisabled);
    assert_eq!(drive.raw_named("Error Code"), Some(0));
    assert_eq!(drive.raw(Role::HardwareError), 0);
    enable(&mut drive);
}

#[test]
fn a_kinco_without_a_temperature_entry_faults_at_the_default_limit() {
    let mut drive = kinco();
    write(&mut drive, "Modes of Operation", 3).expect("profile velocity");
    let target = si_to_raw(&drive, "Target Velocity", 5.0);
    write(&mut drive, "Target Velocity", target).expect("target");
    drive.set_load_inertia(1e9);
    enable(&mut drive);
    for _ in 0..60_000 {
        run(&mut drive, 0.01);
        if state(&drive) == State::Fault {
            break;
        }
    }
    assert_eq!(state(&drive), State::Fault);
    // Tripped at the limit (and cooled a hair since, with the bridge open).
    let limit = crate::drive::CIA402_TEMPERATURE_LIMIT;
    assert!((drive.motor().temperature - limit).abs() < 0.5);
    assert_eq!(
        drive.raw(Role::HardwareError),
        i64::from(alarm::OVERHEATING)
    );
}

#[test]
fn the_enable_sequence_and_back() {
    let mut state = State::SwitchOnDisabled;
    let mut previous = 0;
    for (word, expected) in [
        (controlword::SWITCH_ON, State::SwitchOnDisabled), // needs Shutdown first
        (controlword::SHUTDOWN, State::ReadyToSwitchOn),
        (controlword::SWITCH_ON, State::SwitchedOn),
        (controlword::ENABLE_OPERATION, State::OperationEnabled),
        (controlword::SWITCH_ON, State::SwitchedOn), // disable operation
        (controlword::ENABLE_OPERATION, State::OperationEnabled),
        (controlword::SHUTDOWN, State::ReadyToSwitchOn),
        (controlword::ENABLE_OPERATION, State::OperationEnabled), // 3 + 4
        (controlword::DISABLE_VOLTAGE, State::SwitchOnDisabled),
    ] {
        state = transition(state, previous, word, 2);
        previous = word;
        assert_eq!(state, expected, "after {word:#06x}");
    }
}

#[test]
fn quick_stop_and_fault_reset() {
    let enabled = State::OperationEnabled;
    let quick = transition(enabled, 0x0F, controlword::QUICK_STOP, 2);
    assert_eq!(quick, State::QuickStopActive);
    // Option 2 leaves Quick Stop Active only by itself (stopped) or Disable Voltage.
    assert_eq!(transition(quick, 0x02, 0x0F, 2), State::QuickStopActive);
    assert_eq!(transition(quick, 0x02, 0x0F, 6), State::OperationEnabled);
    assert_eq!(transition(quick, 0x02, 0x00, 2), State::SwitchOnDisabled);
    // Quick stop from the unpowered states switches off.
    assert_eq!(
        transition(State::SwitchedOn, 0x07, 0x02, 2),
        State::SwitchOnDisabled
    );
    // Fault: only a rising edge of bit 7 leaves it.
    assert_eq!(transition(State::Fault, 0x00, 0x0F, 2), State::Fault);
    assert_eq!(transition(State::Fault, 0x80, 0x80, 2), State::Fault);
    assert_eq!(
        transition(State::Fault, 0x00, 0x80, 2),
        State::SwitchOnDisabled
    );
    assert_eq!(
        transition(State::FaultReactionActive, 0x00, 0x80, 2),
        State::FaultReactionActive
    );
}

/// A Kinco in Operation Enabled in `mode` (1 profile position, 3 profile velocity) with
/// its gain objects set to `gains` (name, raw).
fn kinco_with(mode: i64, gains: &[(&str, i64)]) -> SimDrive {
    let mut drive = kinco();
    write(&mut drive, "Modes of Operation", mode).expect("mode");
    for (name, raw) in gains {
        write(&mut drive, name, *raw).expect("a gain in range");
    }
    enable(&mut drive);
    drive
}

/// How far below `goal` the velocity still is after `seconds` of profile velocity.
fn velocity_shortfall(gains: &[(&str, i64)], goal: f64, seconds: f64) -> f64 {
    let mut drive = kinco_with(3, gains);
    let target = si_to_raw(&drive, "Target Velocity", goal);
    write(&mut drive, "Target Velocity", target).expect("target velocity");
    run(&mut drive, seconds);
    goal - drive.motor().velocity
}

/// Rise time (10–90 %, s) and overshoot (% of the step) of a profile position step of
/// `size` rad.
fn position_step(gains: &[(&str, i64)], size: f64) -> (f64, f64) {
    let mut drive = kinco_with(1, gains);
    let target = si_to_raw(&drive, "Target Position", size);
    write(&mut drive, "Target Position", target).expect("target");
    command(
        &mut drive,
        controlword::ENABLE_OPERATION | control::NEW_SET_POINT,
    );
    let dt = 0.000_25;
    let (mut t10, mut t90, mut peak) = (None, None, 0.0f64);
    for i in 0..(0.6 / dt) as usize {
        drive.step(dt);
        let x = drive.motor().position / size;
        let t = i as f64 * dt;
        if x >= 0.1 && t10.is_none() {
            t10 = Some(t);
        }
        if x >= 0.9 && t90.is_none() {
            t90 = Some(t);
        }
        peak = peak.max(x);
    }
    let rise = t90.expect("reached 90 %") - t10.expect("reached 10 %");
    (rise, (peak - 1.0).max(0.0) * 100.0)
}

#[test]
fn the_position_loop_gain_kpp_makes_the_step_faster_and_then_oscillatory() {
    let steps: Vec<(i64, (f64, f64))> = [300, 1000, 6000]
        .iter()
        .map(|&kpp| (kpp, position_step(&[("Position Loop Gain", kpp)], 0.02)))
        .collect();
    eprintln!("Kpp → (rise s, overshoot %): {steps:?}");
    let [(_, slow), (_, factory), (_, fast)] = steps[..] else {
        unreachable!()
    };
    // P on position into an ideal velocity loop rises in ln 9 / Kp = 2.2/(2π·Kpp/100) s:
    // so it does while the velocity loop is much faster than the position loop (Kpp 300:
    // 3 Hz, well damped), and not once the two come close (Kpp 6000: 60 Hz, ringing).
    let expected = 9f64.ln() / (std::f64::consts::TAU * 3.0);
    assert!(
        (slow.0 - expected).abs() / expected < 0.1,
        "{slow:?} vs {expected}"
    );
    assert!(slow.1 < 1.0 && factory.1 < 1.0, "{slow:?} {factory:?}");
    assert!(slow.0 > 2.5 * factory.0, "{slow:?} {factory:?}");
    assert!(fast.0 < factory.0, "{fast:?} {factory:?}");
    assert!(fast.1 > slow.1 + 2.0, "{fast:?} {slow:?}");
}

#[test]
fn the_velocity_loop_gains_kvp_and_kvi_act_as_a_pi() {
    // P alone (Kvi 0): friction leaves a shortfall, which a higher Kvp shrinks.
    let p_only = velocity_shortfall(&[("Velocity Loop Integral Gain", 0)], 5.0, 1.0);
    let stiffer = velocity_shortfall(
        &[
            ("Velocity Loop Integral Gain", 0),
            ("Velocity Loop Gain", 800),
        ],
        5.0,
        1.0,
    );
    // The integral removes it, a higher Kvi sooner.
    let factory = velocity_shortfall(&[], 5.0, 0.1);
    let faster = velocity_shortfall(&[("Velocity Loop Integral Gain", 20)], 5.0, 0.1);
    let settled = velocity_shortfall(&[], 5.0, 1.5);
    eprintln!(
        "shortfall: Kvi 0 {p_only:.4}, Kvi 0 Kvp 800 {stiffer:.4}; at 0.1 s Kvi 2 {factory:.4}, Kvi 20 {faster:.4}; at 1.5 s {settled:.4}"
    );
    assert!(p_only > 0.05, "{p_only}");
    assert!(stiffer < p_only / 4.0, "{p_only} → {stiffer}");
    assert!(faster.abs() < factory.abs() / 3.0, "{factory} → {faster}");
    assert!(settled.abs() < 0.01, "{settled}");
}
