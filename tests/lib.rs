//! DriveDeck's end-to-end tests.
//!
//! - `engine_sim.rs`: the engine, headless, against simulated drives on a real
//!   pseudo-terminal, with the store on a real SQLite file.
//! - `params.rs`: parameter jobs (read, write, backup, restore, save, clear fault) against
//!   the simulator, their snapshots in the store.
//! - `ui/window.test.mjs`: the real app window under Xvfb, driven through WebDriver
//!   (run by `cargo xtask test`).
