//! The DYNAMIXEL X series' own control structure (position and velocity control modes),
//! after the ROBOTIS e-manual's XM430-W350 page, sections "Velocity PI Gain (76, 78)",
//! "Position PID Gain (80, 82, 84), Feedforward 1st/2nd Gains (88, 90)", "Profile
//! Velocity (112)", "Velocity Trajectory (136)", "Position Trajectory (140)" and
//! "Realtime Tick (120)":
//!
//! - Position control: the profile turns Goal Position into a trajectory (Position
//!   Trajectory, Velocity Trajectory); a PID on the position error plus velocity and
//!   acceleration feedforward on that trajectory gives the **PWM** (a duty cycle of the
//!   supply), capped by Goal PWM (≤ PWM Limit). KPP = Position P Gain/128, KPI = Position
//!   I Gain/65536, KPD = Position D Gain/16, KFF1st = Feedforward 1st Gain/4, KFF2nd =
//!   Feedforward 2nd Gain/4.
//! - Velocity control: the profile ramps Goal Velocity by Profile Acceleration into
//!   Velocity Trajectory; a PI on the velocity error (KVP = Velocity P Gain/128, KVI =
//!   Velocity I Gain/65536) gives the PWM.
//! - The profile: Profile Velocity 0 is a step (no profile); Profile Acceleration 0 is
//!   infinite acceleration (a rectangular velocity profile); otherwise a trapezoid, or a
//!   triangle on a short move. Drive Mode bit 2 selects the time-based profile: Profile
//!   Velocity is then the move's total time and Profile Acceleration its acceleration
//!   time, both in ms. (ROBOTIS' jerk limiting is not modelled.)
//! - Realtime Tick counts the drive's milliseconds, 0–32767.
//!
//! What ROBOTIS does not publish, and this simulator chooses: the controllers work in the
//! table's units — position in pulses (2π/4096 rad), velocity in 0.229 rev/min, output in
//! Goal PWM units (885 = 100 % duty) — and "the constant in each equation includes
//! sampling time" is read as a control period of [`CONTROL_PERIOD`] (1 ms). Integral,
//! derivative and feedforward terms therefore carry T: KPI·Σe is KPI/T·∫e dt, KPD·Δe is
//! KPD·T·de/dt, KFF1st·Δr is KFF1st·T·ṙ, KFF2nd·Δ²r is KFF2nd·T²·r̈. The loops run every
//! physics step on those continuous-time equivalents ([`continuous_model`]). The Current
//! Limit still bounds the winding current (the bridge's duty is cut back so the current
//! stays inside it), and the output counts as saturated for the overload protection when
//! the current limit cuts in, or the PWM is at its cap while the winding carries more
//! than half the stall current (a loaded motor, not one merely at full speed).

use super::super::trajectory::Trajectory;
use crate::drive::state::DriveState;
use crate::motor::MotorParams;
use std::f64::consts::TAU;

/// The period the gains' conversion constants assume, s (see the module doc).
pub const CONTROL_PERIOD: f64 = 0.001;

/// Goal PWM units at 100 % duty.
pub const PWM_FULL_SCALE: f64 = 885.0;

/// Encoder pulses per radian (4096 per revolution).
const PULSES_PER_RAD: f64 = 4096.0 / TAU;

/// The table's velocity unit, rad/s (0.229 rev/min).
const VELOCITY_UNIT: f64 = 0.229 * TAU / 60.0;

/// Drive Mode bit 2: the profile is time-based.
const TIME_BASED: i64 = 1 << 2;

/// The gain entries as the table holds them (raw).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TableGains {
    /// Position P Gain (84).
    pub position_p: f64,
    /// Position I Gain (82).
    pub position_i: f64,
    /// Position D Gain (80).
    pub position_d: f64,
    /// Feedforward 1st Gain (90).
    pub feedforward_1st: f64,
    /// Feedforward 2nd Gain (88).
    pub feedforward_2nd: f64,
    /// Velocity P Gain (78).
    pub velocity_p: f64,
    /// Velocity I Gain (76).
    pub velocity_i: f64,
}

