//! `drivedeck-cli estop`: stop every drive on a port, now.
//!
//! For the bench without the app (a script went wrong, the app crashed and left a drive
//! enabled): connects to the drives `--ids` on `--port` and sends each its profile's
//! safe stop — broadcast where the protocol has one, then every drive read back and, if
//! it is not stopped, stopped on its own. Exits with failure unless every drive
//! confirmed. The job is journaled into `--db` when given.
//!
//! While DriveDeck holds the port (ports are opened exclusively) the open fails with a
//! message saying so: the app's own E-stop (the button, or Esc) is the one to use then.

use super::BusArgs;
use anyhow::{Context, bail};
use drivedeck_domain::{Command, JobState};
use drivedeck_engine::{Engine, EngineConfig};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `estop`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    bus: BusArgs,
    /// A database to journal the E-stop into (default: none kept).
    #[arg(long)]
    db: Option<PathBuf>,
}

/// Stops the drives; fails unless every one confirmed.
pub fn run(args: Args) -> anyhow::Result<()> {
    args.bus.drives()?;
    let scratch = tempfile::tempdir().context("a temporary folder")?;
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| scratch.path().join("estop.db"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut config = EngineConfig::new(&db);
        // Only the stop: no telemetry to speak of, nothing sent again at the end.
        config.poll_hz = 1.0;
        config.stop_on_shutdown = false;
        let engine = Engine::start(config)?;
        args.bus.connect(&engine).await?;
        let asked = Instant::now();
        let outcome = match engine.submit(Command::EStop) {
            Ok(job) => tokio::time::timeout(Duration::from_secs(5), job.outcome())
                .await
                .unwrap_or(JobState::TimedOut),
            Err(e) => JobState::Failed {
                reason: e.to_string(),
            },
        };
        let took = asked.elapsed();
        engine.flush()?;
        let stopped: Vec<String> = engine
            .reader()?
            .drives(engine.session())?
            .into_iter()
            .filter_map(|row| row.status)
            .map(|s| {
                let state = if s.enabled {
                    "STILL ENABLED"
                } else {
                    "stopped"
                };
                format!("drive {}: {state}", s.drive.id)
            })
            .collect();
        engine.shutdown().await;
        for line in &stopped {
            println!("{line}");
        }
        match outcome {
            JobState::Done => {
                println!(
                    "E-stop: every drive confirmed stopped in {:.1} ms",
                    took.as_secs_f64() * 1e3
                );
                Ok(())
            }
            other => bail!(
                "E-stop {}: {}",
                other.name(),
                other.reason().unwrap_or("no confirmation in 5 s")
            ),
        }
    })
}
