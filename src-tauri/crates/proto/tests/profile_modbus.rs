//! Modbus profiles: register-numbered addresses, 32-bit values over two registers in
//! either word order, holding and input tables, the CiA 402 enable and safe stops, and one
//! test per new validation rule checking the reported line and reason. Also the CiA 402
//! state machine helpers those profiles rely on.

use drivedeck_proto::cia402::{State, controlword};
use drivedeck_proto::profile::{
    AddressSpace, Enable, Profile, ProfileError, Protocol, RegType, Role, SafeStop, WordOrder,
};

/// A minimal valid CiA 402 drive over Modbus RTU. Line numbers matter to the tests.
const BASE: &str = r#"[drive]
name = "Test"
vendor = "DriveDeck"
protocol = "modbus-rtu"
model_number = 7
enable = "cia402"
word_order = "low-first"

[roles]
torque_enable = "Controlword"
status_word = "Statusword"
operating_mode = "Mode"
goal_position = "Target Position"
goal_velocity = "Target Velocity"
present_position = "Position"
present_velocity = "Velocity"
present_current = "Current"
hardware_error = "Error"
velocity_limit = "Speed Limit"
current_limit = "Current Limit"

[modes]
position = 1
velocity = 3

[safe_stop]
action = "quick-stop"

[[register]]
name = "Controlword"
address = 0x3100
type = "u16"
access = "rw"
[[register]]
name = "Statusword"
address = 0x3200
type = "u16"
access = "r"
[[register]]
name = "Mode"
address = 0x3500
type = "i16"
access = "rw"
[[register]]
name = "Target Position"
address = 0x4000
type = "i32"
access = "rw"
[[register]]
name = "Target Velocity"
address = 0x6F00
type = "i32"
access = "rw"
[[register]]
name = "Position"
address = 0x3700
type = "i32"
access = "r"
[[register]]
name = "Velocity"
address = 0x3B00
type = "i32"
access = "r"
word_order = "high-first"
[[register]]
name = "Current"
address = 0x10
type = "i16"
access = "r"
table = "input"
[[register]]
name = "Error"
address = 0x11
type = "u16"
access = "r"
table = "input"
[[register]]
name = "Speed Limit"
address = 0x4900
type = "u32"
access = "rw"
[[register]]
name = "Current Limit"
address = 0x3D00
type = "u16"
access = "rw"
"#;

/// First line of text appended to [`BASE`].
const APPENDED: usize = 87;

fn parse(text: &str) -> Result<Profile, ProfileError> {
    Profile::parse(text, "test.toml")
}

