//! The shipped Feetech STS3215 profile: it loads, its roles sit at the addresses of
//! Feetech's STS memory table, its scales match the documented units, and its values go
//! through the `dxl1` codec as the servo expects them.

use std::f64::consts::PI;
use std::path::Path;

use drivedeck_proto::dxl1::{self, Packet, Variant};
use drivedeck_proto::profile::{Access, Profile, Protocol, RegType, Role, SafeStop};

fn sts3215() -> Profile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/feetech-sts3215.toml");
    Profile::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn loads() {
    let profile = sts3215();
    assert_eq!(profile.name, "STS3215");
    assert_eq!(profile.vendor, "Feetech");
    assert_eq!(profile.protocol, Protocol::Feetech);
    assert_eq!(profile.model_number, 777);
    assert_eq!(profile.safe_stop, SafeStop::TorqueOff);
    assert_eq!((profile.modes.position, profile.modes.velocity), (0, 1));
    assert_eq!(
        profile.table_len(),
        87,
        "Acceleration Multiplier (86) is the last register"
    );
    let motor = profile.motor.expect("a motor model");
    assert_eq!(motor.supply_voltage, 7.4);
    assert!(
        motor.stall_torque > 1.8 && motor.stall_torque < 2.0,
        "19.5 kg·cm"
    );
}

#[test]
fn roles_are_at_the_documented_addresses() {
    let profile = sts3215();
    let expected = [
        (Role::TorqueEnable, "Torque Enable", 40, RegType::U8),
        (Role::OperatingMode, "Operating Mode", 33, RegType::U8),
        (Role::GoalPosition, "Goal Position", 42, RegType::U16),
        (Role::GoalVelocity, "Goal Speed", 46, RegType::U16),
        (Role::PresentPosition, "Present Position", 56, RegType::U16),
        (Role::PresentVelocity, "Present Speed", 58, RegType::U16),
        (Role::PresentCurrent, "Present Current", 69, RegType::U16),
        (
            Role::PresentTemperature,
            "Present Temperature",
            63,
            RegType::U8,
        ),
        (Role::HardwareError, "Status", 65, RegType::U8),
        (
            Role::VelocityLimit,
            "Maximum Velocity Limit",
            84,
            RegType::U8,
        ),
        (Role::CurrentLimit, "Protection Current", 28, RegType::U16),
        (Role::ReturnDelay, "Return Delay Time", 7, RegType::U8),
    ];
    for (role, name, address, ty) in expected {
        let register = profile
            .role(role)
            .unwrap_or_else(|| panic!("{role:?} is mapped"));
        assert_eq!(
            (register.name.as_str(), register.address, register.ty),
            (name, address, ty),
            "{role:?}"
        );
    }
    assert_eq!(
        profile.role(Role::BusWatchdog),
        None,
        "the STS3215 has none"
    );
    assert_eq!(
        profile.roles().count(),
        Role::ALL.len() - 2,
        "no watchdog, no statusword"
    );
}

