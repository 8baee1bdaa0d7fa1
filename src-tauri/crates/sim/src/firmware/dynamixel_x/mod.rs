//! DYNAMIXEL X series firmware (Protocol 2.0; the XM430-W350 profile), after the ROBOTIS
//! e-manual's XM430-W350 control table page (emanual.robotis.com, "XM430-W350"):
//!
//! - EEPROM entries (the profile's `persistent` ones) refuse writes while Torque Enable
//!   (64) is 1 ("the EEPROM area … can be written only when Torque Enable is 0").
//! - Goal Velocity (104) is bounded by Velocity Limit (44), Goal PWM (100) by PWM Limit
//!   (36).
//! - Hardware Error Status (70) latches the alarms selected in Shutdown (63); any latched
//!   alarm turns torque off and keeps it off until a reboot, and raises the alert bit
//!   (bit 7) of every status packet's error byte.
//! - The Bus Watchdog (98) is the shared one of [`crate::drive`].
//! - The control loops are the X series' own ([`control`]): position PID + feedforward →
//!   PWM on the profile's trajectory, velocity PI → PWM. At power-on Goal PWM (100) starts
//!   at PWM Limit (36) (the e-manual gives Goal PWM no initial value of its own and bounds
//!   it by PWM Limit; the simulator's reading).

pub mod control;

use super::{Family, Firmware, torque_written};
use crate::drive::TableError;
use crate::drive::state::{DriveState, is};
use control::Control;
use drivedeck_proto::profile::Register;

/// The DYNAMIXEL X firmware: its profile generator and loops.
#[derive(Clone, Debug, Default)]
pub struct DynamixelX {
    control: Control,
}

impl Family for DynamixelX {
    fn firmware(&self) -> Firmware {
        Firmware::DynamixelX
    }

    fn boxed(&self) -> Box<dyn Family> {
        Box::new(self.clone())
    }

    fn restart(&mut self, drive: &mut DriveState) {
        // The loops start afresh; the clock (Realtime Tick) runs on.
        self.control.engage(drive);
        if let (Some(goal), Some(limit)) = (
            drive.entries.goal_pwm.clone(),
            drive.entries.pwm_limit.clone(),
        ) {
            let limit = drive.get(&limit);
            drive.put(&goal, limit);
        }
        self.control.publish(drive);
    }

    fn written(&mut self, drive: &mut DriveState, register: &Register, raw: i64) {
        torque_written(drive, register, raw);
        let torque = is(&drive.entries.torque_enable, register);
        let mode = is(&drive.entries.operating_mode, register);
        if (torque && raw != 0) || mode {
            // The trajectory starts from where the shaft is.
            self.control.engage(drive);
        }
    }

    fn tick(&mut self, _drive: &mut DriveState, dt: f64) {
        self.control.clock += dt;
    }

    fn publish_status(&mut self, drive: &mut DriveState) {
        self.control.publish(drive);
    }

    fn control(&mut self, drive: &mut DriveState, dt: f64) {
        let velocity_mode = self.velocity_mode(drive);
        self.control.step(drive, velocity_mode, dt);
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
        if is(&drive.entries.goal_pwm, register)
            && let Some(limit) = &drive.entries.pwm_limit
        {
            let limit = drive.get(limit);
            if raw.abs() > limit {
                return Err(TableError::Range(format!(
                    "{} {raw} is beyond the PWM Limit ±{limit}",
                    register.name
                )));
            }
        }
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

#[cfg(test)]
mod tests;
