//! Frequency-response estimates from Welch spectra: H1, coherence and its mask, and the
//! closed-loop joint input–output estimate.
//!
//! **H1**: Ĥ(f) = S_xy(f) / S_xx(f). Unbiased when the noise is on the output only and
//! uncorrelated with the input x.
//!
//! **Coherence**: γ²(f) = |S_xy|² / (S_xx·S_yy), in [0, 1]. With output noise n
//! uncorrelated with x, γ² = S_yy,clean / (S_yy,clean + S_nn): the share of the output
//! explained linearly by the input. Bins with γ² below the threshold are *masked*: kept
//! and shown, with [`FrequencyResponse::trusted`] false.
//!
//! **Closed loop, joint input–output** (reference r injected at the setpoint, noise n on
//! the measured output y, loop u = C·(r − y), y = P·u + n):
//!
//! - u = C/(1+PC)·r − C/(1+PC)·n and y = PC/(1+PC)·r + 1/(1+PC)·n;
//! - r is uncorrelated with n, so S_ry/S_rr = PC/(1+PC) = **T** (complementary
//!   sensitivity) and S_ru/S_rr = C/(1+PC) = C·S (r → u, the control sensitivity);
//! - hence **P** = T/(C·S) = S_ry/S_ru, the ratio of two unbiased estimates, needing no
//!   knowledge of C; **S** = 1 − T = (S_ru/S_rr)/C; **L** = P·C and S = 1/(1+L).
//!
//! The *direct* estimate S_uy/S_uu is biased in closed loop because u carries the fed-back
//! noise: where noise dominates it tends to −1/C instead of P (see the tests).

use crate::spectral::{CrossSpectra, WelchConfig, cross_spectra};
use crate::{Complex64, TuneError};
use serde::{Deserialize, Serialize};

/// A sampled frequency response with its coherence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct FrequencyResponse {
    /// Frequency of each point.
    pub freq_hz: Vec<f64>,
    /// Real part of the response.
    pub re: Vec<f64>,
    /// Imaginary part of the response.
    pub im: Vec<f64>,
    /// Magnitude, 20·log10|H|.
    pub magnitude_db: Vec<f64>,
    /// Phase, unwrapped along frequency.
    pub phase_deg: Vec<f64>,
    /// Coherence γ² of the estimate at each point (1 for computed responses).
    pub coherence: Vec<f64>,
    /// The threshold the mask used.
    pub coherence_threshold: f64,
    /// Whether each point is trusted (γ² ≥ threshold); untrusted points are kept, shown.
    pub trusted: Vec<bool>,
}

impl FrequencyResponse {
    /// Builds a response from complex values, unwrapping the phase along frequency.
    pub fn from_complex(
        freq_hz: Vec<f64>,
        h: &[Complex64],
        coherence: Vec<f64>,
        threshold: f64,
    ) -> Self {
        let magnitude_db = h.iter().map(|v| 20.0 * v.norm().log10()).collect();
        let phase_deg = unwrap_rad(&h.iter().map(|v| v.arg()).collect::<Vec<_>>())
            .into_iter()
            .map(f64::to_degrees)
            .collect();
        let trusted = coherence.iter().map(|&g| g >= threshold).collect();
        Self {
            freq_hz,
            re: h.iter().map(|v| v.re).collect(),
            im: h.iter().map(|v| v.im).collect(),
            magnitude_db,
            phase_deg,
            coherence,
            coherence_threshold: threshold,
            trusted,
        }
    }

    /// A computed (model) response: coherence 1 everywhere.
    pub fn computed(freq_hz: Vec<f64>, h: &[Complex64]) -> Self {
        let ones = vec![1.0; h.len()];
        Self::from_complex(freq_hz, h, ones, 0.0)
    }

    /// The complex response at point `i`.
    pub fn at(&self, i: usize) -> Complex64 {
        Complex64::new(self.re[i], self.im[i])
    }

    /// All complex values.
    pub fn complex(&self) -> Vec<Complex64> {
        (0..self.re.len()).map(|i| self.at(i)).collect()
    }
}

/// Unwraps a phase sequence (radians) so consecutive values differ by less than π.
pub fn unwrap_rad(phase_rad: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(phase_rad.len());
    let mut offset = 0.0;
    for (i, &p) in phase_rad.iter().enumerate() {
        if i > 0 {
            let d: f64 = p + offset - out[i - 1];
            offset -= std::f64::consts::TAU * (d / std::f64::consts::TAU).round();
        }
        out.push(p + offset);
    }
    out
}

/// Coherence γ² = |S_xy|²/(S_xx·S_yy), 0 where either density vanishes.
pub fn coherence(s_xx: &[f64], s_yy: &[f64], s_xy: &[Complex64]) -> Vec<f64> {
    s_xx.iter()
        .zip(s_yy)
        .zip(s_xy)
        .map(|((&a, &b), c)| {
            if a > 0.0 && b > 0.0 {
                (c.norm_sqr() / (a * b)).min(1.0)
            } else {
                0.0
            }
        })
        .collect()
}

