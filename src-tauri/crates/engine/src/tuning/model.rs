//! A run's mechanics identified: the readings resampled onto a uniform grid at the run's
//! own rate, the tuning crate's model fitted (see [`drivedeck_tune::identify`]), put in
//! physical units where the drive's profile gives the torque its output stands for, and
//! the model's velocity beside the measured one for drawing; a two-mass resonance from the
//! run's plant where its analysis found one.

use super::RunData;
use super::analysis::{resample, uniform_grid};
use crate::api::ResonanceView;
use drivedeck_proto::profile::Profile;
use drivedeck_tune::identify::{IdentifyConfig, MechanicalModel, PhysicalModel, identify};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Points of the measured-against-model trace (decimated for drawing).
const TRACE_POINTS: usize = 2000;

/// A two-mass resonance seen in the run's plant: the load on a spring at the output.
/// Measured at the motor, the load's own frequency against a held motor is an
/// anti-resonance (a dip) at `√(k/J₂)`, and the coupled mode a resonance (a peak) above it
/// at `√(k·(J₁ + J₂)/(J₁·J₂))`; their ratio gives the split of the inertia,
/// `J₂/J₁ = (f_r/f_ar)² − 1`, the rigid-body fit the sum.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct TwoMass {
    /// The anti-resonance: the load against a held motor, Hz.
    pub antiresonance_hz: f64,
    /// The coupled resonance above it, Hz, where the run shows one.
    pub resonance_hz: Option<f64>,
    /// J₂/J₁, where both show.
    pub load_to_motor_inertia: Option<f64>,
    /// J₁ and J₂, kg·m², where both show and the model is in physical units.
    pub motor_inertia: Option<f64>,
    /// See `motor_inertia`.
    pub load_inertia: Option<f64>,
    /// The coupling's stiffness k = J₂·(2π·f_ar)², N·m/rad, likewise.
    pub stiffness: Option<f64>,
}

/// The two-mass resonance of `resonances` (as the analysis found them in the plant):
/// the lowest anti-resonance, and the first resonance above it; J₁ and J₂ from the
/// rigid-body inertia `inertia` where given.
pub fn two_mass(resonances: &[ResonanceView], inertia: Option<f64>) -> Option<TwoMass> {
    let dip = resonances
        .iter()
        .filter(|r| r.kind == "dip" && r.response == "plant")
        .map(|r| r.freq_hz)
        .fold(None, |m: Option<f64>, f| Some(m.map_or(f, |m| m.min(f))))?;
    let peak = resonances
        .iter()
        .filter(|r| r.kind == "peak" && r.response == "plant" && r.freq_hz > dip)
        .map(|r| r.freq_hz)
        .fold(None, |m: Option<f64>, f| Some(m.map_or(f, |m| m.min(f))));
    let ratio = peak.map(|p| (p / dip).powi(2) - 1.0);
    let (motor, load) = match (ratio, inertia) {
        (Some(r), Some(j)) if r > 0.0 => (Some(j / (1.0 + r)), Some(j * r / (1.0 + r))),
        _ => (None, None),
    };
    Some(TwoMass {
        antiresonance_hz: dip,
        resonance_hz: peak,
        load_to_motor_inertia: ratio,
        motor_inertia: motor,
        load_inertia: load,
        stiffness: load.map(|j2| j2 * (std::f64::consts::TAU * dip).powi(2)),
    })
}

/// `x` averaged over a centred window of `width` samples (shorter at the ends).
fn centred_mean(x: &[f64], width: usize) -> Vec<f64> {
    let half = width / 2;
    let mut prefix = Vec::with_capacity(x.len() + 1);
    prefix.push(0.0);
    for v in x {
        prefix.push(prefix[prefix.len() - 1] + v);
    }
    (0..x.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(x.len()));
            (prefix[b] - prefix[a]) / (b - a) as f64
        })
        .collect()
}

