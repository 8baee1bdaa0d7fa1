//! Tuning runs end to end: the engine, the simulated rig over a real pty and a real
//! store file. A test is one job: refused before anything is sent when it leaves the
//! limits; played at the link's full rate; aborted by an abort, an E-stop or the travel
//! window; the drive put back as it was.

use drivedeck_domain::{Command, DriveRef, Excitation, JobState, TestLoop, TestSpec};
use drivedeck_e2e::*;
use drivedeck_proto::profile::Protocol;
use std::time::Duration;

#[path = "tuning_whatif.rs"]
mod whatif;

const DRIVE_1: DriveRef = DriveRef { link: 1, id: 1 };

fn step(size: f64, hold_s: f64) -> TestSpec {
    TestSpec {
        test_loop: TestLoop::Position,
        excitation: Excitation::Step {
            size,
            hold_s,
            repeats: 1,
        },
        travel_window_rad: 0.5,
        settle_s: 0.2,
    }
}

/// The Goal Positions (raw counts) written to drive 1 in `packets`: by Write (0x03, the
/// acknowledged one) or by a Sync Write (0x83) naming drive 1, as a run sends them.
fn goals_written(packets: &[drivedeck_sim::HeardPacket]) -> Vec<i64> {
    let goal = 116u16.to_le_bytes();
    let value = |bytes: &[u8]| i64::from(i32::from_le_bytes(bytes.try_into().expect("4 bytes")));
    packets
        .iter()
        .filter(|p| p.params.get(..2) == Some(&goal[..]))
        .filter_map(|p| match (p.id, p.instruction) {
            (1, 0x03) => p.params.get(2..6).map(value),
            (0xFE, 0x83) if p.params.get(4) == Some(&1) => p.params.get(5..9).map(value),
            _ => None,
        })
        .collect()
}

