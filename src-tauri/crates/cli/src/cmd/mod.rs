//! The CLI's subcommands, one per file, and the arguments several share.

pub mod bench;
pub mod bench_bus;
pub mod bench_estop;
pub mod bench_link;
pub mod bench_tune;
pub mod bench_tune_rate;
pub mod estop;
pub mod export;
pub mod log;
pub mod ports;
pub mod scan;
pub mod setup_id;
pub mod sim;
pub mod tune;
pub mod tune_model;

use anyhow::{Context, bail};
use drivedeck_engine::{Engine, builtin_profile, protocol_from_name, protocol_name};
use drivedeck_proto::profile::{Profile, Protocol};
use std::path::PathBuf;

/// Which drives on which port: the arguments of the commands that connect a link.
#[derive(clap::Args, Debug)]
pub struct BusArgs {
    /// Serial port (e.g. /dev/ttyUSB0, COM3, or a simulator's /dev/pts/N).
    #[arg(long)]
    pub port: String,
    /// Wire protocol.
    #[arg(long, default_value = "dynamixel2", value_parser = ["dynamixel2", "dynamixel1", "feetech", "modbus-rtu"])]
    pub protocol: String,
    /// Drive IDs on the bus, comma-separated.
    #[arg(long, value_delimiter = ',', required = true, value_parser = clap::value_parser!(u8).range(1..=252))]
    pub ids: Vec<u8>,
    /// Baud rate.
    #[arg(long, default_value_t = 57_600)]
    pub baud: u32,
    /// Drive profile (TOML); default: the built-in profile of the protocol.
    #[arg(long)]
    pub profile: Option<PathBuf>,
}

impl BusArgs {
    /// The protocol and the drives' profile, once the IDs are checked against the
    /// protocol's address range (nothing is opened).
    pub fn drives(&self) -> anyhow::Result<(Protocol, Profile)> {
        let mut ids = self.ids.clone();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            bail!("--ids lists a drive twice");
        }
        let protocol = protocol_from_name(&self.protocol)
            .with_context(|| format!("unknown protocol {}", self.protocol))?;
        let max = if protocol == Protocol::ModbusRtu {
            247
        } else {
            252
        };
        if let Some(id) = self.ids.iter().find(|id| **id > max) {
            bail!(
                "--ids: {id} is not a {} drive address (1..={max})",
                self.protocol
            );
        }
        let profile = match &self.profile {
            Some(path) => Profile::load(path)?,
            None => builtin_profile(protocol)?,
        };
        if profile.protocol != protocol {
            bail!(
                "profile {} speaks {}, not {}",
                profile.name,
                protocol_name(profile.protocol),
                self.protocol
            );
        }
        Ok((protocol, profile))
    }

    /// Connects `engine` to the drives (checked with [`BusArgs::drives`]); on failure
    /// the engine is shut down and the error says which port.
    pub async fn connect(&self, engine: &Engine) -> anyhow::Result<()> {
        let (protocol, profile) = self.drives()?;
        let connected = engine
            .connect_serial(&self.port, protocol, self.baud, profile, &self.ids)
            .await
            .with_context(|| format!("connecting to {}", self.port));
        if connected.is_err() {
            engine.shutdown().await;
        }
        connected.map(|_| ())
    }
}

/// The app's own database (in its data folder, prepared on first use): where headless
/// commands journal by default, so the app shows what they did.
pub fn default_db() -> anyhow::Result<PathBuf> {
    let root = drivedeck_engine::data_dir::default_root()
        .context("no home folder to find the app's database in: give --db")?;
    Ok(drivedeck_engine::data_dir::DataDir::prepare(&root)
        .with_context(|| format!("preparing {}", root.display()))?
        .database())
}

/// The value at quantile `q` (0–1) of `sorted` latencies, in µs (nearest rank).
pub fn quantile_us(sorted: &[std::time::Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index].as_secs_f64() * 1e6
}
