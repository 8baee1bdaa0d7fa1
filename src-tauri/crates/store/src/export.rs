//! Exports of a session (or a part of it): CSV for spreadsheets, PNG and SVG charts.
//!
//! - CSV: first column `time_s` (seconds since the session started), then one column
//!   per channel named with its drive, channel and unit (`link1.drive2 position [rad]`).
//!   A row per distinct sample time; a channel with no sample at that time leaves its
//!   cell empty. Read chunk by chunk, so a session of any length streams out. Values are
//!   SI as stored, or converted to the units the user reads ([`ColumnUnit`]: degrees and
//!   rpm, say), the header naming the unit written.
//! - PNG / SVG: drawn with plotters — one panel per unit, stacked on a shared time axis,
//!   a line per channel, a title, axis labels with units, a legend. The lines come from
//!   the same decimated windows the app's charts use. Text uses the DejaVu Sans font
//!   built into the binary, so a machine without fonts renders the same image.

use crate::reader::{ChannelRow, Reader, SampleRow};
use crate::{SessionId, StoreError};
use drivedeck_domain::Micros;
use plotters::prelude::*;
use std::io::Write;
use std::path::Path;

/// What to export.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportRange {
    /// The session.
    pub session: SessionId,
    /// Channel IDs; empty means every channel of the session.
    pub channels: Vec<i64>,
    /// From this many seconds after the session started (default: its start).
    pub from_s: Option<f64>,
    /// Up to this many seconds after the session started (default: its end).
    pub to_s: Option<f64>,
}

/// A chart's file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartFormat {
    /// A bitmap.
    Png,
    /// A vector drawing.
    Svg,
}

/// A channel unit written converted: every channel stored in `si_unit` is written in
/// `unit`, its values multiplied by `per_si` (degrees: `rad`, `°`, 180/π).
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnUnit {
    /// The stored (SI) unit this applies to.
    pub si_unit: String,
    /// The unit written.
    pub unit: String,
    /// Written value per SI value.
    pub per_si: f64,
}

/// The column name of a channel: drive, channel and unit.
pub fn column_name(channel: &ChannelRow) -> String {
    column_name_in(channel, &channel.unit)
}

fn column_name_in(channel: &ChannelRow, unit: &str) -> String {
    format!(
        "link{}.drive{} {} [{}]",
        channel.drive.link, channel.drive.id, channel.name, unit
    )
}