impl TableGains {
    /// The XM430-W350's factory values (e-manual control table, initial values).
    pub const XM430_W350: TableGains = TableGains {
        position_p: 800.0,
        position_i: 0.0,
        position_d: 0.0,
        feedforward_1st: 0.0,
        feedforward_2nd: 0.0,
        velocity_p: 100.0,
        velocity_i: 1920.0,
    };
}

/// The position controller in SI: duty (1.0 = 100 %) per unit of each input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PositionGains {
    /// Per rad of position error.
    pub p: f64,
    /// Per rad·s of integrated position error.
    pub i: f64,
    /// Per rad/s of error rate.
    pub d: f64,
    /// Per rad/s of trajectory velocity.
    pub feedforward_velocity: f64,
    /// Per rad/s² of trajectory acceleration.
    pub feedforward_acceleration: f64,
}

/// The velocity controller in SI: duty per unit of each input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VelocityGains {
    /// Per rad/s of velocity error.
    pub p: f64,
    /// Per rad of integrated velocity error.
    pub i: f64,
}

/// An X-series drive as a continuous-time model: the plant seen by the PWM, and both
/// controllers, in SI.
///
/// Plant (standstill-linearised, winding L neglected): J·θ̈ = k_u·u − B·θ̇, with u the
/// duty (−1…1), k_u = Kₜ·V/R the stall torque per unit duty and B = b + Kₜ·Kₑ/R the
/// viscous friction plus back-EMF damping. Position loop:
/// u = Kp·e + Ki·∫e + Kd·ė + Kff1·θ̇_ref + Kff2·θ̈_ref with e = θ_ref − θ; velocity loop:
/// u = Kp_v·e_v + Ki_v·∫e_v.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContinuousModel {
    /// J, kg·m² (rotor reflected through the gears, plus the load).
    pub inertia: f64,
    /// B, N·m·s/rad.
    pub damping: f64,
    /// k_u, N·m per unit duty.
    pub torque_per_duty: f64,
    /// The position controller.
    pub position: PositionGains,
    /// The velocity controller.
    pub velocity: VelocityGains,
}

/// The continuous-time model of an X-series drive with `gains` driving `motor` (see
/// [`ContinuousModel`] and the module doc for the unit conversions).
pub fn continuous_model(gains: &TableGains, motor: &MotorParams) -> ContinuousModel {
    let t = CONTROL_PERIOD;
    let per_pulse = PULSES_PER_RAD / PWM_FULL_SCALE;
    let per_velocity_unit = 1.0 / (VELOCITY_UNIT * PWM_FULL_SCALE);
    ContinuousModel {
        inertia: motor.inertia(),
        damping: motor.viscous_friction
            + motor.torque_constant * motor.back_emf_constant / motor.resistance,
        torque_per_duty: motor.torque_constant * motor.supply_voltage / motor.resistance,
        position: PositionGains {
            p: gains.position_p / 128.0 * per_pulse,
            i: gains.position_i / 65536.0 * per_pulse / t,
            d: gains.position_d / 16.0 * per_pulse * t,
            feedforward_velocity: gains.feedforward_1st / 4.0 * per_pulse * t,
            feedforward_acceleration: gains.feedforward_2nd / 4.0 * per_pulse * t * t,
        },
        velocity: VelocityGains {
            p: gains.velocity_p / 128.0 * per_velocity_unit,
            i: gains.velocity_i / 65536.0 * per_velocity_unit / t,
        },
    }
}

/// The profile generator's and the loops' state.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Control {
    /// Position and Velocity Trajectory (true shaft frame).
    reference: Trajectory,
    /// ∫ position error, rad·s.
    position_integral: f64,
    /// ∫ velocity error, rad.
    velocity_integral: f64,
    /// The goal the time-based profile was planned for, and its (speed, acceleration).
    planned: Option<(f64, f64, f64)>,
    /// The drive's milliseconds (Realtime Tick), s.
    pub(crate) clock: f64,
}

