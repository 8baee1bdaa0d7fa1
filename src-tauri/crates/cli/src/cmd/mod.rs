//! The CLI's subcommands, one per file.

pub mod bench;
pub mod bench_bus;
pub mod bench_estop;
pub mod bench_link;
pub mod export;
pub mod log;
pub mod ports;
pub mod scan;
pub mod sim;
