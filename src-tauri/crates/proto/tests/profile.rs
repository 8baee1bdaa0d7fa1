//! Drive profiles: the built-in XM430-W350, register conversions, and one test per
//! validation rule checking the reported line and reason.

use std::path::Path;

use drivedeck_proto::profile::{
    Access, AddressSpace, MotorSpec, Profile, ProfileError, Protocol, RegType, Register, Role,
    SafeStop, WordOrder,
};

// ---------------------------------------------------------------------------------------
// Built-in XM430-W350

#[test]
fn builtin_xm430_w350_parses() {
    let profile = Profile::xm430_w350();
    assert_eq!(profile.name, "XM430-W350");
    assert_eq!(profile.vendor, "ROBOTIS");
    assert_eq!(profile.protocol, Protocol::Dynamixel2);
    assert_eq!(profile.model_number, 1020);
    assert_eq!(profile.safe_stop, SafeStop::TorqueOff);
    assert_eq!((profile.modes.position, profile.modes.velocity), (3, 1));
    assert_eq!(
        profile.table_len(),
        148,
        "Backup Ready (147) is the last register"
    );
    assert_eq!(Profile::builtin()[0], profile);

    // The shipped file loads from disk too.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/robotis-xm430-w350.toml");
    assert_eq!(Profile::load(&path).unwrap().registers, profile.registers);
}

#[test]
fn builtin_roles_are_at_the_manual_addresses() {
    let profile = Profile::xm430_w350();
    let expected = [
        (Role::TorqueEnable, "Torque Enable", 64, RegType::U8),
        (Role::OperatingMode, "Operating Mode", 11, RegType::U8),
        (Role::GoalPosition, "Goal Position", 116, RegType::I32),
        (Role::GoalVelocity, "Goal Velocity", 104, RegType::I32),
        (Role::PresentPosition, "Present Position", 132, RegType::I32),
        (Role::PresentVelocity, "Present Velocity", 128, RegType::I32),
        (Role::PresentCurrent, "Present Current", 126, RegType::I16),
        (
            Role::PresentTemperature,
            "Present Temperature",
            146,
            RegType::U8,
        ),
        (
            Role::HardwareError,
            "Hardware Error Status",
            70,
            RegType::U8,
        ),
        (Role::VelocityLimit, "Velocity Limit", 44, RegType::U32),
        (Role::CurrentLimit, "Current Limit", 38, RegType::U16),
        (Role::ReturnDelay, "Return Delay Time", 9, RegType::U8),
        (Role::BusWatchdog, "Bus Watchdog", 98, RegType::I8),
        (Role::PresentOutput, "Present PWM", 124, RegType::I16),
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
        profile.roles().count(),
        Role::ALL.len() - 1,
        "every role but the CiA 402 statusword"
    );
    assert_eq!(profile.role(Role::StatusWord), None);
    assert_eq!(profile.role(Role::GoalPosition).unwrap().size(), 4);
}

