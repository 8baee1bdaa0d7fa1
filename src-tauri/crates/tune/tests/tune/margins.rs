//! Margins of L(s) = K/(s(s+1)(s+2)) against their analytic values.

use drivedeck_tune::Complex64;
use drivedeck_tune::frf::FrequencyResponse;
use drivedeck_tune::margins::margins;

fn loop_at(k: f64, w: f64) -> Complex64 {
    let s = Complex64::new(0.0, w);
    k / (s * (s + 1.0) * (s + 2.0))
}

fn bisect(mut lo: f64, mut hi: f64, f: impl Fn(f64) -> f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if (f(lo) > 0.0) == (f(mid) > 0.0) {
            lo = mid
        } else {
            hi = mid
        }
    }
    0.5 * (lo + hi)
}

#[test]
fn third_order_loop_margins_match_analysis() {
    for k in [1.0, 2.0, 4.0] {
        let freq: Vec<f64> = (0..3000)
            .map(|i| 0.001 * 10f64.powf(4.0 * i as f64 / 2999.0))
            .collect();
        let l: Vec<Complex64> = freq
            .iter()
            .map(|&f| loop_at(k, std::f64::consts::TAU * f))
            .collect();
        let m = margins(&FrequencyResponse::computed(freq, &l));
        // Phase −180° at ω = √2 where |L| = K/6: GM = 6/K.
        let gm_want = 20.0 * (6.0 / k).log10();
        let wp = 2f64.sqrt();
        assert!(
            (m.gain_margin_db.expect("gm") - gm_want).abs() < 0.01,
            "K={k}"
        );
        assert!((m.phase_crossover_hz.expect("fp") - wp / std::f64::consts::TAU).abs() < 1e-3);
        // Gain crossover: ω√(ω²+1)√(ω²+4) = K.
        let wc = bisect(1e-3, 10.0, |w| {
            w * (w * w + 1.0).sqrt() * (w * w + 4.0).sqrt() - k
        });
        let pm_want = 90.0 - wc.atan().to_degrees() - (wc / 2.0).atan().to_degrees();
        assert!(
            (m.phase_margin_deg.expect("pm") - pm_want).abs() < 0.05,
            "K={k}: {:?} vs {pm_want}",
            m.phase_margin_deg
        );
        assert!((m.gain_crossover_hz.expect("fc") * std::f64::consts::TAU / wc - 1.0).abs() < 1e-3);
        let dm_want = pm_want.to_radians() / wc;
        assert!((m.delay_margin_s.expect("dm") / dm_want - 1.0).abs() < 2e-3);
        // Ms from a dense independent sweep.
        let ms_want = (0..200_000)
            .map(|i| 1.0 / (1.0 + loop_at(k, 0.01 + 5.0 * i as f64 / 200_000.0)).norm())
            .fold(0.0, f64::max);
        assert!(
            (m.peak_sensitivity / ms_want - 1.0).abs() < 0.01,
            "K={k}: Ms {} vs {ms_want}",
            m.peak_sensitivity
        );
    }
}

#[test]
fn unstable_gain_gives_negative_margins_and_untrusted_points_are_skipped() {
    // K = 8 > 6: GM < 0, PM < 0.
    let freq: Vec<f64> = (0..2000)
        .map(|i| 0.001 * 10f64.powf(4.0 * i as f64 / 1999.0))
        .collect();
    let l: Vec<Complex64> = freq
        .iter()
        .map(|&f| loop_at(8.0, std::f64::consts::TAU * f))
        .collect();
    let mut frf = FrequencyResponse::computed(freq, &l);
    let m = margins(&frf);
    assert!(m.gain_margin_db.expect("gm") < 0.0 && m.phase_margin_deg.expect("pm") < 0.0);
    for t in frf.trusted.iter_mut() {
        *t = false;
    }
    let m = margins(&frf);
    assert_eq!(
        (m.gain_margin_db, m.phase_margin_deg, m.delay_margin_s),
        (None, None, None)
    );
}
