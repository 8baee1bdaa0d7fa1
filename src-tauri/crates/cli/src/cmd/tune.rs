//! `drivedeck-cli tune`: run a tuning test on a real or simulated drive, or analyse a
//! stored run again.
//!
//! `tune step|ramp|chirp|prbs|multisine|relay --port P --protocol X --ids N` connects,
//! takes the drive's safe default test of that kind (the engine's defaults: sized to its
//! travel, velocity limit and the link's rate), overrides what the flags give, runs it as
//! one job and prints the run's results. A disabled drive is refused unless `--enable`
//! is given: then the drive is put in the test's mode, armed and enabled first, and
//! disabled again at the end (DriveDeck never leaves a drive enabled that it enabled
//! itself for a test). `tune analyze --db FILE --run N` re-analyses a stored run;
//! `tune identify|suggest|predict --db FILE --run N` model it, suggest gains and predict
//! them; `tune compare --db FILE --runs N,M` compares runs (see `tune_model`).
//!
//! `--start-at RAD` moves the drive there first (position mode), so a test that swings
//! both ways has room on each side.
//!
//! Values are SI in the tested loop's unit: radians for the position loop, rad/s for
//! the velocity loop; times in seconds, frequencies in hertz.

use super::BusArgs;
use anyhow::{anyhow, bail};
use drivedeck_domain::{Command, DriveMode, DriveRef, Excitation, JobState, SweepKind, TestSpec};
use drivedeck_engine::api::{Api, RunResults, RunView};
use drivedeck_engine::{Engine, EngineConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The test to run, or `analyze`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Steps up and down.
    Step,
    /// A constant-rate ramp.
    Ramp,
    /// A swept sine (frequency response).
    Chirp,
    /// A pseudo-random binary sequence (frequency response).
    Prbs,
    /// A sum of sines (frequency response).
    Multisine,
    /// Relay feedback (ultimate gain and period), velocity loop.
    Relay,
    /// Re-analyse a stored run (`--db`, `--run`).
    Analyze,
    /// Fit a mechanical model to a stored run (`--db`, `--run`).
    Identify,
    /// Suggest gains for a target on a stored run's model (`--db`, `--run`, a target).
    Suggest,
    /// Predict gains on a stored run's model (`--db`, `--run`, `--model-run`, `--gain`).
    Predict,
    /// Compare stored runs (`--db`, `--runs N,M,…`, `--export FORMAT`).
    Compare,
    /// Estimate the step response from a session's ordinary moves (`--db`, `--session`,
    /// `--drive`, `--from`, `--to`).
    Passive,
}

/// The loop a test excites.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopArg {
    /// Goal position.
    Position,
    /// Goal velocity.
    Velocity,
}

