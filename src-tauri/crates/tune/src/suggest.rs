//! Gain suggestions: from an identified model ([`Plant`]), the gains of a vendor's loop
//! structure ([`LoopStructure`]) for a stated target, by pole placement, with what they
//! are expected to give.
//!
//! The rule (pole placement for the vendor's own loop):
//! - position PID → output, derivative on the measurement: the closed loop's
//!   characteristic polynomial `s² + (a + g·Kd)·s + g·Kp` is placed at
//!   `s² + 2ζωn·s + ωn²`, so `Kp = ωn²/g`, `Kd = (2ζωn − a)/g`; with an integral, a third
//!   pole at `ωi = ωn/4`: `(s + ωi)(s² + 2ζωn·s + ωn²)`, so `Kp = (ωn² + 2ζωn·ωi)/g`,
//!   `Kd = (2ζωn + ωi − a)/g`, `Ki = ωi·ωn²/g`;
//! - velocity PI → output: `s² + (a + g·Kp)·s + g·Ki` at the same polynomial, so
//!   `Kp = (2ζωn − a)/g`, `Ki = ωn²/g`.
//!
//! A negative derivative (or velocity proportional) gain — the mechanics already damp
//! more than asked — is set to 0 and said so. ωn is then found for the target on the
//! model with its delay and the controller's period (not on the delay-free formula): the
//! −3 dB bandwidth of T for a bandwidth target; the highest ωn whose phase margin is the
//! target for a phase-margin target. A target is refused when the loop cannot reach it
//! with at least [`SuggestConfig::min_phase_margin_deg`] of phase margin, or when the link
//! that must validate it cannot observe its frequencies. Register counts are rounded and
//! clipped to their range (said so); what is predicted is what the clipped counts give.

use crate::TuneError;
use crate::loops::{Law, LoopKind, LoopStructure, Term};
use crate::margins::{Margins, bandwidth_hz, margins};
use crate::predict::{ClosedLoop, Plant, log_frequencies};
use crate::step::{StepRun, step_report};
use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;
use ts_rs::TS;

/// What the gains are for.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum GainTarget {
    /// A −3 dB closed-loop bandwidth, Hz.
    BandwidthHz(f64),
    /// A phase margin, degrees (the fastest loop that keeps it).
    PhaseMarginDeg(f64),
}

/// A suggestion's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct SuggestConfig {
    /// The target.
    pub target: GainTarget,
    /// The damping ratio ζ of the placed poles.
    pub damping: f64,
    /// Whether to place an integral (position: a third pole at ωn/4).
    pub integral: bool,
    /// The least phase margin a suggestion may have, degrees.
    pub min_phase_margin_deg: f64,
    /// The highest frequency the link can observe (a validation run must measure the
    /// loop), Hz.
    pub observable_max_hz: Option<f64>,
    /// The drive's output cap (1.0 = 100 %).
    pub output_cap: f64,
    /// The step the predicted step response is for (rad, or rad/s).
    pub step_amplitude: f64,
}

impl SuggestConfig {
    /// The defaults for `target`: ζ = 0.9, no integral, at least 30° of phase margin,
    /// a full output, a step of 0.2.
    pub fn for_target(target: GainTarget) -> SuggestConfig {
        SuggestConfig {
            target,
            damping: 0.9,
            integral: false,
            min_phase_margin_deg: 30.0,
            observable_max_hz: None,
            output_cap: 1.0,
            step_amplitude: 0.2,
        }
    }
}

/// What a set of gains is expected to give.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Predicted {
    /// −3 dB bandwidth of T, Hz.
    pub bandwidth_hz: Option<f64>,
    /// Margins of L.
    pub margins: Margins,
    /// Overshoot of the predicted step, %.
    pub overshoot_pct: f64,
    /// 10–90 % rise time of the predicted step, s.
    pub rise_time_s: Option<f64>,
    /// Settling into ±2 %, s.
    pub settling_time_2pct_s: Option<f64>,
    /// The largest output the step asks for (1.0 = 100 %).
    pub peak_output: f64,
    /// Whether the step drives the output to its cap.
    pub saturates: bool,
    /// The largest step the output can follow without reaching its cap (position: cap/Kp).
    pub max_linear_step: f64,
}

