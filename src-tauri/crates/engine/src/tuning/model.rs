//! A run's mechanics identified: the readings resampled onto a uniform grid at the run's
//! own rate, the tuning crate's model fitted (see [`drivedeck_tune::identify`]), put in
//! physical units where the drive's profile gives the torque its output stands for, and
//! the model's velocity beside the measured one for drawing.

use super::RunData;
use super::analysis::{rate_and_jitter, resample};
use drivedeck_proto::profile::Profile;
use drivedeck_tune::identify::{IdentifyConfig, MechanicalModel, PhysicalModel, identify};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Points of the measured-against-model trace (decimated for drawing).
const TRACE_POINTS: usize = 2000;

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
    /// What the fit rests on and what it noticed.
    pub notes: Vec<String>,
}

/// Identifies the mechanics of the drive in `data` (of a drive of `profile`).
pub fn identify_run(data: &RunData, profile: Option<&Profile>) -> Result<ModelResults, String> {
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
    let (rate, _) = rate_and_jitter(&data.t_s);
    let t0 = data.t_s[0];
    let count = ((data.t_s[n - 1] - t0) * rate).floor() as usize;
    let output = resample(&data.t_s, &data.output, t0, rate, count);
    let velocity = resample(&data.t_s, &data.velocity, t0, rate, count);
    let model = identify(&output, &velocity, rate, &IdentifyConfig::default())
        .map_err(|e| e.to_string())?;
    let mut notes = vec![format!(
        "fitted at the run's rate ({rate:.0} Hz) over {} windows of 10 ms in motion; the delay searched up to 20 ms",
        model.windows
    )];
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
        notes,
    })
}
