//! `drivedeck-cli bench tune-rate`: the reading rate of a tuning run against the wire-time
//! limit of the exchanges it made, and where the rest of each cycle goes.
//!
//! For each protocol and baud rate the whole engine runs as in the app (a real store
//! file, the supervisor, the journal) on one simulated drive over a pty, paced at the
//! baud rate: bytes take their wire time, replies leave after the drive's return delay
//! (its factory setting unless `--return-delay-us` sets another). The drive is armed and
//! enabled and plays its profile's default chirp (as `tune chirp` with no settings
//! would), lengthened to `--seconds`.
//!
//! Printed per row: the run's achieved rate and jitter, the limit of the exchanges it
//! made (their bytes both ways and the return delays, nothing else), the share of it
//! reached, and the **turnaround** the simulator saw: from the last byte of a reply
//! leaving the simulator to the first byte of the host's next request reaching it —
//! the pty both ways, the link's decode, the run's bookkeeping and the next write. That
//! turnaround, once per cycle, is the whole gap between the rate and the limit.

use anyhow::{Context, bail};
use drivedeck_bus::protocol;
use drivedeck_domain::{Command, DriveRef, Excitation, JobState, Target};
use drivedeck_engine::api::Api;
use drivedeck_engine::{Engine, EngineConfig};
use drivedeck_proto::profile::{Profile, Protocol, Role};
use drivedeck_sim::{RigOptions, WireTiming};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `bench tune-rate`.
#[derive(clap::Args, Debug)]
pub struct TuneRateArgs {
    /// Protocols, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "dynamixel2,feetech", value_parser = ["dynamixel2", "dynamixel1", "feetech", "modbus-rtu"])]
    protocols: Vec<String>,
    /// Baud rates, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000000,4500000", value_parser = clap::value_parser!(u32).range(9600..=12_000_000))]
    bauds: Vec<u32>,
    /// The drive's return delay, µs; its factory setting when not given.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=508))]
    return_delay_us: Option<u32>,
    /// Length of each run's chirp, s.
    #[arg(long, default_value_t = 6.0)]
    seconds: f64,
}

/// The turnaround the transport itself costs: a bare loop on the same kind of rig and
/// pty, blocking reads, each ping sent the moment the last reply's last byte is read —
/// the least any host could take between a reply and its next request here.
fn floor(profile: &Profile, baud: u32) -> anyhow::Result<Vec<Duration>> {
    let link = protocol::for_protocol(profile.protocol);
    let ping = link
        .ping(1)
        .context("the protocol has no ping for the bare loop")?;
    let options = RigOptions {
        baud,
        pace: true,
        ..RigOptions::default()
    };
    let rig = drivedeck_sim::SimRig::spawn_with(profile, &[1], options)?;
    let mut port = serialport::new(rig.port().to_string_lossy(), baud)
        .timeout(Duration::from_millis(100))
        .open()
        .context("opening the simulator's pty")?;
    let mut reply = vec![0u8; ping.reply_bytes];
    for _ in 0..FLOOR_EXCHANGES {
        port.write_all(&ping.bytes)?;
        std::io::Read::read_exact(&mut port, &mut reply).context("the bare loop's ping")?;
    }
    let heard = rig.counters().timed_instructions();
    let replies = rig.counters().timed_replies();
    rig.stop();
    Ok(turnarounds(
        &heard,
        &replies,
        byte_time(profile, baud),
        None,
    ))
}

/// Pings of the bare loop.
const FLOOR_EXCHANGES: usize = 2000;

/// One byte's wire time at `baud` in `profile`'s protocol.
fn byte_time(profile: &Profile, baud: u32) -> Duration {
    let bits = protocol::for_protocol(profile.protocol).bits_per_byte();
    WireTiming::paced_bits(baud, bits)
        .byte_time()
        .unwrap_or_default()
}