#[test]
fn builtin_registers_match_the_manual() {
    let profile = Profile::xm430_w350();
    let reg = |name: &str| {
        profile
            .register(name)
            .unwrap_or_else(|| panic!("{name} exists"))
    };
    // (name, address, size, access, initial value)
    let table = [
        ("Model Number", 0, 2, Access::R, 1020),
        ("Model Information", 2, 4, Access::R, 0),
        ("Firmware Version", 6, 1, Access::R, 0),
        ("ID", 7, 1, Access::Rw, 1),
        ("Baud Rate", 8, 1, Access::Rw, 1),
        ("Return Delay Time", 9, 1, Access::Rw, 250),
        ("Drive Mode", 10, 1, Access::Rw, 0),
        ("Operating Mode", 11, 1, Access::Rw, 3),
        ("Secondary(Shadow) ID", 12, 1, Access::Rw, 255),
        ("Protocol Type", 13, 1, Access::Rw, 2),
        ("Homing Offset", 20, 4, Access::Rw, 0),
        ("Moving Threshold", 24, 4, Access::Rw, 10),
        ("Temperature Limit", 31, 1, Access::Rw, 80),
        ("Max Voltage Limit", 32, 2, Access::Rw, 160),
        ("Min Voltage Limit", 34, 2, Access::Rw, 95),
        ("PWM Limit", 36, 2, Access::Rw, 885),
        ("Current Limit", 38, 2, Access::Rw, 1193),
        ("Velocity Limit", 44, 4, Access::Rw, 200),
        ("Max Position Limit", 48, 4, Access::Rw, 4095),
        ("Min Position Limit", 52, 4, Access::Rw, 0),
        ("Startup Configuration", 60, 1, Access::Rw, 0),
        ("Shutdown", 63, 1, Access::Rw, 52),
        ("Torque Enable", 64, 1, Access::Rw, 0),
        ("LED", 65, 1, Access::Rw, 0),
        ("Status Return Level", 68, 1, Access::Rw, 2),
        ("Registered Instruction", 69, 1, Access::R, 0),
        ("Hardware Error Status", 70, 1, Access::R, 0),
        ("Velocity I Gain", 76, 2, Access::Rw, 1920),
        ("Velocity P Gain", 78, 2, Access::Rw, 100),
        ("Position D Gain", 80, 2, Access::Rw, 0),
        ("Position I Gain", 82, 2, Access::Rw, 0),
        ("Position P Gain", 84, 2, Access::Rw, 800),
        ("Feedforward 2nd Gain", 88, 2, Access::Rw, 0),
        ("Feedforward 1st Gain", 90, 2, Access::Rw, 0),
        ("Bus Watchdog", 98, 1, Access::Rw, 0),
        ("Goal PWM", 100, 2, Access::Rw, 0),
        ("Goal Current", 102, 2, Access::Rw, 0),
        ("Goal Velocity", 104, 4, Access::Rw, 0),
        ("Profile Acceleration", 108, 4, Access::Rw, 0),
        ("Profile Velocity", 112, 4, Access::Rw, 0),
        ("Goal Position", 116, 4, Access::Rw, 0),
        ("Realtime Tick", 120, 2, Access::R, 0),
        ("Moving", 122, 1, Access::R, 0),
        ("Moving Status", 123, 1, Access::R, 0),
        ("Present PWM", 124, 2, Access::R, 0),
        ("Present Current", 126, 2, Access::R, 0),
        ("Present Velocity", 128, 4, Access::R, 0),
        ("Present Position", 132, 4, Access::R, 0),
        ("Velocity Trajectory", 136, 4, Access::R, 0),
        ("Position Trajectory", 140, 4, Access::R, 0),
        ("Present Input Voltage", 144, 2, Access::R, 0),
        ("Present Temperature", 146, 1, Access::R, 0),
        ("Backup Ready", 147, 1, Access::R, 0),
    ];
    assert_eq!(profile.registers.len(), table.len());
    for (register, (name, address, size, access, default)) in profile.registers.iter().zip(table) {
        assert_eq!(
            (
                register.name.as_str(),
                register.address,
                register.size(),
                register.access,
                register.default
            ),
            (name, address, size, access, default)
        );
        assert_eq!(
            register.persistent,
            address < 64,
            "{name}: EEPROM is 0..=63"
        );
    }

    let goal = reg("Goal Position");
    assert_eq!((goal.min, goal.max), (Some(0), Some(4095)));
    assert_eq!(goal.unit.as_deref(), Some("rad"));
    assert_eq!(
        (reg("Goal Velocity").min, reg("Goal Velocity").max),
        (Some(-1023), Some(1023))
    );
    assert_eq!(
        (reg("Goal Current").min, reg("Goal Current").max),
        (Some(-1193), Some(1193))
    );
    assert_eq!(
        (reg("Homing Offset").min, reg("Homing Offset").max),
        (Some(-1_044_479), Some(1_044_479))
    );
    assert!(reg("Present Velocity").ty.is_signed() && reg("Present Current").ty.is_signed());
    assert!(
        (reg("Return Delay Time").to_si(250) - 500e-6).abs() < 1e-12,
        "250 × 2 µs"
    );
    assert!((reg("Present Temperature").to_si(80) - 80.0).abs() < 1e-12);
    assert!((reg("Present Input Voltage").to_si(120) - 12.0).abs() < 1e-9);
    assert!((reg("Present Current").to_si(1000) - 2.69).abs() < 1e-9);
    // 0.229 rev/min per count.
    let rpm = reg("Present Velocity").to_si(1000) * 60.0 / std::f64::consts::TAU;
    assert!((rpm - 229.0).abs() < 1e-9);

    let motor = profile.motor.expect("the XM430-W350 has a motor model");
    assert_eq!(
        (
            motor.supply_voltage,
            motor.stall_torque,
            motor.stall_current
        ),
        (12.0, 4.1, 2.3)
    );
    assert!(
        (motor.no_load_speed * 60.0 / std::f64::consts::TAU - 46.0).abs() < 1e-9,
        "46 rev/min"
    );
    assert!(motor.inertia > 0.0 && motor.no_load_current < motor.stall_current);
}

