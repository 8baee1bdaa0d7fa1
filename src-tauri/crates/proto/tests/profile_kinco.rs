//! The shipped Kinco FD5P profile: it loads, its roles sit at the Modbus addresses of
//! Kinco's manual, its scales reproduce the manual's unit formulas, and values go through
//! the `modbus` codec byte for byte as in the manual's example frames.

use std::f64::consts::PI;
use std::path::Path;

use drivedeck_proto::cia402::{State, controlword};
use drivedeck_proto::modbus::RequestFrame;
use drivedeck_proto::profile::{
    Access, AddressSpace, Enable, Profile, Protocol, RegType, Role, SafeStop, WordOrder,
};

fn fd5p() -> Profile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/kinco-fd5p.toml");
    Profile::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

const RPM: f64 = 2.0 * PI / 60.0;

#[test]
fn loads() {
    let profile = fd5p();
    assert_eq!(
        (profile.vendor.as_str(), profile.name.as_str()),
        ("Kinco", "FD5P")
    );
    assert_eq!(profile.protocol, Protocol::ModbusRtu);
    assert_eq!(profile.enable, Enable::Cia402);
    assert_eq!(profile.word_order, WordOrder::LowFirst);
    assert_eq!(profile.safe_stop, SafeStop::QuickStop);
    assert_eq!((profile.modes.position, profile.modes.velocity), (1, 3));
    assert!(profile.motor.is_none());
    // Built in, and the profile a Modbus RTU simulator or scan starts from.
    assert_eq!(Profile::kinco_fd5p(), profile);
    assert!(Profile::builtin().contains(&profile));
    assert_eq!(
        Profile::default_for(Protocol::ModbusRtu),
        Some(profile.clone())
    );
    // Quick Stop brakes, then switches off (CiA 402's default option code 2).
    assert_eq!(
        profile
            .register("Quick Stop Option Code")
            .map(|r| r.default),
        Some(2)
    );
    // Every register is a holding register (the manual: "mapped to 4X").
    for register in &profile.registers {
        assert_eq!(register.space, AddressSpace::Holding, "{}", register.name);
        assert_eq!(
            register.word_order,
            WordOrder::LowFirst,
            "{}",
            register.name
        );
    }
}

#[test]
fn roles_are_at_the_documented_addresses() {
    let profile = fd5p();
    // (role, register, Modbus address, type, writable)
    let expected = [
        (
            Role::TorqueEnable,
            "Controlword",
            0x3100,
            RegType::U16,
            true,
        ),
        (Role::StatusWord, "Statusword", 0x3200, RegType::U16, false),
        (
            Role::OperatingMode,
            "Modes of Operation",
            0x3500,
            RegType::I16,
            true,
        ),
        (
            Role::GoalPosition,
            "Target Position",
            0x4000,
            RegType::I32,
            true,
        ),
        (
            Role::GoalVelocity,
            "Target Velocity",
            0x6F00,
            RegType::I32,
            true,
        ),
        (
            Role::PresentPosition,
            "Position Actual Value",
            0x3700,
            RegType::I32,
            false,
        ),
        (
            Role::PresentVelocity,
            "Velocity Actual Value",
            0x3B00,
            RegType::I32,
            false,
        ),
        (
            Role::PresentCurrent,
            "Current Actual Value",
            0x3E00,
            RegType::I16,
            false,
        ),
        (
            Role::HardwareError,
            "Error State",
            0x1F00,
            RegType::U16,
            false,
        ),
        (Role::VelocityLimit, "Max Speed", 0x4900, RegType::U32, true),
        (
            Role::CurrentLimit,
            "Max Current",
            0x3D00,
            RegType::U16,
            true,
        ),
    ];
    for (role, name, address, ty, writable) in expected {
        let register = profile
            .role(role)
            .unwrap_or_else(|| panic!("{role:?} is mapped"));
        assert_eq!(
            (register.name.as_str(), register.address, register.ty),
            (name, address, ty),
            "{role:?}"
        );
        assert_eq!(register.access == Access::Rw, writable, "{role:?}");
    }
    for absent in [
        Role::PresentTemperature,
        Role::ReturnDelay,
        Role::BusWatchdog,
    ] {
        assert_eq!(profile.role(absent), None, "{absent:?}");
    }
    assert_eq!(profile.roles().count(), expected.len());
    // 32-bit objects take two registers; nothing overlaps the next object (0x100 apart).
    assert_eq!(profile.role(Role::GoalPosition).unwrap().span(), 2);
    assert_eq!(profile.table_len(), 0x6F02);
}