/// Arguments of `tune`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The test (or `analyze`).
    kind: Kind,
    /// Serial port (e.g. /dev/ttyUSB0, COM3, or a simulator's /dev/pts/N); not for `analyze`.
    #[arg(long)]
    port: Option<String>,
    /// Wire protocol.
    #[arg(long, default_value = "dynamixel2", value_parser = ["dynamixel2", "dynamixel1", "feetech", "modbus-rtu"])]
    protocol: String,
    /// Drive IDs on the bus, comma-separated; the test runs on the first.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=252))]
    ids: Vec<u8>,
    /// Baud rate.
    #[arg(long, default_value_t = 57_600)]
    baud: u32,
    /// Drive profile (TOML); default: the built-in profile of the protocol.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// The loop to excite (default: the drive's current mode).
    #[arg(long = "loop", value_enum)]
    test_loop: Option<LoopArg>,
    /// Arm and enable a disabled drive first (and disable it at the end).
    #[arg(long)]
    enable: bool,
    /// The database the run is kept in (default: the app's, in its data folder).
    #[arg(long)]
    db: Option<PathBuf>,
    /// `analyze`: the run to analyse again.
    #[arg(long)]
    run: Option<i64>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
    /// Step: size (rad or rad/s).
    #[arg(long)]
    size: Option<f64>,
    /// Step: how long each level is held, s.
    #[arg(long)]
    hold: Option<f64>,
    /// Step: up-and-down cycles.
    #[arg(long)]
    repeats: Option<u32>,
    /// Ramp: slope (rad/s, or rad/s² in the velocity loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Ramp, chirp, relay: duration, s.
    #[arg(long)]
    duration: Option<f64>,
    /// Chirp: first frequency, Hz.
    #[arg(long)]
    start_hz: Option<f64>,
    /// Chirp: last frequency, Hz.
    #[arg(long)]
    end_hz: Option<f64>,
    /// Chirp, PRBS, multisine, relay: amplitude (rad or rad/s).
    #[arg(long)]
    amplitude: Option<f64>,
    /// Chirp: linear sweep instead of logarithmic.
    #[arg(long)]
    linear: bool,
    /// Chirp: amplitude falling as 1/f.
    #[arg(long)]
    falling: bool,
    /// PRBS: register order (2–20).
    #[arg(long)]
    order: Option<u32>,
    /// PRBS: bit time, s.
    #[arg(long)]
    bit_time: Option<f64>,
    /// PRBS, multisine: periods played.
    #[arg(long)]
    periods: Option<u32>,
    /// Multisine: tones, Hz, comma-separated.
    #[arg(long, value_delimiter = ',')]
    tones: Option<Vec<f64>>,
    /// Multisine: period, s.
    #[arg(long)]
    period: Option<f64>,
    /// Relay: hysteresis on the position, rad.
    #[arg(long)]
    hysteresis: Option<f64>,
    /// Travel window: the run is aborted beyond ± this from the start, rad.
    #[arg(long)]
    window: Option<f64>,
    /// Held before and after the excitation, s.
    #[arg(long)]
    settle: Option<f64>,
    /// Move the drive to this position (rad) first, and start the test there.
    #[arg(long)]
    start_at: Option<f64>,
    /// `predict`: the run whose model predicts (default: `--run`'s own).
    #[arg(long)]
    model_run: Option<i64>,
    /// `suggest`: the closed loop's −3 dB bandwidth to reach, Hz.
    #[arg(long, conflicts_with = "target_phase_margin_deg")]
    target_bandwidth_hz: Option<f64>,
    /// `suggest`: the phase margin to keep, degrees (the fastest loop that keeps it).
    #[arg(long)]
    target_phase_margin_deg: Option<f64>,
    /// `suggest`: the placed poles' damping ratio (default 0.9).
    #[arg(long)]
    damping: Option<f64>,
    /// `suggest`: place an integral too.
    #[arg(long)]
    integral: bool,
    /// `predict`: a gain to predict with, NAME=COUNTS (repeatable).
    #[arg(long = "gain")]
    gains: Vec<String>,
    /// `passive`: the session.
    #[arg(long)]
    session: Option<i64>,
    /// `passive`: the drive, LINK:ID (e.g. 1:1).
    #[arg(long)]
    drive: Option<String>,
    /// `passive`: the range's start, s from the session's start.
    #[arg(long)]
    from: Option<f64>,
    /// `passive`: the range's end, s from the session's start.
    #[arg(long)]
    to: Option<f64>,
    /// `compare`: the runs, comma-separated.
    #[arg(long, value_delimiter = ',')]
    runs: Vec<i64>,
    /// `compare`: also write the comparison as a report: png, svg, csv or json.
    #[arg(long, value_parser = ["png", "svg", "csv", "json"])]
    export: Option<String>,
}

