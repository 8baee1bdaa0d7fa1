//! Tests of the DYNAMIXEL X control structure through [`SimDrive`]: each gain entry the
//! firmware uses changes the dynamics the way the e-manual's block diagram says, the
//! profile shapes the trajectory (velocity- and time-based), Goal PWM caps the output and
//! Realtime Tick counts milliseconds.

use crate::drive::SimDrive;
use drivedeck_proto::profile::{Profile, Role};

const DT: f64 = 0.000_25;

fn xm430() -> SimDrive {
    SimDrive::new(Profile::xm430_w350(), 1)
}

fn write(drive: &mut SimDrive, name: &str, raw: i64) {
    let register = drive.profile().register(name).expect("entry").clone();
    drive
        .write(register.address, &register.encode(raw))
        .unwrap_or_else(|e| panic!("{name} = {raw}: {e:?}"));
}

fn si(drive: &SimDrive, name: &str, raw: i64) -> f64 {
    drive.profile().register(name).expect("entry").to_si(raw)
}

/// A step response: the shaft angle every step for `seconds`.
fn trace(drive: &mut SimDrive, seconds: f64) -> Vec<f64> {
    (0..(seconds / DT) as usize)
        .map(|_| {
            drive.step(DT);
            drive.motor().position
        })
        .collect()
}

/// Rise time 10 → 90 % (s) and overshoot (fraction of the step) of a response to `step`.
fn step_metrics(response: &[f64], step: f64) -> (f64, f64) {
    let first = |level: f64| {
        response
            .iter()
            .position(|p| *p >= level * step)
            .expect("reaches the level")
    };
    let rise = (first(0.9) - first(0.1)) as f64 * DT;
    let peak = response.iter().cloned().fold(f64::MIN, f64::max);
    (rise, (peak - step) / step)
}

/// A small position step (32 pulses, unsaturated) with Position P Gain `p` and the other
/// gains as given.
fn position_step(gains: &[(&str, i64)]) -> (f64, f64, f64) {
    let mut drive = xm430();
    for (name, raw) in gains {
        write(&mut drive, name, *raw);
    }
    write(&mut drive, "Torque Enable", 1);
    write(&mut drive, "Goal Position", 32);
    let step = si(&drive, "Goal Position", 32);
    let response = trace(&mut drive, 3.0);
    let (rise, overshoot) = step_metrics(&response, step);
    let last = response.last().copied().unwrap_or_default();
    (rise, overshoot, (last - step).abs())
}

#[test]
fn a_higher_position_p_gain_rises_faster_and_overshoots_more() {
    let (rise_800, overshoot_800, _) = position_step(&[("Position P Gain", 800)]);
    let (rise_3200, overshoot_3200, _) = position_step(&[("Position P Gain", 3200)]);
    eprintln!(
        "P 800: rise {rise_800:.4} s, overshoot {:.1} %; P 3200: rise {rise_3200:.4} s, \
         overshoot {:.1} %",
        overshoot_800 * 100.0,
        overshoot_3200 * 100.0
    );
    // ζ ≈ 0.9 at the factory 800 and ≈ 0.45 at 3200 (see `continuous_model`).
    assert!(rise_3200 < 0.6 * rise_800, "{rise_800} s → {rise_3200} s");
    assert!(overshoot_800 < 0.03, "{overshoot_800}");
    assert!(overshoot_3200 > 0.10, "{overshoot_3200}");
}

#[test]
fn position_d_gain_damps_the_overshoot() {
    let (_, undamped, _) = position_step(&[("Position P Gain", 3200)]);
    let (_, damped, _) = position_step(&[("Position P Gain", 3200), ("Position D Gain", 4000)]);
    eprintln!("P 3200 overshoot: D 0 {undamped:.3}, D 4000 {damped:.3}");
    assert!(damped < 0.5 * undamped, "{undamped} → {damped}");
}

#[test]
fn position_i_gain_removes_the_friction_offset() {
    let (_, _, offset) = position_step(&[]);
    let (_, _, integral) = position_step(&[("Position I Gain", 1000)]);
    eprintln!("final error: I 0 {offset:.5} rad, I 1000 {integral:.5} rad");
    // P alone stops where it no longer beats Coulomb friction: τc/(k_u·Kp) ≈ 2.6 mrad.
    assert!(offset > 0.0015, "{offset}");
    assert!(integral < 0.3 * offset, "{offset} → {integral}");
}

/// The largest |Position Trajectory − position| over a profiled move of 1024 pulses.
fn tracking_error(gains: &[(&str, i64)]) -> f64 {
    let mut drive = xm430();
    write(&mut drive, "Profile Velocity", 80); // 1.9 rad/s
    write(&mut drive, "Profile Acceleration", 20); // 7.5 rad/s²
    for (name, raw) in gains {
        write(&mut drive, name, *raw);
    }
    write(&mut drive, "Torque Enable", 1);
    write(&mut drive, "Goal Position", 1024);
    let mut worst = 0.0f64;
    for _ in 0..(1.5 / DT) as usize {
        drive.step(DT);
        let reference = si(
            &drive,
            "Position Trajectory",
            drive.raw_named("Position Trajectory").expect("entry"),
        );
        worst = worst.max((reference - drive.motor().position).abs());
    }
    worst
}

#[test]
fn velocity_feedforward_shrinks_the_tracking_error() {
    let without = tracking_error(&[]);
    let with = tracking_error(&[("Feedforward 1st Gain", 1100)]);
    eprintln!("tracking error: FF1 0 {without:.4} rad, FF1 1100 {with:.4} rad");
    assert!(with < 0.5 * without, "{without} → {with}");
}

