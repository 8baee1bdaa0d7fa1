//! What-if: an identified model ([`MechanicalModel`]) closed by a vendor's control law
//! ([`Law`] of a [`LoopStructure`]), in the frequency domain and in time.
//!
//! - Linear (small signal, Coulomb friction and the output cap left out): the plant from
//!   output to position `P(s) = g·e^(−s·τ) / (s·(s + a))` (to velocity: `s·P`), the
//!   controller sampled every control period `T` with its hold (`e^(−s·T/2)`). The
//!   position law's derivative acts on the measurement (the reference is played as goals,
//!   with no profile to differentiate), so `L = P·(Kp + Ki/s + Kd·s)` and
//!   `T = P·(Kp + Ki/s) / (1 + L)`; the velocity PI has `L = P_v·(Kp + Ki/s)`, `T = L/(1+L)`.
//! - In time: the controller runs every `T` on the held measurement, its output capped and
//!   its integral frozen while capped (anti-windup), delayed by τ; the plant with Coulomb
//!   and static friction is integrated in steps of `T/10`. The reference is any sampled
//!   signal (a recorded run's, or a step), held between its samples.

use crate::Complex64;
use crate::frf::FrequencyResponse;
use crate::identify::MechanicalModel;
use crate::loops::{Law, LoopKind};
use std::f64::consts::TAU;

/// The plant of an identified model: `dω/dt = g·u(t − τ) − a·ω − c·sign ω`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plant {
    /// g, rad/s² per unit of output.
    pub gain: f64,
    /// a, 1/s.
    pub damping_per_s: f64,
    /// c, rad/s².
    pub coulomb_accel: f64,
    /// τ, s.
    pub delay_s: f64,
}

impl From<&MechanicalModel> for Plant {
    fn from(m: &MechanicalModel) -> Plant {
        Plant {
            gain: m.gain.value,
            damping_per_s: m.damping_per_s.value,
            coulomb_accel: m.coulomb_accel.value.max(0.0),
            delay_s: m.delay_s,
        }
    }
}

/// A plant closed by a law.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClosedLoop {
    /// The mechanics.
    pub plant: Plant,
    /// The loop closed.
    pub kind: LoopKind,
    /// The gains in SI.
    pub law: Law,
    /// The controller's period, s.
    pub control_period_s: f64,
    /// The output's cap (1.0: 100 % PWM).
    pub output_cap: f64,
}

/// A simulated response.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Simulated {
    /// The response at each reference sample (rad, or rad/s for a velocity loop).
    pub response: Vec<f64>,
    /// The output at each reference sample.
    pub output: Vec<f64>,
    /// Samples at which the output was at its cap.
    pub saturated: usize,
}

impl ClosedLoop {
    fn s(freq_hz: f64) -> Complex64 {
        Complex64::new(0.0, TAU * freq_hz)
    }

    /// The plant's response at `freq_hz` (output → the loop's response), delays included.
    pub fn plant_response(&self, freq_hz: f64) -> Complex64 {
        let s = Self::s(freq_hz);
        let p = &self.plant;
        let delay = (-s * (p.delay_s + self.control_period_s / 2.0)).exp();
        let velocity = p.gain * delay / (s + p.damping_per_s);
        match self.kind {
            LoopKind::Position => velocity / s,
            LoopKind::Velocity => velocity,
        }
    }

    /// The feedback part of the controller, C_y(jω).
    fn feedback(&self, freq_hz: f64) -> Complex64 {
        feedback_law(self.kind, &self.law, freq_hz)
    }

    /// The reference part, C_r(jω): the derivative acts on the measurement only.
    fn forward(&self, freq_hz: f64) -> Complex64 {
        let s = Self::s(freq_hz);
        self.law.kp + self.law.ki / s
    }

    /// The open loop L(jω) at each frequency.
    pub fn open_loop(&self, freq_hz: &[f64]) -> FrequencyResponse {
        let l: Vec<Complex64> = freq_hz
            .iter()
            .map(|&f| self.plant_response(f) * self.feedback(f))
            .collect();
        FrequencyResponse::computed(freq_hz.to_vec(), &l)
    }