// ---------------------------------------------------------------------------------------
// Register conversions

fn register(ty: RegType, scale: f64) -> Register {
    Register {
        name: "Test".into(),
        address: 0,
        ty,
        unit: None,
        scale,
        min: None,
        max: None,
        access: Access::Rw,
        persistent: false,
        default: 0,
        description: None,
        space: AddressSpace::Bytes,
        word_order: WordOrder::HighFirst,
    }
}

#[test]
fn encode_and_decode_every_type() {
    let cases: [(RegType, i64, &[u8]); 12] = [
        (RegType::U8, 200, &[0xC8]),
        (RegType::I8, -1, &[0xFF]),
        (RegType::I8, -128, &[0x80]),
        (RegType::U16, 1193, &[0xA9, 0x04]),
        (RegType::I16, -1193, &[0x57, 0xFB]),
        (RegType::I16, 32767, &[0xFF, 0x7F]),
        (RegType::U32, 4_294_967_295, &[0xFF, 0xFF, 0xFF, 0xFF]),
        (RegType::U32, 4095, &[0xFF, 0x0F, 0x00, 0x00]),
        (RegType::I32, -1, &[0xFF, 0xFF, 0xFF, 0xFF]),
        (RegType::I32, -1_048_575, &[0x01, 0x00, 0xF0, 0xFF]),
        (RegType::I32, i32::MIN.into(), &[0x00, 0x00, 0x00, 0x80]),
        (RegType::I32, 512, &[0x00, 0x02, 0x00, 0x00]),
    ];
    for (ty, raw, bytes) in cases {
        let reg = register(ty, 1.0);
        assert_eq!(reg.encode(raw), bytes, "{ty} {raw}");
        assert_eq!(reg.decode(bytes), Some(raw), "{ty} {bytes:02X?}");
        assert_eq!(reg.encode(raw).len(), ty.size());
    }
    // Too short: None. Longer: the leading bytes.
    assert_eq!(
        register(RegType::I32, 1.0).decode(&[0xFF, 0xFF, 0xFF]),
        None
    );
    assert_eq!(register(RegType::U16, 1.0).decode(&[]), None);
    assert_eq!(
        register(RegType::U16, 1.0).decode(&[0x34, 0x12, 0x99]),
        Some(0x1234)
    );
    // The same bytes read signed and unsigned.
    assert_eq!(
        register(RegType::U16, 1.0).decode(&[0xFF, 0xFF]),
        Some(65535)
    );
    assert_eq!(register(RegType::I16, 1.0).decode(&[0xFF, 0xFF]), Some(-1));
}

