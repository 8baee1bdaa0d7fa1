//! The CiA 402 (IEC 61800-7-201) power drive state machine, as far as DriveDeck drives it:
//! the controlword commands (object 6040h), the states read from the statusword (6041h),
//! and which command brings a drive one step closer to Operation Enabled.
//!
//! Profiles with `enable = "cia402"` (see [`crate::profile::Enable`]) name the controlword
//! and statusword registers; this module says what to write and how to read them, for the
//! bus and for the simulator alike. It is protocol-free: the same words travel in Modbus
//! registers or CANopen SDOs.

pub mod controlword {
    //! Controlword (6040h) commands: the values of bits 0–3 and 7 that trigger the state
    //! machine's transitions (CiA 402-2, table "command coding"). Other bits are 0.

    /// Shutdown: to Ready to Switch On (transitions 2, 6, 8).
    pub const SHUTDOWN: u16 = 0x0006;
    /// Switch On: to Switched On (transition 3; also Disable Operation, transition 5).
    pub const SWITCH_ON: u16 = 0x0007;
    /// Switch On + Enable Operation: to Operation Enabled (transitions 3 + 4, 4, 16).
    pub const ENABLE_OPERATION: u16 = 0x000F;
    /// Disable Voltage: to Switch On Disabled, power stage off at once (7, 9, 10, 12).
    pub const DISABLE_VOLTAGE: u16 = 0x0000;
    /// Quick Stop: brake along the quick-stop ramp (transition 11), then as the quick stop
    /// option code says (7, 10 from the other states).
    pub const QUICK_STOP: u16 = 0x0002;
    /// Fault Reset: a rising edge of bit 7 leaves Fault for Switch On Disabled (15).
    pub const FAULT_RESET: u16 = 0x0080;
}

/// A state of the power drive state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Initialising; no command is accepted.
    NotReadyToSwitchOn,
    /// Initialised, power stage off; the state after power-up and after a fault reset.
    SwitchOnDisabled,
    /// Ready; the next step is Switch On.
    ReadyToSwitchOn,
    /// Power stage ready, no torque yet.
    SwitchedOn,
    /// Enabled: the drive follows its targets.
    OperationEnabled,
    /// Braking (or stopped) after a Quick Stop.
    QuickStopActive,
    /// A fault is being reacted to; no command is accepted.
    FaultReactionActive,
    /// Faulted; needs a Fault Reset.
    Fault,
}

impl State {
    /// The state a statusword shows (bits 0–3, 5 and 6, per CiA 402-2's state coding);
    /// `None` for a combination the standard does not define.
    pub fn from_statusword(statusword: u16) -> Option<State> {
        let state = match (statusword & 0x004F, statusword & 0x006F) {
            (0x0000, _) => State::NotReadyToSwitchOn,
            (0x0040, _) => State::SwitchOnDisabled,
            (_, 0x0021) => State::ReadyToSwitchOn,
            (_, 0x0023) => State::SwitchedOn,
            (_, 0x0027) => State::OperationEnabled,
            (_, 0x0007) => State::QuickStopActive,
            (0x000F, _) => State::FaultReactionActive,
            (0x0008, _) => State::Fault,
            _ => return None,
        };
        Some(state)
    }

    /// The statusword bits (0–3, 5, 6) that show this state; other bits 0, "voltage
    /// enabled" (bit 4) set from Ready to Switch On on, as a drive with power shows it.
    pub fn statusword(self) -> u16 {
        match self {
            State::NotReadyToSwitchOn => 0x0000,
            State::SwitchOnDisabled => 0x0040,
            State::ReadyToSwitchOn => 0x0031,
            State::SwitchedOn => 0x0033,
            State::OperationEnabled => 0x0037,
            State::QuickStopActive => 0x0017,
            State::FaultReactionActive => 0x001F,
            State::Fault => 0x0018,
        }
    }

    /// True when the power stage drives the motor (Operation Enabled, or braking in
    /// Quick Stop Active or Fault Reaction Active).
    pub fn is_powered(self) -> bool {
        matches!(
            self,
            State::OperationEnabled | State::QuickStopActive | State::FaultReactionActive
        )
    }

    /// The controlword that takes the drive one step towards Operation Enabled; `None`
    /// when it is there, or in a state that accepts no command (wait and read again).
    ///
    /// From Fault this is a Fault Reset: the caller decides whether a fault may be
    /// cleared. From Quick Stop Active the drive is first switched off (Disable Voltage),
    /// since not every quick stop option code allows going back directly.
    pub fn next_to_enable(self) -> Option<u16> {
        match self {
            State::SwitchOnDisabled => Some(controlword::SHUTDOWN),
            State::ReadyToSwitchOn => Some(controlword::SWITCH_ON),
            State::SwitchedOn => Some(controlword::ENABLE_OPERATION),
            State::QuickStopActive => Some(controlword::DISABLE_VOLTAGE),
            State::Fault => Some(controlword::FAULT_RESET),
            State::OperationEnabled | State::NotReadyToSwitchOn | State::FaultReactionActive => {
                None
            }
        }
    }
}