#[test]
fn scales_follow_the_manuals_formulas() {
    let profile = fd5p();
    let reg = |name: &str| profile.register(name).unwrap();
    // Position: 65536 increments per turn.
    let position = reg("Target Position");
    assert!((position.to_si(65_536) - 2.0 * PI).abs() < 1e-12);
    assert_eq!(reg("Position Actual Value").scale, position.scale);
    // Speed: DEC = rpm × 512 × 65536 / 1875; the manual's 1789570 DEC is 100 rpm.
    let velocity = reg("Target Velocity");
    assert!((velocity.to_si(1_789_570) / RPM - 100.0).abs() < 1e-3);
    assert_eq!(velocity.from_si(100.0 * RPM), Some(1_789_570));
    for name in ["Velocity Actual Value", "Max Speed", "Profile Velocity"] {
        assert_eq!(reg(name).scale, velocity.scale, "{name}");
    }
    // Acceleration: DEC = rps/s × 65536 × 65536 / 4000000.
    let acceleration = reg("Profile Acceleration");
    let dec_per_rps2 = 65_536.0 * 65_536.0 / 4_000_000.0;
    assert!((acceleration.to_si(1) - 2.0 * PI / dec_per_rps2).abs() < 1e-15);
    for name in ["Profile Deceleration", "Quick Stop Deceleration"] {
        assert_eq!(reg(name).scale, acceleration.scale, "{name}");
    }
    // Current units are not documented: kept raw rather than guessed.
    assert_eq!(reg("Current Actual Value").scale, 1.0);
    assert_eq!(reg("Current Actual Value").unit, None);
    // Modes: writes limited to the documented modes, position mode by default.
    let mode = reg("Modes of Operation");
    assert_eq!(mode.limits(), 1..=6);
    assert_eq!(mode.default, 1);
}

#[test]
fn values_reach_the_wire_as_in_the_manual() {
    let profile = fd5p();
    // "01 06 31 00 00 0F C7 32": Enable Operation written to the controlword.
    let control = profile.role(Role::TorqueEnable).unwrap();
    let frame =
        RequestFrame::write_single_register(1, control.address, controlword::ENABLE_OPERATION)
            .unwrap()
            .encode()
            .unwrap();
    assert_eq!(frame, [0x01, 0x06, 0x31, 0x00, 0x00, 0x0F, 0xC7, 0x32]);

    // "01 03 32 00 00 02 CA B3": the manual's read at the statusword.
    let status = profile.role(Role::StatusWord).unwrap();
    let frame = RequestFrame::read_holding_registers(1, status.address, 2)
        .unwrap()
        .encode()
        .unwrap();
    assert_eq!(frame, [0x01, 0x03, 0x32, 0x00, 0x00, 0x02, 0xCA, 0xB3]);
    // Its example answer 0xC437: operation enabled, target reached (bit 10).
    let statusword = status.decode_words(&[0xC437]).unwrap() as u16;
    assert_eq!(
        State::from_statusword(statusword),
        Some(State::OperationEnabled)
    );
    assert_ne!(statusword & 1 << 10, 0);

    // "01 10 6F 00 00 02 04 4E 82 00 1B ED 56": 100 rpm, low word first.
    let target = profile.role(Role::GoalVelocity).unwrap();
    let raw = target.from_si(100.0 * RPM).unwrap();
    target.check(raw).unwrap();
    let words = target.encode_words(raw);
    assert_eq!(words, [0x4E82, 0x001B]);
    let frame = RequestFrame::write_multiple_registers(1, target.address, &words)
        .unwrap()
        .encode()
        .unwrap();
    assert_eq!(
        frame,
        [
            0x01, 0x10, 0x6F, 0x00, 0x00, 0x02, 0x04, 0x4E, 0x82, 0x00, 0x1B, 0xED, 0x56
        ]
    );
    // And back: the words a read returns decode to the same speed.
    assert_eq!(target.decode_words(&words), Some(1_789_570));

    // The safe stop: Quick Stop written to the controlword.
    let frame =
        RequestFrame::write_single_register(1, control.address, profile.safe_stop.value() as u16)
            .unwrap()
            .encode()
            .unwrap();
    assert_eq!(&frame[..6], [0x01, 0x06, 0x31, 0x00, 0x00, 0x02]);
}

#[test]
fn reverse_speeds_are_twos_complement() {
    // Unlike Feetech's sign-magnitude, CiA 402 velocities are plain i32: -100 rpm is
    // 0xFFE4B17E, the value of the manual's RS232 example "01 23 FF 60 00 7E B1 E4 FF".
    let profile = fd5p();
    let target = profile.role(Role::GoalVelocity).unwrap();
    let raw = target.from_si(-100.0 * RPM).unwrap();
    assert_eq!(raw, -1_789_570);
    assert_eq!(target.encode_words(raw), [0xB17E, 0xFFE4]);
    assert_eq!(target.decode_words(&[0xB17E, 0xFFE4]), Some(-1_789_570));
}
