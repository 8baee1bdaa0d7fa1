//! The AX-12A's position control: no PID, but the compliance margin, slope and punch of
//! its control table, after the ROBOTIS e-manual's AX-12/AX-12A page
//! (emanual.robotis.com, "AX-12/AX-12A", sections "Compliance Margin", "Compliance
//! Slope" and "Punch"). What the e-manual states and this module relies on:
//!
//! - CW/CCW Compliance Margin (26/27): the error, in Goal Position units, around the goal
//!   inside which the motor gets no output;
//! - CW/CCW Compliance Slope (28/29): how the output rises with the error beyond the
//!   margin; a larger value is a softer (lower-gain) response. The firmware uses seven
//!   levels, each range of values acting as its representative: 0–3 → 2, 4–7 → 4,
//!   8–15 → 8, 16–31 → 16, 32–63 → 32, 64–127 → 64, 128–254 → 128;
//! - Punch (48, 0–1023, in units of the maximum output like Torque Limit): the least
//!   output the motor gets once the error is outside the margin;
//! - Torque Limit (34, 0–1023 of the maximum output) caps the output; Moving Speed (32)
//!   is the speed of the move (0: as fast as possible).
//!
//! The CW values act on the CW side of the goal (present position below the goal, in
//! the e-manual's figure, so the motor turns CCW to reach it), the CCW values on the other
//! side. The e-manual draws the output as a straight line from the punch at the margin
//! to full output; how far the line runs is not given in numbers, so this model takes it
//! to reach full output `slope` units beyond the margin (a model choice, not a vendor
//! fact): output = punch/1023 + (|error| − margin)/slope, capped by Torque Limit.

use crate::drive::state::DriveState;
use crate::firmware::trajectory::Trajectory;

/// Factory values (the e-manual's defaults): margin 1, slope 32, punch 32.
const FACTORY_MARGIN: f64 = 1.0;
const FACTORY_SLOPE: f64 = 32.0;
const FACTORY_PUNCH: f64 = 32.0;
/// The full scale of Punch and Torque Limit.
const FULL_SCALE: f64 = 1023.0;

/// One side's compliance, in Goal Position units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Side {
    /// No output within this error, Goal Position units.
    pub margin: f64,
    /// The error beyond the margin that reaches full output (the slope's level).
    pub slope: f64,
}

/// The slope register's value as the firmware uses it: its level's representative.
pub fn slope_level(raw: i64) -> f64 {
    let mut level = 2_i64;
    while level < 128 && level * 2 <= raw {
        level *= 2;
    }
    level as f64
}

/// The output (a fraction of the maximum, signed like the error) for a position error
/// of `error` Goal Position units (goal − present): none inside the margin, else the
/// punch plus the error beyond the margin over the slope, capped at `cap`.
pub fn output(error: f64, cw: Side, ccw: Side, punch: f64, cap: f64) -> f64 {
    let side = if error >= 0.0 { cw } else { ccw };
    let beyond = error.abs() - side.margin;
    if beyond <= 0.0 {
        return 0.0;
    }
    let magnitude = (punch / FULL_SCALE + beyond / side.slope).min(cap);
    magnitude.copysign(error)
}

/// The position loop's state: the reference that Moving Speed moves toward the goal.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Compliance {
    reference: Trajectory,
}

fn named(drive: &DriveState, name: &str) -> Option<i64> {
    drive.profile.register(name).map(|r| drive.get(r))
}

impl Compliance {
    /// Torque came on: the move starts where the shaft is.
    pub(crate) fn engage(&mut self, drive: &DriveState) {
        self.reference = Trajectory::at(drive.motor.position);
    }

    /// One step in joint mode; `speed` is the move's speed (Moving Speed), rad/s.
    pub(crate) fn step(&mut self, drive: &mut DriveState, speed: f64, dt: f64) {
        let side = |margin: &str, slope: &str| Side {
            margin: named(drive, margin).map_or(FACTORY_MARGIN, |m| m as f64),
            slope: named(drive, slope).map_or(FACTORY_SLOPE, slope_level),
        };
        let cw = side("CW Compliance Margin", "CW Compliance Slope");
        let ccw = side("CCW Compliance Margin", "CCW Compliance Slope");
        let punch = named(drive, "Punch").map_or(FACTORY_PUNCH, |p| p as f64);
        let cap = drive
            .entry_si(&drive.entries.torque_limit)
            .map_or(1.0, |percent| (percent / 100.0).clamp(0.0, 1.0));
        // Goal Position units per radian.
        let units_per_rad = drive
            .entries
            .goal_position
            .as_ref()
            .map(|r| r.to_si(1) - r.to_si(0))
            .filter(|rad| *rad > 0.0)
            .map_or(1.0, |rad| 1.0 / rad);
        let goal = drive
            .watchdog_hold
            .unwrap_or_else(|| drive.goal_si(&drive.entries.goal_position));
        self.reference
            .toward_position(goal, speed, f64::INFINITY, dt);
        let error = (self.reference.position - drive.motor.position) * units_per_rad;
        let demand = output(error, cw, ccw, punch, cap);
        let current_limit = drive.current_limit(false);
        drive.drive_duty(demand, cap, current_limit, dt);
    }
}
