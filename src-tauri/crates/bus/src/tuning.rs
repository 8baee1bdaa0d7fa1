//! What a tuning test is before it touches a drive: the checks that refuse a test
//! leaving the drive's limits (run before anything is sent), the waveform a test plays
//! (the tuning crate's excitations, evaluated at the instant of each write), and the
//! registers whose values are the gains in force.
//!
//! The link's `tune` module plays the test; this module is pure, so the same checks
//! and waveforms serve the engine's defaults and the tests.

use drivedeck_domain::{DriveStatus, Excitation, SweepKind, TestLoop, TestSpec};
use drivedeck_proto::profile::Profile;
use drivedeck_tune::excite::chirp::{Chirp, Sweep};
use drivedeck_tune::excite::multisine::Multisine;
use drivedeck_tune::excite::prbs::Prbs;
use drivedeck_tune::excite::ramp::Ramp;
use drivedeck_tune::excite::relay::Relay;
use drivedeck_tune::excite::step::StepProfile;
use std::f64::consts::TAU;

/// The longest test, s (excitation and settle times together).
pub const MAX_TEST_S: f64 = 600.0;

/// The longest settle time before and after the excitation, s.
pub const MAX_SETTLE_S: f64 = 10.0;

/// The registers of a profile that shape its control loops (gains, feedforward,
/// compliance, the profile generator's velocity and acceleration), read at a run's
/// start as the gains in force and checked at its end.
pub fn gain_registers(profile: &Profile) -> Vec<String> {
    const WORDS: [&str; 7] = [
        "Gain",
        "Coefficient",
        "Compliance",
        "Punch",
        "Profile Velocity",
        "Profile Acceleration",
        "Profile Deceleration",
    ];
    profile
        .registers
        .iter()
        .filter(|r| r.access.is_writable())
        .filter(|r| WORDS.iter().any(|w| r.name.contains(w)) || r.name == "Acceleration")
        .map(|r| r.name.clone())
        .collect()
}

/// The reference a test plays, as an offset from the start: a function of the time
/// since the excitation began (0 before it and, for all but the ramp, after it). The
/// relay test has no waveform of its own: its output follows the position.
pub enum Waveform {
    /// Evaluated at each instant.
    Signal(Box<dyn Fn(f64) -> f64 + Send + Sync>),
    /// The relay: ±amplitude switched by the position error.
    Relay(Relay),
}

