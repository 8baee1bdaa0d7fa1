//! What every firmware family shares: the drive's state beyond its family's own (the
//! control table in memory, the motor, the sensors, the protections' timers, the Bus
//! Watchdog's clock) and the pieces of firmware all families run the same way — reading
//! goals in SI, publishing measurements as the sensors deliver them, the cascaded velocity
//! PI → current loop, the overload timer, the alarm conditions.
//!
//! A family ([`crate::firmware::Family`]) decides *which* of these it runs and how; this
//! module never asks which family it serves.

use super::entries::Entries;
use super::{OVERLOAD_TIME, Table, alarm};
use crate::motor::Motor;
use drivedeck_proto::profile::{MotorSpec, Profile, Register};
use std::f64::consts::TAU;
use std::sync::Arc;

/// Gains of the drive's loops in SI, derived from the table's gain entries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Gains {
    /// rad/s of velocity set point per rad of position error.
    pub(crate) position_p: f64,
    /// A of current set point per rad/s of velocity error.
    pub(crate) velocity_p: f64,
    /// A per (rad/s · s) of integrated velocity error.
    pub(crate) velocity_i: f64,
}

/// What an overload protection sees in one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Overload {
    /// The overload condition holds now.
    pub(crate) over: bool,
    /// How long it must hold to trip, s.
    pub(crate) time: f64,
    /// The alarm shows only while the condition lasts (Feetech), rather than until torque
    /// is written on again.
    pub(crate) live: bool,
}

/// The drive's shared state (see the module doc).
#[derive(Clone, Debug)]
pub(crate) struct DriveState {
    pub(crate) profile: Profile,
    /// Shared, so the per-step code can hold it while it changes the table.
    pub(crate) entries: Arc<Entries>,
    pub(crate) spec: MotorSpec,
    pub(crate) table: Table,
    pub(crate) motor: Motor,
    pub(crate) velocity_integral: f64,
    /// The ID when the profile has no ID entry.
    pub(crate) fallback_id: u8,
    /// The drive's own clock, s.
    pub(crate) time: f64,
    /// When an instruction last reached this drive, on its clock.
    pub(crate) heard_at: f64,
    /// The watchdog tripped: hold here (position mode) or stand still (velocity mode).
    pub(crate) watchdog_hold: Option<f64>,
    /// Voltage at the drive's supply input, V.
    pub(crate) supply_voltage: f64,
    /// Alarm bits ([`alarm`]) as the firmware reports them.
    pub(crate) alarms: u8,
    /// How long the output has been saturated (or, on Feetech, above Overload Torque), s.
    pub(crate) overload_for: f64,
    /// An overload tripped and has not been acknowledged (torque written on again).
    pub(crate) overload_latched: bool,
    /// The current loop could not deliver its set point in the last step.
    pub(crate) saturated: bool,
    /// A Reg Write waiting for Action: address and data.
    pub(crate) registered: Option<(u16, Vec<u8>)>,
    /// Encoder counts per output revolution.
    pub(crate) encoder_counts: f64,
    /// Shaft angle at which the reported position is 0 (moved by CiA 402 homing), rad.
    pub(crate) position_offset: f64,
    /// Entries the family encodes sign-magnitude: (address, sign bit).
    pub(crate) sign_bits: Vec<(u16, u8)>,
    pub(crate) rng: fastrand::Rng,
}

/// A sign-magnitude raw value (sign at `bit`) as a signed number.
fn from_sign_magnitude(raw: i64, bit: u8) -> i64 {
    let sign = 1i64 << bit;
    if raw & sign != 0 {
        -(raw & (sign - 1))
    } else {
        raw
    }
}

/// A standard normal sample (Box–Muller).
fn gaussian(rng: &mut fastrand::Rng) -> f64 {
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
}

/// Whether `entry` is `register` (same address and address space).
pub(crate) fn is(entry: &Option<Register>, register: &Register) -> bool {
    entry
        .as_ref()
        .is_some_and(|r| r.address == register.address && r.space == register.space)
}

impl DriveState {
    /// The raw value of `register`.
    pub(crate) fn get(&self, register: &Register) -> i64 {
        self.table.get(register)
    }