fn raw(drive: &DriveState, entry: &Option<drivedeck_proto::profile::Register>) -> Option<f64> {
    entry.as_ref().map(|r| drive.get(r) as f64)
}

impl Control {
    /// Torque came on (or the loops restart): the trajectory starts where the shaft is.
    pub(crate) fn engage(&mut self, drive: &DriveState) {
        self.reference = Trajectory::at(drive.motor.position);
        self.position_integral = 0.0;
        self.velocity_integral = 0.0;
        self.planned = None;
    }

    /// The model of this drive now (its table's gains, its motor).
    fn model(drive: &DriveState) -> ContinuousModel {
        let e = &drive.entries;
        let d = TableGains::XM430_W350;
        let gains = TableGains {
            position_p: raw(drive, &e.position_p).unwrap_or(d.position_p),
            position_i: raw(drive, &e.position_i).unwrap_or(d.position_i),
            position_d: raw(drive, &e.position_d).unwrap_or(d.position_d),
            feedforward_1st: raw(drive, &e.feedforward_1st).unwrap_or(d.feedforward_1st),
            feedforward_2nd: raw(drive, &e.feedforward_2nd).unwrap_or(d.feedforward_2nd),
            velocity_p: raw(drive, &e.velocity_p).unwrap_or(d.velocity_p),
            velocity_i: raw(drive, &e.velocity_i).unwrap_or(d.velocity_i),
        };
        continuous_model(&gains, &drive.motor.params)
    }

    /// The duty cap, 0…1: Goal PWM, within PWM Limit.
    fn duty_cap(drive: &DriveState) -> f64 {
        let e = &drive.entries;
        let limit = raw(drive, &e.pwm_limit).unwrap_or(PWM_FULL_SCALE);
        let goal = raw(drive, &e.goal_pwm).unwrap_or(limit).abs();
        (goal.min(limit) / PWM_FULL_SCALE).clamp(0.0, 1.0)
    }

    /// The profile's speed and acceleration for a move to `goal` (infinite: none).
    fn profile_limits(&mut self, drive: &DriveState, goal: f64) -> (f64, f64) {
        let e = &drive.entries;
        let velocity_raw = raw(drive, &e.profile_velocity).unwrap_or(0.0);
        let acceleration_raw = raw(drive, &e.profile_acceleration).unwrap_or(0.0);
        if velocity_raw <= 0.0 {
            return (f64::INFINITY, f64::INFINITY);
        }
        let time_based = e
            .drive_mode
            .as_ref()
            .is_some_and(|r| drive.get(r) & TIME_BASED != 0);
        if !time_based {
            let speed = drive
                .positive_si(&e.profile_velocity)
                .unwrap_or(f64::INFINITY);
            let speed = speed.min(drive.velocity_limit(false));
            let acceleration = drive
                .positive_si(&e.profile_acceleration)
                .unwrap_or(f64::INFINITY);
            return (speed, acceleration);
        }
        // Time-based: planned once per goal from the distance left, t3 total, t1 ramps.
        if let Some((planned_goal, speed, acceleration)) = self.planned
            && planned_goal == goal
        {
            return (speed, acceleration);
        }
        let total = velocity_raw / 1000.0;
        let ramp = (acceleration_raw / 1000.0).min(total / 2.0);
        let distance = (goal - self.reference.position).abs();
        let speed = distance / (total - ramp).max(1e-6);
        let acceleration = if ramp > 0.0 {
            speed / ramp
        } else {
            f64::INFINITY
        };
        self.planned = Some((goal, speed, acceleration));
        (speed, acceleration)
    }

