//! The vendors' own loop structures: which gain registers a drive family's firmware
//! has, which term of its control law each one is, and what one count of it is in SI
//! (the drive's output, a PWM fraction of 1.0 = 100 %, per unit of each input).
//!
//! - **DYNAMIXEL X** (ROBOTIS e-manual, XM430-W350, "Position PID Gain (80, 82, 84),
//!   Feedforward 1st/2nd Gains (88, 90)", "Velocity PI Gain (76, 78)"): in position
//!   control a PID on the position error plus feedforward of the profile's velocity and
//!   acceleration gives the PWM; KPP = P/128, KPI = I/65536, KPD = D/16, KFF = FF/4, in
//!   the table's units (position in pulses, 4096 per revolution; PWM in Goal PWM units,
//!   885 = 100 %). In velocity control a PI on the velocity error (0.229 rev/min units):
//!   KVP = P/128, KVI = I/65536. "The constant in each equation includes sampling time":
//!   read with a control period T of 1 ms, the integral counts per T (Ki = KPI/T), the
//!   derivative and feedforward per difference over T (Kd = KPD·T).
//! - **Feetech STS** (Feetech's memory table, P/D/I Coefficient 21–23): a PID on the
//!   position error gives the PWM in 0.1 % units, position in steps (4096 per
//!   revolution). Feetech publishes no scaling; DriveDeck reads it as PWM = P/8·e +
//!   D·Δe + I/1024·Σe with T = 1 ms (the simulator's reading too).
//!
//! In both position laws the derivative acts on the profile's velocity minus the measured
//! one: with no profile (a step, or any reference played as goals) the profile's velocity
//! is zero, so the derivative acts on the measurement alone and feedforward does nothing.

use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;
use ts_rs::TS;

/// The loop a structure closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LoopKind {
    /// Position: output from the position error.
    Position,
    /// Velocity: output from the velocity error.
    Velocity,
}

/// Which term of the law a gain register sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    /// Proportional: output per unit of error.
    Proportional,
    /// Integral: output per unit of integrated error.
    Integral,
    /// Derivative: output per unit of error rate (position loops).
    Derivative,
    /// Velocity feedforward: output per rad/s of the profile's velocity.
    FeedforwardVelocity,
    /// Acceleration feedforward: output per rad/s² of the profile's acceleration.
    FeedforwardAcceleration,
}

/// A control law in SI: the output (PWM fraction) per unit of each input. For a position
/// loop the units are per rad, per rad·s, per rad/s, per rad/s and per rad/s²; for a
/// velocity loop per rad/s (`kp`) and per rad (`ki`), the rest unused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Law {
    /// Proportional.
    pub kp: f64,
    /// Integral.
    pub ki: f64,
    /// Derivative.
    pub kd: f64,
    /// Velocity feedforward.
    pub ff_velocity: f64,
    /// Acceleration feedforward.
    pub ff_acceleration: f64,
}

impl Law {
    /// The term `term`.
    pub fn term(&self, term: Term) -> f64 {
        match term {
            Term::Proportional => self.kp,
            Term::Integral => self.ki,
            Term::Derivative => self.kd,
            Term::FeedforwardVelocity => self.ff_velocity,
            Term::FeedforwardAcceleration => self.ff_acceleration,
        }
    }

    fn set(&mut self, term: Term, value: f64) {
        match term {
            Term::Proportional => self.kp = value,
            Term::Integral => self.ki = value,
            Term::Derivative => self.kd = value,
            Term::FeedforwardVelocity => self.ff_velocity = value,
            Term::FeedforwardAcceleration => self.ff_acceleration = value,
        }
    }
}

/// One gain register of a loop structure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct GainRegister {
    /// Its name in the drive's profile.
    pub name: String,
    /// The term it sets.
    pub term: Term,
    /// The SI value of one count (see [`Law`] for the units).
    pub si_per_count: f64,
    /// How the vendor reads it (`KPP = P/128`).
    pub rule: String,
    /// The register's range, counts.
    pub min: f64,
    /// See `min`.
    pub max: f64,
}

