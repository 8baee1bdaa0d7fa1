//! Safe default tests for a drive: small enough to run anywhere inside its range, in
//! its current loop, reaching no higher than the link can observe. `tune chirp` with
//! only the port, protocol and drive runs the chirp from here; the UI prefills its form
//! with these.
//!
//! The sizes follow the drive: a step of 5 % of the travel window (at most 5°), a chirp
//! of a few degrees from 0.5 Hz up to a quarter of the link's wire-time limit (never
//! above 40 Hz) with its amplitude cut so its peak speed stays under half the velocity
//! limit, a PRBS whose bit lasts a few cycles, a multisine of ten log-spaced tones, and
//! a relay of a tenth of the velocity limit. Each default passes
//! [`drivedeck_bus::tuning::check_test`] where the drive stands in its range.

use drivedeck_domain::{DriveStatus, Excitation, SweepKind, TestLoop, TestSpec};
use std::f64::consts::TAU;

/// The travel window of the default tests, rad (±20°, or less on a short range).
fn window(status: &DriveStatus) -> f64 {
    let (lo, hi) = status.effective_position_limits();
    (20f64.to_radians()).min((hi - lo) / 4.0)
}

/// The highest frequency a default test asks for, Hz.
fn top_hz(wire_limit_hz: f64) -> f64 {
    (wire_limit_hz / 4.0).clamp(2.0, 40.0)
}

/// Ten log-spaced tones from 0.5 Hz to `top`, on the 4 s period's grid (whole
/// multiples of 0.25 Hz), none twice.
fn multisine_tones(top: f64) -> Vec<f64> {
    let mut tones: Vec<f64> = (0..10)
        .map(|k| {
            let f = 0.5 * (top / 0.5f64).powf(f64::from(k) / 9.0);
            (f * 4.0).round().max(1.0) / 4.0
        })
        .collect();
    tones.dedup();
    tones
}

/// The lowest frequency of the default chirp, Hz.
const CHIRP_START_HZ: f64 = 0.5;

/// The default chirp from [`CHIRP_START_HZ`] to `top`. In position, when a constant
/// amplitude would be too small to measure — below 3° (or a quarter of the travel
/// window) because the top frequency at that amplitude would outrun half the velocity
/// limit —, the amplitude falls as 1/f instead (a bounded speed): it starts at 3° and
/// keeps the speed of the start, so the low frequencies, where a servo's loops close, are
/// measured well above the encoder's resolution.
fn chirp(
    test_loop: TestLoop,
    window: f64,
    velocity_limit: f64,
    top: f64,
    amplitude: f64,
    spec: &impl Fn(Excitation) -> TestSpec,
) -> TestSpec {
    let wanted = (3f64.to_radians()).min(window / 4.0);
    let (amplitude, falling_amplitude) = if test_loop == TestLoop::Position && amplitude < wanted {
        let at_start = 0.5 * velocity_limit / (TAU * CHIRP_START_HZ);
        (wanted.min(at_start), true)
    } else {
        (amplitude, false)
    };
    spec(Excitation::Chirp {
        start_hz: CHIRP_START_HZ,
        end_hz: top,
        amplitude,
        duration_s: 20.0,
        sweep: SweepKind::Log,
        falling_amplitude,
    })
}

