//! The CiA 402 firmware of a simulated drive (profiles with `enable = "cia402"`): the power
//! drive state machine driven by controlword writes, the statusword that shows it, the
//! modes of operation the simulator runs, and the codes a fault leaves behind.
//!
//! The state machine follows CiA 402-2 (IEC 61800-7-201): the drive comes up in Switch On
//! Disabled; Shutdown (0x06), Switch On (0x07) and Enable Operation (0x0F) walk it to
//! Operation Enabled (0x0F from Ready to Switch On does transitions 3 and 4 at once);
//! Disable Voltage (bit 1 clear) drops to Switch On Disabled from any powered state; Quick
//! Stop (bit 2 clear) brakes from Operation Enabled and then, per the quick stop option
//! code (605Ah), goes to Switch On Disabled (0–4) or stays in Quick Stop Active (5–8, from
//! which Enable Operation returns); a fault goes through Fault Reaction Active (braking on
//! the quick stop deceleration) to Fault, and only a rising edge of bit 7 (Fault Reset)
//! leaves Fault, once the cause is gone. This module holds the pure parts; the drive
//! ([`super::SimDrive`]) applies them to its table and motor.
//!
//! Modes of operation (6060h): 1 profile position (a new set point is taken on a rising
//! edge of controlword bit 4, absolute or relative per bit 6, and approached within the
//! profile velocity, acceleration and deceleration), 3 profile velocity (the target
//! velocity, ramped), 6 homing on the current position (methods 35/37: bit 4's rising edge
//! makes the present position 0). Any other mode is refused when written. Controlword
//! bit 8 (Halt) stops with the profile deceleration in every mode.

use super::{Gains, POSITION_WINDOW, SimDrive, VELOCITY_WINDOW, alarm, get, put};
use drivedeck_proto::cia402::State;

/// Controlword (6040h) bits.
pub mod control {
    /// Bit 0: switch on.
    pub const SWITCH_ON: u16 = 1 << 0;
    /// Bit 1: enable voltage.
    pub const ENABLE_VOLTAGE: u16 = 1 << 1;
    /// Bit 2: quick stop (active low).
    pub const QUICK_STOP: u16 = 1 << 2;
    /// Bit 3: enable operation.
    pub const ENABLE_OPERATION: u16 = 1 << 3;
    /// Bit 4: profile position new set point; homing operation start.
    pub const NEW_SET_POINT: u16 = 1 << 4;
    /// Bit 6: profile position: the target is relative.
    pub const RELATIVE: u16 = 1 << 6;
    /// Bit 7: fault reset (on its rising edge).
    pub const FAULT_RESET: u16 = 1 << 7;
    /// Bit 8: halt.
    pub const HALT: u16 = 1 << 8;
}

/// Statusword (6041h) bits beyond the state coding of [`State::statusword`].
pub mod status {
    /// Bit 7: warning (here: the winding within 10 K of its temperature limit).
    pub const WARNING: u16 = 1 << 7;
    /// Bit 9: remote — the drive follows the controlword.
    pub const REMOTE: u16 = 1 << 9;
    /// Bit 10: target reached.
    pub const TARGET_REACHED: u16 = 1 << 10;
    /// Bit 11: internal limit active (here: the current or voltage limit).
    pub const INTERNAL_LIMIT: u16 = 1 << 11;
    /// Bit 12: profile position set-point acknowledge, profile velocity speed 0, homing
    /// attained.
    pub const OPERATION_12: u16 = 1 << 12;
}

/// Error codes (603Fh) the simulated drive reports, from the CiA 301/402 error code table.
pub mod error_code {
    /// 4310h excess temperature, drive (LS Electric's G100 and Kollmorgen's AKD report
    /// their over-temperature trips with it).
    pub const OVER_TEMPERATURE: u16 = 0x4310;
    /// 3210h DC link over-voltage.
    pub const OVER_VOLTAGE: u16 = 0x3210;
    /// 3220h DC link under-voltage.
    pub const UNDER_VOLTAGE: u16 = 0x3220;
}

/// A mode of operation the simulator runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 1: profile position.
    ProfilePosition,
    /// 3: profile velocity.
    ProfileVelocity,
    /// 6: homing (on the current position only).
    Homing,
}

impl Mode {
    /// The mode with this 6060h value, if the simulator runs it.
    pub fn from_raw(raw: i64) -> Option<Mode> {
        match raw {
            1 => Some(Mode::ProfilePosition),
            3 => Some(Mode::ProfileVelocity),
            6 => Some(Mode::Homing),
            _ => None,
        }
    }
}

