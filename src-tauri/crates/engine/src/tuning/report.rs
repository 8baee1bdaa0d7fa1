//! A run's report as files: a Bode chart (magnitude, phase and coherence on a log
//! frequency axis, untrusted points dimmed, the observable limit marked, margins in the
//! title) drawn with plotters as PNG or SVG, and the results as CSV (one row per
//! frequency, or one per metric) and JSON. Time charts of a run's channels come from the
//! store's chart export, like any session range.

use crate::api::RunResults;
use drivedeck_tune::frf::FrequencyResponse;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// An image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    /// PNG.
    Png,
    /// SVG.
    Svg,
}

/// Draws the Bode chart of `t` (the closed loop) with `results`' margins and observable
/// limit into `path`, `size` pixels.
pub fn write_bode(
    title: &str,
    t: &FrequencyResponse,
    results: &RunResults,
    image: Image,
    path: &Path,
    size: (u32, u32),
) -> Result<(), String> {
    drivedeck_store::export::fonts().map_err(|e| e.to_string())?;
    match image {
        Image::Png => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw_bode(&root, title, t, results)?;
            root.present().map_err(|e| e.to_string())
        }
        Image::Svg => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw_bode(&root, title, t, results)?;
            root.present().map_err(|e| e.to_string())
        }
    }
}

fn draw_bode<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    t: &FrequencyResponse,
    results: &RunResults,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let body = root
        .titled(title, ("sans-serif", 22).into_font().style(FontStyle::Bold))
        .map_err(err)?;
    let panels = body.split_evenly((3, 1));
    let points: Vec<usize> = (0..t.freq_hz.len())
        .filter(|&i| t.freq_hz[i] > 0.0)
        .collect();
    if points.is_empty() {
        return Err("the frequency response has no points".into());
    }
    let f_lo = t.freq_hz[points[0]];
    let f_hi = t.freq_hz[*points.last().unwrap_or(&points[0])].max(f_lo * 1.01);
    let observable = results.observable.highest_hz;
    let series = [
        ("magnitude (dB)", &t.magnitude_db),
        ("phase (°)", &t.phase_deg),
        ("coherence", &t.coherence),
    ];
    for (panel, (label, values)) in panels.iter().zip(series) {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &i in &points {
            if values[i].is_finite() {
                lo = lo.min(values[i]);
                hi = hi.max(values[i]);
            }
        }
        if label == "coherence" {
            (lo, hi) = (0.0, 1.0);
        }
        if lo > hi {
            (lo, hi) = (-1.0, 1.0);
        }
        let pad = ((hi - lo) * 0.05).max(1e-6);
        let mut chart = frequency_panel(panel, (f_lo, f_hi), (lo - pad, hi + pad), label)?;
        let trusted = RGBColor(31, 119, 180);
        let dimmed = RGBColor(180, 200, 220);
        chart
            .draw_series(points.windows(2).map(|w| {
                let (a, b) = (w[0], w[1]);
                let color = if t.trusted[a] && t.trusted[b] {
                    trusted
                } else {
                    dimmed
                };
                PathElement::new(
                    vec![(t.freq_hz[a], values[a]), (t.freq_hz[b], values[b])],
                    color.stroke_width(2),
                )
            }))
            .map_err(err)?;
        if observable > f_lo && observable < f_hi {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(observable, lo - pad), (observable, hi + pad)],
                    RED.stroke_width(1),
                )))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// The chart of one panel over a log frequency axis from `f.0` to `f.1` Hz, its y range
/// `y`, labelled `desc`, its mesh drawn.
pub(super) fn frequency_panel<'a, DB: DrawingBackend>(
    panel: &'a DrawingArea<DB, plotters::coord::Shift>,
    f: (f64, f64),
    y: (f64, f64),
    desc: &str,
) -> Result<FrequencyChart<'a, DB>, String>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let mut chart = ChartBuilder::on(panel)
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d((f.0..f.1).log_scale(), y.0..y.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("frequency (Hz)")
        .y_desc(desc)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// A chart over a log frequency axis.
pub(super) type FrequencyChart<'a, DB> = ChartContext<
    'a,
    DB,
    plotters::coord::cartesian::Cartesian2d<
        plotters::coord::combinators::LogCoord<f64>,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// The results as CSV: the closed loop's points (frequency, magnitude, phase,
/// coherence, trusted) for a frequency-response test, else one `metric,value` row each.
pub fn results_csv(results: &RunResults) -> String {
    let mut out = String::new();
    if let Some(frf) = &results.frf {
        let t = &frf.closed_loop;
        out.push_str("freq_hz,magnitude_db,phase_deg,coherence,trusted\n");
        for i in 0..t.freq_hz.len() {
            let _ = writeln!(
                out,
                "{},{},{},{},{}",
                t.freq_hz[i], t.magnitude_db[i], t.phase_deg[i], t.coherence[i], t.trusted[i]
            );
        }
        return out;
    }
    out.push_str("metric,value\n");
    let mut row = |name: &str, value: Option<f64>| {
        let _ = writeln!(
            out,
            "{name},{}",
            value.map_or(String::new(), |v| v.to_string())
        );
    };
    if let Some(step) = &results.step {
        let m = &step.against_step;
        row("rise_time_s", m.rise_time_s);
        row("delay_s", m.delay_s);
        row("overshoot_pct", Some(m.overshoot_pct));
        row("settling_time_2pct_s", m.settling_time_2pct_s);
        row("settling_time_5pct_s", m.settling_time_5pct_s);
        row("steady_state_error", Some(m.steady_state_error));
        row("iae", Some(m.iae));
        row("peak_effort", m.peak_effort);
    }
    if let Some(relay) = &results.relay {
        row("ultimate_gain", Some(relay.ultimate_gain));
        row("ultimate_period_s", Some(relay.ultimate_period_s));
    }
    row("rate_of_limit_pct", Some(results.rate_of_limit_pct));
    row("observable_hz", Some(results.observable.highest_hz));
    out
}
