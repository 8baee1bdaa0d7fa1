//! Tests of the simulated drive: the table rules, loops, protections and watchdog of
//! each firmware family, through [`super::SimDrive`].

use super::*;

fn xm430(id: u8) -> SimDrive {
    SimDrive::new(Profile::xm430_w350(), id)
}

fn write_role(drive: &mut SimDrive, role: Role, raw: i64) -> Result<(), TableError> {
    let register = drive.profile().role(role).expect("role").clone();
    drive.write(register.address, &register.encode(raw))
}

fn write_named(drive: &mut SimDrive, name: &str, raw: i64) -> Result<(), TableError> {
    let register = drive.profile().register(name).expect("entry").clone();
    drive.write(register.address, &register.encode(raw))
}

fn run(drive: &mut SimDrive, seconds: f64) {
    let steps = (seconds / 0.000_25) as usize;
    for _ in 0..steps {
        drive.step(0.000_25);
    }
}

#[test]
fn table_starts_at_the_profile_defaults_with_its_id() {
    let drive = xm430(7);
    assert_eq!(
        drive.read(0, 2).expect("model number"),
        &1020u16.to_le_bytes()
    );
    let id = drive.profile().register("ID").expect("ID").address;
    assert_eq!(drive.read(id, 1).expect("id"), &[7]);
    assert_eq!(drive.id(), 7);
    assert!(!drive.torque_enabled());
    assert_eq!(drive.raw(Role::PresentTemperature), 25);
}

#[test]
fn position_mode_converges_to_the_goal() {
    let mut drive = xm430(1);
    write_role(&mut drive, Role::GoalPosition, 1024).expect("goal"); // 90°
    write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
    run(&mut drive, 2.0);
    let target = std::f64::consts::FRAC_PI_2;
    assert!(
        (drive.motor().position - target).abs() < 0.01,
        "{:?}",
        drive.motor()
    );
    assert!(drive.motor().velocity.abs() < 0.05);
    // Present Position is the quantised encoder reading of that angle.
    assert!((drive.raw(Role::PresentPosition) - 1024).abs() <= 8);
}

#[test]
fn velocity_mode_holds_the_goal_velocity_within_the_limit() {
    let mut drive = xm430(1);
    let velocity_mode = drive.profile().modes.velocity;
    write_role(&mut drive, Role::OperatingMode, velocity_mode).expect("mode");
    write_role(&mut drive, Role::GoalVelocity, 100).expect("goal velocity");
    write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
    run(&mut drive, 2.0);
    let expected = drive
        .profile()
        .role(Role::GoalVelocity)
        .expect("gv")
        .to_si(100);
    assert!((drive.motor().velocity - expected).abs() < 0.05 * expected);
    // Beyond the Velocity Limit (default 200) the drive refuses the goal.
    assert!(matches!(
        write_role(&mut drive, Role::GoalVelocity, 300),
        Err(TableError::Range(_))
    ));
}

#[test]
fn current_limit_bounds_the_current() {
    let mut drive = xm430(1);
    write_role(&mut drive, Role::CurrentLimit, 200).expect("current limit"); // 0.538 A
    write_role(&mut drive, Role::GoalPosition, 4000).expect("goal");
    write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
    let limit = drive
        .profile()
        .role(Role::CurrentLimit)
        .expect("cl")
        .to_si(200);
    for _ in 0..4000 {
        drive.step(0.000_25);
        assert!(drive.motor().current.abs() <= limit + 1e-9);
    }
}

#[test]
fn torque_off_lets_the_shaft_coast_to_rest() {
    let mut drive = xm430(1);
    write_role(&mut drive, Role::GoalPosition, 4000).expect("goal");
    write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
    run(&mut drive, 0.5);
    assert!(drive.motor().velocity > 1.0);
    write_role(&mut drive, Role::TorqueEnable, 0).expect("torque off");
    run(&mut drive, 3.0);
    assert_eq!(drive.motor().velocity, 0.0);
    assert_eq!(drive.motor().current, 0.0);
}

