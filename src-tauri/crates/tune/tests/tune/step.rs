//! Step metrics of the analytic second-order response against its closed forms.

use drivedeck_tune::step::{StepRun, step_report};

/// Unit step response of ωn²/(s² + 2ζωn s + ωn²), 0 < ζ < 1.
fn second_order(t: f64, zeta: f64, wn: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    let wd = wn * (1.0 - zeta * zeta).sqrt();
    let phi = (1.0 - zeta * zeta).sqrt().atan2(zeta);
    1.0 - (-zeta * wn * t).exp() / (1.0 - zeta * zeta).sqrt() * (wd * t + phi).sin()
}

/// First root of f after `from`, by a fine scan then bisection (independent of the crate).
fn first_root(from: f64, f: impl Fn(f64) -> f64) -> f64 {
    let h = 1e-5;
    let mut t = from;
    while f(t).signum() == f(t + h).signum() {
        t += h;
    }
    let (mut lo, mut hi) = (t, t + h);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if f(lo).signum() == f(mid).signum() {
            lo = mid
        } else {
            hi = mid
        }
    }
    lo
}

#[test]
fn second_order_step_matches_the_analytic_model() {
    let fs = 1000.0;
    for (zeta, wn) in [(0.2, 20.0), (0.5, 10.0), (0.7, 30.0)] {
        let step_at = 0.1;
        let time: Vec<f64> = (0..4000).map(|k| k as f64 / fs).collect();
        let y: Vec<f64> = time
            .iter()
            .map(|&t| 2.0 + 3.0 * second_order(t - step_at, zeta, wn))
            .collect();
        let effort: Vec<f64> = y.iter().map(|v| -0.5 * v).collect();
        let run = StepRun {
            time_s: &time,
            response: &y,
            trajectory: None,
            effort: Some(&effort),
            step_time_s: step_at,
            from: 2.0,
            to: 5.0,
        };
        let m = step_report(&run).expect("metrics").against_step;
        let os_want = 100.0 * (-zeta * std::f64::consts::PI / (1.0 - zeta * zeta).sqrt()).exp();
        assert!(
            (m.overshoot_pct - os_want).abs() < 0.05 * os_want.max(1.0),
            "ζ={zeta}: OS {} vs {os_want}",
            m.overshoot_pct
        );
        let g = |level: f64| move |t: f64| second_order(t, zeta, wn) - level;
        let rise_want = first_root(0.0, g(0.9)) - first_root(0.0, g(0.1));
        assert!(
            (m.rise_time_s.expect("rise") - rise_want).abs() < 2e-4,
            "ζ={zeta}: rise {:?} vs {rise_want}",
            m.rise_time_s
        );
        let delay_want = first_root(0.0, g(0.5));
        assert!((m.delay_s.expect("delay") - delay_want).abs() < 2e-4);
        // Settling: the last exit from the ±band, found on the analytic curve; it lies
        // below the envelope bound ln(1/(band·√(1−ζ²)))/(ζωn).
        for (band, got) in [
            (0.02, m.settling_time_2pct_s),
            (0.05, m.settling_time_5pct_s),
        ] {
            let got = got.expect("settled");
            let bound = (1.0 / (band * (1.0 - zeta * zeta).sqrt())).ln() / (zeta * wn);
            assert!(
                got <= bound + 1e-3,
                "ζ={zeta} band {band}: {got} above envelope {bound}"
            );
            let outside = |t: f64| (second_order(t, zeta, wn) - 1.0).abs() - band;
            // Just after `got` the curve stays inside; just before it was outside.
            assert!(
                (0..2000).all(|i| outside(got + 2e-3 + i as f64 * 1e-3) < 0.0),
                "ζ={zeta}: leaves band after {got}"
            );
            assert!(
                outside(got - 2e-3) > -1e-3 * wn,
                "ζ={zeta}: inside well before {got}"
            );
        }
        assert!(m.steady_state_error.abs() < 0.01 * 3.0);
        assert!(
            (m.peak_effort.expect("effort") - 0.5 * (2.0 + 3.0 * (1.0 + os_want / 100.0))).abs()
                < 0.01
        );
        assert!(m.iae > 0.0);
    }
}

#[test]
fn following_error_against_the_trajectory_is_reported_beside_the_step() {
    // A profile ramps from 0 to 1 in 0.5 s; the drive follows 20 ms late.
    let fs = 1000.0;
    let time: Vec<f64> = (0..2000).map(|k| k as f64 / fs).collect();
    let traj: Vec<f64> = time.iter().map(|&t| (t / 0.5).clamp(0.0, 1.0)).collect();
    let y: Vec<f64> = time
        .iter()
        .map(|&t| ((t - 0.02) / 0.5).clamp(0.0, 1.0))
        .collect();
    let run = StepRun {
        time_s: &time,
        response: &y,
        trajectory: Some(&traj),
        effort: None,
        step_time_s: 0.0,
        from: 0.0,
        to: 1.0,
    };
    let report = step_report(&run).expect("report");
    let f = report.against_trajectory.clone().expect("trajectory");
    assert!((f.max_following_error - 0.04).abs() < 1e-9);
    assert!((f.lag_s.expect("lag") - 0.02).abs() < 1e-6);
    assert!((f.iae - 0.04 * 0.5).abs() < 1e-3);
    // Against the step asked for, the ramp itself counts as error.
    assert!(report.against_step.iae > 0.25 && report.against_step.overshoot_pct == 0.0);
    let json = serde_json::to_string(&report).expect("serialise");
    assert!(json.contains("against_trajectory"));
}
