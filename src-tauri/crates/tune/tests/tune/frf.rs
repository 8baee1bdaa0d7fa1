//! H1 and coherence on a known discrete system, excited by PRBS, chirp and noise.

use super::sim::{Biquad, Noise, wrap_deg};
use drivedeck_tune::excite::chirp::{Chirp, Sweep};
use drivedeck_tune::excite::{prbs::Prbs, sample};
use drivedeck_tune::frf::{FrequencyResponse, h1};
use drivedeck_tune::spectral::{WelchConfig, psd};

const FS: f64 = 1000.0;

fn check_against_truth(h: &FrequencyResponse, sys: &Biquad, what: &str) -> usize {
    let mut checked = 0;
    for i in 0..h.freq_hz.len() {
        if h.coherence[i] < 0.9 {
            continue;
        }
        let truth = sys.response(h.freq_hz[i], FS);
        let db = h.magnitude_db[i] - 20.0 * truth.norm().log10();
        let deg = wrap_deg(h.phase_deg[i] - truth.arg().to_degrees());
        assert!(
            db.abs() < 1.0 && deg.abs() < 5.0,
            "{what} at {} Hz: {db} dB, {deg}°",
            h.freq_hz[i]
        );
        checked += 1;
    }
    checked
}

#[test]
fn prbs_chirp_and_noise_recover_a_second_order_system() {
    let sys = Biquad::second_order(40.0, 0.3, FS);
    let n = 60_000;
    let prbs = Prbs::new(11, 1.0 / FS, 1.0).expect("prbs");
    let chirp = Chirp {
        start_hz: 0.5,
        end_hz: 400.0,
        amplitude: 1.0,
        duration_s: 60.0,
        sweep: Sweep::Log,
        amplitude_rolloff: 0.0,
    };
    let inputs = [
        ("prbs", sample(|t| prbs.value_at(t), FS, n)),
        ("chirp", sample(|t| chirp.value_at(t), FS, n)),
        ("noise", Noise(3).series(n, 1.0)),
    ];
    let mut noise = Noise(99);
    for (what, u) in inputs {
        let y: Vec<f64> = sys
            .filter(&u)
            .iter()
            .map(|v| v + 0.01 * noise.gauss())
            .collect();
        let h = &h1(&u, &[&y], FS, &WelchConfig::hann(1024), 0.9).expect("h1")[0];
        let checked = check_against_truth(h, &sys, what);
        // Coherent (and so checked) over 1–100 Hz at least, for every excitation (a log
        // chirp puts little power per hertz at its top end, so its coherent band ends first).
        let band = (0..h.freq_hz.len()).filter(|&i| (1.0..=100.0).contains(&h.freq_hz[i]));
        assert!(
            band.clone().all(|i| h.coherence[i] >= 0.9),
            "{what}: incoherent within 1–100 Hz"
        );
        assert!(
            checked >= band.count(),
            "{what}: only {checked} bins coherent"
        );
        // The mask keeps the points and flags them.
        assert_eq!(h.trusted.len(), h.freq_hz.len());
    }
}

#[test]
fn coherence_is_one_without_noise_and_follows_the_noise_ratio() {
    let sys = Biquad::second_order(40.0, 0.3, FS);
    let n = 200_000;
    let u = Noise(5).series(n, 1.0);
    let clean = sys.filter(&u);
    let cfg = WelchConfig::hann(1024);
    let h = &h1(&u, &[&clean], FS, &cfg, 0.9).expect("h1")[0];
    // Noise-free, γ² falls short of 1 only by the Welch bias (the response to input
    // from the previous segment leaking in), small against the segment length.
    let worst = h.coherence[..400].iter().fold(1.0_f64, |m, &g| m.min(g));
    eprintln!("worst noise-free coherence {worst}");
    assert!(worst > 0.99, "noise-free coherence below 1: {worst}");
    let noise = Noise(6).series(n, 0.3);
    let y: Vec<f64> = clean.iter().zip(&noise).map(|(a, b)| a + b).collect();
    let h = &h1(&u, &[&y], FS, &cfg, 0.9).expect("h1")[0];
    let (_, s_clean) = psd(&clean, FS, &cfg).expect("psd");
    let (_, s_nn) = psd(&noise, FS, &cfg).expect("psd");
    let mut err = 0.0;
    let mut lowered = 0;
    for i in 0..h.freq_hz.len() {
        let want = s_clean[i + 1] / (s_clean[i + 1] + s_nn[i + 1]);
        err += (h.coherence[i] - want).abs();
        if h.coherence[i] < 0.5 {
            lowered += 1;
            assert!(!h.trusted[i]);
        }
    }
    let mean_err = err / h.freq_hz.len() as f64;
    assert!(
        mean_err < 0.03,
        "coherence vs S_clean/(S_clean+S_nn): mean error {mean_err}"
    );
    assert!(
        lowered > 50,
        "noise should lower coherence at high frequency"
    );
}
