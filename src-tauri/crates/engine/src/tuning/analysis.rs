//! What the engine computes from a tuning run: the run's readings (host times, the
//! `reference`, the response and the drive's output) in, [`RunResults`] out. Pure: the
//! API reads the channels from the store and keeps the results there.
//!
//! - Readings arrive at the link's pace, not on a grid: they are resampled linearly
//!   onto a uniform grid at the achieved rate before any spectrum is taken.
//! - Step: the metrics of the first step (against the step asked for), with the count
//!   of steps in a note.
//! - Chirp, PRBS, multisine: Welch H1 of reference → response (T) with coherence; with
//!   the drive's output recorded, the joint input–output estimate of the plant P and
//!   the sensitivity S; the open loop L = T / (1 − T) (unity feedback, so it needs no
//!   model of the controller), margins from L and the −3 dB bandwidth of T. Points
//!   above the observable limit or below the lowest frequency the test excites are
//!   marked untrusted, like points of low coherence.
//! - Relay: ultimate gain and period from the position's oscillation.

use crate::api::{FrfResults, ResonanceView, RunResults};
use drivedeck_domain::{Excitation, TestLoop, TestSpec};
use drivedeck_tune::Complex64;
use drivedeck_tune::frf::{self, FrequencyResponse};
use drivedeck_tune::observe::{JitterBounds, observable_range};
use drivedeck_tune::predict::measured_open_loop;
use drivedeck_tune::spectral::WelchConfig;
use drivedeck_tune::step::{StepRun, step_report};
use drivedeck_tune::{margins, relay};

/// Coherence below which a point is not trusted.
pub const COHERENCE_THRESHOLD: f64 = 0.9;

/// A run's readings, in time order.
#[derive(Clone, Debug, Default)]
pub struct RunData {
    /// Host time of each reading, s from the run's start.
    pub t_s: Vec<f64>,
    /// The set point asked for (rad or rad/s).
    pub reference: Vec<f64>,
    /// Position, rad.
    pub position: Vec<f64>,
    /// Velocity, rad/s.
    pub velocity: Vec<f64>,
    /// The drive's output (PWM fraction or current), NaN where not read.
    pub output: Vec<f64>,
}

/// Samples `x` (at times `t`) on the uniform grid `t0 + k/fs`, `n` points.
pub(crate) fn resample(t: &[f64], x: &[f64], t0: f64, fs: f64, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    let mut j = 0;
    for k in 0..n {
        let tk = t0 + k as f64 / fs;
        while j + 2 < t.len() && t[j + 1] < tk {
            j += 1;
        }
        let (ta, tb) = (t[j], t[(j + 1).min(t.len() - 1)]);
        let (xa, xb) = (x[j], x[(j + 1).min(x.len() - 1)]);
        let v = if tb > ta {
            xa + (xb - xa) * ((tk - ta) / (tb - ta)).clamp(0.0, 1.0)
        } else {
            xa
        };
        out.push(v);
    }
    out
}

/// The uniform grid readings at times `t` are resampled onto: their mean rate, the first
/// time and how many points fit (at least two readings).
pub(crate) fn uniform_grid(t: &[f64]) -> (f64, f64, usize) {
    let (rate, _) = rate_and_jitter(t);
    let t0 = t[0];
    let count = ((t[t.len() - 1] - t0) * rate).floor() as usize;
    (rate, t0, count)
}

/// Mean rate and jitter (the standard deviation of the intervals between readings, s)
/// of the times `t`. The intervals, not the drift from an ideal grid: a link reading as
/// fast as it can has no grid to keep, and each reading carries its own time.
pub fn rate_and_jitter(t: &[f64]) -> (f64, f64) {
    let n = t.len();
    if n < 3 {
        return (0.0, 0.0);
    }
    let mean = (t[n - 1] - t[0]) / (n - 1) as f64;
    if mean <= 0.0 {
        return (0.0, 0.0);
    }
    let var = t
        .windows(2)
        .map(|w| (w[1] - w[0] - mean).powi(2))
        .sum::<f64>()
        / (n - 1) as f64;
    (1.0 / mean, var.sqrt())
}

/// The drive's own loop in a run: its structure and the law its gains set.
#[derive(Clone, Debug)]
pub struct RunLoop {
    /// The vendor's loop structure.
    pub structure: drivedeck_tune::loops::LoopStructure,
    /// The law of the gains in force.
    pub law: drivedeck_tune::loops::Law,
}