/// For every request that followed a reply to the one before it: the time from that
/// reply's last byte to the request's first (the simulator stamps a request's first
/// byte one byte time after it read it), sorted.
fn turnarounds(
    heard: &[(Instant, drivedeck_sim::HeardPacket)],
    replies: &[Instant],
    byte: Duration,
    after: Option<Instant>,
) -> Vec<Duration> {
    let mut out = Vec::new();
    for pair in heard.windows(2) {
        let (before, at) = (pair[0].0, pair[1].0);
        if after.is_some_and(|after| at < after) {
            continue;
        }
        let reply = replies
            .iter()
            .rev()
            .find(|end| **end <= at)
            .filter(|end| **end > before);
        if let Some(end) = reply {
            out.push(at.saturating_duration_since(*end + byte));
        }
    }
    out.sort();
    out
}

fn mean(v: &[Duration]) -> Duration {
    v.iter().sum::<Duration>() / u32::try_from(v.len().max(1)).unwrap_or(u32::MAX)
}

/// "p50/p90 µs" of sorted `v`.
fn quantiles(v: &[Duration]) -> String {
    let at = |q: f64| {
        v.get(((v.len() as f64 - 1.0) * q).round() as usize)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
    };
    format!("{:.0}/{:.0} µs", at(0.5), at(0.9))
}

/// One row of the table.
struct Row {
    rate_hz: f64,
    limit_hz: f64,
    jitter_ms: f64,
    /// Reply end → next request's first byte, sorted.
    turnaround: Vec<Duration>,
}

/// Runs the benchmark and prints the table.
pub fn run(args: TuneRateArgs) -> anyhow::Result<()> {
    if !(args.seconds.is_finite() && (1.0..=120.0).contains(&args.seconds)) {
        bail!("--seconds {} is outside 1..=120", args.seconds);
    }
    let protocols: Vec<Protocol> = args
        .protocols
        .iter()
        .map(|name| protocol::protocol_from_name(name).with_context(|| format!("protocol {name}")))
        .collect::<anyhow::Result<_>>()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let delay = args
        .return_delay_us
        .map_or("the drive's factory setting".to_string(), |us| {
            format!("{us} µs")
        });
    println!(
        "tuning run reading rate, one drive, default chirp of {} s, return delay {delay}, simulator paced",
        args.seconds
    );
    println!(
        "{:<10}  {:>9}  {:>9}  {:>11}  {:>6}  {:>9}  {:>17}  {:>17}  {:>13}",
        "protocol",
        "baud",
        "limit Hz",
        "achieved Hz",
        "%",
        "jitter",
        "turnaround p50/90",
        "bare loop p50/90",
        "% with bare"
    );
    for protocol in &protocols {
        let profile = Profile::default_for(*protocol)
            .with_context(|| format!("no built-in {} drive", protocol::protocol_name(*protocol)))?;
        let name = protocol::protocol_name(*protocol);
        for &baud in &args.bauds {
            let rates = drivedeck_proto::baud::codes(*protocol);
            if !rates.is_empty() && !rates.iter().any(|(_, rate)| *rate == baud) {
                println!("{name:<10}  {baud:>9}  not a rate its drive has");
                continue;
            }
            let row = match runtime.block_on(measure(&profile, baud, &args)) {
                Ok(row) => row,
                Err(e) => {
                    println!("{name:<10}  {baud:>9}  not measured: {e:#}");
                    continue;
                }
            };
            let bare = floor(&profile, baud)?;
            let with_bare = 1.0 / (1.0 / row.limit_hz + mean(&bare).as_secs_f64());
            println!(
                "{:<10}  {:>9}  {:>9.0}  {:>11.0}  {:>5.1}%  {:>6.3} ms  {:>17}  {:>17}  {:>12.1}%",
                name,
                baud,
                row.limit_hz,
                row.rate_hz,
                100.0 * row.rate_hz / row.limit_hz,
                row.jitter_ms,
                quantiles(&row.turnaround),
                quantiles(&bare),
                100.0 * row.rate_hz / with_bare,
            );
        }
    }
    println!(
        "turnaround: a reply's last byte to the next request's first, as the simulator saw it; \
         bare loop: the same for a blocking ping loop on the same pty (the transport's floor); \
         % with bare: the rate against the limit plus the bare loop's mean turnaround"
    );
    Ok(())
}

