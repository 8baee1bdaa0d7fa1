//! The motor and its load: a DC motor seen at the output shaft, integrated in fixed steps.
//!
//! State: shaft angle θ (rad), speed ω (rad/s), winding current i (A). The winding is
//! resistive (inductance comes with the wire-protocol issue), so the current follows the
//! voltage at once: i = (V − Kₑ·ω) / R. The shaft obeys J·dω/dt = Kₜ·i − b·ω − τc·sign(ω),
//! with static friction holding the shaft while the drive torque stays below τc.
//! Constants come from the datasheet figures in the drive's profile ([`MotorSpec`]).

use drivedeck_proto::profile::MotorSpec;

/// Electrical and mechanical constants, derived once from a [`MotorSpec`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotorParams {
    /// Supply voltage the drive's bridge can apply, V.
    pub supply_voltage: f64,
    /// Winding resistance, Ω.
    pub resistance: f64,
    /// Torque constant at the output, N·m/A.
    pub torque_constant: f64,
    /// Back-EMF constant at the output, V·s/rad.
    pub back_emf_constant: f64,
    /// Inertia at the output, kg·m².
    pub inertia: f64,
    /// Viscous friction, N·m·s/rad.
    pub viscous_friction: f64,
    /// Coulomb (dry) friction, N·m.
    pub coulomb_friction: f64,
}

impl MotorParams {
    /// Derives R, Kₜ and Kₑ from stall and no-load figures: R = V/I_stall,
    /// Kₜ = τ_stall/I_stall, Kₑ = (V − R·I_no-load)/ω_no-load.
    pub fn from_spec(spec: &MotorSpec) -> MotorParams {
        let resistance = spec.supply_voltage / spec.stall_current;
        MotorParams {
            supply_voltage: spec.supply_voltage,
            resistance,
            torque_constant: spec.stall_torque / spec.stall_current,
            back_emf_constant: (spec.supply_voltage - resistance * spec.no_load_current)
                / spec.no_load_speed,
            inertia: spec.inertia,
            viscous_friction: spec.viscous_friction,
            coulomb_friction: spec.coulomb_friction,
        }
    }
}

/// The motor's state, advanced by [`Motor::step`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Motor {
    /// Constants.
    pub params: MotorParams,
    /// Shaft angle, rad.
    pub position: f64,
    /// Shaft speed, rad/s.
    pub velocity: f64,
    /// Winding current, A.
    pub current: f64,
}

impl Motor {
    /// A motor at rest at angle zero.
    pub fn new(params: MotorParams) -> Motor {
        Motor {
            params,
            position: 0.0,
            velocity: 0.0,
            current: 0.0,
        }
    }

    /// The winding current that `voltage` would drive at the present speed.
    pub fn current_for(&self, voltage: f64) -> f64 {
        (voltage - self.params.back_emf_constant * self.velocity) / self.params.resistance
    }

    /// The voltage needed to drive `current` at the present speed.
    pub fn voltage_for(&self, current: f64) -> f64 {
        current * self.params.resistance + self.params.back_emf_constant * self.velocity
    }

    /// Advances by `dt` seconds with `voltage` across the winding (`None`: bridge off, the
    /// winding open, so no current flows and the shaft coasts against friction).
    pub fn step(&mut self, dt: f64, voltage: Option<f64>) {
        let p = self.params;
        self.current = match voltage {
            Some(v) => self.current_for(v.clamp(-p.supply_voltage, p.supply_voltage)),
            None => 0.0,
        };
        let drive_torque = p.torque_constant * self.current - p.viscous_friction * self.velocity;
        // Semi-implicit Euler with a stiction rule: dry friction opposes motion, and holds
        // a (nearly) still shaft while the drive torque cannot overcome it.
        let still = self.velocity.abs() < 1e-6;
        let net = if still && drive_torque.abs() <= p.coulomb_friction {
            0.0
        } else {
            let direction = if still {
                drive_torque.signum()
            } else {
                self.velocity.signum()
            };
            drive_torque - p.coulomb_friction * direction
        };
        let new_velocity = self.velocity + net / p.inertia * dt;
        // Friction alone cannot reverse the shaft: stop at zero instead of overshooting.
        self.velocity = if !still
            && new_velocity.signum() != self.velocity.signum()
            && drive_torque.abs() <= p.coulomb_friction
        {
            0.0
        } else {
            new_velocity
        };
        self.position += self.velocity * dt;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> MotorSpec {
        MotorSpec {
            supply_voltage: 12.0,
            stall_torque: 4.1,
            stall_current: 2.3,
            no_load_speed: 4.817,
            no_load_current: 0.13,
            inertia: 0.012,
            viscous_friction: 0.05,
            coulomb_friction: 0.05,
        }
    }

    #[test]
    fn constants_follow_the_datasheet() {
        let p = MotorParams::from_spec(&spec());
        assert!((p.resistance - 12.0 / 2.3).abs() < 1e-9);
        assert!((p.torque_constant - 4.1 / 2.3).abs() < 1e-9);
        // At no-load speed with no-load current the back-EMF plus the IR drop is the supply.
        let v = p.back_emf_constant * 4.817 + p.resistance * 0.13;
        assert!((v - 12.0).abs() < 1e-9);
    }

    #[test]
    fn full_voltage_reaches_a_speed_near_no_load_speed() {
        let mut motor = Motor::new(MotorParams::from_spec(&spec()));
        for _ in 0..40_000 {
            motor.step(0.000_25, Some(12.0));
        }
        // Friction in the model is a little more than the datasheet's no-load current
        // accounts for, so the speed settles slightly below 4.817 rad/s.
        assert!(
            motor.velocity > 4.0 && motor.velocity < 4.817,
            "{}",
            motor.velocity
        );
        assert!(motor.position > 30.0);
    }

    #[test]
    fn a_coasting_shaft_stops_and_stays_stopped() {
        let mut motor = Motor::new(MotorParams::from_spec(&spec()));
        motor.velocity = 3.0;
        for _ in 0..40_000 {
            motor.step(0.000_25, None);
        }
        assert_eq!(motor.velocity, 0.0);
        let parked = motor.position;
        motor.step(0.000_25, None);
        assert_eq!(motor.position, parked);
    }

    #[test]
    fn static_friction_holds_against_a_small_torque() {
        let mut motor = Motor::new(MotorParams::from_spec(&spec()));
        // 0.02 V drives ~4 mA → ~7 mN·m, below the 50 mN·m of dry friction.
        for _ in 0..1000 {
            motor.step(0.000_25, Some(0.02));
        }
        assert_eq!(motor.velocity, 0.0);
    }
}
