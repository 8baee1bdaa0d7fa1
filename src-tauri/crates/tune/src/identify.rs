//! Identification: a low-order mechanical model fitted by least squares from a run.
//!
//! The model is what a drive's output does to its shaft, seen at the output:
//!
//! ```text
//! dω/dt = g·u(t − τ) − a·ω − c·sign(ω)
//! ```
//!
//! with `u` the drive's output (a PWM fraction, or a current in A), ω the velocity (rad/s),
//! `g` the gain from output to acceleration (rad/s² per unit of output), `a` the viscous
//! damping over the inertia (1/s; with a PWM output the motor's back-EMF damps too, and is
//! in it), `c` the Coulomb friction over the inertia (rad/s²) and τ a pure delay. With the
//! torque one unit of output gives (a datasheet figure: the stall torque for a PWM
//! fraction of 1, the torque constant for a current), the model is in physical units:
//! J = T₁/g, B = a·J, τc = c·J ([`MechanicalModel::physical`]).
//!
//! The fit is the equation-error least squares of the model integrated over short,
//! non-overlapping windows (`ω(t+w) − ω(t) = ∫ g·u − a·ω − c·sign ω dt`: the output held
//! from one reading to the next, the velocity by trapezoids), which
//! needs no differentiated velocity (whose quantisation noise would swamp it). Windows in
//! which the shaft comes near standstill are left out: there static friction holds it and
//! the Coulomb term does not apply. The delay is the whole number of samples, up to a
//! limit, whose fit leaves the least residual. The confidence intervals are the usual
//! 95 % ones from the residual variance and (XᵀX)⁻¹; the fit quality is how well the
//! model, driven by the recorded output alone, reproduces the recorded velocity
//! (`fit_pct`, the NRMSE fit: 100 % is exact, 0 % no better than the mean).
//!
//! What the fit cannot separate is said rather than guessed: a run in which the output
//! never moves the shaft, or too few windows, is refused with the reason.

use crate::TuneError;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How the fit is made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IdentifyConfig {
    /// The length of one integration window, s.
    pub window_s: f64,
    /// The longest delay tried, s.
    pub max_delay_s: f64,
    /// Windows in which |ω| falls below this (rad/s) are left out.
    pub min_speed: f64,
}

impl Default for IdentifyConfig {
    fn default() -> IdentifyConfig {
        IdentifyConfig {
            window_s: 0.01,
            max_delay_s: 0.02,
            min_speed: 0.05,
        }
    }
}

/// An estimate and the half-width of its 95 % confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Half the width of its 95 % confidence interval (same unit).
    pub ci95: f64,
}

/// The fitted model, per unit of the drive's output. See the module docs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct MechanicalModel {
    /// g: acceleration per unit of output, rad/s².
    pub gain: Estimate,
    /// a: viscous damping over inertia, 1/s (B/J).
    pub damping_per_s: Estimate,
    /// c: Coulomb friction over inertia, rad/s² (τc/J).
    pub coulomb_accel: Estimate,
    /// τ: the delay from output to acceleration, s.
    pub delay_s: f64,
    /// τ in samples.
    pub delay_samples: usize,
    /// The sample rate the fit was made at, Hz.
    pub sample_rate_hz: f64,
    /// How well the model driven by the recorded output reproduces the velocity, %.
    pub fit_pct: f64,
    /// R² of the equation fit.
    pub r_squared: f64,
    /// Windows (equations) the fit used.
    pub windows: usize,
}

/// The model in physical units, given the torque one unit of output gives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct PhysicalModel {
    /// The torque per unit of output this rests on, N·m.
    pub torque_per_output: f64,
    /// J, kg·m².
    pub inertia: Estimate,
    /// B, N·m·s/rad (back-EMF damping included with a PWM output).
    pub viscous: Estimate,
    /// τc, N·m.
    pub coulomb: Estimate,
}

