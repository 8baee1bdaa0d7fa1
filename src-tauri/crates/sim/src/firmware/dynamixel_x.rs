//! DYNAMIXEL X series firmware (Protocol 2.0; the XM430-W350 profile), after the ROBOTIS
//! e-manual's XM430-W350 control table page (emanual.robotis.com, "XM430-W350"):
//!
//! - EEPROM entries (the profile's `persistent` ones) refuse writes while Torque Enable
//!   (64) is 1 ("the EEPROM area … can be written only when Torque Enable is 0").
//! - Goal Velocity (104) is bounded by Velocity Limit (44).
//! - Hardware Error Status (70) latches the alarms selected in Shutdown (63); any latched
//!   alarm turns torque off and keeps it off until a reboot, and raises the alert bit
//!   (bit 7) of every status packet's error byte.
//! - The Bus Watchdog (98) and the loops are the shared ones of [`crate::drive`].

use super::{Family, Firmware};
use crate::drive::TableError;
use crate::drive::state::{DriveState, is};
use drivedeck_proto::profile::Register;

/// The DYNAMIXEL X firmware (no state beyond the table).
#[derive(Clone, Copy, Debug, Default)]
pub struct DynamixelX;

impl Family for DynamixelX {
    fn firmware(&self) -> Firmware {
        Firmware::DynamixelX
    }

    fn boxed(&self) -> Box<dyn Family> {
        Box::new(*self)
    }

    fn check_access(
        &self,
        drive: &DriveState,
        register: &Register,
        _raw: i64,
    ) -> Result<(), TableError> {
        if register.persistent && self.torque_enabled(drive) {
            return Err(TableError::Access(format!(
                "{} is in EEPROM and cannot change while torque is on",
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
        if is(&drive.entries.goal_velocity, register)
            && let Some(limit) = &drive.entries.velocity_limit
        {
            let limit = drive.get(limit);
            if raw.abs() > limit {
                return Err(TableError::Range(format!(
                    "{} {raw} is beyond the Velocity Limit ±{limit}",
                    register.name
                )));
            }
        }
        Ok(())
    }

    fn refresh_alarms(&mut self, drive: &mut DriveState) {
        // Latched until reboot; only the alarms selected in Shutdown count.
        let conditions = self.conditions(drive);
        drive.alarms |= conditions & drive.shutdown_mask();
        let torque_off = drive.alarms != 0;
        drive.apply_shutdown(torque_off);
    }

    fn alert(&self, drive: &DriveState) -> bool {
        drive.alarms != 0
    }
}
