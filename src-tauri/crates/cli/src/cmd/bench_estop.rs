//! `drivedeck-cli bench estop`: E-stop request → first byte of the stop frame on the
//! wire, under load.
//!
//! The whole engine runs as in the app: simulated DYNAMIXEL 2.0 drives on a pty, paced
//! at the link's baud rate (the replies take their wire time and the drives' return
//! delay), the link polling telemetry as fast as the line allows, every event journaled
//! and every sample written to a real SQLite store. On top of that:
//! - the link's queue is kept at `--queued` jobs (parameter reads, which an E-stop does
//!   not cancel) — topped up before every trial;
//! - a chart thread runs window queries over the whole live session at 4,000 px, all
//!   channels, back to back, on its own connection (the heaviest thing the UI asks of
//!   the store).
//!
//! Each trial sleeps a pseudo-random 0–3 ms (so the request falls anywhere in an
//! exchange), stamps the instant before `submit(EStop)` and takes the instant the
//! simulator read the first byte of the broadcast torque-off frame. Both stamps come
//! from the same monotonic clock (one process). Then it waits for the E-stop job to end
//! (every drive read back as stopped) before the next trial.
//!
//! The same trials then run on an idle link (no queue, slow telemetry, no chart) as the
//! floor under the figure.

use anyhow::{Context, bail};
use drivedeck_domain::{Command, DriveRef, JobState};
use drivedeck_engine::{Engine, EngineConfig};
use drivedeck_proto::profile::{Profile, Role};
use drivedeck_sim::RigOptions;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Arguments of `bench estop`.
#[derive(clap::Args, Debug)]
pub struct EstopArgs {
    /// E-stops to time under load.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(100..=1_000_000))]
    trials: u32,
    /// Jobs kept queued on the link.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    queued: u32,
    /// Drives on the link.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=32))]
    drives: u8,
    /// The line's baud rate (the simulator paces itself to it).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(57_600..=4_500_000))]
    baud: u32,
    /// Each drive's return delay, µs (its Return Delay Time entry is set to it): 0 on a
    /// bus tuned for speed; the XM430's factory setting is 500, which makes every
    /// exchange — and so the wait for the one in flight — longer.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=508))]
    return_delay_us: u32,
    /// Print the frames the simulator heard in the 5 ms before each trial slower than
    /// this many µs (what was in flight when the E-stop was asked for).
    #[arg(long)]
    show_slower_than_us: Option<u64>,
}

/// The figures of one phase.
struct Phase {
    latencies: Vec<Duration>,
    /// Window queries the chart thread completed, and over how long.
    chart_queries: u64,
    elapsed: Duration,
    /// Telemetry polls the link made per second meanwhile (the link's own figure, over
    /// its last half second, averaged over the trials).
    poll_hz: f64,
}

/// Runs the benchmark and prints the figures.
pub fn run(args: EstopArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir().context("a temporary folder")?;
    let profile = Profile::xm430_w350();
    let stop_frame = drivedeck_proto::dxl2::Packet::write(
        drivedeck_proto::dxl2::BROADCAST_ID,
        profile
            .role(Role::TorqueEnable)
            .context("the profile has no torque enable entry")?
            .address,
        &[0],
    )
    .encode()
    .len();
    let frame_time = Duration::from_secs_f64(stop_frame as f64 * 10.0 / f64::from(args.baud));
    let loaded = runtime.block_on(phase(&args, dir.path(), true))?;
    let idle = runtime.block_on(phase(
        &EstopArgs {
            trials: args.trials.min(2_000),
            queued: 0,
            ..args
        },
        dir.path(),
        false,
    ))?;
    println!(
        "E-stop request → first byte of the stop frame heard by the simulator: DYNAMIXEL 2.0, {} drives, {} baud (paced), return delay {} µs",
        args.drives, args.baud, args.return_delay_us
    );
    println!(
        "goal: p99.9 ≤ one frame time + 1 ms = {:.0} µs (the stop frame is {stop_frame} bytes: {:.0} µs)",
        (frame_time + Duration::from_millis(1)).as_secs_f64() * 1e6,
        frame_time.as_secs_f64() * 1e6
    );
    print_row(
        &format!("{} queued", args.queued),
        &loaded,
        "telemetry at full rate, chart queries",
    );
    print_row("idle link", &idle, "no queue, 1 Hz telemetry, no chart");
    Ok(())
}

fn print_row(what: &str, phase: &Phase, load: &str) {
    let mut latencies = phase.latencies.clone();
    latencies.sort_unstable();
    let at = |q: f64| super::quantile_us(&latencies, q);
    println!(
        "{what:<14} {} trials   p50 {:>6.0} µs   p99 {:>6.0} µs   p99.9 {:>6.0} µs   max {:>6.0} µs   ({load}: {:.0} polls/s, {:.1} chart queries/s)",
        latencies.len(),
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0),
        phase.poll_hz,
        phase.chart_queries as f64 / phase.elapsed.as_secs_f64().max(1e-9),
    );
}

/// What the simulator heard from 5 ms before `requested` up to the stop frame.
fn print_slow_trial(
    trial: u32,
    loaded: bool,
    requested: Instant,
    first_byte: Instant,
    heard: &[(Instant, drivedeck_sim::HeardPacket)],
) {
    let phase = if loaded { "loaded" } else { "idle" };
    println!(
        "slow trial {trial} ({phase}): {:.0} µs",
        (first_byte - requested).as_secs_f64() * 1e6
    );
    for (at, packet) in heard
        .iter()
        .filter(|(at, _)| *at + Duration::from_millis(5) >= requested && *at <= first_byte)
    {
        let offset_us = if *at >= requested {
            (*at - requested).as_secs_f64() * 1e6
        } else {
            -(requested - *at).as_secs_f64() * 1e6
        };
        println!(
            "  {offset_us:+8.0} µs  id {:3}  instruction {:#04x}  params {:02x?}",
            packet.id,
            packet.instruction,
            &packet.params[..packet.params.len().min(4)]
        );
    }
}