/// One register of a suggestion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct SuggestedGain {
    /// Register name.
    pub name: String,
    /// The term it sets.
    pub term: Term,
    /// The counts to write.
    pub counts: f64,
    /// What the rule asked for, counts (before rounding and clipping).
    pub wanted_counts: f64,
    /// The SI value of `counts` (output per unit of the term's input).
    pub si: f64,
    /// How the vendor reads it.
    pub rule: String,
    /// Whether it was clipped to the register's range.
    pub clipped: bool,
}

/// Suggested gains and what they give.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Suggestion {
    /// The loop structure.
    pub structure: String,
    /// The rule used.
    pub rule: String,
    /// The target.
    pub target: GainTarget,
    /// The placed poles' natural frequency, Hz.
    pub natural_frequency_hz: f64,
    /// Their damping ratio.
    pub damping: f64,
    /// The registers to write.
    pub gains: Vec<SuggestedGain>,
    /// The law the counts give, SI.
    pub law: Law,
    /// What the counts give on the model.
    pub predicted: Predicted,
    /// What the suggestion noticed (clipping, saturation, a gain set to 0).
    pub notes: Vec<String>,
}

/// How far a clipped suggestion's bandwidth may fall from the target before it is
/// refused (the tolerance a validation is held to).
pub const CLIPPED_TOLERANCE: f64 = 0.15;

/// The frequencies predictions are computed at: 0.05 Hz to 0.45 of the control rate.
pub fn prediction_frequencies(control_period_s: f64) -> Vec<f64> {
    log_frequencies(0.05, 0.45 / control_period_s.max(1e-5), 400)
}

/// What `cl` is expected to give (a step of `step` from rest at 0).
pub fn predict(cl: &ClosedLoop, step: f64) -> Predicted {
    let freqs = prediction_frequencies(cl.control_period_s);
    let bandwidth = bandwidth_hz(&cl.closed_loop(&freqs));
    let m = margins(&cl.open_loop(&freqs));
    let (t, reference) = step_reference(cl, step, bandwidth);
    let fs = 1.0 / (t[1] - t[0]);
    let sim = cl.simulate(&reference, fs, 0.0);
    let report = step_report(&StepRun {
        time_s: &t,
        response: &sim.response,
        trajectory: None,
        effort: Some(&sim.output),
        step_time_s: STEP_AT_S,
        from: 0.0,
        to: step,
    });
    let peak_output = sim.output.iter().fold(0.0_f64, |m, u| m.max(u.abs()));
    let (overshoot, rise, settle) = match report {
        Ok(r) => (
            r.against_step.overshoot_pct,
            r.against_step.rise_time_s,
            r.against_step.settling_time_2pct_s,
        ),
        Err(_) => (0.0, None, None),
    };
    let max_linear_step = if cl.law.kp > 0.0 {
        cl.output_cap / cl.law.kp
    } else {
        f64::INFINITY
    };
    Predicted {
        bandwidth_hz: bandwidth,
        margins: m,
        overshoot_pct: overshoot,
        rise_time_s: rise,
        settling_time_2pct_s: settle,
        peak_output,
        saturates: sim.saturated > 0,
        max_linear_step,
    }
}

/// When the predicted step is taken, s.
pub const STEP_AT_S: f64 = 0.05;

/// The times and reference of a predicted step: long enough to settle at the expected
/// bandwidth (1 s at least, 20 s at most), at 1 kHz.
pub fn step_reference(
    cl: &ClosedLoop,
    step: f64,
    bandwidth_hz: Option<f64>,
) -> (Vec<f64>, Vec<f64>) {
    let slowest = bandwidth_hz.unwrap_or(1.0).max(0.05);
    let duration = (8.0 / slowest).clamp(1.0, 20.0);
    let fs = (1.0 / cl.control_period_s).min(1000.0);
    let n = (duration * fs) as usize;
    let t: Vec<f64> = (0..n).map(|k| k as f64 / fs).collect();
    let reference = t
        .iter()
        .map(|&ti| if ti >= STEP_AT_S { step } else { 0.0 })
        .collect();
    (t, reference)
}

