//! `drivedeck-cli scan`: find the drives on a serial port.
//!
//! Tries each `--protocol` (default: all four) at each `--baud` (default: the
//! protocol's usual rates) and prints each drive that answered: ID, protocol, baud,
//! model (matched to a built-in or `--profile` drive model by its model number),
//! firmware, round trip, and whether two drives share its ID. `--json` prints the same
//! as one JSON object. A port that does not exist or may not be opened is an error
//! with the operating system's reason; so is a scan that finds nothing (after the JSON,
//! with `--json`), so scripts can rely on the exit status.

use anyhow::{Context, bail};
use drivedeck_engine::{ScanOptions, ScanReport, protocol_from_name, protocol_name};
use drivedeck_proto::profile::Profile;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `scan`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Serial port (e.g. /dev/ttyUSB0, COM3, or a simulator's /dev/pts/N).
    #[arg(long)]
    port: String,
    /// Protocols to try, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', value_parser = ["dynamixel2", "dynamixel1", "feetech", "modbus-rtu"])]
    protocol: Vec<String>,
    /// Baud rates to try, comma-separated (default: each protocol's usual rates).
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(300..=12_000_000))]
    baud: Vec<u32>,
    /// How long a drive may take to answer beyond the wire time, ms (raise it for an
    /// adapter with a slow latency timer).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    timeout_ms: u64,
    /// More drive models to match answers against (TOML profiles), repeatable.
    #[arg(long)]
    profile: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the scan.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut profiles = Profile::builtin();
    for path in &args.profile {
        profiles
            .push(Profile::load(path).with_context(|| format!("--profile {}", path.display()))?);
    }
    let mut options = ScanOptions::new(profiles);
    if !args.protocol.is_empty() {
        options.protocols = args
            .protocol
            .iter()
            .map(|name| protocol_from_name(name).with_context(|| format!("protocol {name}")))
            .collect::<anyhow::Result<_>>()?;
    }
    options.bauds = args.baud.clone();
    options.timeout = Duration::from_millis(args.timeout_ms);
    if !args.json {
        let protocols: Vec<&str> = options
            .protocols
            .iter()
            .map(|p| protocol_name(*p))
            .collect();
        eprintln!("scanning {} for {} …", args.port, protocols.join(", "));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(drivedeck_engine::scan(&args.port, &options))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    if report.drives.is_empty() {
        bail!(
            "no drive answered on {} (tried {}); check the wiring, the power and the baud rate",
            report.port,
            report.tried_text()
        );
    }
    if let Some(conflict) = report.drives.iter().find(|d| d.id_conflict) {
        bail!(
            "ID conflict: more than one drive answers ID {} ({} at {} baud)",
            conflict.id,
            conflict.protocol,
            conflict.baud
        );
    }
    Ok(())
}

/// The report as a table, one drive per line.
fn table(report: &ScanReport) -> String {
    let mut out = String::new();
    if !report.drives.is_empty() {
        out.push_str(&format!(
            "{:>3}  {:<10}  {:>7}  {:<12}  {:>6}  {:<8}  {:>9}\n",
            "ID", "protocol", "baud", "model", "model#", "firmware", "rtt"
        ));
    }
    for d in &report.drives {
        out.push_str(&format!(
            "{:>3}  {:<10}  {:>7}  {:<12}  {:>6}  {:<8}  {:>6.2} ms{}{}\n",
            d.id,
            d.protocol,
            d.baud,
            d.model.as_deref().unwrap_or("?"),
            d.model_number
                .map_or_else(|| "-".to_string(), |m| m.to_string()),
            d.firmware.as_deref().unwrap_or("-"),
            d.rtt_us as f64 / 1000.0,
            if d.id_conflict { "  ID CONFLICT" } else { "" },
            d.note
                .as_ref()
                .filter(|_| !d.id_conflict)
                .map(|n| format!("  ({n})"))
                .unwrap_or_default(),
        ));
    }
    out.push_str(&format!(
        "{} drive{} found in {} ms ({})\n",
        report.drives.len(),
        if report.drives.len() == 1 { "" } else { "s" },
        report.elapsed_ms,
        report.tried_text()
    ));
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}
