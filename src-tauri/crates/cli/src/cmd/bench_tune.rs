//! `drivedeck-cli bench tune`: the FRF-with-coherence estimate of a 60 s run at 1 kHz (one
//! reference, three outputs), timed in this build and, when Python with SciPy is
//! available, against `scipy.signal.csd`/`welch` on the same data in the same run; and
//! the identification of a mechanical model from a run of the same length, one what-if
//! update on that model (what a gain slider asks: the step, T and L, and the run
//! replayed) and one gain suggestion.
//!
//! The run is generated, not recorded: a PRBS plus a log chirp through three known
//! second-order systems with output noise, so the estimate has something to find.

use anyhow::{Context, bail};
use drivedeck_tune::excite::chirp::{Chirp, Sweep};
use drivedeck_tune::excite::{prbs::Prbs, sample};
use drivedeck_tune::frf::h1;
use drivedeck_tune::identify::{IdentifyConfig, identify};
use drivedeck_tune::observe::{JitterBounds, observable_range};
use drivedeck_tune::spectral::WelchConfig;
use std::io::Write;
use std::time::Instant;

/// Arguments of `bench tune`.
#[derive(clap::Args, Debug)]
pub struct TuneArgs {
    /// Seconds of run to analyse.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Sample rate of the run.
    #[arg(long, default_value_t = 1000.0)]
    sample_rate_hz: f64,
    /// Welch segment length (Hann, 50 % overlap).
    #[arg(long, default_value_t = 1024)]
    segment: usize,
    /// Timed repetitions (the median is printed).
    #[arg(long, default_value_t = 21)]
    runs: usize,
    /// Python interpreter for the SciPy comparison.
    #[arg(long, default_value = "python3")]
    python: String,
}

/// A second-order lag discretised by Tustin: the three "outputs" of the bench run.
fn second_order(u: &[f64], natural_hz: f64, zeta: f64, fs: f64) -> Vec<f64> {
    let w = std::f64::consts::TAU * natural_hz;
    let k = 2.0 * fs;
    let d = k * k + 2.0 * zeta * w * k + w * w;
    let n = w * w / d;
    let (a1, a2) = (
        (2.0 * w * w - 2.0 * k * k) / d,
        (k * k - 2.0 * zeta * w * k + w * w) / d,
    );
    let mut y = vec![0.0; u.len()];
    for i in 0..u.len() {
        let at = |x: &[f64], j: usize| if i >= j { x[i - j] } else { 0.0 };
        y[i] = n * (u[i] + 2.0 * at(u, 1) + at(u, 2)) - a1 * at(&y, 1) - a2 * at(&y, 2);
    }
    y
}

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

