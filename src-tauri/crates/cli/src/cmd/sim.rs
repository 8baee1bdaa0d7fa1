//! `drivedeck-cli sim`: simulated drives on a pseudo-terminal.
//!
//! Prints `port: /dev/pts/N` as its first line on stdout, then serves until killed
//! (SIGINT/SIGTERM), until stdin closes when `--until-stdin-closes` is given (handy for
//! tests that own the process), or until the port vanishes (`--vanish-after`), when it
//! prints `vanished` and exits.
//!
//! Every argument is checked before the port opens: a bad one prints its reason on stderr,
//! nothing on stdout, and exits with failure.

use anyhow::{Context, bail};
use drivedeck_proto::profile::{Profile, Protocol};
use drivedeck_sim::motor::Resonance;
use drivedeck_sim::{LineFaults, RigOptions, SimRig, rig::check_ids};
use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

/// The wire protocol, as the command line spells it.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolArg {
    /// ROBOTIS DYNAMIXEL Protocol 2.0 (built-in drive: XM430-W350).
    Dynamixel2,
    /// ROBOTIS DYNAMIXEL Protocol 1.0 (built-in drive: AX-12A).
    Dynamixel1,
    /// Feetech SCS/STS (built-in drive: STS3215).
    Feetech,
    /// Modbus RTU (built-in drive: Kinco FD5P, CiA 402).
    ModbusRtu,
}

impl ProtocolArg {
    fn protocol(self) -> Protocol {
        match self {
            ProtocolArg::Dynamixel2 => Protocol::Dynamixel2,
            ProtocolArg::Dynamixel1 => Protocol::Dynamixel1,
            ProtocolArg::Feetech => Protocol::Feetech,
            ProtocolArg::ModbusRtu => Protocol::ModbusRtu,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ProtocolArg::Dynamixel2 => "dynamixel2",
            ProtocolArg::Dynamixel1 => "dynamixel1",
            ProtocolArg::Feetech => "feetech",
            ProtocolArg::ModbusRtu => "modbus-rtu",
        }
    }
}

/// A probability in [0, 1].
fn probability(text: &str) -> Result<f64, String> {
    let p: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
        return Err(format!("a probability must be between 0 and 1, not {text}"));
    }
    Ok(p)
}

/// A delay in milliseconds: finite, 0 or more, at most an hour.
fn delay_ms(text: &str) -> Result<f64, String> {
    let ms: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of milliseconds"))?;
    if !(ms.is_finite() && (0.0..=3_600_000.0).contains(&ms)) {
        return Err(format!(
            "a delay must be between 0 and 3600000 ms, not {text}"
        ));
    }
    Ok(ms)
}

/// A positive duration such as `10s`, `500ms` or `2m`.
fn duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration like 10s or 500ms: {e}"))?;
    if d.is_zero() {
        return Err("the duration must be longer than 0".into());
    }
    Ok(d)
}

