//! `drivedeck-cli sim`: simulated drives on a pseudo-terminal.
//!
//! Prints `port: /dev/pts/N` as its first line on stdout, then serves until killed
//! (SIGINT/SIGTERM) or until stdin closes when `--until-stdin-closes` is given (handy
//! for tests that own the process).

use anyhow::{Context, bail};
use drivedeck_proto::profile::Profile;
use drivedeck_sim::SimRig;
use std::io::Write;

/// Arguments of `sim`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Wire protocol to speak.
    #[arg(long, default_value = "dynamixel2", value_parser = ["dynamixel2", "dynamixel1", "feetech", "modbus-rtu"])]
    protocol: String,
    /// Drive IDs on the bus, comma-separated (1–252).
    #[arg(long, value_delimiter = ',', default_value = "1,2", value_parser = clap::value_parser!(u8).range(0..=252))]
    ids: Vec<u8>,
    /// A drive profile (TOML) instead of the built-in XM430-W350.
    #[arg(long)]
    profile: Option<std::path::PathBuf>,
    /// Stop when standard input reaches end of file.
    #[arg(long)]
    until_stdin_closes: bool,
}

/// Runs the simulator.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.protocol != "dynamixel2" {
        bail!(
            "the simulator speaks dynamixel2 today; {} comes with the wire-protocols work",
            args.protocol
        );
    }
    let profile = match &args.profile {
        Some(path) => Profile::load(path).with_context(|| format!("profile {}", path.display()))?,
        None => Profile::xm430_w350(),
    };
    let rig = SimRig::spawn(&profile, &args.ids).context("starting the simulator")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "port: {}", rig.port().display())?;
    writeln!(
        stdout,
        "drives: {} × {} ({:?}), IDs {:?}",
        args.ids.len(),
        profile.name,
        profile.protocol,
        args.ids
    )?;
    stdout.flush()?;
    drop(stdout);
    if args.until_stdin_closes {
        let mut sink = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink)?;
    } else {
        loop {
            std::thread::park();
        }
    }
    rig.stop();
    Ok(())
}