#[test]
fn bus_watchdog_stops_an_unwatched_drive_and_locks_goals_until_cleared() {
    let mut drive = xm430(1);
    let velocity_mode = drive.profile().modes.velocity;
    write_role(&mut drive, Role::OperatingMode, velocity_mode).expect("mode");
    write_role(&mut drive, Role::GoalVelocity, 150).expect("goal");
    write_role(&mut drive, Role::BusWatchdog, 5).expect("arm: 100 ms");
    write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
    // Heard every 50 ms: keeps running.
    for _ in 0..20 {
        run(&mut drive, 0.05);
        drive.heard();
    }
    assert!(!drive.watchdog_tripped());
    assert!(drive.motor().velocity > 2.0);
    // Silence for 150 ms: tripped, reads -1, and the drive comes to rest.
    run(&mut drive, 0.15);
    assert!(drive.watchdog_tripped());
    assert_eq!(drive.raw(Role::BusWatchdog), -1);
    run(&mut drive, 1.0);
    assert!(drive.motor().velocity.abs() < 0.05, "{:?}", drive.motor());
    assert!(
        drive.torque_enabled(),
        "the watchdog stops motion, not torque"
    );
    assert!(matches!(
        write_role(&mut drive, Role::GoalVelocity, 100),
        Err(TableError::Range(_))
    ));
    write_role(&mut drive, Role::BusWatchdog, 0).expect("clear");
    write_role(&mut drive, Role::GoalVelocity, 100).expect("goals writable again");
}

#[test]
fn firmware_rules_refuse_bad_writes_and_change_nothing() {
    let mut drive = xm430(1);
    // Read-only entry.
    assert!(matches!(
        write_role(&mut drive, Role::PresentPosition, 5),
        Err(TableError::ReadOnly(_))
    ));
    // Goal Position outside 0..4095.
    assert!(matches!(
        write_role(&mut drive, Role::GoalPosition, 5000),
        Err(TableError::Range(_))
    ));
    assert_eq!(drive.raw(Role::GoalPosition), 0);
    // EEPROM entry while torque is on.
    write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
    assert!(matches!(
        write_role(&mut drive, Role::OperatingMode, 1),
        Err(TableError::Access(_))
    ));
    assert_eq!(
        drive.raw(Role::OperatingMode),
        drive.profile().modes.position
    );
    // Outside the table.
    assert!(drive.write(60_000, &[1]).is_err());
    assert!(drive.read(60_000, 4).is_err());
}

/// XM430 held against a wall (a huge load) at full current: the winding heats.
fn stalled_xm430() -> SimDrive {
    let mut drive = xm430(1);
    drive.set_load_inertia(1e9);
    write_named(&mut drive, "Temperature Limit", 45).expect("limit 45 °C");
    // Only overheating shuts down (the default 52 adds overload, which a stalled
    // drive trips first, after a second).
    write_named(&mut drive, "Shutdown", 0x04).expect("overheating only");
    write_role(&mut drive, Role::GoalPosition, 3000).expect("goal far away");
    write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
    drive
}

#[test]
fn sustained_overload_overheats_an_xm430_which_latches_until_reboot() {
    let mut drive = stalled_xm430();
    let mut tripped_at = None;
    for tenth in 0..1200 {
        run(&mut drive, 0.1);
        if !drive.torque_enabled() {
            tripped_at = Some(tenth);
            break;
        }
    }
    let tripped_at = tripped_at.expect("overheated within 120 s");
    // I²R heating at stall: about 2.3 A through 5.2 Ω ≈ 27 W into 10 J/K is ~2.7 K/s
    // at first, so 20 K take several seconds, not milliseconds.
    assert!(tripped_at > 30, "tripped after {tripped_at} × 0.1 s");
    assert!(
        drive.motor().temperature > 44.0,
        "{tripped_at} {:?} hw {}",
        drive.motor(),
        drive.raw(Role::HardwareError)
    );
    // Hardware Error Status: Overheating (bit 2); the alert flag is up.
    assert_eq!(drive.raw(Role::HardwareError), 0x04);
    assert!(drive.alert());
    assert_eq!(
        drive.raw(Role::PresentTemperature),
        drive.motor().temperature.round() as i64
    );
    // Torque cannot come back while the error is latched.
    write_role(&mut drive, Role::TorqueEnable, 1).expect("accepted");
    assert!(!drive.torque_enabled());
    // It cools with the bridge off; the error stays latched until a reboot.
    run(&mut drive, 300.0);
    assert!(
        drive.motor().temperature < 35.0,
        "{}",
        drive.motor().temperature
    );
    assert_eq!(drive.raw(Role::HardwareError), 0x04);
    drive.reboot();
    assert_eq!(drive.raw(Role::HardwareError), 0);
    assert!(!drive.alert());
    write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on again");
    assert!(drive.torque_enabled());
}

