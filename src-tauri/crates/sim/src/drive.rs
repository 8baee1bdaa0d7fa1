//! A simulated servo drive: the profile's control table in memory, the drive's own
//! cascaded loops, and the motor they drive.
//!
//! The loops run the way a bus servo's firmware does, on every physics step:
//! position P → velocity set point (clamped to the Velocity Limit) → velocity PI →
//! current set point (clamped to the Current Limit) → bridge voltage (clamped to the
//! supply). In velocity mode the position loop is skipped. With torque off the bridge
//! is open and the shaft coasts. Present position/velocity/current are written back
//! into the table, quantised to the register's resolution as the encoder would be.
//!
//! Writes go through [`SimDrive::write`], which applies the same rules as the real
//! firmware: read-only entries refuse writes, EEPROM entries refuse writes while torque
//! is on, and values outside an entry's range are refused.
//!
//! The Bus Watchdog works as on the Dynamixel X series: armed with 1–127 (× 20 ms), it
//! trips when no instruction reaches the drive for that long while torque is on; the
//! drive then stops (it holds its position, or velocity 0), the entry reads −1, and
//! writes to the goal entries are refused until the watchdog is written 0 again.

use crate::motor::{Motor, MotorParams};
use drivedeck_proto::profile::{Access, MotorSpec, Profile, Register, Role};

/// Why the drive refused a read or write (maps onto the protocol's status error codes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableError {
    /// Outside the control table, or a partial/unknown entry.
    Access(String),
    /// A value outside the entry's range.
    Range(String),
}

/// Gains of the drive's loops in SI, derived from the table's gain entries.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Gains {
    /// rad/s of velocity set point per rad of position error.
    position_p: f64,
    /// A of current set point per rad/s of velocity error.
    velocity_p: f64,
    /// A per (rad/s · s) of integrated velocity error.
    velocity_i: f64,
}

/// One simulated drive on a bus.
#[derive(Clone, Debug)]
pub struct SimDrive {
    profile: Profile,
    table: Vec<u8>,
    motor: Motor,
    velocity_integral: f64,
    id: u8,
    /// The drive's own clock, s.
    time: f64,
    /// When an instruction last reached this drive, on its clock.
    heard_at: f64,
    /// The watchdog tripped: hold here (position mode) or stand still (velocity mode).
    watchdog_hold: Option<f64>,
}

/// Datasheet figures used when a profile carries no `[motor]` section.
const FALLBACK_MOTOR: MotorSpec = MotorSpec {
    supply_voltage: 12.0,
    stall_torque: 1.0,
    stall_current: 1.0,
    no_load_speed: 10.0,
    no_load_current: 0.1,
    inertia: 0.002,
    viscous_friction: 0.01,
    coulomb_friction: 0.01,
};

impl SimDrive {
    /// A drive with bus ID `id`, its table at the profile's defaults, the shaft at rest.
    pub fn new(profile: Profile, id: u8) -> SimDrive {
        let mut table = vec![0u8; profile.table_len()];
        for register in &profile.registers {
            let start = usize::from(register.address);
            let bytes = register.encode(register.default);
            table[start..start + bytes.len()].copy_from_slice(&bytes);
        }
        let spec = profile.motor.unwrap_or(FALLBACK_MOTOR);
        let mut drive = SimDrive {
            motor: Motor::new(MotorParams::from_spec(&spec)),
            profile,
            table,
            velocity_integral: 0.0,
            id,
            time: 0.0,
            heard_at: 0.0,
            watchdog_hold: None,
        };
        if let Some(reg) = drive.profile.register("ID").cloned() {
            drive.set_raw(&reg, i64::from(id));
        }
        drive
    }

    /// The drive's bus ID.
    pub fn id(&self) -> u8 {
        self.id
    }

    /// The drive's profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The motor's true state (not quantised): for tests and the physics view.
    pub fn motor(&self) -> &Motor {
        &self.motor
    }

    /// Reads `len` bytes of the table from `address`.
    pub fn read(&self, address: u16, len: u16) -> Result<&[u8], TableError> {
        let start = usize::from(address);
        let end = start + usize::from(len);
        self.table.get(start..end).ok_or_else(|| {
            TableError::Access(format!(
                "read of {len} bytes at {address} is outside the {}-byte control table",
                self.table.len()
            ))
        })
    }

