//! Runs compared: each run's step (measured, or predicted on its model where it has no
//! step) normalised to its size, its closed loop, its figures, and which drives' models
//! stand out from their siblings'. Pure: the API gathers the runs.
//!
//! Siblings are drives of one model on one bus (same profile, same link). A drive's
//! model stands out when one of its figures (the gain g — the inverse of the inertia per
//! unit of output — the damping a, the Coulomb term c) lies further from the median of
//! its siblings' than their own spread (max − min), by more than its own 95 % interval
//! and more than 5 % of that median. It takes at least two siblings to have a spread.

use drivedeck_domain::DriveRef;
use drivedeck_tune::identify::MechanicalModel;
use serde::Serialize;
use ts_rs::TS;

/// A drive's model standing out from its siblings'.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SiblingFlag {
    /// The run whose model stands out.
    #[ts(type = "number")]
    pub run: i64,
    /// Its drive.
    pub drive: DriveRef,
    /// Which figure: `gain`, `damping` or `coulomb`.
    pub parameter: String,
    /// Its value.
    pub value: f64,
    /// The siblings' median.
    pub siblings_median: f64,
    /// The siblings' spread (max − min).
    pub siblings_spread: f64,
    /// What it means, in words.
    pub message: String,
}

/// One run's model for the sibling check.
pub struct ModelOf<'a> {
    /// The run.
    pub run: i64,
    /// Its drive.
    pub drive: DriveRef,
    /// Its profile.
    pub profile: &'a str,
    /// Its model.
    pub model: &'a MechanicalModel,
}

/// One figure of a model: its value and 95 % interval.
type Figure = fn(&MechanicalModel) -> (f64, f64);

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}

/// The drives among `models` whose model stands out from their siblings' (see the
/// module doc). A drive with several runs counts once, by its newest (highest) run.
pub fn sibling_flags(models: &[ModelOf<'_>]) -> Vec<SiblingFlag> {
    let mut newest: Vec<&ModelOf<'_>> = Vec::new();
    for m in models {
        match newest
            .iter_mut()
            .find(|n| n.drive == m.drive && n.profile == m.profile)
        {
            Some(n) if n.run < m.run => *n = m,
            Some(_) => {}
            None => newest.push(m),
        }
    }
    let mut flags = Vec::new();
    let figures: [(&str, &str, Figure); 3] = [
        (
            "gain",
            "its inertia (the gain from output to acceleration)",
            |m| (m.gain.value, m.gain.ci95),
        ),
        ("damping", "its damping", |m| {
            (m.damping_per_s.value, m.damping_per_s.ci95)
        }),
        ("coulomb", "its dry friction", |m| {
            (m.coulomb_accel.value, m.coulomb_accel.ci95)
        }),
    ];
    for m in &newest {
        let siblings: Vec<&&ModelOf<'_>> = newest
            .iter()
            .filter(|o| {
                o.profile == m.profile && o.drive.link == m.drive.link && o.drive != m.drive
            })
            .collect();
        if siblings.len() < 2 {
            continue;
        }
        for (name, what, figure) in figures {
            let (value, ci) = figure(m.model);
            let mut others: Vec<f64> = siblings.iter().map(|o| figure(o.model).0).collect();
            let spread = others.iter().cloned().fold(f64::MIN, f64::max)
                - others.iter().cloned().fold(f64::MAX, f64::min);
            let mid = median(&mut others);
            let off = (value - mid).abs();
            if off > spread && off > ci && off > 0.05 * mid.abs() {
                flags.push(SiblingFlag {
                    run: m.run,
                    drive: m.drive,
                    parameter: name.into(),
                    value,
                    siblings_median: mid,
                    siblings_spread: spread,
                    message: format!(
                        "drive {} ({}): {what} differs from its {} siblings' — {name} {value:.4} against their median {mid:.4} (spread {spread:.4}); check its load, coupling or gearbox",
                        m.drive.id,
                        m.profile,
                        siblings.len()
                    ),
                });
            }
        }
    }
    flags
}

/// A step normalised to its size: times from the edge, the response from 0 (before) to
/// 1 (the step's size). `t_s`, `response` are the run's readings; the step is `size`
/// from `from`, taken at `edge_s` and held `hold_s`.
pub fn normalised_step(
    t_s: &[f64],
    response: &[f64],
    from: f64,
    size: f64,
    edge_s: f64,
    hold_s: f64,
) -> (Vec<f64>, Vec<f64>) {
    t_s.iter()
        .zip(response)
        .filter(|(t, _)| **t >= edge_s && **t < edge_s + hold_s)
        .map(|(t, y)| (t - edge_s, (y - from) / size))
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_tune::identify::Estimate;

    fn model(g: f64) -> MechanicalModel {
        let e = |value| Estimate {
            value,
            ci95: 0.01 * value,
        };
        MechanicalModel {
            gain: e(g),
            damping_per_s: e(70.0),
            coulomb_accel: e(4.0),
            delay_s: 0.0,
            delay_samples: 0,
            sample_rate_hz: 1000.0,
            fit_pct: 95.0,
            r_squared: 0.99,
            windows: 100,
        }
    }

    #[test]
    fn the_drive_with_twice_the_inertia_stands_out() {
        let models = [model(340.0), model(345.0), model(172.0), model(338.0)];
        let of: Vec<ModelOf<'_>> = models
            .iter()
            .enumerate()
            .map(|(i, m)| ModelOf {
                run: i as i64 + 1,
                drive: DriveRef {
                    link: 1,
                    id: i as u8 + 1,
                },
                profile: "XM430-W350",
                model: m,
            })
            .collect();
        let flags = sibling_flags(&of);
        assert_eq!(flags.len(), 1, "{flags:?}");
        assert_eq!(flags[0].drive.id, 3);
        assert_eq!(flags[0].parameter, "gain");
        // Two drives are no siblings' spread: nothing flagged.
        assert!(sibling_flags(&of[..2]).is_empty());
    }

    #[test]
    fn a_step_is_cut_at_its_edge_and_scaled() {
        let t = [0.0, 0.1, 0.2, 0.3, 0.4];
        let y = [1.0, 1.0, 1.1, 1.2, 1.0];
        let (ts, ys) = normalised_step(&t, &y, 1.0, 0.2, 0.1, 0.25);
        assert_eq!(ts.len(), 3);
        assert!((ys[2] - 1.0).abs() < 1e-12 && ts[0] == 0.0);
    }
}
