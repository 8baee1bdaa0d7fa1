//! `drivedeck-cli log`: record a session headless, from a serial port to a database.
//!
//! Connects to drives `--ids` on `--port`, polls their telemetry at `--rate-hz` for
//! `--duration`, and records every sample into `--db` (created if missing) as a session
//! named `--session`. The logger only reads: it never enables, moves or stops a drive,
//! and it leaves the drives as it found them when it ends (Ctrl-C ends it early, with
//! everything recorded so far committed).

use super::BusArgs;
use anyhow::bail;
use drivedeck_engine::{Engine, EngineConfig};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `log`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    bus: BusArgs,
    /// Telemetry polls per second.
    #[arg(long, default_value_t = 100.0)]
    rate_hz: f64,
    /// How long to record: `10s`, `500ms`, `2m`…
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Duration,
    /// The database to record into.
    #[arg(long)]
    db: PathBuf,
    /// The session's name (default: "log" and the port).
    #[arg(long)]
    session: Option<String>,
}

/// Checks the arguments before anything is opened.
fn check(args: &Args) -> anyhow::Result<()> {
    if !(args.rate_hz.is_finite() && (0.1..=10_000.0).contains(&args.rate_hz)) {
        bail!("--rate-hz {} is outside 0.1..=10000", args.rate_hz);
    }
    if args.duration.is_zero() || args.duration > Duration::from_secs(7 * 86_400) {
        bail!("--duration must be between 1 ms and 7 days");
    }
    Ok(())
}

/// Records the session.
pub fn run(args: Args) -> anyhow::Result<()> {
    check(&args)?;
    args.bus.drives()?;
    let bus = &args.bus;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut config = EngineConfig::new(&args.db);
        config.poll_hz = args.rate_hz;
        config.stop_on_shutdown = false;
        let engine = Engine::start(config)?;
        let name = args
            .session
            .clone()
            .unwrap_or_else(|| format!("log {}", bus.port));
        let notes = format!(
            "drivedeck-cli log --port {} --protocol {} --ids {:?} --baud {} --rate-hz {}",
            bus.port, bus.protocol, bus.ids, bus.baud, args.rate_hz
        );
        let session = engine.start_session(&name, &notes)?;
        bus.connect(&engine).await?;
        eprintln!(
            "recording session #{session} {name:?} into {} for {:?} (Ctrl-C stops early)",
            args.db.display(),
            args.duration
        );
        let started = Instant::now();
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = &mut ctrl_c => { eprintln!("interrupted"); break; }
                _ = tick.tick() => {
                    if started.elapsed() >= args.duration { break; }
                    if let Some(failure) = engine.store_failure() {
                        eprintln!("recording stopped: {failure}");
                        break;
                    }
                }
                _ = tokio::time::sleep(args.duration.saturating_sub(started.elapsed())) => break,
            }
        }
        let health = engine
            .links()
            .first()
            .and_then(|l| engine.link_health(l.id));
        engine.shutdown().await;
        let reader = engine.reader()?;
        let row = reader.session(session)?;
        let seconds = started.elapsed().as_secs_f64();
        println!("session: #{} {:?}", row.id, row.name);
        println!(
            "samples: {} ({} channels)",
            row.samples,
            reader.channels(session)?.len()
        );
        if let Some(h) = health {
            println!(
                "poll rate: {:.1} Hz achieved of {:.1} Hz; timeouts {}, corrupt {}, retries {}",
                h.poll_hz, args.rate_hz, h.timeouts, h.corrupt, h.retries
            );
        }
        println!("duration: {seconds:.1} s");
        if let Some(failure) = engine.store_failure() {
            bail!("the store stopped recording: {failure}");
        }
        Ok(())
    })
}