/// An engine on the simulated XM430s with drive 1 enabled and its position known.
async fn enabled_rig(dir: &tempfile::TempDir) -> drivedeck_engine::Engine {
    let engine = sim_engine(dir, Protocol::Dynamixel2).await;
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    // The first telemetry gives the link the position a test starts from.
    tokio::time::sleep(Duration::from_millis(200)).await;
    engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_test_plays_the_step_and_puts_the_drive_back() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = enabled_rig(&dir).await;
    let goal_before = sim_raw(&engine, 1, "Goal Position");
    let heard_before = heard(&engine).len();
    let job = engine
        .submit(Command::Tune {
            drive: DRIVE_1,
            test: step(0.2, 0.6),
        })
        .expect("accepted");
    let state = tokio::time::timeout(Duration::from_secs(10), job.outcome())
        .await
        .expect("the run ended");
    assert_eq!(state, JobState::Done);
    // The step went out: a goal 0.2 rad (≈ 133 counts) above the start, then back.
    let goals = goals_written(&heard(&engine)[heard_before..]);
    let up = (0.2 / (std::f64::consts::TAU / 4096.0)).round() as i64;
    assert!(goals.len() >= 3, "goals written: {goals:?}");
    assert!(
        goals.iter().any(|g| (g - goal_before - up).abs() <= 2),
        "a goal {up} counts above {goal_before} in {goals:?}"
    );
    // Put back where it stood.
    assert!((sim_raw(&engine, 1, "Goal Position") - goal_before).abs() <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_outside_the_limits_is_refused_and_sends_nothing() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = enabled_rig(&dir).await;
    let writes = writes_heard(&engine, Protocol::Dynamixel2);
    // Beyond its own travel window.
    let err = engine
        .submit(Command::Tune {
            drive: DRIVE_1,
            test: step(0.8, 0.5),
        })
        .expect_err("refused");
    assert!(err.to_string().contains("travel window"), "{err}");
    // Drive 2 is not enabled.
    let err = engine
        .submit(Command::Tune {
            drive: DriveRef { link: 1, id: 2 },
            test: step(0.1, 0.5),
        })
        .expect_err("refused");
    assert!(err.to_string().contains("not enabled"), "{err}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(writes_heard(&engine, Protocol::Dynamixel2), writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_and_an_estop_end_a_run_early() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = enabled_rig(&dir).await;
    let goal_before = sim_raw(&engine, 1, "Goal Position");
    let job = engine
        .submit(Command::Tune {
            drive: DRIVE_1,
            test: step(0.2, 3.0),
        })
        .expect("accepted");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let abort = engine
        .submit_with(
            Command::AbortTune { drive: DRIVE_1 },
            drivedeck_bus::JobOptions {
                priority: drivedeck_domain::Priority::Safety,
                ..Default::default()
            },
        )
        .expect("abort accepted");
    let started = std::time::Instant::now();
    let state = outcome(job).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "aborted at once"
    );
    assert!(
        matches!(&state, JobState::Failed { reason } if reason.contains("aborted by the user")),
        "{state:?}"
    );
    assert_eq!(outcome(abort).await, JobState::Done);
    assert!((sim_raw(&engine, 1, "Goal Position") - goal_before).abs() <= 2);
    // An E-stop ends the next run and leaves the drive stopped.
    let job = engine
        .submit(Command::Tune {
            drive: DRIVE_1,
            test: step(0.2, 3.0),
        })
        .expect("accepted");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(run(&engine, Command::EStop).await, JobState::Done);
    let state = outcome(job).await;
    assert!(
        matches!(&state, JobState::Failed { reason } if reason.contains("E-stop")),
        "{state:?}"
    );
    assert_eq!(sim_raw(&engine, 1, "Torque Enable"), 0);
}

/// T(jω) of the simulated XM430's position loop from its own continuous model: the
/// PID (the table's gains, converted as the sim documents) on J·θ̈ = k_u·u − B·θ̇.
/// The gain entries of simulated drive 1's table, raw.
fn table_gains(
    engine: &drivedeck_engine::Engine,
) -> drivedeck_sim::firmware::dynamixel_x::control::TableGains {
    let gain = |name: &str| sim_raw(engine, 1, name) as f64;
    drivedeck_sim::firmware::dynamixel_x::control::TableGains {
        position_p: gain("Position P Gain"),
        position_i: gain("Position I Gain"),
        position_d: gain("Position D Gain"),
        feedforward_1st: gain("Feedforward 1st Gain"),
        feedforward_2nd: gain("Feedforward 2nd Gain"),
        velocity_p: gain("Velocity P Gain"),
        velocity_i: gain("Velocity I Gain"),
    }
}

fn analytic_t(engine: &drivedeck_engine::Engine, freq_hz: f64) -> drivedeck_tune::Complex64 {
    use drivedeck_sim::firmware::dynamixel_x::control::continuous_model;
    let gains = table_gains(engine);
    let model = with_sim_drive(engine, 1, |d| continuous_model(&gains, &d.motor().params));
    let s = drivedeck_tune::Complex64::new(0.0, std::f64::consts::TAU * freq_hz);
    let c = model.position.p + model.position.i / s + model.position.d * s;
    let kc = model.torque_per_duty * c;
    kc / (model.inertia * s * s + model.damping * s + kc)
}

/// Moves drive 1 to `at` rad and waits until it is there.
async fn move_to(engine: &drivedeck_engine::Engine, at: f64) {
    let target = drivedeck_domain::Target::Position(at);
    assert_eq!(
        run(
            engine,
            Command::SetTarget {
                drive: DRIVE_1,
                target
            }
        )
        .await,
        JobState::Done
    );
    wait_until(
        "drive 1 reached its start",
        Duration::from_secs(8),
        Duration::from_millis(20),
        || {
            engine
                .tune_start(DRIVE_1)
                .and_then(|(p, _)| p)
                .is_some_and(|p| (p - at).abs() < 0.5f64.to_radians())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chirp_measures_the_simulated_loop_as_its_model_predicts() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = std::sync::Arc::new(enabled_rig(&dir).await);
    move_to(&engine, 3.0).await;
    let api = drivedeck_engine::api::Api::new(std::sync::Arc::clone(&engine)).expect("api");
    let test = TestSpec {
        test_loop: TestLoop::Position,
        excitation: Excitation::Chirp {
            start_hz: 0.5,
            end_hz: 12.0,
            amplitude: 0.05,
            duration_s: 12.0,
            sweep: drivedeck_domain::SweepKind::Log,
            falling_amplitude: false,
        },
        travel_window_rad: 0.3,
        settle_s: 0.3,
    };
    let heard_before = heard(&engine).len();
    let id = api.tune_start(DRIVE_1, test).expect("started");
    api.tune_wait(id).await.expect("ran and analysed");
    let view = api.tune_run(id as i64).expect("the run");
    assert_eq!(view.summary.state, "completed", "{:?}", view.summary.reason);
    // The reference goes out as a Sync Write of Goal Position (116) to drive 1 alone,
    // which the drive does not answer, and only when its count changes: not at all while
    // it holds (the 0.6 s of settling, at ≥ 100 readings a second even on a loaded
    // machine), nor while a slow part of the sweep keeps its count over several readings.
    let during = &heard(&engine)[heard_before..];
    let goal = 116u16.to_le_bytes();
    let goal_writes = during
        .iter()
        .filter(|p| {
            p.id == 0xFE
                && p.instruction == 0x83
                && p.params.get(..2) == Some(&goal[..])
                && p.params.get(4) == Some(&1)
        })
        .count();
    // Acknowledged writes of the goal: only the one that puts the drive back.
    let answered_goal_writes = during
        .iter()
        .filter(|p| p.id == 1 && p.instruction == 0x03 && p.params.get(..2) == Some(&goal[..]))
        .count();
    let reads = during
        .iter()
        .filter(|p| p.id == 1 && p.instruction == 0x02)
        .count();
    assert!(
        goal_writes > 10 && goal_writes + 50 < reads,
        "{goal_writes} goal writes, {reads} reads"
    );
    assert_eq!(
        answered_goal_writes, 1,
        "{answered_goal_writes} answered goal writes"
    );
    let results = view.results.expect("results");
    let frf = results.frf.expect("a frequency response");
    let t = &frf.closed_loop;
    // Up to 6 Hz: there a millisecond of the host's timing (readings are stamped when
    // they arrive, on a shared 2-core machine) is at most 2° of phase.
    let limit = results.observable.highest_hz.min(6.0);
    let mut compared = 0;
    for i in 0..t.freq_hz.len() {
        let f = t.freq_hz[i];
        // Below 1 Hz a 3° sine moves slowly enough for the simulator's Coulomb friction
        // (which the linear model leaves out) to add a few degrees of lag.
        if !t.trusted[i] || t.coherence[i] < 0.9 || f > limit || f < 1.0 {
            continue;
        }
        let truth = analytic_t(&engine, f);
        let truth_db = 20.0 * truth.norm().log10();
        let truth_deg = truth.arg().to_degrees();
        let db = t.magnitude_db[i] - truth_db;
        let mut deg = t.phase_deg[i] - truth_deg;
        deg -= 360.0 * (deg / 360.0).round();
        assert!(
            db.abs() <= 1.0,
            "{f:.2} Hz: {:.2} dB measured, {truth_db:.2} dB model",
            t.magnitude_db[i]
        );
        assert!(
            deg.abs() <= 5.0,
            "{f:.2} Hz: {:.1}° measured, {truth_deg:.1}° model",
            t.phase_deg[i]
        );
        compared += 1;
    }
    assert!(compared >= 5, "only {compared} trusted points to compare");
    // The drive is back where the chirp started.
    let back = engine
        .tune_start(DRIVE_1)
        .and_then(|(p, _)| p)
        .expect("a position");
    assert!((back - 3.0).abs() < 1f64.to_radians(), "{back}");
    // The run is in the list, with its rate against the wire's limit.
    let runs = api.tune_runs(Default::default()).expect("runs");
    assert!(runs.iter().any(|r| r.id == id as i64 && r.test == "chirp"));
    assert!(
        results.rate_of_limit_pct > 10.0,
        "{}",
        results.rate_of_limit_pct
    );
    assert!(view.channels.iter().any(|c| c.name == "reference"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chirp_finds_a_load_resonance_where_the_simulator_put_it() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = std::sync::Arc::new(sim_engine(&dir, Protocol::Dynamixel2).await);
    // A flexible load as heavy as the drive's own output inertia, its coupling ringing
    // at 4 Hz against a held shaft, lightly damped.
    let own = with_sim_drive(&engine, 1, |d| d.motor().params.inertia());
    let load = drivedeck_sim::motor::Resonance {
        inertia: own,
        frequency: 4.0,
        damping_ratio: 0.03,
    };
    engine
        .with_sim_rig(1, |rig| {
            rig.with_drives(|drives| drives[0].set_load_resonance(Some(load)))
        })
        .expect("the rig");
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    move_to(&engine, 3.0).await;
    let api = drivedeck_engine::api::Api::new(std::sync::Arc::clone(&engine)).expect("api");
    let test = TestSpec {
        test_loop: TestLoop::Position,
        excitation: Excitation::Chirp {
            start_hz: 1.0,
            end_hz: 12.0,
            amplitude: 0.04,
            duration_s: 14.0,
            sweep: drivedeck_domain::SweepKind::Log,
            falling_amplitude: false,
        },
        travel_window_rad: 0.4,
        settle_s: 0.3,
    };
    let id = api.tune_start(DRIVE_1, test).expect("started");
    api.tune_wait(id).await.expect("ran and analysed");
    let view = api.tune_run(id as i64).expect("the run");
    assert_eq!(view.summary.state, "completed", "{:?}", view.summary.reason);
    let results = view.results.expect("results");
    let frf = results.frf.expect("a frequency response");
    // Measured on the motor side, the load's own frequency is an anti-resonance of the
    // plant: a dip at 4 Hz (its bottom at low coherence, as every anti-resonance).
    let dip = frf
        .resonances
        .iter()
        .find(|r| r.kind == "dip")
        .unwrap_or_else(|| {
            let plant = frf.plant.as_ref().unwrap_or(&frf.closed_loop);
            let points: Vec<String> = (0..plant.freq_hz.len())
                .filter(|&i| (1.5..10.0).contains(&plant.freq_hz[i]))
                .map(|i| {
                    format!(
                        "{:.2}Hz {:.1}dB c{:.2}{}",
                        plant.freq_hz[i],
                        plant.magnitude_db[i],
                        plant.coherence[i],
                        if plant.trusted[i] { "" } else { "!" }
                    )
                })
                .collect();
            panic!(
                "no dip in {:?}; plant: {}",
                frf.resonances,
                points.join(", ")
            )
        });
    let plant = frf.plant.as_ref().unwrap_or(&frf.closed_loop);
    let near: Vec<String> = (0..plant.freq_hz.len())
        .filter(|&i| (3.0..5.5).contains(&plant.freq_hz[i]))
        .map(|i| format!("{:.2}Hz {:.1}dB", plant.freq_hz[i], plant.magnitude_db[i]))
        .collect();
    // Within 5 %, or within half the estimate's frequency step where that is coarser
    // (the dip is the lowest point of a grid whose spacing the run's rate sets).
    let spacing = plant
        .freq_hz
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::NAN, f64::min);
    let tolerance = (0.05 * 4.0f64).max(0.5 * spacing + 0.01);
    assert!(
        (dip.freq_hz - 4.0).abs() <= tolerance,
        "the dip at {:.2} Hz, the load at 4 Hz: {:?}; read at {:?} Hz; plant near it: {}",
        dip.freq_hz,
        frf.resonances,
        view.summary.achieved_rate_hz,
        near.join(", ")
    );
    // The model names it: the load's frequency against the held motor, and (the coupled
    // mode at 4·√2 Hz, the load as heavy as the drive) the split of the inertia.
    let model = api.tune_identify(id as i64).expect("a model");
    let two = model
        .resonance
        .as_ref()
        .expect("a two-mass resonance in the model");
    assert!((two.antiresonance_hz - 4.0).abs() <= tolerance, "{two:?}");
    if let Some(ratio) = two.load_to_motor_inertia {
        assert!((ratio - 1.0).abs() < 0.35, "J₂/J₁ {ratio}: {two:?}");
    }
    eprintln!("two-mass: {two:?}");
}

/// Rise time (10–90 %, s) and overshoot (% of the step) of the simulated XM430's own
/// model — the PID of its table's gains on J·θ̈ = k_u·u − B·θ̇ with its Coulomb friction
/// and the duty capped by Goal PWM — for a step of `size` rad, integrated finely.
fn model_step(engine: &drivedeck_engine::Engine, size: f64) -> (f64, f64) {
    use drivedeck_sim::firmware::dynamixel_x::control::{PWM_FULL_SCALE, continuous_model};
    let gains = table_gains(engine);
    let cap = sim_raw(engine, 1, "Goal PWM") as f64 / PWM_FULL_SCALE;
    let (model, coulomb) = with_sim_drive(engine, 1, |d| {
        let params = d.motor().params;
        (continuous_model(&gains, &params), params.coulomb_friction)
    });
    let g = model.position;
    let dt = 1e-5;
    let (mut x, mut v, mut integral) = (0.0f64, 0.0f64, 0.0f64);
    let (mut t10, mut t90, mut peak) = (None, None, 0.0f64);
    for i in 0..(0.6 / dt) as usize {
        let e = size - x;
        integral += e * dt;
        let duty = (g.p * e + g.i * integral - g.d * v).clamp(-cap, cap);
        let torque = model.torque_per_duty * duty - model.damping * v;
        let still = v.abs() < 1e-6;
        let net = if still && torque.abs() <= coulomb {
            0.0
        } else {
            torque - coulomb * if still { torque.signum() } else { v.signum() }
        };
        v += net / model.inertia * dt;
        x += v * dt;
        let t = i as f64 * dt;
        if x >= 0.1 * size && t10.is_none() {
            t10 = Some(t);
        }
        if x >= 0.9 * size && t90.is_none() {
            t90 = Some(t);
        }
        peak = peak.max(x);
    }
    let rise = t90.expect("the model reaches 90 %") - t10.expect("and 10 %");
    (rise, ((peak - size) / size * 100.0).max(0.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steps_metrics_match_the_simulated_models_own() {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = std::sync::Arc::new(enabled_rig(&dir).await);
    move_to(&engine, 3.0).await;
    let api = drivedeck_engine::api::Api::new(std::sync::Arc::clone(&engine)).expect("api");
    let size = 0.1;
    // The factory gains (well damped), then a stiff P gain that overshoots, set in the
    // drive's table as a user would have written it.
    for p_gain in [None, Some(4000)] {
        if let Some(raw) = p_gain {
            engine
                .with_sim_rig(1, |rig| {
                    rig.with_drives(|drives| {
                        let register = drives[0]
                            .profile()
                            .register("Position P Gain")
                            .expect("an XM430 entry")
                            .clone();
                        drives[0]
                            .write(register.address, &register.encode(raw))
                            .expect("in range");
                    })
                })
                .expect("the rig");
        }
        let id = api.tune_start(DRIVE_1, step(size, 0.6)).expect("started");
        api.tune_wait(id).await.expect("ran and analysed");
        let view = api.tune_run(id as i64).expect("the run");
        assert_eq!(view.summary.state, "completed", "{:?}", view.summary.reason);
        let measured = view.results.expect("results").step.expect("step metrics");
        let measured = measured.against_step;
        let (rise, overshoot) = model_step(&engine, size);
        let measured_rise = measured.rise_time_s.expect("a rise time");
        eprintln!(
            "P gain {p_gain:?}: rise {:.1} ms measured, {:.1} ms the model's; overshoot {:.2} % measured, {:.2} % the model's",
            measured_rise * 1e3,
            rise * 1e3,
            measured.overshoot_pct,
            overshoot
        );
        // Within 15 % or 2.5 ms (two readings at the link's rate, the pulse quantisation)
        // of rise, and 2 points of overshoot.
        assert!(
            (measured_rise - rise).abs() <= (0.15 * rise).max(0.0025),
            "rise {measured_rise} against the model's {rise}"
        );
        assert!(
            (measured.overshoot_pct - overshoot).abs() <= 2.0,
            "overshoot {} against the model's {overshoot}",
            measured.overshoot_pct
        );
        if p_gain.is_some() {
            assert!(overshoot > 5.0, "the stiff gain overshoots: {overshoot} %");
        }
        move_to(&engine, 3.0).await;
    }
}

/// Plays a chirp on drive 1 of a simulated `protocol` rig and identifies its mechanics;
/// checks them against the simulated motor's own constants (J within 10 %, B within 10 %,
/// Coulomb friction within 20 %, no delay beyond one reading).
async fn identifies_the_simulated_motor(protocol: Protocol) {
    let _turn = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = std::sync::Arc::new(sim_engine(&dir, protocol).await);
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    tokio::time::sleep(Duration::from_millis(200)).await;
    move_to(&engine, 3.0).await;
    let api = drivedeck_engine::api::Api::new(std::sync::Arc::clone(&engine)).expect("api");
    // Large enough that the shaft spends most of each half-period in motion; the
    // amplitude falls with frequency so the speed stays within the drive's limit.
    let test = TestSpec {
        test_loop: TestLoop::Position,
        excitation: Excitation::Chirp {
            start_hz: 1.0,
            end_hz: 8.0,
            amplitude: 0.2,
            duration_s: 6.0,
            sweep: drivedeck_domain::SweepKind::Log,
            falling_amplitude: true,
        },
        travel_window_rad: 0.5,
        settle_s: 0.2,
    };
    let id = api.tune_start(DRIVE_1, test).expect("started");
    api.tune_wait(id).await.expect("ran and analysed");
    let found = api.tune_identify(id as i64).expect("a model");
    // The truth: the simulated motor seen from its PWM output. With the winding's current
    // following the voltage at once (L/R is tens of µs), J·dω/dt =
    // Kt·(u·V − Ke·ω)/R − b·ω − τc·sign ω.
    let p = with_sim_drive(&engine, 1, |d| d.motor().params);
    let j = p.inertia();
    let damping = p.viscous_friction + p.torque_constant * p.back_emf_constant / p.resistance;
    let physical = found
        .physical
        .as_ref()
        .expect("the profile has motor figures");
    let within = |what: &str, got: f64, truth: f64, tolerance: f64| {
        assert!(
            (got / truth - 1.0).abs() <= tolerance,
            "{protocol:?} {what}: {got} identified, {truth} simulated (±{:.0} %); {found:?}",
            100.0 * tolerance
        );
    };
    within("J", physical.inertia.value, j, 0.10);
    within("B", physical.viscous.value, damping, 0.10);
    within("τc", physical.coulomb.value, p.coulomb_friction, 0.20);
    // The simulated drive applies its PWM at once: no delay beyond one reading.
    assert!(found.model.delay_samples <= 1, "{:?}", found.model);
    assert!(found.model.fit_pct > 80.0, "{:?}", found.model);
    // The intervals are stated, and narrower than the tolerances.
    assert!(physical.inertia.ci95 > 0.0 && physical.inertia.ci95 < 0.1 * j);
    let err = api.tune_identify(9999).expect_err("no such run");
    assert!(err.to_string().contains("no run 9999"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chirp_identifies_the_simulated_xm430_within_its_tolerances() {
    identifies_the_simulated_motor(Protocol::Dynamixel2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chirp_identifies_the_simulated_sts3215_within_its_tolerances() {
    identifies_the_simulated_motor(Protocol::Feetech).await;
}
