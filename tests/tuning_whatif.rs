//! Tuning II end to end on the simulated XM430 over a real pty: a chirp run's model,
//! gains suggested for a bandwidth and a phase margin, nothing written until they are
//! applied by an ordinary parameter write, then validation runs measuring what the
//! suggestion promised, against the simulator's physics and the what-if's prediction.

use super::{DRIVE_1, move_to, step};
use drivedeck_domain::{Command, Excitation, JobState, SweepKind, TestLoop, TestSpec};
use drivedeck_e2e::*;
use drivedeck_engine::api::{Api, PredictRequest, SuggestRequest, SuggestionView};
use drivedeck_proto::profile::Protocol;
use drivedeck_tune::suggest::GainTarget;
use std::time::Duration;

fn chirp(end_hz: f64, amplitude: f64, duration_s: f64, falling_amplitude: bool) -> TestSpec {
    TestSpec {
        test_loop: TestLoop::Position,
        excitation: Excitation::Chirp {
            start_hz: 1.0,
            end_hz,
            amplitude,
            duration_s,
            sweep: SweepKind::Log,
            falling_amplitude,
        },
        travel_window_rad: 0.5,
        settle_s: 0.2,
    }
}

async fn run_test(api: &Api, test: TestSpec) -> i64 {
    let id = api.tune_start(DRIVE_1, test).expect("started");
    api.tune_wait(id).await.expect("ran and analysed");
    id as i64
}