/// Quick stop option codes 5–8 stay in Quick Stop Active once stopped (and allow Enable
/// Operation back, transition 16); 0–4 go on to Switch On Disabled.
pub fn quick_stop_stays(option: i64) -> bool {
    (5..=8).contains(&option)
}

/// The state after `controlword` is written in `state`, `previous` being the controlword
/// before. A fault reset (bit 7 rising) leaves [`State::Fault`]; whether the cause is gone
/// is the caller's to check. Commands a state does not accept change nothing.
pub fn transition(state: State, previous: u16, controlword: u16, quick_stop_option: i64) -> State {
    use control::*;
    let reset = controlword & FAULT_RESET != 0 && previous & FAULT_RESET == 0;
    match state {
        State::Fault if reset => State::SwitchOnDisabled,
        State::Fault | State::FaultReactionActive | State::NotReadyToSwitchOn => state,
        _ if controlword & ENABLE_VOLTAGE == 0 => State::SwitchOnDisabled, // 7, 9, 10, 12
        _ if controlword & QUICK_STOP == 0 => match state {
            State::ReadyToSwitchOn | State::SwitchedOn => State::SwitchOnDisabled, // 7, 10
            State::OperationEnabled => State::QuickStopActive,                     // 11
            other => other,
        },
        _ => match (
            controlword & SWITCH_ON != 0,
            controlword & ENABLE_OPERATION != 0,
            state,
        ) {
            // Shutdown: 2, 6, 8.
            (false, _, State::SwitchOnDisabled | State::SwitchedOn | State::OperationEnabled) => {
                State::ReadyToSwitchOn
            }
            // Switch On: 3; Disable Operation: 5.
            (true, false, State::ReadyToSwitchOn | State::OperationEnabled) => State::SwitchedOn,
            // Enable Operation: 3 + 4, 4, and 16 where the option code allows it.
            (true, true, State::ReadyToSwitchOn | State::SwitchedOn) => State::OperationEnabled,
            (true, true, State::QuickStopActive) if quick_stop_stays(quick_stop_option) => {
                State::OperationEnabled
            }
            (_, _, other) => other,
        },
    }
}

/// The 603Fh code for a set of alarm conditions (the first that applies).
fn code_for(conditions: u8, over_voltage: bool) -> u16 {
    if conditions & alarm::OVERHEATING != 0 {
        error_code::OVER_TEMPERATURE
    } else if conditions & alarm::INPUT_VOLTAGE != 0 && over_voltage {
        error_code::OVER_VOLTAGE
    } else if conditions & alarm::INPUT_VOLTAGE != 0 {
        error_code::UNDER_VOLTAGE
    } else {
        0
    }
}

/// An over-temperature fault can be reset only once the winding is this much below the
/// limit, K (the simulator's choice: drives publish such a hysteresis, values vary).
pub const TEMPERATURE_HYSTERESIS: f64 = 5.0;

/// The CiA 402 firmware's part of [`SimDrive`].
impl SimDrive {
    /// The conditions that keep a fault from being reset: those in force, and an
    /// over-temperature until the winding is [`TEMPERATURE_HYSTERESIS`] below the limit.
    fn fault_conditions(&self) -> u8 {
        let mut conditions = self.conditions();
        if self
            .temperature_limit()
            .is_some_and(|limit| self.motor.temperature > limit - TEMPERATURE_HYSTERESIS)
        {
            conditions |= alarm::OVERHEATING;
        }
        conditions
    }

    /// The present position in the reported frame (after homing), not quantised, rad.
    fn true_position(&self) -> f64 {
        self.motor.position - self.position_offset
    }

    /// The mode of operation selected (profile position when the profile maps none).
    fn mode(&self) -> Mode {
        self.entries
            .operating_mode
            .as_ref()
            .and_then(|r| Mode::from_raw(get(&self.table, r)))
            .unwrap_or(Mode::ProfilePosition)
    }

    fn quick_stop_option(&self) -> i64 {
        self.entries
            .quick_stop_option
            .as_ref()
            .map_or(2, |r| get(&self.table, r))
    }

    /// An SI entry where 0 means "not set" (profile velocity, accelerations).
    fn positive_si(&self, entry: &Option<drivedeck_proto::profile::Register>) -> Option<f64> {
        self.entry_si(entry).map(f64::abs).filter(|v| *v > 0.0)
    }

