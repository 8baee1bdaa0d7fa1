//! `drivedeck-cli bench link`: the telemetry poll rate a link achieves against the wire.
//!
//! For each protocol, baud rate and number of drives, a simulated rig is started on a pty
//! with pacing at that baud rate (bytes take their wire time; a frame is acted on only
//! once its last byte could have arrived; replies leave after each drive's return delay),
//! a link polls its drives' telemetry as fast as it can (DYNAMIXEL 2.0 and Feetech: one
//! Sync Read of present current, velocity and position per cycle; one drive: a Read), and
//! the polls completed with every drive's answer are counted for a few seconds.
//!
//! The limit is what the wire allows: per cycle, the request's and the replies' bytes at
//! 10 bits each (8N1) plus every drive's return delay. What the link adds on top (the pty
//! round trip, the simulator's and the link's turnaround) is printed as overhead per
//! cycle. The link is measured alone: its samples go to a counting sink, not to the store
//! (which `bench store` measures).

use anyhow::{Context, bail};
use drivedeck_bus::protocol::{self, Block};
use drivedeck_bus::{Bus, EventSink, LinkConfig};
use drivedeck_domain::{Clock, Event};
use drivedeck_proto::profile::{Profile, Protocol, Register, Role};
use drivedeck_sim::{RigOptions, SimRig};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Arguments of `bench link`.
#[derive(clap::Args, Debug)]
pub struct LinkArgs {
    /// Protocols, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "dynamixel2,feetech", value_parser = ["dynamixel2", "dynamixel1", "feetech", "modbus-rtu"])]
    protocols: Vec<String>,
    /// Baud rates, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000000,4500000", value_parser = clap::value_parser!(u32).range(9600..=12_000_000))]
    bauds: Vec<u32>,
    /// Drive counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4,12", value_parser = clap::value_parser!(u8).range(1..=200))]
    drives: Vec<u8>,
    /// Each drive's return delay, µs (its Return Delay Time entry is set to it; the
    /// factory setting of the XM430 and STS3215 is 500 µs, a bus tuned for speed uses 0).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=508))]
    return_delay_us: u32,
    /// Seconds to count polls for, per row.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
}

/// Counts the telemetry polls in which every drive answered.
struct Counter {
    drives: usize,
    complete: AtomicU64,
    partial: AtomicU64,
}