#[test]
fn si_round_trips() {
    let position = register(RegType::I32, std::f64::consts::TAU / 4096.0);
    assert!((position.to_si(2048) - std::f64::consts::PI).abs() < 1e-12);
    assert_eq!(position.from_si(std::f64::consts::PI), Some(2048));
    for raw in [-1_048_575, -4096, -1, 0, 1, 2047, 4095, 1_048_575] {
        assert_eq!(position.from_si(position.to_si(raw)), Some(raw), "{raw}");
    }
    let velocity = register(RegType::I32, 0.229 * std::f64::consts::TAU / 60.0);
    for raw in [-1023, -200, -1, 0, 1, 200, 1023] {
        assert_eq!(velocity.from_si(velocity.to_si(raw)), Some(raw), "{raw}");
    }
    let current = register(RegType::I16, 0.00269);
    assert!((current.to_si(-1193) + 3.20917).abs() < 1e-9);
    assert_eq!(current.from_si(-3.20917), Some(-1193));
    assert_eq!(
        current.from_si(1.0),
        Some(372),
        "1 A / 2.69 mA = 371.75, rounded"
    );
    assert_eq!(current.from_si(-1.0), Some(-372));

    // Not representable.
    assert_eq!(current.from_si(f64::NAN), None);
    assert_eq!(current.from_si(f64::INFINITY), None);
    assert_eq!(current.from_si(f64::NEG_INFINITY), None);
    assert_eq!(current.from_si(100.0), None, "37175 counts do not fit i16");
    let byte = register(RegType::U8, 1.0);
    assert_eq!(byte.from_si(255.4), Some(255));
    assert_eq!(byte.from_si(255.6), None);
    assert_eq!(byte.from_si(-0.6), None);
    assert_eq!(byte.from_si(-0.4), Some(0));
}

#[test]
fn check_names_register_value_and_range() {
    let profile = Profile::xm430_w350();
    let goal = profile.role(Role::GoalPosition).unwrap();
    assert_eq!(goal.check(0), Ok(()));
    assert_eq!(goal.check(4095), Ok(()));
    assert_eq!(
        goal.check(4096),
        Err("Goal Position: value 4096 is outside the allowed range 0..=4095".to_owned())
    );
    assert_eq!(
        goal.check(-1),
        Err("Goal Position: value -1 is outside the allowed range 0..=4095".to_owned())
    );
    let torque = profile.role(Role::TorqueEnable).unwrap();
    assert_eq!(
        torque.check(256),
        Err("Torque Enable: value 256 does not fit type u8 (0..=255)".to_owned())
    );
    let present = profile.role(Role::PresentPosition).unwrap();
    assert_eq!(present.limits(), i64::from(i32::MIN)..=i64::from(i32::MAX));
    assert!(present.check(-5_000_000).is_ok());
    assert!(present.check(1 << 31).is_err());
}

#[test]
fn serializes_with_toml_names() {
    let profile = Profile::xm430_w350();
    let json = serde_json::to_value(profile.role(Role::GoalPosition).unwrap()).unwrap();
    assert_eq!(json["type"], "i32");
    assert_eq!(json["access"], "rw");
    assert_eq!(json["address"], 116);
    assert_eq!(
        serde_json::to_value(Protocol::ModbusRtu).unwrap(),
        "modbus-rtu"
    );
    assert_eq!(
        serde_json::to_value(SafeStop::TorqueOff).unwrap(),
        "torque-off"
    );
    assert_eq!(
        serde_json::to_value(Role::HardwareError).unwrap(),
        Role::HardwareError.key()
    );
}

// ---------------------------------------------------------------------------------------
// Validation: one test per rule, checking the reported line and reason.

/// A minimal valid profile; its line numbers are relied on below (checked in `base_is_valid`).
///
/// Register block i (0-based) starts on line 28 + 5 i: `[[register]]`, name (+1), address
/// (+2), type (+3), access (+4). Text appended by the tests starts on line 88.
const BASE: &str = r#"[drive]
name = "Test"
vendor = "DriveDeck"
protocol = "dynamixel2"
model_number = 7

[roles]
torque_enable = "Torque"
operating_mode = "Mode"
goal_position = "Goal"
goal_velocity = "Goal Speed"
present_position = "Position"
present_velocity = "Speed"
present_current = "Current"
present_temperature = "Temperature"
hardware_error = "Error"
velocity_limit = "Speed Limit"
current_limit = "Current Limit"
return_delay = "Delay"

[modes]
position = 3
velocity = 1

[safe_stop]
action = "torque-off"