/// The law the rule places for ωn (rad/s), and whether a gain had to be set to 0.
fn placed(plant: &Plant, kind: LoopKind, wn: f64, zeta: f64, integral: bool) -> (Law, bool) {
    let (g, a) = (plant.gain, plant.damping_per_s);
    let mut law = Law::default();
    let damping_gain;
    match kind {
        LoopKind::Position if integral => {
            let wi = wn / 4.0;
            law.kp = (wn * wn + 2.0 * zeta * wn * wi) / g;
            damping_gain = (2.0 * zeta * wn + wi - a) / g;
            law.ki = wi * wn * wn / g;
            law.kd = damping_gain.max(0.0);
        }
        LoopKind::Position => {
            law.kp = wn * wn / g;
            damping_gain = (2.0 * zeta * wn - a) / g;
            law.kd = damping_gain.max(0.0);
        }
        LoopKind::Velocity => {
            damping_gain = (2.0 * zeta * wn - a) / g;
            law.kp = damping_gain.max(0.0);
            // A velocity PI always integrates: without it a load leaves a speed error.
            law.ki = wn * wn / g;
        }
    }
    (law, damping_gain < 0.0)
}

/// Suggests gains of `structure` for `config.target` on `plant`.
pub fn suggest(
    plant: &Plant,
    structure: &LoopStructure,
    config: &SuggestConfig,
) -> Result<Suggestion, TuneError> {
    if !(plant.gain.is_finite() && plant.gain > 0.0) {
        return Err(TuneError::Invalid(
            "the model's gain from output to acceleration is not positive: no gains can be placed on it".into(),
        ));
    }
    if !(config.damping.is_finite() && (0.2..=3.0).contains(&config.damping)) {
        return Err(TuneError::InvalidParameter(format!(
            "damping ratio {} is outside 0.2–3",
            config.damping
        )));
    }
    let kind = structure.kind;
    let closed = |law: Law| ClosedLoop {
        plant: *plant,
        kind,
        law,
        control_period_s: structure.control_period_s,
        output_cap: config.output_cap,
    };
    let freqs = prediction_frequencies(structure.control_period_s);
    let at = |wn: f64| {
        let cl = closed(placed(plant, kind, wn, config.damping, config.integral).0);
        let bw = bandwidth_hz(&cl.closed_loop(&freqs));
        let pm = margins(&cl.open_loop(&freqs)).phase_margin_deg;
        (bw, pm)
    };
    let top_hz = 0.45 / structure.control_period_s;
    let grid = log_frequencies(0.05 * TAU, top_hz * TAU, 120);
    let scan: Vec<(f64, Option<f64>, Option<f64>)> = grid
        .iter()
        .map(|&wn| {
            let (bw, pm) = at(wn);
            (wn, bw, pm)
        })
        .collect();
    let stable = |pm: Option<f64>| pm.is_some_and(|p| p >= config.min_phase_margin_deg);
    let best_bw = scan
        .iter()
        .filter(|(_, _, pm)| stable(*pm))
        .filter_map(|(_, bw, _)| *bw)
        .fold(0.0_f64, f64::max);
    let bisect = |lo: f64, hi: f64, above: &dyn Fn(f64) -> bool| {
        let (mut lo, mut hi) = (lo.ln(), hi.ln());
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if above(mid.exp()) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        (0.5 * (lo + hi)).exp()
    };
    let wn = match config.target {
        GainTarget::BandwidthHz(f) => {
            if !(f.is_finite() && f > 0.0) {
                return Err(TuneError::InvalidParameter(format!(
                    "a bandwidth target must be a positive frequency, not {f}"
                )));
            }
            if let Some(limit) = config.observable_max_hz
                && f > limit
            {
                return Err(TuneError::Invalid(format!(
                    "the link cannot observe {f} Hz: this run's readings observe up to {limit:.1} Hz, so a validation run could not measure the loop; raise the reading rate or ask for less"
                )));
            }
            let i = scan
                .iter()
                .position(|(_, bw, _)| bw.is_some_and(|b| b >= f))
                .filter(|&i| i > 0);
            let Some(i) = i else {
                return Err(unreachable(f, best_bw, config, plant, structure));
            };
            let wn = bisect(scan[i - 1].0, scan[i].0, &|w| {
                at(w).0.is_some_and(|b| b >= f)
            });
            if !stable(at(wn).1) {
                return Err(unreachable(f, best_bw, config, plant, structure));
            }
            wn
        }
        GainTarget::PhaseMarginDeg(m) => {
            if !(m.is_finite() && (config.min_phase_margin_deg..90.0).contains(&m)) {
                return Err(TuneError::InvalidParameter(format!(
                    "a phase-margin target must be between {}° and 90°, not {m}°",
                    config.min_phase_margin_deg
                )));
            }
            let keeps = |pm: Option<f64>| pm.is_some_and(|p| p >= m);
            // The slowest loops cross over below the frequencies computed: start at the
            // first that crosses within them.
            let first = scan.iter().position(|(_, _, pm)| pm.is_some()).ok_or_else(|| {
                TuneError::Invalid("the loop never crosses over within 0.05 Hz and the control rate: no margin can be placed".into())
            })?;
            if !keeps(scan[first].2) {
                return Err(TuneError::Invalid(format!(
                    "with a damping ratio of {:.2} the loop never has {m}° of phase margin (at most {:.0}°): raise the damping",
                    config.damping,
                    scan[first].2.unwrap_or(0.0)
                )));
            }
            let i = scan[first..]
                .iter()
                .position(|(_, _, pm)| !keeps(*pm))
                .map(|i| i + first);
            let wn = match i {
                Some(i) => bisect(scan[i - 1].0, scan[i].0, &|w| !keeps(at(w).1)),
                None => scan[scan.len() - 1].0,
            };
            if let (Some(limit), Some(bw)) = (config.observable_max_hz, at(wn).0)
                && bw > limit
            {
                return Err(TuneError::Invalid(format!(
                    "the loop with {m}° of phase margin would have a {bw:.1} Hz bandwidth, which the link cannot observe (up to {limit:.1} Hz): a validation run could not measure it"
                )));
            }
            wn
        }
    };
    let (law, damped) = placed(plant, kind, wn, config.damping, config.integral);
    let mut notes = Vec::new();
    if damped {
        notes.push(format!(
            "the mechanics already damp more than ζ = {:.2} asks at this speed: the {} gain is 0 and the loop is more damped than asked",
            config.damping,
            match kind {
                LoopKind::Position => "derivative",
                LoopKind::Velocity => "proportional",
            }
        ));
    }
    let mut gains = Vec::new();
    for (register, counts, wanted) in structure.counts(&law) {
        let clipped = (wanted - counts).abs() > 0.5;
        if clipped {
            notes.push(format!(
                "{} would be {wanted:.0}, outside its range {}–{}: clipped to {counts:.0}; the prediction uses the clipped value",
                register.name, register.min, register.max
            ));
        }
        gains.push(SuggestedGain {
            name: register.name.clone(),
            term: register.term,
            counts,
            wanted_counts: wanted,
            si: counts * register.si_per_count,
            rule: register.rule.clone(),
            clipped,
        });
    }
    let counted: Vec<(String, f64)> = gains.iter().map(|g| (g.name.clone(), g.counts)).collect();
    let applied = structure.law(&counted);
    let predicted = predict(&closed(applied), config.step_amplitude);
    // Clipped counts that leave the target out of reach make a refusal, not a suggestion.
    let clipped: Vec<&SuggestedGain> = gains.iter().filter(|g| g.clipped).collect();
    if !clipped.is_empty() {
        let missed = match config.target {
            GainTarget::BandwidthHz(f) => predicted
                .bandwidth_hz
                .is_none_or(|b| (b - f).abs() > CLIPPED_TOLERANCE * f),
            GainTarget::PhaseMarginDeg(m) => predicted
                .margins
                .phase_margin_deg
                .is_none_or(|p| (p - m).abs() > 5.0),
        };
        if missed {
            let needs: Vec<String> = clipped
                .iter()
                .map(|g| {
                    let limit = if g.wanted_counts > g.counts {
                        "above its maximum"
                    } else {
                        "below its minimum"
                    };
                    format!(
                        "{} would need {:.0} counts, {limit} {:.0}",
                        g.name, g.wanted_counts, g.counts
                    )
                })
                .collect();
            return Err(TuneError::Invalid(format!(
                "the drive cannot reach the target: {}; with the clipped value it would give {}",
                needs.join(", "),
                match config.target {
                    GainTarget::BandwidthHz(_) => predicted
                        .bandwidth_hz
                        .map_or("no bandwidth".into(), |b| format!("{b:.1} Hz")),
                    GainTarget::PhaseMarginDeg(_) => predicted
                        .margins
                        .phase_margin_deg
                        .map_or("no phase margin".into(), |p| format!(
                            "{p:.0}° of phase margin"
                        )),
                }
            )));
        }
    }
    // Dry friction is left out of the small-signal figures: say below which motion it
    // starts to slow the loop (where it is a tenth of the motion's acceleration).
    if let Some(bw) = predicted.bandwidth_hz
        && plant.coulomb_accel > 0.0
    {
        let w = TAU * bw;
        let motion = 10.0 * plant.coulomb_accel / (w * w);
        notes.push(format!(
            "the model's dry friction ({:.2} rad/s²) is a tenth of the acceleration of a {motion:.4} motion at {bw:.1} Hz: smaller motions (a small chirp near the bandwidth) follow more slowly than predicted",
            plant.coulomb_accel
        ));
    }
    if predicted.saturates {
        notes.push(format!(
            "a step of {:.4} drives the output to its cap: steps up to {:.4} stay linear and meet the predicted bandwidth; larger ones are slowed by the cap",
            config.step_amplitude, predicted.max_linear_step
        ));
    }
    let rule = match (kind, config.integral) {
        (LoopKind::Position, false) => format!(
            "pole placement for the {}: Kp = ωn²/g, Kd = (2ζωn − a)/g",
            structure.name
        ),
        (LoopKind::Position, true) => format!(
            "pole placement for the {}: poles at ωn (ζ) and ωn/4; Kp = (ωn² + 2ζωn·ωi)/g, Kd = (2ζωn + ωi − a)/g, Ki = ωi·ωn²/g",
            structure.name
        ),
        (LoopKind::Velocity, _) => format!(
            "pole placement for the {}: Kp = (2ζωn − a)/g, Ki = ωn²/g",
            structure.name
        ),
    };
    Ok(Suggestion {
        structure: structure.name.clone(),
        rule,
        target: config.target,
        natural_frequency_hz: wn / TAU,
        damping: config.damping,
        gains,
        law: applied,
        predicted,
        notes,
    })
}

