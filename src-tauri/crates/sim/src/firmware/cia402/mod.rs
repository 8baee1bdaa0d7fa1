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
//! leaves Fault, once the cause is gone. [`transition`] is the pure state machine;
//! [`Cia402`] is the family (`Family`) that applies it to a drive's table and
//! loops.
//!
//! Modes of operation (6060h): 1 profile position (a new set point is taken on a rising
//! edge of controlword bit 4, absolute or relative per bit 6, and approached within the
//! profile velocity, acceleration and deceleration), 3 profile velocity (the target
//! velocity, ramped), 6 homing on the current position (methods 35/37: bit 4's rising edge
//! makes the present position 0). Any other mode is refused when written. Controlword
//! bit 8 (Halt) stops with the profile deceleration in every mode.
//!
//! The loops are the cascade CiA 402 servo drives run — position P → velocity PI →
//! current — with the drive's own gain objects where its profile maps them
//! ([`Cia402::gains`]; Kinco FD: Kpp 60FB:01, Kvp 60F9:01, Kvi 60F9:02, the Kinco
//! CANopen EDS and the CD420/CD2S manuals' parameter tables): the position loop gain in
//! 0.01 Hz (1000 = 10 Hz: a P gain of 2π·10 rad/s per rad), and the velocity loop's
//! proportional and integral gains, which Kinco documents as internal counts without a
//! physical unit. The simulator scales those so that the factory values (Kvp 100, Kvi 2)
//! give the loop every simulated drive ran before the drives had their own gains
//! (0.39 A per rad/s, 5.86 A per rad), and each count acts in proportion from there.

use super::{Family, Firmware};
use crate::drive::state::{DriveState, Gains, is};
use crate::drive::{CIA402_TEMPERATURE_LIMIT, POSITION_WINDOW, TableError, VELOCITY_WINDOW, alarm};
use drivedeck_proto::cia402::State;
use drivedeck_proto::profile::Register;

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

/// The CiA 402 firmware: the power drive state machine and the profile modes' state.
#[derive(Clone, Debug, PartialEq)]
pub struct Cia402 {
    state: State,
    /// The last controlword written (for bit 4's and bit 7's edges).
    controlword: u16,
    /// 603Fh: what caused the fault, 0 when none.
    error_code: u16,
    /// Profile position: the set point being approached, in the reported frame, rad.
    position_set: f64,
    /// Profile position: a new set point was taken and bit 4 is still high.
    set_point_acknowledged: bool,
    /// Homing: the present position was made home.
    homing_attained: bool,
    /// The ramped velocity set point, rad/s.
    ramp: f64,
}

impl Default for Cia402 {
    fn default() -> Cia402 {
        Cia402::new()
    }
}

/// The present position in the reported frame (after homing), not quantised, rad.
fn true_position(drive: &DriveState) -> f64 {
    drive.motor.position - drive.position_offset
}

/// The mode of operation selected (profile position when the profile maps none).
fn mode(drive: &DriveState) -> Mode {
    drive
        .entries
        .operating_mode
        .as_ref()
        .and_then(|r| Mode::from_raw(drive.get(r)))
        .unwrap_or(Mode::ProfilePosition)
}

/// Quick Stop Option Code (605Ah), 2 when the profile maps none.
fn quick_stop_option(drive: &DriveState) -> i64 {
    drive
        .entries
        .quick_stop_option
        .as_ref()
        .map_or(2, |r| drive.get(r))
}

impl Cia402 {
    /// Switched on afresh: Switch On Disabled, nothing pending.
    pub fn new() -> Cia402 {
        Cia402 {
            state: State::SwitchOnDisabled,
            controlword: 0,
            error_code: 0,
            position_set: 0.0,
            set_point_acknowledged: false,
            homing_attained: false,
            ramp: 0.0,
        }
    }

    /// The conditions that keep a fault from being reset: those in force, and an
    /// over-temperature until the winding is [`TEMPERATURE_HYSTERESIS`] below the limit.
    fn fault_conditions(&self, drive: &DriveState) -> u8 {
        let mut conditions = self.conditions(drive);
        if self
            .temperature_limit(drive)
            .is_some_and(|limit| drive.motor.temperature > limit - TEMPERATURE_HYSTERESIS)
        {
            conditions |= alarm::OVERHEATING;
        }
        conditions
    }