impl Waveform {
    /// The waveform of `excitation`, or why its settings make none.
    pub fn new(excitation: &Excitation) -> Result<Waveform, String> {
        let positive = |what: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("the {what} must be a positive number, not {v}"))
            }
        };
        Ok(match excitation.clone() {
            Excitation::Step {
                size,
                hold_s,
                repeats,
            } => {
                positive("hold time", hold_s)?;
                if !size.is_finite() || size == 0.0 {
                    return Err(format!(
                        "the step size must be a non-zero number, not {size}"
                    ));
                }
                if repeats == 0 || repeats > 100 {
                    return Err(format!("a step test repeats 1–100 times, not {repeats}"));
                }
                let step = StepProfile {
                    offset: 0.0,
                    size,
                    hold_s,
                    repeats,
                    up_and_down: true,
                };
                // The settle time is the first hold: the steps start at once.
                let end = 2.0 * hold_s * f64::from(repeats);
                Waveform::Signal(Box::new(move |t| {
                    if (0.0..end).contains(&t) {
                        step.value_at(t + hold_s)
                    } else {
                        0.0
                    }
                }))
            }
            Excitation::Ramp { rate, duration_s } => {
                positive("ramp time", duration_s)?;
                if !rate.is_finite() || rate == 0.0 {
                    return Err(format!(
                        "the ramp rate must be a non-zero number, not {rate}"
                    ));
                }
                let ramp = Ramp {
                    start: 0.0,
                    rate_per_s: rate,
                    delay_s: 0.0,
                    duration_s,
                };
                Waveform::Signal(Box::new(
                    move |t| if t < 0.0 { 0.0 } else { ramp.value_at(t) },
                ))
            }
            Excitation::Chirp {
                start_hz,
                end_hz,
                amplitude,
                duration_s,
                sweep,
                falling_amplitude,
            } => {
                positive("start frequency", start_hz)?;
                positive("end frequency", end_hz)?;
                positive("amplitude", amplitude)?;
                positive("sweep time", duration_s)?;
                if end_hz <= start_hz {
                    return Err(format!(
                        "the chirp must sweep up: {start_hz} Hz to {end_hz} Hz"
                    ));
                }
                let chirp = Chirp {
                    start_hz,
                    end_hz,
                    amplitude,
                    duration_s,
                    sweep: match sweep {
                        SweepKind::Linear => Sweep::Linear,
                        SweepKind::Log => Sweep::Log,
                    },
                    amplitude_rolloff: if falling_amplitude { 1.0 } else { 0.0 },
                };
                Waveform::Signal(Box::new(move |t| chirp.value_at(t)))
            }
            Excitation::Prbs {
                order,
                bit_time_s,
                amplitude,
                periods,
            } => {
                positive("amplitude", amplitude)?;
                if periods == 0 || periods > 100 {
                    return Err(format!("a PRBS plays 1–100 periods, not {periods}"));
                }
                let prbs = Prbs::new(order, bit_time_s, amplitude).map_err(|e| e.to_string())?;
                let end = excitation.duration_s();
                Waveform::Signal(Box::new(move |t| {
                    if (0.0..end).contains(&t) {
                        prbs.value_at(t)
                    } else {
                        0.0
                    }
                }))
            }
            Excitation::Multisine {
                frequencies_hz,
                amplitude,
                period_s,
                periods,
            } => {
                positive("amplitude", amplitude)?;
                positive("period", period_s)?;
                if periods == 0 || periods > 1000 {
                    return Err(format!("a multisine plays 1–1000 periods, not {periods}"));
                }
                if frequencies_hz.is_empty() || frequencies_hz.len() > 200 {
                    return Err("a multisine needs 1–200 frequencies".into());
                }
                for f in &frequencies_hz {
                    positive("frequency", *f)?;
                }
                let sum = Multisine::crest_optimised(frequencies_hz, amplitude, period_s, 1024, 20)
                    .map_err(|e| e.to_string())?;
                let end = period_s * f64::from(periods);
                Waveform::Signal(Box::new(move |t| {
                    if (0.0..end).contains(&t) {
                        sum.value_at(t)
                    } else {
                        0.0
                    }
                }))
            }
            Excitation::Relay {
                amplitude,
                hysteresis,
                duration_s,
            } => {
                positive("relay amplitude", amplitude)?;
                positive("relay time", duration_s)?;
                if !hysteresis.is_finite() || hysteresis < 0.0 {
                    return Err(format!(
                        "the hysteresis must be 0 or more, not {hysteresis}"
                    ));
                }
                Waveform::Relay(Relay::new(amplitude, hysteresis, 0.0))
            }
        })
    }
}

/// The fastest the reference moves, in the position loop (rad/s): a step or PRBS
/// jumps (the drive's own profile limits it), so `None` there.
fn reference_speed(excitation: &Excitation) -> Option<f64> {
    match excitation {
        Excitation::Step { .. } | Excitation::Prbs { .. } | Excitation::Relay { .. } => None,
        Excitation::Ramp { rate, .. } => Some(rate.abs()),
        Excitation::Chirp {
            start_hz,
            end_hz,
            amplitude,
            falling_amplitude,
            ..
        } => Some(if *falling_amplitude {
            TAU * start_hz * amplitude
        } else {
            TAU * end_hz * amplitude
        }),
        Excitation::Multisine {
            frequencies_hz,
            amplitude,
            ..
        } => Some(TAU * frequencies_hz.iter().cloned().fold(0.0, f64::max) * amplitude),
    }
}

/// The lowest and highest offsets a position-loop reference reaches.
fn reach(excitation: &Excitation) -> (f64, f64) {
    match excitation {
        Excitation::Step { size, .. } => (size.min(0.0), size.max(0.0)),
        Excitation::Ramp { rate, duration_s } => {
            let end = rate * duration_s;
            (end.min(0.0), end.max(0.0))
        }
        other => (-other.peak(), other.peak()),
    }
}

/// How far the position may get from its start in the velocity loop (rad), from the
/// velocity the reference asks for; `None` for the relay (the window bounds it).
fn velocity_travel(excitation: &Excitation) -> Option<f64> {
    match excitation {
        Excitation::Step { size, hold_s, .. } => Some(size.abs() * hold_s),
        Excitation::Ramp { rate, duration_s } => Some(0.5 * rate.abs() * duration_s * duration_s),
        Excitation::Chirp {
            start_hz,
            amplitude,
            ..
        } => Some(amplitude / (TAU * start_hz) * 2.0),
        Excitation::Prbs {
            amplitude,
            bit_time_s,
            order,
            ..
        } => {
            // The longest run of equal bits in a maximum-length sequence is `order`.
            Some(amplitude * bit_time_s * f64::from(*order))
        }
        Excitation::Multisine {
            frequencies_hz,
            amplitude,
            ..
        } => {
            let lowest = frequencies_hz.iter().cloned().fold(f64::INFINITY, f64::min);
            Some(amplitude / (TAU * lowest) * 2.0)
        }
        Excitation::Relay { .. } => None,
    }
}

