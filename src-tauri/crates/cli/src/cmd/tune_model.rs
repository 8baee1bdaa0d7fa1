//! `drivedeck-cli tune identify|suggest|predict` on stored runs, offline (no drive, no
//! link: the database alone).
//!
//! - `tune identify --db FILE --run N [--json]`: the run's mechanical model with 95 %
//!   intervals, per unit of output and in physical units.
//! - `tune suggest --db FILE --run N (--target-bandwidth-hz F | --target-phase-margin-deg M)
//!   [--damping Z] [--integral] [--json]`: gains for the target on the run's model, in the
//!   registers' counts and in SI and physical units, with the predicted bandwidth,
//!   margins and step. Nothing is written to the drive: apply them with a parameter write.
//! - `tune predict --db FILE --run N [--model-run M] [--gain NAME=COUNTS …] [--json]`:
//!   what the gains (the run's own, with any changed) are predicted to do on model M's
//!   run (default: the run's own), and how well the prediction matches what run N
//!   measured (the validation of a run taken with new gains against the model of an
//!   earlier one).
//! - `tune passive --db FILE --session N --drive LINK:ID --from S --to S [--json]`: the
//!   drive's step response estimated from the session's ordinary moves in that range (its
//!   target jobs against its recorded response), with its step metrics.
//! - `tune compare --db FILE --runs N,M,… [--export png|svg|csv|json] [--json]`: the runs
//!   side by side (gains, figures, models), the drives whose model stands out from their
//!   siblings' flagged; with `--export` the report is written too (its path printed).

use anyhow::{anyhow, bail};
use drivedeck_engine::api::{
    Api, Comparison, GainValue, PredictRequest, SuggestRequest, SuggestionView,
};
use drivedeck_engine::tuning::model::ModelResults;
use drivedeck_engine::tuning::whatif::Prediction;
use drivedeck_tune::suggest::{GainTarget, Predicted};

/// What the offline commands need from `tune`'s flags.
pub struct ModelArgs {
    /// `--run`.
    pub run: Option<i64>,
    /// `--model-run`.
    pub model_run: Option<i64>,
    /// `--target-bandwidth-hz`.
    pub bandwidth_hz: Option<f64>,
    /// `--target-phase-margin-deg`.
    pub phase_margin_deg: Option<f64>,
    /// `--damping`.
    pub damping: Option<f64>,
    /// `--integral`.
    pub integral: bool,
    /// `--gain NAME=COUNTS`.
    pub gains: Vec<String>,
    /// `--runs`.
    pub runs: Vec<i64>,
    /// `--session`.
    pub session: Option<i64>,
    /// `--drive` (LINK:ID).
    pub drive: Option<String>,
    /// `--from`.
    pub from: Option<f64>,
    /// `--to`.
    pub to: Option<f64>,
    /// `--export`.
    pub export: Option<String>,
    /// `--json`.
    pub json: bool,
}

/// `tune identify`.
pub fn identify(api: &Api, args: &ModelArgs) -> anyhow::Result<String> {
    let id = args.run.ok_or_else(|| anyhow!("identify needs --run N"))?;
    let model = api.tune_identify(id)?;
    Ok(if args.json {
        serde_json::to_string(&identify_json(id, &model))? + "\n"
    } else {
        identify_summary(id, &model)
    })
}

/// `tune suggest`.
pub fn suggest(api: &Api, args: &ModelArgs) -> anyhow::Result<String> {
    let id = args.run.ok_or_else(|| anyhow!("suggest needs --run N"))?;
    let target = match (args.bandwidth_hz, args.phase_margin_deg) {
        (Some(f), None) => GainTarget::BandwidthHz(f),
        (None, Some(m)) => GainTarget::PhaseMarginDeg(m),
        _ => bail!(
            "suggest needs one target: --target-bandwidth-hz F or --target-phase-margin-deg M"
        ),
    };
    let view = api.tune_suggest(&SuggestRequest {
        run: id,
        target,
        damping: args.damping,
        integral: Some(args.integral),
    })?;
    Ok(if args.json {
        serde_json::to_string(&suggest_json(&view))? + "\n"
    } else {
        suggest_summary(&view)
    })
}