    /// A controlword was written: the state machine steps, and in Operation Enabled bit
    /// 4's rising edge starts a move (profile position) or homing.
    fn controlword_written(&mut self, drive: &mut DriveState, word: u16) {
        let option = quick_stop_option(drive);
        let conditions = self.fault_conditions(drive);
        let present = true_position(drive);
        let velocity = drive.motor.velocity;
        let mode = mode(drive);
        let target = drive.goal_si(&drive.entries.goal_position);
        let before = self.state;
        let mut next = transition(before, self.controlword, word, option);
        if before == State::Fault && next != State::Fault {
            if conditions != 0 {
                // The cause is still there: the drive stays in Fault.
                next = State::Fault;
            } else {
                self.error_code = 0;
                drive.alarms = 0;
            }
        }
        // Option code 0 disables the drive function at once: no braking ramp.
        if next == State::QuickStopActive && before != next && option == 0 {
            next = State::SwitchOnDisabled;
        }
        if next == State::OperationEnabled && before != next {
            // Enabled: hold where the shaft is, starting from its present speed.
            self.position_set = present;
            self.ramp = velocity;
            drive.velocity_integral = 0.0;
        }
        if !next.is_powered() {
            self.ramp = 0.0;
            drive.velocity_integral = 0.0;
        }
        let rising =
            word & control::NEW_SET_POINT != 0 && self.controlword & control::NEW_SET_POINT == 0;
        if word & control::NEW_SET_POINT == 0 {
            self.set_point_acknowledged = false;
        }
        if rising && next == State::OperationEnabled {
            match mode {
                Mode::ProfilePosition => {
                    self.position_set = if word & control::RELATIVE != 0 {
                        self.position_set + target
                    } else {
                        target
                    };
                    self.set_point_acknowledged = true;
                }
                Mode::Homing => {
                    // Methods 35/37: the present position becomes home (0).
                    drive.position_offset = drive.motor.position;
                    self.position_set = 0.0;
                    self.homing_attained = true;
                }
                Mode::ProfileVelocity => {}
            }
        }
        self.controlword = word;
        self.state = next;
    }

    /// Modes of Operation was written: set points start afresh from where the shaft is.
    fn mode_written(&mut self, drive: &DriveState) {
        self.position_set = true_position(drive);
        self.set_point_acknowledged = false;
        self.homing_attained = false;
    }
}

/// A of current set point per rad/s, per count of the velocity loop gain (Kvp): the
/// factory 100 gives the shared loop's 0.39 A per rad/s.
const KVP_SCALE: f64 = 1.0 / 256.0;

/// A per rad of integrated velocity error, per count of the velocity loop's integral
/// gain (Kvi): the factory 2 gives the shared loop's 5.86 A per rad.
const KVI_SCALE: f64 = 1920.0 / 65536.0 * 200.0 / 2.0;

impl Cia402 {
    /// The position P and velocity PI from the drive's own gain objects, each that the
    /// profile does not map left at the shared loop's value.
    pub(crate) fn gains(drive: &DriveState) -> Gains {
        let shared = drive.gains();
        let entry = |register: &Option<Register>| register.as_ref().map(|r| drive.get(r) as f64);
        let e = &drive.entries;
        Gains {
            position_p: entry(&e.position_loop_gain)
                .map_or(shared.position_p, |kpp| std::f64::consts::TAU * kpp * 0.01),
            velocity_p: entry(&e.velocity_loop_gain)
                .map_or(shared.velocity_p, |kvp| kvp * KVP_SCALE),
            velocity_i: entry(&e.velocity_loop_integral)
                .map_or(shared.velocity_i, |kvi| kvi * KVI_SCALE),
        }
    }
}

impl Family for Cia402 {
    fn firmware(&self) -> Firmware {
        Firmware::Cia402
    }