    /// A controlword was written: the state machine steps, and in Operation Enabled bit
    /// 4's rising edge starts a move (profile position) or homing.
    pub(super) fn controlword_written(&mut self, word: u16) {
        let option = self.quick_stop_option();
        let conditions = self.fault_conditions();
        let present = self.true_position();
        let velocity = self.motor.velocity;
        let mode = self.mode();
        let target = self.goal_si(&self.entries.goal_position);
        let Some(cia) = self.cia402.as_mut() else {
            return;
        };
        let before = cia.state;
        let mut next = transition(before, cia.controlword, word, option);
        if before == State::Fault && next != State::Fault {
            if conditions != 0 {
                // The cause is still there: the drive stays in Fault.
                next = State::Fault;
            } else {
                cia.error_code = 0;
                self.alarms = 0;
            }
        }
        // Option code 0 disables the drive function at once: no braking ramp.
        if next == State::QuickStopActive && before != next && option == 0 {
            next = State::SwitchOnDisabled;
        }
        if next == State::OperationEnabled && before != next {
            // Enabled: hold where the shaft is, starting from its present speed.
            cia.position_set = present;
            cia.ramp = velocity;
            self.velocity_integral = 0.0;
        }
        if !next.is_powered() {
            cia.ramp = 0.0;
            self.velocity_integral = 0.0;
        }
        let rising =
            word & control::NEW_SET_POINT != 0 && cia.controlword & control::NEW_SET_POINT == 0;
        if word & control::NEW_SET_POINT == 0 {
            cia.set_point_acknowledged = false;
        }
        if rising && next == State::OperationEnabled {
            match mode {
                Mode::ProfilePosition => {
                    cia.position_set = if word & control::RELATIVE != 0 {
                        cia.position_set + target
                    } else {
                        target
                    };
                    cia.set_point_acknowledged = true;
                }
                Mode::Homing => {
                    // Methods 35/37: the present position becomes home (0).
                    self.position_offset = self.motor.position;
                    cia.position_set = 0.0;
                    cia.homing_attained = true;
                }
                Mode::ProfileVelocity => {}
            }
        }
        cia.controlword = word;
        cia.state = next;
    }

    /// Modes of Operation was written: set points start afresh from where the shaft is.
    pub(super) fn mode_written(&mut self) {
        let present = self.true_position();
        if let Some(cia) = self.cia402.as_mut() {
            cia.position_set = present;
            cia.set_point_acknowledged = false;
            cia.homing_attained = false;
        }
    }

    /// The velocity set point for this step (rad/s): the mode's demand in Operation
    /// Enabled, 0 while braking, ramped by the profile acceleration and the deceleration
    /// that applies (profile, quick stop; none: as fast as the current limit allows).
    pub(super) fn cia402_velocity_set(
        &mut self,
        gains: Gains,
        velocity_limit: f64,
        dt: f64,
    ) -> f64 {
        let Some(cia) = self.cia402.as_ref() else {
            return 0.0;
        };
        let e = &self.entries;
        let profile_acceleration = self.positive_si(&e.profile_acceleration);
        let profile_deceleration = self.positive_si(&e.profile_deceleration);
        let quick_stop_deceleration = self.positive_si(&e.quick_stop_deceleration);
        let halt = cia.controlword & control::HALT != 0;
        let (requested, deceleration) = match cia.state {
            State::OperationEnabled if halt => (0.0, profile_deceleration),
            State::OperationEnabled => match self.mode() {
                Mode::ProfilePosition => {
                    let error = cia.position_set - self.true_position();
                    let profile_velocity = self.positive_si(&e.profile_velocity);
                    let mut speed = (gains.position_p * error.abs())
                        .min(velocity_limit)
                        .min(profile_velocity.unwrap_or(f64::INFINITY));
                    // Arrive, not overshoot: no faster than the deceleration can stop.
                    if let Some(deceleration) = profile_deceleration {
                        speed = speed.min((2.0 * deceleration * error.abs()).sqrt());
                    }
                    (speed.copysign(error), profile_deceleration)
                }
                Mode::ProfileVelocity => (
                    self.goal_si(&e.goal_velocity)
                        .clamp(-velocity_limit, velocity_limit),
                    profile_deceleration,
                ),
                Mode::Homing => (0.0, profile_deceleration),
            },
            State::QuickStopActive => (
                0.0,
                match self.quick_stop_option() {
                    1 | 5 => profile_deceleration,
                    3 | 4 | 7 | 8 => None,
                    _ => quick_stop_deceleration,
                },
            ),
            // Fault reaction option code 2 (CiA 402's default): the quick stop ramp.
            State::FaultReactionActive => (0.0, quick_stop_deceleration),
            _ => (0.0, None),
        };
        let ramp = cia.ramp;
        let accelerating = requested.abs() > ramp.abs() && requested * ramp >= 0.0;
        let rate = if accelerating && cia.state == State::OperationEnabled {
            profile_acceleration
        } else {
            deceleration
        };
        let next = match rate {
            Some(rate) => ramp + (requested - ramp).clamp(-rate * dt, rate * dt),
            None => requested,
        };
        if let Some(cia) = self.cia402.as_mut() {
            cia.ramp = next;
        }
        next
    }

