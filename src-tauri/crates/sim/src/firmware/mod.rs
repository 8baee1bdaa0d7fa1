//! The simulator by firmware family: one module per family, behind one trait
//! (`Family`) — how the family's control table maps onto its control loops, its write
//! rules, protections, watchdog and status. The motor physics and what every family does
//! alike live in [`crate::drive`]; the drive never asks which family it runs, it asks its
//! family.
//!
//! - [`dynamixel_x`]: DYNAMIXEL X series (Protocol 2.0), e.g. XM430-W350.
//! - [`dynamixel1`]: DYNAMIXEL AX/RX/MX with Protocol 1.0 firmware, e.g. AX-12A.
//! - [`feetech`]: Feetech SCS/STS, e.g. STS3215.
//! - [`cia402`]: CiA 402 drives (profile `enable = "cia402"`), e.g. Kinco FD5P.
//! - [`generic`]: any other drive: the generic table rules only.
//! - [`trajectory`]: the profile generator the servo families share.
//!
//! Each family module names the vendor documents its rules come from.

pub mod cia402;
pub mod dynamixel1;
pub mod dynamixel_x;
pub mod feetech;
pub mod generic;
pub mod trajectory;

use crate::drive::TableError;
use crate::drive::entries::Entries;
use crate::drive::state::{DriveState, Gains, Overload};
use drivedeck_proto::cia402::State;
use drivedeck_proto::profile::{Enable, Profile, Protocol, Register};

/// The firmware family, whose rules the drive follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firmware {
    /// DYNAMIXEL X series (Protocol 2.0).
    DynamixelX,
    /// DYNAMIXEL AX/RX/MX with Protocol 1.0 firmware.
    Dynamixel1,
    /// Feetech SCS/STS.
    Feetech,
    /// A CiA 402 drive (profile `enable = "cia402"`), whatever bus carries its objects.
    Cia402,
    /// Any other drive: the generic table rules only.
    Generic,
}

impl Firmware {
    /// The family that speaks `protocol`.
    pub fn of(protocol: Protocol) -> Firmware {
        match protocol {
            Protocol::Dynamixel2 => Firmware::DynamixelX,
            Protocol::Dynamixel1 => Firmware::Dynamixel1,
            Protocol::Feetech => Firmware::Feetech,
            Protocol::ModbusRtu => Firmware::Generic,
        }
    }

    /// The firmware a drive of `profile` runs: [`Firmware::Cia402`] for a CiA 402 profile,
    /// else its protocol's family.
    pub fn for_profile(profile: &Profile) -> Firmware {
        match profile.enable {
            Enable::Cia402 => Firmware::Cia402,
            Enable::Flag => Firmware::of(profile.protocol),
        }
    }

    /// A fresh instance of this family's firmware (the one place that picks a module).
    pub(crate) fn family(self) -> Box<dyn Family> {
        match self {
            Firmware::DynamixelX => Box::new(dynamixel_x::DynamixelX::default()),
            Firmware::Dynamixel1 => Box::new(dynamixel1::Dynamixel1::default()),
            Firmware::Feetech => Box::new(feetech::Feetech::default()),
            Firmware::Cia402 => Box::new(cia402::Cia402::new()),
            Firmware::Generic => Box::new(generic::Generic),
        }
    }
}

/// One firmware family's rules, applied to a drive's shared state. The defaults are the
/// bus-servo behaviour most families share; a family overrides what its vendor does
/// differently.
pub(crate) trait Family: std::fmt::Debug + Send {
    /// Which family this is.
    fn firmware(&self) -> Firmware;

    /// A copy of this firmware and its state.
    fn boxed(&self) -> Box<dyn Family>;

    /// The sign-magnitude bit of `register`, where the family encodes it so.
    fn sign_bit(&self, _entries: &Entries, _register: &Register) -> Option<u8> {
        None
    }

    /// Whether the power stage drives the motor.
    fn torque_enabled(&self, drive: &DriveState) -> bool {
        drive.torque_flag()
    }

    /// Rules refusing the write of `raw` to `register` whatever its value (EEPROM lock,
    /// Lock), checked before the entry's range.
    fn check_access(
        &self,
        _drive: &DriveState,
        _register: &Register,
        _raw: i64,
    ) -> Result<(), TableError> {
        Ok(())
    }

    /// Rules on the value of an in-range write (angle limits, velocity limit, modes).
    fn check_value(
        &self,
        _drive: &DriveState,
        _register: &Register,
        _raw: i64,
    ) -> Result<(), TableError> {
        Ok(())
    }