/// What identification found in a run.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ModelResults {
    /// The model per unit of the drive's output.
    pub model: MechanicalModel,
    /// What one unit of output is (`PWM fraction`).
    pub output_unit: String,
    /// The model in physical units, where the profile gives the torque per output.
    pub physical: Option<PhysicalModel>,
    /// Times of the trace, s from the run's start.
    pub trace_t_s: Vec<f64>,
    /// The measured velocity, rad/s.
    pub trace_measured: Vec<f64>,
    /// The model's velocity driven by the recorded output alone, rad/s.
    pub trace_model: Vec<f64>,
    /// A two-mass resonance, where the run's plant shows one.
    pub resonance: Option<TwoMass>,
    /// What the fit rests on and what it noticed.
    pub notes: Vec<String>,
}

/// Identifies the mechanics of the drive in `data` (of a drive of `profile`); the
/// resonances its analysis found (`resonances`) give the two-mass part.
pub fn identify_run(
    data: &RunData,
    profile: Option<&Profile>,
    resonances: &[ResonanceView],
) -> Result<ModelResults, String> {
    let n = data.t_s.len();
    if n < 100 {
        return Err(format!("{n} readings are too few to fit a model"));
    }
    if data.output.iter().any(|u| !u.is_finite()) {
        return Err(
            "the run did not record the drive's output (its profile maps no present output, or it was not read every time): \
             no model can be fitted from it"
                .into(),
        );
    }
    let (rate, t0, count) = uniform_grid(&data.t_s);
    let output = resample(&data.t_s, &data.output, t0, rate, count);
    let velocity = resample(&data.t_s, &data.velocity, t0, rate, count);
    // A compliant load rings at its anti-resonance and above, where no rigid body is:
    // the rigid-body fit is made below it, both signals smoothed alike by a centred
    // moving average one anti-resonance period long (its first zero there).
    let antiresonance = two_mass(resonances, None).map(|r| r.antiresonance_hz);
    let (output, velocity) = match antiresonance {
        Some(f) if f > 0.0 => {
            let width = ((rate / f).round() as usize).max(1);
            (centred_mean(&output, width), centred_mean(&velocity, width))
        }
        _ => (output, velocity),
    };
    let model = identify(&output, &velocity, rate, &IdentifyConfig::default())
        .map_err(|e| e.to_string())?;
    let mut notes = vec![format!(
        "fitted at the run's rate ({rate:.0} Hz) over {} windows of 10 ms in motion; the delay searched up to 20 ms",
        model.windows
    )];
    if let Some(f) = antiresonance {
        notes.push(format!(
            "the rigid body fitted below the {f:.2} Hz anti-resonance (output and velocity averaged over {:.0} ms alike)",
            1000.0 / f
        ));
    }
    let physical = profile.and_then(|p| p.motor.as_ref()).map(|motor| {
        notes.push(format!(
            "physical units from the datasheet's stall torque ({} N·m at {} V) as the torque of a full PWM output; \
             the damping includes the motor's back-EMF",
            motor.stall_torque, motor.supply_voltage
        ));
        model.physical(motor.stall_torque)
    });
    if physical.is_none() {
        notes.push("no motor figures in the profile: the model stays per unit of output".into());
    }
    let resonance = two_mass(resonances, physical.as_ref().map(|p| p.inertia.value));
    if let Some(r) = &resonance {
        notes.push(match r.resonance_hz {
            Some(peak) => format!(
                "a two-mass resonance: the load against the held motor at {:.2} Hz, the coupled mode at {peak:.2} Hz (J₂/J₁ = {:.2}); the rigid-body figures are the two masses together",
                r.antiresonance_hz,
                r.load_to_motor_inertia.unwrap_or(f64::NAN)
            ),
            None => format!(
                "an anti-resonance at {:.2} Hz (a load on a compliant coupling); no resonance above it within the run, so the inertia is not split",
                r.antiresonance_hz
            ),
        });
    }
    let simulated = model.simulate_velocity(&output, velocity[0]);
    let step = count.div_ceil(TRACE_POINTS).max(1);
    let pick = |x: &[f64]| x.iter().step_by(step).copied().collect::<Vec<f64>>();
    Ok(ModelResults {
        trace_t_s: (0..count)
            .step_by(step)
            .map(|k| t0 + k as f64 / rate)
            .collect(),
        trace_measured: pick(&velocity),
        trace_model: pick(&simulated),
        model,
        output_unit: "PWM fraction".into(),
        physical,
        resonance,
        notes,
    })
}
