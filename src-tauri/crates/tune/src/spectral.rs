//! Welch-averaged spectral densities (after SciPy's `signal.welch`/`csd`).
//!
//! The record is cut into segments of `segment_len` samples overlapping by `overlap`
//! samples; each segment has its mean removed (detrend "constant"), is multiplied by the
//! window w and transformed, X_k = FFT(w·x_k). The one-sided density estimates are
//!
//! S_xy(f) = c(f) / (K · fs · Σw²) · Σ_k conj(X_k(f)) · Y_k(f)
//!
//! with c = 2 except at DC and (for even segment lengths) Nyquist, where c = 1, so that
//! ∫S_xx df equals the variance of x. The cross density uses SciPy's convention
//! (conj of the first argument), so S_xy / S_xx is the H1 estimate of y over x.
//! Assumptions: stationary signals, the record longer than one segment; the frequency
//! resolution is fs / segment_len.

use crate::{Complex64, TuneError};
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

/// The taper applied to each segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Window {
    /// Periodic Hann window, w[n] = 0.5 − 0.5·cos(2πn/N): the default (SciPy's too).
    #[default]
    Hann,
    /// No taper: lowest variance, most leakage.
    Rectangular,
}

impl Window {
    /// The window's N coefficients (periodic form, as for spectral analysis).
    pub fn coefficients(self, n: usize) -> Vec<f64> {
        match self {
            Window::Hann => (0..n)
                .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos())
                .collect(),
            Window::Rectangular => vec![1.0; n],
        }
    }
}

/// How a record is cut into segments for Welch averaging.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WelchConfig {
    /// Samples per segment (the FFT length); resolution is fs / `segment_len`.
    pub segment_len: usize,
    /// Samples shared by consecutive segments (50 % by default).
    pub overlap: usize,
    /// The taper.
    pub window: Window,
}

impl WelchConfig {
    /// Hann window, 50 % overlap, `segment_len` samples per segment.
    pub fn hann(segment_len: usize) -> Self {
        Self {
            segment_len,
            overlap: segment_len / 2,
            window: Window::Hann,
        }
    }

    /// A segment length for a record: the power of two giving a resolution of at most
    /// `resolution_hz` at `sample_rate_hz`, capped so that at least 8 segments (with 50 %
    /// overlap) fit in `samples` — the usual trade of resolution against variance.
    pub fn for_resolution(samples: usize, sample_rate_hz: f64, resolution_hz: f64) -> Self {
        let wanted = (sample_rate_hz / resolution_hz.max(f64::MIN_POSITIVE)).ceil() as usize;
        let cap = (2 * samples / 9).max(16);
        let mut n = 16usize;
        while n < wanted && n * 2 <= cap {
            n *= 2;
        }
        Self::hann(n)
    }

    /// Number of segments that fit in `samples`.
    pub fn segments(&self, samples: usize) -> usize {
        if samples < self.segment_len || self.segment_len == 0 {
            return 0;
        }
        (samples - self.segment_len) / (self.segment_len - self.overlap) + 1
    }
}

/// Welch spectra of one input against several outputs (an intermediate: the result
/// types built from it, in [`crate::frf`], are the ones kept and printed).
#[derive(Clone, Debug, PartialEq)]
pub struct CrossSpectra {
    /// Frequency of each bin, 0 … fs/2.
    pub freq_hz: Vec<f64>,
    /// Input auto density S_xx (units²/Hz).
    pub s_xx: Vec<f64>,
    /// Each output's auto density S_yy.
    pub s_yy: Vec<Vec<f64>>,
    /// Each output's cross density with the input, S_xy = E[conj(X)·Y].
    pub s_xy: Vec<Vec<Complex64>>,
    /// Segments averaged.
    pub segments: usize,
}

/// Welch auto density of one signal (SciPy `welch`, density scaling).
pub fn psd(
    x: &[f64],
    sample_rate_hz: f64,
    config: &WelchConfig,
) -> Result<(Vec<f64>, Vec<f64>), TuneError> {
    let s = cross_spectra(x, &[], sample_rate_hz, config)?;
    Ok((s.freq_hz, s.s_xx))
}