    /// The closed loop T(jω) (reference → response) at each frequency.
    pub fn closed_loop(&self, freq_hz: &[f64]) -> FrequencyResponse {
        let t: Vec<Complex64> = freq_hz
            .iter()
            .map(|&f| {
                let p = self.plant_response(f);
                p * self.forward(f) / (1.0 + p * self.feedback(f))
            })
            .collect();
        FrequencyResponse::computed(freq_hz.to_vec(), &t)
    }

    /// The response to `reference` sampled at `fs` Hz (held between samples), from rest
    /// at `start` (rad for a position loop; a velocity loop starts at standstill).
    pub fn simulate(&self, reference: &[f64], fs: f64, start: f64) -> Simulated {
        let n = reference.len();
        let mut out = Simulated {
            response: Vec::with_capacity(n),
            output: Vec::with_capacity(n),
            saturated: 0,
        };
        if n == 0 || fs <= 0.0 {
            return out;
        }
        let t_ctrl = self.control_period_s.max(1e-5);
        let h = t_ctrl / 10.0;
        let delay_ticks = (self.plant.delay_s / t_ctrl).round() as usize;
        let mut delayed = std::collections::VecDeque::from(vec![0.0; delay_ticks + 1]);
        let (g, a, c) = (
            self.plant.gain,
            self.plant.damping_per_s,
            self.plant.coulomb_accel,
        );
        let law = self.law;
        let (mut theta, mut omega) = (start, 0.0);
        let mut integral = 0.0;
        let (mut applied, mut commanded) = (0.0, 0.0);
        let mut next_tick = 0.0;
        let mut t = 0.0;
        let mut capped = false;
        for (k, _) in reference.iter().enumerate() {
            let t_sample = k as f64 / fs;
            while t < t_sample - 1e-12 {
                if t >= next_tick - 1e-12 {
                    let r = reference[((t * fs).floor() as usize).min(n - 1)];
                    let (error, rate) = match self.kind {
                        LoopKind::Position => (r - theta, -omega),
                        LoopKind::Velocity => (r - omega, 0.0),
                    };
                    let next = integral + error * t_ctrl;
                    let raw = law.kp * error + law.ki * next + law.kd * rate;
                    commanded = raw.clamp(-self.output_cap, self.output_cap);
                    capped = commanded != raw;
                    if !capped {
                        integral = next;
                    }
                    delayed.push_back(commanded);
                    applied = delayed.pop_front().unwrap_or(commanded);
                    next_tick += t_ctrl;
                }
                let dt = h.min(t_sample - t).max(1e-9);
                let push = g * applied - a * omega;
                if omega == 0.0 && push.abs() <= c {
                    // Static friction holds the shaft.
                } else {
                    let direction = if omega == 0.0 {
                        push.signum()
                    } else {
                        omega.signum()
                    };
                    let next = omega + dt * (push - c * direction);
                    omega = if omega != 0.0 && next.signum() != omega.signum() && push.abs() <= c {
                        0.0
                    } else {
                        next
                    };
                }
                theta += omega * dt;
                t += dt;
            }
            out.response.push(match self.kind {
                LoopKind::Position => theta,
                LoopKind::Velocity => omega,
            });
            out.output.push(commanded);
            if capped {
                out.saturated += 1;
            }
        }
        out
    }
}

/// The feedback part of `law` in a `kind` loop at `freq_hz`, C_y(jω) (the derivative on
/// the measurement), without the controller's hold.
pub fn feedback_law(kind: LoopKind, law: &Law, freq_hz: f64) -> Complex64 {
    let s = Complex64::new(0.0, TAU * freq_hz);
    match kind {
        LoopKind::Position => law.kp + law.ki / s + law.kd * s,
        LoopKind::Velocity => law.kp + law.ki / s,
    }
}

