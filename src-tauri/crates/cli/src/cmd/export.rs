//! `drivedeck-cli export`: a recorded session (or part of it) as CSV, PNG or SVG.
//!
//! `--session` takes a session's name (the newest of that name) or `#ID`; `--from` and
//! `--to` are seconds since the session started; `--channels` picks channels by name
//! (`position`: every drive's) or by drive and name (`2:position`); `--units` writes a
//! CSV's angles and speeds in degrees and rpm or turns and rps (default: SI, rad and
//! rad/s, as stored). The store is opened read-only: exporting never changes the
//! database.

use anyhow::{Context, bail};
use drivedeck_store::Reader;
use drivedeck_store::export::{
    ChartFormat, ColumnUnit, ExportRange, column_name, write_chart, write_csv_in,
};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `export`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("format").required(true).args(["csv", "png", "svg"])))]
pub struct Args {
    /// The DriveDeck database.
    #[arg(long)]
    db: PathBuf,
    /// The session: its name (the newest with that name) or #ID.
    #[arg(long)]
    session: String,
    /// Start, seconds since the session started.
    #[arg(long)]
    from: Option<f64>,
    /// End, seconds since the session started.
    #[arg(long)]
    to: Option<f64>,
    /// Write CSV here (`-`: standard output).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Draw a PNG chart here.
    #[arg(long)]
    png: Option<PathBuf>,
    /// Draw an SVG chart here.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Channels: `NAME` (every drive's) or `ID:NAME` (one drive's), comma-separated.
    #[arg(long, value_delimiter = ',')]
    channels: Vec<String>,
    /// Chart size in pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1600x900", value_parser = parse_size)]
    size: (u32, u32),
    /// The units of a CSV's angles and speeds.
    #[arg(long, value_enum, default_value_t = Units::Si)]
    units: Units,
}

/// The unit systems of `--units`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Units {
    /// rad and rad/s, as stored.
    Si,
    /// Degrees and rpm.
    Degrees,
    /// Turns and rps.
    Turns,
}

impl Units {
    fn columns(self) -> Vec<ColumnUnit> {
        let unit = |si_unit: &str, unit: &str, per_si: f64| ColumnUnit {
            si_unit: si_unit.into(),
            unit: unit.into(),
            per_si,
        };
        let tau = std::f64::consts::TAU;
        match self {
            Units::Si => Vec::new(),
            Units::Degrees => vec![
                unit("rad", "°", 360.0 / tau),
                unit("rad/s", "rpm", 60.0 / tau),
            ],
            Units::Turns => vec![
                unit("rad", "turn", 1.0 / tau),
                unit("rad/s", "rps", 1.0 / tau),
            ],
        }
    }
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{text:?} is not WIDTHxHEIGHT"))?;
    let parse = |v: &str| -> Result<u32, String> {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|v| (100..=8000).contains(v))
            .ok_or_else(|| format!("{v:?} is not a size between 100 and 8000 pixels"))
    };
    Ok((parse(w)?, parse(h)?))
}

/// Finds the session by `#ID` or name.
pub fn find_session(reader: &Reader, spec: &str) -> anyhow::Result<drivedeck_store::SessionRow> {
    let found = match spec.strip_prefix('#').map(str::parse::<i64>) {
        Some(Ok(id)) => reader.session(id),
        Some(Err(_)) => bail!("{spec:?} is not a session ID (#N)"),
        None => reader.session_named(spec),
    };
    found.or_else(|e| {
        let recent: Vec<String> = reader
            .sessions(None)?
            .into_iter()
            .take(8)
            .map(|s| format!("#{} {:?}", s.id, s.name))
            .collect();
        bail!(
            "{e}; recent sessions: {}",
            if recent.is_empty() {
                "none".into()
            } else {
                recent.join(", ")
            }
        )
    })
}

/// Runs the export.
pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.db.exists() {
        bail!("{}: no such database", args.db.display());
    }
    let reader = Reader::open(&args.db)?;
    let session = find_session(&reader, &args.session)?;
    let channels = reader.channels(session.id)?;
    let mut picked = Vec::new();
    for spec in &args.channels {
        let (drive, name) = match spec.split_once(':') {
            Some((id, name)) => (
                Some(
                    id.trim()
                        .parse::<u8>()
                        .with_context(|| format!("{spec:?}: {id:?} is not a drive ID"))?,
                ),
                name.trim(),
            ),
            None => (None, spec.trim()),
        };
        let matching: Vec<i64> = channels
            .iter()
            .filter(|c| c.name == name && drive.is_none_or(|d| c.drive.id == d))
            .map(|c| c.id)
            .collect();
        if matching.is_empty() {
            let known: Vec<String> = channels.iter().map(column_name).collect();
            bail!(
                "no channel {spec:?} in session {:?}; it has: {}",
                session.name,
                known.join(", ")
            );
        }
        picked.extend(matching);
    }
    let range = ExportRange {
        session: session.id,
        channels: picked,
        from_s: args.from,
        to_s: args.to,
    };
    if let Some(out) = &args.csv {
        let rows = if out.as_os_str() == "-" {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            let rows = write_csv_in(&reader, &range, &args.units.columns(), &mut lock)?;
            lock.flush()?;
            rows
        } else {
            // Written beside the target and renamed: a failed export leaves no half file.
            let tmp = out.with_extension("csv.part");
            let file = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot create {}", tmp.display()))?;
            let mut writer = std::io::BufWriter::new(file);
            let units = args.units.columns();
            let rows = write_csv_in(&reader, &range, &units, &mut writer).inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })?;
            writer.flush()?;
            drop(writer);
            std::fs::rename(&tmp, out)?;
            rows
        };
        if out.as_os_str() != "-" {
            eprintln!(
                "{} rows of session {:?} → {}",
                rows,
                session.name,
                out.display()
            );
        }
    }
    for (path, format) in [(&args.png, ChartFormat::Png), (&args.svg, ChartFormat::Svg)] {
        if let Some(path) = path {
            write_chart(&reader, &range, format, path, args.size)?;
            eprintln!("chart of session {:?} → {}", session.name, path.display());
        }
    }
    Ok(())
}