[[register]]
name = "Torque"
address = 0
type = "u8"
access = "rw"
[[register]]
name = "Mode"
address = 1
type = "u8"
access = "rw"
[[register]]
name = "Goal"
address = 2
type = "i32"
access = "rw"
[[register]]
name = "Goal Speed"
address = 6
type = "i32"
access = "rw"
[[register]]
name = "Position"
address = 10
type = "i32"
access = "r"
[[register]]
name = "Speed"
address = 14
type = "i32"
access = "r"
[[register]]
name = "Current"
address = 18
type = "i16"
access = "r"
[[register]]
name = "Temperature"
address = 20
type = "u8"
access = "r"
[[register]]
name = "Error"
address = 21
type = "u8"
access = "r"
[[register]]
name = "Speed Limit"
address = 22
type = "u32"
access = "rw"
[[register]]
name = "Current Limit"
address = 26
type = "u16"
access = "rw"
[[register]]
name = "Delay"
address = 28
type = "u8"
access = "rw"
"#;

/// First line of text appended to [`BASE`].
const APPENDED: usize = 88;

fn parse(text: &str) -> Result<Profile, ProfileError> {
    Profile::parse(text, "test.toml")
}

/// Parses `text`, expecting an error; returns (line, reason).
fn fails(text: &str) -> (usize, String) {
    match parse(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(error) => {
            assert_eq!(error.source_name, "test.toml");
            (error.line, error.reason)
        }
    }
}

/// [`BASE`] followed by one more register block with the given lines after `[[register]]`.
fn with_register(lines: &[&str]) -> String {
    format!("{BASE}[[register]]\n{}\n", lines.join("\n"))
}

#[test]
fn base_is_valid() {
    assert_eq!(BASE.lines().count(), APPENDED - 1);
    let profile = parse(BASE).unwrap();
    assert_eq!(profile.table_len(), 29);
    assert_eq!(
        profile.role(Role::BusWatchdog),
        None,
        "bus_watchdog is optional"
    );
    assert_eq!(profile.role(Role::ReturnDelay).unwrap().address, 28);
    assert_eq!(profile.motor, None);
    let defaults = parse(&with_register(&[
        "name = \"X\"",
        "address = 100",
        "type = \"u8\"",
        "access = \"r\"",
    ]))
    .unwrap();
    let x = defaults.register("X").unwrap();
    assert_eq!(
        (x.scale, x.default, x.persistent, x.min, x.max),
        (1.0, 0, false, None, None)
    );
}

#[test]
fn rejects_unknown_type() {
    let text = with_register(&[
        "name = \"X\"",
        "address = 100",
        "type = \"u24\"",
        "access = \"rw\"",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 3,
            "unknown type \"u24\" in \"X\" (expected u8, i8, u16, i16, u32 or i32)".to_owned()
        )
    );
}

#[test]
fn rejects_unknown_access() {
    let text = with_register(&[
        "name = \"X\"",
        "address = 100",
        "type = \"u8\"",
        "access = \"w\"",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 4,
            "unknown access \"w\" in \"X\" (expected r or rw)".to_owned()
        )
    );
}

#[test]
fn rejects_min_greater_than_max() {
    let text = with_register(&[
        "name = \"X\"",
        "address = 100",
        "type = \"u8\"",
        "access = \"rw\"",
        "min = 10",
        "max = 5",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 6,
            "min 10 is greater than max 5 in \"X\"".to_owned()
        )
    );
}

#[test]
fn rejects_default_outside_min_max() {
    let text = with_register(&[
        "name = \"X\"",
        "address = 100",
        "type = \"i16\"",
        "access = \"rw\"",
        "min = -10",
        "max = 10",
        "default = 11",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 7,
            "invalid default: X: value 11 is outside the allowed range -10..=10".to_owned()
        )
    );
    // Without `default` the initial value is 0, which must be allowed too.
    let text = with_register(&[
        "name = \"X\"",
        "address = 100",
        "type = \"u8\"",
        "access = \"rw\"",
        "min = 1",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 1,
            "invalid default: X: value 0 is outside the allowed range 1..=255 (no `default` given, so it is 0)".to_owned()
        )
    );
}