    /// Writes `data` at `address`, entry by entry, as the firmware would: all or nothing.
    pub fn write(&mut self, address: u16, data: &[u8]) -> Result<(), TableError> {
        let start = usize::from(address);
        let end = start + data.len();
        if end > self.table.len() {
            return Err(TableError::Access(format!(
                "write of {} bytes at {address} is outside the control table",
                data.len()
            )));
        }
        let torque_on = self.torque_enabled();
        // Validate every touched entry first, so a refused write changes nothing.
        let mut updates = Vec::new();
        let mut offset = start;
        while offset < end {
            let register = self
                .profile
                .registers
                .iter()
                .find(|r| usize::from(r.address) == offset)
                .ok_or_else(|| {
                    TableError::Access(format!("address {offset} is not the start of an entry"))
                })?;
            let size = register.size();
            if offset + size > end {
                return Err(TableError::Access(format!(
                    "write covers only part of {}",
                    register.name
                )));
            }
            if register.access == Access::R {
                return Err(TableError::Access(format!(
                    "{} is read-only",
                    register.name
                )));
            }
            if register.persistent && torque_on {
                return Err(TableError::Access(format!(
                    "{} is in EEPROM and cannot change while torque is on",
                    register.name
                )));
            }
            let raw = register
                .decode(&data[offset - start..offset - start + size])
                .ok_or_else(|| TableError::Access(format!("short data for {}", register.name)))?;
            self.check_range(register, raw)?;
            let goal = [Role::GoalPosition, Role::GoalVelocity]
                .iter()
                .any(|role| self.role_address(*role) == Some(register.address));
            if goal && self.watchdog_hold.is_some() {
                return Err(TableError::Range(format!(
                    "{} is locked: the Bus Watchdog tripped (write it 0 to clear)",
                    register.name
                )));
            }
            updates.push((register.clone(), raw));
            offset += size;
        }
        for (register, raw) in updates {
            self.set_raw(&register, raw);
            if Some(register.address) == self.role_address(Role::TorqueEnable) && raw == 0 {
                self.velocity_integral = 0.0;
            }
            if Some(register.address) == self.role_address(Role::BusWatchdog) && raw == 0 {
                self.watchdog_hold = None;
            }
        }
        Ok(())
    }

    fn check_range(&self, register: &Register, raw: i64) -> Result<(), TableError> {
        register.check(raw).map_err(TableError::Range)?;
        // Goal velocity is bounded by the Velocity Limit entry, as on the real firmware.
        if Some(register.address) == self.role_address(Role::GoalVelocity) {
            let limit = self.raw(Role::VelocityLimit);
            if raw.abs() > limit {
                return Err(TableError::Range(format!(
                    "{} {raw} is beyond the Velocity Limit ±{limit}",
                    register.name
                )));
            }
        }
        Ok(())
    }

    fn role_address(&self, role: Role) -> Option<u16> {
        self.profile.role(role).map(|r| r.address)
    }

    /// The raw value of a role's entry (0 when the profile lacks the role).
    pub fn raw(&self, role: Role) -> i64 {
        self.profile
            .role(role)
            .and_then(|r| {
                let start = usize::from(r.address);
                r.decode(&self.table[start..start + r.size()])
            })
            .unwrap_or(0)
    }

    fn set_raw(&mut self, register: &Register, raw: i64) {
        let start = usize::from(register.address);
        let bytes = register.encode(raw);
        self.table[start..start + bytes.len()].copy_from_slice(&bytes);
    }

    fn set_role(&mut self, role: Role, raw: i64) {
        if let Some(register) = self.profile.role(role).cloned() {
            self.set_raw(&register, raw);
        }
    }

    fn si(&self, role: Role) -> f64 {
        self.profile
            .role(role)
            .map(|r| r.to_si(self.raw(role)))
            .unwrap_or(0.0)
    }

    /// An instruction reached this drive (resets the Bus Watchdog's timer).
    pub fn heard(&mut self) {
        self.heard_at = self.time;
    }

    /// Whether the Bus Watchdog has tripped.
    pub fn watchdog_tripped(&self) -> bool {
        self.watchdog_hold.is_some()
    }

    fn check_watchdog(&mut self) {
        let armed = self.raw(Role::BusWatchdog);
        if armed <= 0 || !self.torque_enabled() || self.watchdog_hold.is_some() {
            return;
        }
        if self.time - self.heard_at > armed as f64 * 0.02 {
            self.watchdog_hold = Some(self.motor.position);
            self.velocity_integral = 0.0;
            self.set_role(Role::BusWatchdog, -1);
        }
    }

