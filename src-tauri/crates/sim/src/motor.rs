//! The motor and its load: a DC motor seen at the output shaft, integrated in fixed steps.
//!
//! State: shaft angle θ (rad), speed ω (rad/s), winding current i (A) and winding
//! temperature T (°C).
//!
//! - Electrical: L·di/dt = V − R·i − Kₑ·ω. Over one step V and ω are held, so the
//!   equation is solved exactly (an exponential approach to (V − Kₑ·ω)/R with time
//!   constant L/R): stable for any step, even when L/R (tens of µs) is far shorter than it.
//!   With the bridge off the winding is open and no current flows.
//! - Mechanical: (J_rotor + J_load)·dω/dt = Kₜ·i − b·ω − τc·sign(ω), with static friction
//!   holding the shaft while the drive torque stays below τc (semi-implicit Euler).
//! - Thermal: C·dT/dt = i²·R − (T − T_ambient)/R_th, one node for winding and housing,
//!   also solved exactly over the step.
//!
//! - Load resonance (optional, off by default): a second mass J₂ on a spring k with a
//!   damper c at the output, J₂·θ̈₂ = k·(θ − θ₂) + c·(θ̇ − θ̇₂), the same torque acting back
//!   on the shaft. Set by its natural frequency against a locked output, f = √(k/J₂)/2π,
//!   and damping ratio ζ = c/(2√(k·J₂)) ([`Resonance`]); integrated in sub-steps short
//!   enough for the coupled mode.
//!
//! Constants come from the datasheet figures in the drive's profile ([`MotorSpec`]).

use drivedeck_proto::profile::MotorSpec;

/// Electrical, mechanical and thermal constants, derived once from a [`MotorSpec`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotorParams {
    /// Supply voltage the drive's bridge can apply, V.
    pub supply_voltage: f64,
    /// Winding resistance, Ω.
    pub resistance: f64,
    /// Winding inductance, H.
    pub inductance: f64,
    /// Torque constant at the output, N·m/A.
    pub torque_constant: f64,
    /// Back-EMF constant at the output, V·s/rad.
    pub back_emf_constant: f64,
    /// Rotor inertia at the output, kg·m².
    pub rotor_inertia: f64,
    /// Inertia of the coupled load, kg·m².
    pub load_inertia: f64,
    /// Viscous friction, N·m·s/rad.
    pub viscous_friction: f64,
    /// Coulomb (dry) friction, N·m.
    pub coulomb_friction: f64,
    /// Thermal resistance winding → ambient, K/W.
    pub thermal_resistance: f64,
    /// Thermal capacity, J/K.
    pub thermal_capacity: f64,
    /// Ambient temperature, °C.
    pub ambient_temperature: f64,
}

impl MotorParams {
    /// Derives R, Kₜ and Kₑ from stall and no-load figures: R = V/I_stall,
    /// Kₜ = τ_stall/I_stall, Kₑ = (V − R·I_no-load)/ω_no-load; the rest as given.
    pub fn from_spec(spec: &MotorSpec) -> MotorParams {
        let resistance = spec.supply_voltage / spec.stall_current;
        MotorParams {
            supply_voltage: spec.supply_voltage,
            resistance,
            inductance: spec.inductance,
            torque_constant: spec.stall_torque / spec.stall_current,
            back_emf_constant: (spec.supply_voltage - resistance * spec.no_load_current)
                / spec.no_load_speed,
            rotor_inertia: spec.inertia,
            load_inertia: spec.load_inertia,
            viscous_friction: spec.viscous_friction,
            coulomb_friction: spec.coulomb_friction,
            thermal_resistance: spec.thermal_resistance,
            thermal_capacity: spec.thermal_capacity,
            ambient_temperature: spec.ambient_temperature,
        }
    }

    /// Total inertia the torque accelerates: rotor plus load, kg·m².
    pub fn inertia(&self) -> f64 {
        self.rotor_inertia + self.load_inertia
    }

    /// The electrical time constant L/R, s.
    pub fn electrical_time_constant(&self) -> f64 {
        self.inductance / self.resistance
    }

    /// The thermal time constant R_th·C, s.
    pub fn thermal_time_constant(&self) -> f64 {
        self.thermal_resistance * self.thermal_capacity
    }
}

