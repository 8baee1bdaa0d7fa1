//! Known systems to test against: a seeded noise source and a discrete biquad whose
//! frequency response is known exactly.

use drivedeck_tune::Complex64;

/// Seeded Gaussian noise (Box–Muller over a 64-bit LCG).
pub struct Noise(pub u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal draw.
    pub fn gauss(&mut self) -> f64 {
        let (a, b) = (self.uniform(), self.uniform());
        (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
    }

    /// `n` draws scaled by `sigma`.
    pub fn series(&mut self, n: usize, sigma: f64) -> Vec<f64> {
        (0..n).map(|_| sigma * self.gauss()).collect()
    }
}

/// y[k] = b0·u[k] + b1·u[k−1] + b2·u[k−2] − a1·y[k−1] − a2·y[k−2].
pub struct Biquad {
    pub b: [f64; 3],
    pub a: [f64; 2],
}

impl Biquad {
    /// A second-order lag ωn²/(s² + 2ζωn·s + ωn²) discretised by Tustin at `fs`: the
    /// discrete filter is the truth (its response is [`Biquad::response`]).
    pub fn second_order(natural_hz: f64, zeta: f64, fs: f64) -> Self {
        let w = std::f64::consts::TAU * natural_hz;
        let k = 2.0 * fs;
        let d = k * k + 2.0 * zeta * w * k + w * w;
        let n = w * w / d;
        Self {
            b: [n, 2.0 * n, n],
            a: [
                (2.0 * w * w - 2.0 * k * k) / d,
                (k * k - 2.0 * zeta * w * k + w * w) / d,
            ],
        }
    }

    pub fn filter(&self, u: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; u.len()];
        for k in 0..u.len() {
            let at = |x: &[f64], j: usize| if k >= j { x[k - j] } else { 0.0 };
            y[k] = self.b[0] * u[k] + self.b[1] * at(u, 1) + self.b[2] * at(u, 2)
                - self.a[0] * at(&y, 1)
                - self.a[1] * at(&y, 2);
        }
        y
    }

    pub fn response(&self, freq_hz: f64, fs: f64) -> Complex64 {
        let z1 = Complex64::from_polar(1.0, -std::f64::consts::TAU * freq_hz / fs);
        let z2 = z1 * z1;
        (self.b[0] + self.b[1] * z1 + self.b[2] * z2) / (1.0 + self.a[0] * z1 + self.a[1] * z2)
    }
}

/// Wraps a phase difference into (−180°, 180°].
pub fn wrap_deg(d: f64) -> f64 {
    let w = (d + 180.0).rem_euclid(360.0) - 180.0;
    if w == -180.0 { 180.0 } else { w }
}
