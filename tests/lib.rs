//! DriveDeck's end-to-end tests.
//!
//! - `engine_sim.rs`: the engine, headless, against simulated drives on a real
//!   pseudo-terminal, with the store on a real SQLite file.
//! - `ui/window.test.mjs`: the real app window under Xvfb, driven through WebDriver
//!   (run by `cargo xtask test`).
