//! `drivedeck-cli bench bus`: submit → first byte on the wire, on an idle link.
//!
//! A simulated DYNAMIXEL 2.0 drive runs on a pty (unpaced: the simulator stamps a frame
//! with the instant it read the frame's first byte from the pty). A link to it polls
//! nothing to speak of (telemetry at 0.1 Hz), so each job finds it idle. Each trial
//! stamps the instant before [`Bus::submit`] of a Disable (one Write of Torque Enable),
//! waits for the job to end, and takes the stamp of that Write's first byte as the
//! simulator heard it. Both stamps come from the same monotonic clock (one process),
//! so their difference is the bus's own latency: validation, the link's channel, the
//! actor's wake-up, the frame's encoding and the write into the pty, plus the kernel's
//! pty hand-over and the simulator thread's wake-up (which a real adapter replaces with
//! its USB latency).
//!
//! That last part is measured on its own afterwards, as the floor under the figure: the
//! link is closed and the benchmark writes the same frame into the pty itself (no bus,
//! no actor) and takes the same stamp.

use anyhow::{Context, bail};
use drivedeck_bus::{Bus, EventSink, LinkConfig};
use drivedeck_domain::{Clock, Command, DriveRef, Event, JobState};
use drivedeck_proto::profile::{Profile, Role};
use drivedeck_sim::{RigOptions, SimRig};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Arguments of `bench bus`.
#[derive(clap::Args, Debug)]
pub struct BusArgs {
    /// Jobs to time.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(100..=1_000_000))]
    jobs: u32,
    /// The link's baud rate (the simulator is unpaced: it sets only the reply timeout).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(9600..=12_000_000))]
    baud: u32,
}

/// Drops every event: the bus is measured alone (the store has its own benchmark).
struct Discard;

impl EventSink for Discard {
    fn emit(&self, _event: Event) {}
}

/// Runs the benchmark and prints the figures.
pub fn run(args: BusArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let (bus, floor) = runtime.block_on(measure(args.jobs as usize, args.baud))?;
    println!(
        "submit → first byte heard by the simulator, idle link, DYNAMIXEL 2.0 over a pty, {} jobs (goal: p99 ≤ 100 µs)",
        bus.len()
    );
    print_row("bus", bus);
    print_row("pty alone", floor);
    Ok(())
}

fn print_row(what: &str, mut latencies: Vec<Duration>) {
    latencies.sort_unstable();
    let at = |q: f64| super::quantile_us(&latencies, q);
    println!(
        "{what:<10} p50 {:>7.1} µs   p90 {:>7.1} µs   p99 {:>7.1} µs   p99.9 {:>7.1} µs   max {:>7.1} µs",
        at(0.5),
        at(0.9),
        at(0.99),
        at(0.999),
        at(1.0)
    );
}

/// The latencies through the bus, then those of the pty and the simulator alone.
async fn measure(jobs: usize, baud: u32) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let profile = Profile::xm430_w350();
    let torque = profile
        .role(Role::TorqueEnable)
        .context("the profile has no torque enable entry")?
        .address;
    let options = RigOptions {
        baud,
        pace: false,
        ..RigOptions::default()
    };
    let rig = SimRig::spawn_with(&profile, &[1], options).context("starting the simulator")?;
    let bus = Bus::new(Arc::new(Discard), Clock::start(), 1);
    let mut config = LinkConfig::new(
        rig.port().to_string_lossy(),
        baud,
        vec![(1, Arc::new(profile))],
    );
    config.poll_hz = 0.1;
    config.state_hz = 0.1;
    config.simulated = true;
    let link = bus.connect_serial(config).await?;
    let drive = DriveRef { link, id: 1 };
    let is_torque_write = |packet: &drivedeck_sim::HeardPacket| {
        packet.id == 1
            && packet.instruction == drivedeck_proto::dxl2::instruction::WRITE
            && packet.params.get(..2) == Some(&torque.to_le_bytes()[..])
    };
    let mut latencies = Vec::with_capacity(jobs);
    // A few untimed rounds first: caches, the page faults of a first write.
    for trial in 0..jobs + 100 {
        let submitted = Instant::now();
        let job = bus.submit(Command::Disable { drive })?;
        let state = tokio::time::timeout(Duration::from_secs(5), job.outcome())
            .await
            .context("a job did not end within 5 s")?;
        if state != JobState::Done {
            bail!("trial {trial}: the job ended {state:?}");
        }
        let first_byte = rig
            .counters()
            .timed_instructions()
            .into_iter()
            .rev()
            .find(|(_, packet)| is_torque_write(packet))
            .map(|(at, _)| at)
            .filter(|at| *at >= submitted)
            .with_context(|| format!("trial {trial}: the simulator heard no torque write"))?;
        if trial >= 100 {
            latencies.push(first_byte - submitted);
        }
    }
    bus.disconnect(link).await;

    // The floor: the same frame written straight into the pty, the same stamp.
    let mut port = drivedeck_bus::link::open_serial(&rig.port().to_string_lossy(), baud)?;
    let frame = drivedeck_proto::dxl2::Packet::write(1, torque, &[0]).encode();
    let mut floor = Vec::with_capacity(jobs);
    let mut answer = [0u8; 64];
    for trial in 0..jobs + 100 {
        let submitted = Instant::now();
        port.write_all(&frame).await?;
        // The status packet (11 bytes) back, so the next trial finds the line idle.
        let mut got = 0;
        while got < 11 {
            got += tokio::time::timeout(Duration::from_secs(1), port.read(&mut answer[got..]))
                .await
                .context("the simulator did not answer within 1 s")??;
        }
        let first_byte = rig
            .counters()
            .timed_instructions()
            .into_iter()
            .rev()
            .find(|(_, packet)| is_torque_write(packet))
            .map(|(at, _)| at)
            .filter(|at| *at >= submitted)
            .with_context(|| format!("pty trial {trial}: the simulator heard no torque write"))?;
        if trial >= 100 {
            floor.push(first_byte - submitted);
        }
    }
    drop(port);
    rig.stop();
    Ok((latencies, floor))
}