/// A load resonance as `HZ,DAMPING,INERTIA`.
fn load_resonance(text: &str) -> Result<Resonance, String> {
    let numbers = text
        .split(',')
        .map(|part| {
            part.trim()
                .parse::<f64>()
                .map_err(|_| format!("`{part}` is not a number"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let [frequency, damping_ratio, inertia] = numbers[..] else {
        return Err(format!(
            "a load resonance is HZ,DAMPING,INERTIA (three numbers), not `{text}`"
        ));
    };
    let resonance = Resonance {
        inertia,
        frequency,
        damping_ratio,
    };
    if !resonance.is_valid() {
        return Err(format!(
            "a load resonance needs a positive frequency and inertia and a non-negative \
             damping ratio, not `{text}`"
        ));
    }
    Ok(resonance)
}

/// Arguments of `sim`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Wire protocol to speak.
    #[arg(long, value_enum, default_value = "dynamixel2")]
    protocol: ProtocolArg,
    /// Drive IDs on the bus, comma-separated, each once (0–252; Modbus RTU unit IDs 1–247).
    #[arg(long, value_delimiter = ',', default_value = "1,2", value_parser = clap::value_parser!(u8))]
    ids: Vec<u8>,
    /// A drive profile (TOML) instead of the protocol's built-in one; its protocol must be
    /// the one given with --protocol.
    #[arg(long)]
    profile: Option<std::path::PathBuf>,
    /// Baud rate of the simulated line (what --pace paces to).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(1..))]
    baud: u32,
    /// Deliver bytes no faster than the baud rate allows (10 bits per byte at 8N1; 11 for
    /// Modbus RTU, whose characters carry parity or a second stop bit).
    #[arg(long)]
    pace: bool,
    /// Probability that a byte is corrupted on the line (each direction), 0–1.
    #[arg(long, default_value = "0", value_parser = probability, allow_hyphen_values = true)]
    noise: f64,
    /// Probability that a byte is lost on the line (each direction), 0–1.
    #[arg(long, default_value = "0", value_parser = probability, allow_hyphen_values = true)]
    drop: f64,
    /// Extra delay before every status packet, ms.
    #[arg(long, default_value = "0", value_parser = delay_ms, allow_hyphen_values = true)]
    delay_ms: f64,
    /// Modbus RTU only: how long a drive works on a request before it answers, counted
    /// after the t3.5 silence that ends the request, ms (default 1). The other protocols
    /// take their return delay from the drive's table.
    #[arg(long, value_parser = delay_ms, allow_hyphen_values = true)]
    reply_delay_ms: Option<f64>,
    /// The port vanishes after this long (e.g. 10s), like a USB adapter pulled out.
    #[arg(long, value_parser = duration)]
    vanish_after: Option<Duration>,
    /// Couple a resonant load to every drive: `HZ,DAMPING,INERTIA` — its natural frequency
    /// against a locked output (Hz), damping ratio and inertia (kg·m²), e.g. 8,0.05,0.012.
    #[arg(long, value_parser = load_resonance)]
    load_resonance: Option<Resonance>,
    /// Seed for line faults and measurement noise (same seed, same faults).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop when standard input reaches end of file.
    #[arg(long)]
    until_stdin_closes: bool,
}

/// Runs the simulator.
pub fn run(args: Args) -> anyhow::Result<()> {
    let protocol = args.protocol.protocol();
    if args.reply_delay_ms.is_some() && protocol != Protocol::ModbusRtu {
        bail!(
            "--reply-delay-ms applies to modbus-rtu only: {} drives wait their Return Delay Time entry",
            args.protocol.name()
        );
    }
    let profile = match &args.profile {
        Some(path) => Profile::load(path).with_context(|| format!("profile {}", path.display()))?,
        None => Profile::default_for(protocol)
            .with_context(|| format!("no built-in profile for {}", args.protocol.name()))?,
    };
    if profile.protocol != protocol {
        bail!(
            "profile {} ({}) speaks {:?}, but --protocol is {}",
            profile.name,
            args.profile
                .as_ref()
                .map_or_else(|| "built in".to_owned(), |p| p.display().to_string()),
            profile.protocol,
            args.protocol.name()
        );
    }
    check_ids(protocol, &args.ids).context("--ids")?;
    let options = RigOptions {
        baud: args.baud,
        pace: args.pace,
        faults: LineFaults {
            noise: args.noise,
            drop: args.drop,
            extra_delay: Duration::from_secs_f64(args.delay_ms / 1000.0),
        },
        seed: args.seed,
        vanish_after: args.vanish_after,
        reply_delay: args
            .reply_delay_ms
            .map(|ms| Duration::from_secs_f64(ms / 1000.0)),
        load_resonance: args.load_resonance,
        ..RigOptions::default()
    };
    let rig = SimRig::spawn_with(&profile, &args.ids, options).context("starting the simulator")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "port: {}", rig.port().display())?;
    writeln!(
        stdout,
        "drives: {} × {} ({}), IDs {:?}, {} baud{}",
        args.ids.len(),
        profile.name,
        args.protocol.name(),
        args.ids,
        args.baud,
        if args.pace { ", paced" } else { "" }
    )?;
    if !options.faults.is_clean() || args.vanish_after.is_some() {
        writeln!(
            stdout,
            "faults: noise {}, drop {}, delay {} ms, vanish after {}, seed {}",
            args.noise,
            args.drop,
            args.delay_ms,
            args.vanish_after.map_or_else(
                || "never".to_owned(),
                |d| humantime::format_duration(d).to_string()
            ),
            args.seed
        )?;
    }
    stdout.flush()?;
    drop(stdout);

    let (closed, stdin_closed) = mpsc::channel::<()>();
    if args.until_stdin_closes {
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            let _ = closed.send(());
        });
    } else {
        // Nobody sends: the loop below only watches the rig.
        std::mem::forget(closed);
    }
    loop {
        match stdin_closed.recv_timeout(Duration::from_millis(50)) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if !rig.is_serving() {
            println!("vanished");
            break;
        }
    }
    rig.stop();
    Ok(())
}