/// `tune predict`.
pub fn predict(api: &Api, args: &ModelArgs) -> anyhow::Result<String> {
    let id = args.run.ok_or_else(|| anyhow!("predict needs --run N"))?;
    let gains = args
        .gains
        .iter()
        .map(|g| {
            let (name, counts) = g
                .rsplit_once('=')
                .ok_or_else(|| anyhow!("--gain {g:?} is not NAME=COUNTS"))?;
            let counts: f64 = counts
                .trim()
                .parse()
                .map_err(|_| anyhow!("--gain {g:?}: {counts:?} is not a number"))?;
            Ok(GainValue {
                name: name.trim().to_string(),
                counts,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let prediction = api.tune_predict(&PredictRequest {
        model_run: args.model_run.unwrap_or(id),
        run: Some(id),
        gains,
        step_size: None,
    })?;
    Ok(if args.json {
        serde_json::to_string(&prediction_json(&prediction))? + "\n"
    } else {
        prediction_summary(&prediction)
    })
}

/// `tune passive`.
pub fn passive(api: &Api, args: &ModelArgs) -> anyhow::Result<String> {
    let session = args
        .session
        .ok_or_else(|| anyhow!("passive needs --session N"))?;
    let drive = args
        .drive
        .as_deref()
        .ok_or_else(|| anyhow!("passive needs --drive LINK:ID"))?;
    let (link, id) = drive
        .split_once(':')
        .and_then(|(l, i)| Some((l.trim().parse().ok()?, i.trim().parse().ok()?)))
        .ok_or_else(|| anyhow!("--drive {drive:?} is not LINK:ID (e.g. 1:1)"))?;
    let (from_s, to_s) = match (args.from, args.to) {
        (Some(f), Some(t)) => (f, t),
        _ => bail!("passive needs the range: --from S --to S (seconds from the session's start)"),
    };
    let view = api.tune_passive(&drivedeck_engine::api::PassiveRequest {
        session,
        drive: drivedeck_domain::DriveRef { link, id },
        from_s,
        to_s,
    })?;
    if args.json {
        return Ok(serde_json::to_string(&serde_json::json!({
            "session": session,
            "drive": view_drive(link, id),
            "loop": view.test_loop,
            "moves": view.moves,
            "rate_hz": view.rate_hz,
            "metrics": view.metrics,
            "coherence_mean": view.estimate.coherence_mean,
            "windows_used": view.estimate.windows_used,
            "windows_total": view.estimate.windows_total,
            "t_s": view.estimate.t_s,
            "step": view.estimate.step,
            "notes": view.notes,
        }))? + "\n");
    }
    let m = view.metrics.as_ref();
    let mut out = format!(
        "session {session}, drive {link}:{id}, {from_s}–{to_s} s: the {} loop's step response from {} moves\n  rise {}, overshoot {}, settling (2 %) {}\n",
        view.test_loop,
        view.moves,
        opt(m.and_then(|m| m.rise_time_s).map(|t| t * 1e3), 1, "ms"),
        opt(m.map(|m| m.overshoot_pct), 1, "%"),
        opt(
            m.and_then(|m| m.settling_time_2pct_s).map(|t| t * 1e3),
            1,
            "ms"
        ),
    );
    for note in &view.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    Ok(out)
}

fn view_drive(link: u32, id: u8) -> serde_json::Value {
    serde_json::json!({ "link": link, "id": id })
}

/// `tune compare`.
pub fn compare(api: &Api, args: &ModelArgs) -> anyhow::Result<String> {
    let comparison = api.tune_compare(&args.runs)?;
    let exported = match &args.export {
        Some(format) => Some(api.tune_compare_export(&args.runs, format)?),
        None => None,
    };
    Ok(if args.json {
        let mut json = compare_json(&comparison);
        json["exported"] = exported.map(|p| p.display().to_string()).into();
        serde_json::to_string(&json)? + "\n"
    } else {
        let mut out = compare_summary(&comparison);
        if let Some(path) = exported {
            out.push_str(&format!("report: {}\n", path.display()));
        }
        out
    })
}

/// The JSON `tune compare` prints: the table, models and flags (traces left out).
fn compare_json(c: &Comparison) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = c
        .runs
        .iter()
        .map(|r| {
            serde_json::json!({
                "run": r.summary.id,
                "drive": r.summary.drive,
                "profile": r.summary.profile,
                "test": r.summary.test,
                "loop": r.summary.test_loop,
                "gains": r.gains.iter().map(|g| (g.name.clone(), g.value)).collect::<std::collections::BTreeMap<_, _>>(),
                "step_source": r.step_source,
                "rise_time_s": r.rise_time_s,
                "overshoot_pct": r.overshoot_pct,
                "settling_time_2pct_s": r.settling_time_2pct_s,
                "bode_source": r.bode_source,
                "bandwidth_hz": r.bandwidth_hz,
                "phase_margin_deg": r.phase_margin_deg,
                "gain_margin_db": r.gain_margin_db,
                "model": r.model,
                "physical": r.physical,
                "model_note": r.model_note,
            })
        })
        .collect();
    serde_json::json!({ "runs": runs, "flags": c.flags, "notes": c.notes })
}

fn compare_summary(c: &Comparison) -> String {
    let mut out = format!(
        "{:>5} {:>5} {:<9} {:>9} {:>9} {:>9} {:>8} {:>10}  gains\n",
        "run", "drive", "test", "rise ms", "overs. %", "bw Hz", "PM °", "J kg·m²"
    );
    for r in &c.runs {
        let gains: Vec<String> = r
            .gains
            .iter()
            .filter(|g| g.name.contains("Gain") || g.name.contains("Coefficient"))
            .map(|g| format!("{}={}", g.name, g.value))
            .collect();
        out.push_str(&format!(
            "{:>5} {:>5} {:<9} {:>9} {:>9} {:>9} {:>8} {:>10}  {}\n",
            r.summary.id,
            r.summary.drive.id,
            r.summary.test,
            opt(r.rise_time_s.map(|t| t * 1e3), 1, ""),
            opt(r.overshoot_pct, 1, ""),
            opt(r.bandwidth_hz, 2, ""),
            opt(r.phase_margin_deg, 1, ""),
            opt(r.physical.as_ref().map(|p| p.inertia.value), 5, ""),
            gains.join(" ")
        ));
    }
    for f in &c.flags {
        out.push_str(&format!("  flag: {}\n", f.message));
    }
    for note in &c.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    out
}

/// The JSON `tune identify` prints: the model with its intervals, in the drive's units
/// and physical ones (the drawing trace left out).
fn identify_json(run: i64, m: &ModelResults) -> serde_json::Value {
    serde_json::json!({
        "run": run,
        "model": m.model,
        "output_unit": m.output_unit,
        "physical": m.physical,
        "notes": m.notes,
    })
}

/// `tune identify`'s readable summary.
fn identify_summary(run: i64, m: &ModelResults) -> String {
    let e = |x: &drivedeck_tune::identify::Estimate| format!("{:.4} ± {:.4}", x.value, x.ci95);
    let model = &m.model;
    let mut out = format!(
        "run {run}: dω/dt = g·u(t − τ) − a·ω − c·sign ω, u the {}\n  g = {} rad/s² per unit\n  a = {} 1/s\n  c = {} rad/s²\n  τ = {:.1} ms ({} samples at {:.0} Hz)\n  fit {:.1} % (R² {:.4}, {} windows)\n",
        m.output_unit,
        e(&model.gain),
        e(&model.damping_per_s),
        e(&model.coulomb_accel),
        model.delay_s * 1e3,
        model.delay_samples,
        model.sample_rate_hz,
        model.fit_pct,
        model.r_squared,
        model.windows,
    );
    if let Some(p) = &m.physical {
        out.push_str(&format!(
            "  J = {} kg·m²\n  B = {} N·m·s/rad\n  τc = {} N·m\n",
            e(&p.inertia),
            e(&p.viscous),
            e(&p.coulomb)
        ));
    }
    for note in &m.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    out
}

/// The figures of a prediction, for JSON.
fn predicted_json(p: &Predicted) -> serde_json::Value {
    serde_json::json!({
        "bandwidth_hz": p.bandwidth_hz,
        "phase_margin_deg": p.margins.phase_margin_deg,
        "gain_margin_db": p.margins.gain_margin_db,
        "gain_crossover_hz": p.margins.gain_crossover_hz,
        "peak_sensitivity": p.margins.peak_sensitivity,
        "overshoot_pct": p.overshoot_pct,
        "rise_time_s": p.rise_time_s,
        "settling_time_2pct_s": p.settling_time_2pct_s,
        "peak_output": p.peak_output,
        "saturates": p.saturates,
        "max_linear_step": p.max_linear_step,
    })
}

fn suggest_json(v: &SuggestionView) -> serde_json::Value {
    let s = &v.suggestion;
    let gains: Vec<serde_json::Value> = v
        .prediction
        .gains
        .iter()
        .map(|g| {
            let wanted = s.gains.iter().find(|w| w.name == g.name);
            serde_json::json!({
                "name": g.name,
                "counts": g.counts,
                "in_run": g.in_run,
                "wanted_counts": wanted.map(|w| w.wanted_counts),
                "clipped": wanted.is_some_and(|w| w.clipped),
                "rule": g.rule,
                "si": g.si,
                "si_unit": g.si_unit,
                "physical": g.physical,
                "physical_unit": g.physical_unit,
                "min": g.min,
                "max": g.max,
            })
        })
        .collect();
    serde_json::json!({
        "run": v.prediction.run,
        "structure": s.structure,
        "rule": s.rule,
        "target": s.target,
        "natural_frequency_hz": s.natural_frequency_hz,
        "damping": s.damping,
        "gains": gains,
        "predicted": predicted_json(&s.predicted),
        "current": predicted_json(&v.current),
        "notes": s.notes,
    })
}

fn opt(x: Option<f64>, digits: usize, unit: &str) -> String {
    x.map_or("—".into(), |v| format!("{v:.digits$} {unit}"))
}

fn predicted_line(p: &Predicted) -> String {
    format!(
        "bandwidth {}, phase margin {}, gain margin {}, overshoot {:.1} %, rise {}",
        opt(p.bandwidth_hz, 2, "Hz"),
        opt(p.margins.phase_margin_deg, 1, "°"),
        opt(p.margins.gain_margin_db, 1, "dB"),
        p.overshoot_pct,
        opt(p.rise_time_s.map(|t| t * 1e3), 1, "ms"),
    )
}

fn suggest_summary(v: &SuggestionView) -> String {
    let s = &v.suggestion;
    let target = match s.target {
        GainTarget::BandwidthHz(f) => format!("a {f} Hz bandwidth"),
        GainTarget::PhaseMarginDeg(m) => format!("{m}° of phase margin"),
    };
    let mut out = format!(
        "run {}: gains for {target} ({})\n  rule: {}\n  ωn = {:.2} Hz, ζ = {:.2}\n",
        v.prediction.run, s.structure, s.rule, s.natural_frequency_hz, s.damping
    );
    for g in &v.prediction.gains {
        let physical = g
            .physical
            .map_or(String::new(), |p| format!(" = {p:.4} {}", g.physical_unit));
        out.push_str(&format!(
            "  {:<22} {:>7} (now {:>7})  {:.5} {}{physical}  [{}]\n",
            g.name,
            g.counts,
            g.in_run.map_or("—".into(), |c| c.to_string()),
            g.si,
            g.si_unit,
            g.rule
        ));
    }
    out.push_str(&format!("  predicted: {}\n", predicted_line(&s.predicted)));
    out.push_str(&format!("  now:       {}\n", predicted_line(&v.current)));
    for note in &s.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    out.push_str("  nothing was written: apply the gains with a parameter write, then run the test again to validate\n");
    out
}

fn prediction_json(p: &Prediction) -> serde_json::Value {
    serde_json::json!({
        "model_run": p.model_run,
        "run": p.run,
        "structure": p.structure,
        "gains": p.gains.iter().map(|g| serde_json::json!({
            "name": g.name, "counts": g.counts, "in_run": g.in_run,
            "si": g.si, "si_unit": g.si_unit, "physical": g.physical, "physical_unit": g.physical_unit,
        })).collect::<Vec<_>>(),
        "predicted": predicted_json(&p.predicted),
        "replay": {
            "fit_pct": p.run_fit_pct,
            "rms_error": p.run_rms_error,
            "max_error": p.run_max_error,
        },
        "notes": p.notes,
    })
}

fn prediction_summary(p: &Prediction) -> String {
    let mut out = format!(
        "run {} on run {}'s model ({})\n",
        p.run, p.model_run, p.structure
    );
    for g in &p.gains {
        out.push_str(&format!("  {:<22} {:>7}\n", g.name, g.counts));
    }
    out.push_str(&format!("  predicted: {}\n", predicted_line(&p.predicted)));
    out.push_str(&format!(
        "  the run replayed: fit {:.1} %, rms error {:.4}, max error {:.4}\n",
        p.run_fit_pct, p.run_rms_error, p.run_max_error
    ));
    for note in &p.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    out
}