    /// One profile step toward `goal` rad/s (velocity control): Profile Acceleration only.
    fn profile_velocity(&mut self, drive: &DriveState, goal: f64, dt: f64) {
        let acceleration = drive
            .positive_si(&drive.entries.profile_acceleration)
            .unwrap_or(f64::INFINITY);
        self.reference.toward_velocity(goal, acceleration, dt);
    }

    /// One step of the powered drive: profile, controller, PWM, bridge.
    pub(crate) fn step(&mut self, drive: &mut DriveState, velocity_mode: bool, dt: f64) {
        let model = Control::model(drive);
        let cap = Control::duty_cap(drive);
        let position = drive.motor.position;
        let velocity = drive.motor.velocity;
        let (unclamped, integrating) = if velocity_mode {
            let goal = if drive.watchdog_hold.is_some() {
                0.0
            } else {
                drive.goal_si(&drive.entries.goal_velocity)
            };
            self.profile_velocity(drive, goal, dt);
            let error = self.reference.velocity - velocity;
            let g = model.velocity;
            let next = self.velocity_integral + error * dt;
            (g.p * error + g.i * next, Integrating::Velocity(next))
        } else {
            let goal = drive
                .watchdog_hold
                .unwrap_or_else(|| drive.goal_si(&drive.entries.goal_position));
            let (speed, acceleration) = self.profile_limits(drive, goal);
            self.reference
                .toward_position(goal, speed, acceleration, dt);
            let reference = self.reference;
            let error = reference.position - position;
            let g = model.position;
            let next = self.position_integral + error * dt;
            let duty = g.p * error
                + g.i * next
                + g.d * (reference.velocity - velocity)
                + g.feedforward_velocity * reference.velocity
                + g.feedforward_acceleration * reference.acceleration;
            (duty, Integrating::Position(next))
        };
        let current_limit = drive.current_limit(false);
        if drive.drive_duty(unclamped, cap, current_limit, dt) {
            // Anti-windup: integrate only while the output can deliver what it asks for.
            match integrating {
                Integrating::Velocity(next) => self.velocity_integral = next,
                Integrating::Position(next) => self.position_integral = next,
            }
        }
    }

    /// Writes Velocity Trajectory, Position Trajectory and Realtime Tick.
    pub(crate) fn publish(&self, drive: &mut DriveState) {
        let e = std::sync::Arc::clone(&drive.entries);
        if let Some(r) = &e.velocity_trajectory {
            let value = (self.reference.velocity / r.scale).round() as i64;
            drive.put(r, value);
        }
        if let Some(r) = &e.position_trajectory {
            let value =
                ((self.reference.position - drive.position_offset) / r.scale).round() as i64;
            drive.put(r, value);
        }
        if let Some(r) = &e.realtime_tick {
            let ms = (self.clock * 1000.0).floor() as i64;
            drive.put(r, ms.rem_euclid(32768));
        }
    }
}

/// Which integral the step would advance, once the output is known not to saturate.
enum Integrating {
    Velocity(f64),
    Position(f64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motor::MotorParams;
    use drivedeck_proto::profile::Profile;

    #[test]
    fn the_factory_gains_make_a_well_damped_xm430_position_loop() {
        let spec = Profile::xm430_w350().motor.expect("motor");
        let model = continuous_model(&TableGains::XM430_W350, &MotorParams::from_spec(&spec));
        // 800/128 PWM units per pulse: 6.25 · 651.9/885 ≈ 4.60 duty per rad.
        assert!((model.position.p - 4.604).abs() < 0.01, "{model:?}");
        assert_eq!(model.position.i, 0.0);
        // Stall torque per full duty is the datasheet's 4.1 N·m.
        assert!((model.torque_per_duty - 4.1).abs() < 1e-9);
        let stiffness = model.torque_per_duty * model.position.p;
        let zeta = model.damping / (2.0 * (stiffness * model.inertia).sqrt());
        assert!((0.7..1.2).contains(&zeta), "ζ = {zeta}");
    }
}