#[test]
fn registers_match_the_memory_table() {
    let profile = sts3215();
    let reg = |name: &str| {
        profile
            .register(name)
            .unwrap_or_else(|| panic!("register {name}"))
    };
    // (name, address, type, access, persistent, default)
    let table = [
        ("Model Number", 3, RegType::U16, Access::R, true, 777),
        ("ID", 5, RegType::U8, Access::Rw, true, 1),
        ("Baud Rate", 6, RegType::U8, Access::Rw, true, 0),
        ("Return Delay Time", 7, RegType::U8, Access::Rw, true, 250),
        ("Min Angle Limit", 9, RegType::U16, Access::Rw, true, 0),
        ("Max Angle Limit", 11, RegType::U16, Access::Rw, true, 4095),
        (
            "Max Temperature Limit",
            13,
            RegType::U8,
            Access::Rw,
            true,
            70,
        ),
        ("Max Torque", 16, RegType::U16, Access::Rw, true, 1000),
        ("P Coefficient", 21, RegType::U8, Access::Rw, true, 32),
        ("D Coefficient", 22, RegType::U8, Access::Rw, true, 32),
        ("I Coefficient", 23, RegType::U8, Access::Rw, true, 0),
        (
            "Protection Current",
            28,
            RegType::U16,
            Access::Rw,
            true,
            511,
        ),
        ("Operating Mode", 33, RegType::U8, Access::Rw, true, 0),
        ("Torque Enable", 40, RegType::U8, Access::Rw, false, 0),
        ("Acceleration", 41, RegType::U8, Access::Rw, false, 0),
        ("Goal Position", 42, RegType::U16, Access::Rw, false, 0),
        ("Goal Time", 44, RegType::U16, Access::Rw, false, 1000),
        ("Goal Speed", 46, RegType::U16, Access::Rw, false, 0),
        ("Torque Limit", 48, RegType::U16, Access::Rw, false, 1000),
        ("Lock", 55, RegType::U8, Access::Rw, false, 1),
        ("Present Position", 56, RegType::U16, Access::R, false, 0),
        ("Present Speed", 58, RegType::U16, Access::R, false, 0),
        ("Present Load", 60, RegType::U16, Access::R, false, 0),
        ("Present Voltage", 62, RegType::U8, Access::R, false, 0),
        ("Present Temperature", 63, RegType::U8, Access::R, false, 0),
        ("Status", 65, RegType::U8, Access::R, false, 0),
        ("Moving", 66, RegType::U8, Access::R, false, 0),
        ("Present Current", 69, RegType::U16, Access::R, false, 0),
    ];
    for (name, address, ty, access, persistent, default) in table {
        let r = reg(name);
        assert_eq!(
            (r.address, r.ty, r.access, r.persistent, r.default),
            (address, ty, access, persistent, default),
            "{name}"
        );
    }
    assert_eq!(reg("ID").limits(), 0..=253);
    assert_eq!(reg("Operating Mode").limits(), 0..=3);
    assert_eq!(reg("Torque Enable").limits(), 0..=2);
    assert_eq!(reg("Goal Position").limits(), 0..=4095);
    assert_eq!(reg("Goal Speed").limits(), 0..=32767);
    // Every EEPROM register lies below the SRAM area, every SRAM one at 40 or above.
    for register in &profile.registers {
        let eeprom = register.address < 40 || register.address >= 80;
        assert_eq!(register.persistent, eeprom, "{}", register.name);
    }
}

#[test]
fn scales_follow_the_documented_units() {
    let profile = sts3215();
    let step = 2.0 * PI / 4096.0;
    let scale = |name: &str| profile.register(name).map(|r| r.scale);
    assert_eq!(scale("Goal Position"), Some(step));
    assert_eq!(scale("Present Position"), Some(step));
    assert_eq!(scale("Goal Speed"), Some(step), "1 step/s");
    assert_eq!(scale("Present Speed"), Some(step));
    assert_eq!(
        scale("Acceleration"),
        Some(100.0 * step),
        "8.7°/s² = 100 steps/s²"
    );
    assert_eq!(
        scale("Maximum Velocity Limit"),
        Some(50.0 * step),
        "0.732 rev/min"
    );
    assert_eq!(scale("Present Current"), Some(0.0065));
    assert_eq!(scale("Protection Current"), Some(0.0065));
    assert_eq!(scale("Present Voltage"), Some(0.1));
    assert_eq!(scale("Return Delay Time"), Some(2e-6));

    // 2048 steps is half a turn; 0.732 rev/min is 50 steps/s.
    let goal = profile.role(Role::GoalPosition).unwrap();
    assert!((goal.to_si(2048) - PI).abs() < 1e-12);
    let rev_per_min = 2.0 * PI / 60.0;
    assert!((50.0 * step - 0.732 * rev_per_min).abs() < 1e-3);
}

#[test]
fn values_reach_the_wire_as_the_servo_expects() {
    let profile = sts3215();
    // Feetech's write example: position 2048 at 1000 steps/s, 6 bytes from Goal Position.
    let goal = profile.role(Role::GoalPosition).unwrap();
    let speed = profile.role(Role::GoalVelocity).unwrap();
    let mut data = goal.encode(2048);
    data.extend_from_slice(&[0, 0]);
    data.extend_from_slice(&speed.encode(1000));
    let frame = Packet::write(1, goal.address as u8, &data).encode();
    assert_eq!(
        frame,
        [
            0xFF, 0xFF, 0x01, 0x09, 0x03, 0x2A, 0x00, 0x08, 0x00, 0x00, 0xE8, 0x03, 0xD5
        ]
    );
    // The profile's little-endian encoding is the STS byte order.
    assert_eq!(goal.encode(2048), Variant::Sts.encode_u16(2048));

    // A reverse speed reads back as a huge positive raw value: the caller has to apply
    // sign-magnitude decoding, which the profile cannot express.
    let present = profile.role(Role::PresentVelocity).unwrap();
    let raw = present.decode(&[0x64, 0x80]).unwrap();
    assert_eq!(raw, 0x8064);
    assert_eq!(
        dxl1::decode_sign_magnitude(raw as u16, dxl1::sign_bit::SPEED),
        -100
    );
    // And a negative goal speed is refused rather than sent as two's complement.
    assert!(speed.check(-100).is_err());
}