/// The open loop `L = P·C_y·e^(−s·T/2)` of a measured plant `plant` (output → the loop's
/// response) closed by `law` sampled every `control_period_s`.
pub fn measured_open_loop(
    plant: &FrequencyResponse,
    kind: LoopKind,
    law: &Law,
    control_period_s: f64,
) -> FrequencyResponse {
    let l: Vec<Complex64> = plant
        .freq_hz
        .iter()
        .enumerate()
        .map(|(i, &f)| {
            let hold = (-Complex64::new(0.0, TAU * f) * (control_period_s / 2.0)).exp();
            plant.at(i) * feedback_law(kind, law, f) * hold
        })
        .collect();
    let mut open = FrequencyResponse::from_complex(
        plant.freq_hz.clone(),
        &l,
        plant.coherence.clone(),
        plant.coherence_threshold,
    );
    open.trusted = plant.trusted.clone();
    open
}

/// `count` frequencies spaced logarithmically from `from_hz` to `to_hz`.
pub fn log_frequencies(from_hz: f64, to_hz: f64, count: usize) -> Vec<f64> {
    let count = count.max(2);
    let (lo, hi) = (from_hz.ln(), to_hz.ln());
    (0..count)
        .map(|k| (lo + (hi - lo) * k as f64 / (count - 1) as f64).exp())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::margins::bandwidth_hz;

    fn loop_of(kp: f64, kd: f64) -> ClosedLoop {
        ClosedLoop {
            plant: Plant {
                gain: 340.0,
                damping_per_s: 70.0,
                coulomb_accel: 0.0,
                delay_s: 0.0,
            },
            kind: LoopKind::Position,
            law: Law {
                kp,
                kd,
                ..Law::default()
            },
            control_period_s: 1e-4,
            output_cap: 1e9,
        }
    }

    #[test]
    fn a_pd_loop_is_the_second_order_its_poles_say() {
        // g·Kp = ωn², a + g·Kd = 2ζωn: ωn = 60 rad/s, ζ = 0.7071 → bandwidth = ωn.
        let wn: f64 = 60.0;
        let kp = wn * wn / 340.0;
        let kd = (2.0 * std::f64::consts::FRAC_1_SQRT_2 * wn - 70.0) / 340.0;
        let cl = loop_of(kp, kd);
        let f = log_frequencies(0.1, 100.0, 400);
        let bw = bandwidth_hz(&cl.closed_loop(&f)).unwrap();
        assert!((bw - wn / TAU).abs() / (wn / TAU) < 0.02, "{bw}");
        // In time: the step settles on the goal and overshoots by ~4.3 % (ζ = 0.707).
        let fs = 1000.0;
        let reference = vec![0.1; 2000];
        let sim = cl.simulate(&reference, fs, 0.0);
        let peak = sim.response.iter().cloned().fold(f64::MIN, f64::max);
        let overshoot = (peak - 0.1) / 0.1 * 100.0;
        assert!((overshoot - 4.3).abs() < 1.0, "{overshoot}");
        assert!((sim.response[1999] - 0.1).abs() < 1e-4);
    }

    #[test]
    fn the_cap_slows_a_large_step_and_friction_leaves_an_error() {
        let mut cl = loop_of(5.0, 0.0);
        cl.output_cap = 0.2;
        let reference = vec![1.0; 3000];
        let free = loop_of(5.0, 0.0).simulate(&reference, 1000.0, 0.0);
        let capped = cl.simulate(&reference, 1000.0, 0.0);
        assert!(capped.saturated > 10);
        assert!(capped.response[100] < free.response[100]);
        cl.output_cap = 1.0;
        cl.plant.coulomb_accel = 50.0;
        let stuck = cl.simulate(&reference, 1000.0, 0.0);
        // Friction holds the shaft once Kp·e·g falls to c: e = c/(g·Kp) ≈ 0.029 rad.
        let error = 1.0 - stuck.response[2999];
        assert!((error - 50.0 / (340.0 * 5.0)).abs() < 0.01, "{error}");
    }
}