    fn boxed(&self) -> Box<dyn Family> {
        Box::new(self.clone())
    }

    /// Operation Enabled, Quick Stop Active or Fault Reaction Active.
    fn torque_enabled(&self, _drive: &DriveState) -> bool {
        self.state.is_powered()
    }

    fn check_value(
        &self,
        drive: &DriveState,
        register: &Register,
        raw: i64,
    ) -> Result<(), TableError> {
        // Only the modes the simulator runs may be selected.
        if is(&drive.entries.operating_mode, register) && Mode::from_raw(raw).is_none() {
            return Err(TableError::Range(format!(
                "{} {raw} is not a mode this drive runs (1 profile position, 3 profile \
                 velocity, 6 homing)",
                register.name
            )));
        }
        Ok(())
    }

    fn gains(&self, drive: &DriveState) -> Gains {
        Cia402::gains(drive)
    }

    /// The controlword steps the state machine rather than being a flag.
    fn written(&mut self, drive: &mut DriveState, register: &Register, raw: i64) {
        if is(&drive.entries.torque_enable, register) {
            self.controlword_written(drive, raw as u16);
        } else if is(&drive.entries.operating_mode, register) {
            self.mode_written(drive);
        }
    }

    /// Modbus drives' limits default to 0 in their profiles: unset, not zero.
    fn current_limit(&self, drive: &DriveState) -> f64 {
        drive.current_limit(true)
    }

    /// The mode's demand in Operation Enabled, 0 while braking, ramped by the profile
    /// acceleration and the deceleration that applies (profile, quick stop; none: as fast
    /// as the current limit allows).
    fn velocity_set(&mut self, drive: &mut DriveState, dt: f64) -> f64 {
        let velocity_limit = self.velocity_limit(drive);
        let position_p = Cia402::gains(drive).position_p;
        let e = &drive.entries;
        let profile_acceleration = drive.positive_si(&e.profile_acceleration);
        let profile_deceleration = drive.positive_si(&e.profile_deceleration);
        let quick_stop_deceleration = drive.positive_si(&e.quick_stop_deceleration);
        let halt = self.controlword & control::HALT != 0;
        let (requested, deceleration) = match self.state {
            State::OperationEnabled if halt => (0.0, profile_deceleration),
            State::OperationEnabled => match mode(drive) {
                Mode::ProfilePosition => {
                    let error = self.position_set - true_position(drive);
                    let profile_velocity = drive.positive_si(&e.profile_velocity);
                    let mut speed = (position_p * error.abs())
                        .min(velocity_limit)
                        .min(profile_velocity.unwrap_or(f64::INFINITY));
                    // Arrive, not overshoot: no faster than the deceleration can stop.
                    if let Some(deceleration) = profile_deceleration {
                        speed = speed.min((2.0 * deceleration * error.abs()).sqrt());
                    }
                    (speed.copysign(error), profile_deceleration)
                }
                Mode::ProfileVelocity => (
                    drive
                        .goal_si(&e.goal_velocity)
                        .clamp(-velocity_limit, velocity_limit),
                    profile_deceleration,
                ),
                Mode::Homing => (0.0, profile_deceleration),
            },
            State::QuickStopActive => (
                0.0,
                match quick_stop_option(drive) {
                    1 | 5 => profile_deceleration,
                    3 | 4 | 7 | 8 => None,
                    _ => quick_stop_deceleration,
                },
            ),
            // Fault reaction option code 2 (CiA 402's default): the quick stop ramp.
            State::FaultReactionActive => (0.0, quick_stop_deceleration),
            _ => (0.0, None),
        };
        let ramp = self.ramp;
        let accelerating = requested.abs() > ramp.abs() && requested * ramp >= 0.0;
        let rate = if accelerating && self.state == State::OperationEnabled {
            profile_acceleration
        } else {
            deceleration
        };
        self.ramp = match rate {
            Some(rate) => ramp + (requested - ramp).clamp(-rate * dt, rate * dt),
            None => requested,
        };
        self.ramp
    }