/// Analyses a run of `test` whose readings are `data`, with the link's wire-time limit
/// `wire_limit_hz` for reading this drive alone; with the drive's own loop known
/// (`run_loop`), the open loop is the measured plant closed by its law.
pub fn analyse(
    test: &TestSpec,
    start_position: f64,
    data: &RunData,
    wire_limit_hz: f64,
    run_loop: Option<&RunLoop>,
) -> RunResults {
    let mut notes = Vec::new();
    let (rate, jitter) = rate_and_jitter(&data.t_s);
    let response: &[f64] = match test.test_loop {
        TestLoop::Position => &data.position,
        TestLoop::Velocity => &data.velocity,
    };
    let excitation_s = test.excitation.duration_s();
    let segment_guess = ((rate * excitation_s) as usize / 8).clamp(16, 1 << 16);
    let observable = observable_range(
        rate.max(1e-9),
        jitter,
        segment_guess,
        JitterBounds::default(),
    );
    let rate_of_limit_pct = if wire_limit_hz > 0.0 {
        100.0 * rate / wire_limit_hz
    } else {
        0.0
    };
    let mut results = RunResults {
        step: None,
        frf: None,
        relay: None,
        observable,
        rate_of_limit_pct,
        notes: Vec::new(),
    };
    if data.t_s.len() < 16 || rate <= 0.0 {
        notes.push(format!(
            "only {} readings: too few to analyse",
            data.t_s.len()
        ));
        results.notes = notes;
        return results;
    }
    let has_output = data.output.iter().any(|v| v.is_finite());
    match &test.excitation {
        Excitation::Step { size, repeats, .. } => {
            let step_time_s = test.settle_s;
            let from = match test.test_loop {
                TestLoop::Position => start_position,
                TestLoop::Velocity => 0.0,
            };
            let effort: Option<Vec<f64>> = has_output.then(|| {
                data.output
                    .iter()
                    .map(|v| if v.is_finite() { *v } else { 0.0 })
                    .collect()
            });
            let hold = match test.excitation {
                Excitation::Step { hold_s, .. } => hold_s,
                _ => 0.0,
            };
            // The first step's window: from its edge to the next.
            let end = step_time_s + hold;
            let keep: Vec<usize> = (0..data.t_s.len()).filter(|&i| data.t_s[i] < end).collect();
            let t: Vec<f64> = keep.iter().map(|&i| data.t_s[i]).collect();
            let y: Vec<f64> = keep.iter().map(|&i| response[i]).collect();
            let e: Option<Vec<f64>> = effort.map(|e| keep.iter().map(|&i| e[i]).collect());
            match step_report(&StepRun {
                time_s: &t,
                response: &y,
                trajectory: None,
                effort: e.as_deref(),
                step_time_s,
                from,
                to: from + size,
            }) {
                Ok(report) => results.step = Some(report),
                Err(e) => notes.push(format!("no step metrics: {e}")),
            }
            if *repeats > 1 {
                notes.push(format!(
                    "metrics of the first of {} steps up and down",
                    repeats
                ));
            }
        }
        Excitation::Relay {
            amplitude,
            hysteresis,
            ..
        } => {
            let dt = 1.0 / rate;
            let from = test.settle_s;
            let until = test.settle_s + excitation_s;
            let idx: Vec<usize> = (0..data.t_s.len())
                .filter(|&i| data.t_s[i] >= from && data.t_s[i] < until)
                .collect();
            if idx.len() >= 16 {
                let t: Vec<f64> = idx.iter().map(|&i| data.t_s[i]).collect();
                let e: Vec<f64> = idx
                    .iter()
                    .map(|&i| data.position[i] - start_position)
                    .collect();
                let n = ((t[t.len() - 1] - t[0]) * rate) as usize;
                let grid = resample(&t, &e, t[0], rate, n.max(2));
                match relay::analyse(&grid, dt, *amplitude, *hysteresis, 4) {
                    Ok(r) => results.relay = Some(r),
                    Err(e) => notes.push(format!("no relay result: {e}")),
                }
            } else {
                notes.push("the relay ran too short to analyse".into());
            }
        }
        Excitation::Ramp { .. } => {
            notes.push(
                "a ramp has no step or frequency metrics; its following error is in the chart"
                    .into(),
            );
        }
        Excitation::Chirp { .. } | Excitation::Prbs { .. } | Excitation::Multisine { .. } => {
            match frequency_response(
                test,
                data,
                response,
                rate,
                has_output,
                &results.observable.highest_hz,
                run_loop,
            ) {
                Ok((frf, mut more)) => {
                    results.frf = Some(frf);
                    notes.append(&mut more);
                }
                Err(e) => notes.push(format!("no frequency response: {e}")),
            }
        }
    }
    if rate_of_limit_pct < 90.0 && wire_limit_hz > 0.0 {
        notes.push(format!(
            "the link read the drive at {rate:.0} Hz, {rate_of_limit_pct:.0} % of the wire's limit {wire_limit_hz:.0} Hz"
        ));
    }
    notes.push(results.observable.rule.clone());
    results.notes = notes;
    results
}