    /// Torque Enable is set.
    pub fn torque_enabled(&self) -> bool {
        self.raw(Role::TorqueEnable) != 0
    }

    fn gains(&self) -> Gains {
        let entry = |name: &str, default: f64| {
            self.profile
                .register(name)
                .and_then(|r| {
                    let start = usize::from(r.address);
                    r.decode(&self.table[start..start + r.size()])
                })
                .map(|raw| raw as f64)
                .unwrap_or(default)
        };
        // The Dynamixel X firmware divides its gain entries by 128 (P) and 65536 (I);
        // the factors after that turn them into this model's SI loop gains.
        Gains {
            position_p: entry("Position P Gain", 800.0) / 128.0,
            velocity_p: entry("Velocity P Gain", 100.0) / 128.0 * 0.5,
            velocity_i: entry("Velocity I Gain", 1920.0) / 65536.0 * 200.0,
        }
    }

    /// Advances the drive and its motor by `dt` seconds.
    pub fn step(&mut self, dt: f64) {
        self.time += dt;
        self.check_watchdog();
        if !self.torque_enabled() {
            self.motor.step(dt, None);
        } else {
            let gains = self.gains();
            let velocity_limit = self.si(Role::VelocityLimit).abs();
            let current_limit = self.si(Role::CurrentLimit).abs();
            let mode = self.raw(Role::OperatingMode);
            let velocity_set = if mode == self.profile.modes.velocity {
                if self.watchdog_hold.is_some() {
                    0.0
                } else {
                    self.si(Role::GoalVelocity)
                }
            } else {
                let goal = self
                    .watchdog_hold
                    .unwrap_or_else(|| self.si(Role::GoalPosition));
                gains.position_p * (goal - self.motor.position)
            }
            .clamp(-velocity_limit, velocity_limit);
            let error = velocity_set - self.motor.velocity;
            let unclamped =
                gains.velocity_p * error + gains.velocity_i * (self.velocity_integral + error * dt);
            let current_set = unclamped.clamp(-current_limit, current_limit);
            // Anti-windup: integrate only while the current loop is not saturated.
            if (unclamped - current_set).abs() < f64::EPSILON {
                self.velocity_integral += error * dt;
            }
            let voltage = self.motor.voltage_for(current_set);
            self.motor.step(dt, Some(voltage));
        }
        self.publish_measurements();
    }

