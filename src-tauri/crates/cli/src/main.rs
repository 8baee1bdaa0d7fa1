//! `drivedeck-cli`: DriveDeck without a window.
//!
//! One subcommand per file under `cmd/`, each with its arguments (`Args`) and its `run`.
//! Today: `sim` (serve a simulated rig on a pseudo-terminal). Scan, log, export and
//! bench follow as the engine grows. No webview is linked into this binary.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// DriveDeck without a window: simulator, and soon scan, log, export and bench.
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
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Commands::Sim(args) => cmd::sim::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drivedeck-cli: {e:#}");
            ExitCode::FAILURE
        }
    }
}
