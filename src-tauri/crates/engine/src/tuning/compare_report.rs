//! A comparison's report as files: the runs' normalised steps and closed loops (|T| and
//! its phase on a log frequency axis) overlaid, one colour per run with its legend, drawn
//! with plotters as PNG or SVG; and the side-by-side table as CSV (a row per run: test,
//! drive, gains, figures, model).

use crate::api::Comparison;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

pub use super::report::Image;

/// The runs' colours, in order: the charts' own.
const COLOURS: [RGBColor; 8] = drivedeck_store::export::PALETTE;

/// Draws the comparison into `path`, `size` pixels.
pub fn write_chart(
    c: &Comparison,
    image: Image,
    path: &Path,
    size: (u32, u32),
) -> Result<(), String> {
    drivedeck_store::export::fonts().map_err(|e| e.to_string())?;
    match image {
        Image::Png => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw(&root, c)?;
            root.present().map_err(|e| e.to_string())
        }
        Image::Svg => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw(&root, c)?;
            root.present().map_err(|e| e.to_string())
        }
    }
}

fn label(c: &Comparison, i: usize) -> String {
    let r = &c.runs[i];
    format!(
        "run {} · drive {} · {}{}",
        r.summary.id,
        r.summary.drive.id,
        r.summary.test,
        if r.step_source == "predicted" || r.bode_source == "predicted" {
            " (predicted)"
        } else {
            ""
        }
    )
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    c: &Comparison,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let ids: Vec<String> = c.runs.iter().map(|r| r.summary.id.to_string()).collect();
    let body = root
        .titled(
            &format!("runs {} compared", ids.join(", ")),
            ("sans-serif", 22).into_font().style(FontStyle::Bold),
        )
        .map_err(err)?;
    let panels = body.split_evenly((3, 1));
    // Steps.
    let t_max = c
        .runs
        .iter()
        .filter_map(|r| r.step_t_s.last().copied())
        .fold(0.0_f64, f64::max)
        .max(0.1);
    let (lo, hi) = c
        .runs
        .iter()
        .flat_map(|r| r.step_response.iter().copied())
        .filter(|v| v.is_finite())
        .fold((0.0_f64, 1.2_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let mut chart = ChartBuilder::on(&panels[0])
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..t_max, lo - 0.05..hi + 0.05)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time from the step (s)")
        .y_desc("response / step")
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (i, r) in c.runs.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                r.step_t_s
                    .iter()
                    .copied()
                    .zip(r.step_response.iter().copied()),
                colour.stroke_width(2),
            ))
            .map_err(err)?
            .label(label(c, i))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(err)?;
    // Closed loops.
    let bodes: Vec<(usize, &drivedeck_tune::frf::FrequencyResponse)> = c
        .runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r.closed_loop.as_ref()?)))
        .collect();
    let freqs = || {
        bodes
            .iter()
            .flat_map(|(_, t)| t.freq_hz.iter().copied())
            .filter(|f| *f > 0.0)
    };
    let f_lo = freqs().fold(f64::INFINITY, f64::min);
    let f_hi = freqs().fold(0.0_f64, f64::max);
    if !(f_lo.is_finite() && f_hi > f_lo) {
        return Ok(());
    }
    for (panel, desc, pick) in [
        (&panels[1], "|T| (dB)", 0usize),
        (&panels[2], "phase of T (°)", 1usize),
    ] {
        let value = |t: &drivedeck_tune::frf::FrequencyResponse, k: usize| {
            if pick == 0 {
                t.magnitude_db[k]
            } else {
                t.phase_deg[k]
            }
        };
        let (lo, hi) = bodes
            .iter()
            .flat_map(|(_, t)| (0..t.freq_hz.len()).map(move |k| value(t, k)))
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let (lo, hi) = if lo < hi { (lo, hi) } else { (-1.0, 1.0) };
        let pad = (hi - lo) * 0.05;
        let mut chart =
            super::report::frequency_panel(panel, (f_lo, f_hi), (lo - pad, hi + pad), desc)?;
        for (i, t) in &bodes {
            let colour = COLOURS[i % COLOURS.len()];
            // Untrusted points are left out of the line: a gap rather than a guess.
            let points: Vec<(f64, f64)> = (0..t.freq_hz.len())
                .filter(|&k| t.trusted[k] && t.freq_hz[k] > 0.0)
                .map(|k| (t.freq_hz[k], value(t, k)))
                .collect();
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(err)?;
        }
    }
    Ok(())
}

fn cell(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| v.to_string())
}

/// The side-by-side table as CSV: a row per run.
pub fn csv(c: &Comparison) -> String {
    let mut gain_names: Vec<String> = Vec::new();
    for r in &c.runs {
        for g in &r.gains {
            if !gain_names.contains(&g.name) {
                gain_names.push(g.name.clone());
            }
        }
    }
    let mut out = String::from(
        "run,session,link,drive,profile,test,loop,state,step_source,rise_time_s,overshoot_pct,settling_time_2pct_s,bode_source,bandwidth_hz,phase_margin_deg,gain_margin_db,model_gain,model_damping_per_s,model_coulomb_accel,model_delay_s,model_fit_pct,inertia_kg_m2,viscous_n_m_s_per_rad,coulomb_n_m",
    );
    for name in &gain_names {
        let _ = write!(out, ",\"{}\"", name.replace('"', "'"));
    }
    out.push('\n');
    for r in &c.runs {
        let s = &r.summary;
        let m = r.model.as_ref();
        let p = r.physical.as_ref();
        let _ = write!(
            out,
            "{},{},{},{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            s.id,
            s.session,
            s.drive.link,
            s.drive.id,
            s.profile.replace('"', "'"),
            s.test,
            s.test_loop,
            s.state,
            r.step_source,
            cell(r.rise_time_s),
            cell(r.overshoot_pct),
            cell(r.settling_time_2pct_s),
            r.bode_source,
            cell(r.bandwidth_hz),
            cell(r.phase_margin_deg),
            cell(r.gain_margin_db),
            cell(m.map(|m| m.gain.value)),
            cell(m.map(|m| m.damping_per_s.value)),
            cell(m.map(|m| m.coulomb_accel.value)),
            cell(m.map(|m| m.delay_s)),
            cell(m.map(|m| m.fit_pct)),
            cell(p.map(|p| p.inertia.value)),
            cell(p.map(|p| p.viscous.value)),
            cell(p.map(|p| p.coulomb.value)),
        );
        for name in &gain_names {
            let v = r.gains.iter().find(|g| g.name == *name).map(|g| g.value);
            let _ = write!(out, ",{}", cell(v));
        }
        out.push('\n');
    }
    out
}