    fn publish_measurements(&mut self) {
        let quantise = |profile: &Profile, role: Role, si: f64| {
            profile.role(role).and_then(|r| r.from_si(si)).unwrap_or(0)
        };
        let position = quantise(&self.profile, Role::PresentPosition, self.motor.position);
        let velocity = quantise(&self.profile, Role::PresentVelocity, self.motor.velocity);
        let current = quantise(&self.profile, Role::PresentCurrent, self.motor.current);
        self.set_role(Role::PresentPosition, position);
        self.set_role(Role::PresentVelocity, velocity);
        self.set_role(Role::PresentCurrent, current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xm430(id: u8) -> SimDrive {
        SimDrive::new(Profile::xm430_w350(), id)
    }

    fn write_role(drive: &mut SimDrive, role: Role, raw: i64) -> Result<(), TableError> {
        let register = drive.profile().role(role).expect("role").clone();
        drive.write(register.address, &register.encode(raw))
    }

    fn run(drive: &mut SimDrive, seconds: f64) {
        let steps = (seconds / 0.000_25) as usize;
        for _ in 0..steps {
            drive.step(0.000_25);
        }
    }

    #[test]
    fn table_starts_at_the_profile_defaults_with_its_id() {
        let drive = xm430(7);
        assert_eq!(
            drive.read(0, 2).expect("model number"),
            &1020u16.to_le_bytes()
        );
        let id = drive.profile().register("ID").expect("ID").address;
        assert_eq!(drive.read(id, 1).expect("id"), &[7]);
        assert!(!drive.torque_enabled());
    }

    #[test]
    fn position_mode_converges_to_the_goal() {
        let mut drive = xm430(1);
        write_role(&mut drive, Role::GoalPosition, 1024).expect("goal"); // 90°
        write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
        run(&mut drive, 2.0);
        let target = std::f64::consts::FRAC_PI_2;
        assert!(
            (drive.motor().position - target).abs() < 0.01,
            "{:?}",
            drive.motor()
        );
        assert!(drive.motor().velocity.abs() < 0.05);
        // Present Position is the quantised encoder reading of that angle.
        assert!((drive.raw(Role::PresentPosition) - 1024).abs() <= 8);
    }

    #[test]
    fn velocity_mode_holds_the_goal_velocity_within_the_limit() {
        let mut drive = xm430(1);
        let velocity_mode = drive.profile().modes.velocity;
        write_role(&mut drive, Role::OperatingMode, velocity_mode).expect("mode");
        write_role(&mut drive, Role::GoalVelocity, 100).expect("goal velocity");
        write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
        run(&mut drive, 2.0);
        let expected = drive
            .profile()
            .role(Role::GoalVelocity)
            .expect("gv")
            .to_si(100);
        assert!((drive.motor().velocity - expected).abs() < 0.05 * expected);
        // Beyond the Velocity Limit (default 200) the drive refuses the goal.
        assert!(matches!(
            write_role(&mut drive, Role::GoalVelocity, 300),
            Err(TableError::Range(_))
        ));
    }

    #[test]
    fn current_limit_bounds_the_current() {
        let mut drive = xm430(1);
        write_role(&mut drive, Role::CurrentLimit, 200).expect("current limit"); // 0.538 A
        write_role(&mut drive, Role::GoalPosition, 4000).expect("goal");
        write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
        let limit = drive
            .profile()
            .role(Role::CurrentLimit)
            .expect("cl")
            .to_si(200);
        for _ in 0..4000 {
            drive.step(0.000_25);
            assert!(drive.motor().current.abs() <= limit + 1e-9);
        }
    }

    #[test]
    fn torque_off_lets_the_shaft_coast_to_rest() {
        let mut drive = xm430(1);
        write_role(&mut drive, Role::GoalPosition, 4000).expect("goal");
        write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
        run(&mut drive, 0.5);
        assert!(drive.motor().velocity > 1.0);
        write_role(&mut drive, Role::TorqueEnable, 0).expect("torque off");
        run(&mut drive, 3.0);
        assert_eq!(drive.motor().velocity, 0.0);
        assert_eq!(drive.motor().current, 0.0);
    }

    #[test]
    fn bus_watchdog_stops_an_unwatched_drive_and_locks_goals_until_cleared() {
        let mut drive = xm430(1);
        let velocity_mode = drive.profile().modes.velocity;
        write_role(&mut drive, Role::OperatingMode, velocity_mode).expect("mode");
        write_role(&mut drive, Role::GoalVelocity, 150).expect("goal");
        write_role(&mut drive, Role::BusWatchdog, 5).expect("arm: 100 ms");
        write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
        // Heard every 50 ms: keeps running.
        for _ in 0..20 {
            run(&mut drive, 0.05);
            drive.heard();
        }
        assert!(!drive.watchdog_tripped());
        assert!(drive.motor().velocity > 2.0);
        // Silence for 150 ms: tripped, reads -1, and the drive comes to rest.
        run(&mut drive, 0.15);
        assert!(drive.watchdog_tripped());
        assert_eq!(drive.raw(Role::BusWatchdog), -1);
        run(&mut drive, 1.0);
        assert!(drive.motor().velocity.abs() < 0.05, "{:?}", drive.motor());
        assert!(
            drive.torque_enabled(),
            "the watchdog stops motion, not torque"
        );
        assert!(matches!(
            write_role(&mut drive, Role::GoalVelocity, 100),
            Err(TableError::Range(_))
        ));
        write_role(&mut drive, Role::BusWatchdog, 0).expect("clear");
        write_role(&mut drive, Role::GoalVelocity, 100).expect("goals writable again");
    }

    #[test]
    fn firmware_rules_refuse_bad_writes_and_change_nothing() {
        let mut drive = xm430(1);
        // Read-only entry.
        assert!(matches!(
            write_role(&mut drive, Role::PresentPosition, 5),
            Err(TableError::Access(_))
        ));
        // Goal Position outside 0..4095.
        assert!(matches!(
            write_role(&mut drive, Role::GoalPosition, 5000),
            Err(TableError::Range(_))
        ));
        assert_eq!(drive.raw(Role::GoalPosition), 0);
        // EEPROM entry while torque is on.
        write_role(&mut drive, Role::TorqueEnable, 1).expect("torque on");
        assert!(matches!(
            write_role(&mut drive, Role::OperatingMode, 1),
            Err(TableError::Access(_))
        ));
        assert_eq!(
            drive.raw(Role::OperatingMode),
            drive.profile().modes.position
        );
        // Outside the table.
        assert!(drive.write(60_000, &[1]).is_err());
        assert!(drive.read(60_000, 4).is_err());
    }
}