#[test]
fn rejects_min_or_max_outside_the_type() {
    let text = with_register(&[
        "name = \"X\"",
        "address = 100",
        "type = \"u8\"",
        "access = \"rw\"",
        "min = -1",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 5,
            "min -1 of \"X\" does not fit type u8 (0..=255)".to_owned()
        )
    );
    let text = with_register(&[
        "name = \"X\"",
        "address = 100",
        "type = \"i8\"",
        "access = \"rw\"",
        "max = 128",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 5,
            "max 128 of \"X\" does not fit type i8 (-128..=127)".to_owned()
        )
    );
}

#[test]
fn rejects_overlapping_registers() {
    // Position occupies 10..=13; its address is on line 28 + 5 * 4 + 2 = 50.
    let text = with_register(&[
        "name = \"X\"",
        "address = 13",
        "type = \"u16\"",
        "access = \"rw\"",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 2,
            "\"X\" (addresses 13..=14) overlaps \"Position\" (addresses 10..=13, line 50)"
                .to_owned()
        )
    );
    // Adjacent is fine.
    let text = with_register(&[
        "name = \"X\"",
        "address = 29",
        "type = \"u32\"",
        "access = \"rw\"",
    ]);
    assert_eq!(parse(&text).unwrap().table_len(), 33);
}

#[test]
fn rejects_registers_beyond_address_65535() {
    let text = with_register(&[
        "name = \"X\"",
        "address = 65534",
        "type = \"u32\"",
        "access = \"rw\"",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 2,
            "\"X\" at address 65534 with 4 bytes ends beyond address 65535".to_owned()
        )
    );
    let text = with_register(&[
        "name = \"X\"",
        "address = 65535",
        "type = \"u8\"",
        "access = \"rw\"",
    ]);
    assert_eq!(parse(&text).unwrap().table_len(), 65536);
    // An address that does not fit 16 bits at all is a type error.
    let text = with_register(&[
        "name = \"X\"",
        "address = 70000",
        "type = \"u8\"",
        "access = \"rw\"",
    ]);
    let (line, reason) = fails(&text);
    assert_eq!(line, APPENDED + 2);
    assert!(
        reason.contains("70000") && reason.contains("u16"),
        "{reason}"
    );
}

#[test]
fn rejects_duplicate_names() {
    // The first "Delay" is register 11; its name is on line 28 + 5 * 11 + 1 = 84.
    let text = with_register(&[
        "name = \"Delay\"",
        "address = 100",
        "type = \"u8\"",
        "access = \"rw\"",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 1,
            "duplicate register name \"Delay\" (first defined on line 84)".to_owned()
        )
    );
}

#[test]
fn rejects_role_naming_a_missing_register() {
    let text = BASE.replace(
        "goal_velocity = \"Goal Speed\"",
        "goal_velocity = \"Goal Sped\"",
    );
    assert_eq!(
        fails(&text),
        (
            11,
            "role goal_velocity names register \"Goal Sped\", which does not exist".to_owned()
        )
    );
}

#[test]
fn the_sts3215s_output_is_its_duty_cycle_and_the_kincos_is_not_mapped() {
    let sts = Profile::sts3215();
    let output = sts.role(Role::PresentOutput).expect("mapped");
    assert_eq!((output.name.as_str(), output.address), ("Present Load", 60));
    assert_eq!(output.unit.as_deref(), Some("%"));
    // The Kinco drive reads its current, not a duty cycle: no output to record.
    let kinco = Profile::builtin()
        .into_iter()
        .find(|p| p.protocol == Protocol::ModbusRtu)
        .expect("the Kinco profile");
    assert_eq!(kinco.role(Role::PresentOutput), None);
}