/// One phase: an engine on a fresh rig, `args.trials` E-stops, the load if `loaded`.
async fn phase(args: &EstopArgs, dir: &std::path::Path, loaded: bool) -> anyhow::Result<Phase> {
    let mut config = EngineConfig::new(dir.join(if loaded { "loaded.db" } else { "idle.db" }));
    // "Full rate": as fast as the line allows, polls back to back.
    config.poll_hz = if loaded {
        drivedeck_bus::protocol::MAX_POLL_HZ
    } else {
        1.0
    };
    let engine = Engine::start(config)?;
    let profile = Profile::xm430_w350();
    let torque = profile
        .role(Role::TorqueEnable)
        .context("the profile has no torque enable entry")?
        .address;
    let ids: Vec<u8> = (1..=args.drives).collect();
    let options = RigOptions {
        baud: args.baud,
        pace: true,
        ..RigOptions::default()
    };
    let delay = profile
        .role(Role::ReturnDelay)
        .context("the profile has no return delay entry")?
        .clone();
    let link = engine
        .connect_sim_rig_with(profile, &ids, options)
        .await
        .context("connecting the simulated rig")?;
    let delay_raw = (f64::from(args.return_delay_us) * 1e-6 / delay.scale).round() as i64;
    engine
        .inspect_sim(link, |drives| {
            drives
                .iter_mut()
                .try_for_each(|drive| drive.write(delay.address, &delay.encode(delay_raw)))
        })
        .context("the simulated rig is gone")?
        .map_err(|e| anyhow::anyhow!("setting the return delay: {e:?}"))?;
    let drive = DriveRef { link, id: 1 };
    let read = || Command::ReadParams {
        drive,
        registers: vec!["Position P Gain".into()],
    };

    // The chart: window queries over the whole live session, back to back.
    let running = Arc::new(AtomicBool::new(loaded));
    let queries = Arc::new(AtomicU64::new(0));
    let chart = {
        let reader = engine.reader()?;
        let session = engine.session();
        let (running, queries) = (Arc::clone(&running), Arc::clone(&queries));
        std::thread::spawn(move || -> anyhow::Result<()> {
            let started = Instant::now();
            while running.load(Ordering::Relaxed) {
                let channels: Vec<i64> = reader.channels(session)?.iter().map(|c| c.id).collect();
                let to = started.elapsed().as_secs_f64() + 1.0;
                if !channels.is_empty() {
                    reader.window(session, &channels, 0.0, to, 4_000)?;
                    queries.fetch_add(1, Ordering::Relaxed);
                } else {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            Ok(())
        })
    };

    let mut poll_hz = Vec::with_capacity(args.trials as usize);
    let started = Instant::now();
    let mut outstanding: VecDeque<drivedeck_bus::JobHandle> = VecDeque::new();
    let mut latencies = Vec::with_capacity(args.trials as usize);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for trial in 0..args.trials + 20 {
        while outstanding
            .front()
            .is_some_and(|job| job.state().is_terminal())
        {
            outstanding.pop_front();
        }
        while outstanding.len() < args.queued as usize {
            outstanding.push_back(engine.submit(read())?);
        }
        // xorshift: a pause of 0–3 ms, so the request falls anywhere in an exchange.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_micros(seed % 3_000)).await;
        let requested = Instant::now();
        let job = engine.submit(Command::EStop)?;
        let state = tokio::time::timeout(Duration::from_secs(5), job.outcome())
            .await
            .with_context(|| format!("trial {trial}: the E-stop did not end within 5 s"))?;
        if state != JobState::Done {
            bail!("trial {trial}: the E-stop ended {state:?}");
        }
        let heard = engine
            .with_sim_rig(link, |rig| rig.counters().timed_instructions())
            .context("the simulated rig is gone")?;
        let first_byte = heard
            .iter()
            .find(|(at, packet)| {
                *at >= requested
                    && packet.id == drivedeck_proto::dxl2::BROADCAST_ID
                    && packet.instruction == drivedeck_proto::dxl2::instruction::WRITE
                    && packet.params.get(..2) == Some(&torque.to_le_bytes()[..])
            })
            .map(|(at, _)| *at)
            .with_context(|| format!("trial {trial}: the simulator heard no stop frame"))?;
        if args
            .show_slower_than_us
            .is_some_and(|us| first_byte - requested > Duration::from_micros(us))
        {
            print_slow_trial(trial, loaded, requested, first_byte, &heard);
        }
        // The first rounds warm up caches and the store's first pages.
        if trial >= 20 {
            latencies.push(first_byte - requested);
            poll_hz.extend(engine.link_health(link).map(|h| h.poll_hz));
        }
    }
    let elapsed = started.elapsed();
    running.store(false, Ordering::Relaxed);
    chart
        .join()
        .map_err(|_| anyhow::anyhow!("the chart thread panicked"))??;
    engine.shutdown().await;
    Ok(Phase {
        latencies,
        chart_queries: queries.load(Ordering::Relaxed),
        elapsed,
        poll_hz: poll_hz.iter().sum::<f64>() / poll_hz.len().max(1) as f64,
    })
}