    /// Overload (a saturated output) is not a CiA 402 fault here: the thermal model is
    /// what stops a stalled drive.
    fn conditions(&self, drive: &DriveState) -> u8 {
        drive.conditions(self.temperature_limit(drive), false)
    }

    /// A profile without a temperature limit entry trips at [`CIA402_TEMPERATURE_LIMIT`].
    fn temperature_limit(&self, drive: &DriveState) -> Option<f64> {
        drive.temperature_limit(Some(CIA402_TEMPERATURE_LIMIT))
    }

    /// Alarm conditions become a fault: a drive not yet faulted reacts (braking if
    /// powered) and latches the cause until a fault reset.
    fn refresh_alarms(&mut self, drive: &mut DriveState) {
        let conditions = self.conditions(drive);
        let over_voltage = drive
            .entry_si(&drive.entries.max_voltage)
            .is_some_and(|max| max > 0.0 && drive.supply_voltage > max);
        match self.state {
            State::Fault | State::FaultReactionActive => drive.alarms |= conditions,
            _ if conditions != 0 => {
                self.state = if self.state.is_powered() {
                    self.ramp = drive.motor.velocity;
                    State::FaultReactionActive
                } else {
                    State::Fault
                };
                self.error_code = code_for(conditions, over_voltage);
                drive.alarms = conditions;
            }
            _ => drive.alarms = 0,
        }
        drive.publish_alarms();
    }

    /// A quick stop or fault reaction that has brought the shaft to rest ends (Switch On
    /// Disabled, or Quick Stop Active kept by option codes 5–8; Fault).
    fn settle(&mut self, drive: &mut DriveState) {
        let stays = quick_stop_stays(quick_stop_option(drive));
        let at_rest = drive.motor.velocity.abs() < VELOCITY_WINDOW;
        if !at_rest || self.ramp != 0.0 {
            return;
        }
        let next = match self.state {
            State::QuickStopActive if !stays => State::SwitchOnDisabled,
            State::FaultReactionActive => State::Fault,
            other => other,
        };
        if next != self.state {
            self.state = next;
            drive.velocity_integral = 0.0;
        }
    }

    /// Writes the statusword, Modes of Operation Display and Error Code entries.
    fn publish_status(&mut self, drive: &mut DriveState) {
        let mode = mode(drive);
        let velocity = drive.motor.velocity;
        let at_rest = velocity.abs() < VELOCITY_WINDOW;
        let mut word = self.state.statusword() | status::REMOTE;
        if self
            .temperature_limit(drive)
            .is_some_and(|limit| drive.motor.temperature > limit - 10.0)
        {
            word |= status::WARNING;
        }
        if self.state.is_powered() && drive.saturated {
            word |= status::INTERNAL_LIMIT;
        }
        if self.state == State::OperationEnabled {
            let halted = self.controlword & control::HALT != 0;
            let (reached, bit12) = match mode {
                Mode::ProfilePosition => (
                    (self.position_set - true_position(drive)).abs() <= POSITION_WINDOW && at_rest,
                    self.set_point_acknowledged,
                ),
                Mode::ProfileVelocity => (
                    (drive.goal_si(&drive.entries.goal_velocity) - velocity).abs()
                        <= VELOCITY_WINDOW,
                    at_rest,
                ),
                Mode::Homing => (self.homing_attained, self.homing_attained),
            };
            if reached || (halted && at_rest) {
                word |= status::TARGET_REACHED;
            }
            if bit12 {
                word |= status::OPERATION_12;
            }
        }
        let e = std::sync::Arc::clone(&drive.entries);
        if let Some(reg) = &e.status_word {
            drive.put(reg, i64::from(word));
        }
        if let Some(reg) = &e.error_code {
            drive.put(reg, i64::from(self.error_code));
        }
        if let Some(reg) = &e.modes_display {
            let raw = e.operating_mode.as_ref().map_or(1, |r| drive.get(r));
            drive.put(reg, raw);
        }
    }

    fn restart(&mut self, _drive: &mut DriveState) {
        *self = Cia402::new();
    }

    fn cia402_state(&self) -> Option<State> {
        Some(self.state)
    }
}

#[cfg(test)]
mod tests;