async fn expect_done(engine: &Engine, command: Command) -> anyhow::Result<()> {
    let name = command.name();
    match engine.run(command).await? {
        JobState::Done => Ok(()),
        other => bail!("{name} did not succeed: {other:?}"),
    }
}

async fn measure(profile: &Profile, baud: u32, args: &TuneRateArgs) -> anyhow::Result<Row> {
    let dir = tempfile::tempdir()?;
    let mut config = EngineConfig::new(dir.path().join("tune-rate.db"));
    config.heartbeat_timeout = None;
    let engine = Arc::new(Engine::start(config)?);
    let api = Api::new(Arc::clone(&engine))?;
    let options = RigOptions {
        baud,
        pace: true,
        ..RigOptions::default()
    };
    let link = engine
        .connect_sim_rig_with(profile.clone(), &[1], options)
        .await
        .context("connecting the simulated rig")?;
    if let Some(us) = args.return_delay_us {
        let delay = profile
            .role(Role::ReturnDelay)
            .context("the profile has no return delay entry")?
            .clone();
        let raw = (f64::from(us) * 1e-6 / delay.scale).round() as i64;
        engine
            .inspect_sim(link, |drives| {
                drives
                    .iter_mut()
                    .try_for_each(|drive| drive.write(delay.address, &delay.encode(raw)))
            })
            .context("the simulated rig is gone")?
            .map_err(|e| anyhow::anyhow!("setting the return delay: {e:?}"))?;
    }
    let drive = DriveRef { link, id: 1 };
    expect_done(&engine, Command::Arm { drive }).await?;
    expect_done(&engine, Command::Enable { drive }).await?;
    // Mid-travel (a servo's range starts at 0°), as `tune chirp --start-at 3` would.
    let at = 3.0;
    expect_done(
        &engine,
        Command::SetTarget {
            drive,
            target: Target::Position(at),
        },
    )
    .await?;
    let waited = Instant::now();
    while engine
        .tune_start(drive)
        .and_then(|(p, _)| p)
        .is_none_or(|p| (p - at).abs() > 1f64.to_radians())
    {
        if waited.elapsed() > Duration::from_secs(10) {
            bail!("the drive did not reach {at} rad in 10 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let defaults = api.tune_defaults(drive)?;
    let mut test = defaults
        .tests
        .into_iter()
        .find(|t| matches!(t.excitation, Excitation::Chirp { .. }))
        .context("no default chirp")?;
    if let Excitation::Chirp { duration_s, .. } = &mut test.excitation {
        *duration_s = args.seconds;
    }
    let started = Instant::now();
    let id = api.tune_start(drive, test)?;
    api.tune_wait(id).await?;
    let view = api.tune_run(id as i64)?;
    if view.summary.state != "completed" {
        bail!(
            "the run ended {}: {:?}",
            view.summary.state,
            view.summary.reason
        );
    }
    let (heard, replies) = engine
        .with_sim_rig(link, |rig| {
            (
                rig.counters().timed_instructions(),
                rig.counters().timed_replies(),
            )
        })
        .context("the simulated rig is gone")?;
    expect_done(&engine, Command::Disable { drive }).await?;
    engine.shutdown().await;
    let turnaround = turnarounds(&heard, &replies, byte_time(profile, baud), Some(started));
    Ok(Row {
        rate_hz: view.summary.achieved_rate_hz.unwrap_or(0.0),
        limit_hz: view.wire_limit_hz,
        jitter_ms: view.summary.jitter_ms.unwrap_or(f64::NAN),
        turnaround,
    })
}
