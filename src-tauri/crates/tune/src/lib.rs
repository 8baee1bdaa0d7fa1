//! DriveDeck's tuning maths: a tuning run (a `reference` channel beside response
//! channels) in, results out. Pure: no I/O, no clocks, arrays in and serde result types
//! out, units in the names (`_s`, `_hz`, `_db`, `_deg`, `_rad`).
//!
//! Layout:
//! - [`excite`]: the excitations a tuning job plays (step, ramp, chirp, PRBS, multisine)
//!   and the relay state machine of the relay test;
//! - [`step`]: step-response metrics against the step asked for and against the
//!   trajectory the drive actually followed;
//! - [`spectral`]: Welch-averaged auto and cross spectral densities;
//! - [`frf`]: H1 frequency-response estimate, coherence and its mask, and the closed-loop
//!   joint input–output estimate of T, P, S;
//! - [`controller`]: C(jω) of the drive's loop structures from gains in SI units;
//! - [`margins`]: gain, phase and delay margins, peak sensitivity Ms and −3 dB bandwidth
//!   from sampled frequency-response data;
//! - [`identify`]: a low-order mechanical model (gain, damping, Coulomb friction, delay)
//!   fitted by least squares, with confidence intervals and a fit quality;
//! - [`loops`]: the vendors' loop structures, their gain registers in SI;
//! - [`predict`]: what-if: an identified model closed by a law, as T, L and in time;
//! - [`suggest`]: gains for a bandwidth or phase-margin target by pole placement;
//! - [`passive`]: a step response deconvolved from ordinary operation (no test run);
//! - [`relay`]: ultimate gain and period from a relay test's recorded oscillation;
//! - [`observe`]: the frequency range a link can observe given its sample rate and
//!   timing jitter.

pub mod controller;
pub mod excite;
pub mod frf;
pub mod identify;
pub mod loops;
pub mod margins;
pub mod observe;
pub mod passive;
pub mod predict;
pub mod relay;
pub mod spectral;
pub mod step;
pub mod suggest;

pub use realfft::num_complex::Complex64;

/// What a tuning computation refused to compute, and why.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TuneError {
    /// Channels that must be sampled together have different lengths.
    #[error("channel lengths differ: {0} and {1} samples")]
    LengthMismatch(usize, usize),
    /// Too few samples for the requested estimate.
    #[error("too few samples: {got}, need at least {need}")]
    TooShort {
        /// Samples given.
        got: usize,
        /// Samples needed.
        need: usize,
    },
    /// A parameter is out of its valid range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// The data cannot give what was asked (a model from a shaft that never moved).
    #[error("{0}")]
    Invalid(String),
}
