//! DYNAMIXEL Protocol 1.0 firmware (AX/RX/MX; the AX-12A profile), after the ROBOTIS
//! e-manual's AX-12A control table page (emanual.robotis.com, "AX-12/AX-12A"):
//!
//! - Wheel mode is both CW Angle Limit (6) and CCW Angle Limit (8) at 0; in joint mode a
//!   Goal Position (30) outside them is refused with the Angle Limit Error bit.
//! - Lock (47) set: "only addresses 24 to 35 can be written" until power-off.
//! - Moving Speed (32) is the speed of a move in joint mode (0: as fast as possible) and
//!   the goal speed in wheel mode; it, Present Speed (38) and Present Load (40) carry the
//!   direction in bit 10 (sign-magnitude).
//! - The alarm bits are live (the status packet's error byte); those in Alarm Shutdown
//!   (18) hold torque off while they last; writing Torque Enable 1 acknowledges an
//!   overload.
//! - Joint mode has no PID: the compliance margin, slope and punch are its position
//!   control ([`control`]).

pub mod control;
#[cfg(test)]
mod tests;

use super::{Family, Firmware, torque_written};
use crate::drive::TableError;
use crate::drive::entries::Entries;
use crate::drive::state::{DriveState, is};
use control::Compliance;
use drivedeck_proto::profile::Register;

/// The DYNAMIXEL 1.0 firmware: its table and the compliance loop's reference.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dynamixel1 {
    compliance: Compliance,
}

/// Wheel mode: both angle limits 0.
fn wheel_mode(drive: &DriveState) -> bool {
    match (
        &drive.entries.cw_angle_limit,
        &drive.entries.ccw_angle_limit,
    ) {
        (Some(cw), Some(ccw)) => drive.get(cw) == 0 && drive.get(ccw) == 0,
        _ => false,
    }
}

impl Family for Dynamixel1 {
    fn firmware(&self) -> Firmware {
        Firmware::Dynamixel1
    }

    fn boxed(&self) -> Box<dyn Family> {
        Box::new(*self)
    }

    fn written(&mut self, drive: &mut DriveState, register: &Register, raw: i64) {
        torque_written(drive, register, raw);
        if is(&drive.entries.torque_enable, register) && raw != 0 {
            self.compliance.engage(drive);
        }
    }

    /// Wheel mode: the shared velocity loop; joint mode: the compliance loop.
    fn control(&mut self, drive: &mut DriveState, dt: f64) {
        let limit = self.velocity_limit(drive);
        if self.velocity_mode(drive) {
            let set = self.velocity_set(drive, dt).clamp(-limit, limit);
            let current_limit = self.current_limit(drive);
            drive.velocity_current_loop(drive.gains(), set, current_limit, dt);
        } else {
            self.compliance.step(drive, limit, dt);
        }
    }

    fn sign_bit(&self, entries: &Entries, register: &Register) -> Option<u8> {
        [
            &entries.goal_velocity,
            &entries.present_velocity,
            &entries.present_output,
        ]
        .iter()
        .any(|entry| {
            entry
                .as_ref()
                .is_some_and(|e| e.address == register.address)
        })
        .then_some(10)
    }

    fn check_access(
        &self,
        drive: &DriveState,
        register: &Register,
        _raw: i64,
    ) -> Result<(), TableError> {
        let locked = drive
            .entries
            .lock
            .as_ref()
            .is_some_and(|r| drive.get(r) != 0);
        if locked && !(24..=35).contains(&register.address) {
            return Err(TableError::Access(format!(
                "{} cannot change while Lock is set",
                register.name
            )));
        }
        Ok(())
    }

    fn check_value(
        &self,
        drive: &DriveState,
        register: &Register,
        raw: i64,
    ) -> Result<(), TableError> {
        // CW Angle Limit ≤ Goal Position ≤ CCW Angle Limit in joint mode.
        if is(&drive.entries.goal_position, register)
            && !wheel_mode(drive)
            && let (Some(cw), Some(ccw)) = (
                &drive.entries.cw_angle_limit,
                &drive.entries.ccw_angle_limit,
            )
        {
            let (cw, ccw) = (drive.get(cw), drive.get(ccw));
            if raw < cw || raw > ccw {
                return Err(TableError::AngleLimit(format!(
                    "{} {raw} is outside the angle limits {cw}..={ccw}",
                    register.name
                )));
            }
        }
        Ok(())
    }

    fn velocity_mode(&self, drive: &DriveState) -> bool {
        wheel_mode(drive)
    }

    fn velocity_limit(&self, drive: &DriveState) -> f64 {
        drive.velocity_limit(!self.velocity_mode(drive))
    }
}