impl MechanicalModel {
    /// The model in physical units when one unit of output gives `torque_per_output`
    /// N·m (the stall torque for a PWM fraction, the torque constant for amperes).
    pub fn physical(&self, torque_per_output: f64) -> PhysicalModel {
        let g = self.gain.value;
        let j = torque_per_output / g;
        // First order: δJ/J = δg/g.
        let inertia = Estimate {
            value: j,
            ci95: j * self.gain.ci95 / g.abs(),
        };
        let with_j = |e: Estimate| {
            let value = e.value * j;
            let rel = (e.ci95 / e.value.abs().max(f64::MIN_POSITIVE)).hypot(inertia.ci95 / j);
            Estimate {
                value,
                ci95: value.abs() * rel,
            }
        };
        PhysicalModel {
            torque_per_output,
            inertia,
            viscous: with_j(self.damping_per_s),
            coulomb: with_j(self.coulomb_accel),
        }
    }

    /// The velocity the model gives when driven by `output` sampled at the fit's rate,
    /// starting from `v0` (the shaft held by static friction while the drive's push does
    /// not exceed it).
    pub fn simulate_velocity(&self, output: &[f64], v0: f64) -> Vec<f64> {
        let dt = 1.0 / self.sample_rate_hz;
        let (g, a, c) = (
            self.gain.value,
            self.damping_per_s.value,
            self.coulomb_accel.value,
        );
        let mut v = v0;
        let mut out = Vec::with_capacity(output.len());
        for k in 0..output.len() {
            out.push(v);
            let u = if k >= self.delay_samples {
                output[k - self.delay_samples]
            } else {
                output[0]
            };
            let push = g * u - a * v;
            if v == 0.0 && push.abs() <= c {
                continue;
            }
            let direction = if v == 0.0 { push.signum() } else { v.signum() };
            let next = v + dt * (push - c * direction);
            // Friction alone does not reverse the shaft.
            v = if v != 0.0 && next.signum() != v.signum() && push.abs() <= c {
                0.0
            } else {
                next
            };
        }
        out
    }
}

/// Fits the model to `output` and `velocity` sampled together at `fs` Hz.
pub fn identify(
    output: &[f64],
    velocity: &[f64],
    fs: f64,
    config: &IdentifyConfig,
) -> Result<MechanicalModel, TuneError> {
    if output.len() != velocity.len() {
        return Err(TuneError::LengthMismatch(output.len(), velocity.len()));
    }
    if !(fs.is_finite() && fs > 0.0) {
        return Err(TuneError::Invalid(format!("sample rate {fs} Hz")));
    }
    if output.iter().chain(velocity).any(|x| !x.is_finite()) {
        return Err(TuneError::Invalid(
            "the output or the velocity has gaps (not read in every sample)".into(),
        ));
    }
    let dt = 1.0 / fs;
    let m = ((config.window_s * fs).round() as usize).max(2);
    let max_delay = (config.max_delay_s * fs).round().max(0.0) as usize;
    let sign = |v: f64| if v == 0.0 { 0.0 } else { v.signum() };
    // The windows in motion and their velocity and friction integrals: the same for
    // every delay tried; only the output's integral moves with the delay.
    let mut windows = Vec::new();
    let mut i = max_delay;
    while i + m < velocity.len() {
        let window = &velocity[i..=i + m];
        if window.iter().all(|v| v.abs() >= config.min_speed)
            && window.iter().all(|v| sign(*v) == sign(window[0]))
        {
            let trap = |f: &dyn Fn(usize) -> f64| {
                (i..i + m).map(|j| 0.5 * (f(j) + f(j + 1))).sum::<f64>() * dt
            };
            windows.push((
                i,
                -trap(&|j| velocity[j]),
                -trap(&|j| sign(velocity[j])),
                velocity[i + m] - velocity[i],
            ));
        }
        i += m;
    }
    // Running sums of the output: a window's integral is a difference of two.
    let mut sums = Vec::with_capacity(output.len() + 1);
    sums.push(0.0);
    for u in output {
        sums.push(sums[sums.len() - 1] + u);
    }
    let y: Vec<f64> = windows.iter().map(|w| w.3).collect();
    let mut best: Option<(f64, usize, Fit)> = None;
    for delay in 0..=max_delay {
        // The output holds from one reading to the next (a drive updates its PWM or
        // current once per control period): rectangles, not trapezoids.
        let rows: Vec<[f64; 3]> = windows
            .iter()
            .map(|&(i, v, s, _)| [(sums[i + m - delay] - sums[i - delay]) * dt, v, s])
            .collect();
        let Some(fit) = least_squares(&rows, &y) else {
            continue;
        };
        if best.as_ref().is_none_or(|(rss, _, _)| fit.rss < *rss) {
            best = Some((fit.rss, delay, fit));
        }
    }
    let Some((_, delay, fit)) = best else {
        return Err(TuneError::Invalid(
            "too few stretches of motion to fit a model (the shaft must keep moving for a \
             window at a time, in one direction, with the output varying)"
                .into(),
        ));
    };
    if !(fit.theta[0].is_finite() && fit.theta[0] > 0.0) {
        return Err(TuneError::Invalid(format!(
            "the fit gives no positive gain from output to acceleration ({:.3})",
            fit.theta[0]
        )));
    }
    let estimate = |k: usize| Estimate {
        value: fit.theta[k],
        ci95: 1.96 * fit.variance[k].max(0.0).sqrt(),
    };
    let mut model = MechanicalModel {
        gain: estimate(0),
        damping_per_s: estimate(1),
        coulomb_accel: estimate(2),
        delay_s: delay as f64 * dt,
        delay_samples: delay,
        sample_rate_hz: fs,
        fit_pct: 0.0,
        r_squared: fit.r_squared,
        windows: fit.n,
    };
    let simulated = model.simulate_velocity(output, velocity[0]);
    model.fit_pct = fit_pct(velocity, &simulated);
    Ok(model)
}