/// One safe test of each kind for a drive in `status`, read at `wire_limit_hz`.
pub fn default_tests(status: &DriveStatus, wire_limit_hz: f64) -> Vec<TestSpec> {
    let window = window(status);
    let velocity_limit = status.effective_velocity_limit().max(1e-3);
    let top = top_hz(wire_limit_hz);
    let test_loop = match status.mode {
        drivedeck_domain::DriveMode::Position => TestLoop::Position,
        drivedeck_domain::DriveMode::Velocity => TestLoop::Velocity,
    };
    let spec = |excitation: Excitation| TestSpec {
        test_loop,
        excitation,
        travel_window_rad: window,
        settle_s: 0.5,
    };
    // The amplitude of the oscillating tests: a few degrees in position, slow enough at
    // the top frequency; in velocity, a tenth of the limit, small enough in travel at
    // the bottom one.
    let (amplitude, step) = match test_loop {
        TestLoop::Position => {
            let by_speed = 0.5 * velocity_limit / (TAU * top);
            let a = (3f64.to_radians()).min(window / 4.0).min(by_speed);
            (a, (window * 0.05).min(5f64.to_radians()))
        }
        TestLoop::Velocity => {
            let by_travel = window / 4.0 * TAU * 0.5;
            let a = (velocity_limit / 10.0).min(by_travel);
            (a, (velocity_limit / 10.0).min(window / 4.0 / 0.5))
        }
    };
    let mut tests = vec![
        spec(Excitation::Step {
            size: step,
            hold_s: 0.5,
            repeats: 2,
        }),
        spec(Excitation::Ramp {
            rate: match test_loop {
                TestLoop::Position => (velocity_limit / 10.0).min(window / 4.0),
                TestLoop::Velocity => velocity_limit / 10.0,
            },
            duration_s: 1.0,
        }),
        chirp(test_loop, window, velocity_limit, top, amplitude, &spec),
        spec(Excitation::Prbs {
            order: 9,
            // Each bit a few cycles of the top frequency: energy up to about `top`.
            bit_time_s: (0.4 / top).max(0.002),
            amplitude,
            periods: 3,
        }),
        spec(Excitation::Multisine {
            frequencies_hz: multisine_tones(top),
            amplitude,
            period_s: 4.0,
            periods: 3,
        }),
    ];
    if test_loop == TestLoop::Velocity {
        tests.push(spec(Excitation::Relay {
            amplitude: velocity_limit / 10.0,
            hysteresis: 0.5f64.to_radians(),
            duration_s: 5.0,
        }));
    }
    tests
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
            velocity_limit: 4.8,
            soft_limits: SoftLimits::default(),
        }
    }

    #[test]
    fn every_default_passes_the_checks_from_the_middle_of_the_range() {
        for mode in [DriveMode::Position, DriveMode::Velocity] {
            let s = status(mode);
            let tests = default_tests(&s, 800.0);
            assert!(tests.len() >= 5);
            for test in &tests {
                assert_eq!(
                    drivedeck_bus::tuning::check_test(&s, Some(3.0), test),
                    Ok(()),
                    "{mode:?} {test:?}"
                );
            }
        }
    }

    #[test]
    fn a_slow_drive_gets_a_chirp_of_3_degrees_falling_as_1_over_f() {
        // An XM430 (4.8 rad/s) read at 800 Hz: 3° at 40 Hz would be 13 rad/s.
        let s = status(DriveMode::Position);
        let tests = default_tests(&s, 800.0);
        let Some(Excitation::Chirp {
            amplitude,
            falling_amplitude,
            start_hz,
            ..
        }) = tests
            .iter()
            .map(|t| t.excitation.clone())
            .find(|e| matches!(e, Excitation::Chirp { .. }))
        else {
            panic!("a chirp")
        };
        assert!(falling_amplitude);
        assert!((amplitude - 3f64.to_radians()).abs() < 1e-12, "{amplitude}");
        assert!(TAU * start_hz * amplitude <= 0.5 * 4.8);
        // A fast drive keeps a constant amplitude.
        let fast = DriveStatus {
            velocity_limit: 100.0,
            ..s
        };
        let chirp = default_tests(&fast, 800.0)
            .into_iter()
            .find(|t| matches!(t.excitation, Excitation::Chirp { .. }))
            .expect("a chirp");
        assert!(matches!(
            chirp.excitation,
            Excitation::Chirp {
                falling_amplitude: false,
                ..
            }
        ));
    }

    #[test]
    fn the_chirp_stops_at_a_quarter_of_the_wire_limit() {
        let tests = default_tests(&status(DriveMode::Position), 100.0);
        let chirp = tests
            .iter()
            .find_map(|t| match t.excitation {
                Excitation::Chirp { end_hz, .. } => Some(end_hz),
                _ => None,
            })
            .expect("a chirp");
        assert_eq!(chirp, 25.0);
    }
}