/// A CSV field, quoted when it must be (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The channels and the time bounds (µs, inclusive) a range selects.
fn resolve(
    reader: &Reader,
    range: &ExportRange,
) -> Result<(Vec<ChannelRow>, Micros, Micros, Micros), StoreError> {
    let session = reader.session(range.session)?;
    let all = reader.channels(range.session)?;
    let channels: Vec<ChannelRow> = if range.channels.is_empty() {
        all
    } else {
        range
            .channels
            .iter()
            .map(|id| {
                all.iter().find(|c| c.id == *id).cloned().ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "channel {id} is not recorded in session {}",
                        range.session
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    if channels.is_empty() {
        return Err(StoreError::Invalid(format!(
            "session {:?} has no recorded samples to export",
            session.name
        )));
    }
    for (name, v) in [("from", range.from_s), ("to", range.to_s)] {
        if let Some(v) = v
            && !v.is_finite()
        {
            return Err(StoreError::Invalid(format!("--{name} {v} is not a number")));
        }
    }
    let to_us = |s: f64| session.started_us.saturating_add((s * 1e6).round() as i64);
    let t0 = range.from_s.map_or(i64::MIN, to_us);
    let t1 = range.to_s.map_or(i64::MAX, to_us);
    if t0 > t1 {
        return Err(StoreError::Invalid(format!(
            "the range starts ({:?} s) after it ends ({:?} s)",
            range.from_s, range.to_s
        )));
    }
    Ok((channels, t0, t1, session.started_us))
}

/// Streams one channel's samples in `[t0, t1]`, a few chunks at a time.
struct ChannelStream<'a> {
    reader: &'a Reader,
    channel: i64,
    t1: Micros,
    next_idx: u64,
    rows: std::collections::VecDeque<SampleRow>,
    pos: usize,
    done: bool,
}

impl<'a> ChannelStream<'a> {
    fn new(reader: &'a Reader, channel: i64, t0: Micros, t1: Micros) -> Result<Self, StoreError> {
        let start = if t0 == i64::MIN {
            0
        } else {
            reader.cursor_at(channel, t0)?
        };
        Ok(ChannelStream {
            reader,
            channel,
            t1,
            next_idx: start,
            rows: Default::default(),
            pos: 0,
            done: false,
        })
    }

    /// The next sample without taking it.
    fn peek(&mut self) -> Result<Option<(Micros, f32)>, StoreError> {
        loop {
            if self.done {
                return Ok(None);
            }
            if let Some(row) = self.rows.front() {
                let skip = self.next_idx.saturating_sub(row.idx0) as usize;
                let at = skip.max(self.pos);
                if at < row.times.len() {
                    self.pos = at;
                    let t = row.times[at];
                    if t > self.t1 {
                        self.done = true;
                        return Ok(None);
                    }
                    return Ok(Some((t, row.values[at])));
                }
                self.rows.pop_front();
                self.pos = 0;
                continue;
            }
            let rows = self
                .reader
                .sample_rows_from_index(self.channel, self.next_idx, 16)?;
            if rows.is_empty() {
                self.done = true;
                return Ok(None);
            }
            self.rows.extend(rows);
        }
    }

    fn advance(&mut self) {
        self.pos += 1;
        self.next_idx += 1;
    }
}

/// Writes the range as CSV; returns the data rows written.
pub fn write_csv(
    reader: &Reader,
    range: &ExportRange,
    out: &mut dyn Write,
) -> Result<u64, StoreError> {
    write_csv_in(reader, range, &[], out)
}

/// [`write_csv`] with the channels stored in a unit of `units` written in its
/// converted unit (the others as stored).
pub fn write_csv_in(
    reader: &Reader,
    range: &ExportRange,
    units: &[ColumnUnit],
    out: &mut dyn Write,
) -> Result<u64, StoreError> {
    let (channels, t0, t1, started) = resolve(reader, range)?;
    let io = |e: std::io::Error| StoreError::Io {
        path: "CSV output".into(),
        error: e.to_string(),
    };
    let conversion: Vec<Option<&ColumnUnit>> = channels
        .iter()
        .map(|c| units.iter().find(|u| u.si_unit == c.unit))
        .collect();
    let mut header = String::from("time_s");
    for (channel, unit) in channels.iter().zip(&conversion) {
        header.push(',');
        let name = match unit {
            Some(u) => column_name_in(channel, &u.unit),
            None => column_name(channel),
        };
        header.push_str(&csv_field(&name));
    }
    header.push_str("\r\n");
    out.write_all(header.as_bytes()).map_err(io)?;
    let mut streams = channels
        .iter()
        .map(|c| ChannelStream::new(reader, c.id, t0, t1))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = 0u64;
    let mut line = String::new();
    loop {
        let mut heads = Vec::with_capacity(streams.len());
        for stream in &mut streams {
            heads.push(stream.peek()?);
        }
        let Some(t) = heads.iter().flatten().map(|(t, _)| *t).min() else {
            break;
        };
        line.clear();
        line.push_str(&format!("{:.6}", (t - started) as f64 / 1e6));
        for ((stream, head), unit) in streams.iter_mut().zip(&heads).zip(&conversion) {
            line.push(',');
            if let Some((ht, v)) = head
                && *ht == t
            {
                // Stored as f32: converted in f64, written to the same precision.
                let v = &unit.map_or(*v, |u| (f64::from(*v) * u.per_si) as f32);
                if *v == 0.0 {
                    line.push('0'); // not "-0"
                } else if v.is_finite() {
                    line.push_str(&v.to_string());
                }
                stream.advance();
            }
        }
        line.push_str("\r\n");
        out.write_all(line.as_bytes()).map_err(io)?;
        rows += 1;
    }
    out.flush().map_err(io)?;
    Ok(rows)
}

/// Draws the range as a chart `width` × `height` pixels into `path`.
pub fn write_chart(
    reader: &Reader,
    range: &ExportRange,
    format: ChartFormat,
    path: &Path,
    (width, height): (u32, u32),
) -> Result<(), StoreError> {
    let (channels, t0, t1, started) = resolve(reader, range)?;
    let session = reader.session(range.session)?;
    // The time span actually covered by samples, clipped to the range.
    let mut first = i64::MAX;
    let mut last = i64::MIN;
    for channel in &channels {
        let mut stream = ChannelStream::new(reader, channel.id, t0, t1)?;
        if let Some((t, _)) = stream.peek()? {
            first = first.min(t);
        }
        let end_idx = reader.channel_end(channel.id)?;
        if end_idx > 0 {
            let end_t = reader.cursor_at(channel.id, t1.saturating_add(1))?;
            let idx = end_t.saturating_sub(1);
            let rows = reader.sample_rows_from_index(channel.id, idx, 1)?;
            if let Some(row) = rows.first() {
                let k = idx.saturating_sub(row.idx0) as usize;
                if let Some(t) = row.times.get(k).filter(|t| **t >= first) {
                    last = last.max(*t);
                }
            }
        }
    }
    if first > last {
        return Err(StoreError::Invalid(format!(
            "no samples in the range of session {:?}",
            session.name
        )));
    }
    let from_s = (first - started) as f64 / 1e6;
    let to_s = ((last - started) as f64 / 1e6).max(from_s + 1e-6);
    let ids: Vec<i64> = channels.iter().map(|c| c.id).collect();
    let window = reader.window(range.session, &ids, from_s, to_s, width.clamp(64, 4096))?;
    let mut units: Vec<&str> = Vec::new();
    for channel in &channels {
        if !units.contains(&channel.unit.as_str()) {
            units.push(&channel.unit);
        }
    }
    let title = format!("{} — {:.3} s to {:.3} s", session.name, from_s, to_s);
    let draw_err = |e: String| StoreError::Io {
        path: path.display().to_string(),
        error: e,
    };
    fonts()?;
    let result = match format {
        ChartFormat::Png => {
            let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
            draw(&root, &title, &units, &channels, &window, (from_s, to_s))
                .and_then(|()| root.present().map_err(|e| e.to_string()))
        }
        ChartFormat::Svg => {
            let root = SVGBackend::new(path, (width, height)).into_drawing_area();
            draw(&root, &title, &units, &channels, &window, (from_s, to_s))
                .and_then(|()| root.present().map_err(|e| e.to_string()))
        }
    };
    result.map_err(draw_err)
}

/// Registers the built-in chart font (DejaVu Sans) with plotters, once per process;
/// every chart DriveDeck draws uses it.
pub fn fonts() -> Result<(), StoreError> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .is_ok()
            && plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold())
                .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(
            "the built-in chart font did not load".into(),
        ))
    }
}

