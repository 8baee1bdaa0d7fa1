//! The engine's side of tuning runs: safe default tests for a drive ([`defaults`]),
//! what is computed from a run's readings ([`analysis`]), its mechanics identified
//! ([`model`]), gains predicted on the model and suggested ([`whatif`]) runs compared ([`compare`]), a step response from ordinary operation ([`passive`]) and a run's report as files ([`report`]). They do no bus or store work of their own: the API starts runs on the
//! bus, reads their channels from the store and keeps the results there.

pub mod analysis;
pub mod compare;
pub mod compare_report;
pub mod defaults;
pub mod model;
pub mod passive;
pub mod report;
pub mod whatif;

pub use analysis::{RunData, analyse};
pub use defaults::default_tests;
