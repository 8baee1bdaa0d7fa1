//! C(jω) of the drive's loop structures, from gains in SI units.
//!
//! - PID with a first-order derivative filter:
//!   C(s) = Kp + Ki/s + Kd·s/(τ_d·s + 1). Feedforward acts on the reference only: it
//!   shapes the response to r but is not in the loop, so it does not enter L or the
//!   margins, and is not part of C here.
//! - P → PI cascade (outer position P with gain Kp_pos in 1/s commanding velocity, inner
//!   velocity PI C_v(s) = Kp_v + Ki_v/s commanding effort), broken at the plant input
//!   with P(s) the effort → position plant: the effort is
//!   u = C_v·(Kp_pos·(r − y) − s·y), so the loop seen by the plant is
//!   L(s) = P(s)·C_v(s)·(Kp_pos + s), i.e. an equivalent C(s) = C_v(s)·(Kp_pos + s).

use crate::Complex64;
use serde::{Deserialize, Serialize};

/// A loop structure with its gains in force.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum LoopController {
    /// Parallel PID with a filtered derivative.
    Pid {
        /// Proportional gain (effort per unit error).
        kp: f64,
        /// Integral gain (effort per unit error per second).
        ki_per_s: f64,
        /// Derivative gain (effort per unit error rate, s).
        kd_s: f64,
        /// Derivative filter time constant τ_d (0: unfiltered).
        derivative_filter_s: f64,
    },
    /// Position P over velocity PI.
    CascadePPi {
        /// Outer position gain: velocity command per unit position error (1/s).
        position_kp_per_s: f64,
        /// Inner velocity proportional gain.
        velocity_kp: f64,
        /// Inner velocity integral gain (per second).
        velocity_ki_per_s: f64,
    },
}

impl LoopController {
    /// C(jω) at `freq_hz` (the equivalent controller at the plant input for cascades).
    pub fn response(&self, freq_hz: f64) -> Complex64 {
        let s = Complex64::new(0.0, std::f64::consts::TAU * freq_hz);
        let one = Complex64::new(1.0, 0.0);
        match *self {
            LoopController::Pid {
                kp,
                ki_per_s,
                kd_s,
                derivative_filter_s,
            } => kp + ki_per_s / s + kd_s * s / (derivative_filter_s * s + one),
            LoopController::CascadePPi {
                position_kp_per_s,
                velocity_kp,
                velocity_ki_per_s,
            } => (velocity_kp + velocity_ki_per_s / s) * (position_kp_per_s + s),
        }
    }

    /// C(jω) at each frequency.
    pub fn responses(&self, freq_hz: &[f64]) -> Vec<Complex64> {
        freq_hz.iter().map(|&f| self.response(f)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_terms_at_known_points() {
        let c = LoopController::Pid {
            kp: 2.0,
            ki_per_s: 0.0,
            kd_s: 0.0,
            derivative_filter_s: 0.0,
        };
        assert!((c.response(10.0) - Complex64::new(2.0, 0.0)).norm() < 1e-12);
        // Integral alone: Ki/(jω) = −j·Ki/ω.
        let c = LoopController::Pid {
            kp: 0.0,
            ki_per_s: 5.0,
            kd_s: 0.0,
            derivative_filter_s: 0.0,
        };
        let w = std::f64::consts::TAU;
        assert!((c.response(1.0) - Complex64::new(0.0, -5.0 / w)).norm() < 1e-12);
        // Filtered derivative tends to Kd/τ at high frequency.
        let c = LoopController::Pid {
            kp: 0.0,
            ki_per_s: 0.0,
            kd_s: 0.1,
            derivative_filter_s: 0.001,
        };
        assert!((c.response(1e6).norm() - 100.0).abs() < 0.01);
    }

    #[test]
    fn cascade_has_integrator_and_zero() {
        let c = LoopController::CascadePPi {
            position_kp_per_s: 10.0,
            velocity_kp: 1.0,
            velocity_ki_per_s: 0.0,
        };
        // (1)·(10 + jω): magnitude 10 at DC, phase 45° at ω = 10 rad/s.
        let f = 10.0 / std::f64::consts::TAU;
        assert!((c.response(f).arg().to_degrees() - 45.0).abs() < 1e-9);
    }
}
