//! The Feetech STS position loop: the move's profile from Goal Speed (46, steps/s) and
//! Acceleration (41, × 100 steps/s²; either 0: the maximum), and P, D and I Coefficients
//! (21, 22, 23) on the position error → PWM, capped by Torque Limit (48, 0.1 %). Integral
//! Limit (25) bounds the integral term at its value × 4 (0: unbounded). Structure and
//! entries from Feetech's STS memory table (ftservo/ftservo-wiki memory-sts.md); factory
//! coefficients 32/32/0 (LeRobot's Feetech table; Feetech gives none).
//!
//! Feetech publishes no conversion from coefficients to loop gains; the simulator's
//! reading, in the table's units (position in steps, 4096 per revolution; PWM in 0.1 %)
//! with a 1 ms control period T: PWM = P/8·e + D·Δe + I/1024·Σe, so in SI (duty 1.0 =
//! 100 %) Kp = P/8 · 10⁻³ · 4096/2π per rad, Kd = D · 10⁻³ · 4096/2π · T per rad/s and
//! Ki = I/1024 · 10⁻³ · 4096/2π / T per rad·s ([`continuous_gains`]). The divisors make
//! the factory coefficients a well-damped loop on the STS3215's estimated plant
//! (ζ ≈ 1.1); they are not Feetech's figures.

use super::super::trajectory::Trajectory;
use crate::drive::state::DriveState;
use std::f64::consts::TAU;

/// The period the coefficients are read against, s.
pub const CONTROL_PERIOD: f64 = 0.001;

/// Steps per radian.
const STEPS_PER_RAD: f64 = 4096.0 / TAU;

/// Duty per 0.1 % PWM unit.
const DUTY_PER_UNIT: f64 = 0.001;

/// P, D, I Coefficients when the profile lacks them (LeRobot's STS3215 defaults).
const FACTORY: (f64, f64, f64) = (32.0, 32.0, 0.0);

/// The position loop's gains in SI: duty (1.0 = 100 %) per rad, per rad/s, per rad·s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PositionGains {
    /// Per rad of position error.
    pub p: f64,
    /// Per rad/s of error rate.
    pub d: f64,
    /// Per rad·s of integrated error.
    pub i: f64,
}

/// The SI gains of P, D and I Coefficients `p`, `d`, `i` (raw).
pub fn continuous_gains(p: f64, d: f64, i: f64) -> PositionGains {
    let per_step = DUTY_PER_UNIT * STEPS_PER_RAD;
    PositionGains {
        p: p / 8.0 * per_step,
        d: d * per_step * CONTROL_PERIOD,
        i: i / 1024.0 * per_step / CONTROL_PERIOD,
    }
}

/// The profile's and the loop's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Control {
    reference: Trajectory,
    /// ∫ position error, rad·s.
    integral: f64,
}

fn raw(drive: &DriveState, entry: &Option<drivedeck_proto::profile::Register>) -> Option<f64> {
    entry.as_ref().map(|r| drive.get(r) as f64)
}

impl Control {
    /// Torque came on: the move starts where the shaft is.
    pub(crate) fn engage(&mut self, drive: &DriveState) {
        self.reference = Trajectory::at(drive.motor.position);
        self.integral = 0.0;
    }

    /// One step in position mode; `speed` is the move's speed limit (Goal Speed), rad/s.
    pub(crate) fn step(&mut self, drive: &mut DriveState, speed: f64, dt: f64) {
        let e = &drive.entries;
        let gains = continuous_gains(
            raw(drive, &e.position_p).unwrap_or(FACTORY.0),
            raw(drive, &e.position_d).unwrap_or(FACTORY.1),
            raw(drive, &e.position_i).unwrap_or(FACTORY.2),
        );
        let acceleration = drive
            .positive_si(&e.profile_acceleration)
            .unwrap_or(f64::INFINITY);
        let integral_limit = raw(drive, &e.integral_limit)
            .filter(|l| *l > 0.0)
            .map_or(f64::INFINITY, |l| l * 4.0 * DUTY_PER_UNIT);
        let cap = drive
            .entry_si(&e.torque_limit)
            .map_or(1.0, |percent| (percent / 100.0).clamp(0.0, 1.0));
        let goal = drive
            .watchdog_hold
            .unwrap_or_else(|| drive.goal_si(&drive.entries.goal_position));
        self.reference
            .toward_position(goal, speed, acceleration, dt);
        let error = self.reference.position - drive.motor.position;
        let next = self.integral + error * dt;
        let integral_term = (gains.i * next).clamp(-integral_limit, integral_limit);
        let demand = gains.p * error
            + gains.d * (self.reference.velocity - drive.motor.velocity)
            + integral_term;
        let current_limit = drive.current_limit(false);
        if drive.drive_duty(demand, cap, current_limit, dt) {
            // Anti-windup: integrate only while the output delivers what it asks for.
            self.integral = next;
        }
    }
}