#[test]
fn an_alarm_outside_shutdown_does_not_stop_an_xm430() {
    let mut drive = stalled_xm430();
    write_role(&mut drive, Role::TorqueEnable, 0).expect("off");
    write_named(&mut drive, "Shutdown", 0x20).expect("overload only");
    write_named(&mut drive, "Temperature Limit", 80).expect("no overheating");
    write_role(&mut drive, Role::TorqueEnable, 1).expect("on");
    // Overload trips after a second of saturation instead.
    run(&mut drive, 1.5);
    assert!(!drive.torque_enabled());
    assert_eq!(drive.raw(Role::HardwareError), i64::from(alarm::OVERLOAD));
}

#[test]
fn encoder_quantisation_shows_in_present_position() {
    let mut profile = Profile::xm430_w350();
    if let Some(motor) = profile.motor.as_mut() {
        motor.encoder_resolution = Some(1024); // 4 register counts per encoder count
    }
    let mut drive = SimDrive::new(profile, 1);
    let goal = 1001; // not a multiple of 4
    write_role(&mut drive, Role::GoalPosition, goal).expect("goal");
    write_role(&mut drive, Role::TorqueEnable, 1).expect("on");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..400 {
        run(&mut drive, 0.005);
        seen.insert(drive.raw(Role::PresentPosition));
    }
    assert!(seen.len() > 20, "the shaft moved: {seen:?}");
    assert!(seen.iter().all(|raw| raw % 4 == 0), "{seen:?}");
    // The encoder floors: the reading is the count at or below the true angle.
    let true_raw = drive.motor().position / (TAU / 4096.0);
    let read = drive.raw(Role::PresentPosition) as f64;
    assert!(
        read <= true_raw + 1e-9 && true_raw - read < 4.0,
        "{read} {true_raw}"
    );
}

#[test]
fn measurement_noise_is_seeded_and_reproducible() {
    let noisy = |seed: u64| {
        let mut profile = Profile::xm430_w350();
        if let Some(motor) = profile.motor.as_mut() {
            motor.current_noise = 0.02;
            motor.position_noise = 0.01;
        }
        let mut drive = SimDrive::with_seed(profile, 1, seed);
        (0..200)
            .map(|_| {
                drive.step(0.000_25);
                (
                    drive.raw(Role::PresentCurrent),
                    drive.raw(Role::PresentPosition),
                )
            })
            .collect::<Vec<_>>()
    };
    let a = noisy(42);
    assert_eq!(a, noisy(42), "same seed, same readings");
    assert_ne!(a, noisy(43), "another seed, other readings");
    // At rest with torque off the true current is 0: the readings scatter around it
    // with about the given σ (0.02 A ≈ 7.4 counts of 2.69 mA).
    let currents: Vec<f64> = a.iter().map(|(c, _)| *c as f64 * 0.00269).collect();
    let mean = currents.iter().sum::<f64>() / currents.len() as f64;
    let sd =
        (currents.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / currents.len() as f64).sqrt();
    assert!(mean.abs() < 0.006, "{mean}");
    assert!(sd > 0.015 && sd < 0.025, "{sd}");
    // Without noise in the profile the readings are exact.
    let mut quiet = xm430(1);
    quiet.step(0.000_25);
    assert_eq!(quiet.raw(Role::PresentCurrent), 0);
}