/// The frequency response of the excitation's part of the run.
fn frequency_response(
    test: &TestSpec,
    data: &RunData,
    response: &[f64],
    rate: f64,
    has_output: bool,
    observable_hz: &f64,
    run_loop: Option<&RunLoop>,
) -> Result<(FrfResults, Vec<String>), String> {
    let mut notes = Vec::new();
    let from = test.settle_s;
    let duration = test.excitation.duration_s();
    let n = (duration * rate) as usize;
    if n < 64 {
        return Err(format!("{n} samples in the excitation: too few"));
    }
    let r = resample(&data.t_s, &data.reference, from, rate, n);
    let y = resample(&data.t_s, response, from, rate, n);
    let lowest_hz = match &test.excitation {
        Excitation::Chirp { start_hz, .. } => *start_hz,
        Excitation::Prbs {
            order, bit_time_s, ..
        } => 1.0 / (((1u64 << order) - 1) as f64 * bit_time_s),
        Excitation::Multisine { frequencies_hz, .. } => {
            frequencies_hz.iter().cloned().fold(f64::INFINITY, f64::min)
        }
        _ => 1.0 / duration,
    };
    let config = WelchConfig::for_resolution(n, rate, lowest_hz / 2.0);
    let mark = |mut h: FrequencyResponse| {
        for (i, f) in h.freq_hz.iter().enumerate() {
            // Above what the link can observe, or below what the test excited.
            if *f > *observable_hz || *f < lowest_hz {
                h.trusted[i] = false;
            }
        }
        h
    };
    let (t, plant, sensitivity) = if has_output {
        let u: Vec<f64> = data
            .output
            .iter()
            .map(|v| if v.is_finite() { *v } else { 0.0 })
            .collect();
        let u = resample(&data.t_s, &u, from, rate, n);
        let estimate = frf::closed_loop(&r, &u, &y, rate, &config, COHERENCE_THRESHOLD)
            .map_err(|e| e.to_string())?;
        (
            mark(estimate.complementary_sensitivity),
            Some(mark(estimate.plant)),
            Some(mark(estimate.sensitivity)),
        )
    } else {
        let mut h =
            frf::h1(&r, &[&y], rate, &config, COHERENCE_THRESHOLD).map_err(|e| e.to_string())?;
        notes.push("the drive's output is not read: no plant estimate".into());
        (mark(h.remove(0)), None, None)
    };
    let open = match (&plant, run_loop) {
        // The measured plant closed by the drive's own law: the loop the drive closes.
        (Some(p), Some(run_loop)) => {
            notes.push(format!(
                "margins of L = P·C: the measured plant closed by the {} with the gains in force",
                run_loop.structure.name
            ));
            measured_open_loop(
                p,
                run_loop.structure.kind,
                &run_loop.law,
                run_loop.structure.control_period_s,
            )
        }
        _ => {
            // L = T / (1 − T): the loop as the reference sees it (unity feedback).
            let l: Vec<Complex64> = t
                .complex()
                .iter()
                .map(|v| v / (Complex64::new(1.0, 0.0) - v))
                .collect();
            let mut open = FrequencyResponse::from_complex(
                t.freq_hz.clone(),
                &l,
                t.coherence.clone(),
                COHERENCE_THRESHOLD,
            );
            open.trusted = t.trusted.clone();
            notes.push(
                "margins of L = T/(1 − T), the loop as unity feedback: the drive's own law is not known here".into(),
            );
            open
        }
    };
    let margins = margins::margins(&open);
    let bandwidth_hz = margins::bandwidth_hz(&t);
    let resonances = match &plant {
        Some(p) => find_resonances(p, "plant"),
        None => find_resonances(&t, "closed_loop"),
    };
    let trusted = t.trusted.iter().filter(|x| **x).count();
    if trusted < t.trusted.len() / 2 {
        notes.push(format!(
            "{} of {} frequencies below coherence {COHERENCE_THRESHOLD} or above the observable limit: shown dimmed",
            t.trusted.len() - trusted,
            t.trusted.len()
        ));
    }
    Ok((
        FrfResults {
            closed_loop: t,
            plant,
            open_loop: Some(open),
            sensitivity,
            margins: Some(margins),
            bandwidth_hz,
            resonances,
        },
        notes,
    ))
}