/// H1 = S_xy/S_xx with coherence for each output, from precomputed spectra. The DC bin
/// (removed by detrending) is dropped.
pub fn h1_from_spectra(spectra: &CrossSpectra, coherence_threshold: f64) -> Vec<FrequencyResponse> {
    let freq = spectra.freq_hz[1..].to_vec();
    spectra
        .s_xy
        .iter()
        .zip(&spectra.s_yy)
        .map(|(s_xy, s_yy)| {
            let h: Vec<Complex64> = s_xy[1..]
                .iter()
                .zip(&spectra.s_xx[1..])
                .map(|(c, &a)| c / a)
                .collect();
            let g = coherence(&spectra.s_xx[1..], &s_yy[1..], &s_xy[1..]);
            FrequencyResponse::from_complex(freq.clone(), &h, g, coherence_threshold)
        })
        .collect()
}

/// Welch H1 estimate with coherence of each output against one input.
pub fn h1(
    input: &[f64],
    outputs: &[&[f64]],
    sample_rate_hz: f64,
    config: &WelchConfig,
    coherence_threshold: f64,
) -> Result<Vec<FrequencyResponse>, TuneError> {
    let spectra = cross_spectra(input, outputs, sample_rate_hz, config)?;
    Ok(h1_from_spectra(&spectra, coherence_threshold))
}

/// The closed-loop joint input–output estimate (see the module doc).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ClosedLoopEstimate {
    /// T = S_ry/S_rr, coherence of r with y.
    pub complementary_sensitivity: FrequencyResponse,
    /// C·S = S_ru/S_rr (reference to control effort), coherence of r with u.
    pub control_sensitivity: FrequencyResponse,
    /// P = S_ry/S_ru; trusted where both coherences pass, coherence the smaller one.
    pub plant: FrequencyResponse,
    /// S = 1 − T.
    pub sensitivity: FrequencyResponse,
}

/// Estimates T, C·S, P and S from a closed-loop run with a known injected reference `r`,
/// the control effort `u` (current/torque command) and the measured output `y`.
pub fn closed_loop(
    reference: &[f64],
    effort: &[f64],
    output: &[f64],
    sample_rate_hz: f64,
    config: &WelchConfig,
    coherence_threshold: f64,
) -> Result<ClosedLoopEstimate, TuneError> {
    let spectra = cross_spectra(reference, &[output, effort], sample_rate_hz, config)?;
    let mut both = h1_from_spectra(&spectra, coherence_threshold).into_iter();
    let (Some(t), Some(cs)) = (both.next(), both.next()) else {
        return Err(TuneError::InvalidParameter("two outputs expected".into()));
    };
    let freq = t.freq_hz.clone();
    let p: Vec<Complex64> = t
        .complex()
        .iter()
        .zip(cs.complex())
        .map(|(a, b)| a / b)
        .collect();
    let g: Vec<f64> = t
        .coherence
        .iter()
        .zip(&cs.coherence)
        .map(|(a, b)| a.min(*b))
        .collect();
    let s: Vec<Complex64> = t
        .complex()
        .iter()
        .map(|v| Complex64::new(1.0, 0.0) - v)
        .collect();
    Ok(ClosedLoopEstimate {
        plant: FrequencyResponse::from_complex(freq.clone(), &p, g, coherence_threshold),
        sensitivity: FrequencyResponse::from_complex(
            freq,
            &s,
            t.coherence.clone(),
            coherence_threshold,
        ),
        complementary_sensitivity: t,
        control_sensitivity: cs,
    })
}

/// L = P·C from an estimated plant and the controller's response at the same points.
pub fn open_loop(plant: &FrequencyResponse, controller: &[Complex64]) -> FrequencyResponse {
    let l: Vec<Complex64> = plant
        .complex()
        .iter()
        .zip(controller)
        .map(|(p, c)| p * c)
        .collect();
    FrequencyResponse::from_complex(
        plant.freq_hz.clone(),
        &l,
        plant.coherence.clone(),
        plant.coherence_threshold,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwrap_removes_jumps() {
        let p = [3.0, -3.0, -2.9, 3.1];
        let u = unwrap_rad(&p);
        for w in u.windows(2) {
            assert!((w[1] - w[0]).abs() < std::f64::consts::PI);
        }
        assert!((u[1] - (-3.0 + std::f64::consts::TAU)).abs() < 1e-12);
    }

    #[test]
    fn pure_gain_and_delay_is_recovered() {
        let fs = 1000.0;
        let mut rng = 7u64;
        let x: Vec<f64> = (0..20_000)
            .map(|_| {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (rng >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect();
        let y: Vec<f64> = (0..x.len())
            .map(|i| if i >= 3 { 2.0 * x[i - 3] } else { 0.0 })
            .collect();
        let h = &h1(&x, &[&y], fs, &WelchConfig::hann(512), 0.9).expect("h1")[0];
        for i in 0..h.freq_hz.len() {
            assert!(
                (h.magnitude_db[i] - 20.0 * 2f64.log10()).abs() < 0.1,
                "bin {i}"
            );
            let want = -360.0 * h.freq_hz[i] * 3.0 / fs;
            assert!(
                (h.phase_deg[i] - want).abs() < 1.0,
                "bin {i}: {} vs {want}",
                h.phase_deg[i]
            );
            assert!(h.coherence[i] > 0.99 && h.trusted[i]);
        }
    }
}