/// Writes the suggestion's counts (the gain registers have no scale: SI = counts).
async fn apply(engine: &drivedeck_engine::Engine, view: &SuggestionView) {
    let values: Vec<(String, f64)> = view
        .suggestion
        .gains
        .iter()
        .map(|g| (g.name.clone(), g.counts))
        .collect();
    let state = run(
        engine,
        Command::WriteParams {
            drive: DRIVE_1,
            values,
        },
    )
    .await;
    assert_eq!(state, JobState::Done);
    for g in &view.suggestion.gains {
        assert_eq!(
            sim_raw(engine, 1, &g.name) as f64,
            g.counts,
            "{} written",
            g.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggested_gains_meet_their_targets_on_the_simulated_xm430() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = std::sync::Arc::new(sim_engine(&dir, Protocol::Dynamixel2).await);
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    tokio::time::sleep(Duration::from_millis(200)).await;
    move_to(&engine, 3.0).await;
    let api = Api::new(std::sync::Arc::clone(&engine)).expect("api");
    let model_run = run_test(&api, chirp(8.0, 0.2, 6.0, true)).await;

    // A bandwidth target: suggested, and nothing written by the suggestion.
    let p_before = sim_raw(&engine, 1, "Position P Gain");
    let d_before = sim_raw(&engine, 1, "Position D Gain");
    let target_hz = 10.0;
    let view = api
        .tune_suggest(&SuggestRequest {
            run: model_run,
            target: GainTarget::BandwidthHz(target_hz),
            damping: None,
            integral: None,
        })
        .expect("a suggestion");
    assert_eq!(sim_raw(&engine, 1, "Position P Gain"), p_before);
    assert_eq!(sim_raw(&engine, 1, "Position D Gain"), d_before);
    let s = &view.suggestion;
    assert!(s.rule.contains("pole placement"), "{}", s.rule);
    let predicted = s.predicted.bandwidth_hz.expect("a predicted bandwidth");
    assert!(
        (predicted / target_hz - 1.0).abs() < 0.05,
        "{predicted} {s:?}"
    );
    // The factory loop is slower than asked: the suggestion stiffens it.
    let p = s
        .gains
        .iter()
        .find(|g| g.name == "Position P Gain")
        .expect("P");
    assert!(p.counts > p_before as f64, "{s:?}");
    apply(&engine, &view).await;

    // Validation: a chirp measures the bandwidth the suggestion promised. Its amplitude
    // stays large enough near the bandwidth that Coulomb friction (≈ 4 rad/s² against
    // ≈ 80 rad/s² of the motion's acceleration at 10 Hz) leaves the response linear.
    let validation = run_test(&api, chirp(20.0, 0.02, 8.0, false)).await;
    let measured = api.tune_run(validation).expect("run");
    let frf = measured
        .results
        .as_ref()
        .and_then(|r| r.frf.as_ref())
        .expect("an FRF");
    let bw = frf.bandwidth_hz.expect("a measured bandwidth");
    eprintln!("bandwidth: {target_hz} Hz asked, {predicted:.2} predicted, {bw:.2} measured");
    assert!(
        (bw / target_hz - 1.0).abs() <= 0.15,
        "measured {bw:.2} Hz for a {target_hz} Hz target (predicted {predicted:.2})"
    );
    // The validation replayed through the first run's model: the prediction error.
    let replay = api
        .tune_predict(&PredictRequest {
            model_run,
            run: Some(validation),
            gains: vec![],
            step_size: None,
        })
        .expect("a prediction");
    assert_eq!(replay.gains[0].counts, p.counts, "the run's own gains");
    assert!(replay.run_fit_pct > 85.0, "fit {:.1} %", replay.run_fit_pct);

    // A step with the new gains matches the what-if's step.
    let step = run_test(&api, step(0.1, 0.8)).await;
    let stepped = api.tune_run(step).expect("run");
    let metrics = stepped
        .results
        .as_ref()
        .and_then(|r| r.step.as_ref())
        .expect("step metrics")
        .against_step
        .clone();
    let what_if = api
        .tune_predict(&PredictRequest {
            model_run,
            run: Some(step),
            gains: vec![],
            step_size: None,
        })
        .expect("a prediction");
    let (rise, predicted_rise) = (
        metrics.rise_time_s.expect("a rise"),
        what_if.predicted.rise_time_s.expect("a predicted rise"),
    );
    // The measured rise carries the link's reading period on top (about 1 ms).
    assert!(
        (rise - predicted_rise).abs() <= 0.2 * predicted_rise + 0.002,
        "rise {rise:.4} s measured, {predicted_rise:.4} s predicted"
    );
    assert!(
        (metrics.overshoot_pct - what_if.predicted.overshoot_pct).abs() <= 5.0,
        "overshoot {:.1} % measured, {:.1} % predicted",
        metrics.overshoot_pct,
        what_if.predicted.overshoot_pct
    );
    eprintln!(
        "step: rise {rise:.4} s measured, {predicted_rise:.4} predicted; overshoot {:.1} % measured, {:.1} predicted; replay fit {:.1} % (chirp {:.1} %)",
        metrics.overshoot_pct,
        what_if.predicted.overshoot_pct,
        what_if.run_fit_pct,
        replay.run_fit_pct
    );
    assert!(
        what_if.run_fit_pct > 90.0,
        "step replay fit {:.1} %",
        what_if.run_fit_pct
    );

    // A phase-margin target, measured on the validation run's L = P·C.
    let margin = 60.0;
    let view = api
        .tune_suggest(&SuggestRequest {
            run: model_run,
            target: GainTarget::PhaseMarginDeg(margin),
            damping: Some(0.6),
            integral: None,
        })
        .expect("a suggestion");
    apply(&engine, &view).await;
    let validation = run_test(&api, chirp(20.0, 0.02, 8.0, false)).await;
    let measured = api.tune_run(validation).expect("run");
    let frf = measured
        .results
        .as_ref()
        .and_then(|r| r.frf.as_ref())
        .expect("an FRF");
    let pm = frf
        .margins
        .as_ref()
        .and_then(|m| m.phase_margin_deg)
        .expect("a measured phase margin");
    eprintln!(
        "phase margin: {margin}° asked, {:?} predicted, {pm:.1} measured",
        view.suggestion.predicted.margins.phase_margin_deg
    );
    assert!(
        (pm - margin).abs() <= 5.0,
        "measured {pm:.1}° for a {margin}° target (predicted {:?})",
        view.suggestion.predicted.margins.phase_margin_deg
    );

    // A target beyond what the link observes is refused, and says why.
    let err = api
        .tune_suggest(&SuggestRequest {
            run: model_run,
            target: GainTarget::BandwidthHz(400.0),
            damping: None,
            integral: None,
        })
        .expect_err("refused");
    assert!(err.to_string().contains("cannot"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compared_runs_flag_the_drive_whose_load_differs_from_its_siblings() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = drivedeck_engine::Engine::start(drivedeck_engine::EngineConfig::new(
        dir.path().join("e2e.db"),
    ))
    .expect("engine");
    let link = engine
        .connect_sim_rig(Protocol::Dynamixel2, &[1, 2, 3])
        .await
        .expect("sim rig");
    let engine = std::sync::Arc::new(engine);
    // Drive 3 carries a load doubling its inertia (the XM430's own 0.012 kg·m² again).
    engine
        .with_sim_rig(link, |rig| {
            rig.with_drives(|drives| {
                let d = drives.iter_mut().find(|d| d.id() == 3).expect("drive 3");
                let own = d.motor().params.load_inertia;
                d.set_load_inertia(own + 0.012);
            })
        })
        .expect("a simulated link");
    let api = Api::new(std::sync::Arc::clone(&engine)).expect("api");
    let mut runs = Vec::new();
    for id in 1..=3u8 {
        let drive = drivedeck_domain::DriveRef { link, id };
        assert_eq!(enable(&engine, drive).await, JobState::Done);
        assert_eq!(
            run(
                &engine,
                Command::SetTarget {
                    drive,
                    target: drivedeck_domain::Target::Position(3.0)
                }
            )
            .await,
            JobState::Done
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let run = api
            .tune_start(drive, chirp(8.0, 0.2, 5.0, true))
            .expect("started");
        api.tune_wait(run).await.expect("ran and analysed");
        runs.push(run as i64);
    }
    let c = api.tune_compare(&runs).expect("compared");
    assert_eq!(c.runs.len(), 3);
    for r in &c.runs {
        assert_eq!(r.bode_source, "measured");
        assert_eq!(r.step_source, "predicted", "a chirp's step is its model's");
        assert!(
            r.step_response
                .last()
                .is_some_and(|y| (y - 1.0).abs() < 0.1)
        );
    }
    let inertia = |i: usize| c.runs[i].physical.as_ref().expect("physical").inertia.value;
    assert!(
        (inertia(2) / inertia(0) - 2.0).abs() < 0.2,
        "{} {}",
        inertia(2),
        inertia(0)
    );
    let flagged: Vec<(u8, &str)> = c
        .flags
        .iter()
        .map(|f| (f.drive.id, f.parameter.as_str()))
        .collect();
    assert!(flagged.contains(&(3, "gain")), "{flagged:?}");
    assert!(flagged.iter().all(|(id, _)| *id == 3), "{flagged:?}");
    // The report: an image with the overlays, and JSON with every run.
    let png = api.tune_compare_export(&runs, "png").expect("png");
    assert!(std::fs::metadata(&png).expect("written").len() > 10_000);
    let json = api.tune_compare_export(&runs, "json").expect("json");
    let back: serde_json::Value =
        serde_json::from_slice(&std::fs::read(json).expect("read")).expect("JSON");
    assert_eq!(back["runs"].as_array().map(Vec::len), Some(3));
    assert!(api.tune_compare_export(&runs, "gif").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_of_ordinary_moves_gives_the_step_response_a_step_test_measures() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = std::sync::Arc::new(sim_engine(&dir, Protocol::Dynamixel2).await);
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    tokio::time::sleep(Duration::from_millis(200)).await;
    move_to(&engine, 3.0).await;
    let api = Api::new(std::sync::Arc::clone(&engine)).expect("api");
    let session = engine.session();
    let started = engine
        .reader()
        .expect("reader")
        .session(session)
        .expect("session")
        .started_us;
    let since = |us: i64| (us - started) as f64 / 1e6;
    // Ordinary operation: moves of different sizes, each held 0.3–0.7 s, as a user
    // jogging the servo (a fixed sequence, so the test is repeatable).
    let from = since(engine.clock().now());
    let mut s: u64 = 0x9E37_79B9;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let t_end = std::time::Instant::now() + Duration::from_secs(24);
    while std::time::Instant::now() < t_end {
        let target = 3.0 + (next() - 0.5) * 0.5;
        assert_eq!(
            run(
                &engine,
                Command::SetTarget {
                    drive: DRIVE_1,
                    target: drivedeck_domain::Target::Position(target)
                }
            )
            .await,
            JobState::Done
        );
        tokio::time::sleep(Duration::from_secs_f64(0.3 + 0.4 * next())).await;
    }
    let to = since(engine.clock().now());
    let passive = api
        .tune_passive(&drivedeck_engine::api::PassiveRequest {
            session,
            drive: DRIVE_1,
            from_s: from,
            to_s: to,
        })
        .expect("a passive estimate");
    assert_eq!(passive.test_loop, "position");
    assert!(passive.moves > 30, "{} moves", passive.moves);
    // The same loop measured by a step test.
    let step = run_test(&api, step(0.2, 0.8)).await;
    let measured = api
        .tune_run(step)
        .expect("run")
        .results
        .and_then(|r| r.step)
        .expect("step metrics")
        .against_step;
    let estimated = passive.metrics.clone().expect("the estimate's metrics");
    let (rise, rise_est) = (
        measured.rise_time_s.expect("rise"),
        estimated.rise_time_s.expect("estimated rise"),
    );
    eprintln!(
        "passive: rise {rise_est:.4} s (step test {rise:.4}), overshoot {:.1} % ({:.1}), {} moves, coherence {:.2}, {} of {} windows",
        estimated.overshoot_pct,
        measured.overshoot_pct,
        passive.moves,
        passive.estimate.coherence_mean,
        passive.estimate.windows_used,
        passive.estimate.windows_total
    );
    // Stated tolerances: the rise within 25 % (the telemetry reads at 200 Hz, 5 ms a
    // reading), the overshoot within 5 points, the settled level within 5 %.
    assert!(
        (rise_est / rise - 1.0).abs() <= 0.25,
        "rise {rise_est} estimated, {rise} measured"
    );
    assert!((estimated.overshoot_pct - measured.overshoot_pct).abs() <= 5.0);
    let last = passive.estimate.step.last().copied().expect("a step");
    assert!((last - 1.0).abs() <= 0.05, "settles at {last}");
    // A range without moves is refused, and says why.
    let err = api
        .tune_passive(&drivedeck_engine::api::PassiveRequest {
            session,
            drive: DRIVE_1,
            from_s: 0.0,
            to_s: 0.2,
        })
        .expect_err("refused");
    assert!(
        err.to_string().contains("too few") || err.to_string().contains("set point"),
        "{err}"
    );
}
