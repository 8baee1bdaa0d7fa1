//! The closed-loop joint input–output estimate recovers the plant where the direct
//! estimate is biased by fed-back output noise.

use super::sim::Noise;
use drivedeck_tune::Complex64;
use drivedeck_tune::frf::{closed_loop, h1};
use drivedeck_tune::spectral::WelchConfig;

const FS: f64 = 1000.0;

/// Plant x[k] = a·x[k−1] + b·u[k−1] (exact ZOH of a first-order lag), y = x + n; loop
/// u = kc·(r − y). Returns (r, u, y).
fn run(r: &[f64], noise: &[f64], a: f64, b: f64, kc: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut x, mut u_prev) = (0.0, 0.0);
    let mut u = Vec::with_capacity(r.len());
    let mut y = Vec::with_capacity(r.len());
    for k in 0..r.len() {
        x = a * x + b * u_prev;
        let yk = x + noise[k];
        let uk = kc * (r[k] - yk);
        y.push(yk);
        u.push(uk);
        u_prev = uk;
    }
    (u, y)
}

fn plant(f: f64, a: f64, b: f64) -> Complex64 {
    let z1 = Complex64::from_polar(1.0, -std::f64::consts::TAU * f / FS);
    b * z1 / (1.0 - a * z1)
}

#[test]
fn joint_estimate_recovers_the_plant_and_the_direct_one_is_biased() {
    let (a, b, kc) = (0.99, 0.02, 3.0);
    // Noise stronger than the reference: the direct estimate is pulled to
    // (P·σr² − σn²/C)/(σr² + σn²), 80 % of the way to −1/C.
    let n = 300_000;
    let r = Noise(11).series(n, 0.3);
    let noise = Noise(12).series(n, 0.6);
    let (u, y) = run(&r, &noise, a, b, kc);
    let cfg = WelchConfig::hann(1024);
    // r → u coherence is σr²/(σr² + σn²) = 0.2 at every frequency (u = C·S·(r − n)), so
    // the mask threshold sits below it; r → y coherence falls above crossover.
    let est = closed_loop(&r, &u, &y, FS, &cfg, 0.15).expect("closed loop");
    let direct = &h1(&u, &[&y], FS, &cfg, 0.0).expect("direct")[0];
    let (mut joint_err, mut direct_err, mut count) = (0.0, 0.0, 0);
    let (mut t_err, mut s_err) = (0.0, 0.0);
    for i in 0..est.plant.freq_hz.len() {
        let f = est.plant.freq_hz[i];
        // Where the joint estimate's coherence (the smaller of r→y and r→u) passes.
        if !(1.0..=100.0).contains(&f) || !est.plant.trusted[i] {
            continue;
        }
        let truth = plant(f, a, b);
        joint_err += ((est.plant.at(i) - truth) / truth).norm();
        direct_err += ((direct.at(i) - truth) / truth).norm();
        count += 1;
        // T and S from the same run against their truths.
        let l = truth * kc;
        let t = l / (1.0 + l);
        t_err += (est.complementary_sensitivity.at(i) - t).norm();
        s_err += (est.sensitivity.at(i) - 1.0 / (1.0 + l)).norm();
    }
    let (joint_err, direct_err) = (joint_err / count as f64, direct_err / count as f64);
    let (t_err, s_err) = (t_err / count as f64, s_err / count as f64);
    assert!(count >= 10, "only {count} trusted bins");
    eprintln!(
        "{count} bins, mean errors: P joint {joint_err}, P direct {direct_err}, T {t_err}, S {s_err}"
    );
    assert!(t_err < 0.1 && s_err < 0.1, "T {t_err}, S {s_err}");
    assert!(joint_err < 0.15, "joint estimate error {joint_err}");
    assert!(
        direct_err > 3.0 * joint_err && direct_err > 0.3,
        "direct {direct_err} vs joint {joint_err}"
    );
    // Where noise dominates the direct estimate tends to −1/C.
    let i = est
        .plant
        .freq_hz
        .iter()
        .position(|&f| f >= 50.0)
        .expect("bin");
    let toward = (direct.at(i) + 1.0 / kc).norm() / (1.0 / kc);
    assert!(
        toward < 0.5,
        "direct estimate at 50 Hz not near −1/C: {toward}"
    );
}
