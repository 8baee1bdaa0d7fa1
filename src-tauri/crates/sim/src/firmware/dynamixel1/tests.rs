//! Tests of the AX-12A compliance loop through [`SimDrive`]: a larger slope is a softer,
//! slower step; a larger margin leaves a larger final error; punch raises the output at
//! small errors; the CW values act below the goal, the CCW values above it.

use super::control::{Side, output, slope_level};
use crate::drive::SimDrive;
use drivedeck_proto::profile::Profile;

const DT: f64 = 0.000_25;

fn write(drive: &mut SimDrive, name: &str, raw: i64) {
    let register = drive.profile().register(name).expect("entry").clone();
    drive
        .write(register.address, &register.encode(raw))
        .unwrap_or_else(|e| panic!("{name} = {raw}: {e:?}"));
}

fn units(drive: &SimDrive, rad: f64) -> f64 {
    let r = drive.profile().register("Goal Position").expect("entry");
    rad / (r.to_si(1) - r.to_si(0))
}

/// From Goal Position `from` (settled) to `to`: the time to 90 % of the move (s; `None`
/// if it stops short) and the final error, Goal Position units. The move runs at Moving
/// Speed `speed` (0: as fast as the motor goes).
fn step(settings: &[(&str, i64)], from: i64, to: i64) -> (Option<f64>, f64) {
    step_at(settings, from, to, 0)
}

fn step_at(settings: &[(&str, i64)], from: i64, to: i64, speed: i64) -> (Option<f64>, f64) {
    let mut drive = SimDrive::new(Profile::ax12a(), 1);
    for (name, raw) in settings {
        write(&mut drive, name, *raw);
    }
    write(&mut drive, "Goal Position", from);
    write(&mut drive, "Torque Enable", 1);
    for _ in 0..(1.0 / DT) as usize {
        drive.step(DT);
    }
    let start = units(&drive, drive.motor().position);
    write(&mut drive, "Moving Speed", speed);
    write(&mut drive, "Goal Position", to);
    let mut ninety = None;
    for i in 0..(2.0 / DT) as usize {
        drive.step(DT);
        let moved = units(&drive, drive.motor().position) - start;
        if ninety.is_none() && moved / (to as f64 - start) >= 0.9 {
            ninety = Some(i as f64 * DT);
        }
    }
    (
        ninety,
        (to as f64 - units(&drive, drive.motor().position)).abs(),
    )
}

#[test]
fn the_slope_register_acts_in_seven_levels() {
    let levels: Vec<f64> = [1, 3, 4, 7, 8, 31, 32, 64, 127, 128, 254]
        .iter()
        .map(|raw| slope_level(*raw))
        .collect();
    assert_eq!(
        levels,
        [
            2.0, 2.0, 4.0, 4.0, 8.0, 16.0, 32.0, 64.0, 64.0, 128.0, 128.0
        ]
    );
}

#[test]
fn the_output_law_has_margin_punch_slope_and_sides() {
    let cw = Side {
        margin: 1.0,
        slope: 32.0,
    };
    let ccw = Side {
        margin: 8.0,
        slope: 128.0,
    };
    // Inside the margin: nothing, on either side.
    assert_eq!(output(0.9, cw, ccw, 32.0, 1.0), 0.0);
    assert_eq!(output(-7.0, cw, ccw, 32.0, 1.0), 0.0);
    // Just outside: the punch.
    let small = output(1.5, cw, ccw, 0.0, 1.0);
    let punched = output(1.5, cw, ccw, 300.0, 1.0);
    assert!(punched > small + 0.25, "{small} → {punched}");
    // The CCW side is softer here, and negative.
    assert!(output(-20.0, cw, ccw, 0.0, 1.0) > -0.2);
    assert!(output(20.0, cw, ccw, 0.0, 1.0) > 0.5);
    // Capped by the torque limit.
    assert_eq!(output(500.0, cw, ccw, 32.0, 0.4), 0.4);
}

#[test]
fn a_larger_slope_gives_a_slower_softer_step() {
    let (stiff, stiff_error) = step(
        &[("CW Compliance Slope", 8), ("CCW Compliance Slope", 8)],
        400,
        600,
    );
    let (soft, soft_error) = step(
        &[("CW Compliance Slope", 128), ("CCW Compliance Slope", 128)],
        400,
        600,
    );
    let stiff = stiff.expect("slope 8 passes 90 %");
    let soft = soft.expect("slope 128 passes 90 %");
    eprintln!(
        "slope 8: {stiff:.4} s, error {stiff_error:.2}; slope 128: {soft:.4} s, error {soft_error:.2}"
    );
    assert!(soft > 1.2 * stiff, "{stiff} → {soft}");
    // Less stiff: the same error gets less output.
    let side = |slope: i64| Side {
        margin: 1.0,
        slope: slope_level(slope),
    };
    assert!(
        output(10.0, side(128), side(128), 32.0, 1.0)
            < 0.3 * output(10.0, side(8), side(8), 32.0, 1.0)
    );
}

#[test]
fn a_larger_margin_leaves_a_larger_final_error() {
    let (_, tight) = step(
        &[("CW Compliance Margin", 0), ("CCW Compliance Margin", 0)],
        400,
        600,
    );
    let (_, loose) = step(
        &[("CW Compliance Margin", 20), ("CCW Compliance Margin", 20)],
        400,
        600,
    );
    eprintln!("margin 0: error {tight:.2}; margin 20: error {loose:.2}");
    assert!(loose > tight + 5.0, "{tight} → {loose}");
    assert!(loose <= 21.0, "{loose}");
}

#[test]
fn cw_values_act_below_the_goal_and_ccw_values_above_it() {
    // A slow move (Moving Speed 30, about 0.35 rad/s), so the shaft hardly coasts.
    let wide_cw = [("CW Compliance Margin", 20), ("CCW Compliance Margin", 0)];
    let (_, up) = step_at(&wide_cw, 500, 560, 30);
    let (_, down) = step_at(&wide_cw, 560, 500, 30);
    eprintln!("wide CW margin: error up {up:.2}, down {down:.2}");
    // Moving up, the shaft stops short on the goal's CW side: the CW margin applies.
    assert!(up > 12.0 && up <= 21.0, "up {up}");
    assert!(down < 4.0, "down {down}");
}
