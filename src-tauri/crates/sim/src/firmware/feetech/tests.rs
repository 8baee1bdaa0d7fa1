//! Tests of the Feetech position loop through [`SimDrive`]: P, D and I Coefficients
//! change the step response as a PID → PWM loop does, Goal Speed and Acceleration shape
//! the move, Torque Limit caps the PWM.

use super::control::continuous_gains;
use crate::drive::SimDrive;
use drivedeck_proto::profile::{Profile, Role};

const DT: f64 = 0.000_25;

fn sts3215() -> SimDrive {
    SimDrive::new(Profile::sts3215(), 1)
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

/// Rise time 10 → 90 % (s; `None` if it stops short of 90 %), overshoot (fraction of the
/// step) and final error (rad) of a 24-step move (unsaturated) with the coefficients given.
fn position_step(gains: &[(&str, i64)]) -> (Option<f64>, f64, f64) {
    let mut drive = sts3215();
    for (name, raw) in gains {
        write(&mut drive, name, *raw);
    }
    write(&mut drive, "Torque Enable", 1);
    write(&mut drive, "Goal Position", 24);
    let step = si(&drive, "Goal Position", 24);
    let response: Vec<f64> = (0..(3.0 / DT) as usize)
        .map(|_| {
            drive.step(DT);
            drive.motor().position
        })
        .collect();
    let first = |level: f64| response.iter().position(|p| *p >= level * step);
    let rise = first(0.9)
        .zip(first(0.1))
        .map(|(high, low)| (high - low) as f64 * DT);
    let peak = response.iter().cloned().fold(f64::MIN, f64::max);
    let last = response.last().copied().unwrap_or_default();
    (rise, (peak - step) / step, (last - step).abs())
}

#[test]
fn the_factory_coefficients_are_a_well_damped_loop() {
    let spec = Profile::sts3215().motor.expect("motor");
    let params = crate::motor::MotorParams::from_spec(&spec);
    let gains = continuous_gains(32.0, 32.0, 0.0);
    let k_u = params.torque_constant * params.supply_voltage / params.resistance;
    let damping = params.viscous_friction
        + params.torque_constant * params.back_emf_constant / params.resistance
        + k_u * gains.d;
    let zeta = damping / (2.0 * (k_u * gains.p * params.inertia()).sqrt());
    assert!((0.9..1.4).contains(&zeta), "ζ = {zeta}");
}

#[test]
fn a_higher_p_coefficient_rises_faster_and_overshoots_more() {
    let (rise_96, overshoot_96, _) = position_step(&[("P Coefficient", 96)]);
    let (rise_254, overshoot_254, _) = position_step(&[("P Coefficient", 254)]);
    let rise_96 = rise_96.expect("P 96 passes 90 %");
    let rise_254 = rise_254.expect("P 254 passes 90 %");
    eprintln!(
        "P 96: rise {rise_96:.4} s, overshoot {:.1} %; P 254: rise {rise_254:.4} s, \
         overshoot {:.1} %",
        overshoot_96 * 100.0,
        overshoot_254 * 100.0
    );
    assert!(rise_254 < 0.8 * rise_96, "{rise_96} → {rise_254}");
    assert!(
        overshoot_254 > overshoot_96 + 0.08,
        "{overshoot_96} → {overshoot_254}"
    );
}

#[test]
fn the_d_coefficient_damps_the_overshoot() {
    let (_, low, _) = position_step(&[("P Coefficient", 254), ("D Coefficient", 0)]);
    let (_, high, _) = position_step(&[("P Coefficient", 254), ("D Coefficient", 254)]);
    eprintln!("P 254 overshoot: D 0 {low:.3}, D 254 {high:.3}");
    assert!(high < 0.5 * low, "{low} → {high}");
}

#[test]
fn the_i_coefficient_removes_the_friction_offset() {
    let (_, _, offset) = position_step(&[]);
    let (_, _, integral) = position_step(&[("I Coefficient", 20)]);
    eprintln!("final error: I 0 {offset:.5} rad, I 20 {integral:.5} rad");
    // P alone stops where it no longer beats Coulomb friction (about 6 mrad).
    assert!(offset > 0.003, "{offset}");
    assert!(integral < 0.3 * offset, "{offset} → {integral}");
}

#[test]
fn goal_speed_and_acceleration_shape_the_move() {
    let mut drive = sts3215();
    write(&mut drive, "Goal Speed", 1000); // 1.53 rad/s
    write(&mut drive, "Acceleration", 10); // 1.53 rad/s²
    write(&mut drive, "Torque Enable", 1);
    write(&mut drive, "Goal Position", 3000);
    let mut fastest = 0.0f64;
    let mut at_half_second = 0.0;
    for n in 0..(4.0 / DT) as usize {
        drive.step(DT);
        fastest = fastest.max(drive.motor().velocity);
        if n == (0.5 / DT) as usize {
            at_half_second = drive.motor().velocity;
        }
    }
    let speed = si(&drive, "Goal Speed", 1000);
    // Ramping at 1.53 rad/s²: about 0.77 rad/s after 0.5 s, not the full speed.
    assert!((0.6..0.95).contains(&at_half_second), "{at_half_second}");
    assert!(fastest < 1.1 * speed, "{fastest} vs {speed}");
    assert!(fastest > 0.9 * speed, "{fastest} vs {speed}");
    assert!((drive.raw(Role::PresentPosition) - 3000).abs() <= 10);
}

#[test]
fn torque_limit_caps_the_pwm() {
    let mut drive = sts3215();
    write(&mut drive, "Torque Limit", 300); // 30 %
    write(&mut drive, "Torque Enable", 1);
    write(&mut drive, "Goal Position", 4000);
    for _ in 0..(1.0 / DT) as usize {
        drive.step(DT);
        let duty = drive.motor().voltage / 7.4;
        assert!(duty.abs() <= 0.3 + 1e-9, "{duty}");
    }
    // A third of the supply: about a third of the no-load 5.45 rad/s.
    assert!(drive.motor().velocity > 1.2 && drive.motor().velocity < 1.8);
}