/// A second mass on a spring at the output: a compliant coupling or a flexible load.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resonance {
    /// J₂, kg·m².
    pub inertia: f64,
    /// Natural frequency of the load against a locked output, √(k/J₂)/2π, Hz.
    pub frequency: f64,
    /// Damping ratio ζ of the spring's damper.
    pub damping_ratio: f64,
}

impl Resonance {
    /// Spring stiffness k = J₂·ω², N·m/rad.
    pub fn stiffness(&self) -> f64 {
        self.inertia * (std::f64::consts::TAU * self.frequency).powi(2)
    }

    /// Damper c = 2ζ·√(k·J₂), N·m·s/rad.
    pub fn damping(&self) -> f64 {
        2.0 * self.damping_ratio * (self.stiffness() * self.inertia).sqrt()
    }

    /// Whether the figures describe a physical load (positive mass and frequency,
    /// non-negative damping, all finite).
    pub fn is_valid(&self) -> bool {
        self.inertia.is_finite()
            && self.frequency.is_finite()
            && self.damping_ratio.is_finite()
            && self.inertia > 0.0
            && self.frequency > 0.0
            && self.damping_ratio >= 0.0
    }
}

/// The resonant load's state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResonantLoad {
    /// Its figures.
    pub resonance: Resonance,
    /// Its angle, rad.
    pub position: f64,
    /// Its speed, rad/s.
    pub velocity: f64,
}

impl ResonantLoad {
    /// The torque the spring and damper put on the load (and, reversed, on the shaft),
    /// N·m.
    fn coupling_torque(&self, position: f64, velocity: f64) -> f64 {
        let r = self.resonance;
        r.stiffness() * (position - self.position) + r.damping() * (velocity - self.velocity)
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
    /// Winding temperature, °C.
    pub temperature: f64,
    /// Voltage across the winding during the last step, V (0 with the bridge off).
    pub voltage: f64,
    /// The resonant load, when one is coupled.
    pub load: Option<ResonantLoad>,
}

/// `exp(-dt/tau)`, 0 when there is no time constant (the quantity settles at once).
fn decay(dt: f64, tau: f64) -> f64 {
    if tau > 0.0 { (-dt / tau).exp() } else { 0.0 }
}

impl Motor {
    /// A motor at rest at angle zero, at ambient temperature.
    pub fn new(params: MotorParams) -> Motor {
        Motor {
            params,
            position: 0.0,
            velocity: 0.0,
            current: 0.0,
            temperature: params.ambient_temperature,
            voltage: 0.0,
            load: None,
        }
    }

    /// Couples a resonant load (at rest against the shaft: no twist), or removes it.
    pub fn set_resonance(&mut self, resonance: Option<Resonance>) {
        self.load = resonance.map(|resonance| ResonantLoad {
            resonance,
            position: self.position,
            velocity: self.velocity,
        });
    }

    /// The steady current `voltage` would drive at the present speed (after L/R).
    pub fn current_for(&self, voltage: f64) -> f64 {
        (voltage - self.params.back_emf_constant * self.velocity) / self.params.resistance
    }

    /// The voltage that brings the winding current from its present value to `current`
    /// by the end of a step of `dt` seconds (the drive's current loop, ideal but for the
    /// supply limit the caller applies): solves the step's exact solution for V.
    pub fn voltage_for(&self, current: f64, dt: f64) -> f64 {
        let p = self.params;
        let d = decay(dt, p.electrical_time_constant());
        // i(dt) = i_ss + (i0 − i_ss)·d  ⇒  i_ss = (i_target − i0·d) / (1 − d)
        let steady = if d < 1.0 {
            (current - self.current * d) / (1.0 - d)
        } else {
            current
        };
        steady * p.resistance + p.back_emf_constant * self.velocity
    }

    /// Advances by `dt` seconds with `voltage` across the winding (`None`: bridge off, the
    /// winding open, so no current flows and the shaft coasts against friction).
    pub fn step(&mut self, dt: f64, voltage: Option<f64>) {
        let p = self.params;
        match voltage {
            Some(v) => {
                let v = v.clamp(-p.supply_voltage, p.supply_voltage);
                let steady = self.current_for(v);
                let d = decay(dt, p.electrical_time_constant());
                self.current = steady + (self.current - steady) * d;
                self.voltage = v;
            }
            None => {
                self.current = 0.0;
                self.voltage = 0.0;
            }
        }
        self.step_mechanics(dt);
        self.step_thermal(dt);
    }