#[test]
fn reg_write_waits_for_action() {
    let mut drive = xm430(1);
    let goal = drive
        .profile()
        .role(Role::GoalPosition)
        .expect("goal")
        .clone();
    drive
        .reg_write(goal.address, &goal.encode(2000))
        .expect("registered");
    assert_eq!(drive.raw(Role::GoalPosition), 0);
    assert_eq!(drive.raw_named("Registered Instruction"), Some(1));
    assert_eq!(drive.action(), Some(Ok(())));
    assert_eq!(drive.raw(Role::GoalPosition), 2000);
    assert_eq!(drive.raw_named("Registered Instruction"), Some(0));
    assert_eq!(drive.action(), None, "nothing registered any more");
    // A bad registered write is refused at once.
    assert!(drive.reg_write(goal.address, &goal.encode(9999)).is_err());
    assert!(!drive.has_registered());
}

#[test]
fn ax12a_refuses_goals_outside_its_angle_limits_and_has_a_wheel_mode() {
    let mut drive = SimDrive::new(Profile::ax12a(), 1);
    assert_eq!(drive.firmware(), Firmware::Dynamixel1);
    write_named(&mut drive, "CW Angle Limit", 100).expect("cw");
    write_named(&mut drive, "CCW Angle Limit", 900).expect("ccw");
    assert!(matches!(
        write_role(&mut drive, Role::GoalPosition, 50),
        Err(TableError::AngleLimit(_))
    ));
    write_role(&mut drive, Role::GoalPosition, 512).expect("inside");
    write_role(&mut drive, Role::TorqueEnable, 1).expect("on");
    run(&mut drive, 2.0);
    assert!((drive.raw(Role::PresentPosition) - 512).abs() <= 2);
    // Wheel mode: both limits 0; Moving Speed with bit 10 turns clockwise.
    write_named(&mut drive, "CW Angle Limit", 0).expect("cw");
    write_named(&mut drive, "CCW Angle Limit", 0).expect("ccw");
    write_role(&mut drive, Role::GoalVelocity, 1024 | 300).expect("300 × 0.111 rpm CW");
    run(&mut drive, 2.0);
    let expected = -300.0 * 0.011623892818282236;
    assert!((drive.motor().velocity - expected).abs() < 0.05 * expected.abs());
    let speed = drive.raw(Role::PresentVelocity);
    assert!(speed & 1024 != 0, "clockwise: bit 10 set ({speed})");
    assert!(((speed & 1023) - 300).abs() <= 10, "{speed}");
    // Lock: EEPROM entries refuse writes until power-off.
    write_named(&mut drive, "Lock", 1).expect("lock");
    assert!(matches!(
        write_named(&mut drive, "Temperature Limit", 60),
        Err(TableError::Access(_))
    ));
}

#[test]
fn ax12a_overheating_is_live_and_cuts_torque_while_it_lasts() {
    let mut drive = SimDrive::new(Profile::ax12a(), 1);
    drive.set_load_inertia(1e9);
    write_named(&mut drive, "Temperature Limit", 40).expect("limit");
    write_named(&mut drive, "Shutdown", 0x04).expect("overheating only");
    write_role(&mut drive, Role::GoalPosition, 1000).expect("goal");
    write_role(&mut drive, Role::TorqueEnable, 1).expect("on");
    // Step by step: the bit is live, so catch it the moment torque goes off.
    for _ in 0..480_000 {
        drive.step(0.000_25);
        if !drive.torque_enabled() {
            break;
        }
    }
    assert_eq!(drive.alarms() & alarm::OVERHEATING, alarm::OVERHEATING);
    assert!(!drive.torque_enabled(), "Shutdown includes overheating");
    run(&mut drive, 400.0);
    assert_eq!(
        drive.alarms() & alarm::OVERHEATING,
        0,
        "cooled: the bit clears"
    );
    write_role(&mut drive, Role::TorqueEnable, 1).expect("on again");
    assert!(drive.torque_enabled());
}