/// The test the flags ask for, from the drive's default of that kind.
fn build_test(args: &Args, defaults: &[TestSpec]) -> anyhow::Result<TestSpec> {
    let name = match args.kind {
        Kind::Step => "step",
        Kind::Ramp => "ramp",
        Kind::Chirp => "chirp",
        Kind::Prbs => "prbs",
        Kind::Multisine => "multisine",
        Kind::Relay => "relay",
        Kind::Analyze
        | Kind::Identify
        | Kind::Suggest
        | Kind::Predict
        | Kind::Compare
        | Kind::Passive => {
            bail!("{:?} runs no test", args.kind)
        }
    };
    let mut test = defaults
        .iter()
        .find(|t| t.excitation.name() == name)
        .cloned()
        .ok_or_else(|| {
            anyhow!("no {name} test in this drive's loop (the relay runs in velocity mode)")
        })?;
    if let Some(window) = args.window {
        test.travel_window_rad = window;
    }
    if let Some(settle) = args.settle {
        test.settle_s = settle;
    }
    match &mut test.excitation {
        Excitation::Step {
            size,
            hold_s,
            repeats,
        } => {
            set(size, args.size);
            set(hold_s, args.hold);
            set(repeats, args.repeats);
        }
        Excitation::Ramp { rate, duration_s } => {
            set(rate, args.rate);
            set(duration_s, args.duration);
        }
        Excitation::Chirp {
            start_hz,
            end_hz,
            amplitude,
            duration_s,
            sweep,
            falling_amplitude,
        } => {
            set(start_hz, args.start_hz);
            set(end_hz, args.end_hz);
            set(amplitude, args.amplitude);
            set(duration_s, args.duration);
            if args.linear {
                *sweep = SweepKind::Linear;
            }
            *falling_amplitude |= args.falling;
        }
        Excitation::Prbs {
            order,
            bit_time_s,
            amplitude,
            periods,
        } => {
            set(order, args.order);
            set(bit_time_s, args.bit_time);
            set(amplitude, args.amplitude);
            set(periods, args.periods);
        }
        Excitation::Multisine {
            frequencies_hz,
            amplitude,
            period_s,
            periods,
        } => {
            if let Some(tones) = &args.tones {
                *frequencies_hz = tones.clone();
            }
            set(amplitude, args.amplitude);
            set(period_s, args.period);
            set(periods, args.periods);
        }
        Excitation::Relay {
            amplitude,
            hysteresis,
            duration_s,
        } => {
            set(amplitude, args.amplitude);
            set(hysteresis, args.hysteresis);
            set(duration_s, args.duration);
        }
    }
    Ok(test)
}

fn set<T: Copy>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// An offline command on stored runs (see `tune_model`).
type OfflineCommand = fn(&Api, &super::tune_model::ModelArgs) -> anyhow::Result<String>;

fn model_args(args: &Args) -> super::tune_model::ModelArgs {
    super::tune_model::ModelArgs {
        run: args.run,
        model_run: args.model_run,
        bandwidth_hz: args.target_bandwidth_hz,
        phase_margin_deg: args.target_phase_margin_deg,
        damping: args.damping,
        integral: args.integral,
        gains: args.gains.clone(),
        runs: args.runs.clone(),
        session: args.session,
        drive: args.drive.clone(),
        from: args.from,
        to: args.to,
        export: args.export.clone(),
        json: args.json,
    }
}

/// Runs the test or the analysis.
pub fn run(args: Args) -> anyhow::Result<()> {
    let db = match &args.db {
        Some(db) => db.clone(),
        None => super::default_db()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut config = EngineConfig::new(&db);
        // A headless run has no window to send heartbeats: the run's own limits and
        // the drive's watchdog guard it.
        config.heartbeat_timeout = None;
        let engine = Arc::new(Engine::start(config)?);
        let api = Api::new(Arc::clone(&engine))?;
        let offline = match args.kind {
            Kind::Identify => Some(super::tune_model::identify as OfflineCommand),
            Kind::Suggest => Some(super::tune_model::suggest as OfflineCommand),
            Kind::Predict => Some(super::tune_model::predict as OfflineCommand),
            Kind::Compare => Some(super::tune_model::compare as OfflineCommand),
            Kind::Passive => Some(super::tune_model::passive as OfflineCommand),
            _ => None,
        };
        if let Some(command) = offline {
            let result = command(&api, &model_args(&args));
            engine.shutdown().await;
            print!("{}", result?);
            return Ok(());
        }
        let result = match args.kind {
            Kind::Analyze => {
                let id = args.run.ok_or_else(|| anyhow!("analyze needs --run N"))?;
                api.tune_analyze(id)?;
                Ok(api.tune_run(id)?)
            }
            _ => run_test(&args, &engine, &api).await,
        };
        engine.shutdown().await;
        let view = result?;
        if args.json {
            println!("{}", serde_json::to_string(&json(&view))?);
        } else {
            print!("{}", summary(&view));
        }
        Ok(())
    })
}