    /// Stores `raw` in `register`.
    pub(crate) fn put(&mut self, register: &Register, raw: i64) {
        self.table.put(register, raw);
    }

    /// An entry's value in its unit (SI), if the profile has it.
    pub(crate) fn entry_si(&self, entry: &Option<Register>) -> Option<f64> {
        entry.as_ref().map(|r| r.to_si(self.get(r)))
    }

    /// An SI entry where 0 means "not set" (profile velocity, accelerations).
    pub(crate) fn positive_si(&self, entry: &Option<Register>) -> Option<f64> {
        self.entry_si(entry).map(f64::abs).filter(|v| *v > 0.0)
    }

    /// The sign-magnitude bit of an entry, where the family uses one.
    fn sign_bit(&self, register: &Register) -> Option<u8> {
        self.sign_bits
            .iter()
            .find(|(address, _)| *address == register.address)
            .map(|(_, bit)| *bit)
    }

    /// A goal entry's value in SI, decoding sign-magnitude where the family uses it.
    pub(crate) fn goal_si(&self, entry: &Option<Register>) -> f64 {
        let Some(register) = entry else {
            return 0.0;
        };
        let raw = self.get(register);
        let raw = match self.sign_bit(register) {
            Some(bit) => from_sign_magnitude(raw, bit),
            None => raw,
        };
        register.to_si(raw)
    }

    /// The Torque Enable entry is set.
    pub(crate) fn torque_flag(&self) -> bool {
        self.entries
            .torque_enable
            .as_ref()
            .is_some_and(|r| self.get(r) != 0)
    }

    /// The Operating Mode entry selects the profile's velocity mode.
    pub(crate) fn operating_mode_is_velocity(&self) -> bool {
        self.entries
            .operating_mode
            .as_ref()
            .is_some_and(|r| self.get(r) == self.profile.modes.velocity)
    }