/// Parses `text`, expecting an error; returns (line, reason).
fn fails(text: &str) -> (usize, String) {
    match parse(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(error) => (error.line, error.reason),
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
    assert_eq!(profile.protocol, Protocol::ModbusRtu);
    assert_eq!(profile.enable, Enable::Cia402);
    assert_eq!(profile.word_order, WordOrder::LowFirst);
    assert_eq!(profile.safe_stop, SafeStop::QuickStop);
    assert_eq!(
        profile.role(Role::StatusWord).map(|r| r.address),
        Some(0x3200)
    );
    assert_eq!(profile.role(Role::ReturnDelay), None, "optional on Modbus");
    assert_eq!(profile.role(Role::PresentTemperature), None);
}

#[test]
fn registers_count_words_and_live_in_tables() {
    let profile = parse(BASE).unwrap();
    let reg = |name: &str| profile.register(name).unwrap();
    let target = reg("Target Position");
    assert_eq!(
        (target.space, target.span(), target.size()),
        (AddressSpace::Holding, 2, 4)
    );
    assert_eq!(target.end(), 0x4002);
    assert_eq!(reg("Controlword").span(), 1);
    assert_eq!(reg("Current").space, AddressSpace::Input);
    // The drive's word order applies unless a register says otherwise.
    assert_eq!(target.word_order, WordOrder::LowFirst);
    assert_eq!(reg("Velocity").word_order, WordOrder::HighFirst);
    assert_eq!(profile.table_len(), 0x6F02);
}

#[test]
fn words_in_either_order() {
    let profile = parse(BASE).unwrap();
    let low_first = profile.register("Target Velocity").unwrap();
    let high_first = profile.register("Velocity").unwrap();
    // Kinco's example: 0x00085555 goes out as 55 55 00 08, low word first.
    assert_eq!(low_first.encode_words(0x0008_5555), [0x5555, 0x0008]);
    assert_eq!(low_first.decode_words(&[0x5555, 0x0008]), Some(0x0008_5555));
    assert_eq!(high_first.encode_words(0x0008_5555), [0x0008, 0x5555]);
    assert_eq!(
        high_first.decode_words(&[0x0008, 0x5555]),
        Some(0x0008_5555)
    );
    // Signed 32-bit values keep their sign across the two words.
    assert_eq!(low_first.encode_words(-2), [0xFFFE, 0xFFFF]);
    assert_eq!(low_first.decode_words(&[0xFFFE, 0xFFFF]), Some(-2));
    assert_eq!(
        high_first.decode_words(&[0x8000, 0x0000]),
        Some(i32::MIN.into())
    );
    // u32 stays unsigned.
    let limit = profile.register("Speed Limit").unwrap();
    assert_eq!(limit.ty, RegType::U32);
    assert_eq!(limit.decode_words(&[0xFFFF, 0xFFFF]), Some(0xFFFF_FFFF));
    // 16-bit registers: one word, signed where the type is.
    let mode = profile.register("Mode").unwrap();
    assert_eq!(mode.encode_words(-3), [0xFFFD]);
    assert_eq!(mode.decode_words(&[0xFFFD]), Some(-3));
    assert_eq!(
        profile
            .register("Controlword")
            .unwrap()
            .decode_words(&[0xFFFD]),
        Some(65533)
    );
    // Too few words.
    assert_eq!(low_first.decode_words(&[0x5555]), None);
    assert_eq!(mode.decode_words(&[]), None);
}

#[test]
fn rejects_8_bit_types() {
    let text = with_register(&[
        "name = \"Byte\"",
        "address = 1",
        "type = \"u8\"",
        "access = \"r\"",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 3,
            "type u8 of \"Byte\": Modbus registers are 16-bit words, use u16, i16, u32 or i32"
                .to_owned()
        )
    );
}

#[test]
fn rejects_overlapping_words() {
    // 0x4001 is the second word of Target Position (i32 at 0x4000).
    let text = with_register(&[
        "name = \"Inside\"",
        "address = 0x4001",
        "type = \"u16\"",
        "access = \"r\"",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 2,
            "\"Inside\" (addresses 16385..=16385) overlaps \"Target Position\" (addresses 16384..=16385, line 46)"
                .to_owned()
        )
    );
    // The same address in the other table is another register.
    let text = with_register(&[
        "name = \"Input twin\"",
        "address = 0x4001",
        "type = \"u16\"",
        "access = \"r\"",
        "table = \"input\"",
    ]);
    assert!(parse(&text).is_ok());
    // Right after a 32-bit register is free.
    let text = with_register(&[
        "name = \"After\"",
        "address = 0x4002",
        "type = \"u16\"",
        "access = \"r\"",
    ]);
    assert!(parse(&text).is_ok());
}

#[test]
fn rejects_registers_beyond_the_last_address() {
    let text = with_register(&[
        "name = \"Last\"",
        "address = 65535",
        "type = \"i32\"",
        "access = \"r\"",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 2,
            "\"Last\" at address 65535 with 2 registers ends beyond address 65535".to_owned()
        )
    );
    let text = with_register(&[
        "name = \"Last\"",
        "address = 65535",
        "type = \"u16\"",
        "access = \"r\"",
    ]);
    assert_eq!(parse(&text).unwrap().table_len(), 65536);
}

#[test]
fn rejects_writable_input_registers() {
    let text = with_register(&[
        "name = \"Input\"",
        "address = 0x20",
        "type = \"u16\"",
        "access = \"rw\"",
        "table = \"input\"",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 4,
            "\"Input\" is an input register, which is read-only: access must be \"r\"".to_owned()
        )
    );
}

#[test]
fn rejects_unknown_table_and_word_order() {
    let text = with_register(&[
        "name = \"Coil\"",
        "address = 0x20",
        "type = \"u16\"",
        "access = \"r\"",
        "table = \"coil\"",
    ]);
    assert_eq!(
        fails(&text),
        (
            APPENDED + 5,
            "unknown table \"coil\" in \"Coil\" (expected holding or input)".to_owned()
        )
    );
    let text = BASE.replace("word_order = \"low-first\"", "word_order = \"middle\"");
    assert_eq!(
        fails(&text),
        (
            7,
            "unknown word_order \"middle\" (expected high-first or low-first)".to_owned()
        )
    );
}

#[test]
fn modbus_keys_are_refused_elsewhere() {
    // A DYNAMIXEL profile with `table` in a register, or `word_order` in [drive].
    let dxl = BASE
        .replace("protocol = \"modbus-rtu\"", "protocol = \"dynamixel2\"")
        .replace("word_order = \"low-first\"\n", "");
    assert_eq!(
        fails(&dxl),
        (
            63,
            "`word_order` of \"Velocity\" applies only to modbus-rtu profiles".to_owned()
        )
    );
    let dxl = BASE.replace("protocol = \"modbus-rtu\"", "protocol = \"dynamixel2\"");
    assert_eq!(
        fails(&dxl),
        (
            7,
            "`word_order` applies only to modbus-rtu profiles".to_owned()
        )
    );
}

#[test]
fn cia402_needs_a_statusword() {
    let text = BASE.replace("status_word = \"Statusword\"\n", "");
    assert_eq!(
        fails(&text),
        (
            9,
            "missing role status_word in [roles], required with enable = \"cia402\"".to_owned()
        )
    );
}

#[test]
fn safe_stop_must_fit_the_enable() {
    let text = BASE.replace("action = \"quick-stop\"", "action = \"torque-off\"");
    assert_eq!(
        fails(&text),
        (
            27,
            "safe_stop action torque-off needs enable = \"flag\", but the drive has enable = \"cia402\""
                .to_owned()
        )
    );
    let text = BASE.replace("action = \"quick-stop\"", "action = \"disable-voltage\"");
    assert_eq!(parse(&text).unwrap().safe_stop, SafeStop::DisableVoltage);
    let flag = BASE.replace("enable = \"cia402\"", "enable = \"flag\"");
    assert_eq!(
        fails(&flag),
        (
            27,
            "safe_stop action quick-stop needs enable = \"cia402\", but the drive has enable = \"flag\""
                .to_owned()
        )
    );
    let text = BASE.replace("enable = \"cia402\"", "enable = \"servo-on\"");
    assert_eq!(
        fails(&text),
        (
            6,
            "unknown enable \"servo-on\" (expected flag or cia402)".to_owned()
        )
    );
    // What the safe stops write to the controlword.
    assert_eq!(SafeStop::QuickStop.value(), 0x0002);
    assert_eq!(SafeStop::DisableVoltage.value(), 0x0000);
    assert_eq!(SafeStop::TorqueOff.value(), 0);
}

// ---------------------------------------------------------------------------------------
// CiA 402 state machine

#[test]
fn statusword_states() {
    // CiA 402-2 state coding, with the don't-care bits set in every combination.
    let cases = [
        (0x0000, State::NotReadyToSwitchOn),
        (0x0040, State::SwitchOnDisabled),
        (0x0021, State::ReadyToSwitchOn),
        (0x0023, State::SwitchedOn),
        (0x0027, State::OperationEnabled),
        (0x0007, State::QuickStopActive),
        (0x000F, State::FaultReactionActive),
        (0x0008, State::Fault),
    ];
    for (bits, state) in cases {
        // Bit 4 (voltage enabled), 7 (warning), 8–15: irrelevant to the state.
        for noise in [0x0000, 0x0010, 0x0080, 0xFF00, 0xFF90] {
            assert_eq!(
                State::from_statusword(bits | noise),
                Some(state),
                "{bits:#06x}"
            );
        }
        // Bit 5 (quick stop) is part of the code only where the mask includes it.
        assert_eq!(State::from_statusword(state.statusword()), Some(state));
    }
    // Fault and Switch On Disabled ignore bit 5.
    assert_eq!(State::from_statusword(0x0028), Some(State::Fault));
    assert_eq!(
        State::from_statusword(0x0060),
        Some(State::SwitchOnDisabled)
    );
    // Undefined combinations.
    assert_eq!(State::from_statusword(0x0001), None);
    assert_eq!(State::from_statusword(0x0025), None);
}

#[test]
fn enabling_walks_the_state_machine() {
    // From power-up to Operation Enabled: Shutdown, Switch On, Enable Operation.
    let mut state = State::SwitchOnDisabled;
    let mut sent = Vec::new();
    while let Some(command) = state.next_to_enable() {
        sent.push(command);
        state = match command {
            controlword::SHUTDOWN => State::ReadyToSwitchOn,
            controlword::SWITCH_ON => State::SwitchedOn,
            controlword::ENABLE_OPERATION => State::OperationEnabled,
            other => panic!("unexpected command {other:#06x} in {state:?}"),
        };
    }
    assert_eq!(sent, [0x0006, 0x0007, 0x000F]);
    assert!(state.is_powered());
    assert_eq!(
        State::Fault.next_to_enable(),
        Some(controlword::FAULT_RESET)
    );
    assert_eq!(
        State::QuickStopActive.next_to_enable(),
        Some(controlword::DISABLE_VOLTAGE)
    );
    assert_eq!(State::FaultReactionActive.next_to_enable(), None);
    assert!(!State::SwitchedOn.is_powered());
}