/// The NRMSE fit of `model` to `measured`, %.
pub fn fit_pct(measured: &[f64], model: &[f64]) -> f64 {
    let n = measured.len().min(model.len());
    if n == 0 {
        return 0.0;
    }
    let mean = measured[..n].iter().sum::<f64>() / n as f64;
    let err: f64 = (0..n).map(|k| (measured[k] - model[k]).powi(2)).sum();
    let spread: f64 = measured[..n].iter().map(|x| (x - mean).powi(2)).sum();
    if spread <= 0.0 {
        return 0.0;
    }
    100.0 * (1.0 - (err / spread).sqrt())
}

/// A least-squares solution with what its intervals need.
struct Fit {
    theta: [f64; 3],
    variance: [f64; 3],
    rss: f64,
    r_squared: f64,
    n: usize,
}

/// Solves `rows · θ ≈ y` (SVD), with the parameters' variances from the residuals.
fn least_squares(rows: &[[f64; 3]], y: &[f64]) -> Option<Fit> {
    let n = rows.len();
    if n < 12 {
        return None;
    }
    let x = DMatrix::from_fn(n, 3, |r, c| rows[r][c]);
    let yv = DVector::from_column_slice(y);
    // Columns of very different sizes: scale them to unit norm for the solve.
    let norms: Vec<f64> = (0..3).map(|c| x.column(c).norm().max(1e-300)).collect();
    let xs = DMatrix::from_fn(n, 3, |r, c| x[(r, c)] / norms[c]);
    let svd = xs.clone().svd(true, true);
    let smallest = svd.singular_values.min();
    if smallest.is_nan() || smallest <= 1e-9 * svd.singular_values.max() {
        return None;
    }
    let scaled = svd.solve(&yv, 1e-12).ok()?;
    let residual = &yv - &xs * &scaled;
    let rss = residual.norm_squared();
    let sigma2 = rss / (n - 3) as f64;
    let inverse = (xs.transpose() * &xs).try_inverse()?;
    let mean = yv.mean();
    let tss: f64 = yv.iter().map(|v| (v - mean).powi(2)).sum();
    let mut theta = [0.0; 3];
    let mut variance = [0.0; 3];
    for c in 0..3 {
        theta[c] = scaled[c] / norms[c];
        variance[c] = sigma2 * inverse[(c, c)] / (norms[c] * norms[c]);
    }
    Some(Fit {
        theta,
        variance,
        rss,
        r_squared: if tss > 0.0 { 1.0 - rss / tss } else { 0.0 },
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shaft driven by `u` through the model's equation, integrated finely, sampled at
    /// `fs` with its velocity quantised to `lsb` — the truth a fit must find.
    fn plant(u: &[f64], fs: f64, g: f64, a: f64, c: f64, delay: usize, lsb: f64) -> Vec<f64> {
        let sub = 20;
        let h = 1.0 / fs / f64::from(sub);
        let mut v: f64 = 0.0;
        let mut out = Vec::with_capacity(u.len());
        for k in 0..u.len() {
            out.push((v / lsb).round() * lsb);
            let uk = if k >= delay { u[k - delay] } else { 0.0 };
            for _ in 0..sub {
                let push = g * uk - a * v;
                if v == 0.0 && push.abs() <= c {
                    continue;
                }
                let dir = if v == 0.0 { push.signum() } else { v.signum() };
                let next = v + h * (push - c * dir);
                v = if v != 0.0 && next.signum() != v.signum() && push.abs() <= c {
                    0.0
                } else {
                    next
                };
            }
        }
        out
    }

    /// A PRBS-like output around a bias, so the shaft keeps turning one way mostly.
    fn excitation(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        let mut level = 0.3;
        (0..n)
            .map(|k| {
                if k % 40 == 0 {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    level = 0.25 + 0.2 * ((state % 1000) as f64 / 1000.0);
                    if state.is_multiple_of(7) {
                        level = -level;
                    }
                }
                level
            })
            .collect()
    }

    #[test]
    fn a_known_shaft_is_found_with_its_delay() {
        let fs = 1000.0;
        let u = excitation(20_000, 0x9E37_79B9);
        // XM430-like: g 341 rad/s² per unit, a 71/s, c 4.2 rad/s², 3 samples late.
        let v = plant(&u, fs, 341.0, 71.0, 4.2, 3, 0.024);
        let model = identify(&u, &v, fs, &IdentifyConfig::default()).expect("a model");
        assert_eq!(model.delay_samples, 3, "{model:?}");
        assert!((model.gain.value / 341.0 - 1.0).abs() < 0.03, "{model:?}");
        assert!(
            (model.damping_per_s.value / 71.0 - 1.0).abs() < 0.03,
            "{model:?}"
        );
        assert!(
            (model.coulomb_accel.value / 4.2 - 1.0).abs() < 0.15,
            "{model:?}"
        );
        // The intervals hold the truth and are narrow.
        assert!((model.gain.value - 341.0).abs() <= 3.0 * model.gain.ci95.max(1.0));
        assert!(model.gain.ci95 < 0.05 * 341.0, "{model:?}");
        assert!(model.fit_pct > 90.0, "{model:?}");
        // In physical units with the XM430's 4.1 N·m stall torque: J = 4.1 / 341.
        let physical = model.physical(4.1);
        assert!((physical.inertia.value / (4.1 / 341.0) - 1.0).abs() < 0.03);
        assert!((physical.viscous.value / (71.0 * 4.1 / 341.0) - 1.0).abs() < 0.05);
    }

    #[test]
    fn a_shaft_that_never_moves_or_mismatched_channels_are_refused() {
        let u = vec![0.01; 5000];
        let still = vec![0.0; 5000];
        let err = identify(&u, &still, 1000.0, &IdentifyConfig::default()).expect_err("refused");
        assert!(
            err.to_string().contains("too few stretches of motion"),
            "{err}"
        );
        let err = identify(&u, &still[..10], 1000.0, &IdentifyConfig::default()).expect_err("x");
        assert_eq!(err, TuneError::LengthMismatch(5000, 10));
        let mut gap = u.clone();
        gap[7] = f64::NAN;
        assert!(identify(&gap, &still, 1000.0, &IdentifyConfig::default()).is_err());
    }

    #[test]
    fn the_fit_quality_is_100_for_an_exact_model_and_0_for_the_mean() {
        let measured = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(fit_pct(&measured, &measured), 100.0);
        assert!(fit_pct(&measured, &[2.5; 4]).abs() < 1e-12);
    }
}
