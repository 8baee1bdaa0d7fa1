//! The shipped ROBOTIS AX-12A profile (DYNAMIXEL Protocol 1.0): it loads, its entries sit
//! at the e-manual's addresses with the manual's ranges, and the roles Protocol 1.0 does
//! not have are absent rather than faked.

use std::f64::consts::PI;

use drivedeck_proto::dxl1::{self, Packet};
use drivedeck_proto::profile::{Access, MotorSpec, Profile, Protocol, RegType, Role};

#[test]
fn loads_as_a_protocol_1_servo() {
    let profile = Profile::ax12a();
    assert_eq!(profile.name, "AX-12A");
    assert_eq!(profile.vendor, "ROBOTIS");
    assert_eq!(profile.protocol, Protocol::Dynamixel1);
    assert_eq!(profile.model_number, 12);
    assert_eq!(
        profile.table_len(),
        50,
        "Punch (48, 2 bytes) is the last entry"
    );
    assert!(Profile::builtin().iter().any(|p| p.name == "AX-12A"));
    assert_eq!(
        Profile::default_for(Protocol::Dynamixel1).map(|p| p.name),
        Some("AX-12A".to_owned())
    );
}

#[test]
fn roles_are_at_the_e_manual_addresses() {
    let profile = Profile::ax12a();
    let address = |role| profile.role(role).map(|r| r.address);
    assert_eq!(address(Role::TorqueEnable), Some(24));
    assert_eq!(address(Role::GoalPosition), Some(30));
    assert_eq!(address(Role::GoalVelocity), Some(32));
    assert_eq!(address(Role::PresentPosition), Some(36));
    assert_eq!(address(Role::PresentVelocity), Some(38));
    assert_eq!(address(Role::PresentTemperature), Some(43));
    assert_eq!(address(Role::ReturnDelay), Some(5));
    // Protocol 1.0 has none of these entries; the profile does not invent them.
    for role in [
        Role::OperatingMode,
        Role::PresentCurrent,
        Role::HardwareError,
        Role::VelocityLimit,
        Role::CurrentLimit,
        Role::BusWatchdog,
    ] {
        assert_eq!(address(role), None, "{role:?}");
        assert!(!role.is_required(Protocol::Dynamixel1));
        assert!(role == Role::BusWatchdog || role.is_required(Protocol::Dynamixel2));
    }
}

#[test]
fn entries_match_the_manual() {
    let profile = Profile::ax12a();
    let entry = |name: &str| {
        profile
            .register(name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    // (name, address, type, access, persistent, min, max, default)
    type Row = (&'static str, u16, RegType, Access, bool, i64, i64, i64);
    let expected: [Row; 12] = [
        ("ID", 3, RegType::U8, Access::Rw, true, 0, 253, 1),
        (
            "Return Delay Time",
            5,
            RegType::U8,
            Access::Rw,
            true,
            0,
            254,
            250,
        ),
        (
            "CW Angle Limit",
            6,
            RegType::U16,
            Access::Rw,
            true,
            0,
            1023,
            0,
        ),
        (
            "CCW Angle Limit",
            8,
            RegType::U16,
            Access::Rw,
            true,
            0,
            1023,
            1023,
        ),
        (
            "Temperature Limit",
            11,
            RegType::U8,
            Access::Rw,
            true,
            0,
            150,
            70,
        ),
        (
            "Min Voltage Limit",
            12,
            RegType::U8,
            Access::Rw,
            true,
            50,
            250,
            60,
        ),
        (
            "Max Voltage Limit",
            13,
            RegType::U8,
            Access::Rw,
            true,
            50,
            250,
            140,
        ),
        (
            "Status Return Level",
            16,
            RegType::U8,
            Access::Rw,
            true,
            0,
            2,
            2,
        ),
        ("Shutdown", 18, RegType::U8, Access::Rw, true, 0, 127, 36),
        (
            "Goal Position",
            30,
            RegType::U16,
            Access::Rw,
            false,
            0,
            1023,
            0,
        ),
        (
            "Moving Speed",
            32,
            RegType::U16,
            Access::Rw,
            false,
            0,
            2047,
            0,
        ),
        (
            "Torque Limit",
            34,
            RegType::U16,
            Access::Rw,
            false,
            0,
            1023,
            1023,
        ),
    ];
    for (name, address, ty, access, persistent, min, max, default) in expected {
        let r = entry(name);
        assert_eq!(
            (
                r.address,
                r.ty,
                r.access,
                r.persistent,
                r.min,
                r.max,
                r.default
            ),
            (
                address,
                ty,
                access,
                persistent,
                Some(min),
                Some(max),
                default
            ),
            "{name}"
        );
    }
    assert_eq!(entry("Model Number").default, 12);
    assert_eq!(entry("Present Voltage").access, Access::R);
    assert_eq!(entry("Registered").address, 44);
    assert_eq!(entry("Lock").address, 47);
}

#[test]
fn scales_follow_the_documented_units() {
    let profile = Profile::ax12a();
    let position = profile.role(Role::PresentPosition).expect("position");
    // 1023 counts are 300 degrees.
    assert!((position.to_si(1023) - 300.0 * PI / 180.0).abs() < 1e-9);
    let speed = profile.role(Role::GoalVelocity).expect("speed");
    // 0.111 rev/min per count.
    assert!((speed.to_si(1000) - 111.0 * 2.0 * PI / 60.0).abs() < 1e-9);
    let delay = profile.role(Role::ReturnDelay).expect("delay");
    assert!((delay.to_si(250) - 500e-6).abs() < 1e-12);
}

#[test]
fn motor_model_uses_the_datasheet_and_documented_defaults() {
    let motor = Profile::ax12a().motor.expect("motor");
    assert_eq!(
        (
            motor.supply_voltage,
            motor.stall_torque,
            motor.stall_current
        ),
        (12.0, 1.5, 1.5)
    );
    assert!((motor.no_load_speed - 59.0 * 2.0 * PI / 60.0).abs() < 1e-9);
    assert_eq!(motor.inductance, 1.0e-3, "given in the file");
    // Not given in the file: the documented defaults.
    assert_eq!(
        motor.thermal_resistance,
        MotorSpec::DEFAULT_THERMAL_RESISTANCE
    );
    assert_eq!(motor.thermal_capacity, MotorSpec::DEFAULT_THERMAL_CAPACITY);
    assert_eq!(motor.load_inertia, 0.0);
    assert_eq!(motor.encoder_resolution, None);
}

#[test]
fn a_goal_position_write_is_the_e_manual_packet() {
    // e-manual, Protocol 1.0 WRITE example shape: ID 1, Goal Position (30) = 512.
    let goal = Profile::ax12a()
        .role(Role::GoalPosition)
        .expect("goal")
        .clone();
    let packet = Packet::write(1, goal.address as u8, &goal.encode(512));
    assert_eq!(
        packet.encode(),
        [
            0xFF, 0xFF, // header
            0x01, // ID
            0x05, // length: instruction, 3 parameters, checksum
            0x03, // WRITE
            0x1E, // address 30
            0x00, 0x02, // 512, low byte first
            0xD6, // checksum: !(1 + 5 + 3 + 30 + 0 + 2)
        ]
    );
    assert_eq!(dxl1::checksum(&[0x01, 0x05, 0x03, 0x1E, 0x00, 0x02]), 0xD6);
}