async fn run_test(args: &Args, engine: &Arc<Engine>, api: &Api) -> anyhow::Result<RunView> {
    let (Some(port), false) = (&args.port, args.ids.is_empty()) else {
        bail!("a test needs --port and --ids (and --protocol, --baud)");
    };
    let bus = &BusArgs {
        port: port.clone(),
        protocol: args.protocol.clone(),
        ids: args.ids.clone(),
        baud: args.baud,
        profile: args.profile.clone(),
    };
    bus.drives()?;
    bus.connect(engine).await?;
    let drive = DriveRef {
        link: 1,
        id: *bus
            .ids
            .first()
            .ok_or_else(|| anyhow!("--ids names no drive"))?,
    };
    let status = engine
        .drive_status(drive)
        .ok_or_else(|| anyhow!("drive {} did not answer on {}", drive.id, bus.port))?;
    let wanted = match args.test_loop {
        Some(LoopArg::Position) => DriveMode::Position,
        Some(LoopArg::Velocity) => DriveMode::Velocity,
        None if args.kind == Kind::Relay => DriveMode::Velocity,
        None => status.mode,
    };
    let enabled_here = if status.enabled {
        false
    } else if args.enable {
        if status.mode != wanted {
            expect_done(
                engine,
                Command::SetMode {
                    drive,
                    mode: wanted,
                },
            )
            .await?;
        }
        expect_done(engine, Command::Arm { drive }).await?;
        expect_done(engine, Command::Enable { drive }).await?;
        true
    } else {
        bail!(
            "drive {} is not enabled: give --enable to arm and enable it for the test",
            drive.id
        );
    };
    let outcome = async {
        if let Some(at) = args.start_at {
            expect_done(
                engine,
                Command::SetTarget {
                    drive,
                    target: drivedeck_domain::Target::Position(at),
                },
            )
            .await?;
            let mut waited = Duration::ZERO;
            while engine
                .tune_start(drive)
                .and_then(|(p, _)| p)
                .is_none_or(|p| (p - at).abs() > 1f64.to_radians())
            {
                if waited > Duration::from_secs(10) {
                    bail!("drive {} did not reach {at} rad in 10 s", drive.id);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                waited += Duration::from_millis(20);
            }
            // Let it settle there.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        // The first telemetry gives the position the test starts from.
        let mut waited = Duration::ZERO;
        while engine.tune_start(drive).and_then(|(p, _)| p).is_none() {
            if waited > Duration::from_secs(3) {
                bail!("no reading of drive {} came in 3 s", drive.id);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += Duration::from_millis(20);
        }
        let defaults = api.tune_defaults(drive)?;
        if defaults.test_loop.mode() != wanted {
            bail!(
                "drive {} is in {} mode; the test wants {} (give --enable on a disabled drive to switch)",
                drive.id,
                defaults.test_loop.name(),
                match wanted {
                    DriveMode::Position => "position",
                    DriveMode::Velocity => "velocity",
                }
            );
        }
        let test = build_test(args, &defaults.tests)?;
        let id = api.tune_start(drive, test)?;
        api.tune_wait(id).await?;
        Ok(api.tune_run(id as i64)?)
    }
    .await;
    if enabled_here {
        expect_done(engine, Command::Disable { drive }).await?;
    }
    outcome
}

async fn expect_done(engine: &Engine, command: Command) -> anyhow::Result<()> {
    let name = command.name();
    match engine.run(command).await? {
        JobState::Done => Ok(()),
        other => bail!("{name} did not succeed: {other:?}"),
    }
}

/// The JSON the CLI prints: the run, its rate and the results in snake_case.
fn json(view: &RunView) -> serde_json::Value {
    let s = &view.summary;
    let results = view.results.as_ref();
    let mut metrics = serde_json::Map::new();
    if let Some(r) = results {
        if let Some(step) = &r.step {
            let m = &step.against_step;
            metrics.insert("rise_time_s".into(), m.rise_time_s.into());
            metrics.insert("delay_s".into(), m.delay_s.into());
            metrics.insert("overshoot_pct".into(), m.overshoot_pct.into());
            metrics.insert("settling_time_s".into(), m.settling_time_2pct_s.into());
            metrics.insert("settling_time_5pct_s".into(), m.settling_time_5pct_s.into());
            metrics.insert("steady_state_error".into(), m.steady_state_error.into());
            metrics.insert("iae".into(), m.iae.into());
            metrics.insert("peak_effort".into(), m.peak_effort.into());
        }
        if let Some(frf) = &r.frf {
            metrics.insert("bandwidth_hz".into(), frf.bandwidth_hz.into());
            if let Some(m) = &frf.margins {
                metrics.insert("gain_margin_db".into(), m.gain_margin_db.into());
                metrics.insert("phase_margin_deg".into(), m.phase_margin_deg.into());
                metrics.insert("delay_margin_s".into(), m.delay_margin_s.into());
                metrics.insert("peak_sensitivity".into(), m.peak_sensitivity.into());
            }
        }
        if let Some(relay) = &r.relay {
            metrics.insert("ultimate_gain".into(), relay.ultimate_gain.into());
            metrics.insert("ultimate_period_s".into(), relay.ultimate_period_s.into());
        }
    }
    let frf = results.and_then(|r| r.frf.as_ref()).map(|f| {
        let t = &f.closed_loop;
        serde_json::json!({
            "freq_hz": t.freq_hz,
            "magnitude_db": t.magnitude_db,
            "phase_deg": t.phase_deg,
            "coherence": t.coherence,
            "trusted": t.trusted,
        })
    });
    serde_json::json!({
        "run": s.id,
        "session": s.session,
        "drive": s.drive.id,
        "test": s.test,
        "loop": s.test_loop,
        "state": s.state,
        "reason": s.reason,
        "achieved_rate_hz": s.achieved_rate_hz,
        "jitter_s": s.jitter_ms.map(|ms| ms / 1000.0),
        "wire_limit_hz": view.wire_limit_hz,
        "rate_of_limit_pct": results.map(|r| r.rate_of_limit_pct),
        "observable_hz": results.map(|r| r.observable.highest_hz),
        "clock": view.clock,
        "gains": view.gains.iter().map(|g| (g.name.clone(), g.value)).collect::<Vec<_>>(),
        "metrics": metrics,
        "frf": frf,
        "notes": results.map(|r| r.notes.clone()).unwrap_or_default(),
    })
}

/// A readable summary of a run.
fn summary(view: &RunView) -> String {
    use std::fmt::Write;
    let s = &view.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run {} ({} on drive {}, {} loop): {}{}",
        s.id,
        s.test,
        s.drive.id,
        s.test_loop,
        s.state,
        s.reason
            .as_ref()
            .map(|r| format!(" — {r}"))
            .unwrap_or_default()
    );
    if let Some(rate) = s.achieved_rate_hz {
        let _ = writeln!(
            out,
            "  read at {rate:.0} Hz (wire limit {:.0} Hz), jitter {:.3} ms, clock: {}",
            view.wire_limit_hz,
            s.jitter_ms.unwrap_or(0.0),
            view.clock
        );
    }
    let Some(r): Option<&RunResults> = view.results.as_ref() else {
        let _ = writeln!(out, "  not analysed");
        return out;
    };
    let opt = |v: Option<f64>, scale: f64, unit: &str| {
        v.map_or("—".to_string(), |v| format!("{:.3} {unit}", v * scale))
    };
    if let Some(step) = &r.step {
        let m = &step.against_step;
        let _ = writeln!(
            out,
            "  rise {}  delay {}  overshoot {:.1} %  settling (2 %) {}  steady-state error {:.5}",
            opt(m.rise_time_s, 1000.0, "ms"),
            opt(m.delay_s, 1000.0, "ms"),
            m.overshoot_pct,
            opt(m.settling_time_2pct_s, 1000.0, "ms"),
            m.steady_state_error
        );
    }
    if let Some(frf) = &r.frf {
        let _ = write!(out, "  bandwidth {}", opt(frf.bandwidth_hz, 1.0, "Hz"));
        if let Some(m) = &frf.margins {
            let _ = write!(
                out,
                "  gain margin {}  phase margin {}  Ms {:.2}",
                opt(m.gain_margin_db, 1.0, "dB"),
                opt(m.phase_margin_deg, 1.0, "°"),
                m.peak_sensitivity
            );
        }
        let _ = writeln!(out);
    }
    if let Some(relay) = &r.relay {
        let _ = writeln!(
            out,
            "  ultimate gain {:.4}  ultimate period {:.1} ms",
            relay.ultimate_gain,
            relay.ultimate_period_s * 1000.0
        );
    }
    let _ = writeln!(
        out,
        "  observable up to {:.1} Hz ({:?})",
        r.observable.highest_hz, r.observable.limited_by
    );
    for note in &r.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    out
}