/// How far a peak or dip must stand from its trend to count, dB.
const RESONANCE_DB: f64 = 3.0;

/// Coherence a point of a dip needs. At an anti-resonance the measured output all but
/// vanishes, and with it the coherence: the bottom of a real dip is always below the
/// trust threshold. It counts when it still shows some coherence and trusted points
/// flank it within three bins on each side.
const DIP_COHERENCE: f64 = 0.25;

/// Peaks and dips of `h`'s magnitude standing at least [`RESONANCE_DB`] from the mean
/// over ± a third of an octave around them (two measured points a side at least), each
/// the extreme of its own neighbourhood.
/// Peaks from trusted points only; dips also from the low-coherence points at their
/// bottom (see [`DIP_COHERENCE`]).
pub fn find_resonances(h: &FrequencyResponse, response: &str) -> Vec<ResonanceView> {
    let n = h.freq_hz.len();
    let flanked = |i: usize| {
        let before = (i.saturating_sub(3)..i).any(|j| h.trusted[j]);
        let after = (i + 1..(i + 4).min(n)).any(|j| h.trusted[j]);
        before && after
    };
    let idx: Vec<usize> = (0..n)
        .filter(|&i| h.freq_hz[i] > 0.0 && h.magnitude_db[i].is_finite())
        .filter(|&i| h.trusted[i] || (h.coherence[i] >= DIP_COHERENCE && flanked(i)))
        .collect();
    let third = 2f64.powf(1.0 / 3.0);
    let mut found: Vec<ResonanceView> = Vec::new();
    for (k, &i) in idx.iter().enumerate() {
        let f = h.freq_hz[i];
        // ± a third of an octave, and at least two measured points on each side however
        // coarse the resolution (a 0.5 Hz bin spacing leaves one or two points per side
        // of a third of an octave at 4 Hz).
        let near: Vec<usize> = idx
            .iter()
            .enumerate()
            .filter(|&(m, &j)| {
                (h.freq_hz[j] >= f / third && h.freq_hz[j] <= f * third) || m.abs_diff(k) <= 2
            })
            .map(|(_, &j)| j)
            .collect();
        // Both sides must be measured for a trend to mean anything.
        let before = near.iter().filter(|&&j| j < i).count();
        let after = near.iter().filter(|&&j| j > i).count();
        if before < 2 || after < 2 {
            continue;
        }
        let m = h.magnitude_db[i];
        let trend = near.iter().map(|&j| h.magnitude_db[j]).sum::<f64>() / near.len() as f64;
        let is_max = near.iter().all(|&j| h.magnitude_db[j] <= m);
        let is_min = near.iter().all(|&j| h.magnitude_db[j] >= m);
        let depth = m - trend;
        let kind = if is_max && depth >= RESONANCE_DB && h.trusted[i] {
            "peak"
        } else if is_min && -depth >= RESONANCE_DB {
            "dip"
        } else {
            continue;
        };
        found.push(ResonanceView {
            kind: kind.into(),
            freq_hz: refined(h, i, kind == "peak"),
            depth_db: depth.abs(),
            response: response.into(),
        });
    }
    found
}