#[test]
fn acceleration_feedforward_shrinks_the_tracking_error_further() {
    let velocity_only = tracking_error(&[("Feedforward 1st Gain", 1100)]);
    let both = tracking_error(&[
        ("Feedforward 1st Gain", 1100),
        ("Feedforward 2nd Gain", 16000),
    ]);
    eprintln!("tracking error: FF2 0 {velocity_only:.4} rad, FF2 16000 {both:.4} rad");
    assert!(both < 0.8 * velocity_only, "{velocity_only} → {both}");
}

/// Velocity mode toward 100 (2.4 rad/s): the speed after `seconds`.
fn velocity_after(gains: &[(&str, i64)], seconds: f64) -> f64 {
    let mut drive = xm430();
    let mode = drive.profile().modes.velocity;
    write(&mut drive, "Operating Mode", mode);
    for (name, raw) in gains {
        write(&mut drive, name, *raw);
    }
    write(&mut drive, "Torque Enable", 1);
    write(&mut drive, "Goal Velocity", 100);
    trace(&mut drive, seconds);
    drive.motor().velocity
}

#[test]
fn velocity_p_gain_alone_leaves_an_offset_that_a_higher_gain_shrinks() {
    let goal = si(&xm430(), "Goal Velocity", 100);
    let low = velocity_after(&[("Velocity I Gain", 0)], 1.0);
    let high = velocity_after(&[("Velocity I Gain", 0), ("Velocity P Gain", 800)], 1.0);
    eprintln!("P-only velocity after 1 s (goal {goal:.3}): VP 100 {low:.3}, VP 800 {high:.3}");
    assert!(low < 0.5 * goal, "{low}");
    assert!(high > low + 0.3 * goal, "{low} → {high}");
}

#[test]
fn a_higher_velocity_i_gain_reaches_the_speed_sooner() {
    let goal = si(&xm430(), "Goal Velocity", 100);
    let factory = velocity_after(&[], 0.15);
    let doubled = velocity_after(&[("Velocity I Gain", 3840)], 0.15);
    eprintln!("velocity at 0.15 s (goal {goal:.3}): VI 1920 {factory:.3}, VI 3840 {doubled:.3}");
    assert!(doubled > factory + 0.1 * goal, "{factory} → {doubled}");
}

#[test]
fn the_profile_shapes_the_trajectory_and_the_tick_counts_milliseconds() {
    let mut drive = xm430();
    write(&mut drive, "Profile Velocity", 80);
    write(&mut drive, "Profile Acceleration", 20);
    write(&mut drive, "Torque Enable", 1);
    let tick = drive.raw_named("Realtime Tick").expect("tick");
    write(&mut drive, "Goal Position", 2048);
    trace(&mut drive, 0.1);
    // 0.1 s at 7.5 rad/s² is 0.75 rad/s, i.e. 31 units of Velocity Trajectory.
    let velocity = drive.raw_named("Velocity Trajectory").expect("entry");
    assert!((velocity - 31).abs() <= 1, "{velocity}");
    trace(&mut drive, 0.5);
    // At cruise: the Profile Velocity.
    assert_eq!(drive.raw_named("Velocity Trajectory"), Some(80));
    let elapsed = drive.raw_named("Realtime Tick").expect("tick") - tick;
    assert!((elapsed - 600).abs() <= 1, "{elapsed} ms");
    // π rad at 1.92 rad/s plus the ramps: about 1.9 s; then the trajectory rests at the goal.
    trace(&mut drive, 1.6);
    assert_eq!(drive.raw_named("Velocity Trajectory"), Some(0));
    assert_eq!(drive.raw_named("Position Trajectory"), Some(2048));
    assert!((drive.raw(Role::PresentPosition) - 2048).abs() <= 8);
}

#[test]
fn the_time_based_profile_ends_the_move_on_time() {
    let mut drive = xm430();
    write(&mut drive, "Drive Mode", 4); // time-based profile
    write(&mut drive, "Profile Velocity", 1000); // t3: 1 s
    write(&mut drive, "Profile Acceleration", 250); // t1: 0.25 s
    write(&mut drive, "Torque Enable", 1);
    write(&mut drive, "Goal Position", 1024);
    trace(&mut drive, 0.9);
    let at_0_9 = drive.raw_named("Position Trajectory").expect("entry");
    assert!((900..1024).contains(&at_0_9), "{at_0_9}");
    trace(&mut drive, 0.15);
    assert_eq!(drive.raw_named("Position Trajectory"), Some(1024));
}

#[test]
fn goal_pwm_caps_the_output() {
    let mut drive = xm430();
    assert_eq!(
        drive.raw_named("Goal PWM"),
        Some(885),
        "PWM Limit at power-on"
    );
    write(&mut drive, "Goal PWM", 300);
    write(&mut drive, "Torque Enable", 1);
    write(&mut drive, "Goal Position", 4000);
    let mut fastest = 0.0f64;
    for _ in 0..(1.0 / DT) as usize {
        drive.step(DT);
        assert!(drive.raw_named("Present PWM").expect("pwm").abs() <= 300);
        fastest = fastest.max(drive.motor().velocity);
    }
    // A third of the supply drives about a third of the no-load speed (4.8 rad/s).
    assert!((1.2..1.9).contains(&fastest), "{fastest}");
}