/// Welch auto and cross densities of `input` against each of `outputs`, in one pass (the
/// input's segment FFT is computed once and shared by all outputs).
pub fn cross_spectra(
    input: &[f64],
    outputs: &[&[f64]],
    sample_rate_hz: f64,
    config: &WelchConfig,
) -> Result<CrossSpectra, TuneError> {
    let n = config.segment_len;
    if n < 2 || config.overlap >= n {
        return Err(TuneError::InvalidParameter(format!(
            "segment_len {n} with overlap {}",
            config.overlap
        )));
    }
    if !sample_rate_hz.is_finite() || sample_rate_hz <= 0.0 {
        return Err(TuneError::InvalidParameter(format!(
            "sample rate {sample_rate_hz} Hz"
        )));
    }
    for y in outputs {
        if y.len() != input.len() {
            return Err(TuneError::LengthMismatch(input.len(), y.len()));
        }
    }
    let segments = config.segments(input.len());
    if segments == 0 {
        return Err(TuneError::TooShort {
            got: input.len(),
            need: n,
        });
    }
    let window = config.window.coefficients(n);
    let bins = n / 2 + 1;
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut buf = fft.make_input_vec();
    let mut scratch = fft.make_scratch_vec();
    let mut x_spec = fft.make_output_vec();
    let mut y_spec = fft.make_output_vec();
    let mut s_xx = vec![0.0; bins];
    let mut s_yy = vec![vec![0.0; bins]; outputs.len()];
    let mut s_xy = vec![vec![Complex64::new(0.0, 0.0); bins]; outputs.len()];
    let step = n - config.overlap;
    let transform = |seg: &[f64],
                     buf: &mut Vec<f64>,
                     out: &mut Vec<Complex64>,
                     scratch: &mut Vec<Complex64>| {
        let mean = seg.iter().sum::<f64>() / n as f64;
        for ((b, &v), &w) in buf.iter_mut().zip(seg).zip(&window) {
            *b = (v - mean) * w;
        }
        // Lengths come from the plan itself, so the transform cannot fail.
        let _ = fft.process_with_scratch(buf, out, scratch);
    };
    for k in 0..segments {
        let range = k * step..k * step + n;
        transform(&input[range.clone()], &mut buf, &mut x_spec, &mut scratch);
        for (acc, x) in s_xx.iter_mut().zip(&x_spec) {
            *acc += x.norm_sqr();
        }
        for (j, y) in outputs.iter().enumerate() {
            transform(&y[range.clone()], &mut buf, &mut y_spec, &mut scratch);
            for ((ayy, axy), (x, y)) in s_yy[j]
                .iter_mut()
                .zip(s_xy[j].iter_mut())
                .zip(x_spec.iter().zip(&y_spec))
            {
                *ayy += y.norm_sqr();
                *axy += x.conj() * y;
            }
        }
    }
    let norm = 1.0 / (segments as f64 * sample_rate_hz * window.iter().map(|w| w * w).sum::<f64>());
    let one_sided = |i: usize| {
        if i == 0 || (n.is_multiple_of(2) && i == bins - 1) {
            norm
        } else {
            2.0 * norm
        }
    };
    for (i, v) in s_xx.iter_mut().enumerate() {
        *v *= one_sided(i);
    }
    for j in 0..outputs.len() {
        for i in 0..bins {
            s_yy[j][i] *= one_sided(i);
            s_xy[j][i] *= one_sided(i);
        }
    }
    let freq_hz = (0..bins)
        .map(|i| i as f64 * sample_rate_hz / n as f64)
        .collect();
    Ok(CrossSpectra {
        freq_hz,
        s_xx,
        s_yy,
        s_xy,
        segments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_noise_density_integrates_to_variance() {
        let mut rng = 0x1234_5678_u64;
        let x: Vec<f64> = (0..65_536)
            .map(|_| {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((rng >> 11) as f64 / (1u64 << 53) as f64) - 0.5
            })
            .collect();
        let fs = 1000.0;
        let (f, s) = psd(&x, fs, &WelchConfig::hann(1024)).expect("psd");
        let df = f[1] - f[0];
        let power: f64 = s.iter().sum::<f64>() * df;
        let var = 1.0 / 12.0;
        assert!(
            (power / var - 1.0).abs() < 0.03,
            "power {power} vs variance {var}"
        );
        // White: flat at var / (fs/2).
        let mid = s[100..400].iter().sum::<f64>() / 300.0;
        assert!((mid / (var / (fs / 2.0)) - 1.0).abs() < 0.05);
    }

    #[test]
    fn sine_power_lands_in_its_bin() {
        let fs = 1000.0;
        let x: Vec<f64> = (0..8192)
            .map(|i| 2.0 * (std::f64::consts::TAU * 125.0 * i as f64 / fs).sin())
            .collect();
        let (f, s) = psd(&x, fs, &WelchConfig::hann(256)).expect("psd");
        let peak = s
            .iter()
            .enumerate()
            .fold((0, 0.0), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
        assert!((f[peak.0] - 125.0).abs() < 1e-9);
        let power: f64 = s.iter().sum::<f64>() * (f[1] - f[0]);
        assert!((power - 2.0).abs() < 0.02, "sine power {power}");
    }

    #[test]
    fn rejects_bad_input() {
        let cfg = WelchConfig::hann(64);
        assert_eq!(
            cross_spectra(&[0.0; 32], &[], 1.0, &cfg).unwrap_err(),
            TuneError::TooShort { got: 32, need: 64 }
        );
        assert_eq!(
            cross_spectra(&[0.0; 128], &[&[0.0; 127]], 1.0, &cfg).unwrap_err(),
            TuneError::LengthMismatch(128, 127)
        );
    }
}