#[test]
fn input_voltage_outside_the_limits_is_reported() {
    let mut drive = SimDrive::new(Profile::ax12a(), 1);
    drive.set_supply_voltage(5.0); // below Min Voltage Limit 6.0 V
    assert_eq!(drive.alarms(), alarm::INPUT_VOLTAGE);
    assert_eq!(drive.raw_named("Present Voltage"), Some(50));
    drive.set_supply_voltage(12.0);
    assert_eq!(drive.alarms(), 0);
}

#[test]
fn sts3215_reports_overheat_in_its_status_and_turns_in_both_directions() {
    let mut drive = SimDrive::new(Profile::sts3215(), 1);
    assert_eq!(drive.firmware(), Firmware::Feetech);
    // Velocity mode, reverse: sign-magnitude bit 15 in the goal...
    write_role(&mut drive, Role::OperatingMode, 1).expect("speed mode");
    let goal = drive
        .profile()
        .role(Role::GoalVelocity)
        .expect("gv")
        .clone();
    let reverse = 0x8000u16 | 1000;
    drive.state.put(&goal, i64::from(reverse)); // beyond the profile's range
    write_role(&mut drive, Role::TorqueEnable, 1).expect("on");
    run(&mut drive, 2.0);
    assert!(drive.motor().velocity < -1.0, "{:?}", drive.motor());
    // ...and in the present speed.
    let speed = drive.raw(Role::PresentVelocity);
    assert!(
        speed & 0x8000 != 0 && ((speed & 0x7FFF) - 1000).abs() < 60,
        "{speed}"
    );
    // Overheat: the Status bit (and so the status packets' error byte).
    write_role(&mut drive, Role::TorqueEnable, 0).expect("off");
    drive.set_load_inertia(1e9);
    write_named(&mut drive, "Max Temperature Limit", 35).expect("limit");
    write_role(&mut drive, Role::OperatingMode, 0).expect("position mode");
    write_role(&mut drive, Role::GoalPosition, 4000).expect("goal");
    write_role(&mut drive, Role::TorqueEnable, 1).expect("on");
    for _ in 0..1200 {
        run(&mut drive, 0.1);
        if drive.raw(Role::HardwareError) & i64::from(alarm::OVERHEATING) != 0 {
            break;
        }
    }
    assert_ne!(drive.raw(Role::HardwareError) & 0x04, 0);
    assert_eq!(drive.alarms() & 0x04, 0x04);
}

#[test]
fn a_resonant_load_makes_the_step_ring_and_is_off_by_default() {
    // The load's twist after a step, with and without a flexible coupling.
    let ringing = |resonance: Option<crate::motor::Resonance>| {
        let mut drive = xm430(1);
        assert!(drive.motor().load.is_none());
        drive.set_load_resonance(resonance);
        write_named(&mut drive, "Position P Gain", 3200).expect("P");
        write_role(&mut drive, Role::TorqueEnable, 1).expect("on");
        write_role(&mut drive, Role::GoalPosition, 32).expect("goal");
        let mut swing = 0.0f64;
        for n in 0..(1.0 / 0.000_25) as usize {
            drive.step(0.000_25);
            if n > (0.5 / 0.000_25) as usize {
                let load = drive
                    .motor()
                    .load
                    .map_or(drive.motor().position, |l| l.position);
                swing = swing.max((load - drive.motor().position).abs());
            }
        }
        (swing, drive.motor().position)
    };
    let (rigid, _) = ringing(None);
    let (flexible, settled) = ringing(Some(crate::motor::Resonance {
        inertia: 0.012,
        frequency: 8.0,
        damping_ratio: 0.0,
    }));
    assert_eq!(rigid, 0.0);
    // Undamped, the load still swings against the shaft half a second after the step...
    assert!(flexible > 1e-4, "{flexible}");
    // ...while the loop still holds the shaft near the goal (32 pulses ≈ 0.049 rad).
    assert!((settled - 0.049).abs() < 0.02, "{settled}");
}
