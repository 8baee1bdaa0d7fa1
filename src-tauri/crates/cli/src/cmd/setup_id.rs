//! `drivedeck-cli setup-id`: give the one servo on a port its ID (and baud rate).
//!
//! The guided set-up of a fresh bus, one servo at a time, without the window: connect a
//! single servo, run `setup-id --port P --protocol X --to N [--baud B]`, and DriveDeck
//! finds the servo at whatever ID and rate it has, gives it ID N (and rate B) as set-up
//! jobs journaled into the app's database (or `--db`), and tells you to connect the
//! next. More than one servo answering is refused with nothing written (they would all
//! take the same ID); so is a port no servo answers on, an ID outside 1–252 or a rate
//! the protocol cannot encode.

use super::default_db;
use drivedeck_engine::api::{Api, AssignRequest};
use drivedeck_engine::{Engine, EngineConfig};
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `setup-id`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Serial port the servo is alone on (e.g. /dev/ttyUSB0, COM3, a simulator's pty).
    #[arg(long)]
    port: String,
    /// Wire protocol (Modbus RTU drives set their address in vendor parameters).
    #[arg(long, value_parser = ["dynamixel2", "dynamixel1", "feetech"])]
    protocol: String,
    /// The ID to give the servo.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=252))]
    to: u8,
    /// The baud rate to move it to (default: keep the rate it has).
    #[arg(long)]
    baud: Option<u32>,
    /// The database to journal the set-up jobs into (default: the app's).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// Sets the servo up; fails, with nothing written, unless exactly one servo answered.
pub fn run(args: Args) -> anyhow::Result<()> {
    let db = match &args.db {
        Some(db) => db.clone(),
        None => default_db()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut config = EngineConfig::new(&db);
        // No window, no heartbeat; the servo is never enabled here.
        config.heartbeat_timeout = None;
        config.stop_on_shutdown = false;
        let engine = Arc::new(Engine::start(config)?);
        let api = Api::new(Arc::clone(&engine))?;
        if !args.json {
            eprintln!("looking for the {} servo on {} …", args.protocol, args.port);
        }
        let request = AssignRequest {
            port: args.port.clone(),
            protocol: args.protocol.clone(),
            to: args.to,
            baud: args.baud,
        };
        let result = api.setup_assign(request).await;
        engine.shutdown().await;
        let done = result?;
        if args.json {
            println!("{}", serde_json::to_string(&done)?);
        } else {
            println!("{}", done.message);
        }
        Ok(())
    })
}