const SCIPY_SCRIPT: &str = r#"
import sys, json, time
import numpy as np
from scipy import signal
path, n, fs, nper, runs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
data = np.fromfile(path, dtype='<f8').reshape(4, n)
x, ys = data[0], data[1:]
def estimate():
    kw = dict(fs=fs, window='hann', nperseg=nper, noverlap=nper // 2, detrend='constant')
    _, pxx = signal.welch(x, **kw)
    out = []
    for y in ys:
        _, pyy = signal.welch(y, **kw)
        _, pxy = signal.csd(x, y, **kw)
        out.append((pxy / pxx, np.abs(pxy) ** 2 / (pxx * pyy)))
    return out
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    res = estimate()
    times.append((time.perf_counter() - t0) * 1e3)
h, coh = res[0]
print(json.dumps({"median_ms": float(np.median(times)), "h_re": h.real[1:].tolist(), "h_im": h.imag[1:].tolist(), "coh": coh[1:].tolist()}))
"#;

/// Runs `bench tune`.
pub fn run(args: TuneArgs) -> anyhow::Result<()> {
    let fs = args.sample_rate_hz;
    let n = (args.seconds * fs).round() as usize;
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let prbs = Prbs::new(11, 1.0 / fs, 0.5)?;
    let chirp = Chirp {
        start_hz: 0.5,
        end_hz: fs / 2.5,
        amplitude: 0.5,
        duration_s: args.seconds,
        sweep: Sweep::Log,
        amplitude_rolloff: 0.0,
    };
    let reference = sample(|t| prbs.value_at(t) + chirp.value_at(t), fs, n);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut noise = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.02
    };
    let outputs: Vec<Vec<f64>> = [(20.0, 0.2), (60.0, 0.5), (150.0, 0.7)]
        .iter()
        .map(|&(f, z)| {
            second_order(&reference, f, z, fs)
                .into_iter()
                .map(|v| v + noise())
                .collect()
        })
        .collect();
    let views: Vec<&[f64]> = outputs.iter().map(Vec::as_slice).collect();
    let config = WelchConfig::hann(args.segment);
    let mut times = Vec::with_capacity(args.runs);
    let mut result = Vec::new();
    for _ in 0..args.runs {
        let t0 = Instant::now();
        result = h1(&reference, &views, fs, &config, 0.9)?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let rust_ms = median_ms(times);
    let trusted: usize = result
        .iter()
        .map(|r| r.trusted.iter().filter(|t| **t).count())
        .sum();
    let range = observable_range(fs, 0.0, args.segment, JitterBounds::default());
    println!(
        "bench tune: {:.0} s at {fs:.0} Hz, 1 input × {} outputs, Welch Hann {} samples 50 % overlap ({} segments)",
        args.seconds,
        views.len(),
        args.segment,
        config.segments(n)
    );
    println!("  {}", range.rule);
    println!(
        "  drivedeck-tune H1 + coherence: median {rust_ms:.2} ms over {} runs (goal ≤ 50 ms); {trusted} of {} bins coherent ≥ 0.9",
        args.runs,
        result.iter().map(|r| r.freq_hz.len()).sum::<usize>()
    );
    match scipy(&args, &reference, &outputs, n) {
        Ok(Some((py_ms, h_re, h_im, coh))) => {
            println!(
                "  SciPy welch/csd (same estimate, same data): median {py_ms:.2} ms over {} runs; ratio {:.1}×",
                args.runs,
                py_ms / rust_ms
            );
            let first = &result[0];
            let dh = (0..first.re.len().min(h_re.len()))
                .map(|i| ((first.re[i] - h_re[i]).powi(2) + (first.im[i] - h_im[i]).powi(2)).sqrt())
                .fold(0.0, f64::max);
            let dc = first
                .coherence
                .iter()
                .zip(&coh)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            println!("  agreement with SciPy (output 1): max |ΔH| {dh:.2e}, max |Δγ²| {dc:.2e}");
        }
        Ok(None) => println!(
            "  SciPy comparison skipped: `{} -c \"import scipy\"` failed",
            args.python
        ),
        Err(e) => println!("  SciPy comparison failed: {e:#}"),
    }
    let (output, velocity) = identification(&args, &prbs, n)?;
    what_if(&args, &output, &velocity)?;
    Ok(())
}

/// Times one what-if update and one suggestion on the model of the identification's run,
/// as the engine makes them (the run's model kept, as the API keeps it between updates).
fn what_if(args: &TuneArgs, output: &[f64], velocity: &[f64]) -> anyhow::Result<()> {
    use drivedeck_engine::tuning::RunData;
    use drivedeck_engine::tuning::model::identify_run;
    use drivedeck_engine::tuning::whatif::{WhatIf, predict_run, structure_for};
    use drivedeck_tune::predict::Plant;
    use drivedeck_tune::suggest::{GainTarget, SuggestConfig, suggest};
    let fs = args.sample_rate_hz;
    let n = output.len();
    // A position run: the shaft's position integrated from its velocity, the reference a
    // slow sine (the replay plays it through the closed loop).
    let mut position = Vec::with_capacity(n);
    let mut p = 0.0;
    for v in velocity {
        position.push(p);
        p += v / fs;
    }
    let data = RunData {
        t_s: (0..n).map(|k| k as f64 / fs).collect(),
        reference: (0..n)
            .map(|k| 0.2 * (std::f64::consts::TAU * 0.5 * k as f64 / fs).sin())
            .collect(),
        position,
        velocity: velocity.to_vec(),
        output: output.to_vec(),
    };
    let profile = drivedeck_proto::profile::Profile::xm430_w350();
    let model = identify_run(&data, Some(&profile), &[]).map_err(anyhow::Error::msg)?;
    let in_run = vec![("Position P Gain".to_string(), 800.0)];
    let mut times = Vec::with_capacity(args.runs);
    let mut bandwidth = None;
    for k in 0..args.runs {
        // A different P each time, as a slider moving.
        let gains = vec![("Position P Gain".to_string(), 1000.0 + 100.0 * k as f64)];
        let t0 = Instant::now();
        let p = predict_run(
            &WhatIf {
                model_run: 1,
                model: &model,
                run: 1,
                data: &data,
                test_loop: "position",
                in_run: &in_run,
                gains: &gains,
                step_size: 0.2,
            },
            &profile,
        )
        .map_err(anyhow::Error::msg)?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        bandwidth = p.predicted.bandwidth_hz;
    }
    println!(
        "  one what-if update (step, T and L at 400 frequencies, the {:.0} s run replayed at {fs:.0} Hz): median {:.2} ms over {} runs (goal ≤ 100 ms); last bandwidth {:.2} Hz",
        n as f64 / fs,
        median_ms(times),
        args.runs,
        bandwidth.unwrap_or(f64::NAN)
    );
    let structure = structure_for(&profile, "position").context("the XM430's loop")?;
    let mut times = Vec::with_capacity(args.runs);
    let mut found = None;
    for _ in 0..args.runs {
        let t0 = Instant::now();
        found = Some(suggest(
            &Plant::from(&model.model),
            &structure,
            &SuggestConfig::for_target(GainTarget::BandwidthHz(10.0)),
        )?);
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let found = found.context("no run")?;
    println!(
        "  one suggestion (a 10 Hz bandwidth, pole placement searched over 120 natural frequencies and bisected): median {:.2} ms over {} runs; predicted {:.2} Hz",
        median_ms(times),
        args.runs,
        found.predicted.bandwidth_hz.unwrap_or(f64::NAN)
    );
    Ok(())
}

/// Times the identification of a shaft driven by a PRBS output around a bias (so it keeps
/// turning), its velocity quantised as an XM430's: the same `--seconds` at the same rate.
fn identification(args: &TuneArgs, prbs: &Prbs, n: usize) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let fs = args.sample_rate_hz;
    let output = sample(|t| 0.35 + 0.3 * prbs.value_at(t), fs, n);
    // The truth: g 341 rad/s² per unit, a 71/s, c 4.2 rad/s² (an XM430), 2 samples late.
    let (g, a, c, delay) = (341.0, 71.0, 4.2, 2);
    let sub = 10;
    let h = 1.0 / fs / f64::from(sub);
    let lsb = 0.023_980_823;
    let mut v: f64 = 0.0;
    let mut velocity = Vec::with_capacity(n);
    for k in 0..n {
        velocity.push((v / lsb).round() * lsb);
        let u = if k >= delay { output[k - delay] } else { 0.0 };
        for _ in 0..sub {
            let push = g * u - a * v;
            if v == 0.0 && push.abs() <= c {
                continue;
            }
            v += h * (push - c * if v == 0.0 { push.signum() } else { v.signum() });
        }
    }
    let config = IdentifyConfig::default();
    let mut times = Vec::with_capacity(args.runs);
    let mut model = None;
    for _ in 0..args.runs {
        let t0 = Instant::now();
        model = Some(identify(&output, &velocity, fs, &config)?);
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let model = model.context("no run")?;
    println!(
        "  identification (gain, damping, Coulomb friction, delay; {} windows, 21 delays tried): median {:.2} ms over {} runs (goal ≤ 50 ms)",
        model.windows,
        median_ms(times),
        args.runs
    );
    println!(
        "    found g {:.1} (341), a {:.2} (71), c {:.2} (4.2), delay {} samples (2), fit {:.1} %",
        model.gain.value,
        model.damping_per_s.value,
        model.coulomb_accel.value,
        model.delay_samples,
        model.fit_pct
    );
    Ok((output, velocity))
}

type ScipyFigures = (f64, Vec<f64>, Vec<f64>, Vec<f64>);

fn scipy(
    args: &TuneArgs,
    reference: &[f64],
    outputs: &[Vec<f64>],
    n: usize,
) -> anyhow::Result<Option<ScipyFigures>> {
    let probe = std::process::Command::new(&args.python)
        .args(["-c", "import scipy"])
        .output();
    if !probe.map(|o| o.status.success()).unwrap_or(false) {
        return Ok(None);
    }
    let mut file = tempfile::NamedTempFile::new().context("temp file for the run")?;
    let mut bytes = Vec::with_capacity(8 * n * 4);
    for channel in std::iter::once(reference).chain(outputs.iter().map(Vec::as_slice)) {
        for v in channel {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    file.write_all(&bytes).context("writing the run")?;
    file.flush()?;
    let out = std::process::Command::new(&args.python)
        .args(["-c", SCIPY_SCRIPT])
        .arg(file.path())
        .args([
            n.to_string(),
            args.sample_rate_hz.to_string(),
            args.segment.to_string(),
            args.runs.to_string(),
        ])
        .output()
        .context("running SciPy")?;
    if !out.status.success() {
        bail!(
            "SciPy script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("SciPy output")?;
    let list = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default()
    };
    let ms = v["median_ms"].as_f64().context("SciPy median")?;
    Ok(Some((ms, list("h_re"), list("h_im"), list("coh"))))
}