/// A drive family's loop: its gain registers and the period its gains assume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct LoopStructure {
    /// What it is (`DYNAMIXEL X position PID → PWM`).
    pub name: String,
    /// The loop it closes.
    pub kind: LoopKind,
    /// The control period the gains are read against, s.
    pub control_period_s: f64,
    /// The gain registers, in the order a table shows them.
    pub registers: Vec<GainRegister>,
}

/// The period both families' gains are read against, s.
const PERIOD: f64 = 0.001;

/// Output fraction per DYNAMIXEL X Goal PWM unit.
const DXL_PWM: f64 = 1.0 / 885.0;

/// Position units per radian for 4096-count encoders.
const COUNTS_PER_RAD: f64 = 4096.0 / TAU;

/// DYNAMIXEL X velocity unit, rad/s (0.229 rev/min).
const DXL_VELOCITY_UNIT: f64 = 0.229 * TAU / 60.0;

fn register(name: &str, term: Term, si_per_count: f64, rule: &str, max: f64) -> GainRegister {
    GainRegister {
        name: name.into(),
        term,
        si_per_count,
        rule: rule.into(),
        min: 0.0,
        max,
    }
}

impl LoopStructure {
    /// DYNAMIXEL X in position control (see the module doc).
    pub fn dynamixel_x_position() -> LoopStructure {
        let per_pulse = COUNTS_PER_RAD * DXL_PWM;
        let t = PERIOD;
        LoopStructure {
            name: "DYNAMIXEL X position PID → PWM".into(),
            kind: LoopKind::Position,
            control_period_s: t,
            registers: vec![
                register(
                    "Position P Gain",
                    Term::Proportional,
                    per_pulse / 128.0,
                    "KPP = P/128",
                    16383.0,
                ),
                register(
                    "Position I Gain",
                    Term::Integral,
                    per_pulse / 65536.0 / t,
                    "KPI = I/65536",
                    16383.0,
                ),
                register(
                    "Position D Gain",
                    Term::Derivative,
                    per_pulse / 16.0 * t,
                    "KPD = D/16",
                    16383.0,
                ),
                register(
                    "Feedforward 1st Gain",
                    Term::FeedforwardVelocity,
                    per_pulse / 4.0 * t,
                    "KFF1st = FF1/4",
                    16383.0,
                ),
                register(
                    "Feedforward 2nd Gain",
                    Term::FeedforwardAcceleration,
                    per_pulse / 4.0 * t * t,
                    "KFF2nd = FF2/4",
                    16383.0,
                ),
            ],
        }
    }

    /// DYNAMIXEL X in velocity control (see the module doc).
    pub fn dynamixel_x_velocity() -> LoopStructure {
        let per_unit = DXL_PWM / DXL_VELOCITY_UNIT;
        LoopStructure {
            name: "DYNAMIXEL X velocity PI → PWM".into(),
            kind: LoopKind::Velocity,
            control_period_s: PERIOD,
            registers: vec![
                register(
                    "Velocity P Gain",
                    Term::Proportional,
                    per_unit / 128.0,
                    "KVP = P/128",
                    16383.0,
                ),
                register(
                    "Velocity I Gain",
                    Term::Integral,
                    per_unit / 65536.0 / PERIOD,
                    "KVI = I/65536",
                    16383.0,
                ),
            ],
        }
    }

    /// Feetech STS in position control (see the module doc).
    pub fn feetech_position() -> LoopStructure {
        let per_step = COUNTS_PER_RAD * 0.001;
        LoopStructure {
            name: "Feetech STS position PID → PWM".into(),
            kind: LoopKind::Position,
            control_period_s: PERIOD,
            registers: vec![
                register(
                    "P Coefficient",
                    Term::Proportional,
                    per_step / 8.0,
                    "P/8 per step, 0.1 % PWM",
                    254.0,
                ),
                register(
                    "I Coefficient",
                    Term::Integral,
                    per_step / 1024.0 / PERIOD,
                    "I/1024 per step·ms",
                    254.0,
                ),
                register(
                    "D Coefficient",
                    Term::Derivative,
                    per_step * PERIOD,
                    "D per step/ms",
                    254.0,
                ),
            ],
        }
    }

