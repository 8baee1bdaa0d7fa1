//! Feetech SCS/STS firmware (the STS3215 profile), after Feetech's STS memory table
//! ("Magnetically encoded STS servo - memory table", ftservo/ftservo-wiki
//! docs/en/reference/parameter/memory-sts.md), as the profile records it:
//!
//! - Goal Position (42), Goal Speed (46), Present Position (56), Present Speed (58) and
//!   Present Current (69) carry the direction in bit 15, Present Load (60) in bit 10
//!   (sign-magnitude).
//! - Operating Mode (33) 1 is speed mode; in position mode Goal Speed is the speed of a
//!   move (0: as fast as possible).
//! - Overload: the load (the bridge's duty cycle, %) above Overload Torque (36) for
//!   Protection Time (35, × 10 ms); the Status entry (65) shows it while it lasts, and
//!   the alarms in Unloading Condition (19) hold torque off while they last.
//! - Position mode (0) runs Feetech's position loop ([`control`]): P, D and I
//!   Coefficients (21, 22, 23) on the position error give the PWM, capped by Torque Limit
//!   (48); Goal Speed (46) and Acceleration (41) are the move's profile (0: the maximum).
//!   Speed mode (1) keeps the shared velocity PI → current loops: its Velocity P/I
//!   Coefficients (37, 39) have no published factory values.

pub mod control;

use super::{Family, Firmware, torque_written};
use crate::drive::entries::Entries;
use crate::drive::state::{DriveState, Overload, is};
use control::Control;
use drivedeck_proto::profile::Register;

/// Overload Torque (%) when the profile has no such entry.
const OVERLOAD_TORQUE: f64 = 80.0;

/// Protection Time (s) when the profile has no such entry.
const PROTECTION_TIME: f64 = 2.0;

/// The Feetech firmware: its position loop's state.
#[derive(Clone, Debug, Default)]
pub struct Feetech {
    control: Control,
}

impl Family for Feetech {
    fn firmware(&self) -> Firmware {
        Firmware::Feetech
    }

    fn boxed(&self) -> Box<dyn Family> {
        Box::new(self.clone())
    }

    fn restart(&mut self, drive: &mut DriveState) {
        self.control.engage(drive);
    }

    fn written(&mut self, drive: &mut DriveState, register: &Register, raw: i64) {
        torque_written(drive, register, raw);
        let torque = is(&drive.entries.torque_enable, register);
        if (torque && raw != 0) || is(&drive.entries.operating_mode, register) {
            // The move starts from where the shaft is.
            self.control.engage(drive);
        }
    }

    fn control(&mut self, drive: &mut DriveState, dt: f64) {
        if self.velocity_mode(drive) {
            // Speed mode: the shared velocity PI → current loops.
            let limit = self.velocity_limit(drive);
            let set = self.velocity_set(drive, dt).clamp(-limit, limit);
            let current_limit = self.current_limit(drive);
            drive.velocity_current_loop(drive.gains(), set, current_limit, dt);
        } else {
            let speed = self.velocity_limit(drive);
            self.control.step(drive, speed, dt);
        }
    }

    fn sign_bit(&self, entries: &Entries, register: &Register) -> Option<u8> {
        let same = |entry: &Option<Register>| {
            entry
                .as_ref()
                .is_some_and(|e| e.address == register.address)
        };
        if same(&entries.present_output) {
            Some(10)
        } else if [
            &entries.goal_position,
            &entries.goal_velocity,
            &entries.present_position,
            &entries.present_velocity,
            &entries.present_current,
        ]
        .into_iter()
        .any(same)
        {
            Some(15)
        } else {
            None
        }
    }

    fn velocity_limit(&self, drive: &DriveState) -> f64 {
        drive.velocity_limit(!self.velocity_mode(drive))
    }

    fn overload(&self, drive: &DriveState) -> Overload {
        let load = 100.0 * drive.motor.voltage.abs() / drive.supply_voltage.max(1e-9);
        let threshold = drive
            .entry_si(&drive.entries.overload_torque)
            .unwrap_or(OVERLOAD_TORQUE);
        let time = drive
            .entry_si(&drive.entries.protection_time)
            .unwrap_or(PROTECTION_TIME);
        Overload {
            over: self.torque_enabled(drive) && load > threshold,
            time,
            live: true,
        }
    }
}

#[cfg(test)]
mod tests;
