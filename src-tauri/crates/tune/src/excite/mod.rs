//! The excitations a tuning job plays, each a pure description evaluated at sample times
//! (`value_at(t_s)`) so the bus job and the analysis agree on the reference exactly:
//! - [`step`]: steps of a size and hold time, repeated up and down;
//! - [`ramp`]: a constant-rate ramp;
//! - [`chirp`]: a swept sine, linear or logarithmic, amplitude optionally falling with
//!   frequency;
//! - [`prbs`]: a maximal-length pseudo-random binary sequence;
//! - [`multisine`]: a sum of chosen tones with crest-factor-optimised phases;
//! - [`relay`]: the relay test's state machine, `next(error) -> output`.

pub mod chirp;
pub mod multisine;
pub mod prbs;
pub mod ramp;
pub mod relay;
pub mod step;

/// Samples an excitation at `samples` instants `k / sample_rate_hz`.
pub fn sample(value_at: impl Fn(f64) -> f64, sample_rate_hz: f64, samples: usize) -> Vec<f64> {
    (0..samples)
        .map(|k| value_at(k as f64 / sample_rate_hz))
        .collect()
}