fn unreachable(
    f: f64,
    best_bw: f64,
    config: &SuggestConfig,
    plant: &Plant,
    structure: &LoopStructure,
) -> TuneError {
    TuneError::Invalid(format!(
        "the drive cannot reach a {f} Hz bandwidth: with the model's {:.2} ms delay and the {:.1} ms control period, the fastest loop with at least {}° of phase margin (ζ = {:.2}) has {best_bw:.1} Hz",
        plant.delay_s * 1e3,
        structure.control_period_s * 1e3,
        config.min_phase_margin_deg,
        config.damping
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An XM430-like plant: J = 0.012 kg·m², 4.1 N·m per full PWM, B = 0.85.
    fn xm430() -> Plant {
        Plant {
            gain: 4.1 / 0.012,
            damping_per_s: 0.853 / 0.012,
            coulomb_accel: 0.05 / 0.012,
            delay_s: 0.0,
        }
    }

    #[test]
    fn a_bandwidth_target_is_met_on_the_model() {
        let s = LoopStructure::dynamixel_x_position();
        let c = SuggestConfig::for_target(GainTarget::BandwidthHz(12.0));
        let sug = suggest(&xm430(), &s, &c).unwrap();
        let bw = sug.predicted.bandwidth_hz.unwrap();
        // Rounded counts move it a little, no more.
        assert!((bw - 12.0).abs() < 0.3, "{bw} {sug:?}");
        let p = &sug.gains[0];
        assert_eq!(p.name, "Position P Gain");
        assert!(p.counts > 800.0 && !p.clipped);
        assert!(sug.predicted.margins.phase_margin_deg.unwrap() > 45.0);
    }

    #[test]
    fn a_phase_margin_target_is_met_and_an_unreachable_bandwidth_refused() {
        let s = LoopStructure::dynamixel_x_position();
        let mut plant = xm430();
        plant.delay_s = 0.004;
        let c = SuggestConfig::for_target(GainTarget::PhaseMarginDeg(50.0));
        let sug = suggest(&plant, &s, &c).unwrap();
        let pm = sug.predicted.margins.phase_margin_deg.unwrap();
        assert!((pm - 50.0).abs() < 2.0, "{pm}");
        let c = SuggestConfig::for_target(GainTarget::BandwidthHz(200.0));
        let err = suggest(&plant, &s, &c).unwrap_err().to_string();
        assert!(err.contains("cannot reach"), "{err}");
        let mut c = SuggestConfig::for_target(GainTarget::BandwidthHz(20.0));
        c.observable_max_hz = Some(10.0);
        let err = suggest(&xm430(), &s, &c).unwrap_err().to_string();
        assert!(err.contains("cannot observe"), "{err}");
    }

    #[test]
    fn counts_beyond_a_register_refuse_a_target_they_put_out_of_reach() {
        // Feetech's u8 coefficients run out on a stiff target.
        let s = LoopStructure::feetech_position();
        let plant = Plant {
            gain: 1.91 / 0.006,
            damping_per_s: 0.61 / 0.006,
            coulomb_accel: 5.0,
            delay_s: 0.0,
        };
        let c = SuggestConfig::for_target(GainTarget::BandwidthHz(60.0));
        let err = suggest(&plant, &s, &c).unwrap_err().to_string();
        assert!(
            err.contains("P Coefficient would need") && err.contains("254"),
            "{err}"
        );
        // A target the coefficients reach is placed, none clipped.
        let c = SuggestConfig::for_target(GainTarget::BandwidthHz(8.0));
        let sug = suggest(&plant, &s, &c).unwrap();
        assert!(sug.gains.iter().all(|g| !g.clipped), "{sug:?}");
        assert!((sug.predicted.bandwidth_hz.unwrap() - 8.0).abs() < 0.8);
    }

    #[test]
    fn a_velocity_loop_is_placed_too() {
        let s = LoopStructure::dynamixel_x_velocity();
        let c = SuggestConfig::for_target(GainTarget::BandwidthHz(8.0));
        let sug = suggest(&xm430(), &s, &c).unwrap();
        let bw = sug.predicted.bandwidth_hz.unwrap();
        assert!((bw - 8.0).abs() < 0.4, "{bw} {sug:?}");
        // KVI's 14 bits do not reach a 20 Hz velocity loop on this inertia.
        let c = SuggestConfig::for_target(GainTarget::BandwidthHz(20.0));
        let err = suggest(&xm430(), &s, &c).unwrap_err().to_string();
        assert!(err.contains("Velocity I Gain would need"), "{err}");
    }
}