    fn step_mechanics(&mut self, dt: f64) {
        let Some(load) = self.load else {
            self.step_shaft(dt, 0.0);
            return;
        };
        // Sub-steps of at most a tenth of the coupled mode's period over 2π.
        let r = load.resonance;
        let rotor = self.params.inertia().max(f64::MIN_POSITIVE);
        let coupled = (r.stiffness() * (1.0 / rotor + 1.0 / r.inertia)).sqrt();
        let steps = (coupled * dt / 0.1).ceil().clamp(1.0, 10_000.0);
        let h = dt / steps;
        for _ in 0..steps as usize {
            let Some(mut load) = self.load else {
                return;
            };
            let torque = load.coupling_torque(self.position, self.velocity);
            self.step_shaft(h, torque);
            load.velocity += torque / load.resonance.inertia * h;
            load.position += load.velocity * h;
            self.load = Some(load);
        }
    }

    /// The shaft over `dt` with `load_torque` N·m held back by the resonant load.
    fn step_shaft(&mut self, dt: f64, load_torque: f64) {
        let p = self.params;
        let drive_torque =
            p.torque_constant * self.current - p.viscous_friction * self.velocity - load_torque;
        // Dry friction opposes motion, and holds a (nearly) still shaft while the drive
        // torque cannot overcome it.
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
        let new_velocity = self.velocity + net / p.inertia() * dt;
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

    fn step_thermal(&mut self, dt: f64) {
        let p = self.params;
        let heat = self.current * self.current * p.resistance;
        let steady = p.ambient_temperature + heat * p.thermal_resistance;
        let d = decay(dt, p.thermal_time_constant());
        self.temperature = steady + (self.temperature - steady) * d;
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
            inductance: 0.3e-3,
            thermal_resistance: 35.0,
            thermal_capacity: 10.0,
            ambient_temperature: 25.0,
            load_inertia: 0.0,
            encoder_resolution: None,
            position_noise: 0.0,
            velocity_noise: 0.0,
            current_noise: 0.0,
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
        assert!((p.electrical_time_constant() - 0.3e-3 / (12.0 / 2.3)).abs() < 1e-15);
    }

    #[test]
    fn a_voltage_step_raises_the_current_with_time_constant_l_over_r() {
        let mut s = spec();
        s.load_inertia = 1e6; // a locked rotor: no back-EMF to muddy the curve
        let mut motor = Motor::new(MotorParams::from_spec(&s));
        let tau = motor.params.electrical_time_constant();
        let final_current = 6.0 / motor.params.resistance;
        let dt = tau / 100.0;
        // After one time constant: 1 − 1/e of the final value; after five, all of it.
        for _ in 0..100 {
            motor.step(dt, Some(6.0));
        }
        let ratio = motor.current / final_current;
        assert!((ratio - (1.0 - (-1.0f64).exp())).abs() < 1e-3, "{ratio}");
        for _ in 0..400 {
            motor.step(dt, Some(6.0));
        }
        assert!((motor.current / final_current - 1.0).abs() < 0.01);
        // A coarse step (8 time constants) stays exact and stable.
        let mut coarse = Motor::new(MotorParams::from_spec(&s));
        coarse.step(8.0 * tau, Some(6.0));
        assert!((coarse.current / final_current - (1.0 - (-8.0f64).exp())).abs() < 1e-9);
    }

    #[test]
    fn the_current_loop_voltage_reaches_the_set_point_in_one_step() {
        let mut motor = Motor::new(MotorParams::from_spec(&spec()));
        motor.velocity = 1.0;
        let dt = 250e-6;
        let v = motor.voltage_for(0.5, dt);
        motor.step(dt, Some(v));
        assert!((motor.current - 0.5).abs() < 1e-3, "{}", motor.current);
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
    fn load_inertia_slows_the_start() {
        let run = |load: f64| {
            let mut s = spec();
            s.load_inertia = load;
            let mut motor = Motor::new(MotorParams::from_spec(&s));
            // 2 ms: well inside the mechanical time constant (~15 ms), where the speed
            // still grows in proportion to torque / inertia.
            for _ in 0..8 {
                motor.step(0.000_25, Some(12.0));
            }
            motor.velocity
        };
        let bare = run(0.0);
        let loaded = run(0.012); // doubles the inertia
        assert!(
            loaded < 0.6 * bare && loaded > 0.4 * bare,
            "{bare} {loaded}"
        );
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
    fn coulomb_friction_alone_decelerates_at_tau_over_j() {
        let mut s = spec();
        s.viscous_friction = 0.0;
        let mut motor = Motor::new(MotorParams::from_spec(&s));
        motor.velocity = 1.0;
        // τc/J = 0.05/0.012 ≈ 4.17 rad/s²: stopped after 1/4.17 = 0.24 s, not before.
        let dt = 0.000_25;
        let mut t = 0.0;
        while motor.velocity > 0.0 {
            motor.step(dt, None);
            t += dt;
        }
        assert!((t - 0.012 / 0.05).abs() < 2.0 * dt, "{t}");
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

    #[test]
    fn the_winding_heats_with_i_squared_r_and_cools_to_ambient() {
        let mut s = spec();
        s.load_inertia = 1e6; // stalled
        let mut motor = Motor::new(MotorParams::from_spec(&s));
        let p = motor.params;
        // Stall at 3 V: i = 3/R, P = i²R; after one thermal time constant the rise is
        // (1 − 1/e) of P·R_th.
        let i = 3.0 / p.resistance;
        let rise = i * i * p.resistance * p.thermal_resistance;
        let dt = 0.01;
        let steps = (p.thermal_time_constant() / dt).round() as usize;
        for _ in 0..steps {
            motor.step(dt, Some(3.0));
        }
        let expected = 25.0 + rise * (1.0 - (-1.0f64).exp());
        assert!(
            (motor.temperature - expected).abs() < 0.05,
            "{}",
            motor.temperature
        );
        // Bridge off: back toward ambient with the same time constant.
        let hot = motor.temperature;
        for _ in 0..steps {
            motor.step(dt, None);
        }
        let cooled = 25.0 + (hot - 25.0) * (-1.0f64).exp();
        assert!((motor.temperature - cooled).abs() < 0.05);
    }

    /// A frictionless shaft with the bridge off, twisted 0.01 rad against a resonant load
    /// of its own inertia: the twist after each step.
    fn free_twist(damping_ratio: f64, seconds: f64) -> Vec<f64> {
        let mut s = spec();
        s.viscous_friction = 0.0;
        s.coulomb_friction = 0.0;
        let mut motor = Motor::new(MotorParams::from_spec(&s));
        motor.set_resonance(Some(Resonance {
            inertia: 0.012,
            frequency: 10.0,
            damping_ratio,
        }));
        motor.position = 0.01;
        let dt = 0.000_25;
        (0..(seconds / dt) as usize)
            .map(|_| {
                motor.step(dt, None);
                motor.position - motor.load.expect("coupled").position
            })
            .collect()
    }

    #[test]
    fn a_resonant_load_rings_at_the_coupled_frequency() {
        let twist = free_twist(0.0, 1.0);
        let crossings = twist
            .windows(2)
            .filter(|w| w[0].signum() != w[1].signum())
            .count();
        // Equal inertias: ω = √(k·(1/J₁ + 1/J₂)) = √2 · 10 Hz ≈ 14.1 Hz, two crossings
        // per period.
        let frequency = crossings as f64 / 2.0;
        assert!((frequency - 14.14).abs() < 0.6, "{frequency} Hz");
        // Undamped: the amplitude stays.
        let late = twist[twist.len() - 400..]
            .iter()
            .fold(0.0f64, |m, t| m.max(t.abs()));
        assert!((late - 0.01).abs() < 0.0005, "{late}");
    }

    #[test]
    fn the_resonance_damping_ratio_decays_the_ringing() {
        let twist = free_twist(0.1, 1.0);
        let late = twist[twist.len() - 400..]
            .iter()
            .fold(0.0f64, |m, t| m.max(t.abs()));
        // ζ = 0.1 on the spring: e^(−ζ·ω·t) over a second is far below 1 %.
        assert!(late < 0.0001, "{late}");
    }

    #[test]
    fn no_resonance_by_default() {
        assert!(Motor::new(MotorParams::from_spec(&spec())).load.is_none());
    }
}