#[test]
fn rejects_missing_required_role() {
    let text = BASE.replace("present_current = \"Current\"\n", "");
    assert_eq!(
        fails(&text),
        (
            7,
            "missing required role present_current in [roles]".to_owned()
        )
    );
    for role in Role::ALL {
        assert_eq!(
            role.is_required(Protocol::Dynamixel2),
            ![Role::BusWatchdog, Role::StatusWord, Role::PresentOutput].contains(&role),
            "{role:?}"
        );
        // Modbus drives have no return delay, and not all report a temperature.
        let optional_on_modbus = [
            Role::BusWatchdog,
            Role::StatusWord,
            Role::PresentOutput,
            Role::ReturnDelay,
            Role::PresentTemperature,
        ];
        assert_eq!(
            role.is_required(Protocol::ModbusRtu),
            !optional_on_modbus.contains(&role),
            "{role:?}"
        );
    }
}

#[test]
fn rejects_read_only_register_for_a_written_role() {
    let text = BASE.replace("goal_position = \"Goal\"", "goal_position = \"Position\"");
    assert_eq!(
        fails(&text),
        (
            10,
            "role goal_position names register \"Position\", which is read-only".to_owned()
        )
    );
}

#[test]
fn rejects_unknown_keys() {
    let text = with_register(&[
        "name = \"X\"",
        "address = 100",
        "type = \"u8\"",
        "access = \"rw\"",
        "colour = \"red\"",
    ]);
    let (line, reason) = fails(&text);
    assert_eq!(line, APPENDED + 5);
    assert!(reason.starts_with("unknown field `colour`"), "{reason}");

    let text = BASE.replace(
        "return_delay = \"Delay\"",
        "return_delay = \"Delay\"\nbrake = \"Torque\"",
    );
    let (line, reason) = fails(&text);
    assert_eq!(line, 20);
    assert!(reason.starts_with("unknown field `brake`"), "{reason}");

    let text = BASE.replace("model_number = 7", "model_number = 7\nserial = 1");
    let (line, reason) = fails(&text);
    assert_eq!(line, 6);
    assert!(reason.starts_with("unknown field `serial`"), "{reason}");

    let text = format!("{BASE}[gearbox]\nratio = 353.5\n");
    let (line, reason) = fails(&text);
    assert_eq!(line, APPENDED);
    assert!(reason.starts_with("unknown field `gearbox`"), "{reason}");
}

#[test]
fn rejects_bad_scale() {
    let text = with_register(&[
        "name = \"X\"",
        "address = 100",
        "type = \"u8\"",
        "access = \"rw\"",
        "scale = 0.0",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 5,
            "scale of \"X\" must be a finite, non-zero number, not 0".to_owned()
        )
    );
    let text = with_register(&[
        "name = \"X\"",
        "address = 100",
        "type = \"u8\"",
        "access = \"rw\"",
        "scale = nan",
    ]);
    assert_eq!(fails(&text).0, APPENDED + 5);
}

#[test]
fn rejects_mode_outside_the_operating_mode_register() {
    let text = BASE.replace("position = 3", "position = 300");
    assert_eq!(
        fails(&text),
        (
            22,
            "mode position: Mode: value 300 does not fit type u8 (0..=255)".to_owned()
        )
    );
}

#[test]
fn rejects_unknown_safe_stop_action() {
    let text = BASE.replace("action = \"torque-off\"", "action = \"brake\"");
    assert_eq!(
        fails(&text),
        (
            26,
            "unknown safe_stop action \"brake\" (expected torque-off, quick-stop or disable-voltage)"
                .to_owned()
        )
    );
}

#[test]
fn rejects_unknown_protocol() {
    let text = BASE.replace("protocol = \"dynamixel2\"", "protocol = \"canopen\"");
    let (line, reason) = fails(&text);
    assert_eq!(line, 4);
    assert!(reason.contains("unknown variant `canopen`"), "{reason}");
}