/// Where the extreme near point `i` of `h`'s magnitude lies between the grid's points:
/// the most extreme of `i` and its two neighbours (every point: a dip's bottom has low
/// coherence by nature, and the point kept may be beside it), then the vertex of the
/// parabola through it and its neighbours (in dB over frequency).
fn refined(h: &FrequencyResponse, i: usize, peak: bool) -> f64 {
    let n = h.freq_hz.len();
    let m = |j: usize| h.magnitude_db[j];
    let better = |a: usize, b: usize| if peak { m(b) > m(a) } else { m(b) < m(a) };
    let mut c = i;
    for j in [i.saturating_sub(1), (i + 1).min(n - 1)] {
        if m(j).is_finite() && better(c, j) {
            c = j;
        }
    }
    if c == 0 || c + 1 >= n {
        return h.freq_hz[c];
    }
    let (y0, y1, y2) = (m(c - 1), m(c), m(c + 1));
    let curvature = y0 - 2.0 * y1 + y2;
    if !(curvature.is_finite() && curvature.abs() > 1e-12) {
        return h.freq_hz[c];
    }
    let offset = (0.5 * (y0 - y2) / curvature).clamp(-0.5, 0.5);
    let step = if offset >= 0.0 {
        h.freq_hz[c + 1] - h.freq_hz[c]
    } else {
        h.freq_hz[c] - h.freq_hz[c - 1]
    };
    h.freq_hz[c] + offset * step
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_domain::SweepKind;

    /// Motor-side response, at `freq`, of a motor J1 driving a load J2 = J1 through a
    /// spring with damping ratio `zeta`: a dip at the load's frequency `fa` = √(k/J2) and
    /// a peak at √(1 + J2/J1) times it.
    fn two_mass(freq: &[f64], fa: f64, zeta: f64) -> FrequencyResponse {
        let (j1, j2) = (1.0, 1.0);
        let k = j2 * (std::f64::consts::TAU * fa).powi(2);
        let c = 2.0 * zeta * (k * j2).sqrt();
        let h: Vec<Complex64> = freq
            .iter()
            .map(|&f| {
                let s = Complex64::new(0.0, std::f64::consts::TAU * f);
                let load = j2 * s * s + c * s + k;
                load / (s * s * (j1 * j2 * s * s + c * (j1 + j2) * s + k * (j1 + j2)))
            })
            .collect();
        FrequencyResponse::computed(freq.to_vec(), &h)
    }

    #[test]
    fn a_two_mass_plant_shows_its_dip_and_its_peak() {
        let fa = 20.0;
        let freq: Vec<f64> = (1..2000).map(|i| f64::from(i) * 0.05).collect();
        let found = find_resonances(&two_mass(&freq, fa, 0.02), "plant");
        let dip = found.iter().find(|r| r.kind == "dip").expect("a dip");
        let peak = found.iter().find(|r| r.kind == "peak").expect("a peak");
        assert!((dip.freq_hz - fa).abs() / fa < 0.02, "{found:?}");
        let fr = fa * 2f64.sqrt();
        assert!((peak.freq_hz - fr).abs() / fr < 0.02, "{found:?}");
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn a_dip_is_found_at_the_resolution_of_a_short_run() {
        // A 14 s chirp from 1 Hz analysed for 0.5 Hz: bins 0.49 Hz apart (2,048 points at
        // 1 kHz), so a third of an octave around 4 Hz holds only four of them.
        for spacing in [1000.0 / 2048.0, 500.0 / 1024.0 * 0.7, 0.25] {
            let freq: Vec<f64> = (1..60).map(|i| f64::from(i) * spacing).collect();
            let found = find_resonances(&two_mass(&freq, 4.0, 0.03), "plant");
            let dip = found
                .iter()
                .filter(|r| r.kind == "dip")
                .min_by(|a, b| (a.freq_hz - 4.0).abs().total_cmp(&(b.freq_hz - 4.0).abs()))
                .unwrap_or_else(|| panic!("no dip at {spacing} Hz spacing: {found:?}"));
            assert!(
                (dip.freq_hz - 4.0).abs() <= spacing / 2.0 + 1e-9,
                "{spacing}: {found:?}"
            );
        }
    }

    /// A first-order closed loop T = 1/(1 + s/ωc), simulated at 1 kHz with jitter-free
    /// readings: the bandwidth found must be fc.
    #[test]
    fn a_first_order_loop_shows_its_bandwidth() {
        let fc = 8.0;
        let fs = 1000.0;
        let test = TestSpec {
            test_loop: TestLoop::Position,
            excitation: Excitation::Chirp {
                start_hz: 0.5,
                end_hz: 100.0,
                amplitude: 0.05,
                duration_s: 20.0,
                sweep: SweepKind::Log,
                falling_amplitude: false,
            },
            travel_window_rad: 0.2,
            settle_s: 0.5,
        };
        let drivedeck_bus::tuning::Waveform::Signal(f) =
            drivedeck_bus::tuning::Waveform::new(&test.excitation).expect("waveform")
        else {
            panic!("a chirp is a signal")
        };
        let n = ((test.excitation.duration_s() + 1.0) * fs) as usize;
        let mut data = RunData::default();
        let a = (-std::f64::consts::TAU * fc / fs).exp();
        let mut y = 0.0;
        for k in 0..n {
            let t = k as f64 / fs;
            let r = f(t - test.settle_s);
            y = a * y + (1.0 - a) * r;
            data.t_s.push(t);
            data.reference.push(r);
            data.position.push(y);
            data.velocity.push(0.0);
            data.output.push(f64::NAN);
        }
        let results = analyse(&test, 0.0, &data, 1000.0, None);
        let frf = results.frf.expect("a frequency response");
        let bw = frf.bandwidth_hz.expect("a bandwidth");
        assert!(
            (bw - fc).abs() / fc < 0.1,
            "bandwidth {bw} Hz, expected {fc}"
        );
        assert!(results.notes.iter().any(|n| n.contains("plant")));
    }
}
