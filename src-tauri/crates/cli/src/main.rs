//! `drivedeck-cli`: DriveDeck without a window.
//!
//! One subcommand per file under `cmd/`, each with its arguments (`Args`) and its `run`.
//! `sim` (serve a simulated rig on a pseudo-terminal), `ports` (list serial ports),
//! `scan` (find the drives on a port), `log` (record a session headless), `estop`
//! (stop every drive on a port), `setup-id` (give the one servo on a port its ID), `export`
//! (CSV/PNG/SVG of a session), `bench` (measured figures), `tune` (tuning tests and their
//! analysis). No webview is linked into
//! this binary.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// DriveDeck without a window: simulator, discovery, headless logging, exports, benchmarks.
#[derive(Parser)]
#[command(name = "drivedeck-cli", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Serve simulated drives on a pseudo-terminal until killed.
    Sim(cmd::sim::Args),
    /// List the serial ports, with their USB identities.
    Ports(cmd::ports::Args),
    /// Find the drives on a serial port: protocols × baud rates × IDs.
    Scan(cmd::scan::Args),
    /// Record a session from drives on a serial port, headless.
    Log(cmd::log::Args),
    /// Stop every drive on a serial port with its safe stop (torque off, quick stop).
    Estop(cmd::estop::Args),
    /// Export a recorded session as CSV, PNG or SVG.
    Export(cmd::export::Args),
    /// Print measured figures (`bench store`).
    Bench(cmd::bench::Args),
    /// Give the one servo on a port its ID (and baud rate): bus set-up, one servo at a time.
    SetupId(cmd::setup_id::Args),
    /// Run a tuning test (step, ramp, chirp, PRBS, multisine, relay) or analyse a run again.
    Tune(Box<cmd::tune::Args>),
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Commands::Sim(args) => cmd::sim::run(args),
        Commands::Ports(args) => cmd::ports::run(args),
        Commands::Scan(args) => cmd::scan::run(args),
        Commands::Log(args) => cmd::log::run(args),
        Commands::Estop(args) => cmd::estop::run(args),
        Commands::Export(args) => cmd::export::run(args),
        Commands::Bench(args) => cmd::bench::run(args),
        Commands::Tune(args) => cmd::tune::run(*args),
        Commands::SetupId(args) => cmd::setup_id::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drivedeck-cli: {e:#}");
            ExitCode::FAILURE
        }
    }
}