#[test]
fn validates_the_motor_model() {
    let motor = |inertia: &str| {
        format!(
            "{BASE}[motor]\nsupply_voltage = 12.0\nstall_torque = 4.1\nstall_current = 2.3\nno_load_speed = 4.8\n\
             no_load_current = 0.13\ninertia = {inertia}\nviscous_friction = 0.05\ncoulomb_friction = 0.05\n"
        )
    };
    let profile = parse(&motor("0.012")).unwrap();
    assert_eq!(profile.motor.map(|m| m.inertia), Some(0.012));
    assert_eq!(
        fails(&motor("-0.012")),
        (
            APPENDED + 6,
            "motor inertia must be a positive number, not -0.012".to_owned()
        )
    );
    let (line, reason) = fails(&motor("0.012").replace("coulomb_friction = 0.05\n", ""));
    assert_eq!(line, APPENDED);
    assert!(
        reason.contains("missing field `coulomb_friction`"),
        "{reason}"
    );
}

#[test]
fn optional_motor_figures_default_and_are_validated() {
    let motor = |extra: &str| {
        format!(
            "{BASE}[motor]\nsupply_voltage = 12.0\nstall_torque = 4.1\nstall_current = 2.3\nno_load_speed = 4.8\n\
             no_load_current = 0.13\ninertia = 0.012\nviscous_friction = 0.05\ncoulomb_friction = 0.05\n{extra}"
        )
    };
    // Absent: the documented defaults.
    let plain = parse(&motor("")).unwrap().motor.unwrap();
    assert_eq!(plain.inductance, MotorSpec::DEFAULT_INDUCTANCE);
    assert_eq!(
        plain.thermal_resistance,
        MotorSpec::DEFAULT_THERMAL_RESISTANCE
    );
    assert_eq!(plain.thermal_capacity, MotorSpec::DEFAULT_THERMAL_CAPACITY);
    assert_eq!(
        plain.ambient_temperature,
        MotorSpec::DEFAULT_AMBIENT_TEMPERATURE
    );
    assert_eq!(
        (
            plain.load_inertia,
            plain.position_noise,
            plain.current_noise
        ),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(plain.encoder_resolution, None);
    // Given: taken as they are.
    let given = parse(&motor(
        "inductance = 0.002\nload_inertia = 0.03\nencoder_resolution = 1024\ncurrent_noise = 0.01\n",
    ))
    .unwrap()
    .motor
    .unwrap();
    assert_eq!(
        (
            given.inductance,
            given.load_inertia,
            given.encoder_resolution
        ),
        (0.002, 0.03, Some(1024))
    );
    assert_eq!(given.current_noise, 0.01);
    assert!((given.electrical_time_constant() - 0.002 * 2.3 / 12.0).abs() < 1e-15);
    // Bad values: the line and the reason.
    assert_eq!(
        fails(&motor("inductance = 0.0\n")),
        (
            APPENDED + 9,
            "motor inductance must be a positive number, not 0".to_owned()
        )
    );
    assert_eq!(
        fails(&motor("position_noise = -1.0\n")),
        (
            APPENDED + 9,
            "motor position_noise must be zero or positive, not -1".to_owned()
        )
    );
    let (line, reason) = fails(&motor("encoder_resolution = 2\n"));
    assert_eq!(line, APPENDED + 9);
    assert!(reason.contains("at least 4 counts"), "{reason}");
    let (_, reason) = fails(&motor("brush_count = 2\n"));
    assert!(reason.contains("unknown field `brush_count`"), "{reason}");
}

#[test]
fn reports_toml_syntax_errors_with_their_line() {
    let text = format!("{BASE}[[register]]\nname = \"X\naddress = 1\n");
    let (line, _reason) = fails(&text);
    assert_eq!(line, APPENDED + 1);
}

#[test]
fn error_display_and_unreadable_files() {
    let text = with_register(&[
        "name = \"X\"",
        "address = 100",
        "type = \"u24\"",
        "access = \"rw\"",
    ]);
    let error = parse(&text).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "test.toml:{}: unknown type \"u24\" in \"X\" (expected u8, i8, u16, i16, u32 or i32)",
            APPENDED + 3
        )
    );
    let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/no-such-profile.toml");
    let error = Profile::load(&missing).unwrap_err();
    assert_eq!(error.line, 0);
    assert!(error.source_name.ends_with("no-such-profile.toml"));
    assert!(
        error.reason.starts_with("cannot read the file"),
        "{}",
        error.reason
    );
}
