//! The engine's side of tuning runs: safe default tests for a drive ([`defaults`]) and
//! what is computed from a run's readings ([`analysis`]). Both are pure; the API starts
//! runs on the bus, reads their channels from the store and keeps the results there.

pub mod analysis;
pub mod defaults;

pub use analysis::{RunData, analyse};
pub use defaults::default_tests;