    /// The structure of a drive whose profile has the registers `names`, in `kind` of
    /// loop; `None` for a family DriveDeck does not know the law of.
    pub fn for_registers(names: &[&str], kind: LoopKind) -> Option<LoopStructure> {
        let has = |n: &str| names.contains(&n);
        let found = if has("Position P Gain") && has("Velocity P Gain") {
            match kind {
                LoopKind::Position => LoopStructure::dynamixel_x_position(),
                LoopKind::Velocity => LoopStructure::dynamixel_x_velocity(),
            }
        } else if has("P Coefficient") && has("D Coefficient") && kind == LoopKind::Position {
            LoopStructure::feetech_position()
        } else {
            return None;
        };
        Some(found)
    }

    /// The law that the register values `raw` (name, counts) set; a register not given
    /// counts as 0.
    pub fn law(&self, raw: &[(String, f64)]) -> Law {
        let mut law = Law::default();
        for r in &self.registers {
            let counts = raw
                .iter()
                .find(|(name, _)| *name == r.name)
                .map_or(0.0, |(_, v)| *v);
            law.set(r.term, counts * r.si_per_count);
        }
        law
    }

    /// The register counts closest to `law`: rounded, and clipped to each register's
    /// range. Each entry is (register, counts, what the law asked for in counts).
    pub fn counts(&self, law: &Law) -> Vec<(GainRegister, f64, f64)> {
        self.registers
            .iter()
            .map(|r| {
                let wanted = law.term(r.term) / r.si_per_count;
                let counts = wanted.round().clamp(r.min, r.max);
                (r.clone(), counts, wanted)
            })
            .collect()
    }

    /// Replaces each register's range by the profile's where it gives one.
    pub fn with_ranges(mut self, range: impl Fn(&str) -> Option<(f64, f64)>) -> LoopStructure {
        for r in &mut self.registers {
            if let Some((min, max)) = range(&r.name) {
                r.min = min;
                r.max = max;
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xm430_factory_gains_in_si() {
        let s = LoopStructure::dynamixel_x_position();
        let law = s.law(&[("Position P Gain".into(), 800.0)]);
        // 800/128 PWM units per pulse = 6.25 · 651.9/885 ≈ 4.60 duty per rad.
        assert!((law.kp - 4.604).abs() < 0.01, "{law:?}");
        assert_eq!(law.kd, 0.0);
        let counts = s.counts(&law);
        assert_eq!(counts[0].1, 800.0);
    }

    #[test]
    fn counts_are_rounded_and_clipped() {
        let s = LoopStructure::feetech_position();
        let law = Law {
            kp: 1000.0,
            kd: 0.01,
            ..Law::default()
        };
        let counts = s.counts(&law);
        let p = counts.iter().find(|c| c.0.name == "P Coefficient").unwrap();
        assert_eq!(p.1, 254.0);
        assert!(p.2 > 254.0);
        let d = counts.iter().find(|c| c.0.name == "D Coefficient").unwrap();
        assert_eq!(d.1, (0.01 / d.0.si_per_count).round());
    }

    #[test]
    fn the_family_is_found_by_its_registers() {
        let x = ["Position P Gain", "Velocity P Gain"];
        assert_eq!(
            LoopStructure::for_registers(&x, LoopKind::Velocity)
                .unwrap()
                .kind,
            LoopKind::Velocity
        );
        let f = ["P Coefficient", "D Coefficient"];
        assert!(LoopStructure::for_registers(&f, LoopKind::Velocity).is_none());
        assert!(
            LoopStructure::for_registers(&["CW Compliance Slope"], LoopKind::Position).is_none()
        );
    }
}