    /// The speed the position loop may command, rad/s (infinite: the motor's own limit):
    /// the velocity limit entry, and with `move_speed` the goal-speed entry too (AX/MX
    /// joint mode's Moving Speed, Feetech's Goal Speed: 0 means as fast as possible).
    pub(crate) fn velocity_limit(&self, move_speed: bool) -> f64 {
        let positive = |v: Option<f64>| v.map(f64::abs).filter(|v| *v > 0.0);
        let mut limit = positive(self.entry_si(&self.entries.velocity_limit));
        if move_speed {
            let speed = positive(Some(self.goal_si(&self.entries.goal_velocity)));
            limit = match (limit, speed) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        limit.unwrap_or(f64::INFINITY)
    }

    /// The current the loop may command, A; `zero_is_unset` for tables whose limit
    /// defaults to 0 meaning "not set" (Modbus drives' profiles).
    pub(crate) fn current_limit(&self, zero_is_unset: bool) -> f64 {
        let stall = self.spec.stall_current;
        let mut limit = self
            .entry_si(&self.entries.current_limit)
            .map(f64::abs)
            .filter(|l| *l > 0.0 || !zero_is_unset)
            .unwrap_or(stall);
        // Torque Limit (AX/MX, Feetech) scales the output, in % of the maximum torque.
        if let Some(percent) = self.entry_si(&self.entries.torque_limit) {
            limit = limit.min(stall * (percent / 100.0).clamp(0.0, 1.0));
        }
        limit
    }

    /// The loop gains from the table's gain entries.
    pub(crate) fn gains(&self) -> Gains {
        let entry = |register: &Option<Register>, default: f64| {
            register
                .as_ref()
                .map(|r| self.get(r) as f64)
                .unwrap_or(default)
        };
        // The DYNAMIXEL X firmware divides its gain entries by 128 (P) and 65536 (I); the
        // factors after that turn them into this model's SI loop gains. Drives without
        // these entries run the X defaults.
        Gains {
            position_p: entry(&self.entries.position_p, 800.0) / 128.0,
            velocity_p: entry(&self.entries.velocity_p, 100.0) / 128.0 * 0.5,
            velocity_i: entry(&self.entries.velocity_i, 1920.0) / 65536.0 * 200.0,
        }
    }

    /// The Bus Watchdog: armed with 1–127 (× 20 ms), it trips when no instruction has
    /// reached a `powered` drive for that long.
    pub(crate) fn check_watchdog(&mut self, powered: bool) {
        let Some(reg) = self.entries.bus_watchdog.clone() else {
            return;
        };
        let armed = self.get(&reg);
        if armed <= 0 || !powered || self.watchdog_hold.is_some() {
            return;
        }
        if self.time - self.heard_at > armed as f64 * 0.02 {
            self.watchdog_hold = Some(self.motor.position);
            self.velocity_integral = 0.0;
            self.put(&reg, -1);
        }
    }

    /// The velocity PI → current set point (clamped to `current_limit`) → the current
    /// loop, which applies the voltage that reaches the set point within the step as far
    /// as the supply allows; integrates only while the loop is not saturated.
    pub(crate) fn velocity_current_loop(
        &mut self,
        gains: Gains,
        velocity_set: f64,
        current_limit: f64,
        dt: f64,
    ) {
        let error = velocity_set - self.motor.velocity;
        let unclamped =
            gains.velocity_p * error + gains.velocity_i * (self.velocity_integral + error * dt);
        let current_set = unclamped.clamp(-current_limit, current_limit);
        let voltage = self.motor.voltage_for(current_set, dt);
        let supply = self.supply_voltage;
        let voltage_saturated = voltage.abs() > supply;
        let current_saturated = (unclamped - current_set).abs() > f64::EPSILON;
        // Anti-windup: integrate only while the loop can deliver what it asks for.
        if !current_saturated && !voltage_saturated {
            self.velocity_integral += error * dt;
        }
        self.saturated = current_saturated || voltage_saturated;
        self.motor.step(dt, Some(voltage.clamp(-supply, supply)));
    }

    /// Drives the bridge with a duty cycle (PWM-output firmwares): `demand` (−1…1 and
    /// beyond) capped at ±`cap`, then cut back so the winding current stays within
    /// `current_limit`. The output counts as saturated when the current limit cuts in, or
    /// the duty is at its cap while the winding carries more than half the stall current (a
    /// loaded motor, not one merely at full speed). Returns whether the demand was
    /// delivered as asked (integrate only then).
    pub(crate) fn drive_duty(
        &mut self,
        demand: f64,
        cap: f64,
        current_limit: f64,
        dt: f64,
    ) -> bool {
        let duty = demand.clamp(-cap, cap);
        let duty_capped = (demand - duty).abs() > f64::EPSILON;
        let supply = self.supply_voltage;
        let wanted = duty * supply;
        let low = self.motor.voltage_for(-current_limit, dt);
        let high = self.motor.voltage_for(current_limit, dt);
        let voltage = wanted.clamp(low.min(high), high.max(low));
        let current_limited = (voltage - wanted).abs() > 1e-9;
        self.motor.step(dt, Some(voltage.clamp(-supply, supply)));
        self.saturated = current_limited
            || (duty_capped && self.motor.current.abs() > 0.5 * self.spec.stall_current);
        !duty_capped && !current_limited
    }

    /// The overload timer over one step.
    pub(crate) fn track_overload(&mut self, overload: Overload, dt: f64) {
        let Overload { over, time, live } = overload;
        self.overload_for = if over { self.overload_for + dt } else { 0.0 };
        if over && self.overload_for >= time {
            self.overload_latched = true;
        }
        if live && !over {
            self.overload_latched = false;
        }
    }

    /// The bus servos' overload: the output saturated for [`OVERLOAD_TIME`] while powered.
    pub(crate) fn saturation_overload(&self, powered: bool) -> Overload {
        Overload {
            over: powered && self.saturated,
            time: OVERLOAD_TIME,
            live: false,
        }
    }

    /// The temperature limit entry, °C (0: none), else `default`.
    pub(crate) fn temperature_limit(&self, default: Option<f64>) -> Option<f64> {
        match self.entry_si(&self.entries.temperature_limit) {
            Some(limit) => (limit > 0.0).then_some(limit),
            None => default,
        }
    }

    /// The alarm conditions in force now (see [`alarm`]); the overload one only when
    /// `with_overload`.
    pub(crate) fn conditions(&self, temperature_limit: Option<f64>, with_overload: bool) -> u8 {
        let mut conditions = 0u8;
        if temperature_limit.is_some_and(|limit| self.motor.temperature > limit) {
            conditions |= alarm::OVERHEATING;
        }
        // A limit of 0 is an unset one (Feetech leaves Max Input Voltage without a value).
        let low = self
            .entry_si(&self.entries.min_voltage)
            .filter(|v| *v > 0.0);
        let high = self
            .entry_si(&self.entries.max_voltage)
            .filter(|v| *v > 0.0);
        if low.is_some_and(|low| self.supply_voltage < low)
            || high.is_some_and(|high| self.supply_voltage > high)
        {
            conditions |= alarm::INPUT_VOLTAGE;
        }
        if self.overload_latched && with_overload {
            conditions |= alarm::OVERLOAD;
        }
        conditions
    }

    /// The alarms selected in the Shutdown (63) / Unloading Condition (19) entry.
    pub(crate) fn shutdown_mask(&self) -> u8 {
        self.entries
            .shutdown
            .as_ref()
            .map(|r| self.get(r) as u8)
            .unwrap_or(0)
    }

    /// Turns torque off (when `torque_off` and on) and shows the alarms in the
    /// hardware-error entry.
    pub(crate) fn apply_shutdown(&mut self, torque_off: bool) {
        if torque_off && self.torque_flag() {
            if let Some(reg) = self.entries.torque_enable.clone() {
                self.put(&reg, 0);
            }
            self.velocity_integral = 0.0;
        }
        self.publish_alarms();
    }

    /// The alarm bits into the hardware-error entry.
    pub(crate) fn publish_alarms(&mut self) {
        if let Some(reg) = self.entries.hardware_error.clone() {
            self.put(&reg, i64::from(self.alarms));
        }
    }

    /// Writes `si` into `entry` as the sensor reports it: rounded to the entry's unit,
    /// sign-magnitude where the family uses it, else clamped to the entry's range.
    fn publish(&mut self, entry: &Option<Register>, si: f64) {
        let Some(register) = entry else {
            return;
        };
        let raw = (si / register.scale).round();
        let raw = match self.sign_bit(register) {
            Some(bit) => {
                let max = (1i64 << bit) - 1;
                let magnitude = (raw.abs() as i64).min(max);
                if raw < 0.0 && magnitude > 0 {
                    magnitude | 1 << bit
                } else {
                    magnitude
                }
            }
            None => {
                let limits = register.limits();
                (raw as i64).clamp(*limits.start(), *limits.end())
            }
        };
        self.put(register, raw);
    }

    /// The sensors' readings into the table: encoder counts, noisy velocity and current,
    /// temperature, supply, bridge duty cycle, Moving.
    pub(crate) fn publish_measurements(&mut self) {
        let spec = self.spec;
        let noise = |sigma: f64, rng: &mut fastrand::Rng| {
            if sigma > 0.0 {
                sigma * gaussian(rng)
            } else {
                0.0
            }
        };
        // The encoder counts whole steps of its resolution.
        let sensed =
            self.motor.position - self.position_offset + noise(spec.position_noise, &mut self.rng);
        let counts = (sensed * self.encoder_counts / TAU).floor();
        let position = counts * TAU / self.encoder_counts;
        let velocity = self.motor.velocity + noise(spec.velocity_noise, &mut self.rng);
        let current = self.motor.current + noise(spec.current_noise, &mut self.rng);
        let e = Arc::clone(&self.entries);
        self.publish(&e.present_position, position);
        self.publish(&e.present_velocity, velocity);
        self.publish(&e.present_current, current);
        self.publish(&e.present_temperature, self.motor.temperature);
        self.publish(&e.present_voltage, self.supply_voltage);
        // Present PWM (X) and Present Load (AX, Feetech): the bridge's duty cycle in %.
        let duty = 100.0 * self.motor.voltage / self.supply_voltage.max(1e-9);
        self.publish(&e.present_output, duty);
        let threshold = self
            .entry_si(&e.moving_threshold)
            .filter(|t| *t > 0.0)
            .unwrap_or(0.05);
        self.publish(
            &e.moving,
            if self.motor.velocity.abs() > threshold {
                1.0
            } else {
                0.0
            },
        );
    }
}
