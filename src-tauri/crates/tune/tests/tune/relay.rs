//! A relay on a known plant 1/(s+1)³: Ku = 8, Tu = 2π/√3.

use drivedeck_tune::excite::relay::Relay;
use drivedeck_tune::relay::analyse;

/// RK4 of three first-order lags in series, input held over each step.
fn simulate(dt: f64, steps: usize, mut relay: Relay) -> Vec<f64> {
    let mut x = [0.0f64; 3];
    let mut out = Vec::with_capacity(steps);
    let deriv = |x: &[f64; 3], u: f64| [u - x[0], x[0] - x[1], x[1] - x[2]];
    for _ in 0..steps {
        let u = relay.next(0.0 - x[2]);
        let add = |a: &[f64; 3], b: &[f64; 3], h: f64| {
            [a[0] + h * b[0], a[1] + h * b[1], a[2] + h * b[2]]
        };
        let k1 = deriv(&x, u);
        let k2 = deriv(&add(&x, &k1, dt / 2.0), u);
        let k3 = deriv(&add(&x, &k2, dt / 2.0), u);
        let k4 = deriv(&add(&x, &k3, dt), u);
        for i in 0..3 {
            x[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        out.push(x[2]);
    }
    out
}

#[test]
fn relay_finds_ultimate_gain_and_period() {
    let dt = 1e-3;
    for hysteresis in [0.0, 0.01] {
        let y = simulate(dt, 60_000, Relay::new(1.0, hysteresis, 0.0));
        let r = analyse(&y, dt, 1.0, hysteresis, 5).expect("relay");
        eprintln!("ε={hysteresis}: {r:?}");
        if hysteresis == 0.0 {
            let tu = std::f64::consts::TAU / 3f64.sqrt();
            assert!(
                (r.ultimate_period_s / tu - 1.0).abs() < 0.05,
                "Tu {} vs {tu}",
                r.ultimate_period_s
            );
            assert!(
                (r.ultimate_gain / 8.0 - 1.0).abs() < 0.05,
                "Ku {} vs 8",
                r.ultimate_gain
            );
        } else {
            // Hysteresis moves the oscillation to where ∠P = −180° + asin(ε/a), i.e.
            // 3·atan(ω) = π − asin(ε/a), with |P(jω)| = π·a/(4d) there.
            let a = r.oscillation_amplitude;
            let w = ((std::f64::consts::PI - (hysteresis / a).asin()) / 3.0).tan();
            let t_want = std::f64::consts::TAU / w;
            assert!(
                (r.ultimate_period_s / t_want - 1.0).abs() < 0.05,
                "T {} vs {t_want}",
                r.ultimate_period_s
            );
            let gain_at_w = (1.0 + w * w).powf(1.5);
            let described = 4.0 / (std::f64::consts::PI * a);
            assert!(
                (described / gain_at_w - 1.0).abs() < 0.05,
                "4d/(πa) {described} vs 1/|P| {gain_at_w}"
            );
            // The corrected gain lies above the uncorrected one.
            assert!(r.ultimate_gain > described);
        }
    }
}