/// Whether `test` may run on a drive in `status`, standing at `position` (rad, the last
/// reading): `Err` says what it would leave. Nothing is sent for a refused test.
pub fn check_test(
    status: &DriveStatus,
    position: Option<f64>,
    test: &TestSpec,
) -> Result<(), String> {
    let drive = status.drive.id;
    if !status.enabled {
        return Err(format!(
            "drive {drive} is not enabled: arm and enable it before a test"
        ));
    }
    if let Some(fault) = &status.fault {
        return Err(format!("drive {drive} reports a fault: {fault}"));
    }
    if test.test_loop.mode() != status.mode {
        return Err(format!(
            "drive {drive} is in {} mode: a {} loop test needs {} mode (disable it and change the mode first)",
            match status.mode {
                drivedeck_domain::DriveMode::Position => "position",
                drivedeck_domain::DriveMode::Velocity => "velocity",
            },
            test.test_loop.name(),
            test.test_loop.name()
        ));
    }
    if matches!(test.excitation, Excitation::Relay { .. }) && test.test_loop != TestLoop::Velocity {
        return Err(
            "the relay test runs in the velocity loop (its relay switches the velocity as the position crosses its start)".into(),
        );
    }
    Waveform::new(&test.excitation)?;
    if !(test.settle_s.is_finite() && (0.0..=MAX_SETTLE_S).contains(&test.settle_s)) {
        return Err(format!(
            "the settle time must be 0–{MAX_SETTLE_S} s, not {}",
            test.settle_s
        ));
    }
    let total = test.excitation.duration_s() + 2.0 * test.settle_s;
    if !(total.is_finite() && total <= MAX_TEST_S) {
        return Err(format!(
            "the test would last {total:.1} s; the longest is {MAX_TEST_S} s"
        ));
    }
    let window = test.travel_window_rad;
    let (lo, hi) = status.effective_position_limits();
    if !(window.is_finite() && window > 0.0 && window <= hi - lo) {
        return Err(format!(
            "the travel window must be more than 0 and at most the drive's range ({:.1}°), not {window} rad",
            (hi - lo).to_degrees()
        ));
    }
    let Some(start) = position else {
        return Err(format!(
            "drive {drive}'s position is not known yet: wait for its first reading"
        ));
    };
    let which = if status.soft_limits.position.is_some() {
        "soft limits"
    } else {
        "range"
    };
    let (below, above) = match test.test_loop {
        TestLoop::Position => reach(&test.excitation),
        TestLoop::Velocity => {
            let travel = velocity_travel(&test.excitation)
                .unwrap_or(window)
                .min(window);
            (-travel, travel)
        }
    };
    if start + below < lo || start + above > hi {
        return Err(format!(
            "the test would reach {:.1}° – {:.1}°, outside drive {drive}'s {which} {:.1}° – {:.1}°",
            (start + below).to_degrees(),
            (start + above).to_degrees(),
            lo.to_degrees(),
            hi.to_degrees()
        ));
    }
    let velocity_limit = status.effective_velocity_limit();
    let peak = test.excitation.peak();
    match test.test_loop {
        TestLoop::Position => {
            if peak > window {
                return Err(format!(
                    "the test moves ±{:.2}°, beyond its travel window ±{:.2}°",
                    peak.to_degrees(),
                    window.to_degrees()
                ));
            }
            if let Some(speed) = reference_speed(&test.excitation)
                && speed > velocity_limit
            {
                return Err(format!(
                    "the reference would move at {speed:.2} rad/s, above the drive's limit {velocity_limit:.2} rad/s: lower the amplitude or the frequency"
                ));
            }
        }
        TestLoop::Velocity => {
            if peak > velocity_limit {
                return Err(format!(
                    "the test asks for {peak:.2} rad/s, above the drive's limit {velocity_limit:.2} rad/s"
                ));
            }
            if let Some(travel) = velocity_travel(&test.excitation)
                && travel > window
            {
                return Err(format!(
                    "the test would move the drive about {:.1}°, beyond its travel window ±{:.1}°",
                    travel.to_degrees(),
                    window.to_degrees()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_domain::{DriveMode, DriveRef, SoftLimits};

    fn status(mode: DriveMode) -> DriveStatus {
        DriveStatus {
            drive: DriveRef { link: 1, id: 1 },
            model: "XM430-W350".into(),
            enabled: true,
            mode,
            fault: None,
            target: None,
            position_limits: (0.0, TAU),
            velocity_limit: 6.0,
            soft_limits: SoftLimits::default(),
        }
    }

    fn chirp(amplitude: f64, end_hz: f64) -> TestSpec {
        TestSpec {
            test_loop: TestLoop::Position,
            excitation: Excitation::Chirp {
                start_hz: 0.5,
                end_hz,
                amplitude,
                duration_s: 10.0,
                sweep: SweepKind::Log,
                falling_amplitude: false,
            },
            travel_window_rad: 0.5,
            settle_s: 0.5,
        }
    }

    #[test]
    fn a_small_chirp_in_the_middle_passes() {
        assert_eq!(
            check_test(&status(DriveMode::Position), Some(3.0), &chirp(0.05, 10.0)),
            Ok(())
        );
    }

    #[test]
    fn each_limit_refuses_with_its_reason() {
        let s = status(DriveMode::Position);
        let refuse = |status: &DriveStatus, position: Option<f64>, test: &TestSpec, word: &str| {
            let e = check_test(status, position, test).expect_err(word);
            assert!(e.contains(word), "{e:?} should mention {word:?}");
        };
        // Beyond the window, too fast, near the end of travel, position unknown.
        refuse(&s, Some(3.0), &chirp(0.6, 10.0), "travel window");
        refuse(&s, Some(3.0), &chirp(0.2, 10.0), "rad/s");
        refuse(&s, Some(0.02), &chirp(0.05, 10.0), "range");
        refuse(&s, None, &chirp(0.05, 10.0), "not known");
        // Disabled, faulted, wrong mode.
        let mut off = s.clone();
        off.enabled = false;
        refuse(&off, Some(3.0), &chirp(0.05, 10.0), "not enabled");
        let mut faulted = s.clone();
        faulted.fault = Some("overload".into());
        refuse(&faulted, Some(3.0), &chirp(0.05, 10.0), "overload");
        refuse(
            &status(DriveMode::Velocity),
            Some(3.0),
            &chirp(0.05, 10.0),
            "mode",
        );
        // Soft limits narrow the range.
        let mut soft = s.clone();
        soft.soft_limits.position = Some((2.6, 3.6));
        refuse(&soft, Some(2.62), &chirp(0.05, 10.0), "soft limits");
        // Bad settings.
        refuse(&s, Some(3.0), &chirp(0.05, 0.2), "sweep up");
        let mut long = chirp(0.05, 10.0);
        long.settle_s = 20.0;
        refuse(&s, Some(3.0), &long, "settle");
    }

    #[test]
    fn velocity_tests_are_bounded_by_speed_and_travel() {
        let s = status(DriveMode::Velocity);
        let step = |size: f64, hold_s: f64| TestSpec {
            test_loop: TestLoop::Velocity,
            excitation: Excitation::Step {
                size,
                hold_s,
                repeats: 1,
            },
            travel_window_rad: 1.0,
            settle_s: 0.2,
        };
        assert_eq!(check_test(&s, Some(3.0), &step(1.0, 0.5)), Ok(()));
        assert!(check_test(&s, Some(3.0), &step(7.0, 0.1)).is_err_and(|e| e.contains("limit")));
        assert!(check_test(&s, Some(3.0), &step(1.0, 2.0)).is_err_and(|e| e.contains("window")));
    }

    #[test]
    fn waveforms_start_and_end_at_zero_offset() {
        let step = Waveform::new(&Excitation::Step {
            size: 0.1,
            hold_s: 0.5,
            repeats: 2,
        })
        .expect("step");
        let Waveform::Signal(f) = step else {
            panic!("a step is a signal")
        };
        assert_eq!(f(-0.1), 0.0);
        assert_eq!(f(0.1), 0.1);
        assert_eq!(f(0.6), 0.0);
        assert_eq!(f(1.1), 0.1);
        assert_eq!(f(2.5), 0.0);
    }

    #[test]
    fn gains_of_the_xm430_are_its_gain_and_profile_registers() {
        let profile = Profile::xm430_w350();
        let gains = gain_registers(&profile);
        for name in [
            "Position P Gain",
            "Velocity I Gain",
            "Feedforward 1st Gain",
            "Profile Velocity",
        ] {
            assert!(
                gains.iter().any(|g| g == name),
                "{name} missing from {gains:?}"
            );
        }
        assert!(!gains.iter().any(|g| g == "Goal Position"));
    }
}