    /// `raw` was just stored in `register` by a write from the bus.
    fn written(&mut self, drive: &mut DriveState, register: &Register, raw: i64) {
        torque_written(drive, register, raw);
    }

    /// The drive runs its velocity mode (else position).
    fn velocity_mode(&self, drive: &DriveState) -> bool {
        drive.operating_mode_is_velocity()
    }

    /// The speed the position loop may command, rad/s.
    fn velocity_limit(&self, drive: &DriveState) -> f64 {
        drive.velocity_limit(false)
    }

    /// The current the loop may command, A.
    fn current_limit(&self, drive: &DriveState) -> f64 {
        drive.current_limit(false)
    }

    /// The loop gains in force, from the gain entries of this family's table (the
    /// DYNAMIXEL X law by default, [`DriveState::gains`]).
    fn gains(&self, drive: &DriveState) -> Gains {
        drive.gains()
    }

    /// The velocity set point of this step, rad/s, before the velocity limit: the goal
    /// velocity in velocity mode, else position P on the goal position (the watchdog's
    /// hold once it tripped).
    fn velocity_set(&mut self, drive: &mut DriveState, _dt: f64) -> f64 {
        if self.velocity_mode(drive) {
            if drive.watchdog_hold.is_some() {
                0.0
            } else {
                drive.goal_si(&drive.entries.goal_velocity)
            }
        } else {
            let goal = drive
                .watchdog_hold
                .unwrap_or_else(|| drive.goal_si(&drive.entries.goal_position));
            self.gains(drive).position_p * (goal - drive.motor.position)
        }
    }

    /// One step of the powered drive's control loops: the velocity set point, limited,
    /// through the velocity and current loops to the bridge.
    fn control(&mut self, drive: &mut DriveState, dt: f64) {
        let velocity_limit = self.velocity_limit(drive);
        let current_limit = self.current_limit(drive);
        let velocity_set = self
            .velocity_set(drive, dt)
            .clamp(-velocity_limit, velocity_limit);
        let gains = self.gains(drive);
        drive.velocity_current_loop(gains, velocity_set, current_limit, dt);
    }

    /// What the overload protection sees in this step.
    fn overload(&self, drive: &DriveState) -> Overload {
        drive.saturation_overload(self.torque_enabled(drive))
    }

    /// The winding temperature above which the drive reports overheating, °C.
    fn temperature_limit(&self, drive: &DriveState) -> Option<f64> {
        drive.temperature_limit(None)
    }

    /// The alarm conditions in force now.
    fn conditions(&self, drive: &DriveState) -> u8 {
        drive.conditions(self.temperature_limit(drive), true)
    }

    /// Recomputes the alarm bits and applies the shutdown rules. Default: the bits are
    /// live, and those selected in the shutdown entry hold torque off while they last.
    fn refresh_alarms(&mut self, drive: &mut DriveState) {
        let conditions = self.conditions(drive);
        drive.alarms = conditions;
        let torque_off = conditions & drive.shutdown_mask() != 0;
        drive.apply_shutdown(torque_off);
    }

    /// After a step, once the physics moved: state that follows the shaft (CiA 402).
    fn settle(&mut self, _drive: &mut DriveState) {}

    /// Writes the family's status entries (CiA 402 statusword).
    fn publish_status(&mut self, _drive: &mut DriveState) {}

    /// Power-on, a reboot or a factory reset (the table already at its defaults): the
    /// firmware's own state starts afresh.
    fn restart(&mut self, _drive: &mut DriveState) {}

    /// The drive's clock advanced by `dt` (powered or not), before the loops run.
    fn tick(&mut self, _drive: &mut DriveState, _dt: f64) {}

    /// DYNAMIXEL 2.0: the alert flag of status packets is up.
    fn alert(&self, _drive: &DriveState) -> bool {
        false
    }

    /// The CiA 402 state, for a CiA 402 drive.
    fn cia402_state(&self) -> Option<State> {
        None
    }
}

/// The bus servos' Torque Enable write: off clears the loops' integral, on acknowledges
/// a (DYNAMIXEL 1.0) overload shutdown.
pub(crate) fn torque_written(drive: &mut DriveState, register: &Register, raw: i64) {
    if crate::drive::state::is(&drive.entries.torque_enable, register) {
        if raw == 0 {
            drive.velocity_integral = 0.0;
        } else {
            drive.overload_latched = false;
            drive.overload_for = 0.0;
        }
    }
}

impl Clone for Box<dyn Family> {
    fn clone(&self) -> Box<dyn Family> {
        self.boxed()
    }
}