    /// After a step: a quick stop or fault reaction that has brought the shaft to rest
    /// ends (Switch On Disabled, or Quick Stop Active kept by option codes 5–8; Fault).
    pub(super) fn cia402_settle(&mut self) {
        let stays = quick_stop_stays(self.quick_stop_option());
        let at_rest = self.motor.velocity.abs() < VELOCITY_WINDOW;
        let Some(cia) = self.cia402.as_mut() else {
            return;
        };
        if !at_rest || cia.ramp != 0.0 {
            return;
        }
        let next = match cia.state {
            State::QuickStopActive if !stays => State::SwitchOnDisabled,
            State::FaultReactionActive => State::Fault,
            other => other,
        };
        if next != cia.state {
            cia.state = next;
            self.velocity_integral = 0.0;
        }
    }

    /// Alarm conditions became a fault: a drive not yet faulted reacts (braking if
    /// powered) and latches the cause until a fault reset.
    pub(super) fn cia402_fault(&mut self, conditions: u8) {
        let over_voltage = self
            .entry_si(&self.entries.max_voltage)
            .is_some_and(|max| max > 0.0 && self.supply_voltage > max);
        let velocity = self.motor.velocity;
        let Some(cia) = self.cia402.as_mut() else {
            return;
        };
        match cia.state {
            State::Fault | State::FaultReactionActive => self.alarms |= conditions,
            _ if conditions != 0 => {
                cia.state = if cia.state.is_powered() {
                    cia.ramp = velocity;
                    State::FaultReactionActive
                } else {
                    State::Fault
                };
                cia.error_code = code_for(conditions, over_voltage);
                self.alarms = conditions;
            }
            _ => self.alarms = 0,
        }
    }

    /// Writes the statusword, Modes of Operation Display and Error Code entries.
    pub(super) fn publish_status(&mut self) {
        let Some(cia) = self.cia402.as_ref() else {
            return;
        };
        let mode = self.mode();
        let velocity = self.motor.velocity;
        let at_rest = velocity.abs() < VELOCITY_WINDOW;
        let mut word = cia.state.statusword() | status::REMOTE;
        if self
            .temperature_limit()
            .is_some_and(|limit| self.motor.temperature > limit - 10.0)
        {
            word |= status::WARNING;
        }
        if cia.state.is_powered() && self.saturated {
            word |= status::INTERNAL_LIMIT;
        }
        if cia.state == State::OperationEnabled {
            let halted = cia.controlword & control::HALT != 0;
            let (reached, bit12) = match mode {
                Mode::ProfilePosition => (
                    (cia.position_set - self.true_position()).abs() <= POSITION_WINDOW && at_rest,
                    cia.set_point_acknowledged,
                ),
                Mode::ProfileVelocity => (
                    (self.goal_si(&self.entries.goal_velocity) - velocity).abs() <= VELOCITY_WINDOW,
                    at_rest,
                ),
                Mode::Homing => (cia.homing_attained, cia.homing_attained),
            };
            if reached || (halted && at_rest) {
                word |= status::TARGET_REACHED;
            }
            if bit12 {
                word |= status::OPERATION_12;
            }
        }
        let error_code = cia.error_code;
        let e = std::sync::Arc::clone(&self.entries);
        if let Some(reg) = &e.status_word {
            put(&mut self.table, reg, i64::from(word));
        }
        if let Some(reg) = &e.error_code {
            put(&mut self.table, reg, i64::from(error_code));
        }
        if let Some(reg) = &e.modes_display {
            let raw = e.operating_mode.as_ref().map_or(1, |r| get(&self.table, r));
            put(&mut self.table, reg, raw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drive::TableError;
    use drivedeck_proto::cia402::controlword;
    use drivedeck_proto::profile::{AddressSpace, Profile, Role};

    fn kinco() -> SimDrive {
        SimDrive::new(Profile::kinco_fd5p(), 1)
    }

    /// The made-up drive with contiguous registers, a temperature limit, an Error Code and
    /// a Modes of Operation Display.
    fn test_drive() -> SimDrive {
        let profile = Profile::parse(
            include_str!("../../testdata/cia402-contiguous.toml"),
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
            warned |= statusword(&drive) & status::WARNING != 0
                && state(&drive) == State::OperationEnabled;
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
        let limit = super::super::CIA402_TEMPERATURE_LIMIT;
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
}