/// The colours of a chart's series, in order (Tableau's), for every chart DriveDeck draws.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    units: &[&str],
    channels: &[ChannelRow],
    window: &crate::SeriesBatch,
    (from_s, to_s): (f64, f64),
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let body = root
        .titled(title, ("sans-serif", 22).into_font().style(FontStyle::Bold))
        .map_err(err)?;
    let panels = body.split_evenly((units.len(), 1));
    for (panel, unit) in panels.iter().zip(units) {
        let mine: Vec<(usize, &ChannelRow)> = channels
            .iter()
            .enumerate()
            .filter(|(_, c)| c.unit == *unit)
            .collect();
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (i, _) in &mine {
            for v in window.series[*i].values.iter().filter(|v| v.is_finite()) {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
        }
        if lo > hi {
            (lo, hi) = (-1.0, 1.0);
        }
        let pad = ((hi - lo) * 0.05).max(1e-9);
        let mut chart = ChartBuilder::on(panel)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(from_s..to_s, (lo - pad)..(hi + pad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc(*unit)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(err)?;
        for (k, (i, channel)) in mine.iter().enumerate() {
            let series = &window.series[*i];
            let color = PALETTE[(*i + k) % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    series
                        .t
                        .iter()
                        .zip(&series.values)
                        .filter(|(_, v)| v.is_finite())
                        .map(|(t, v)| (*t, *v)),
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(column_name(channel))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}