impl EventSink for Counter {
    fn emit(&self, event: Event) {
        if let Event::Samples { samples } = event {
            if samples.len() == self.drives {
                self.complete.fetch_add(1, Ordering::Relaxed);
            } else {
                self.partial.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// One row of the table.
struct Row {
    protocol: &'static str,
    drives: usize,
    baud: u32,
    bytes: usize,
    limit_hz: f64,
    achieved_hz: f64,
    partial: u64,
}

/// Runs the benchmark and prints the table.
pub fn run(args: LinkArgs) -> anyhow::Result<()> {
    if !(args.seconds.is_finite() && (0.2..=600.0).contains(&args.seconds)) {
        bail!("--seconds {} is outside 0.2..=600", args.seconds);
    }
    let protocols: Vec<Protocol> = args
        .protocols
        .iter()
        .map(|name| protocol::protocol_from_name(name).with_context(|| format!("protocol {name}")))
        .collect::<anyhow::Result<_>>()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    println!(
        "link poll rate, simulator paced to the baud rate, return delay {} µs, {} s per row",
        args.return_delay_us, args.seconds
    );
    println!(
        "{:<10}  {:>6}  {:>9}  {:>11}  {:>9}  {:>11}  {:>6}  {:>13}",
        "protocol",
        "drives",
        "baud",
        "bytes/cycle",
        "limit Hz",
        "achieved Hz",
        "%",
        "overhead/cycle"
    );
    for protocol in &protocols {
        let profile = Profile::default_for(*protocol)
            .with_context(|| format!("no built-in {} drive", protocol::protocol_name(*protocol)))?;
        for &baud in &args.bauds {
            for &drives in &args.drives {
                let row = runtime.block_on(measure(
                    &profile,
                    usize::from(drives),
                    baud,
                    Duration::from_micros(u64::from(args.return_delay_us)),
                    Duration::from_secs_f64(args.seconds),
                ))?;
                let overhead_us = (1.0 / row.achieved_hz - 1.0 / row.limit_hz) * 1e6;
                println!(
                    "{:<10}  {:>6}  {:>9}  {:>11}  {:>9.0}  {:>11.0}  {:>5.1}%  {:>10.0} µs{}",
                    row.protocol,
                    row.drives,
                    row.baud,
                    row.bytes,
                    row.limit_hz,
                    row.achieved_hz,
                    100.0 * row.achieved_hz / row.limit_hz,
                    overhead_us,
                    if row.partial > 0 {
                        format!("  ({} polls missed a drive)", row.partial)
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
    Ok(())
}

/// The telemetry block of `profile` (present current, velocity, position).
fn telemetry_block(profile: &Profile, max: u16) -> anyhow::Result<Block> {
    let registers: Vec<&Register> = [
        Role::PresentCurrent,
        Role::PresentVelocity,
        Role::PresentPosition,
    ]
    .iter()
    .filter_map(|role| profile.role(*role))
    .collect();
    match Block::plan(&registers, max).as_slice() {
        [block] => Ok(block.clone()),
        blocks => bail!(
            "{}'s telemetry takes {} reads; this benchmark times one-block telemetry",
            profile.name,
            blocks.len()
        ),
    }
}

async fn measure(
    profile: &Profile,
    drives: usize,
    baud: u32,
    return_delay: Duration,
    seconds: Duration,
) -> anyhow::Result<Row> {
    let link_protocol = protocol::for_protocol(profile.protocol);
    let ids: Vec<u8> = (1..=drives as u8).collect();
    // What the wire carries per cycle.
    let block = telemetry_block(profile, link_protocol.max_read())?;
    let requests = link_protocol
        .read_many(&block, &ids)
        .map_err(anyhow::Error::msg)?;
    let bytes: usize = requests.iter().map(|r| r.bytes.len() + r.reply_bytes).sum();
    let cycle = protocol::wire_time(baud, 10, bytes) + return_delay * drives as u32;
    let limit_hz = 1.0 / cycle.as_secs_f64();

    let options = RigOptions {
        baud,
        pace: true,
        ..RigOptions::default()
    };
    let rig = SimRig::spawn_with(profile, &ids, options).context("starting the simulator")?;
    let delay_register = profile
        .role(Role::ReturnDelay)
        .context("the profile has no return delay entry")?
        .clone();
    let delay_raw = (return_delay.as_secs_f64() / delay_register.scale).round() as i64;
    rig.with_drives(|sim| {
        sim.iter_mut().try_for_each(|drive| {
            drive.write(delay_register.address, &delay_register.encode(delay_raw))
        })
    })
    .map_err(|e| anyhow::anyhow!("setting the return delay: {e:?}"))?;

    let counter = Arc::new(Counter {
        drives,
        complete: AtomicU64::new(0),
        partial: AtomicU64::new(0),
    });
    let bus = Bus::new(
        Arc::clone(&counter) as Arc<dyn EventSink>,
        Clock::start(),
        1,
    );
    let shared = Arc::new(profile.clone());
    let mut config = LinkConfig::new(
        rig.port().to_string_lossy(),
        baud,
        ids.iter().map(|id| (*id, Arc::clone(&shared))).collect(),
    );
    // As fast as the line allows; the state poll out of the way.
    config.poll_hz = protocol::MAX_POLL_HZ;
    config.state_hz = 0.1;
    config.simulated = true;
    let link = bus.connect_serial(config).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start_complete = counter.complete.load(Ordering::Relaxed);
    let start_partial = counter.partial.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(seconds).await;
    let elapsed = started.elapsed().as_secs_f64();
    let complete = counter.complete.load(Ordering::Relaxed) - start_complete;
    let partial = counter.partial.load(Ordering::Relaxed) - start_partial;
    bus.disconnect(link).await;
    rig.stop();
    Ok(Row {
        protocol: protocol::protocol_name(profile.protocol),
        drives,
        baud,
        bytes,
        limit_hz,
        achieved_hz: complete as f64 / elapsed,
        partial,
    })
}
